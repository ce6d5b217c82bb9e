"""The seeds' worked example of channel evaluation, loaded as data (``sokyaku loadexample
channels``): three channels, their costs, leads and won deals in one month.

- SEOブログ (``seo-blog``): ¥1,000,000, 500 leads (CPL ¥2,000), 25 won deals (5 %);
- 有料SNS広告 (``paid-social``): ¥600,000, 300 leads (CPL ¥2,000), 6 won deals (2 %);
- ウェビナー (``webinar``): ¥300,000, 100 leads (CPL ¥3,000), 8 won deals (8 %).

The month is the previous full calendar month in Tokyo (so every number is final and the
period is in the past). Channels are found by key — ``sokyaku migrate`` installs ``seo-blog``,
``paid-social`` and ``webinar`` among its default channels, and those are used as they are,
under their own names; a missing one is created with the example's name. Each channel's cost
is one monthly ``ChannelCost`` for the month (replacing a channel-level cost recorded for that
month already).

The leads are contacts with Japanese names (surname first, with kana) and addresses under
``example.jp`` (reserved for examples: no mail can reach a person), created at times spread
over the month, with the channel as first touch. Every won lead walks the funnel within the
month — MQL the next day, SQL two days later, a deal (opportunity) the day after, won a week
later — and is a customer at the end. Each won deal is ¥600,000 (a standard plan, as in the demo
vendor's price list), so the month's won revenue is ¥23,400,000 and the channels' ROI 14.0
(SEO), 5.0 (paid social) and 15.0 (webinar).

Everything goes through the services, set-based where there is a bulk service (contacts, first
stages, stage moves), with the event listeners paused as for the demo data: this is history,
not something happening now, so no sequence starts and no alert goes out. The rollups of the
month are rebuilt at the end. Deterministic: the same month gives the same rows.
"""

from __future__ import annotations

import logging
import random
import time
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.db import transaction

from sokyaku.activity import listeners
from sokyaku.activity.models import EventSource
from sokyaku.analytics import rollups
from sokyaku.analytics.period import Period
from sokyaku.campaigns import services as campaign_services
from sokyaku.campaigns.models import Channel, ChannelKind
from sokyaku.contacts import bulk
from sokyaku.contacts.models import Contact
from sokyaku.core import clock
from sokyaku.core.errors import Conflict
from sokyaku.deals import services as deal_services
from sokyaku.demo import names
from sokyaku.lifecycle import services as lifecycle_services
from sokyaku.lifecycle.models import ChangeSource, Stage
from sokyaku.lifecycle.services.moves import Move

logger = logging.getLogger(__name__)

DEAL_AMOUNT = 600_000
SEED = 7


@dataclass(frozen=True)
class ExampleChannelSpec:
    key: str
    name: str
    kind: str
    cost: int
    leads: int
    won: int


SPECS = (
    ExampleChannelSpec("seo-blog", "SEOブログ", ChannelKind.ORGANIC_SEARCH, 1_000_000, 500, 25),
    ExampleChannelSpec("paid-social", "有料SNS広告", ChannelKind.PAID_SOCIAL, 600_000, 300, 6),
    ExampleChannelSpec("webinar", "ウェビナー", ChannelKind.WEBINAR, 300_000, 100, 8),
)


@dataclass(frozen=True)
class ExampleChannel:
    """One channel as loaded: its id and name (the installation's own when it existed)."""

    channel_id: int
    key: str
    name: str
    cost: int
    leads: int
    won: int
    revenue: int
    created: bool


@dataclass(frozen=True)
class ExampleResult:
    period: Period
    channels: list[ExampleChannel] = field(default_factory=list)
    contacts: int = 0
    won_deals: int = 0
    seconds: float = 0.0

    def __str__(self) -> str:
        """For people: what was loaded, and the period to look at."""
        lines = [
            f"Loaded the channel example for {self.period.first:%Y-%m} "
            f"({self.period.first} – {self.period.last}): {self.contacts} leads, "
            f"{self.won_deals} won deals of ¥{DEAL_AMOUNT:,}, {self.seconds:.1f} s."
        ]
        for c in self.channels:
            cpl = c.cost // c.leads if c.leads else 0
            made = " (created)" if c.created else ""
            lines.append(
                f"  {c.name} [{c.key}]{made}: {c.leads} leads, ¥{c.cost:,}, CPL ¥{cpl:,}, "
                f"won {c.won} ({c.won / c.leads:.0%}), revenue ¥{c.revenue:,}"
            )
        lines.append(
            f"See /analytics/channels/?from={self.period.first}&to={self.period.last} or "
            f"GET /api/v1/analytics/channels?from={self.period.first}&to={self.period.last}"
        )
        return "\n".join(lines)


def previous_month() -> Period:
    """The previous full calendar month in Tokyo."""
    return month_of(clock.local_now().date().replace(day=1) - timedelta(days=1))


def _at(day: date, minutes: int) -> datetime:
    """``day`` at 09:00 Tokyo plus ``minutes``."""
    return datetime.combine(day, datetime.min.time(), tzinfo=clock.TOKYO) + timedelta(
        hours=9, minutes=minutes
    )


def _channel(spec: ExampleChannelSpec) -> tuple[Channel, bool]:
    existing = Channel.objects.filter(key=spec.key).first()
    if existing is not None:
        return existing, False
    return campaign_services.channel_create(key=spec.key, name=spec.name, kind=spec.kind), True


def _person(rng: random.Random, serial: int, *, channel_id: int, at: datetime) -> bulk.ContactRow:
    family = rng.choices(names.SURNAMES, weights=names.SURNAME_WEIGHTS)[0]
    given = rng.choice(names.GIVEN_NAMES_MALE + names.GIVEN_NAMES_FEMALE)
    return bulk.ContactRow(
        family_name=family.text,
        given_name=given.text,
        family_name_kana=family.kana,
        given_name_kana=given.kana,
        email=f"{given.romaji}.{family.romaji}.{serial:04d}@example.jp",
        first_touch_channel_id=channel_id,
        created_at=at,
    )


def month_of(day: date) -> Period:
    """The calendar month ``day`` is in."""
    first = day.replace(day=1)
    next_first = (first + timedelta(days=32)).replace(day=1)
    return Period(first=first, last=next_first - timedelta(days=1))


def example_channels_load(*, month: date | None = None) -> ExampleResult:
    """Load the example into a database without contacts (see the module docstring).

    ``month`` (any day of it) defaults to the previous full calendar month in Tokyo. Writes
    channels (when missing), their costs for the month, the contacts with their first stage,
    their stage moves, the won deals and their events, and the month's rollups. Raises
    ``Conflict`` when contacts exist already: the example's numbers are exact only on their own.
    """
    if Contact.objects.exists():
        raise Conflict(
            "The database already has contacts; the channel example loads into an empty one "
            "(its numbers are exact only on their own)."
        )
    started = time.perf_counter()
    period = month_of(month) if month is not None else previous_month()
    days = period.days
    rng = random.Random(f"channels-{SEED}-{period.first}")
    loaded: list[ExampleChannel] = []
    won_contacts: list[tuple[Contact, datetime]] = []
    serial = 0
    with transaction.atomic(), listeners.paused():
        for spec in SPECS:
            channel, is_new = _channel(spec)
            campaign_services.channel_costs_upsert(
                rows=[
                    campaign_services.CostRow(
                        month=period.first, channel_id=channel.pk, amount_jpy=spec.cost
                    )
                ]
            )
            rows = []
            for index in range(spec.leads):
                serial += 1
                # Spread over the month, during office hours.
                day = period.first + timedelta(days=index * days // spec.leads)
                at = _at(day, rng.randrange(0, 9 * 60))
                rows.append(_person(rng, serial, channel_id=channel.pk, at=at))
            inserted = bulk.contact_bulk_insert(rows=rows, source=EventSource.DEMO)
            contacts = [c for c in inserted if c is not None]
            lifecycle_services.initial_stages_create(contact_ids=[c.pk for c in contacts])
            # The won leads come from the first half of the month, so that their deals close
            # within it.
            half = _at(period.first, 0) + timedelta(days=days // 2)
            early = [c for c in contacts if c.created_at < half]
            for contact in rng.sample(early, spec.won):
                won_contacts.append((contact, contact.created_at))
            loaded.append(
                ExampleChannel(
                    channel_id=channel.pk,
                    key=channel.key,
                    name=channel.name,
                    cost=spec.cost,
                    leads=len(contacts),
                    won=spec.won,
                    revenue=spec.won * DEAL_AMOUNT,
                    created=is_new,
                )
            )
        won_contacts.sort(key=lambda pair: (pair[1], pair[0].pk))
        for step, (from_stage, to_stage, reason) in enumerate(
            ((Stage.LEAD, Stage.MQL, "例：スコア基準到達"), (Stage.MQL, Stage.SQL, "BANT")),
            start=1,
        ):
            lifecycle_services.moves_apply(
                moves=[
                    Move(
                        contact_id=contact.pk,
                        from_stage=from_stage,
                        to_stage=to_stage,
                        at=joined + timedelta(days=2 * step - 1),
                        source=ChangeSource.SYSTEM,
                        reason=reason,
                    )
                    for contact, joined in won_contacts
                ],
                quiet=True,
            )
        for contact, joined in won_contacts:
            with clock.frozen(joined + timedelta(days=4)):
                deal = deal_services.deal_create(
                    actor=None,
                    name=f"{contact.display_name} 様 — 導入検討",
                    contact=contact,
                    amount=DEAL_AMOUNT,
                    expected_close=(joined + timedelta(days=11)).date(),
                )
            with clock.frozen(joined + timedelta(days=11)):
                deal_services.deal_win(deal=deal, actor=None)
    rollups.rollups_rebuild(period.first, period.last)
    result = ExampleResult(
        period=period,
        channels=loaded,
        contacts=sum(c.leads for c in loaded),
        won_deals=len(won_contacts),
        seconds=round(time.perf_counter() - started, 2),
    )
    logger.info(
        "demo.example_loaded",
        extra={"month": str(period.first), "contacts": result.contacts, "won": result.won_deals},
    )
    return result
