"""Marketing's reports on what happens after a lead arrives: the mail it got, the handoff to
sales, and the money that came of it.

- ``sequence_report``: mails **sent in the period** per sequence → per mail step → per variant
  (``Message.context["variant"]``, ``""`` without one), and broadcasts as their own rows. The
  counts are those of ``metrics`` (sent, delivered = not bounced, human opens, human clicks,
  conversions = a click followed by a goal action within ``CONVERSION_WINDOW`` of sending,
  unsubscribes, bounces) over every email of the sequence, whatever its stream; rates are over
  delivered. A sequence also shows its enrolments that started in the period and how many of
  them have reached the goal since (``exit_reason == "goal"``).
- ``handoff_report``: handoffs **created in the period**, in total, per rep (the assignee) and
  per trigger: accepted, rejected (with the reasons, which flow back to marketing), still open,
  SLA met / breached, the median speed to lead (first touch − creation) and 商談化率 (handoffs
  whose contact has since reached opportunity or got a deal from the handoff, as
  ``metrics.HANDOFFS_CONVERTED``).
- ``forecast_report``: per calendar month the period touches (whole months) and per rep, the
  weighted forecast of each month as it stood when the month began, the open pipeline of
  ``deals.selectors.forecast`` (open deals now, by expected close: amount, × stage probability,
  and the committed amount), the amount won by month of closing, the pipeline created (deals
  opened in the month) and the rep's quota (``deals.Quota``), with attainment = won ÷ quota.
  Deals in the omitted forecast category count in no forecast figure.

Every level is one grouped query; the totals of a level are the sums of its rows (each mail or
handoff sits in exactly one row), except medians, which are taken over all the durations.
The sequence report covers all records (marketing's, ``analytics.view_reports``). The handoff
and forecast reports take a ``scope`` (``selectors.scope.report_scope``): ``None`` covers
everyone; a ``ManagedScope`` narrows them to its people (handoffs assigned to them, and the
unassigned handoffs of its teams; deals and quotas they own) — a sales manager's team, a rep's
own numbers. Rates are ``None`` when their denominator is zero.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from django.contrib.auth.models import User
from django.db.models import Count, Q, QuerySet, Sum, TextField, Value
from django.db.models.fields.json import KT
from django.db.models.functions import Coalesce, TruncMonth
from django.utils.translation import gettext as _

from sokyaku.analytics.metrics import (
    handoff_converted,
    mail_aggregates,
)
from sokyaku.analytics.period import Filters, Period
from sokyaku.campaigns.models import Campaign
from sokyaku.core import clock
from sokyaku.core.errors import ValidationError
from sokyaku.core.models import TeamMember
from sokyaku.core.templatetags.sokyaku_ui import user_name
from sokyaku.core.visibility import ManagedScope
from sokyaku.deals import selectors as deal_selectors
from sokyaku.deals.models import Deal, DealStage, DealStageChange, ForecastCategory
from sokyaku.handoff.models import (
    Handoff,
    HandoffStatus,
    RejectReason,
    SlaState,
    TriggerKind,
)
from sokyaku.messaging.models import Broadcast, Message, MessageChannel
from sokyaku.segments.models import SegmentMembership
from sokyaku.sequences.models import Enrollment, Sequence, Step, StepKind
from sokyaku.sequences.services.enrollment import GOAL

SEQUENCE = "sequence"
BROADCAST = "broadcast"
# deals.selectors.forecast answers at most this many months per call.
_FORECAST_CHUNK = 36


def _ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


# --- sequences and broadcasts ---------------------------------------------------------------


@dataclass(frozen=True)
class MailCounts:
    """Mails sent in the period and what came of them (see the module docstring)."""

    sent: int = 0
    delivered: int = 0
    opened: int = 0
    clicked: int = 0
    converted: int = 0
    unsubscribed: int = 0
    bounced: int = 0

    @property
    def open_rate(self) -> float | None:
        return _ratio(self.opened, self.delivered)

    @property
    def ctr(self) -> float | None:
        return _ratio(self.clicked, self.delivered)

    @property
    def conversion_rate(self) -> float | None:
        return _ratio(self.converted, self.delivered)

    def __add__(self, other: MailCounts) -> MailCounts:
        return MailCounts(
            sent=self.sent + other.sent,
            delivered=self.delivered + other.delivered,
            opened=self.opened + other.opened,
            clicked=self.clicked + other.clicked,
            converted=self.converted + other.converted,
            unsubscribed=self.unsubscribed + other.unsubscribed,
            bounced=self.bounced + other.bounced,
        )

    def as_dict(self) -> dict[str, int | float | None]:
        return {
            "sent": self.sent,
            "delivered": self.delivered,
            "opened": self.opened,
            "clicked": self.clicked,
            "converted": self.converted,
            "unsubscribed": self.unsubscribed,
            "bounced": self.bounced,
            "open_rate": self.open_rate,
            "ctr": self.ctr,
            "conversion_rate": self.conversion_rate,
        }


_COUNT_FIELDS = ("sent", "delivered", "opened", "clicked", "converted", "unsubscribed", "bounced")


@dataclass(frozen=True)
class VariantRow:
    """One variant of a mail step (``""``: the step has none)."""

    variant: str
    counts: MailCounts


@dataclass(frozen=True)
class StepReportRow:
    """A mail step: its position and name as they are now (``deleted`` when the step is gone
    but its mails remain) and its counts, in total and per variant."""

    step_id: int | None
    position: int | None
    name: str
    counts: MailCounts
    variants: list[VariantRow]
    deleted: bool = False

    @property
    def has_variants(self) -> bool:
        return any(v.variant for v in self.variants)


@dataclass(frozen=True)
class SequenceReportRow:
    """A sequence (with its mail steps) or a broadcast (``steps`` empty, no enrolments)."""

    kind: str
    id: int
    name: str
    counts: MailCounts
    steps: list[StepReportRow] = field(default_factory=list)
    enrolled: int | None = None
    goal_reached: int | None = None

    @property
    def goal_rate(self) -> float | None:
        if self.enrolled is None or self.goal_reached is None:
            return None
        return _ratio(self.goal_reached, self.enrolled)


def _counts(row: Mapping[str, Any]) -> MailCounts:
    return MailCounts(**{name: int(row[name] or 0) for name in _COUNT_FIELDS})


def _sent_in(period: Period) -> QuerySet[Message]:
    start, end = period.bounds()
    return Message.objects.filter(channel=MessageChannel.EMAIL, sent_at__gte=start, sent_at__lt=end)


def sequence_get_for_report(*, sequence_id: int) -> Sequence:
    """The sequence a report is narrowed to; ``ValidationError`` on ``sequence`` when there is
    no such sequence."""
    sequence = Sequence.objects.filter(pk=sequence_id).first()
    if sequence is None:
        message = _("Sequence %(id)d does not exist.") % {"id": sequence_id}
        raise ValidationError(message, field_errors={"sequence": message})
    return sequence


def sequence_choices() -> list[tuple[int, str]]:
    """(id, name) of every sequence, by name: the report's sequence select."""
    return list(Sequence.objects.order_by("name", "pk").values_list("pk", "name"))


def _step_name(step: Step) -> str:
    return step.name or str(step.get_kind_display())


def _variant_order(label: str) -> tuple[bool, str]:
    return (label != "", label)


def sequence_report(period: Period, *, sequence_id: int | None = None) -> list[SequenceReportRow]:
    """Per sequence (by name) → mail step (by position) → variant, then per broadcast (newest
    first; left out when narrowed to one sequence). A sequence is listed when it sent mail or
    enrolled someone in the period, or when it is the one asked for; its current mail steps are
    listed even without mail. At most six queries, whatever the number of sequences, steps
    and variants.

    Raises ``ValidationError`` (field ``sequence``) for an unknown ``sequence_id``."""
    if sequence_id is not None:
        sequence_get_for_report(sequence_id=sequence_id)
    mails = _sent_in(period)
    sequence_mails = mails.filter(sequence_id__isnull=False)
    start, end = period.bounds()
    enrolments = Enrollment.objects.filter(enrolled_at__gte=start, enrolled_at__lt=end)
    if sequence_id is not None:
        sequence_mails = sequence_mails.filter(sequence_id=sequence_id)
        enrolments = enrolments.filter(sequence_id=sequence_id)

    variant = Coalesce(KT("context__variant"), Value(""), output_field=TextField())
    cells: dict[int, dict[int | None, dict[str, MailCounts]]] = defaultdict(
        lambda: defaultdict(dict)
    )
    for row in (
        sequence_mails.values("sequence_id", "step_id", variant=variant)
        .annotate(**mail_aggregates())
        .order_by()
    ):
        label = str(row["variant"] or "")
        sequence_key: int = row["sequence_id"]  # type: ignore[assignment]  # filtered not null
        per_variant = cells[sequence_key][row["step_id"]]
        per_variant[label] = per_variant.get(label, MailCounts()) + _counts(row)

    enrolled: dict[int, tuple[int, int]] = {
        row["sequence_id"]: (row["n"], row["goal"])
        for row in enrolments.values("sequence_id")
        .annotate(n=Count("pk"), goal=Count("pk", filter=Q(exit_reason=GOAL)))
        .order_by()
    }

    ids = set(cells) | set(enrolled)
    if sequence_id is not None:
        ids.add(sequence_id)
    names = dict(Sequence.objects.filter(pk__in=ids).values_list("pk", "name"))
    seen_steps = {step_id for by_step in cells.values() for step_id in by_step if step_id}
    steps_of: dict[int, list[Step]] = defaultdict(list)
    for step in Step.objects.filter(
        Q(sequence_id__in=ids, kind=StepKind.EMAIL) | Q(pk__in=seen_steps)
    ).order_by("position", "pk"):
        steps_of[step.sequence_id].append(step)

    rows: list[SequenceReportRow] = []
    for pk in ids:
        by_step = cells.get(pk, {})
        step_rows: list[StepReportRow] = []
        listed: set[int | None] = set()
        for step in steps_of.get(pk, []):
            listed.add(step.pk)
            step_rows.append(_step_row(step.pk, step.position, _step_name(step), by_step))
        for step_id in sorted((s for s in by_step if s not in listed), key=lambda s: s or 0):
            name = (
                _("Deleted step #%(id)d") % {"id": step_id}
                if step_id is not None
                else _("Unknown step")
            )
            step_rows.append(_step_row(step_id, None, name, by_step, deleted=True))
        total = sum((s.counts for s in step_rows), MailCounts())
        n, goal = enrolled.get(pk, (0, 0))
        rows.append(
            SequenceReportRow(
                kind=SEQUENCE,
                id=pk,
                name=names.get(pk) or _("Deleted sequence #%(id)d") % {"id": pk},
                counts=total,
                steps=step_rows,
                enrolled=n,
                goal_reached=goal,
            )
        )
    rows.sort(key=lambda r: (r.name, r.id))
    if sequence_id is None:
        rows.extend(_broadcast_rows(mails))
    return rows


def _step_row(
    step_id: int | None,
    position: int | None,
    name: str,
    by_step: Mapping[int | None, Mapping[str, MailCounts]],
    *,
    deleted: bool = False,
) -> StepReportRow:
    per_variant = by_step.get(step_id, {})
    variants = [
        VariantRow(variant=label, counts=per_variant[label])
        for label in sorted(per_variant, key=_variant_order)
    ]
    return StepReportRow(
        step_id=step_id,
        position=position,
        name=name,
        counts=sum((v.counts for v in variants), MailCounts()),
        variants=variants,
        deleted=deleted,
    )


def _broadcast_rows(mails: QuerySet[Message]) -> list[SequenceReportRow]:
    grouped = {
        row["broadcast_id"]: _counts(row)
        for row in mails.filter(broadcast_id__isnull=False)
        .values("broadcast_id")
        .annotate(**mail_aggregates())
        .order_by()
    }
    broadcasts = Broadcast.objects.filter(pk__in=list(grouped)).order_by("-created_at", "-pk")
    return [
        SequenceReportRow(kind=BROADCAST, id=b.pk, name=b.name, counts=grouped[b.pk])
        for b in broadcasts.only("pk", "name", "created_at")
    ]


def sequence_report_total(rows: Iterable[SequenceReportRow]) -> MailCounts:
    """All the report's mails together (sequences and broadcasts)."""
    return sum((r.counts for r in rows), MailCounts())


def sequence_report_is_empty(rows: Iterable[SequenceReportRow]) -> bool:
    """Nothing sent and nobody enrolled in the period."""
    return all(r.counts.sent == 0 and not r.enrolled for r in rows)


# --- handoffs -------------------------------------------------------------------------------


@dataclass(frozen=True)
class HandoffCounts:
    """Handoffs created in the period; status, SLA and conversion as they stand now."""

    handoffs: int = 0
    accepted: int = 0
    rejected: int = 0
    open: int = 0
    sla_met: int = 0
    sla_breached: int = 0
    converted: int = 0
    # Median of first touch − creation over the touched handoffs, in minutes.
    median_speed_minutes: float | None = None

    @property
    def sla_met_rate(self) -> float | None:
        """Met ÷ decided (met or breached); a running SLA is not decided yet."""
        return _ratio(self.sla_met, self.sla_met + self.sla_breached)

    @property
    def acceptance_rate(self) -> float | None:
        return _ratio(self.accepted, self.accepted + self.rejected)

    @property
    def opportunity_rate(self) -> float | None:
        """商談化率: converted ÷ handoffs."""
        return _ratio(self.converted, self.handoffs)

    def as_dict(self) -> dict[str, int | float | None]:
        return {
            "handoffs": self.handoffs,
            "accepted": self.accepted,
            "rejected": self.rejected,
            "open": self.open,
            "sla_met": self.sla_met,
            "sla_breached": self.sla_breached,
            "sla_met_rate": self.sla_met_rate,
            "acceptance_rate": self.acceptance_rate,
            "median_speed_to_lead_minutes": self.median_speed_minutes,
            "converted": self.converted,
            "opportunity_rate": self.opportunity_rate,
        }


@dataclass(frozen=True)
class HandoffGroupRow:
    """One rep (``key`` = user id, ``None``: unassigned) or one trigger (``key`` = trigger id,
    ``None``: a deleted trigger, one row per trigger kind)."""

    key: int | None
    label: str
    counts: HandoffCounts


@dataclass(frozen=True)
class RejectReasonRow:
    reason: str
    label: str
    count: int
    share: float | None  # of the rejected handoffs


@dataclass(frozen=True)
class HandoffReport:
    total: HandoffCounts
    by_rep: list[HandoffGroupRow]
    by_trigger: list[HandoffGroupRow]
    reject_reasons: list[RejectReasonRow]

    @property
    def no_data(self) -> bool:
        return self.total.handoffs == 0


def _handoffs(period: Period, filters: Filters, scope: ManagedScope | None) -> QuerySet[Handoff]:
    start, end = period.bounds()
    rows = Handoff.objects.filter(created_at__gte=start, created_at__lt=end)
    if scope is not None:
        rows = rows.filter(
            Q(assignee_id__in=sorted(scope.user_ids))
            | Q(assignee__isnull=True, team_id__in=sorted(scope.team_ids))
        )
    if filters.owner_id is not None:
        rows = rows.filter(assignee_id=filters.owner_id)
    if filters.team_id is not None:
        team = TeamMember.objects.filter(team_id=filters.team_id).values("user_id")
        rows = rows.filter(Q(team_id=filters.team_id) | Q(assignee_id__in=team))
    if filters.segment_id is not None:
        segment = SegmentMembership.objects.filter(segment_id=filters.segment_id)
        rows = rows.filter(contact_id__in=segment.values("contact_id"))
    if filters.channel_id is not None:
        rows = rows.filter(contact__first_touch_channel_id=filters.channel_id)
    if filters.campaign_id is not None:
        utm = Campaign.objects.filter(pk=filters.campaign_id).values_list("utm_campaign", flat=True)
        rows = rows.filter(contact__first_touch__campaign__in=list(utm))
    return rows


def _handoff_aggregates() -> dict[str, Any]:
    return {
        "handoffs": Count("pk"),
        "accepted": Count("pk", filter=Q(status=HandoffStatus.ACCEPTED)),
        "rejected": Count("pk", filter=Q(status=HandoffStatus.REJECTED)),
        "open": Count("pk", filter=Q(status=HandoffStatus.OPEN)),
        "sla_met": Count("pk", filter=Q(sla_state=SlaState.MET)),
        "sla_breached": Count("pk", filter=Q(sla_state=SlaState.BREACHED)),
        "converted": Count("pk", filter=handoff_converted()),
    }


_HANDOFF_FIELDS = (
    "handoffs",
    "accepted",
    "rejected",
    "open",
    "sla_met",
    "sla_breached",
    "converted",
)


def _median_minutes(seconds: list[float]) -> float | None:
    return statistics.median(seconds) / 60 if seconds else None


def _handoff_counts(row: Mapping[str, Any], speeds: list[float]) -> HandoffCounts:
    return HandoffCounts(
        **{name: int(row.get(name) or 0) for name in _HANDOFF_FIELDS},
        median_speed_minutes=_median_minutes(speeds),
    )


def handoff_report(
    period: Period, filters: Filters, *, scope: ManagedScope | None = None
) -> HandoffReport:
    """Handoffs created in the period, narrowed by ``filters`` (owner: the assignee; team: the
    handoff's team or its members' handoffs; channel, campaign, segment: the contact's) and by
    ``scope`` (see the module docstring). Reps by number of handoffs (unassigned last),
    triggers likewise, reasons by count. Six queries."""
    rows = _handoffs(period, filters, scope)
    speeds_rep: dict[int | None, list[float]] = defaultdict(list)
    speeds_trigger: dict[tuple[int | None, str], list[float]] = defaultdict(list)
    speeds: list[float] = []
    for assignee_id, trigger_id, kind, created, touched in rows.filter(
        first_touch_at__isnull=False
    ).values_list("assignee_id", "trigger_id", "trigger_kind", "created_at", "first_touch_at"):
        if touched is None:
            continue
        seconds = max(0.0, (touched - created).total_seconds())
        speeds.append(seconds)
        speeds_rep[assignee_id].append(seconds)
        speeds_trigger[(trigger_id, kind if trigger_id is None else "")].append(seconds)

    per_rep = list(rows.values("assignee_id").annotate(**_handoff_aggregates()).order_by())
    users = User.objects.filter(pk__in=[r["assignee_id"] for r in per_rep if r["assignee_id"]])
    names = {u.pk: user_name(u) for u in users}
    by_rep = [
        HandoffGroupRow(
            key=r["assignee_id"],
            label=names.get(r["assignee_id"], "")
            if r["assignee_id"] is not None
            else _("Unassigned (queue)"),
            counts=_handoff_counts(r, speeds_rep.get(r["assignee_id"], [])),
        )
        for r in per_rep
    ]
    by_rep.sort(key=lambda g: (g.key is None, -g.counts.handoffs, g.label))

    kinds = dict(TriggerKind.choices)
    by_trigger: list[HandoffGroupRow] = []
    for r in (
        rows.values("trigger_id", "trigger__name", "trigger_kind")
        .annotate(**_handoff_aggregates())
        .order_by()
    ):
        trigger_id = r["trigger_id"]
        if trigger_id is not None:
            label = r["trigger__name"]
        else:
            label = _("%(kind)s (deleted trigger)") % {
                "kind": kinds.get(r["trigger_kind"], r["trigger_kind"])
            }
        key = (trigger_id, r["trigger_kind"] if trigger_id is None else "")
        counts = _handoff_counts(r, speeds_trigger.get(key, []))
        by_trigger.append(HandoffGroupRow(key=trigger_id, label=str(label), counts=counts))
    # A trigger whose kind changed is grouped twice; merge by id.
    by_trigger = _merge_same_key(by_trigger, speeds_trigger)
    by_trigger.sort(key=lambda g: (g.key is None, -g.counts.handoffs, g.label))

    total_row: dict[str, int] = {name: 0 for name in _HANDOFF_FIELDS}
    for group in by_rep:
        for name in _HANDOFF_FIELDS:
            total_row[name] += getattr(group.counts, name)
    total = _handoff_counts(total_row, speeds)

    reason_labels = dict(RejectReason.choices)
    reasons = [
        RejectReasonRow(
            reason=r["reject_reason"],
            label=str(reason_labels.get(r["reject_reason"], r["reject_reason"])),
            count=r["n"],
            share=_ratio(r["n"], total.rejected),
        )
        for r in rows.filter(status=HandoffStatus.REJECTED)
        .exclude(reject_reason="")
        .values("reject_reason")
        .annotate(n=Count("pk"))
        .order_by()
    ]
    order = {value: i for i, value in enumerate(RejectReason.values)}
    reasons.sort(key=lambda r: (-r.count, order.get(r.reason, len(order))))
    return HandoffReport(total=total, by_rep=by_rep, by_trigger=by_trigger, reject_reasons=reasons)


def _merge_same_key(
    groups: list[HandoffGroupRow], speeds: Mapping[tuple[int | None, str], list[float]]
) -> list[HandoffGroupRow]:
    merged: dict[tuple[int | None, str], HandoffGroupRow] = {}
    for group in groups:
        key = (group.key, group.label if group.key is None else "")
        current = merged.get(key)
        if current is None:
            merged[key] = group
            continue
        values = {
            name: getattr(current.counts, name) + getattr(group.counts, name)
            for name in _HANDOFF_FIELDS
        }
        merged[key] = HandoffGroupRow(
            key=group.key,
            label=current.label,
            counts=_handoff_counts(values, speeds.get((group.key, ""), [])),
        )
    return list(merged.values())


# --- forecast vs actual ---------------------------------------------------------------------


@dataclass(frozen=True)
class ForecastCell:
    """One month (``None``: the whole period) of one rep or of everyone, in yen."""

    month: date | None
    weighted: int = 0
    pipeline: int = 0
    won: int = 0
    created: int = 0
    created_amount: int = 0
    # The open pipeline now: amount × stage probability, and the committed amount.
    open_weighted: int = 0
    committed: int = 0
    quota: int = 0

    @property
    def variance(self) -> int:
        """Won − weighted forecast (negative: short of the forecast)."""
        return self.won - self.weighted

    @property
    def attainment(self) -> float | None:
        """Won ÷ weighted forecast."""
        return _ratio(self.won, self.weighted)

    @property
    def quota_attainment(self) -> float | None:
        """Won ÷ quota (``None`` without a quota)."""
        return _ratio(self.won, self.quota)

    def as_dict(self) -> dict[str, Any]:
        return {
            "month": f"{self.month:%Y-%m}" if self.month is not None else None,
            "weighted": self.weighted,
            "pipeline": self.pipeline,
            "won": self.won,
            "variance": self.variance,
            "attainment": self.attainment,
            "created": self.created,
            "created_amount": self.created_amount,
            "quota": self.quota,
            "weighted_pipeline": self.open_weighted,
            "committed": self.committed,
            "quota_attainment": self.quota_attainment,
        }


@dataclass(frozen=True)
class ForecastRepRow:
    owner_id: int | None
    name: str
    cells: list[ForecastCell]
    total: ForecastCell


@dataclass(frozen=True)
class ForecastReport:
    months: list[date]
    rows: list[ForecastRepRow]
    month_totals: list[ForecastCell]
    total: ForecastCell

    @property
    def no_data(self) -> bool:
        t = self.total
        return not (t.weighted or t.pipeline or t.won or t.created or t.quota)


def _add_months(month: date, count: int) -> date:
    index = month.year * 12 + month.month - 1 + count
    return date(index // 12, index % 12 + 1, 1)


def _month_of(value: date | datetime) -> date:
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(clock.TOKYO)
        return date(value.year, value.month, 1)
    return date(value.year, value.month, 1)


def report_months(period: Period) -> list[date]:
    """The first days of the calendar months the period touches."""
    first = period.first.replace(day=1)
    last = period.last.replace(day=1)
    count = (last.year - first.year) * 12 + last.month - first.month + 1
    return [_add_months(first, i) for i in range(count)]


def _sum_cells(cells: Iterable[ForecastCell], month: date | None) -> ForecastCell:
    items = list(cells)
    return ForecastCell(
        month=month,
        weighted=sum(c.weighted for c in items),
        pipeline=sum(c.pipeline for c in items),
        won=sum(c.won for c in items),
        created=sum(c.created for c in items),
        created_amount=sum(c.created_amount for c in items),
        open_weighted=sum(c.open_weighted for c in items),
        committed=sum(c.committed for c in items),
        quota=sum(c.quota for c in items),
    )


def _month_start(month: date) -> datetime:
    return datetime(month.year, month.month, 1, tzinfo=clock.TOKYO)


def _forecast_at_month_start(
    months: list[date], owners: Iterable[int] | None = None
) -> dict[tuple[int | None, int], int]:
    """The weighted forecast of each month as it stood when the month began, per (owner,
    month index), in yen: the deals expected to close in the month that were open at its start
    (or were opened during it), each amount times the probability of the stage it was in then
    (or when it was opened). Deals won, lost or moved since keep the value they were forecast
    at, so a month that has ended is compared with what was expected of it, not with what is
    still open. Deals omitted from the forecast (as they are now) are left out; ``owners``
    narrows it to those owners' deals. Two queries: the deals and their stage moves."""
    first, after = _month_start(months[0]), _month_start(_add_months(months[-1], 1))
    candidates = Deal.objects.filter(
        amount__isnull=False,
        expected_close__gte=months[0],
        expected_close__lt=after.date(),
        created_at__lt=after,
    ).exclude(forecast_category=ForecastCategory.OMITTED)
    if owners is not None:
        candidates = candidates.filter(owner_id__in=sorted(owners))
    deals = list(
        candidates.filter(Q(closed_at__isnull=True) | Q(closed_at__gte=first))
        .values_list("pk", "owner_id", "amount", "expected_close", "created_at", "closed_at")
        .order_by()
    )
    if not deals:
        return {}
    moves: dict[int, list[tuple[datetime, int | None]]] = defaultdict(list)
    for deal_id, moved_at, to_stage_id in (
        DealStageChange.objects.filter(deal_id__in=[d[0] for d in deals])
        .order_by("deal_id", "at", "pk")
        .values_list("deal_id", "at", "to_stage_id")
    ):
        moves[deal_id].append((moved_at, to_stage_id))
    current = dict(Deal.objects.filter(pk__in=[d[0] for d in deals]).values_list("pk", "stage_id"))
    probability = dict(DealStage.objects.values_list("pk", "probability"))
    index = {month: i for i, month in enumerate(months)}
    totals: dict[tuple[int | None, int], int] = defaultdict(int)
    for pk, owner_id, amount, expected, created_at, closed_at in deals:
        if expected is None or amount is None:
            continue  # excluded by the query; for the type checker
        month = date(expected.year, expected.month, 1)
        start, end = _month_start(month), _month_start(_add_months(month, 1))
        if created_at >= end or (closed_at is not None and closed_at < start):
            continue  # opened after the month, or settled before it began
        at = max(start, created_at)
        stage_id: int | None = current.get(pk)
        history = moves.get(pk, [])
        if history:
            before = [stage for moved_at, stage in history if moved_at <= at]
            stage_id = before[-1] if before else history[0][1]
        totals[(owner_id, index[month])] += int(amount) * (
            probability.get(stage_id, 0) if stage_id is not None else 0
        )
    return {key: (value + 50) // 100 for key, value in totals.items()}


_FORECAST_KEYS = (
    "weighted",
    "pipeline",
    "won",
    "n",
    "amount",
    "open_weighted",
    "committed",
    "quota",
)


def forecast_report(period: Period, *, scope: ManagedScope | None = None) -> ForecastReport:
    """Forecast vs actual for the whole months the period touches, per rep (by name; no owner
    last) and per month. Weighted is the forecast of each month as it stood when the month
    began (``_forecast_at_month_start``); pipeline (open amounts by expected close), its
    weighted amount and the committed amount come from ``deals.selectors.forecast``; won is the
    amount of deals won with ``closed_at`` in the month (Asia/Tokyo); created counts the deals
    opened in the month and their amounts; quota is the rep's quota of the month. A rep with a
    quota has a row even without deals. ``scope`` narrows it to its people's deals and quotas
    (deals without owner are then left out)."""
    months = report_months(period)
    index = {month: i for i, month in enumerate(months)}
    values: dict[int | None, dict[str, list[int]]] = {}
    owners = scope.user_ids if scope is not None else None

    def row_of(owner_id: int | None) -> dict[str, list[int]]:
        return values.setdefault(owner_id, {k: [0] * len(months) for k in _FORECAST_KEYS})

    for offset in range(0, len(months), _FORECAST_CHUNK):
        chunk = months[offset : offset + _FORECAST_CHUNK]
        result = deal_selectors.forecast(
            user=None, start=chunk[0], months=len(chunk), owner_ids=owners
        )
        for rep in result.rows:
            row = row_of(rep.owner_id)
            for i in range(len(chunk)):
                row["pipeline"][offset + i] += rep.pipeline[i]
                row["won"][offset + i] += rep.won[i]
                row["open_weighted"][offset + i] += rep.weighted[i]
                row["committed"][offset + i] += rep.committed[i]
    for (owner_id, i), weighted in _forecast_at_month_start(months, owners).items():
        row_of(owner_id)["weighted"][i] += weighted
    for (owner_id, month), amount in deal_selectors.quota_amounts(
        first=months[0], months=len(months), owner_ids=owners
    ).items():
        row_of(owner_id)["quota"][index[month]] += amount

    start = datetime(months[0].year, months[0].month, 1, tzinfo=clock.TOKYO)
    after = _add_months(months[-1], 1)
    end = datetime(after.year, after.month, 1, tzinfo=clock.TOKYO)
    created_deals = Deal.objects.filter(created_at__gte=start, created_at__lt=end)
    if owners is not None:
        created_deals = created_deals.filter(owner_id__in=sorted(owners))
    for item in (
        created_deals.annotate(month=TruncMonth("created_at", tzinfo=clock.TOKYO))
        .values("owner_id", "month")
        .annotate(n=Count("pk"), amount=Sum("amount"))
        .order_by()
    ):
        i = index[_month_of(item["month"])]
        row = row_of(item["owner_id"])
        row["n"][i] += int(item["n"])
        row["amount"][i] += int(item["amount"] or 0)

    users = User.objects.filter(pk__in=[pk for pk in values if pk is not None])
    names = {u.pk: user_name(u) for u in users}
    rows: list[ForecastRepRow] = []
    for owner_id, data in values.items():
        cells = [
            ForecastCell(
                month=month,
                weighted=data["weighted"][i],
                pipeline=data["pipeline"][i],
                won=data["won"][i],
                created=data["n"][i],
                created_amount=data["amount"][i],
                open_weighted=data["open_weighted"][i],
                committed=data["committed"][i],
                quota=data["quota"][i],
            )
            for i, month in enumerate(months)
        ]
        rows.append(
            ForecastRepRow(
                owner_id=owner_id,
                name=names.get(owner_id, "") if owner_id is not None else _("No owner"),
                cells=cells,
                total=_sum_cells(cells, None),
            )
        )
    rows.sort(key=lambda r: (r.owner_id is None, r.name, r.owner_id or 0))
    month_totals = [_sum_cells((r.cells[i] for r in rows), month) for i, month in enumerate(months)]
    return ForecastReport(
        months=months,
        rows=rows,
        month_totals=month_totals,
        total=_sum_cells(month_totals, None),
    )
