"""The sequence settings form (one Django form to create a sequence and to edit its settings)
a step form (one kind's fields) and a mail step's A/B variants form.

They only parse and show input and turn it into the services' input
(``editing.SequenceInput``, the variants ``editing.step_variants_set`` takes); the services
validate and write. The services' field errors (English source strings) come back onto the
fields, translated (``add_service_errors``). The pickers' choices (forms, assets, segments,
sender profiles, consent topics, templates) are read by the view through their apps' selectors
and handed in, so the forms themselves never query.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django import forms
from django.utils.translation import gettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from sokyaku.activity.models import EventType
from sokyaku.core.calendar import (
    DEFAULT_DAYS,
    DEFAULT_END,
    DEFAULT_START,
    NEW_YEAR_CLOSURE,
    closures_parse,
    window_validate,
)
from sokyaku.core.condition_rows import ConditionRowsField, RowSpec
from sokyaku.core.errors import SokyakuError
from sokyaku.lifecycle.models import Stage
from sokyaku.sequences.conditions import STAGE_ORDER
from sokyaku.sequences.describe import PROPERTY_WORDS
from sokyaku.sequences.models import ReentryPolicy, Step, TriggerKind
from sokyaku.sequences.models import Sequence as SequenceModel
from sokyaku.sequences.services.editing import EXIT_CHOICES, SequenceInput, StepInput
from sokyaku.sequences.variants import LABELS, SUBJECT_MAX

Choices = Sequence[tuple[Any, str]]

WEEKDAYS = (
    (1, _("Mon")),
    (2, _("Tue")),
    (3, _("Wed")),
    (4, _("Thu")),
    (5, _("Fri")),
    (6, _("Sat")),
    (7, _("Sun")),
)
EXIT_LABELS = {
    "mql": _("Became an MQL"),
    "sql": _("Became an SQL"),
    "customer": _("Became a customer"),
    "unsubscribed": _("Unsubscribed"),
    "bounced": _("Bounced"),
}
# Which trigger kinds use which of the form's trigger fields (the page shows only those).
TRIGGER_FIELDS: dict[str, tuple[str, ...]] = {
    TriggerKind.FORM_SUBMITTED: ("trigger_form", "trigger_asset"),
    TriggerKind.EVENT: ("event_type", "where"),
    TriggerKind.DEAL_WON: ("where",),
    TriggerKind.SEGMENT_ENTERED: ("segment",),
    TriggerKind.STAGE_ENTERED: ("stage",),
    TriggerKind.DATE_RELATIVE: ("date", "offset_minutes", "where"),
    TriggerKind.MANUAL: (),
}
# Service field error → form field, where the names differ.
_FIELD_MAP = {"trigger_config.form": "trigger_form", "trigger_config.asset": "trigger_asset"}
# "12-29〜01-03" (〜, ~, ～ after NFKC, –, —) or one day "05-01"; month/day also with "/".
_CLOSURE_RE = re.compile(r"^(\d{1,2})[-/](\d{1,2})(?:\s*[~〜–—]\s*(\d{1,2})[-/](\d{1,2}))?$")


@dataclass(frozen=True)
class SettingsChoices:
    """What the pickers offer: ``(id, label)`` pairs, and ``(key, label)`` for topics."""

    forms: Choices
    assets: Choices
    segments: Choices
    senders: Choices
    topics: Choices
    default_sender: int | None = None
    sequences: Choices = ()  # other sequences, for "do not enrol while in"


def closures_text(closures: Sequence[dict[str, str]]) -> str:
    """The stored closures as the textarea shows them, one ``12-29〜01-03`` per line."""
    return "\n".join(
        c["from"] if c["from"] == c["to"] else f"{c['from']}〜{c['to']}" for c in closures
    )


def _with_current(choices: Choices, current: Any) -> list[tuple[Any, str]]:
    """The choices, plus the stored value when it is no longer offered (an archived segment,
    an inactive topic) so that saving other settings does not silently drop it."""
    result = list(choices)
    if current not in (None, "") and str(current) not in {str(value) for value, _l in result}:
        result.append((current, f"#{current}" if isinstance(current, int) else str(current)))
    return result


# What an entry condition may check (``conditions.properties_match``), in words.
WHERE_ROWS = RowSpec(
    key="field",
    properties=[
        ("url", pgettext_lazy("event property", "URL")),
        *PROPERTY_WORDS.items(),
    ],
    ops=[
        ("eq", pgettext_lazy("condition", "equals")),
        ("ne", pgettext_lazy("condition", "does not equal")),
        ("in", pgettext_lazy("condition", "is one of")),
        ("not_in", pgettext_lazy("condition", "is none of")),
        ("contains", pgettext_lazy("condition", "contains")),
        ("startswith", pgettext_lazy("condition", "starts with")),
        ("gte", pgettext_lazy("condition", "at least")),
        ("lte", pgettext_lazy("condition", "at most")),
        ("is_set", pgettext_lazy("condition", "has a value")),
        ("is_not_set", pgettext_lazy("condition", "has no value")),
    ],
    number_ops=frozenset({"gte", "lte"}),
    list_ops=frozenset({"in", "not_in"}),
    text_ops=frozenset({"contains", "startswith"}),
    flag_ops={"is_set": ("is_set", True), "is_not_set": ("is_set", False)},
)


class SequenceSettingsForm(forms.Form):
    name = forms.CharField(label=_("Sequence name"), max_length=150)
    description = forms.CharField(
        label=_("Description"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    trigger_kind = forms.ChoiceField(
        label=_("Trigger"),
        choices=TriggerKind.choices,
        widget=forms.Select(attrs={"data-seq-trigger": ""}),
    )
    trigger_form = forms.TypedChoiceField(label=_("Form"), coerce=int, required=False)
    trigger_asset = forms.TypedChoiceField(
        label=_("Downloaded asset"),
        coerce=int,
        required=False,
        help_text=_("Choose a form, or an asset whose download starts the sequence."),
    )
    event_type = forms.ChoiceField(label=_("Event type"), required=False)
    where = ConditionRowsField(
        label=_("Property conditions"),
        spec=WHERE_ROWS,
        help_text=_("Optional: only events where every condition holds start the sequence."),
    )
    segment = forms.TypedChoiceField(label=_("Segment"), coerce=int, required=False)
    stage = forms.ChoiceField(label=_("Lifecycle stage"), required=False)
    date = forms.CharField(
        label=_("Date"),
        required=False,
        max_length=200,
        help_text=_("event:<event type>.<property> or field:custom.<field name>"),
    )
    offset_minutes = forms.IntegerField(
        label=_("Offset (minutes)"),
        required=False,
        help_text=_("Negative is before the date: -60 is one hour before."),
    )
    reentry = forms.ChoiceField(
        label=_("Re-entry"),
        choices=ReentryPolicy.choices,
        widget=forms.Select(attrs={"data-seq-reentry": ""}),
    )
    reentry_days = forms.IntegerField(label=_("Days until re-entry"), required=False, min_value=1)
    exit_on = forms.MultipleChoiceField(
        label=_("Exit when the contact"),
        required=False,
        choices=[(key, EXIT_LABELS[key]) for key in EXIT_CHOICES],
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Unsubscribes and spam complaints always end the sequence."),
    )
    window_days = forms.TypedMultipleChoiceField(
        label=_("Send on"),
        coerce=int,
        choices=WEEKDAYS,
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": _("Choose at least one weekday.")},
    )
    window_start = forms.TimeField(
        label=_("Start time"), widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M")
    )
    window_end = forms.TimeField(
        label=_("End time"),
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
        help_text=_("Asia/Tokyo; a mail due outside the window waits for its next opening."),
    )
    skip_holidays = forms.BooleanField(label=_("Skip national holidays"), required=False)
    closures = forms.CharField(
        label=_("Company closures"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": "12-29〜01-03"}),
        help_text=_("One period a line, month-day to month-day, such as 12-29〜01-03 (年末年始)."),
    )
    sender = forms.TypedChoiceField(label=_("Sender profile"), coerce=int, required=False)
    # The engine suppresses marketing mail and chat without a topic, so one is required here.
    topic_key = forms.ChoiceField(
        label=_("Consent topic"),
        error_messages={"required": _("Choose the consent topic the messages are sent under.")},
    )

    priority = forms.IntegerField(
        label=_("Priority"),
        min_value=0,
        max_value=100,
        required=False,
        help_text=_(
            "When the frequency cap lets only one sequence mail a contact on a day, the higher "
            "priority sends first; the other mail waits for the next day."
        ),
    )
    exclusions = forms.TypedMultipleChoiceField(
        label=_("Do not enrol while in"),
        coerce=int,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_(
            "A contact active in any of these sequences is not enrolled in this one, nor in "
            "them while active in this one."
        ),
    )

    def __init__(
        self,
        data: Any = None,
        *,
        choices: SettingsChoices,
        sequence: SequenceModel | None = None,
        **kwargs: Any,
    ) -> None:
        self.sequence = sequence
        initial = self.initial_of(sequence) if sequence else self.initial_new(choices)
        super().__init__(data, initial=initial, **kwargs)
        config = sequence.trigger_config if sequence else {}
        blank = [("", "—")]
        self._set_choices("trigger_form", blank + _with_current(choices.forms, config.get("form")))
        self._set_choices(
            "trigger_asset", blank + _with_current(choices.assets, config.get("asset"))
        )
        events = [(value, str(label)) for value, label in EventType.choices]
        self._set_choices("event_type", blank + _with_current(events, config.get("event_type")))
        self._set_choices("segment", blank + _with_current(choices.segments, config.get("segment")))
        stages = [(key, str(Stage(key).label)) for key in STAGE_ORDER]
        self._set_choices("stage", blank + stages)
        senders = _with_current(choices.senders, sequence.sender_id if sequence else None)
        # The service cannot take a sender away again, so once chosen there is no blank option.
        if sequence is None or sequence.sender_id is None:
            senders = [("", gettext("The default marketing sender"))] + senders
        self._set_choices("sender", senders)
        topics = _with_current(choices.topics, sequence.topic_key if sequence else "")
        self._set_choices("topic_key", blank + topics)
        self._set_choices(
            "exclusions",
            [(pk, name) for pk, name in choices.sequences if not sequence or pk != sequence.pk],
        )

    def _set_choices(self, name: str, choices: Choices) -> None:
        field = self.fields[name]
        assert isinstance(field, forms.ChoiceField)
        field.choices = choices

    @staticmethod
    def initial_new(choices: SettingsChoices) -> dict[str, Any]:
        return {
            "trigger_kind": TriggerKind.MANUAL,
            "reentry": ReentryPolicy.NEVER,
            "window_days": list(DEFAULT_DAYS),
            "window_start": DEFAULT_START,
            "window_end": DEFAULT_END,
            "skip_holidays": True,
            "closures": closures_text([NEW_YEAR_CLOSURE]),
            "sender": choices.default_sender,
            "priority": 0,
        }

    @staticmethod
    def initial_of(sequence: SequenceModel) -> dict[str, Any]:
        config = sequence.trigger_config or {}
        where = config.get("where") or []
        return {
            "name": sequence.name,
            "description": sequence.description,
            "trigger_kind": sequence.trigger_kind,
            "trigger_form": config.get("form"),
            "trigger_asset": config.get("asset"),
            "event_type": config.get("event_type", ""),
            "where": list(where),
            "segment": config.get("segment"),
            "stage": config.get("stage", ""),
            "date": config.get("date", ""),
            "offset_minutes": config.get("offset_minutes"),
            "reentry": sequence.reentry,
            "reentry_days": sequence.reentry_days,
            "exit_on": list(sequence.exit_on or []),
            "window_days": list(sequence.window_days or DEFAULT_DAYS),
            "window_start": sequence.window_start or DEFAULT_START,
            "window_end": sequence.window_end or DEFAULT_END,
            "skip_holidays": sequence.skip_holidays,
            "closures": closures_text(sequence.closures or []),
            "sender": sequence.sender_id,
            "topic_key": sequence.topic_key,
            "priority": sequence.priority,
            "exclusions": list(sequence.exclusions.values_list("pk", flat=True)),
        }

    def trigger_fields(self) -> list[tuple[str, forms.BoundField]]:
        """The trigger fields, each with the kinds that use it (space-separated; the page's
        script shows only the chosen kind's fields)."""
        return [
            (" ".join(kind for kind, used in TRIGGER_FIELDS.items() if name in used), self[name])
            for name in ("trigger_form", "trigger_asset", "event_type", "segment", "stage")
            + ("date", "offset_minutes", "where")
        ]

    def clean_closures(self) -> list[dict[str, str]]:
        text = unicodedata.normalize("NFKC", self.cleaned_data.get("closures") or "")
        result = []
        for number, line in enumerate(text.splitlines(), start=1):
            line = line.strip()
            if not line:
                continue
            match = _CLOSURE_RE.match(line)
            if match is None:
                raise forms.ValidationError(
                    _("Line %(line)s: write a period as 12-29〜01-03."),
                    params={"line": number},
                )
            start = f"{int(match[1]):02d}-{int(match[2]):02d}"
            end = f"{int(match[3]):02d}-{int(match[4]):02d}" if match[3] else start
            result.append({"from": start, "to": end})
        try:
            closures_parse(result)  # 02-30 and 13-01 are not days
        except SokyakuError as exc:
            raise forms.ValidationError(
                gettext(exc.field_errors.get("closures") or exc.message)
            ) from exc
        return result

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        kind = data.get("trigger_kind")
        if kind == TriggerKind.FORM_SUBMITTED:
            if data.get("trigger_form") and data.get("trigger_asset"):
                self.add_error("trigger_asset", _("Choose a form or an asset, not both."))
            elif not data.get("trigger_form") and not data.get("trigger_asset"):
                self.add_error("trigger_form", _("Choose a form or an asset."))
        required: dict[str, tuple[str, ...]] = {
            TriggerKind.EVENT: ("event_type",),
            TriggerKind.SEGMENT_ENTERED: ("segment",),
            TriggerKind.STAGE_ENTERED: ("stage",),
            TriggerKind.DATE_RELATIVE: ("date",),
        }
        for name in required.get(str(kind), ()):
            if name not in self.errors and not data.get(name):
                self.add_error(name, forms.Field.default_error_messages["required"])
        if kind in TRIGGER_FIELDS and "where" in TRIGGER_FIELDS[str(kind)]:
            data["where"] = data.get("where") or []
        if data.get("window_days") and data.get("window_start") and data.get("window_end"):
            # The service checks this too; here it shows together with the other errors.
            try:
                window_validate(
                    days=data["window_days"], start=data["window_start"], end=data["window_end"]
                )
            except SokyakuError as exc:
                self.add_service_errors(exc)
        days_missing = not data.get("reentry_days") and "reentry_days" not in self.errors
        if data.get("reentry") == ReentryPolicy.AFTER_DAYS and days_missing:
            self.add_error("reentry_days", _("Give the number of days."))
        return data

    def to_input(self) -> SequenceInput:
        data = self.cleaned_data
        kind = data["trigger_kind"]
        config: dict[str, Any] = {}
        if kind == TriggerKind.FORM_SUBMITTED:
            key = "form" if data.get("trigger_form") else "asset"
            config[key] = data.get(f"trigger_{key}")
        elif kind in (TriggerKind.EVENT, TriggerKind.DEAL_WON):
            config = {"event_type": data.get("event_type") or "", "where": data.get("where")}
        elif kind == TriggerKind.SEGMENT_ENTERED:
            config = {"segment": data.get("segment")}
        elif kind == TriggerKind.STAGE_ENTERED:
            config = {"stage": data.get("stage")}
        elif kind == TriggerKind.DATE_RELATIVE:
            config = {
                "date": data.get("date"),
                "offset_minutes": data.get("offset_minutes") or 0,
                "where": data.get("where"),
            }
        after_days = data["reentry"] == ReentryPolicy.AFTER_DAYS
        return SequenceInput(
            name=data["name"],
            description=data["description"],
            trigger_kind=kind,
            trigger_config=config,
            reentry=data["reentry"],
            reentry_days=data.get("reentry_days") if after_days else None,
            exit_on=list(data["exit_on"]),
            window_days=list(data["window_days"]),
            window_start=data["window_start"],
            window_end=data["window_end"],
            skip_holidays=data["skip_holidays"],
            closures=data["closures"],
            sender_id=data.get("sender") or None,
            topic_key=data["topic_key"],
            priority=data.get("priority"),
            exclusion_ids=list(data.get("exclusions") or []),
        )

    def add_service_errors(self, exc: SokyakuError) -> None:
        """Put a service error onto the fields it names (translated); the rest on the form."""
        if not exc.field_errors:
            self.add_error(None, gettext(exc.message))
            return
        for key, message in exc.field_errors.items():
            name = _FIELD_MAP.get(key) or key.removeprefix("trigger_config.")
            self.add_error(name if name in self.fields else None, gettext(message))


@dataclass
class StepChoices:
    """What a step form's pickers offer: mail templates, chat channels, segments and the
    steps a branch may lead to (step id, "4. 2通目" — only steps below the branch)."""

    templates: Choices = ()
    channels: Choices = ()
    segments: Choices = ()
    targets: Choices = ()


WAIT_UNIT_CHOICES = (
    ("business_days", _("business days")),
    ("days", _("days")),
    ("hours", _("hours")),
    ("minutes", _("minutes")),
)
STEP_CONDITIONS = (
    ("opened", _("Opened the previous mail")),
    ("clicked", _("Clicked a link in the previous mail")),
    ("event", _("Did an event since enrolment")),
    ("score_gte", _("Score at least")),
    ("stage", _("Reached a lifecycle stage")),
    ("segment", _("Is in a segment")),
)
# Which fields each step kind shows (besides its name), in page order.
STEP_FIELDS = {
    "email": ("template",),
    "chat": ("channel", "text"),
    "wait": ("amount", "unit"),
    "branch": ("condition", "event_type", "score", "stage", "segment", "yes", "no"),
    "goal": ("condition", "event_type", "score", "stage", "segment"),
    "update": ("tag",),
    "notify_owner": ("text",),
}
# The condition field each condition kind needs (the page shows only that one).
CONDITION_FIELD = {
    "event": "event_type",
    "score_gte": "score",
    "stage": "stage",
    "segment": "segment",
}
END = "end"


def _whole(value: Any) -> Any:
    """A stored score (a float) as the whole number the form's field takes."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


class StepForm(forms.Form):
    """One step of a given kind: its name and only that kind's settings (a wait's amount and
    unit, a mail's template, a branch's condition and its yes/no targets chosen from the steps
    below it, never typed as numbers). ``to_input`` gives ``editing.StepInput``; a branch's
    targets are step ids here and become positions through the ``positions`` it is given."""

    def __init__(
        self,
        data: Any = None,
        *,
        kind: str,
        choices: StepChoices,
        step: Step | None = None,
        target_of: dict[int, int] | None = None,
        **kwargs: Any,
    ) -> None:
        self.kind = kind
        kwargs.setdefault("initial", self.initial_of(step, target_of or {}) if step else {})
        super().__init__(data, **kwargs)
        config = (step.config or {}) if step else {}
        wanted = STEP_FIELDS.get(kind, ())
        all_fields: dict[str, forms.Field] = {
            "template": forms.TypedChoiceField(
                label=_("Mail template"),
                coerce=int,
                choices=[("", "—"), *_with_current(choices.templates, config.get("template"))],
            ),
            "channel": forms.TypedChoiceField(
                label=_("Chat channel"),
                coerce=int,
                choices=[("", "—"), *_with_current(choices.channels, config.get("channel"))],
            ),
            "text": forms.CharField(
                label=_("Message"), max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
            ),
            "amount": forms.IntegerField(label=_("Wait for"), min_value=0, max_value=3650),
            "unit": forms.ChoiceField(label=_("Unit"), choices=WAIT_UNIT_CHOICES),
            "condition": forms.ChoiceField(label=_("Condition"), choices=STEP_CONDITIONS),
            "event_type": forms.ChoiceField(
                label=_("Event"),
                required=False,
                choices=[
                    ("", "—"),
                    *_with_current(
                        [(value, str(label)) for value, label in EventType.choices],
                        (config.get("condition") or {}).get("event_type"),
                    ),
                ],
            ),
            "score": forms.IntegerField(label=_("Score"), required=False, min_value=0),
            "stage": forms.ChoiceField(
                label=_("Lifecycle stage"),
                required=False,
                choices=[
                    ("", "—"),
                    *[(s, label) for s, label in Stage.choices if s in STAGE_ORDER],
                ],
            ),
            "segment": forms.TypedChoiceField(
                label=_("Segment"),
                coerce=int,
                required=False,
                choices=[("", "—"), *choices.segments],
            ),
            "yes": forms.ChoiceField(
                label=_("If yes, go to"),
                required=False,
                choices=self._target_choices(choices.targets),
            ),
            "no": forms.ChoiceField(
                label=_("If no, go to"),
                required=False,
                choices=self._target_choices(choices.targets),
            ),
            "tag": forms.CharField(label=_("Tag to add"), max_length=100),
        }
        for name in wanted:
            self.fields[name] = all_fields[name]
        self.fields["name"] = forms.CharField(
            label=_("Step name"),
            required=False,
            max_length=150,
            help_text=_("Optional, e.g. 2通目 事例紹介."),
        )

    @staticmethod
    def _target_choices(targets: Choices) -> list[tuple[Any, str]]:
        return [
            ("", gettext("The next step")),
            *[(str(pk), label) for pk, label in targets],
            (END, gettext("End of the sequence")),
        ]

    @staticmethod
    def initial_of(step: Step, target_of: dict[int, int]) -> dict[str, Any]:
        """A stored step as form values; ``target_of``: position → step id."""
        config = step.config or {}
        condition = config.get("condition") or {}
        initial: dict[str, Any] = {
            "name": step.name,
            "template": config.get("template"),
            "channel": config.get("channel"),
            "text": config.get("text", ""),
            "amount": config.get("amount"),
            "unit": config.get("unit") or "business_days",
            "condition": condition.get("kind"),
            "event_type": condition.get("event_type", ""),
            "score": _whole(condition.get("value")),
            "stage": condition.get("stage", ""),
            "segment": condition.get("segment"),
            "tag": config.get("tag", ""),
        }
        for key in ("yes", "no"):
            raw = config.get(key)
            if raw in (None, ""):
                initial[key] = ""
            else:
                target = target_of.get(int(raw))
                initial[key] = str(target) if target else END
        return initial

    def condition_fields(self) -> list[tuple[str, forms.BoundField]]:
        """The form's fields with the condition kind that needs each ("" = always shown)."""
        needs = {field: kind for kind, field in CONDITION_FIELD.items()}
        return [(needs.get(name, ""), self[name]) for name in self.fields]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        condition = data.get("condition")
        needed = CONDITION_FIELD.get(condition or "")
        if (
            needed
            and needed in self.fields
            and data.get(needed) in (None, "")
            and needed not in self.errors
        ):
            self.add_error(needed, forms.Field.default_error_messages["required"])
        return data

    def to_input(self, *, positions: dict[int, int], end: int) -> StepInput:
        """The service's input; ``positions``: step id → its position once the step is saved
        (for a branch's targets), ``end``: the position after the last step."""
        data = self.cleaned_data
        config: dict[str, Any] = {}
        if self.kind == "email":
            config = {"template": data["template"]}
        elif self.kind == "chat":
            config = {"channel": data["channel"], "text": data["text"]}
        elif self.kind == "notify_owner":
            config = {"text": data["text"]}
        elif self.kind == "wait":
            config = {"amount": data["amount"], "unit": data["unit"]}
        elif self.kind == "update":
            config = {"tag": data["tag"]}
        elif self.kind in ("branch", "goal"):
            condition: dict[str, Any] = {"kind": data["condition"]}
            if data["condition"] == "event":
                condition["event_type"] = data["event_type"]
            elif data["condition"] == "score_gte":
                condition["value"] = data["score"]
            elif data["condition"] == "stage":
                condition["stage"] = data["stage"]
            elif data["condition"] == "segment":
                condition["segment"] = data["segment"]
            config = {"condition": condition}
            if self.kind == "branch":
                for key in ("yes", "no"):
                    raw = data.get(key) or ""
                    if raw == END:
                        config[key] = end
                    elif raw:
                        config[key] = positions.get(int(raw))
        return StepInput(kind=self.kind, name=data.get("name") or "", config=config)

    def add_service_errors(self, exc: SokyakuError) -> None:
        """Put the service's field errors onto the fields (translated); the rest on the form."""
        if not exc.field_errors:
            self.add_error(None, gettext(exc.message))
            return
        for key, message in exc.field_errors.items():
            name = {"value": "score"}.get(key, key)
            self.add_error(name if name in self.fields else None, gettext(message))


class StepVariantsForm(forms.Form):
    """A mail step's A/B test: variants B and C, each switched on or off, with another template
    and/or another subject line and its share of the enrolments (A, the step itself, keeps the
    rest). Fields are named ``b_…`` and ``c_…``; ``to_variants`` gives the service's input."""

    def __init__(
        self,
        data: Any = None,
        *,
        step: Step,
        templates: Choices,
        base_template: str = "",
        **kwargs: Any,
    ) -> None:
        self.step = step
        stored = {v["label"]: v for v in (step.config or {}).get("variants") or ()}
        initial: dict[str, Any] = {}
        for label in LABELS:
            prefix = label.lower()
            variant = stored.get(label)
            initial[f"{prefix}_enabled"] = variant is not None
            initial[f"{prefix}_template"] = (variant or {}).get("template")
            initial[f"{prefix}_subject"] = (variant or {}).get("subject", "")
            initial[f"{prefix}_weight"] = (variant or {}).get("weight") or (
                50 if label == "B" else 25
            )
        super().__init__(data, initial=initial, **kwargs)
        same = gettext("Same template as A (%(name)s)") % {"name": base_template or "—"}
        for label in LABELS:
            prefix = label.lower()
            current = (stored.get(label) or {}).get("template")
            self.fields[f"{prefix}_enabled"] = forms.BooleanField(
                label=gettext("Test variant %(label)s") % {"label": label}, required=False
            )
            self.fields[f"{prefix}_template"] = forms.TypedChoiceField(
                label=_("Mail template"),
                coerce=int,
                required=False,
                choices=[("", same), *_with_current(templates, current)],
            )
            self.fields[f"{prefix}_subject"] = forms.CharField(
                label=_("Subject line"),
                required=False,
                max_length=SUBJECT_MAX,
                help_text=_("Leave empty to send the template's own subject line."),
            )
            self.fields[f"{prefix}_weight"] = forms.IntegerField(
                label=_("Share"),
                required=False,
                min_value=1,
                max_value=99,
                help_text=_("Per cent of the enrolments, 1 to 99."),
            )

    def variant_fields(self) -> list[tuple[str, list[forms.BoundField]]]:
        """Per variant label, its bound fields in page order (switch, template, subject, share)."""
        return [
            (label, [self[f"{label.lower()}_{name}"] for name in _VARIANT_FIELDS])
            for label in LABELS
        ]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        for label in LABELS:
            prefix = label.lower()
            missing = data.get(f"{prefix}_weight") is None and f"{prefix}_weight" not in self.errors
            if data.get(f"{prefix}_enabled") and missing:
                self.add_error(f"{prefix}_weight", forms.Field.default_error_messages["required"])
        return data

    def to_variants(self) -> list[dict[str, Any]]:
        data = self.cleaned_data
        return [
            {
                "label": label,
                "template": data.get(f"{label.lower()}_template") or None,
                "subject": data.get(f"{label.lower()}_subject") or "",
                "weight": data.get(f"{label.lower()}_weight"),
            }
            for label in LABELS
            if data.get(f"{label.lower()}_enabled")
        ]

    def add_service_errors(self, exc: SokyakuError) -> None:
        """Put the service's ``variants.<label>.<field>`` errors onto the fields (translated)."""
        if not exc.field_errors:
            self.add_error(None, gettext(exc.message))
            return
        for key, message in exc.field_errors.items():
            parts = key.split(".")
            name = f"{parts[1].lower()}_{parts[2]}" if len(parts) == 3 else ""
            self.add_error(name if name in self.fields else None, gettext(message))


_VARIANT_FIELDS = ("enabled", "template", "subject", "weight")
