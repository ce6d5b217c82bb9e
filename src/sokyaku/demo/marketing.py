"""The demo vendor's marketing set-up: channels, the calendar of webinars and trade shows in the
window the demo covers, UTM campaigns, and what each channel cost per month.

Budgets are sized from the number of contacts so that the cost per lead lands near the seeds'
channel table (SEO and paid social about ¥2,000, webinars about ¥3,000), with ±12 % noise.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sokyaku.campaigns.models import Campaign, Channel, ChannelCost, ChannelKind
from sokyaku.core import clock
from sokyaku.demo import names

# Lead arrivals grow over the window: P(arrived by fraction x of it) = x ** (1 / GROWTH).
GROWTH = 0.8


@dataclass(frozen=True)
class ChannelSpec:
    key: str
    name: str
    kind: str
    weight: float  # share of first touches
    cpl: int  # the cost per lead the budget is sized for, in yen
    utm: tuple[tuple[str, str], ...]  # (utm_source, utm_medium) choices; () = no UTM
    referrers: tuple[str, ...] = ()


CHANNELS = (
    ChannelSpec(
        "seo-blog",
        "SEO・オウンドメディア（自然検索）",
        ChannelKind.ORGANIC_SEARCH,
        28,
        2000,
        (),
        ("https://www.google.co.jp/", "https://search.yahoo.co.jp/", "https://www.bing.com/"),
    ),
    ChannelSpec(
        "paid-social",
        "SNS広告",
        ChannelKind.PAID_SOCIAL,
        15,
        2000,
        (("facebook", "paid_social"), ("linkedin", "paid_social"), ("x", "paid_social")),
    ),
    ChannelSpec(
        "paid-search",
        "リスティング広告",
        ChannelKind.PAID_SEARCH,
        13,
        10000,
        (("google", "cpc"), ("yahoo", "cpc")),
    ),
    ChannelSpec("webinar", "ウェビナー", ChannelKind.WEBINAR, 10, 3000, (("webinar", "event"),)),
    ChannelSpec(
        "trade-show", "展示会", ChannelKind.TRADE_SHOW, 10, 20000, (("tradeshow", "offline"),)
    ),
    ChannelSpec("referral", "紹介", ChannelKind.REFERRAL, 6, 5000, (("referral", "referral"),)),
    ChannelSpec("email", "メールマガジン", ChannelKind.EMAIL, 6, 800, (("newsletter", "email"),)),
    ChannelSpec("direct", "直接流入", ChannelKind.DIRECT, 12, 0, ()),
)
CHANNEL_BY_KEY = {spec.key: spec for spec in CHANNELS}
# Where people without a company (B2C-like, free-mail) come from.
CONSUMER_CHANNELS = (("seo-blog", 35), ("paid-social", 30), ("email", 15), ("direct", 20))
EVERGREEN_CAMPAIGNS = {
    "paid-social": (
        ("SNS広告：ホワイトペーパー訴求", "social_whitepaper"),
        ("SNS広告：ウェビナー集客", "social_webinar"),
    ),
    "paid-search": (
        ("リスティング：指名キーワード", "search_brand"),
        ("リスティング：MA 比較キーワード", "search_generic"),
    ),
    "referral": (("顧客紹介プログラム", "referral_program"),),
}


def add_months(day: date, months: int) -> date:
    """The first day of the month ``months`` after ``day``'s month."""
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def local_time(day: date, hour: int, minute: int = 0) -> datetime:
    """``day`` at ``hour:minute`` in Asia/Tokyo."""
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=clock.TOKYO)


def _weekday_in_month(first: date, weekday: int, nth: int) -> date:
    offset = (weekday - first.weekday()) % 7
    return first + timedelta(days=offset + 7 * (nth - 1))


@dataclass(frozen=True)
class Webinar:
    at: datetime
    title: str
    utm_campaign: str


@dataclass(frozen=True)
class TradeShow:
    at: datetime  # opening day, 10:00; the show runs three days
    name: str
    utm_campaign: str
    tag: str


class Calendar:
    """The window the demo covers (``months`` calendar months up to ``now``) and its events:
    a webinar every month (second Thursday, 14:00) and two trade shows (third Wednesday)."""

    def __init__(self, *, now: datetime, months: int) -> None:
        self.now = now
        local = now.astimezone(clock.TOKYO)
        this_month = date(local.year, local.month, 1)
        self.month_starts = [add_months(this_month, i - months + 1) for i in range(months)]
        self.start = local_time(self.month_starts[0], 0)
        self.span = (now - self.start).total_seconds()
        self.webinars: list[Webinar] = []
        for index, first in enumerate(self.month_starts):
            topic = names.WEBINAR_TOPICS[index % len(names.WEBINAR_TOPICS)]
            self.webinars.append(
                Webinar(
                    at=local_time(_weekday_in_month(first, 3, 2), 14),
                    title=f"{first.year}年{first.month}月ウェビナー「{topic}」",
                    utm_campaign=f"webinar_{first:%Y%m}",
                )
            )
        self.shows: list[TradeShow] = []
        for number, index in enumerate(sorted({months // 4, (3 * months) // 4})):
            first = self.month_starts[index]
            name = names.TRADE_SHOW_NAMES[number % len(names.TRADE_SHOW_NAMES)]
            self.shows.append(
                TradeShow(
                    at=local_time(_weekday_in_month(first, 2, 3), 10),
                    name=f"{name} {first.year}",
                    utm_campaign=f"tradeshow_{first:%Y%m}",
                    tag=f"展示会{first.year}",
                )
            )

    def month_bounds(self, index: int) -> tuple[datetime, datetime]:
        start = local_time(self.month_starts[index], 0)
        end = local_time(add_months(self.month_starts[index], 1), 0)
        return start, min(end, self.now)

    def arrival_share(self, start: datetime, end: datetime) -> float:
        """The share of leads that arrive between ``start`` and ``end`` (see ``GROWTH``)."""
        if end <= start or self.span <= 0:
            return 0.0

        def cdf(t: datetime) -> float:
            x = min(max((t - self.start).total_seconds() / self.span, 0.0), 1.0)
            return float(x ** (1 / GROWTH))

        return cdf(end) - cdf(start)


@dataclass(frozen=True)
class MarketingWritten:
    channel_ids: dict[str, int]
    campaigns: int
    costs: int


def marketing_write(*, cal: Calendar, contacts: int, seed: int) -> MarketingWritten:
    """Create (or refresh) the channels, campaigns and one ``ChannelCost`` per channel and month
    of the window. Idempotent: keyed by channel key, ``utm_campaign`` and (channel, month)."""
    rng = random.Random(f"sokyaku-demo-costs:{seed}")
    channel_ids: dict[str, int] = {}
    for spec in CHANNELS:
        channel, _created = Channel.objects.update_or_create(
            key=spec.key, defaults={"name": spec.name, "kind": spec.kind, "is_active": True}
        )
        channel_ids[spec.key] = channel.pk
    campaigns: list[tuple[str, str, str, date | None, date | None]] = []
    for key, items in EVERGREEN_CAMPAIGNS.items():
        campaigns += [(key, name, utm, cal.month_starts[0], None) for name, utm in items]
    for webinar in cal.webinars:
        day = webinar.at.date()
        campaigns.append(("webinar", webinar.title, webinar.utm_campaign, day, day))
    for show in cal.shows:
        day = show.at.date()
        campaigns.append(("trade-show", show.name, show.utm_campaign, day, day + timedelta(days=2)))
    for first in cal.month_starts:
        last = add_months(first, 1) - timedelta(days=1)
        name = f"メールマガジン {first.year}年{first.month}月号"
        campaigns.append(("email", name, f"newsletter_{first:%Y%m}", first, last))
    for key, name, utm, starts_on, ends_on in campaigns:
        Campaign.objects.update_or_create(
            utm_campaign=utm,
            defaults={
                "name": name,
                "channel_id": channel_ids[key],
                "starts_on": starts_on,
                "ends_on": ends_on,
            },
        )
    total_weight = sum(spec.weight for spec in CHANNELS)
    show_months = {s.at.date().replace(day=1) for s in cal.shows if s.at <= cal.now}
    costs = 0
    for spec in CHANNELS:
        share = spec.weight / total_weight
        for index, first in enumerate(cal.month_starts):
            start, end = cal.month_bounds(index)
            leads = contacts * share * cal.arrival_share(start, end)
            month_end = local_time(add_months(first, 1), 0)
            if start < cal.now < month_end:
                # The running month's budget is for the whole month, not the days gone by.
                leads *= (month_end - start) / (cal.now - start)
            if spec.key == "trade-show":
                # The booth is paid in the month of the show, for all of its leads.
                leads = contacts * share / max(len(show_months), 1) if first in show_months else 0
            amount = int(round(leads * spec.cpl * rng.uniform(0.88, 1.12), -3))
            ChannelCost.objects.update_or_create(
                channel_id=channel_ids[spec.key],
                campaign=None,
                month=first,
                defaults={"amount_jpy": amount},
            )
            costs += 1
    return MarketingWritten(channel_ids=channel_ids, campaigns=len(campaigns), costs=costs)
