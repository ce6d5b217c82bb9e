"""The fields a condition can test: operators, types, the field table and special compilers.

``conditions.py`` validates and compiles definitions; this module says what each field is
(label, type, operators, choices for UIs) and how the few fields that are not a plain column
become SQL (email domain, tags, employee bands, segment membership, consent, decayed scores).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any

from django.apps import apps
from django.contrib.auth import get_user_model
from django.db.models import Exists, F, OuterRef, Q, Value
from django.db.models.fields.json import KeyTransform
from django.db.models.functions import Coalesce
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from sokyaku.activity.models import EventType
from sokyaku.contacts.models import (
    PREFECTURE_CHOICES,
    Contact,
    EmployeeBand,
    FieldDefinition,
    FieldType,
    Industry,
    RevenueBand,
    TitleLevel,
)
from sokyaku.core import clock

# --- operators and field types --------------------------------------------------------------

EQ, NE, IN, NOT_IN = "eq", "ne", "in", "not_in"
CONTAINS, NOT_CONTAINS, STARTSWITH = "contains", "not_contains", "startswith"
GTE, LTE, GT, LT = "gte", "lte", "gt", "lt"
IS_SET, IS_NOT_SET, WITHIN = "is_set", "is_not_set", "within_last_days"

OPERATORS: dict[str, Any] = {
    EQ: _("is"),
    NE: _("is not"),
    IN: _("is any of"),
    NOT_IN: _("is none of"),
    CONTAINS: _("contains"),
    NOT_CONTAINS: _("does not contain"),
    STARTSWITH: _("starts with"),
    GTE: _("is at least"),
    LTE: _("is at most"),
    GT: _("is more than"),
    LT: _("is less than"),
    IS_SET: _("is known"),
    IS_NOT_SET: _("is unknown"),
    WITHIN: _("is within the last … days"),
}
NEGATIVE = {NE: EQ, NOT_IN: IN, NOT_CONTAINS: CONTAINS}
ORDER_OPS = (GTE, LTE, GT, LT)
LIST_OPS = (IN, NOT_IN)
NO_VALUE_OPS = (IS_SET, IS_NOT_SET)

TEXT, NUMBER, CHOICE, DATE, BOOLEAN = "text", "number", "choice", "date", "boolean"

TEXT_OPS = (EQ, NE, IN, NOT_IN, CONTAINS, NOT_CONTAINS, STARTSWITH, IS_SET, IS_NOT_SET)
NUMBER_OPS = (EQ, NE, GTE, LTE, GT, LT, IS_SET, IS_NOT_SET)
CHOICE_OPS = (EQ, NE, IN, NOT_IN, IS_SET, IS_NOT_SET)
ORDERED_CHOICE_OPS = (EQ, NE, IN, NOT_IN, GTE, LTE, GT, LT, IS_SET, IS_NOT_SET)
DATE_OPS = (EQ, GTE, LTE, GT, LT, WITHIN, IS_SET, IS_NOT_SET)
BOOLEAN_OPS = (EQ, NE, IS_SET, IS_NOT_SET)
# Event property filters: every operator but the date-relative one.
PROPERTY_OPS: tuple[str, ...] = (EQ, NE, IN, NOT_IN, CONTAINS, NOT_CONTAINS, STARTSWITH)
PROPERTY_OPS = (*PROPERTY_OPS, GTE, LTE, GT, LT, IS_SET, IS_NOT_SET)

MAX_DEPTH = 5
MAX_CONDITIONS = 100
MAX_LIST = 500
PROPERTY_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_\-]*(\.[A-Za-z_][A-Za-z0-9_\-]*)*$")


@dataclass(frozen=True)
class FieldSpec:
    """One field a condition can test, as a UI shows it."""

    name: str
    label: str
    type: str  # text | number | choice | date | boolean
    ops: tuple[str, ...]
    choices: list[tuple[Any, str]] = field(default_factory=list)
    group: str = ""
    # Compile-time details (not for UIs).
    path: str = ""  # ORM path over Contact, or "" when ``expression`` gives the value
    expression: Callable[[datetime], Any] | None = None
    json: bool = False  # the value sits in a JSON document (custom fields)
    default: Any = None  # the value a contact without the related row has
    ordered: bool = False  # choices are in ascending order (gte/lte compare positions)
    compile: Callable[[str, Any, datetime], Q] | None = None  # a field with its own SQL
    time_relative: bool = False  # matches change as time passes (decay)


# --- special compilers ----------------------------------------------------------------------


def tokyo_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=clock.TOKYO)


def _compile_email_domain(op: str, value: Any, at: datetime) -> Q:
    if op in (EQ, IN):
        domains = [value] if op == EQ else value
        q = Q(pk__in=[])
        for domain in domains:
            q |= Q(email__iendswith=f"@{domain}")
        return q
    raise AssertionError(op)  # negatives are compiled as NOT of the positive


def _compile_tags(op: str, value: Any, at: datetime) -> Q:
    through = Contact.tags.through.objects.filter(contact_id=OuterRef("pk"))
    if op == IN:
        return Q(Exists(through.filter(tag__name__in=value)))
    if op == IS_SET:
        return Q(Exists(through))
    raise AssertionError(op)


def _compile_employees(op: str, value: Any, at: datetime) -> Q:
    compare: dict[str, Callable[[int], bool]] = {
        EQ: lambda m: m == value,
        GTE: lambda m: m >= value,
        LTE: lambda m: m <= value,
        GT: lambda m: m > value,
        LT: lambda m: m < value,
    }
    if op == IS_SET:
        return Q(company__employee_band__in=EmployeeBand.values)
    bands = [band.value for band in EmployeeBand if compare[op](band.minimum)]
    return Q(company__employee_band__in=bands)


def _compile_segment(op: str, value: Any, at: datetime) -> Q:
    from sokyaku.segments.models import SegmentMembership

    ids = [value] if op == EQ else value
    members = SegmentMembership.objects.filter(contact_id=OuterRef("pk"), segment_id__in=ids)
    return Q(Exists(members))


def _consent_compiler(topic_key: str) -> Callable[[str, Any, datetime], Q]:
    def compile_consent(op: str, value: Any, at: datetime) -> Q:
        granted = consent_granted_q(topic_key=topic_key, at=at)
        return granted if value else ~granted

    return compile_consent


def consent_granted_q(*, topic_key: str, at: datetime | None = None) -> Q:
    """Contacts whose consent ledger says marketing of ``topic_key`` may go to them at ``at``.

    The SQL form of ``consent.selectors``' rule: the newest record decides, but once a person
    withdrew (this topic or every topic) only a later opt-in grant lifts it. So: some grant on
    the topic with no withdrawal after it, which is an opt-in or has no withdrawal before it
    either. Pending double opt-ins do not count.
    """
    from sokyaku.consent.models import ConsentRecord, ConsentStatus, LegalBasis

    at = at or clock.now()
    withdrawals = ConsentRecord.objects.filter(
        contact_id=OuterRef("contact_id"),
        status=ConsentStatus.WITHDRAWN,
        recorded_at__lte=at,
    ).filter(Q(topic__isnull=True) | Q(topic__key=topic_key))
    later = withdrawals.filter(
        Q(recorded_at__gt=OuterRef("recorded_at"))
        | Q(recorded_at=OuterRef("recorded_at"), id__gt=OuterRef("id"))
    )
    grants = ConsentRecord.objects.filter(
        contact_id=OuterRef("pk"),
        topic__key=topic_key,
        status=ConsentStatus.GRANTED,
        recorded_at__lte=at,
    ).filter(Q(legal_basis=LegalBasis.OPT_IN) | ~Exists(withdrawals))
    return Q(Exists(grants.filter(~Exists(later))))


# --- score expressions ----------------------------------------------------------------------


def _score_expression(kind: str) -> Callable[[datetime], Any]:
    def expression(at: datetime) -> Any:
        # Decay is computed in SQL by scoring's own expressions (one formula everywhere).
        from sokyaku.scoring import selectors as scoring_selectors

        if kind == "fit":
            return Coalesce(F("score__fit"), Value(0))
        if kind == "total":
            return scoring_selectors.total_expression(at=at, prefix="score__")
        return scoring_selectors.engagement_expression(at=at, prefix="score__")

    return expression


# --- the field table ------------------------------------------------------------------------


def _choices(enum: Any) -> list[tuple[Any, str]]:
    return [(value, str(label)) for value, label in enum.choices]


def static_fields() -> list[FieldSpec]:
    from sokyaku.scoring.models import Temperature

    # Lifecycle sits above the condition language: its stages are read from the stored field.
    stage = apps.get_model("lifecycle", "ContactStage")._meta.get_field("stage")

    person, company, score = _("Contact"), _("Company"), _("Score and stage")
    text = [
        ("family_name", _("Family name")),
        ("given_name", _("Given name")),
        ("email", _("Email")),
        ("department", _("Department")),
        ("title", _("Title")),
    ]
    specs = [
        FieldSpec(name=n, label=str(lbl), type=TEXT, ops=TEXT_OPS, group=str(person), path=n)
        for n, lbl in text
    ]
    specs += [
        FieldSpec(
            name="email_domain",
            label=str(_("Email domain")),
            type=TEXT,
            ops=(EQ, NE, IN, NOT_IN),
            group=str(person),
            compile=_compile_email_domain,
        ),
        FieldSpec(
            name="title_level",
            label=str(_("Title level")),
            type=CHOICE,
            ops=(EQ, NE, IN, NOT_IN, GTE, LTE, GT, LT),
            choices=_choices(TitleLevel),
            group=str(person),
            path="title_level",
            ordered=True,
        ),
        FieldSpec(
            name="prefecture",
            label=str(_("Prefecture")),
            type=CHOICE,
            ops=CHOICE_OPS,
            choices=list(PREFECTURE_CHOICES),
            group=str(person),
            path="prefecture",
        ),
        FieldSpec(
            name="owner",
            label=str(_("Owner")),
            type=CHOICE,
            ops=CHOICE_OPS,
            group=str(person),
            path="owner_id",
        ),
        FieldSpec(
            name="created_at",
            label=str(_("Created")),
            type=DATE,
            ops=(EQ, GTE, LTE, GT, LT, WITHIN),
            group=str(person),
            path="created_at",
        ),
        FieldSpec(
            name="tags",
            label=str(_("Tags")),
            type=CHOICE,
            ops=(IN, NOT_IN, IS_SET, IS_NOT_SET),
            group=str(person),
            compile=_compile_tags,
        ),
        FieldSpec(
            name="first_touch_channel",
            label=str(_("First-touch channel")),
            type=CHOICE,
            ops=CHOICE_OPS,
            group=str(person),
            path="first_touch_channel__key",
        ),
        FieldSpec(
            name="company.name",
            label=str(_("Company name")),
            type=TEXT,
            ops=TEXT_OPS,
            group=str(company),
            path="company__name",
        ),
        FieldSpec(
            name="company.industry",
            label=str(_("Industry")),
            type=CHOICE,
            ops=CHOICE_OPS,
            choices=_choices(Industry),
            group=str(company),
            path="company__industry",
        ),
        FieldSpec(
            name="company.employee_band",
            label=str(_("Employee band")),
            type=CHOICE,
            ops=ORDERED_CHOICE_OPS,
            choices=_choices(EmployeeBand),
            group=str(company),
            path="company__employee_band",
            ordered=True,
        ),
        FieldSpec(
            name="company.employees",
            label=str(_("Employees (band minimum)")),
            type=NUMBER,
            ops=(EQ, GTE, LTE, GT, LT, IS_SET),
            group=str(company),
            compile=_compile_employees,
        ),
        FieldSpec(
            name="company.revenue_band",
            label=str(_("Revenue band")),
            type=CHOICE,
            ops=ORDERED_CHOICE_OPS,
            choices=_choices(RevenueBand),
            group=str(company),
            path="company__revenue_band",
            ordered=True,
        ),
        FieldSpec(
            name="company.prefecture",
            label=str(_("Company prefecture")),
            type=CHOICE,
            ops=CHOICE_OPS,
            choices=list(PREFECTURE_CHOICES),
            group=str(company),
            path="company__prefecture",
        ),
    ]
    for kind, label, relative in (
        ("total", _("Score (total)"), True),
        ("engagement", _("Engagement score"), True),
        ("fit", _("Fit score"), False),
    ):
        specs.append(
            FieldSpec(
                name=f"score.{kind}",
                label=str(label),
                type=NUMBER,
                ops=(GTE, LTE, GT, LT),
                group=str(score),
                expression=_score_expression(kind),
                time_relative=relative,
            )
        )
    specs += [
        FieldSpec(
            name="score.temperature",
            label=str(_("Temperature")),
            type=CHOICE,
            ops=(EQ, NE, IN, NOT_IN, GTE, LTE),
            choices=_choices(Temperature),
            group=str(score),
            path="score__temperature",
            default=Temperature.COLD.value,
            ordered=True,
        ),
        FieldSpec(
            name="lifecycle.stage",
            label=str(_("Lifecycle stage")),
            type=CHOICE,
            ops=(EQ, NE, IN, NOT_IN),
            choices=[(value, str(label)) for value, label in stage.choices or ()],
            group=str(score),
            path="lifecycle__stage",
            default="lead",
        ),
        FieldSpec(
            name="segment",
            label=str(_("Member of segment")),
            type=CHOICE,
            ops=(EQ, NE, IN, NOT_IN),
            group=str(_("Segments")),
            compile=_compile_segment,
        ),
    ]
    return specs


_CUSTOM_TYPES = {
    FieldType.TEXT: (TEXT, TEXT_OPS),
    FieldType.NUMBER: (NUMBER, NUMBER_OPS),
    FieldType.DATE: (DATE, DATE_OPS),
    FieldType.BOOLEAN: (BOOLEAN, BOOLEAN_OPS),
    FieldType.CHOICE: (CHOICE, CHOICE_OPS),
}


def _custom_expression(key: str) -> Callable[[datetime], Any]:
    def expression(at: datetime) -> Any:
        return KeyTransform(key, "custom_fields")

    return expression


def _custom_spec(definition: FieldDefinition) -> FieldSpec:
    kind, ops = _CUSTOM_TYPES.get(definition.type, (TEXT, TEXT_OPS))  # type: ignore[call-overload]
    return FieldSpec(
        name=f"custom.{definition.key}",
        label=definition.label,
        type=kind,
        ops=ops,
        choices=[(c, str(c)) for c in definition.choices or []] if kind == CHOICE else [],
        group=str(_("Custom fields")),
        expression=_custom_expression(definition.key),
        json=True,
    )


def _consent_spec(key: str, name: str) -> FieldSpec:
    return FieldSpec(
        name=f"consent.{key}",
        label=gettext("Consent: %(topic)s") % {"topic": name},
        type=BOOLEAN,
        ops=(EQ,),
        choices=[(True, gettext("granted")), (False, gettext("not granted"))],
        group=str(_("Consent")),
        compile=_consent_compiler(key),
    )


def spec_for(name: str) -> FieldSpec | None:
    """The spec of one field name (custom and consent fields looked up in the database)."""
    if name.startswith("custom."):
        definition = FieldDefinition.objects.filter(key=name.removeprefix("custom.")).first()
        return _custom_spec(definition) if definition else None
    if name.startswith("consent."):
        from sokyaku.consent.models import ConsentTopic

        topic = ConsentTopic.objects.filter(key=name.removeprefix("consent.")).first()
        return _consent_spec(topic.key, topic.name) if topic else None
    return next((spec for spec in static_fields() if spec.name == name), None)


def field_catalogue() -> list[FieldSpec]:
    """Every field a condition can test, with labels, operators and choices (for UIs)."""
    from sokyaku.campaigns.models import Channel
    from sokyaku.consent.models import ConsentTopic
    from sokyaku.contacts.models import Tag
    from sokyaku.core.templatetags.sokyaku_ui import user_name
    from sokyaku.segments.models import Segment

    users = get_user_model().objects.filter(is_active=True).order_by("username")
    dynamic: dict[str, list[tuple[Any, str]]] = {
        "owner": [(u.pk, user_name(u)) for u in users],
        "tags": [(n, n) for n in Tag.objects.values_list("name", flat=True)],
        "first_touch_channel": list(Channel.objects.values_list("key", "name")),
        "segment": list(Segment.objects.filter(is_archived=False).values_list("pk", "name")),
    }
    specs = []
    for spec in static_fields():
        if spec.name in dynamic:
            spec = FieldSpec(**{**spec.__dict__, "choices": dynamic[spec.name]})
        specs.append(spec)
    specs += [_custom_spec(d) for d in FieldDefinition.objects.order_by("label")]
    specs += [
        _consent_spec(key, name)
        for key, name in ConsentTopic.objects.filter(is_active=True).values_list("key", "name")
    ]
    return specs


def event_type_choices() -> list[tuple[str, str]]:
    """Event types a behaviour condition can name, for UIs."""
    return [(value, str(label)) for value, label in EventType.choices]
