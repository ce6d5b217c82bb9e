"""Forms of the channels UI: channels, channel rules, campaigns, costs and the rule tester.

Forms parse and show input only; services validate and write. A service's
``ValidationError.field_errors`` (English, as the API answers) come back onto the form's fields
translated through ``add_service_errors``; cost problems are shown with ``problem_text``.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from django import forms
from django.utils.functional import Promise, lazy
from django.utils.html import conditional_escape, format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from sokyaku.campaigns import costs
from sokyaku.campaigns.models import Campaign, Channel, ChannelKind, RuleOperator
from sokyaku.campaigns.services import CampaignInput, CostProblem, RuleInput
from sokyaku.core.errors import SokyakuError

# The services' messages and what the UI shows for them.
_MESSAGES: dict[str, Promise] = {
    "required": _("This field is required."),
    "At most 100 characters.": _("This value is too long."),
    "At most 200 characters.": _("This value is too long."),
    "At most 500 characters.": _("This value is too long."),
    "Unknown kind.": _("Choose a kind."),
    "Use letters, digits, - and _ only.": _("Use half-width letters, digits, - and _ only."),
    "Another channel has this key.": _("Another channel has this key."),
    "Unknown operator.": _("Choose a condition."),
    "Enter at least one value.": _("Enter at least one value."),
    "No such channel.": _("Choose a channel."),
    "Enter a number from 0 to 1000000.": _("Enter a number from 0 to 1000000."),
    "Another campaign has this utm_campaign.": _("Another campaign has this utm_campaign."),
    "The end is before the start.": _("The end is before the start."),
}

# Cost problems (``services.CostProblem.code``) as the UI says them.
PROBLEM_TEXTS: dict[str, Promise] = {
    "required": _("This value is required."),
    "bad_month": _("Enter the month as YYYY-MM (for example 2026-04)."),
    "bad_amount": _("Enter a whole number of yen (for example ¥1,000,000)."),
    "negative_amount": _("A cost cannot be negative."),
    "unknown_channel": _("No channel with this key or name."),
    "unknown_campaign": _("No campaign with this utm_campaign or name."),
    "campaign_channel": _("The campaign belongs to another channel."),
    "duplicate": _("The same month, channel and campaign appear twice."),
    "too_large": _("The file is larger than 2 MB."),
    "bad_encoding": _("The file is not text. Save it as CSV (UTF-8 or Shift_JIS)."),
    "bad_csv": _("The file is not a valid CSV file."),
    "empty": _("The file has no cost rows."),
    "missing_columns": _("The first row needs the columns month, channel and amount."),
    "too_many_rows": _("The file has too many rows (at most 10,000)."),
}

FIELD_LABELS: dict[str, Promise] = {
    "month": _("Month"),
    "channel": _("Channel"),
    "campaign": _("Campaign"),
    "amount": _("Amount"),
    "file": _("File"),
}


def problem_text(problem: CostProblem) -> str:
    return str(PROBLEM_TEXTS.get(problem.code, _("This value is not valid.")))


def add_service_errors(form: forms.Form, exc: SokyakuError) -> None:
    """Put a service's field errors on the form's fields (translated)."""
    if not exc.field_errors:
        form.add_error(None, gettext("Please correct the errors below."))
        return
    for name, message in exc.field_errors.items():
        text = str(_MESSAGES.get(message, _("This value is not valid.")))
        form.add_error(name if name in form.fields else None, text)


class ChannelForm(forms.Form):
    name = forms.CharField(label=pgettext_lazy("object", "Name"), max_length=100)
    key = forms.CharField(
        label=_("Key"),
        max_length=50,
        help_text=_("Half-width letters, digits, - and _. Used in CSV files and the API."),
    )
    kind = forms.ChoiceField(label=_("Kind"), choices=ChannelKind.choices)
    is_active = forms.BooleanField(label=_("Active"), required=False, initial=True)

    @classmethod
    def for_channel(cls, channel: Channel, data: object = None) -> ChannelForm:
        initial = {
            "name": channel.name,
            "key": channel.key,
            "kind": channel.kind,
            "is_active": channel.is_active,
        }
        return cls(data, initial=initial)  # type: ignore[arg-type]


_OP_HELP = _("Separate several values with commas. Upper and lower case are the same.")


class RuleForm(forms.Form):
    name = forms.CharField(label=_("Description"), max_length=200, required=False)
    channel = forms.TypedChoiceField(label=_("Channel"), coerce=int)
    priority = forms.IntegerField(
        label=_("Priority"),
        required=False,
        min_value=0,
        max_value=1_000_000,
        help_text=_("Rules with lower numbers are tried first. Empty: after the last rule."),
    )
    source_op = forms.ChoiceField(label=_("utm_source"), choices=RuleOperator.choices)
    source_values = forms.CharField(
        label=_("utm_source values"), max_length=500, required=False, help_text=_OP_HELP
    )
    medium_op = forms.ChoiceField(label=_("utm_medium"), choices=RuleOperator.choices)
    medium_values = forms.CharField(
        label=_("utm_medium values"), max_length=500, required=False, help_text=_OP_HELP
    )
    referrer_op = forms.ChoiceField(label=_("Referrer domain"), choices=RuleOperator.choices)
    referrer_values = forms.CharField(
        label=_("Referrer domain values"),
        max_length=500,
        required=False,
        help_text=_("Domains such as google.co.jp. “is one of” also matches www. in front."),
    )
    is_active = forms.BooleanField(label=_("Active"), required=False, initial=True)

    CONDITIONS = (
        ("source_op", "source_values"),
        ("medium_op", "medium_values"),
        ("referrer_op", "referrer_values"),
    )

    def __init__(self, *args: object, channels: Iterable[Channel], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        channel_field = self.fields["channel"]
        assert isinstance(channel_field, forms.TypedChoiceField)
        channel_field.choices = [("", "---------")] + [(c.pk, c.name) for c in channels]

    def to_input(self) -> RuleInput:
        data = self.cleaned_data
        return RuleInput(
            channel_id=data["channel"],
            name=data["name"],
            priority=data["priority"],
            source_op=data["source_op"],
            source_values=data["source_values"],
            medium_op=data["medium_op"],
            medium_values=data["medium_values"],
            referrer_op=data["referrer_op"],
            referrer_values=data["referrer_values"],
            is_active=data["is_active"],
        )


class RuleTestForm(forms.Form):
    url = forms.CharField(
        label=_("Landing page URL"),
        max_length=2048,
        required=False,
        widget=forms.TextInput(attrs={"placeholder": "https://example.co.jp/?utm_source=…"}),
    )
    referrer = forms.CharField(
        label=_("Referrer"),
        max_length=2048,
        required=False,
        widget=forms.TextInput(attrs={"placeholder": "https://www.google.co.jp/"}),
    )


class MonthField(forms.CharField):
    """A month typed as 2026-04, 2026/4 or 2026年4月; cleaned to its first day."""

    def clean(self, value: object) -> date | None:
        text = super().clean(value)
        if not text:
            return None
        try:
            return costs.month_parse(text)
        except costs.ParseError as exc:
            raise forms.ValidationError(str(PROBLEM_TEXTS["bad_month"])) from exc


class AmountField(forms.CharField):
    """Yen typed as 1000000, ¥1,000,000 or １，０００，０００円."""

    def clean(self, value: object) -> int | None:
        text = super().clean(value)
        if not text:
            return None
        try:
            return costs.amount_parse(text)
        except costs.ParseError as exc:
            raise forms.ValidationError(str(PROBLEM_TEXTS.get(exc.code, exc.code))) from exc


class CampaignCostForm(forms.Form):
    month = MonthField(
        label=_("Month"),
        max_length=20,
        widget=forms.TextInput(attrs={"placeholder": "2026-04", "inputmode": "numeric"}),
    )
    campaign = forms.TypedChoiceField(label=_("Campaign"), coerce=int)
    amount = AmountField(
        label=_("Amount (yen)"),
        max_length=30,
        widget=forms.TextInput(attrs={"placeholder": "¥300,000", "inputmode": "numeric"}),
    )

    def __init__(self, *args: object, campaigns: Iterable[Campaign], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        field = self.fields["campaign"]
        assert isinstance(field, forms.TypedChoiceField)
        field.choices = [("", "---------")] + [
            (c.pk, f"{c.name} ({c.utm_campaign}) — {c.channel.name}") for c in campaigns
        ]


COST_COLUMNS = ("month", "channel", "campaign", "amount")


def _cost_columns_help() -> SafeString:
    """The upload's help, the column headers the file must have shown as code."""
    message = gettext(
        "Columns: %(month)s (YYYY-MM), %(channel)s (key or name), %(campaign)s (optional, "
        "utm_campaign), %(amount)s (yen). UTF-8 or Shift_JIS, as Excel saves it."
    )
    columns = {name: format_html("<code>{}</code>", name) for name in COST_COLUMNS}
    return mark_safe(conditional_escape(message) % columns)  # noqa: S308 (escaped above)


class CostUploadForm(forms.Form):
    file = forms.FileField(
        label=_("CSV file"),
        help_text=lazy(_cost_columns_help, SafeString)(),
    )


class CampaignForm(forms.Form):
    name = forms.CharField(label=pgettext_lazy("object", "Name"), max_length=200)
    channel = forms.TypedChoiceField(label=_("Channel"), coerce=int)
    utm_campaign = forms.CharField(
        label=_("utm_campaign"),
        max_length=200,
        help_text=_("The value of utm_campaign in this campaign's links."),
    )
    starts_on = forms.DateField(
        label=_("Starts on"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    ends_on = forms.DateField(
        label=_("Ends on"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, *args: object, channels: Iterable[Channel], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        field = self.fields["channel"]
        assert isinstance(field, forms.TypedChoiceField)
        field.choices = [("", "---------")] + [(c.pk, c.name) for c in channels]

    def to_input(self) -> CampaignInput:
        data = self.cleaned_data
        return CampaignInput(
            name=data["name"],
            channel_id=data["channel"],
            utm_campaign=data["utm_campaign"],
            starts_on=data["starts_on"],
            ends_on=data["ends_on"],
        )
