"""Reads of the deals app, permission-checked for the user asking.

A sales rep sees the deals they own (and their team's when they manage it or the team shares
records, ``core.visibility``); a deal they may not see raises ``NotFound``, exactly like one
that does not exist. Marketers and admins see every deal. ``None`` as user is the system (an
API key without a creator), which sees everything.

Sums are whole yen. A deal's weighted amount is ``amount × stage probability / 100``, rounded
half up; the sums of a board column or a forecast cell round once, over the cell. A deal whose
forecast category is "omitted" counts in no forecast figure (it stays on the board).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import F, Prefetch, Q, QuerySet, Sum
from django.db.models.functions import TruncMonth

from sokyaku.contacts import selectors as contact_selectors
from sokyaku.contacts.models import Company
from sokyaku.core import clock
from sokyaku.core.errors import NotFound, PermissionDenied
from sokyaku.core.models import TeamMember
from sokyaku.core.visibility import managed_scope, owner_q
from sokyaku.deals.models import (
    Deal,
    DealLine,
    DealStage,
    DealStageChange,
    DealStatus,
    ForecastCategory,
    Pipeline,
    Product,
    Quota,
    StageKind,
)

UserLike = User | AnonymousUser | None
VIEW = "deals.view_deal"
# Closed deals stay on the board's won/lost columns this long after closing.
BOARD_CLOSED_DAYS = 30


@dataclass(frozen=True)
class BoardColumn:
    """One stage of the board with its deals and their sums (JPY). ``stagnating_ids`` are the
    deals that sat in the stage longer than its ``stagnation_days``."""

    stage: DealStage
    deals: list[Deal]
    count: int
    total: int
    weighted: int
    stagnating_ids: frozenset[int] = field(default_factory=frozenset)


@dataclass(frozen=True)
class ForecastRow:
    """One owner's forecast: per month of ``Forecast.months`` and in total. ``pipeline`` is
    the open amount by expected close, ``weighted`` the same times the stage probability,
    ``committed`` the open amount of the deals in the commit category, ``won`` the amount won
    by month of closing."""

    owner_id: int | None
    owner_name: str
    weighted: list[int]
    pipeline: list[int]
    won: list[int]
    weighted_total: int
    pipeline_total: int
    won_total: int
    committed: list[int] = field(default_factory=list)
    committed_total: int = 0


@dataclass(frozen=True)
class Forecast:
    """Weighted pipeline per month of expected close (amount × stage probability) and won
    actuals per month of closing (Asia/Tokyo), per owner and in total. Open deals without an
    amount or an expected close date, or expected outside the months, are not counted."""

    start: date
    months: list[date]
    rows: list[ForecastRow]
    weighted: list[int]
    pipeline: list[int]
    won: list[int]
    weighted_total: int
    pipeline_total: int
    won_total: int
    committed: list[int] = field(default_factory=list)
    committed_total: int = 0


@dataclass(frozen=True)
class CompanyRollup:
    """A company's deals in sums: open (count, amount, weighted), won and lost."""

    company: Company
    open_count: int
    open_amount: int
    open_weighted: int
    won_count: int
    won_amount: int
    lost_count: int
    deals: list[Deal]


def _require(user: UserLike) -> None:
    if user is not None and not user.has_perm(VIEW):
        raise PermissionDenied("You do not have permission to see deals.")


def _percent_of(amount_times_probability: int) -> int:
    """``Σ amount × probability`` in yen (÷ 100, half up)."""
    return (int(amount_times_probability) + 50) // 100


def weighted_amount(deal: Deal) -> int:
    """The deal's amount weighted by its stage's probability, in whole yen."""
    return _percent_of((deal.amount or 0) * deal.stage.probability)


def _stagnation_cutoff(stage: DealStage, now: datetime) -> datetime | None:
    if stage.kind != StageKind.OPEN or not stage.stagnation_days:
        return None
    return now - timedelta(days=stage.stagnation_days)


def deal_is_stagnating(deal: Deal) -> bool:
    """Whether an open deal has sat in its stage longer than the stage allows."""
    cutoff = _stagnation_cutoff(deal.stage, clock.now())
    return deal.status == DealStatus.OPEN and cutoff is not None and deal.stage_entered_at <= cutoff


# --- pipelines and products -----------------------------------------------------------------


def _stages_prefetch() -> Prefetch[Any]:
    return Prefetch("stages", queryset=DealStage.objects.order_by("position", "pk"))


def pipeline_default() -> Pipeline:
    """The default pipeline; on a fresh installation without any, the preset is installed
    first, so the board and a new deal always have somewhere to go."""
    pipeline = Pipeline.objects.order_by("-is_default", "name", "pk").first()
    if pipeline is None:
        from sokyaku.deals.services.pipelines import pipeline_presets_install

        pipeline = pipeline_presets_install()
    return pipeline


def pipeline_list() -> list[Pipeline]:
    """All pipelines with their stages (in board order) prefetched, default first."""
    return list(
        Pipeline.objects.order_by("-is_default", "name", "pk").prefetch_related(_stages_prefetch())
    )


def pipeline_get(*, id: int) -> Pipeline:
    """One pipeline with its stages prefetched; ``NotFound`` when missing."""
    pipeline = Pipeline.objects.prefetch_related(_stages_prefetch()).filter(pk=id).first()
    if pipeline is None:
        raise NotFound(f"No pipeline with id {id}.")
    return pipeline


def stage_list(*, pipeline: Pipeline) -> list[DealStage]:
    """The pipeline's stages in board order."""
    return list(DealStage.objects.filter(pipeline=pipeline).order_by("position", "pk"))


def stage_get(*, id: int) -> DealStage:
    """One stage with its pipeline; ``NotFound`` when missing."""
    stage = DealStage.objects.select_related("pipeline").filter(pk=id).first()
    if stage is None:
        raise NotFound(f"No stage with id {id}.")
    return stage


def product_list(*, active_only: bool = False) -> list[Product]:
    """The product catalogue, by name."""
    rows = Product.objects.order_by("name", "pk")
    return list(rows.filter(is_active=True) if active_only else rows)


def product_get(*, id: int) -> Product:
    """One product; ``NotFound`` when missing."""
    product = Product.objects.filter(pk=id).first()
    if product is None:
        raise NotFound(f"No product with id {id}.")
    return product


# --- deals ----------------------------------------------------------------------------------


def _visible(user: UserLike) -> QuerySet[Deal]:
    _require(user)
    return Deal.objects.filter(owner_q(user, "owner"))


def deal_list(
    *,
    user: UserLike,
    pipeline: Pipeline | None = None,
    status: str | None = None,
    owner_id: int | None = None,
) -> QuerySet[Deal]:
    """The deals ``user`` may see, newest first, with stage, pipeline, contact, company and
    owner joined; filtered by pipeline, status and owner when given."""
    rows = _visible(user).select_related("stage", "pipeline", "contact", "company", "owner")
    if pipeline is not None:
        rows = rows.filter(pipeline=pipeline)
    if status:
        rows = rows.filter(status=status)
    if owner_id:
        rows = rows.filter(owner_id=owner_id)
    return rows.order_by("-created_at", "-id")


def deal_get(*, user: UserLike, id: int) -> Deal:
    """One deal ``user`` may see, with stage, pipeline, contact, company, owner and lines;
    ``NotFound`` otherwise (also for another rep's deal)."""
    deal = (
        _visible(user)
        .select_related("stage", "pipeline", "contact", "company", "owner", "handoff", "bant")
        .prefetch_related(
            Prefetch("lines", queryset=DealLine.objects.select_related("product").order_by("id"))
        )
        .filter(pk=id)
        .first()
    )
    if deal is None:
        raise NotFound(f"No deal with id {id}.")
    return deal


def deal_history(*, deal: Deal) -> list[DealStageChange]:
    """The deal's stage changes (and wins and losses), oldest first, with who made them."""
    return list(
        DealStageChange.objects.filter(deal=deal)
        .select_related("from_stage", "to_stage", "by")
        .order_by("at", "id")
    )


def board(*, user: UserLike, pipeline: Pipeline) -> list[BoardColumn]:
    """The pipeline's stages in order, each with the visible deals in it and their sums: open
    deals in open stages (longest waiting first), deals closed in the last 30 days in the won
    and lost columns (latest first). Two queries, whatever the number of deals."""
    now = clock.now()
    stages = stage_list(pipeline=pipeline)
    rows = (
        _visible(user)
        .filter(pipeline=pipeline)
        .filter(
            Q(stage__kind=StageKind.OPEN)
            | Q(closed_at__gte=now - timedelta(days=BOARD_CLOSED_DAYS))
        )
        .select_related("contact", "company", "owner")
        .order_by("stage_entered_at", "id")
    )
    by_stage: dict[int, list[Deal]] = defaultdict(list)
    for deal in rows:
        by_stage[deal.stage_id].append(deal)
    columns = []
    for stage in stages:
        deals = by_stage.get(stage.pk, [])
        if stage.kind != StageKind.OPEN:
            deals.sort(key=lambda d: (d.closed_at or now, d.pk), reverse=True)
        for deal in deals:
            deal.stage = stage  # already known: no query per card
        cutoff = _stagnation_cutoff(stage, now)
        total = sum(d.amount or 0 for d in deals)
        columns.append(
            BoardColumn(
                stage=stage,
                deals=deals,
                count=len(deals),
                total=total,
                weighted=_percent_of(total * stage.probability),
                stagnating_ids=frozenset(
                    d.pk for d in deals if cutoff is not None and d.stage_entered_at <= cutoff
                ),
            )
        )
    return columns


def _month_start(day: date) -> date:
    return day.replace(day=1)


def _add_months(month: date, count: int) -> date:
    index = month.year * 12 + month.month - 1 + count
    return date(index // 12, index % 12 + 1, 1)


def _month_of(value: date | datetime) -> date:
    if isinstance(value, datetime):
        value = value.astimezone(clock.TOKYO)
    return date(value.year, value.month, 1)


def forecast(
    *,
    user: UserLike,
    start: date,
    months: int,
    owner_ids: Collection[int] | None = None,
) -> Forecast:
    """The forecast for ``months`` months (1–36) from the month of ``start``: per owner and
    month, the open amount by expected close, weighted by stage probability, the open amount
    committed (commit category), and the amount won by month of closing (Asia/Tokyo). Omitted
    deals count nowhere. ``owner_ids`` narrows it to those owners' deals. Rows are ordered by
    owner name, unassigned last."""
    months = max(1, min(int(months), 36))
    first = _month_start(start)
    month_list = [_add_months(first, i) for i in range(months)]
    end = _add_months(first, months)
    visible = _visible(user).exclude(forecast_category=ForecastCategory.OMITTED)
    if owner_ids is not None:
        visible = visible.filter(owner_id__in=sorted(owner_ids))
    open_rows = (
        visible.filter(
            status=DealStatus.OPEN,
            amount__isnull=False,
            expected_close__gte=first,
            expected_close__lt=end,
        )
        .annotate(month=TruncMonth("expected_close"))
        .values("owner_id", "month")
        .annotate(
            open_sum=Sum("amount"),
            weighted_sum=Sum(F("amount") * F("stage__probability")),
            committed_sum=Sum("amount", filter=Q(forecast_category=ForecastCategory.COMMIT)),
        )
        .order_by()
    )
    start_at = datetime(first.year, first.month, 1, tzinfo=clock.TOKYO)
    end_at = datetime(end.year, end.month, 1, tzinfo=clock.TOKYO)
    won_rows = (
        visible.filter(status=DealStatus.WON, closed_at__gte=start_at, closed_at__lt=end_at)
        .annotate(month=TruncMonth("closed_at", tzinfo=clock.TOKYO))
        .values("owner_id", "month")
        .annotate(won_sum=Sum("amount"))
        .order_by()
    )
    index = {month: i for i, month in enumerate(month_list)}
    cells: dict[int | None, dict[str, list[int]]] = {}

    def row_of(owner_id: int | None) -> dict[str, list[int]]:
        return cells.setdefault(
            owner_id,
            {key: [0] * months for key in ("weighted", "pipeline", "won", "committed")},
        )

    for item in open_rows:
        i = index[_month_of(item["month"])]
        row = row_of(item["owner_id"])
        row["pipeline"][i] += int(item["open_sum"] or 0)
        row["weighted"][i] += _percent_of(item["weighted_sum"] or 0)
        row["committed"][i] += int(item["committed_sum"] or 0)
    for won_item in won_rows:
        i = index[_month_of(won_item["month"])]
        row_of(won_item["owner_id"])["won"][i] += int(won_item["won_sum"] or 0)
    names = {
        u.pk: (u.get_full_name() or u.get_username())
        for u in User.objects.filter(pk__in=[pk for pk in cells if pk is not None])
    }
    rows = [
        ForecastRow(
            owner_id=owner_id,
            owner_name=names.get(owner_id, "") if owner_id is not None else "",
            weighted=values["weighted"],
            pipeline=values["pipeline"],
            won=values["won"],
            weighted_total=sum(values["weighted"]),
            pipeline_total=sum(values["pipeline"]),
            won_total=sum(values["won"]),
            committed=values["committed"],
            committed_total=sum(values["committed"]),
        )
        for owner_id, values in cells.items()
    ]
    rows.sort(key=lambda r: (r.owner_id is None, r.owner_name, r.owner_id or 0))

    def column(key: str) -> list[int]:
        return [sum(getattr(r, key)[i] for r in rows) for i in range(months)]

    weighted, pipeline, won = column("weighted"), column("pipeline"), column("won")
    committed = column("committed")
    return Forecast(
        start=first,
        months=month_list,
        rows=rows,
        weighted=weighted,
        pipeline=pipeline,
        won=won,
        weighted_total=sum(weighted),
        pipeline_total=sum(pipeline),
        won_total=sum(won),
        committed=committed,
        committed_total=sum(committed),
    )


# --- quotas ---------------------------------------------------------------------------------

SET_ANY_QUOTA = "deals.change_quota"


def quota_settable_ids(*, actor: User | AnonymousUser) -> frozenset[int] | None:
    """The users whose quotas ``actor`` may set: ``None`` for anyone (``deals.change_quota``,
    admins), else the members of the teams they manage, themselves left out (empty: nobody)."""
    if actor.has_perm(SET_ANY_QUOTA):
        return None
    return managed_scope(actor).managed_ids


def quota_amounts(
    *, first: date, months: int, owner_ids: Collection[int] | None = None
) -> dict[tuple[int, date], int]:
    """(owner id, first day of month) → quota in yen, for ``months`` months from the month of
    ``first``; narrowed to ``owner_ids`` when given. One query."""
    start = _month_start(first)
    rows = Quota.objects.filter(month__gte=start, month__lt=_add_months(start, max(1, months)))
    if owner_ids is not None:
        rows = rows.filter(owner_id__in=sorted(owner_ids))
    return {
        (owner_id, month): int(amount)
        for owner_id, month, amount in rows.values_list("owner_id", "month", "amount")
    }


def quota_people(*, settable: Collection[int] | None) -> list[User]:
    """The active users whose quotas can be set on the quotas page, by name: ``settable`` of
    them, or (``None``: an admin) every member of a team. One query."""
    users = User.objects.filter(is_active=True)
    if settable is None:
        users = users.filter(pk__in=TeamMember.objects.values("user_id"))
    else:
        users = users.filter(pk__in=sorted(settable))
    return list(users.order_by("last_name", "first_name", "username"))


def company_rollup(*, user: UserLike, company_id: int) -> CompanyRollup:
    """The company's deals that ``user`` may see, summed up: open deals (count, amount,
    weighted), won deals (count, amount) and lost deals. ``NotFound`` for an unknown company."""
    company = contact_selectors.company_get(user=user, id=company_id)
    deals = list(deal_list(user=user).filter(company_id=company.pk).order_by("-created_at", "-id"))
    open_deals = [d for d in deals if d.status == DealStatus.OPEN]
    won = [d for d in deals if d.status == DealStatus.WON]
    return CompanyRollup(
        company=company,
        open_count=len(open_deals),
        open_amount=sum(d.amount or 0 for d in open_deals),
        open_weighted=_percent_of(sum((d.amount or 0) * d.stage.probability for d in open_deals)),
        won_count=len(won),
        won_amount=sum(d.amount or 0 for d in won),
        lost_count=sum(1 for d in deals if d.status == DealStatus.LOST),
        deals=deals,
    )


def contact_deals(*, user: UserLike, contact_id: int) -> list[Deal]:
    """The deals of a contact that ``user`` may see, newest first."""
    return list(deal_list(user=user).filter(contact_id=contact_id))
