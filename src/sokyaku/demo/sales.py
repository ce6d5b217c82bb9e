"""Demo data for sales: the team, routing, the default handoff triggers and the pipeline, and
months of handoffs, deals, orders and referrals derived from the demo's lifecycle history.

``sales_demo_setup(seed=42, now=…)`` runs after ``lifecycle_demo_setup`` (it reads the stage
history that wrote) and before the win model is trained (won and lost deals are outcomes):

1. a team インサイドセールス (the three demo reps; 田中 leads it and gets SLA escalations),
   routing rules (account owner → 東京・神奈川 territory → 情報通信 industry → round-robin →
   queue), the default handoff triggers (all active: a ``demo_requested`` event for a demo
   contact produces a handoff and an alert with no set-up) and the default pipeline;
2. one handoff per contact that became an MQL, at that moment, to its owner: accepted when the
   contact went on to SQL, rejected with a reason when it was recycled or disqualified, open
   otherwise; first touches (calls and mails) a few business hours later — mostly within the
   SLA, some late, the newest not yet;
3. a deal per contact that reached opportunity (won at the moment it became a customer, open in
   a stage by its age otherwise — committed in the last open stage, best case in a middle one)
   and a lost deal per contact disqualified after SQL;
4. each rep's monthly quota, a little above what they won in an average month, for every month
   of the history and the next one;
5. an order per ``purchase`` event, a referral code per customer, and a few referred leads.

Everything is written set-based (``bulk_create``) with the event listeners paused; timeline
events carry their historical times. Deterministic for a seed and ``now``.
"""

from __future__ import annotations

import logging
import random
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.contrib.auth import get_user_model
from django.db import transaction

from sokyaku.activity import listeners
from sokyaku.activity import services as activity_services
from sokyaku.activity.events import NewEvent, event_build
from sokyaku.activity.models import Event, EventSource, EventType
from sokyaku.contacts.models import Contact, EmployeeBand, Industry
from sokyaku.core import clock
from sokyaku.core.models import Team
from sokyaku.deals import services as deal_services
from sokyaku.deals.models import (
    Deal,
    DealStage,
    DealStageChange,
    DealStatus,
    ForecastCategory,
    LostReason,
    Order,
    Referral,
    ReferralCode,
    RewardStatus,
    StageKind,
)
from sokyaku.handoff import selectors as handoff_selectors
from sokyaku.handoff import services as handoff_services
from sokyaku.handoff.models import (
    ActivityKind,
    Handoff,
    HandoffOutcome,
    HandoffStatus,
    HandoffTrigger,
    RejectReason,
    RuleKind,
    SalesActivity,
    SlaState,
    TriggerKind,
)
from sokyaku.handoff.services.sla import sla_deadline
from sokyaku.lifecycle.models import BantRecord, Stage, StageChange

logger = logging.getLogger(__name__)

TEAM = "インサイドセールス"
TEAM_LEAD = "kenta.tanaka"
TERRITORY_REP = "yumi.suzuki"
INDUSTRY_REP = "shota.takahashi"
KANTO_SOUTH = [13, 14]  # 東京都, 神奈川県
REFERRAL_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
# Deal sizes (JPY, a year's subscription) by company size: small firms buy the standard plan,
# large ones more seats. About ¥600,000 a won deal on average, as in the seeds' channel table.
AMOUNTS: dict[str, tuple[int, ...]] = {
    EmployeeBand.B1_9: (120_000, 120_000, 180_000),
    EmployeeBand.B10_49: (120_000, 180_000, 240_000),
    EmployeeBand.B50_99: (180_000, 240_000, 360_000),
    EmployeeBand.B100_299: (240_000, 360_000, 480_000),
    EmployeeBand.B300_999: (360_000, 480_000, 720_000),
    EmployeeBand.B1000_4999: (480_000, 720_000, 960_000),
    EmployeeBand.B5000: (720_000, 960_000, 1_200_000),
}
REJECT_FOR_RECYCLE = (RejectReason.BAD_TIMING, RejectReason.NO_RESPONSE, RejectReason.NO_BUDGET)
REJECT_FOR_DISQUALIFY = (RejectReason.NOT_A_FIT, RejectReason.COMPETITOR, RejectReason.DUPLICATE)
LOST_REASONS = (LostReason.PRICE, LostReason.COMPETITOR, LostReason.NO_BUDGET, LostReason.TIMING)


@dataclass
class _Path:
    """One contact's way through the funnel, read from the stage history."""

    contact_id: int
    owner_id: int | None
    company_id: int | None
    company_name: str
    band: str
    at: dict[str, datetime] = field(default_factory=dict)
    reasons: dict[str, str] = field(default_factory=dict)


@dataclass
class SalesDemo:
    handoffs: int = 0
    deals: int = 0
    won: int = 0
    orders: int = 0
    referrals: int = 0


def _paths() -> list[_Path]:
    paths: dict[int, _Path] = {}
    contacts = Contact.objects.filter(merged_into__isnull=True, stage_changes__to_stage=Stage.MQL)
    for row in contacts.values(
        "pk", "owner_id", "company_id", "company__name", "company__employee_band"
    ).distinct():
        paths[row["pk"]] = _Path(
            contact_id=row["pk"],
            owner_id=row["owner_id"],
            company_id=row["company_id"],
            company_name=row["company__name"] or "",
            band=row["company__employee_band"] or "",
        )
    changes = StageChange.objects.filter(contact_id__in=list(paths)).order_by("changed_at", "id")
    for contact_id, stage, at, reason in changes.values_list(
        "contact_id", "to_stage", "changed_at", "reason"
    ):
        paths[contact_id].at.setdefault(stage, at)
        paths[contact_id].reasons.setdefault(stage, reason)
    return sorted(paths.values(), key=lambda p: p.contact_id)


def _team() -> tuple[Team, dict[str, int]]:
    users = dict(
        get_user_model()
        .objects.filter(username__in=[TEAM_LEAD, TERRITORY_REP, INDUSTRY_REP])
        .order_by("username")
        .values_list("username", "pk")
    )
    User = get_user_model()
    team = handoff_services.team_save(
        team=Team.objects.filter(name=TEAM).first(),
        name=TEAM,
        manager=User.objects.filter(username=TEAM_LEAD).first(),
        share_records=False,
        member_ids=list(users.values()),
        actor=None,
    )
    return team, users


def _routing(team: Team, users: dict[str, int]) -> None:
    if handoff_selectors.routing_rule_list().exists():
        return
    User = get_user_model()
    rules: list[dict[str, object]] = [
        {"name": "既存の担当者", "kind": RuleKind.ACCOUNT_OWNER},
        {
            "name": "東京・神奈川",
            "kind": RuleKind.TERRITORY,
            "prefectures": KANTO_SOUTH,
            "assignee": User.objects.filter(username=TERRITORY_REP).first(),
        },
        {
            "name": "情報通信業",
            "kind": RuleKind.INDUSTRY,
            "industries": [Industry.INFORMATION],
            "assignee": User.objects.filter(username=INDUSTRY_REP).first(),
        },
        {"name": "チームで順番に", "kind": RuleKind.ROUND_ROBIN, "team": team},
        {"name": "未割り当てキュー", "kind": RuleKind.QUEUE, "team": team},
    ]
    for position, data in enumerate(rules):
        handoff_services.routing_rule_save(
            rule=None, data={**data, "position": position}, actor=None
        )


def _event(type: str, contact_id: int, at: datetime, **properties: object) -> NewEvent:
    return event_build(
        type=type,
        occurred_at=at,
        source=EventSource.DEMO,
        properties=properties,
        contact_id=contact_id,
    )


def _handoffs(
    rng: random.Random, paths: list[_Path], team: Team, reps: list[int], now: datetime
) -> tuple[dict[int, Handoff], list[NewEvent]]:
    trigger = HandoffTrigger.objects.filter(kind=TriggerKind.MQL).order_by("position").first()
    assert trigger is not None, "the default triggers are installed first"
    rows: list[Handoff] = []
    touches: list[tuple[int, datetime, str]] = []
    for index, path in enumerate(paths):
        created = path.at[Stage.MQL]
        assignee = path.owner_id if path.owner_id in reps else reps[index % len(reps)]
        due = sla_deadline(
            start=created, hours=trigger.sla_hours, business_days_only=trigger.business_days_only
        )
        handoff = Handoff(
            contact_id=path.contact_id,
            trigger=trigger,
            trigger_kind=TriggerKind.MQL,
            action_label=trigger.action_label,
            acted_at=created,
            next_action=trigger.next_action,
            assignee_id=assignee,
            team=team,
            routing_note="既存の担当者" if path.owner_id in reps else "チームで順番に",
            created_at=created,
            alerted_at=created,
            sla_due_at=due,
            reminder_at=due - timedelta(minutes=trigger.reminder_minutes),
        )
        decided = next(
            (path.at[s] for s in (Stage.SQL, Stage.RECYCLED, Stage.DISQUALIFIED) if s in path.at),
            None,
        )
        # Most reps call within a few hours; some are late; the newest leads wait.
        delay = timedelta(hours=rng.choice((0.3, 0.5, 1, 2, 3, 5, 8, 20, 30, 50)))
        touch = created + delay
        if decided is not None and touch > decided:
            touch = created + (decided - created) / 2
        if touch <= now and (decided is not None or rng.random() < 0.8):
            handoff.first_touch_at = touch
            handoff.sla_state = SlaState.MET if touch <= due else SlaState.BREACHED
            touches.append(
                (path.contact_id, touch, rng.choice((ActivityKind.CALL, ActivityKind.MAIL)))
            )
        elif due < now:
            handoff.sla_state = SlaState.BREACHED
            handoff.escalated_at = due
        if handoff.reminder_at and handoff.reminder_at < now and not handoff.first_touch_at:
            handoff.reminded_at = handoff.reminder_at
        if Stage.SQL in path.at:
            handoff.status = HandoffStatus.ACCEPTED
            handoff.outcome = HandoffOutcome.SQL
            handoff.closed_at = path.at[Stage.SQL]
            handoff.closed_by_id = assignee
        elif Stage.RECYCLED in path.at or Stage.DISQUALIFIED in path.at:
            recycled = Stage.RECYCLED in path.at
            handoff.status = HandoffStatus.REJECTED
            handoff.outcome = HandoffOutcome.RECYCLED if recycled else HandoffOutcome.DISQUALIFIED
            handoff.reject_reason = rng.choice(
                REJECT_FOR_RECYCLE if recycled else REJECT_FOR_DISQUALIFY
            )
            handoff.reject_note = path.reasons.get(
                Stage.RECYCLED if recycled else Stage.DISQUALIFIED, ""
            )
            handoff.closed_at = path.at[Stage.RECYCLED if recycled else Stage.DISQUALIFIED]
            handoff.closed_by_id = assignee
        rows.append(handoff)
    Handoff.objects.bulk_create(rows, batch_size=1000)
    by_contact = {h.contact_id: h for h in Handoff.objects.filter(trigger=trigger).order_by("pk")}
    activities = []
    events: list[NewEvent] = []
    for contact_id, at, kind in touches:
        handoff = by_contact[contact_id]
        activities.append(
            SalesActivity(
                contact_id=contact_id,
                user_id=handoff.assignee_id,
                handoff=handoff,
                kind=kind,
                subject="初回のご連絡" if kind == ActivityKind.MAIL else "初回架電",
                occurred_at=at,
                created_at=at,
            )
        )
        event_type = EventType.SALES_EMAIL if kind == ActivityKind.MAIL else EventType.CALL
        events.append(_event(event_type, contact_id, at, handoff=handoff.pk))
    SalesActivity.objects.bulk_create(activities, batch_size=1000)
    for handoff in by_contact.values():
        events.append(
            _event(
                EventType.HANDOFF_CREATED,
                handoff.contact_id,
                handoff.created_at,
                handoff=handoff.pk,
                trigger=handoff.trigger_kind,
                assignee=handoff.assignee_id,
            )
        )
        if handoff.status == HandoffStatus.ACCEPTED and handoff.closed_at:
            events.append(
                _event(
                    EventType.HANDOFF_ACCEPTED,
                    handoff.contact_id,
                    handoff.closed_at,
                    handoff=handoff.pk,
                )
            )
        elif handoff.status == HandoffStatus.REJECTED and handoff.closed_at:
            events.append(
                _event(
                    EventType.HANDOFF_REJECTED,
                    handoff.contact_id,
                    handoff.closed_at,
                    handoff=handoff.pk,
                    reason=handoff.reject_reason,
                    outcome=handoff.outcome,
                )
            )
    return by_contact, events


def _deals(
    rng: random.Random, paths: list[_Path], handoffs: dict[int, Handoff], now: datetime
) -> tuple[int, int, list[NewEvent]]:
    pipeline = deal_services.pipeline_presets_install()
    stages = list(DealStage.objects.filter(pipeline=pipeline).order_by("position"))
    open_stages = [s for s in stages if s.kind == StageKind.OPEN]
    won_stage = next(s for s in stages if s.kind == StageKind.WON)
    lost_stage = next(s for s in stages if s.kind == StageKind.LOST)
    bants = dict(
        BantRecord.objects.filter(contact_id__in=[p.contact_id for p in paths])
        .order_by("contact_id", "recorded_at")
        .values_list("contact_id", "pk")
    )
    deals: list[Deal] = []
    moves: list[list[tuple[DealStage, datetime]]] = []
    for path in paths:
        opened = path.at.get(Stage.OPPORTUNITY)
        lost_at = None
        if opened is None:
            if Stage.SQL in path.at and Stage.DISQUALIFIED in path.at:
                opened = path.at[Stage.SQL] + (path.at[Stage.DISQUALIFIED] - path.at[Stage.SQL]) / 3
                lost_at = path.at[Stage.DISQUALIFIED]
            else:
                continue
        handoff = handoffs.get(path.contact_id)
        amount = rng.choice(AMOUNTS.get(path.band, AMOUNTS[EmployeeBand.B10_49]))
        history: list[tuple[DealStage, datetime]] = [(open_stages[0], opened)]
        won_at = path.at.get(Stage.CUSTOMER)
        deal = Deal(
            pipeline=pipeline,
            name=f"{path.company_name or '個人'} — 導入検討",
            contact_id=path.contact_id,
            company_id=path.company_id,
            owner_id=handoff.assignee_id if handoff else path.owner_id,
            amount=amount,
            expected_close=(opened + timedelta(days=rng.choice((30, 45, 60, 90)))).date(),
            handoff=handoff,
            bant_id=bants.get(path.contact_id),
            created_at=opened,
            created_by_id=handoff.assignee_id if handoff else None,
        )
        if won_at is not None or lost_at is not None:
            end = won_at or lost_at
            assert end is not None
            steps = open_stages[1:] if won_at else open_stages[1 : rng.randint(1, len(open_stages))]
            for i, stage in enumerate(steps, start=1):
                history.append((stage, opened + (end - opened) * i / (len(steps) + 1)))
            history.append((won_stage if won_at else lost_stage, end))
            deal.status = DealStatus.WON if won_at else DealStatus.LOST
            deal.closed_at = end
            deal.expected_close = end.date()
            if lost_at:
                deal.lost_reason = rng.choice(LOST_REASONS)
        else:
            age = (now - opened).days
            reached = min(len(open_stages) - 1, age // 14 + rng.randint(0, 1))
            for i, stage in enumerate(open_stages[1 : reached + 1], start=1):
                history.append((stage, opened + timedelta(days=10 * i + rng.randint(0, 4))))
            history = [(s, min(at, now)) for s, at in history]
            # An open deal is expected to close after today: the further along, the sooner
            # (a deal in a late stage is forecast for this month or the next).
            soon = 3 if reached >= 2 else 14
            deal.expected_close = max(
                deal.expected_close or now.date(),
                (now + timedelta(days=rng.randint(soon, soon + 45))).date(),
            )
            if reached == len(open_stages) - 1:
                deal.forecast_category = ForecastCategory.COMMIT
            elif reached >= 1:
                deal.forecast_category = ForecastCategory.BEST_CASE
        deal.stage, deal.stage_entered_at = history[-1]
        deal.updated_at = history[-1][1]
        deal.version = len(history)
        deals.append(deal)
        moves.append(history)
    Deal.objects.bulk_create(deals, batch_size=1000)
    changes: list[DealStageChange] = []
    events: list[NewEvent] = []
    for deal, history in zip(deals, moves, strict=True):
        previous = None
        for stage, at in history:
            changes.append(
                DealStageChange(
                    deal=deal, from_stage=previous, to_stage=stage, at=at, by_id=deal.owner_id
                )
            )
            previous = stage
        assert deal.contact_id is not None
        events.append(
            _event(
                EventType.DEAL_CREATED,
                deal.contact_id,
                deal.created_at,
                deal=deal.pk,
                amount_jpy=deal.amount,
            )
        )
        if deal.status == DealStatus.WON and deal.closed_at:
            events.append(
                _event(
                    EventType.DEAL_WON,
                    deal.contact_id,
                    deal.closed_at,
                    deal=deal.pk,
                    amount_jpy=deal.amount,
                    pipeline=pipeline.name,
                )
            )
        elif deal.status == DealStatus.LOST and deal.closed_at:
            events.append(
                _event(
                    EventType.DEAL_LOST,
                    deal.contact_id,
                    deal.closed_at,
                    deal=deal.pk,
                    reason=deal.lost_reason,
                )
            )
    DealStageChange.objects.bulk_create(changes, batch_size=2000)
    won = sum(1 for d in deals if d.status == DealStatus.WON)
    return len(deals), won, events


def _orders() -> int:
    rows = [
        Order(
            contact_id=contact_id,
            external_id=f"demo-{pk}",
            ordered_at=at,
            amount=int(properties.get("amount_jpy") or 0),
            lines=[{"name": str(properties.get("product") or "ご注文"), "quantity": 1}],
            created_at=at,
        )
        for pk, contact_id, at, properties in Event.objects.filter(
            type=EventType.PURCHASE, contact_id__isnull=False
        )
        .order_by("pk")
        .values_list("pk", "contact_id", "occurred_at", "properties")
    ]
    Order.objects.bulk_create(rows, batch_size=2000)
    return len(rows)


def _referrals(rng: random.Random, paths: list[_Path], now: datetime) -> tuple[int, list[NewEvent]]:
    customers = [p for p in paths if Stage.CUSTOMER in p.at]
    codes: dict[int, str] = {}
    used: set[str] = set()
    for path in customers:
        code = ""
        while not code or code in used:
            code = "".join(rng.choice(REFERRAL_ALPHABET) for _ in range(8))
        used.add(code)
        codes[path.contact_id] = code
    ReferralCode.objects.bulk_create(
        [
            ReferralCode(
                contact_id=path.contact_id,
                code=codes[path.contact_id],
                created_at=path.at[Stage.CUSTOMER],
            )
            for path in customers
        ],
        batch_size=2000,
    )
    # Leads created after a customer's win, a few of them referred by that customer.
    referrers = customers[: max(1, len(customers) // 4)] if customers else []
    taken: set[int] = set(codes)
    referrals: list[Referral] = []
    events: list[NewEvent] = []
    for referrer in referrers:
        since = referrer.at[Stage.CUSTOMER]
        candidates = list(
            Contact.objects.filter(merged_into__isnull=True, created_at__gt=since)
            .exclude(pk__in=taken)
            .order_by("created_at", "pk")
            .values_list("pk", "created_at")[:40]
        )
        for pk, created in rng.sample(candidates, min(len(candidates), rng.randint(0, 2))):
            taken.add(pk)
            referrals.append(
                Referral(
                    referrer_id=referrer.contact_id,
                    referred_id=pk,
                    code=codes[referrer.contact_id],
                    attributed_at=created,
                )
            )
            events.append(_event(EventType.REFERRED, pk, created, referrer=referrer.contact_id))
            events.append(_event(EventType.REFERRAL, referrer.contact_id, created, referred=pk))
    customers_now = set(
        StageChange.objects.filter(
            contact_id__in=[r.referred_id for r in referrals], to_stage=Stage.CUSTOMER
        ).values_list("contact_id", flat=True)
    )
    for referral in referrals:
        if referral.referred_id in customers_now:
            referral.reward_status = RewardStatus.EARNED
            referral.reward_changed_at = now
    Referral.objects.bulk_create(referrals)
    return len(referrals), events


QUOTA_STEP = 500_000


def _month(value: date) -> date:
    return value.replace(day=1)


def _quotas(reps: list[int], now: datetime) -> None:
    """Each rep's quota for every month from their first deal to the next month: what they won
    in an average month of the history, plus a tenth, rounded up to ¥500,000 (¥1,000,000 at
    least), so some months are met and some are not."""
    won: dict[int, dict[date, int]] = defaultdict(lambda: defaultdict(int))
    first: dict[int, date] = {}
    for owner_id, created_at, closed_at, amount, status in Deal.objects.filter(
        owner_id__in=reps
    ).values_list("owner_id", "created_at", "closed_at", "amount", "status"):
        opened = _month(created_at.astimezone(clock.TOKYO).date())
        first[owner_id] = min(first.get(owner_id, opened), opened)
        if status == DealStatus.WON and closed_at is not None:
            won[owner_id][_month(closed_at.astimezone(clock.TOKYO).date())] += amount or 0
    this_month = _month(now.astimezone(clock.TOKYO).date())
    after = (this_month + timedelta(days=32)).replace(day=1)
    for owner_id, start in first.items():
        months: list[date] = []
        month = start
        while month <= after:
            months.append(month)
            month = (month + timedelta(days=32)).replace(day=1)
        average = sum(won[owner_id].values()) / max(1, len(months) - 1)
        quota = max(2 * QUOTA_STEP, -(-int(average * 1.1) // QUOTA_STEP) * QUOTA_STEP)
        for month in months:
            deal_services.quotas_save(actor=None, month=month, amounts={owner_id: quota})


def sales_demo_setup(*, seed: int = 42, now: datetime | None = None) -> SalesDemo:
    """Write the demo's sales side (see the module docstring)."""
    rng = random.Random(f"sales-{seed}")
    now = now or clock.now()
    handoff_services.trigger_presets_install()
    team, users = _team()
    _routing(team, users)
    reps = sorted(users.values())
    paths = _paths()
    result = SalesDemo()
    events: list[NewEvent] = []
    with listeners.paused(), transaction.atomic():
        if reps and paths:
            handoffs, written = _handoffs(rng, paths, team, reps, now)
            events += written
            result.handoffs = len(handoffs)
            result.deals, result.won, written = _deals(rng, paths, handoffs, now)
            events += written
            _quotas(reps, now)
        else:
            deal_services.pipeline_presets_install()
        result.orders = _orders()
        result.referrals, written = _referrals(rng, paths, now)
        events += written
        for start in range(0, len(events), 5000):
            activity_services.event_ingest_batch(events=events[start : start + 5000])
    logger.info("demo.sales", extra={**result.__dict__})
    return result
