"""Django forms of the mail content UI: templates, sender profiles, chat channels, broadcasts.

They parse and show input only; the content and broadcast services validate and write, and
their field errors (English source strings, e.g. "Line 4: …") come back onto the fields
(``add_service_errors``), translated where a translation exists.
"""

from __future__ import annotations

import zoneinfo
from datetime import datetime
from typing import Any

from django import forms
from django.utils.functional import lazy
from django.utils.html import conditional_escape, format_html_join
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from sokyaku.consent import selectors as consent_selectors
from sokyaku.core.errors import SokyakuError
from sokyaku.messaging.footer import DEFAULT_UNSUBSCRIBE_WORDING
from sokyaku.messaging.mail_syntax import ALL_FILTERS, ALLOWED_TAGS
from sokyaku.messaging.models import ChatKind, SenderProfile, Stream, Template
from sokyaku.messaging.services.content import (
    ChatChannelInput,
    SenderProfileInput,
    TemplateInput,
)
from sokyaku.segments import selectors as segment_selectors

TOKYO = zoneinfo.ZoneInfo("Asia/Tokyo")


class ServiceErrors:
    """Put a service's ``ValidationError`` onto the form's fields."""

    def add_service_errors(self, exc: SokyakuError) -> None:
        form: forms.Form = self  # type: ignore[assignment]
        if not exc.field_errors:
            form.add_error(None, gettext(exc.message))
            return
        for key, message in exc.field_errors.items():
            form.add_error(key if key in form.fields else None, gettext(message))


def _syntax_help() -> SafeString:
    """The body's help: the tags and filters a template may use, as code."""
    names = {
        "tags": format_html_join(", ", "<code>{}</code>", ((t,) for t in ALLOWED_TAGS)),
        "filters": format_html_join(", ", "<code>{}</code>", ((f,) for f in ALL_FILTERS)),
    }
    message = gettext(
        "Django template syntax. Tags: %(tags)s. Filters: %(filters)s. "
        'Fallbacks: {{ contact.family_name|default:"ご担当者" }}.'
    )
    return mark_safe(conditional_escape(message) % names)  # noqa: S308 (escaped above)


class TemplateForm(ServiceErrors, forms.Form):
    name = forms.CharField(label=pgettext_lazy("object", "Name"), max_length=150)
    subject = forms.CharField(
        label=_("Subject"),
        max_length=300,
        help_text=_("Merge fields work here too, e.g. {{ contact.family_name }}様."),
    )
    preheader = forms.CharField(
        label=_("Preheader"),
        max_length=300,
        required=False,
        help_text=_("The preview text mail apps show after the subject."),
    )
    body_html = forms.CharField(
        label=_("HTML body"),
        widget=forms.Textarea(attrs={"rows": 24, "class": "code", "spellcheck": "false"}),
        help_text=lazy(_syntax_help, SafeString)(),
    )

    @classmethod
    def for_template(cls, template: Template) -> TemplateForm:
        return cls(
            initial={
                "name": template.name,
                "subject": template.subject,
                "preheader": template.preheader,
                "body_html": template.body_html,
            }
        )

    def to_input(self) -> TemplateInput:
        data = self.cleaned_data
        return TemplateInput(
            name=data["name"],
            subject=data["subject"],
            preheader=data.get("preheader") or "",
            body_html=data["body_html"],
        )


class TestSendForm(ServiceErrors, forms.Form):
    to_address = forms.EmailField(label=_("Send a test to"))
    contact = forms.IntegerField(required=False, widget=forms.HiddenInput)


class SenderProfileForm(ServiceErrors, forms.Form):
    name = forms.CharField(
        label=pgettext_lazy("object", "Name"),
        max_length=100,
        help_text=_("Shown only to your team."),
    )
    stream = forms.ChoiceField(
        label=_("Stream"),
        choices=Stream.choices,
        help_text=_(
            "Marketing mail carries the opt-out footer and one-click unsubscribe; "
            "transactional and sales mail does not. Use different From addresses."
        ),
    )
    from_name = forms.CharField(label=_("From name"), max_length=100)
    from_email = forms.EmailField(label=_("From address"))
    reply_to = forms.EmailField(label=_("Reply-to"), required=False)
    sender_name = forms.CharField(
        label=_("Sender (legal name)"),
        max_length=200,
        required=False,
        help_text=_("送信者の氏名又は名称 — the company or person responsible for sending."),
    )
    postal_address = forms.CharField(
        label=_("Postal address"), max_length=300, required=False, help_text=_("送信者の住所")
    )
    complaints_contact = forms.CharField(
        label=_("Contact for complaints and questions"),
        max_length=300,
        required=False,
        help_text=_("苦情・問い合わせの受付先: an address, phone number or URL."),
    )
    unsubscribe_wording = forms.CharField(
        label=_("Opt-out wording"),
        max_length=300,
        required=False,
        initial=DEFAULT_UNSUBSCRIBE_WORDING,
        help_text=_("Shown right beside the opt-out link. The word こちら becomes the link."),
    )
    is_default = forms.BooleanField(label=_("Default for its stream"), required=False)
    complaint_threshold = forms.FloatField(
        label=_("Pause at complaint rate"),
        initial=0.003,
        min_value=0.0001,
        max_value=0.1,
        help_text=_("0.003 = 0.3 %: sending pauses when complaints pass this share of mail."),
    )

    def __init__(self, *args: Any, profile: SenderProfile | None = None, **kwargs: Any) -> None:
        if profile is not None and "initial" not in kwargs:
            kwargs["initial"] = {
                name: getattr(profile, name) for name in self.base_fields if hasattr(profile, name)
            }
        super().__init__(*args, **kwargs)
        if profile is not None:
            self.fields["stream"].disabled = True

    def to_input(self) -> SenderProfileInput:
        data = self.cleaned_data
        return SenderProfileInput(
            name=data["name"],
            stream=data["stream"],
            from_name=data["from_name"],
            from_email=data["from_email"],
            reply_to=data.get("reply_to") or "",
            sender_name=data.get("sender_name") or "",
            postal_address=data.get("postal_address") or "",
            complaints_contact=data.get("complaints_contact") or "",
            unsubscribe_wording=data.get("unsubscribe_wording") or "",
            is_default=bool(data.get("is_default")),
            complaint_threshold=float(data["complaint_threshold"]),
        )


class ChatChannelForm(ServiceErrors, forms.Form):
    name = forms.CharField(label=pgettext_lazy("object", "Name"), max_length=100)
    kind = forms.ChoiceField(label=_("Kind"), choices=ChatKind.choices)
    url = forms.CharField(
        label=_("Webhook URL"),
        max_length=500,
        required=False,
        help_text=_("https only. For LINE, leave empty to use the Messaging API push endpoint."),
    )
    secret = forms.CharField(
        label=_("Token / secret"),
        max_length=500,
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text=_("LINE: the channel access token. Leave empty to keep the stored one."),
    )
    team_to = forms.CharField(
        label=_("LINE group ID for internal notices"),
        max_length=33,
        required=False,
        help_text=_(
            "LINE only: the group (C…) or room (R…) of your sales team that sales alerts are "
            "pushed to when the rep has no LINE user ID on their profile. Alerts never go to a "
            "lead's LINE."
        ),
    )
    is_active = forms.BooleanField(label=_("Active"), required=False, initial=True)

    def to_input(self) -> ChatChannelInput:
        data = self.cleaned_data
        return ChatChannelInput(
            name=data["name"],
            kind=data["kind"],
            url=data.get("url") or "",
            secret=data.get("secret") or "",
            team_to=data.get("team_to") or "",
            is_active=bool(data.get("is_active")),
        )


class BroadcastForm(ServiceErrors, forms.Form):
    name = forms.CharField(label=pgettext_lazy("object", "Name"), max_length=150)
    template = forms.ModelChoiceField(label=_("Template"), queryset=Template.objects.none())
    sender = forms.ModelChoiceField(
        label=_("Sender profile"), queryset=SenderProfile.objects.none()
    )
    segment = forms.ModelChoiceField(label=_("Segment"), queryset=Template.objects.none())
    topic_key = forms.ChoiceField(
        label=_("Consent topic"),
        help_text=_("Only people who may receive this topic get the mail (checked at sending)."),
    )

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        fields: dict[str, Any] = self.fields
        fields["template"].queryset = Template.objects.order_by("name")
        fields["sender"].queryset = SenderProfile.objects.filter(stream=Stream.MARKETING)
        fields["segment"].queryset = segment_selectors.segment_list(user=user)
        fields["topic_key"].choices = [
            (topic.key, topic.name) for topic in consent_selectors.topic_list()
        ]
        default = SenderProfile.objects.filter(stream=Stream.MARKETING, is_default=True).first()
        if default is not None:
            self.initial.setdefault("sender", default.pk)


class ScheduleForm(ServiceErrors, forms.Form):
    scheduled_at = forms.DateTimeField(
        label=_("Send at (Japan time)"),
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"],
    )

    def at(self) -> datetime | None:
        value: datetime | None = self.cleaned_data.get("scheduled_at")
        if value is None:
            return None
        # The browser sends wall-clock time; the team works in Japan time.
        return value.replace(tzinfo=TOKYO) if value.tzinfo is None else value


class FrequencyCapForm(ServiceErrors, forms.Form):
    per_day = forms.IntegerField(
        label=_("Marketing mails per contact per day"),
        min_value=0,
        max_value=20,
        help_text=_(
            "Counted per Japan calendar day over sequence mails and broadcasts together; "
            "0 is no cap. Transactional mail (alerts, receipts) is never capped."
        ),
    )
    sequences = forms.BooleanField(
        label=_("Sequence mails wait for the next free day"),
        required=False,
        help_text=_("A capped step waits for the next day's send window; it is never dropped."),
    )
    broadcasts = forms.BooleanField(
        label=_("Broadcasts leave out contacts at the cap"),
        required=False,
        help_text=_("The broadcast page counts them out before you send."),
    )
