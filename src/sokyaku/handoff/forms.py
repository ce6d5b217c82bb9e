"""Forms of the sales inbox and the handoff settings pages.

They only parse and show input; the handoff services validate the domain (a routing rule that
can match nobody, an inactive user, a closed handoff …) and their field errors come back onto
the fields, translated (``add_service_errors``). Choices that need the database (users, teams,
sequences, chat channels, triggers) are read by the views through selectors and handed in, so
the forms themselves never query.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from django import forms
from django.utils.translation import gettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from sokyaku.activity.models import EventType
from sokyaku.contacts.models import Industry
from sokyaku.contacts.prefectures import prefecture_choices, region_choices, region_prefectures
from sokyaku.core.clock import TOKYO
from sokyaku.core.condition_rows import ConditionRowsField, RowSpec
from sokyaku.core.errors import SokyakuError
from sokyaku.handoff.models import (
    ActivityKind,
    HandoffOutcome,
    HandoffStatus,
    RejectReason,
    RuleKind,
    SlaState,
    TriggerKind,
)

Choices = Sequence[tuple[Any, str]]


class ServiceErrorsMixin:
    """Puts a service's field errors onto the form's fields (translated); the rest on the form.

    ``field_map`` renames service keys that differ from the form's field names; a key such as
    ``conditions.0.op`` lands on ``conditions``.
    """

    field_map: dict[str, str] = {}

    def add_service_errors(self, exc: SokyakuError) -> None:
        form: Any = self
        if not exc.field_errors:
            form.add_error(None, gettext(exc.message))
            return
        for key, message in exc.field_errors.items():
            name = self.field_map.get(key, key)
            name = self.field_map.get(name.split(".", 1)[0], name.split(".", 1)[0])
            form.add_error(name if name in form.fields else None, gettext(message))


def _blank(label: Any, choices: Sequence[tuple[Any, Any]]) -> list[tuple[Any, Any]]:
    return [("", label), *choices]


def tokyo_datetime(value: datetime | None) -> datetime | None:
    """A ``datetime-local`` value (typed in Tokyo time) as an aware datetime."""
    if value is None:
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=TOKYO)
    return value


class DateTimeLocalInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs=attrs, format="%Y-%m-%dT%H:%M")


# --- the inbox --------------------------------------------------------------------------------

ASSIGNEE_ME = "me"
ASSIGNEE_QUEUE = "queue"


class InboxFilterForm(forms.Form):
    """The inbox filters. ``assignee`` is ``me``, ``queue`` (unassigned) or a user id."""

    status = forms.ChoiceField(label=_("Status"), choices=HandoffStatus.choices, required=False)
    assignee = forms.ChoiceField(label=_("Assignee"), required=False)
    trigger = forms.TypedChoiceField(label=_("Trigger"), coerce=int, required=False)
    sla = forms.ChoiceField(
        label=_("SLA"), choices=_blank(_("Any"), SlaState.choices), required=False
    )

    def __init__(
        self, *args: Any, users: Choices = (), triggers: Choices = (), **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        assignee: Any = self.fields["assignee"]
        assignee.choices = [
            ("", _("Everyone I can see")),
            (ASSIGNEE_ME, _("Assigned to me")),
            (ASSIGNEE_QUEUE, _("Unassigned (queue)")),
            *[(str(pk), label) for pk, label in users],
        ]
        trigger: Any = self.fields["trigger"]
        trigger.choices = _blank(_("Any"), triggers)

    def filters(self) -> dict[str, Any]:
        """The filters that were valid (an invalid one is ignored, not an error page)."""
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        return {name: data.get(name) or None for name in self.fields}


# --- the handoff page -------------------------------------------------------------------------


class RejectForm(ServiceErrorsMixin, forms.Form):
    reason = forms.ChoiceField(
        label=_("Reason"), choices=_blank(_("Choose a reason"), RejectReason.choices)
    )
    note = forms.CharField(
        label=_("Note"), required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 3})
    )
    outcome = forms.ChoiceField(
        label=_("Then"),
        choices=[
            (HandoffOutcome.RECYCLED, _("Recycle to nurture")),
            (HandoffOutcome.DISQUALIFIED, _("Disqualify")),
        ],
        initial=HandoffOutcome.RECYCLED,
        widget=forms.RadioSelect,
    )
    sequence = forms.TypedChoiceField(
        label=_("Nurture sequence"),
        coerce=int,
        required=False,
        help_text=_("Optional, when recycled: the contact is enrolled in this sequence."),
    )
    field_map = {"recycle_sequence": "sequence", "sequence_id": "sequence"}

    def __init__(self, *args: Any, sequences: Choices = (), **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", "reject-%s")
        super().__init__(*args, **kwargs)
        sequence: Any = self.fields["sequence"]
        sequence.choices = _blank(_("None"), sequences)


class ReassignForm(ServiceErrorsMixin, forms.Form):
    # An id, not a model choice: the service decides who may take a handoff (an inactive user
    # gets its error on this field), the select only offers the usual candidates.
    to_user = forms.TypedChoiceField(label=_("Reassign to"), coerce=int)
    reason = forms.CharField(label=_("Reason"), max_length=300, required=False)
    field_map = {"user": "to_user", "assignee": "to_user", "to_user_id": "to_user"}

    def __init__(self, *args: Any, users: Choices = (), **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", "reassign-%s")
        super().__init__(*args, **kwargs)
        to_user: Any = self.fields["to_user"]
        to_user.choices = _blank(_("Choose a person"), users)
        to_user.valid_value = lambda value: str(value).isdigit()


class ActivityForm(ServiceErrorsMixin, forms.Form):
    kind = forms.ChoiceField(label=_("Kind"), choices=ActivityKind.choices)
    subject = forms.CharField(label=_("Subject"), max_length=200, required=False)
    body = forms.CharField(
        label=_("Notes"), required=False, max_length=10000, widget=forms.Textarea(attrs={"rows": 3})
    )
    occurred_at = forms.DateTimeField(
        label=_("When"),
        required=False,
        widget=DateTimeLocalInput(),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S"],
        help_text=_("Empty: now."),
    )

    def to_kwargs(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "kind": data["kind"],
            "subject": data["subject"],
            "body": data["body"],
            "occurred_at": tokyo_datetime(data["occurred_at"]),
        }


# --- settings: triggers -----------------------------------------------------------------------

# What a hot-action condition may check (``reactions.condition_holds``), in words.
TRIGGER_CONDITION_ROWS = RowSpec(
    key="property",
    properties=[
        ("url", pgettext_lazy("event property", "URL")),
        ("form", pgettext_lazy("event property", "Form")),
        ("kind", pgettext_lazy("event property", "Kind")),
        ("asset", pgettext_lazy("event property", "Asset")),
        ("webinar", pgettext_lazy("event property", "Webinar")),
        ("minutes", pgettext_lazy("event property", "Minutes watched")),
        ("sequence", pgettext_lazy("event property", "Sequence")),
        ("step", pgettext_lazy("event property", "Sequence step")),
    ],
    ops=[
        ("eq", pgettext_lazy("condition", "equals")),
        ("contains", pgettext_lazy("condition", "contains")),
        ("gte", pgettext_lazy("condition", "at least")),
        ("lte", pgettext_lazy("condition", "at most")),
        ("exists", pgettext_lazy("condition", "has a value")),
    ],
    number_ops=frozenset({"gte", "lte"}),
    text_ops=frozenset({"contains"}),
    bare_ops=frozenset({"exists"}),
)


class TriggerForm(ServiceErrorsMixin, forms.Form):
    name = forms.CharField(label=pgettext_lazy("object", "Name"), max_length=100)
    kind = forms.ChoiceField(label=_("Kind"), choices=TriggerKind.choices)
    event_type = forms.ChoiceField(
        label=_("Event type"),
        required=False,
        choices=_blank(_("(for hot actions)"), EventType.choices),
    )
    conditions = ConditionRowsField(
        label=_("Property conditions"),
        spec=TRIGGER_CONDITION_ROWS,
        help_text=_("Optional: every condition must hold."),
    )
    action_label = forms.CharField(
        label=_("Action (in the alert)"), max_length=100, help_text=_("For example デモ申し込み.")
    )
    next_action = forms.CharField(
        label=_("Next action"),
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("What the rep is asked to do, e.g. contact within 24 hours by mail or phone."),
    )
    sla_hours = forms.IntegerField(label=_("SLA (hours)"), min_value=1, max_value=720, initial=24)
    business_days_only = forms.BooleanField(
        label=_("Count business days only"), required=False, initial=True
    )
    reminder_minutes = forms.IntegerField(
        label=_("Reminder before the deadline (minutes)"), min_value=0, initial=120
    )
    is_active = forms.BooleanField(label=_("Active"), required=False, initial=True)

    @staticmethod
    def initial_for(trigger: Any) -> dict[str, Any]:
        return {
            "name": trigger.name,
            "kind": trigger.kind,
            "event_type": trigger.event_type,
            "conditions": list(trigger.conditions or []),
            "action_label": trigger.action_label,
            "next_action": trigger.next_action,
            "sla_hours": trigger.sla_hours,
            "business_days_only": trigger.business_days_only,
            "reminder_minutes": trigger.reminder_minutes,
            "is_active": trigger.is_active,
        }

    def to_data(self) -> dict[str, Any]:
        return dict(self.cleaned_data)


# --- settings: routing ------------------------------------------------------------------------


class RoutingRuleForm(ServiceErrorsMixin, forms.Form):
    name = forms.CharField(label=pgettext_lazy("object", "Name"), max_length=100)
    kind = forms.ChoiceField(label=_("Kind"), choices=RuleKind.choices)
    prefectures = forms.TypedMultipleChoiceField(
        label=_("Prefectures"),
        coerce=int,
        required=False,
        widget=forms.SelectMultiple(attrs={"size": 8}),
        help_text=_("For territory rules."),
    )
    regions = forms.MultipleChoiceField(
        label=_("Regions"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Adds every prefecture of the region to the territory."),
    )
    industries = forms.MultipleChoiceField(
        label=_("Industries"),
        choices=Industry.choices,
        required=False,
        widget=forms.SelectMultiple(attrs={"size": 8}),
        help_text=_("For industry rules."),
    )
    team = forms.TypedChoiceField(
        label=_("Team"),
        coerce=int,
        required=False,
        help_text=_("Round-robin in this team, or its queue."),
    )
    assignee = forms.TypedChoiceField(
        label=_("Assignee"),
        coerce=int,
        required=False,
        help_text=_("Territory and industry rules: this person, else round-robin in the team."),
    )
    is_active = forms.BooleanField(label=_("Active"), required=False, initial=True)

    def __init__(self, *args: Any, teams: Choices = (), users: Choices = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        prefectures: Any = self.fields["prefectures"]
        prefectures.choices = prefecture_choices()
        regions: Any = self.fields["regions"]
        regions.choices = region_choices()
        team: Any = self.fields["team"]
        team.choices = _blank(_("None"), teams)
        assignee: Any = self.fields["assignee"]
        assignee.choices = _blank(_("None"), users)
        assignee.valid_value = lambda value: str(value).isdigit()

    def clean(self) -> dict[str, Any]:
        """A territory is stored as prefectures: the chosen regions are expanded into them."""
        cleaned = super().clean() or {}
        regions = cleaned.pop("regions", None) or []
        if regions:
            chosen = set(cleaned.get("prefectures") or [])
            cleaned["prefectures"] = sorted(chosen | region_prefectures(regions))
        return cleaned

    @staticmethod
    def initial_for(rule: Any) -> dict[str, Any]:
        return {
            "name": rule.name,
            "kind": rule.kind,
            "prefectures": list(rule.prefectures),
            "industries": list(rule.industries),
            "team": rule.team_id,
            "assignee": rule.assignee_id,
            "is_active": rule.is_active,
        }


class RoutingPreviewForm(forms.Form):
    contact = forms.IntegerField(label=_("Contact ID"), min_value=1, required=False)
    q = forms.CharField(label=_("or search"), max_length=200, required=False)


# --- settings: teams --------------------------------------------------------------------------


class TeamForm(ServiceErrorsMixin, forms.Form):
    name = forms.CharField(label=pgettext_lazy("object", "Name"), max_length=100)
    manager = forms.TypedChoiceField(
        label=_("Manager"),
        coerce=int,
        required=False,
        help_text=_("Gets the escalation when a handoff of the team breaches its SLA."),
    )
    share_records = forms.BooleanField(
        label=_("Members see each other's leads, handoffs and deals"), required=False
    )
    members = forms.TypedMultipleChoiceField(
        label=_("Members"),
        coerce=int,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    field_map = {"member_ids": "members"}

    def __init__(self, *args: Any, users: Choices = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        manager: Any = self.fields["manager"]
        manager.choices = _blank(_("None"), users)
        members: Any = self.fields["members"]
        members.choices = list(users)


class AwayForm(ServiceErrorsMixin, forms.Form):
    is_away = forms.BooleanField(label=_("Away"), required=False)
    away_until = forms.DateTimeField(
        label=_("Away until"),
        required=False,
        widget=DateTimeLocalInput(),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%d"],
    )


# --- settings: alerts -------------------------------------------------------------------------


class HandoffSettingsForm(ServiceErrorsMixin, forms.Form):
    alert_chat_channel = forms.TypedChoiceField(
        label=_("Alert chat channel"),
        coerce=int,
        required=False,
        help_text=_(
            "Every sales alert is also posted here, for your team only: on LINE to the rep's own "
            "LINE user ID, else to the channel's team group; on Slack mentioning the rep. Never "
            "to the lead."
        ),
    )
    queue_notify = forms.TypedChoiceField(
        label=_("Notify about unassigned handoffs"),
        coerce=int,
        required=False,
        help_text=_("Who is told when a handoff lands in the general queue."),
    )

    def __init__(
        self, *args: Any, channels: Choices = (), users: Choices = (), **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        channel: Any = self.fields["alert_chat_channel"]
        channel.choices = _blank(_("None"), channels)
        queue_notify: Any = self.fields["queue_notify"]
        queue_notify.choices = _blank(_("Nobody"), users)
