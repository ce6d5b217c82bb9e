"""Won revenue credited to the channels and campaigns that brought it, under five models.

A conversion is a deal won in the period (``closed_at``), and with ``include_orders`` also a
B2C order placed in it. Its amount is shared among the marketing touches on its contact's
path:

- **touches** are the contact's events whose properties carry UTM parameters or a referrer
  from another site (page views, form submissions, anything sent with them; events the system
  writes itself are not visits), mapped to a channel by the channel rules
  (``campaigns.selectors.channel_matcher``) and to a campaign by ``utm_campaign``. The stored
  first touch (``Contact.first_touch`` / ``first_touch_channel``, e.g. a channel an import
  set) is added in front when no event touch is as early as it. Touches repeating the previous
  one's source, medium and campaign within ``VISIT_GAP`` are one visit and count once;
- the **path** is every touch up to the conversion (the deal won, the order placed); the
  **last touch** is the last of them. A conversion with no touch at all goes to the "no
  channel" / "no campaign" row, so every model still credits all of the revenue;
- the **lead-creation touch** is the last touch at (or ``LEAD_GRACE`` after) the contact's
  creation, the first touch when none came before it;
- the **opportunity-creation touch** is the last touch before the contact entered the
  opportunity stage for this deal (its latest entry since its previous deal was created) or,
  when it never did, before the deal was created (the lead-creation touch when no touch came
  before). An order has no opportunity: the order itself is the milestone.

A deal of a contact merged away since is read on the contact it was merged into (its events
moved there).

Models (``MODELS``): first touch 100 %; last touch 100 %; linear, equal shares; U-shaped, 40 %
first, 40 % lead creation, 20 % spread over the other touches; W-shaped, 30 % first, 30 % lead
creation, 30 % opportunity creation, 10 % over the others. Where milestones fall on one touch
their shares add up (a lead created by its first touch gets 80 % under U); with no other
touch left the milestone touches share everything in proportion (a first touch and another
lead-creation touch alone: 50/50 under U; one touch: everything under every model).

Credits are summed exactly (fractions) and rounded to whole yen per column by the largest
remainder, so each model's column adds up to the total revenue to the yen. Reads are set based:
the conversions, their contacts, all their touches, stage entries and deals in one query each;
the rest is computed in Python (won deals per period are thousands at most).
"""

from __future__ import annotations

import functools
import math
from bisect import bisect_right
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from fractions import Fraction
from typing import Any, NamedTuple

from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from sokyaku.activity.events import SYSTEM_TYPES
from sokyaku.activity.models import Event
from sokyaku.activity.tracking import UTM_KEYS, Hit
from sokyaku.analytics.period import Period
from sokyaku.campaigns import selectors as campaign_selectors
from sokyaku.campaigns.matching import ChannelMatcher, Signals, fold, signals_of
from sokyaku.campaigns.models import Campaign, Channel
from sokyaku.contacts.models import Contact
from sokyaku.core.errors import ValidationError
from sokyaku.deals.models import Deal, DealStatus, Order
from sokyaku.lifecycle.models import Stage, StageChange

BY_CHANNEL = "channel"
BY_CAMPAIGN = "campaign"
DIMENSIONS = (BY_CHANNEL, BY_CAMPAIGN)

FIRST_TOUCH = "first_touch"
LAST_TOUCH = "last_touch"
LINEAR = "linear"
U_SHAPED = "u_shaped"
W_SHAPED = "w_shaped"
MODELS = (FIRST_TOUCH, LAST_TOUCH, LINEAR, U_SHAPED, W_SHAPED)

MODEL_LABELS = {
    FIRST_TOUCH: gettext_lazy("First touch"),
    LAST_TOUCH: gettext_lazy("Last touch"),
    LINEAR: gettext_lazy("Linear"),
    U_SHAPED: gettext_lazy("U-shaped"),
    W_SHAPED: gettext_lazy("W-shaped"),
}
MODEL_HELP = {
    FIRST_TOUCH: gettext_lazy(
        "All of the revenue to the touch that first brought the contact in (awareness)."
    ),
    LAST_TOUCH: gettext_lazy(
        "All of the revenue to the last touch before the deal was won (the final push)."
    ),
    LINEAR: gettext_lazy("The revenue shared equally among every touch before the win."),
    U_SHAPED: gettext_lazy(
        "40 % to the first touch, 40 % to the touch that created the lead, 20 % shared by the "
        "other touches."
    ),
    W_SHAPED: gettext_lazy(
        "The first touch, the lead-creation touch and the touch before the opportunity was "
        "created get 30 % apiece; the other touches share 10 %."
    ),
}

# Touches with the same source, medium and campaign this close together are one visit.
VISIT_GAP = timedelta(minutes=30)
# A touch this soon after the contact was created still created it (the form's own event can
# be stored a moment after the contact it created).
LEAD_GRACE = timedelta(minutes=1)

# (milestone shares, share of the other touches) per positional model.
_U = ((Fraction(2, 5), Fraction(2, 5)), Fraction(1, 5))
_W = ((Fraction(3, 10), Fraction(3, 10), Fraction(3, 10)), Fraction(1, 10))


@dataclass(frozen=True)
class AttributionRow:
    """One channel or campaign: ``id`` 0 (and ``key`` "") is "none"; credits in whole yen."""

    id: int
    key: str
    name: str
    deals: int
    first_touch: int
    last_touch: int
    linear: int
    u_shaped: int
    w_shaped: int

    def credit(self, model: str) -> int:
        value: int = getattr(self, model)
        return value

    @property
    def credits(self) -> list[int]:
        """The credits in ``MODELS`` order."""
        return [self.credit(m) for m in MODELS]

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "key": self.key,
            "name": self.name,
            "deals": self.deals,
            **{m: self.credit(m) for m in MODELS},
        }


@dataclass(frozen=True)
class Attribution:
    period: Period
    by: str
    include_orders: bool
    rows: list[AttributionRow]
    total: AttributionRow
    no_data: bool

    @property
    def revenue(self) -> int:
        return self.total.linear


@dataclass(frozen=True)
class Touch:
    at: datetime
    channel_id: int  # 0: no channel
    campaign_id: int  # 0: no (registered) campaign


@dataclass(frozen=True)
class Path:
    """A conversion's touches in time order and the positions of its milestones."""

    touches: Sequence[Touch]
    lead: int = 0
    opportunity: int = 0


@dataclass
class _ContactInfo:
    created_at: datetime
    stored: Touch | None = None
    touches: list[Touch] = field(default_factory=list)


# --- The models -----------------------------------------------------------------------------


def _positional(
    n: int, milestones: Sequence[tuple[int, Fraction]], rest: Fraction
) -> list[Fraction]:
    weights = [Fraction(0)] * n
    for index, share in milestones:
        weights[index] += share
    marked = {index for index, _share in milestones}
    others = [i for i in range(n) if i not in marked]
    if others:
        for i in others:
            weights[i] += rest / len(others)
    else:
        # Nothing besides the milestones: they share everything in proportion.
        scale = 1 / (1 - rest)
        weights = [w * scale for w in weights]
    return weights


def model_weights(model: str, path: Path) -> list[Fraction]:
    """Each touch's share of the conversion under ``model``; the shares add up to exactly 1.
    A path without touches has nothing to share (an empty list)."""
    return list(_shape_weights(model, len(path.touches), path.lead, path.opportunity))


@functools.cache
def _shape_weights(model: str, n: int, lead: int, opportunity: int) -> tuple[Fraction, ...]:
    # Paths of one shape share their weights: computed once per (model, length, milestones).
    if n == 0:
        return ()
    if model == FIRST_TOUCH:
        return tuple(_positional(n, [(0, Fraction(1))], Fraction(0)))
    if model == LAST_TOUCH:
        return tuple(_positional(n, [(n - 1, Fraction(1))], Fraction(0)))
    if model == LINEAR:
        return tuple(_positional(n, [], Fraction(1)))
    if model == U_SHAPED:
        (first, lead_share), rest = _U
        return tuple(_positional(n, [(0, first), (lead, lead_share)], rest))
    if model == W_SHAPED:
        (first, lead_share, opportunity_share), rest = _W
        milestones = [(0, first), (lead, lead_share), (opportunity, opportunity_share)]
        return tuple(_positional(n, milestones, rest))
    raise ValueError(model)


def _last_at_or_before(times: Sequence[datetime], at: datetime) -> int | None:
    index = bisect_right(times, at) - 1
    return index if index >= 0 else None


def path_build(
    touches: Sequence[Touch], *, until: datetime, created_at: datetime, opened_at: datetime
) -> Path:
    """The path of a conversion at ``until`` of a contact created at ``created_at`` whose
    opportunity opened at ``opened_at``, from the contact's touches in time order."""
    kept = [t for t in touches if t.at <= until]
    times = [t.at for t in kept]
    lead = _last_at_or_before(times, created_at + LEAD_GRACE) or 0
    opportunity = _last_at_or_before(times, opened_at)
    return Path(
        touches=kept, lead=lead, opportunity=opportunity if opportunity is not None else lead
    )


def largest_remainder(shares: Mapping[Any, Fraction], total: int) -> dict[Any, int]:
    """Whole numbers for exact ``shares`` that add up to ``total``: each share rounded down,
    the yen left over go one by one to the largest remainders (ties: in ``shares`` order)."""
    floors = {key: math.floor(value) for key, value in shares.items()}
    left = total - sum(floors.values())
    order = sorted(shares, key=lambda k: shares[k] - floors[k], reverse=True)
    for key in order[: max(0, left)]:
        floors[key] += 1
    return floors


# --- Reading --------------------------------------------------------------------------------


def _touch_props(props: object) -> dict[str, str] | None:
    """The touch an event's properties describe (UTM, or a referrer from another site)."""
    if not isinstance(props, dict):
        return None
    utm = {k: str(props[k]) for k in UTM_KEYS if props.get(k) not in (None, "")}
    hit = Hit(
        visitor_id="",
        url=str(props.get("url") or ""),
        referrer=str(props.get("referrer") or ""),
        utm=utm,
    )
    return hit.touch()


class _Mapper:
    """A touch's signals → channel id and campaign id (0: none), with the rules and campaigns
    loaded once."""

    def __init__(self) -> None:
        self.matcher: ChannelMatcher = campaign_selectors.channel_matcher()
        self.campaigns = {
            fold(utm): pk for utm, pk in Campaign.objects.values_list("utm_campaign", "pk")
        }
        self._cache: dict[Signals, int] = {}

    def channel(self, signals: Signals) -> int:
        if signals not in self._cache:
            self._cache[signals] = self.matcher.channel_for(signals) or 0
        return self._cache[signals]

    def campaign(self, signals: Signals) -> int:
        return self.campaigns.get(signals.campaign, 0) if signals.campaign else 0


def _parse_at(value: object) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        at = datetime.fromisoformat(value)
    except ValueError:
        return None
    return at if at.tzinfo is not None else None


class _Conversion(NamedTuple):
    contact_id: int | None
    amount: int
    at: datetime  # won / ordered
    opened_at: datetime  # deal created / ordered
    deal_id: int | None  # None: an order


def _conversions(period: Period, include_orders: bool) -> tuple[list[_Conversion], QuerySet[Any]]:
    """Every conversion of the period, and its contacts' ids as a subquery."""
    start, end = period.bounds()
    won = Deal.objects.filter(status=DealStatus.WON, closed_at__gte=start, closed_at__lt=end)
    rows = [
        _Conversion(contact_id, amount or 0, closed_at or end, created_at, pk)
        for pk, contact_id, amount, closed_at, created_at in won.values_list(
            "pk", "contact_id", "amount", "closed_at", "created_at"
        ).order_by("closed_at", "pk")
    ]
    contacts = Contact.objects.filter(pk__in=won.values("contact_id"))
    if include_orders:
        orders = Order.objects.filter(ordered_at__gte=start, ordered_at__lt=end)
        rows += [
            _Conversion(contact_id, amount, ordered_at, ordered_at, None)
            for contact_id, amount, ordered_at in orders.values_list(
                "contact_id", "amount", "ordered_at"
            ).order_by("ordered_at", "pk")
        ]
        contacts = Contact.objects.filter(
            Q(pk__in=won.values("contact_id")) | Q(pk__in=orders.values("contact_id"))
        )
    return rows, contacts.values("pk")


def _live_ids(contacts: QuerySet[Any]) -> tuple[dict[int, int], dict[int, dict[str, Any]]]:
    """Each contact id → the live contact it was merged into (itself when live), and the live
    contacts' rows."""
    fields = ("pk", "merged_into_id", "created_at", "first_touch", "first_touch_channel_id")
    rows = {r["pk"]: r for r in Contact.objects.filter(pk__in=contacts).values(*fields)}
    parent = {pk: r["merged_into_id"] for pk, r in rows.items()}
    missing = {p for p in parent.values() if p is not None and p not in rows}
    while missing:  # merge chains are short; one query per level
        more = {r["pk"]: r for r in Contact.objects.filter(pk__in=missing).values(*fields)}
        rows.update(more)
        parent.update({pk: r["merged_into_id"] for pk, r in more.items()})
        missing = {p for p in parent.values() if p is not None and p not in rows}

    def live(pk: int) -> int:
        seen = set()
        while parent.get(pk) is not None and pk not in seen:
            seen.add(pk)
            pk = parent[pk]
        return pk

    live_of = {pk: live(pk) for pk in rows}
    return live_of, {pk: rows[pk] for pk in set(live_of.values())}


def _of_contacts(rows: QuerySet[Any], contacts: QuerySet[Any], extra: Iterable[int]) -> Any:
    """``rows`` of the converting contacts (a subquery) and of ``extra`` contacts (the few
    contacts they were merged into)."""
    wanted = Q(contact_id__in=contacts)
    extra = list(extra)
    if extra:
        wanted |= Q(contact_id__in=extra)
    return rows.filter(wanted)


def _touch_query(contacts: QuerySet[Any], extra: Iterable[int], end: datetime) -> QuerySet[Event]:
    carries = Q(properties__has_any_keys=list(UTM_KEYS)) | (
        Q(properties__has_key="referrer") & ~Q(properties__referrer="")
    )
    rows = Event.objects.filter(occurred_at__lt=end).exclude(type__in=SYSTEM_TYPES)
    result: QuerySet[Event] = _of_contacts(rows.filter(carries), contacts, extra)
    return result


def _contact_touches(
    live: Mapping[int, dict[str, Any]],
    events: QuerySet[Event],
    mapper: _Mapper,
) -> dict[int, _ContactInfo]:
    infos: dict[int, _ContactInfo] = {}
    for pk, row in live.items():
        info = _ContactInfo(created_at=row["created_at"])
        first = row["first_touch"] if isinstance(row["first_touch"], dict) else {}
        channel_id = row["first_touch_channel_id"]
        if first or channel_id:
            signals = signals_of(first)
            info.stored = Touch(
                at=_parse_at(first.get("at")) or row["created_at"],
                channel_id=channel_id or mapper.channel(signals),
                campaign_id=mapper.campaign(signals),
            )
        infos[pk] = info
    last_visit: dict[int, tuple[Signals, datetime]] = {}
    rows = events.values_list("contact_id", "occurred_at", "properties")
    for contact_id, occurred_at, props in rows.order_by("contact_id", "occurred_at", "pk"):
        touch = _touch_props(props)
        if touch is None or contact_id not in infos:
            continue
        signals = signals_of(touch)
        previous = last_visit.get(contact_id)
        last_visit[contact_id] = (signals, occurred_at)
        if (
            previous is not None
            and previous[0] == signals
            and occurred_at - previous[1] <= VISIT_GAP
        ):
            continue  # the same visit (the landing page, then the form it led to)
        infos[contact_id].touches.append(
            Touch(
                at=occurred_at,
                channel_id=mapper.channel(signals),
                campaign_id=mapper.campaign(signals),
            )
        )
    for info in infos.values():
        stored = info.stored
        if stored is not None and not (info.touches and info.touches[0].at <= stored.at):
            info.touches.insert(0, stored)
    return infos


def _opened_at(
    deal_created: datetime,
    entries: Sequence[datetime],
    deals_created: Sequence[datetime],
) -> datetime:
    """When this deal's opportunity opened: the contact's latest entry into opportunity at or
    before the deal's creation and after its previous deal's creation, else the creation."""
    earlier = [d for d in deals_created if d < deal_created]
    since = max(earlier) if earlier else None
    candidates = [e for e in entries if e <= deal_created and (since is None or e > since)]
    return max(candidates) if candidates else deal_created


def _paths(period: Period, include_orders: bool) -> list[tuple[int, Path]]:
    """(amount, path) of every conversion in the period."""
    rows, contacts = _conversions(period, include_orders)
    if not rows:
        return []
    end = period.bounds()[1]
    live_of, live = _live_ids(contacts)
    # Contacts in a merge chain: the converting contacts' events moved to the live one.
    winners = {pk for pk, to in live_of.items() if pk != to} | {
        to for pk, to in live_of.items() if pk != to
    }
    infos = _contact_touches(live, _touch_query(contacts, winners, end), _Mapper())
    # Stage entries and deals stay with a merged-away contact: read them for every id.
    entries: dict[int, list[datetime]] = defaultdict(list)
    changes = StageChange.objects.filter(to_stage=Stage.OPPORTUNITY)
    for contact_id, changed_at in _of_contacts(changes, contacts, winners).values_list(
        "contact_id", "changed_at"
    ):
        entries[live_of.get(contact_id, contact_id)].append(changed_at)
    created: dict[int, list[datetime]] = defaultdict(list)
    for contact_id, created_at in _of_contacts(Deal.objects.all(), contacts, winners).values_list(
        "contact_id", "created_at"
    ):
        created[live_of.get(contact_id, contact_id)].append(created_at)

    out: list[tuple[int, Path]] = []
    for contact_id, amount, at, opened, deal_id in rows:
        pk = live_of.get(contact_id) if contact_id is not None else None
        info = infos.get(pk) if pk is not None else None
        if info is None or pk is None:
            out.append((amount, Path(touches=[])))
            continue
        if deal_id is not None:
            opened = _opened_at(opened, entries.get(pk, []), created.get(pk, []))
        out.append(
            (
                amount,
                path_build(info.touches, until=at, created_at=info.created_at, opened_at=opened),
            )
        )
    return out


# --- The report -----------------------------------------------------------------------------


def _names(by: str, ids: Iterable[int]) -> dict[int, tuple[str, str]]:
    """id → (key, name) of the channels or campaigns."""
    wanted = [i for i in ids if i]
    found: Iterable[tuple[int, str, str]]
    if by == BY_CHANNEL:
        found = Channel.objects.filter(pk__in=wanted).values_list("pk", "key", "name")
    else:
        found = Campaign.objects.filter(pk__in=wanted).values_list("pk", "utm_campaign", "name")
    names = {pk: (key, name) for pk, key, name in found}
    deleted = _("Deleted channel #%(id)d") if by == BY_CHANNEL else _("Deleted campaign #%(id)d")
    for pk in wanted:
        if pk not in names:
            names[pk] = ("", deleted % {"id": pk})
    return names


def attribution(
    period: Period, *, by: str = BY_CHANNEL, include_orders: bool = False
) -> Attribution:
    """The period's won revenue (with ``include_orders``, plus its orders) credited to
    channels (``by="channel"``) or campaigns (``by="campaign"``) under every model.

    Rows are ordered by linear credit (then name), the "none" row last. Raises
    ``ValidationError`` (field ``by``) for another ``by``.
    """
    if by not in DIMENSIONS:
        message = _("Attribute by “channel” or “campaign”.")
        raise ValidationError(message, field_errors={"by": message})
    paths = _paths(period, include_orders)
    # Exact credits as integer numerators per denominator (fractions summed only at the end).
    parts: dict[str, dict[int, dict[int, int]]] = {
        m: defaultdict(lambda: defaultdict(int)) for m in MODELS
    }
    deals: dict[int, int] = defaultdict(int)
    total = 0
    for amount, path in paths:
        total += amount
        keys = [t.channel_id if by == BY_CHANNEL else t.campaign_id for t in path.touches]
        if not keys:
            deals[0] += 1
            for model in MODELS:
                parts[model][0][1] += amount
            continue
        for key in set(keys):
            deals[key] += 1
        shape = (len(keys), path.lead, path.opportunity)
        for model in MODELS:
            for key, weight in zip(keys, _shape_weights(model, *shape), strict=True):
                if weight:
                    parts[model][key][weight.denominator] += weight.numerator * amount
    exact = {
        m: {
            k: sum((Fraction(n, d) for d, n in by_den.items()), Fraction(0))
            for k, by_den in p.items()
        }
        for m, p in parts.items()
    }
    names = _names(by, deals)
    order = sorted(
        deals,
        key=lambda k: (k == 0, -exact[LINEAR].get(k, Fraction(0)), names.get(k, ("", ""))[1], k),
    )
    rounded = {
        m: largest_remainder({k: exact[m].get(k, Fraction(0)) for k in order}, total)
        for m in MODELS
    }
    none_name = _("No channel") if by == BY_CHANNEL else _("No campaign")
    rows = [
        AttributionRow(
            id=key,
            key=names[key][0] if key else "",
            name=names[key][1] if key else none_name,
            deals=deals[key],
            first_touch=rounded[FIRST_TOUCH][key],
            last_touch=rounded[LAST_TOUCH][key],
            linear=rounded[LINEAR][key],
            u_shaped=rounded[U_SHAPED][key],
            w_shaped=rounded[W_SHAPED][key],
        )
        for key in order
    ]
    return Attribution(
        period=period,
        by=by,
        include_orders=include_orders,
        rows=rows,
        total=AttributionRow(
            id=0,
            key="",
            name=_("Total"),
            deals=len(paths),
            first_touch=total,
            last_touch=total,
            linear=total,
            u_shaped=total,
            w_shaped=total,
        ),
        no_data=not paths,
    )
