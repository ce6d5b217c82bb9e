"""Demo lifecycle: first stages, the seed's MQL rules, and months of sales follow-up.

``lifecycle_demo_setup(seed=42)`` runs after the demo's scores are recomputed:

1. every contact gets its first stage (lead, or subscriber when only an email is known);
2. the seed's MQL rules are installed and every contact that matches one becomes an MQL,
   set-based (one query per rule), at a time between its creation and now;
3. the sales reps follow up, deterministically (one ``random.Random(seed)``): if the rules found
   fewer than ~37% of contacts, reps also qualify the most engaged leads themselves (trade-show
   and inquiry follow-up); then, ranked by behaviour (purchases, demo requests, inquiries,
   webinars, downloads) and fit (title level, company size) with some noise, the best ~8% become
   customers (a few advocates) through SQL (with a BANT entry) and opportunity, others stay open
   SQLs/opportunities, the weakest ~10% are disqualified with a reason and ~8% are recycled.
   So outcomes correlate with behaviour and fit, which predictive scoring learns from.

Time only moves forward: each move comes after the one before it (a step that would fall after
``now`` lands between the previous step and ``now``), and a win or a disqualification comes after
the last of the behaviour the person was ranked by (a rep decides on what the contact has done),
so predictive scoring, which only counts events before an outcome, sees what decided it.

Everything is written set-based in waves (one wave per step, so a contact appears once per
wave) through ``lifecycle.services.moves_apply`` / ``bant_bulk_create`` with listeners paused;
the history rows and ``lifecycle_changed`` / ``bant_recorded`` events carry historical times.
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.contrib.auth import get_user_model
from django.db.models import Count, Max, Q

from sokyaku.activity.models import EventType
from sokyaku.contacts.models import Contact, EmployeeBand
from sokyaku.core import clock, roles
from sokyaku.lifecycle import services
from sokyaku.lifecycle.models import (
    Authority,
    BantRecord,
    BudgetBand,
    ChangeSource,
    ContactStage,
    MqlRule,
    Stage,
    TimelineBand,
)
from sokyaku.lifecycle.services.moves import Move
from sokyaku.lifecycle.services.mql import QUALIFIABLE

logger = logging.getLogger(__name__)

MQL_PLUS_SHARE = 0.375
CUSTOMER_SHARE = 0.08
ADVOCATE_SHARE_OF_CUSTOMERS = 0.12
OPPORTUNITY_SHARE = 0.06
SQL_SHARE = 0.10
DISQUALIFIED_SHARE = 0.10
RECYCLED_SHARE = 0.08
# A customer was qualified at least RIPE_DAYS before "now" and last showed a buying signal at
# least QUIET_DAYS before it (see the customers' choice below).
RIPE_DAYS = 60
QUIET_DAYS = 15

_INTENT = (
    EventType.DEMO_REQUESTED,
    EventType.INQUIRY,
    EventType.TRIAL_STARTED,
    EventType.QUOTE_REQUESTED,
    EventType.WEBINAR_ATTENDED,
    EventType.ASSET_DOWNLOADED,
    EventType.EVENT_VISITED,
)
DISQUALIFY_REASONS = (
    "予算確保の見込みなし",
    "競合製品を採用済み",
    "情報収集のみ（導入予定なし）",
    "ターゲット外の業種・規模",
    "連絡がつかない",
    "学生・個人の研究目的",
)
RECYCLE_REASONS = (
    "来期に再検討（予算化待ち）",
    "導入時期が未定",
    "担当者異動のため再育成",
    "現行ツールの契約更新後に再検討",
)
NEEDS = (
    ("展示会リードのフォローが属人化している", ["リード管理", "展示会"]),
    ("メール配信と営業連携を一元化したい", ["営業連携", "メール配信"]),
    ("ホットリードを営業に即時通知したい", ["スコアリング", "営業アラート"]),
    ("ウェビナー集客から商談化までを可視化したい", ["ウェビナー", "KPI"]),
)
MQL_REASON_BY_REP = "インサイドセールスが商談見込みと判断"


@dataclass
class _Person:
    pk: int
    stage: str
    created_at: datetime
    owner_id: int | None
    propensity: float
    # The last event of the kinds the propensity counts: an outcome must come after it.
    signal_at: datetime | None = None
    mql_at: datetime | None = None


def _employees_minimum(band: str | None) -> int:
    try:
        return EmployeeBand(band).minimum if band else 0
    except ValueError:
        return 0


def _people(rng: random.Random) -> list[_Person]:
    signals = Q(events__type__in=[*_INTENT, EventType.PURCHASE])
    rows = (
        Contact.objects.filter(merged_into__isnull=True)
        .annotate(
            intents=Count("events", filter=Q(events__type__in=_INTENT)),
            purchases=Count("events", filter=Q(events__type=EventType.PURCHASE)),
            signal_at=Max("events__occurred_at", filter=signals),
        )
        .order_by("pk")
        .values_list(
            "pk",
            "lifecycle__stage",
            "created_at",
            "owner_id",
            "intents",
            "purchases",
            "title_level",
            "company__employee_band",
            "signal_at",
        )
    )
    people = []
    for pk, stage, created_at, owner_id, intents, purchases, level, band, signal_at in rows:
        fit = level * 0.6 + (1.0 if _employees_minimum(band) >= 100 else 0.0)
        behaviour = min(intents, 6) * 0.8 + (4.0 if purchases else 0.0)
        people.append(
            _Person(
                pk=pk,
                stage=stage or Stage.LEAD,
                created_at=created_at,
                owner_id=owner_id,
                propensity=behaviour + fit + rng.gauss(0, 1.2),
                signal_at=signal_at,
            )
        )
    return people


def _between(rng: random.Random, start: datetime, end: datetime) -> datetime:
    if end <= start:
        return end
    return start + (end - start) * rng.uniform(0.0, 1.0)


def _after(rng: random.Random, at: datetime, now: datetime, lo: int, hi: int) -> datetime:
    """A step ``lo``–``hi`` days after ``at``. Never in the future and never before ``at``: a
    step that would be later than ``now`` lands between ``at`` and ``now``."""
    step = at + timedelta(days=rng.uniform(lo, hi), hours=rng.uniform(0, 8))
    return step if step <= now else _between(rng, at, now)


def _decided(rng: random.Random, person: _Person, at: datetime, now: datetime) -> datetime:
    """When a rep settles ``person`` (won or disqualified): ``at``, or, if the behaviour the
    person was ranked by went on until later, a step after the last of it."""
    if person.signal_at is None or person.signal_at < at:
        return at
    return _after(rng, person.signal_at, now, 1, 10)


def _ripe(person: _Person, now: datetime) -> bool:
    """Whether ``person`` was qualified long enough ago to have bought by ``now``."""
    qualified = person.mql_at is not None and person.mql_at <= now - timedelta(days=RIPE_DAYS)
    quiet = person.signal_at is None or person.signal_at <= now - timedelta(days=QUIET_DAYS)
    return qualified and quiet


def _reps() -> list[int]:
    # Demo data: the reps are the demo users in the sales-rep group.
    return list(
        get_user_model()
        .objects.filter(groups__name=roles.SALES_REP)
        .order_by("username")
        .values_list("pk", flat=True)
    )


def lifecycle_demo_setup(*, seed: int = 42, now: datetime | None = None) -> None:
    """Write the demo's lifecycle (see the module docstring). Deterministic for a given seed,
    database and ``now`` (the demo's "today"; default ``clock.now()``): no move is later than
    ``now``. Writes ContactStage, StageChange, MqlRule, BantRecord rows and their events."""
    rng = random.Random(f"lifecycle-{seed}")
    now = now or clock.now()
    services.lifecycle_rebuild_initial()
    services.mql_presets_install_if_missing()
    people = _people(rng)
    by_pk = {p.pk: p for p in people}
    reps = _reps()

    def rep_for(person: _Person) -> int | None:
        if person.owner_id in reps:
            return person.owner_id
        return rng.choice(reps) if reps else None

    # 1. The rules, set-based: one query per active rule.
    from sokyaku.segments import conditions

    mql: dict[int, Move] = {}
    for rule in MqlRule.objects.filter(is_active=True).order_by("position", "id"):
        matching = set(
            ContactStage.objects.filter(
                contact_id__in=conditions.definition_queryset(rule.definition).values("pk"),
                stage__in=QUALIFIABLE,
            ).values_list("contact_id", flat=True)
        )
        for pk in sorted(matching - mql.keys()):
            person = by_pk[pk]
            person.mql_at = _between(rng, person.created_at, now)
            mql[pk] = Move(
                contact_id=pk, from_stage=person.stage, to_stage=Stage.MQL, at=person.mql_at,
                source=ChangeSource.RULE, rule_id=rule.pk, rule_name=rule.name,
                reason=rule.name[:300],
            )  # fmt: skip
    # 2. Reps qualify the most engaged remaining leads until MQL-or-later is a realistic share.
    target = round(len(people) * MQL_PLUS_SHARE)
    open_leads = sorted(
        (p for p in people if p.pk not in mql and p.stage in QUALIFIABLE),
        key=lambda p: -p.propensity,
    )
    for person in open_leads[: max(0, target - len(mql))]:
        person.mql_at = _between(rng, person.created_at, now)
        mql[person.pk] = Move(
            contact_id=person.pk, from_stage=person.stage, to_stage=Stage.MQL, at=person.mql_at,
            source=ChangeSource.USER, actor_id=rep_for(person), reason=MQL_REASON_BY_REP,
        )  # fmt: skip
    services.moves_apply(moves=list(mql.values()), quiet=True)

    # 3. Outcomes by propensity (with the noise drawn above): best → customers, worst → out.
    ranked = sorted((by_pk[pk] for pk in mql), key=lambda p: -p.propensity)
    n = len(ranked)
    n_customer = round(n * CUSTOMER_SHARE)
    n_opportunity = round(n * OPPORTUNITY_SHARE)
    n_sql = round(n * SQL_SHARE)
    n_disqualified = round(n * DISQUALIFIED_SHARE)
    n_recycled = round(n * RECYCLED_SHARE)
    # Deals take weeks to close: the customers are the most promising among the people who were
    # qualified long enough ago (and whose buying signals are not from the last days), so wins
    # spread over the months instead of piling up in the last week before "now".
    pool = ranked[: len(ranked) // 2]
    ripe = [p for p in pool if _ripe(p, now)]
    customers = (ripe + [p for p in pool if not _ripe(p, now)])[:n_customer]
    chosen = {p.pk for p in customers}
    ranked = customers + [p for p in ranked if p.pk not in chosen]
    opportunities = ranked[n_customer : n_customer + n_opportunity]
    sqls = ranked[n_customer + n_opportunity : n_customer + n_opportunity + n_sql]
    tail = ranked[n_customer + n_opportunity + n_sql :]
    disqualified = tail[len(tail) - n_disqualified :] if n_disqualified else []
    recycled = tail[len(tail) - n_disqualified - n_recycled : len(tail) - n_disqualified]
    # Some disqualified were SQLs first (BANT revealed no budget); the rest straight from MQL.
    disqualified_after_sql = [p for p in disqualified if rng.random() < 0.3]

    waves: dict[str, list[Move]] = {"sql": [], "opportunity": [], "customer": [], "end": []}
    bant: list[BantRecord] = []
    at: dict[int, datetime] = {}
    for person in [*customers, *opportunities, *sqls, *disqualified_after_sql]:
        actor = rep_for(person)
        sql_at = _after(rng, person.mql_at or now, now, 1, 14)
        at[person.pk] = sql_at
        need, tags = rng.choice(NEEDS)
        bant.append(
            BantRecord(
                contact_id=person.pk, budget_band=rng.choice(
                    [BudgetBand.B1M_5M, BudgetBand.B1M_5M, BudgetBand.B5M_10M, BudgetBand.UNDER_1M]
                ),
                authority=rng.choice([Authority.DECISION_MAKER] * 3 + [Authority.INFLUENCER]),
                need=need, need_tags=tags,
                timeline_band=rng.choice([TimelineBand.M3, TimelineBand.M6, TimelineBand.M1]),
                recorded_at=sql_at, recorded_by_id=actor,
            )
        )  # fmt: skip
        waves["sql"].append(
            Move(contact_id=person.pk, from_stage=Stage.MQL, to_stage=Stage.SQL, at=sql_at,
                 source=ChangeSource.USER, actor_id=actor, reason="BANT")
        )  # fmt: skip
    for person in [*customers, *opportunities]:
        opp_at = _after(rng, at[person.pk], now, 3, 21)
        at[person.pk] = opp_at
        waves["opportunity"].append(
            Move(contact_id=person.pk, from_stage=Stage.SQL, to_stage=Stage.OPPORTUNITY,
                 at=opp_at, source=ChangeSource.USER, actor_id=rep_for(person), reason="商談化")
        )  # fmt: skip
    for person in customers:
        won_at = _decided(rng, person, _after(rng, at[person.pk], now, 14, 60), now)
        at[person.pk] = won_at
        waves["customer"].append(
            Move(contact_id=person.pk, from_stage=Stage.OPPORTUNITY, to_stage=Stage.CUSTOMER,
                 at=won_at, source=ChangeSource.USER, actor_id=rep_for(person), reason="受注")
        )  # fmt: skip
    for person in customers[: round(len(customers) * ADVOCATE_SHARE_OF_CUSTOMERS)]:
        waves.setdefault("advocate", []).append(
            Move(contact_id=person.pk, from_stage=Stage.CUSTOMER, to_stage=Stage.ADVOCATE,
                 at=_after(rng, at[person.pk], now, 30, 90), source=ChangeSource.USER,
                 actor_id=rep_for(person), reason="導入事例・紹介に協力")
        )  # fmt: skip
    for person in disqualified:
        start = at.get(person.pk, person.mql_at or now)
        end_at = _decided(rng, person, _after(rng, start, now, 2, 30), now)
        waves["end"].append(
            Move(contact_id=person.pk,
                 from_stage=Stage.SQL if person.pk in at else Stage.MQL,
                 to_stage=Stage.DISQUALIFIED, at=end_at,
                 source=ChangeSource.USER, actor_id=rep_for(person),
                 reason=rng.choice(DISQUALIFY_REASONS))
        )  # fmt: skip
    for person in recycled:
        waves["end"].append(
            Move(contact_id=person.pk, from_stage=Stage.MQL, to_stage=Stage.RECYCLED,
                 at=_after(rng, person.mql_at or now, now, 3, 30), source=ChangeSource.USER,
                 actor_id=rep_for(person), reason=rng.choice(RECYCLE_REASONS))
        )  # fmt: skip
    services.bant_bulk_create(records=bant, quiet=True)
    for name in ("sql", "opportunity", "customer", "advocate", "end"):
        services.moves_apply(moves=waves.get(name, []), quiet=True)
    logger.info(
        "demo.lifecycle",
        extra={
            "mql_plus": n,
            "customers": len(customers),
            "disqualified": len(disqualified),
            "recycled": len(recycled),
        },
    )
