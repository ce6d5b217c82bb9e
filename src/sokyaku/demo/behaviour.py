"""What one demo person did, from the first touch to today, as event drafts.

A journey starts with the channel that brought the person (the first page view carries its UTM
parameters, or the booth visit / webinar registration is the first touch), then the conversion
that made them a contact (whitepaper download, newsletter sign-up, inquiry, demo request, webinar
registration, business card from a trade show), then nurturing: the seeds' three-step mail after a
download, newsletters every two weeks, return visits, further webinars and downloads; hot people
ask for a demo or send an inquiry and a few of them buy. About 30 % of web leads browse
anonymously first: those page views carry only a visitor id and are stitched to the contact when
the form is sent.

Every mail is recorded whether it was read or not: ``email_sent`` (Message-ID and subject) when
it went out, then maybe ``email_opened`` and ``email_clicked`` (and the visit the click led to).
About 1 % of mails bounce hard (``email_bounced``): the address is dead from then on, so the
person gets no later mail. The Message-IDs are the stream's serials; ``demo.mail`` turns each
mail into an outbox row and the events' ``message_id`` into that row's id.

Drafts have no contact id yet; ``generator`` fills it in once the contact exists.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from sokyaku.activity.models import EventSource as S
from sokyaku.activity.models import EventType as T
from sokyaku.core import clock
from sokyaku.demo import names
from sokyaku.demo.marketing import (
    CHANNEL_BY_KEY,
    CHANNELS,
    CONSUMER_CHANNELS,
    EVERGREEN_CAMPAIGNS,
    ChannelSpec,
    TradeShow,
    Webinar,
    local_time,
)
from sokyaku.demo.stream import Stream, Weighted

Page = tuple[str, str]
_HOME: Page = ("/", "トップページ")
_ALL_CHANNELS = Weighted([c.key for c in CHANNELS], [c.weight for c in CHANNELS])
_CONSUMER = Weighted([k for k, _w in CONSUMER_CHANNELS], [w for _k, w in CONSUMER_CHANNELS])
# How a web visitor becomes a contact.
_CONVERSIONS = Weighted(["download", "newsletter", "inquiry", "demo"], [68, 12, 12, 8])
# (open, click-after-open) chances of a mail, by temperature.
_MAIL_CHANCES = {"cold": (0.3, 0.1), "warm": (0.5, 0.3), "hot": (0.8, 0.5)}
# Share of mails that bounce hard (a mistyped address, someone who left the company).
_BOUNCE_CHANCE = 0.01
# Subjects of the seeds' three-step mail after a download, in step order (``demo.mail`` ties
# them to the steps of the B2B sequence).
STEP_MAIL_SUBJECTS = (
    "【資料送付】ダウンロードありがとうございます",
    "導入事例のご紹介",
    "無料デモのご案内",
)
NEWSLETTER_PREFIX = "【メルマガ】"


@dataclass
class Draft:
    """An event before its contact has an id; ``anonymous`` ones are stored without it."""

    type: str
    at: datetime
    source: str
    properties: dict[str, Any]
    visitor_id: str = ""
    anonymous: bool = False
    # The Message-ID of the mail this draft follows from (its sending, bounce, opens, clicks and
    # the visit a click led to); "" for everything else.
    mail: str = ""


@dataclass
class Journey:
    channel: str  # key of the first-touch channel
    created_at: datetime  # when the person became a contact
    level: str  # cold / warm / hot
    tags: list[str]
    drafts: list[Draft]
    stitch: tuple[str, datetime] | None  # (visitor id, when it identified)


# --- Pages ----------------------------------------------------------------------------------


def _landing(channel: ChannelSpec, stream: Stream) -> Page:
    rng = stream.rng
    if channel.key == "seo-blog":
        return rng.choice(names.BLOG_PAGES)
    if channel.key in ("paid-social", "paid-search"):
        return rng.choice(names.LANDING_PAGES)
    if channel.key == "webinar":
        return names.WEBINAR_PAGE
    if channel.key == "email":
        return rng.choice(names.BLOG_PAGES + names.CASE_PAGES)
    if channel.key == "referral":
        return names.PRODUCT_PAGES[0]
    return _HOME


def _browse(stream: Stream, count: int, *, hot: bool = False) -> list[Page]:
    rng = stream.rng
    pool = names.PRODUCT_PAGES + names.CASE_PAGES + names.BLOG_PAGES
    pages = [rng.choice(pool) for _ in range(count)]
    if hot and rng.random() < 0.6:
        pages.append(names.PRODUCT_PAGES[-1])  # pricing
    return pages


def _utm(channel: ChannelSpec, stream: Stream, at: datetime) -> dict[str, str]:
    """The UTM parameters of a link of ``channel`` followed at ``at`` ({} for none)."""
    if not channel.utm:
        return {}
    rng, cal = stream.rng, stream.cal
    source, medium = rng.choice(channel.utm)
    local = at.astimezone(clock.TOKYO)
    if channel.key in EVERGREEN_CAMPAIGNS:
        campaign = rng.choice(EVERGREEN_CAMPAIGNS[channel.key])[1]
    elif channel.key == "webinar":  # the link promotes the next webinar
        campaign = next((w for w in cal.webinars if w.at >= at), cal.webinars[-1]).utm_campaign
    elif channel.key == "email":
        campaign = f"newsletter_{date(local.year, local.month, 1):%Y%m}"
    else:  # trade show: the QR code on the flyer
        shows = [s for s in cal.shows if s.at <= at] or cal.shows
        campaign = shows[-1].utm_campaign
    return {"utm_source": source, "utm_medium": medium, "utm_campaign": campaign}


def _session(
    stream: Stream,
    at: datetime,
    pages: Sequence[Page],
    *,
    visitor: str,
    anonymous: bool,
    utm: dict[str, str] | None = None,
    channel: ChannelSpec | None = None,
) -> list[Draft]:
    """Page views of one visit, a few minutes apart; the first one carries the UTM parameters
    and the referrer of ``channel``."""
    rng = stream.rng
    drafts: list[Draft] = []
    referrer = rng.choice(channel.referrers) if channel and channel.referrers else ""
    for number, (path, title) in enumerate(pages):
        url = f"{names.SITE}{path}"
        props: dict[str, Any] = {"title": title}
        if number == 0:
            if utm:
                url = f"{url}?{urlencode(utm)}"
                props.update(utm)
            props["referrer"] = referrer
        else:
            props["referrer"] = f"{names.SITE}{pages[number - 1][0]}"
        props["url"] = url
        drafts.append(Draft(T.PAGE_VIEW, at, S.TRACKING, props, visitor, anonymous))
        at += timedelta(seconds=rng.randint(20, 240))
    return drafts


def stranger(stream: Stream) -> list[Draft]:
    """Page views of a visitor who never fills in a form."""
    rng = stream.rng
    visitor = stream.visitor_id()
    channel = CHANNEL_BY_KEY[_CONSUMER.pick(rng)]
    drafts: list[Draft] = []
    for number in range(rng.randint(1, 2)):
        at = stream.lead_time()
        pages = [_landing(channel, stream), *_browse(stream, rng.randint(0, 2))]
        utm = _utm(channel, stream, at) if number == 0 else {}
        drafts += _session(
            stream, at, pages, visitor=visitor, anonymous=True, utm=utm, channel=channel
        )
    return drafts


# --- A person's journey ---------------------------------------------------------------------


def journey(
    stream: Stream, *, has_company: bool, big_company: bool, decision_maker: bool
) -> Journey:
    """One person's behaviour: B2B people come through every channel, people without a company
    (free-mail, B2C-like) through search, social, newsletter or directly."""
    return _Journal(stream).run(
        has_company=has_company, big_company=big_company, decision_maker=decision_maker
    )


@dataclass
class _Journal:
    stream: Stream
    drafts: list[Draft] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    visitor: str = ""

    def tag(self, name: str) -> None:
        if name not in self.tags:
            self.tags.append(name)

    def add(self, type: str, at: datetime, source: str, **properties: Any) -> None:
        # Forms are sent from the browser (its cookie comes along); mail and imports have none.
        visitor = self.visitor if source == S.FORM else ""
        self.drafts.append(Draft(type, at, source, properties, visitor))

    def run(self, *, has_company: bool, big_company: bool, decision_maker: bool) -> Journey:
        rng, cal = self.stream.rng, self.stream.cal
        key = (_ALL_CHANNELS if has_company else _CONSUMER).pick(rng)
        # A show's cards are imported four or five days after it opens.
        shows = [s for s in cal.shows if s.at + timedelta(days=6) <= cal.now]
        webinars = [w for w in cal.webinars if w.at - timedelta(days=20) < cal.now]
        if (key == "trade-show" and not shows) or (key == "webinar" and not webinars):
            key = "seo-blog"
        channel = CHANNEL_BY_KEY[key]
        hot_chance = 0.06 + (0.06 if decision_maker else 0) + (0.04 if big_company else 0)
        roll = rng.random()
        level = "hot" if roll < hot_chance else "warm" if roll < hot_chance + 0.33 else "cold"
        stitch = None
        if key == "trade-show":
            created = self._trade_show(rng.choice(shows))
        elif key == "webinar":
            created = self._webinar_lead(rng.choice(webinars), channel)
            if level == "cold" and rng.random() < 0.5:
                level = "warm"
        else:
            created, stitch, asked = self._web_lead(channel)
            if asked:
                level = "hot"
        if key == "referral":
            self.tag("紹介")
        self._nurture(created, level)
        drafts = _undeliverable_dropped([d for d in self.drafts if d.at <= cal.now])
        return Journey(key, created, level, self.tags, drafts, stitch)

    # -- first conversions -----------------------------------------------------------------------

    def _web_lead(self, channel: ChannelSpec) -> tuple[datetime, tuple[str, datetime] | None, bool]:
        """Found the site through ``channel`` and sent a form; maybe browsed anonymously first.
        Returns (when the form was sent, the stitch if any, whether it was an inquiry/demo)."""
        stream = self.stream
        rng, cal = stream.rng, stream.cal
        at = stream.lead_time()
        self.visitor = stream.visitor_id()
        stitch = None
        utm: dict[str, str]
        referred: ChannelSpec | None
        first_visit = at - timedelta(minutes=rng.randint(2, 30))
        if rng.random() < 0.3:
            # Anonymous visits first; the form submission ties them to the contact.
            first_visit = max(cal.start, at - timedelta(seconds=rng.randint(3600, 20 * 86400)))
            later = sorted(
                stream.between(first_visit, at - (at - first_visit) / 10)
                for _ in range(rng.randint(0, 2))
            )
            for number, visit in enumerate([first_visit, *later]):
                pages = [_landing(channel, stream) if number == 0 else _HOME]
                pages += _browse(stream, rng.randint(0, 3))
                self.drafts += _session(
                    stream,
                    visit,
                    pages,
                    visitor=self.visitor,
                    anonymous=True,
                    utm=_utm(channel, stream, visit) if number == 0 else {},
                    channel=channel if number == 0 else None,
                )
            stitch = (self.visitor, at)
            # Back to send the form, typing the address: no UTM parameters this time.
            start = at - timedelta(minutes=rng.randint(2, 15))
            landing, utm, referred = _HOME, {}, None
        else:
            start, landing = first_visit, _landing(channel, stream)
            utm, referred = _utm(channel, stream, first_visit), channel
        kind = _CONVERSIONS.pick(rng)
        form_page = {
            "download": rng.choice(names.LANDING_PAGES),
            "newsletter": names.BLOG_PAGES[0],
            "inquiry": names.CONTACT_PAGE,
            "demo": names.DEMO_PAGE,
        }[kind]
        pages = [landing, *_browse(stream, rng.randint(0, 2)), form_page]
        self.drafts += _session(
            stream, start, pages, visitor=self.visitor, anonymous=False, utm=utm, channel=referred
        )
        self._convert(kind, at)
        if channel.key == "email":
            self.tag("メルマガ購読")
        return at, stitch, kind in ("inquiry", "demo")

    def _convert(self, kind: str, at: datetime) -> None:
        rng = self.stream.rng
        if kind == "download":
            self._download(at)
            self._step_mails(at)
        elif kind == "newsletter":
            self.add(T.FORM_SUBMITTED, at, S.FORM, form="メルマガ登録", fields={})
            self.tag("メルマガ購読")
        elif kind == "inquiry":
            subject = rng.choice(names.INQUIRY_SUBJECTS)
            self.add(T.FORM_SUBMITTED, at, S.FORM, form="お問い合わせ", fields={"subject": subject})
            self.add(T.INQUIRY, at + timedelta(seconds=1), S.FORM, subject=subject)
        else:
            self._demo_request(at)

    def _download(self, at: datetime) -> None:
        asset = self.stream.rng.choice(names.WHITEPAPERS)
        self.add(T.FORM_SUBMITTED, at, S.FORM, form="資料ダウンロード", fields={"asset": asset})
        self.add(T.ASSET_DOWNLOADED, at + timedelta(seconds=2), S.FORM, asset=asset)
        self.tag("資料DL")

    def _demo_request(self, at: datetime) -> None:
        product = self.stream.rng.choice(names.PRODUCTS)[0]
        self.add(T.FORM_SUBMITTED, at, S.FORM, form="デモ申込", fields={"product": product})
        self.add(T.DEMO_REQUESTED, at + timedelta(seconds=1), S.FORM, product=product)
        self.tag("デモ依頼")

    def _trade_show(self, show: TradeShow) -> datetime:
        """Met at the booth; the business card is imported a few days after the show opened."""
        rng = self.stream.rng
        day = show.at.date() + timedelta(days=rng.randint(0, 2))
        met = local_time(day, rng.randint(10, 16), rng.randint(0, 59))
        self.add(T.EVENT_VISITED, met, S.IMPORT, event=show.name, note="名刺交換")
        self.tag(show.tag)
        imported = local_time(show.at.date() + timedelta(days=rng.randint(4, 5)), 10)
        imported += timedelta(minutes=rng.randint(0, 59))
        self._mail(
            imported + timedelta(hours=1),
            "【御礼】展示会ご来場ありがとうございました",
            "cold",
            names.CASE_PAGES[0],
        )
        return imported

    def _webinar_lead(self, webinar: Webinar, channel: ChannelSpec) -> datetime:
        stream = self.stream
        rng, cal = stream.rng, stream.cal
        opens = max(cal.start, webinar.at - timedelta(days=21))
        closes = min(webinar.at - timedelta(hours=1), cal.now - timedelta(minutes=5))
        at = min(max(stream.business_hours(stream.between(opens, closes)), opens), closes)
        self.visitor = stream.visitor_id()
        source, medium = rng.choice(channel.utm)
        utm = {"utm_source": source, "utm_medium": medium, "utm_campaign": webinar.utm_campaign}
        self.drafts += _session(
            stream,
            at - timedelta(minutes=rng.randint(2, 10)),
            [names.WEBINAR_PAGE],
            visitor=self.visitor,
            anonymous=False,
            utm=utm,
            channel=channel,
        )
        self._webinar(webinar, at, attend_chance=0.6)
        return at

    def _webinar(self, webinar: Webinar, at: datetime, *, attend_chance: float) -> None:
        """Registered at ``at``; attended (some minutes) or not, with the matching follow-up."""
        rng = self.stream.rng
        title = webinar.title
        self.add(T.FORM_SUBMITTED, at, S.FORM, form="ウェビナー申込", fields={"webinar": title})
        self.add(
            T.WEBINAR_REGISTERED,
            at + timedelta(seconds=1),
            S.FORM,
            webinar=title,
            starts_at=webinar.at.isoformat(),
        )
        if webinar.at > self.stream.cal.now:
            return
        next_day = webinar.at + timedelta(days=1)
        if rng.random() < attend_chance:
            joined = webinar.at + timedelta(minutes=rng.randint(0, 8))
            minutes = rng.randint(10, 60)
            self.add(T.WEBINAR_ATTENDED, joined, S.IMPORT, webinar=title, minutes=minutes)
            self.tag("ウェビナー参加")
            self._mail(
                next_day, "【録画公開】ウェビナー資料と録画のご案内", "warm", names.DEMO_PAGE
            )
        else:
            self.add(T.WEBINAR_NO_SHOW, webinar.at + timedelta(hours=1), S.IMPORT, webinar=title)
            self._mail(next_day, "【見逃し配信】ウェビナー録画のご案内", "cold", names.WEBINAR_PAGE)

    # -- after the first conversion --------------------------------------------------------------

    def _mail(self, at: datetime, subject: str, level: str, link: Page) -> None:
        """A mail the person got at ``at``: bounced, or maybe opened, maybe clicked (then a
        visit follows)."""
        stream = self.stream
        rng = stream.rng
        open_chance, click_chance = _MAIL_CHANCES[level]
        message_id = stream.message_id()
        first = len(self.drafts)
        self.add(T.EMAIL_SENT, at, S.EMAIL, message_id=message_id, subject=subject)
        roll = rng.random()
        if roll >= 1 - _BOUNCE_CHANCE:
            # The bounce report comes back within half an hour; its moment is the tail of the
            # same roll (itself uniform), so a bounce takes no draw of its own.
            delay = 1 + int((roll - (1 - _BOUNCE_CHANCE)) / _BOUNCE_CHANCE * 30)
            self.add(
                T.EMAIL_BOUNCED,
                at + timedelta(minutes=delay),
                S.EMAIL,
                message_id=message_id,
                kind="hard",
            )
        elif roll < open_chance:
            self._read(at, message_id, subject, click_chance, link)
        for draft in self.drafts[first:]:
            draft.mail = message_id

    def _read(
        self, at: datetime, message_id: str, subject: str, click_chance: float, link: Page
    ) -> None:
        """The person opened the mail sent at ``at``, and maybe clicked its link."""
        stream = self.stream
        rng = stream.rng
        opened = at + timedelta(minutes=rng.randint(1, 600))
        self.add(T.EMAIL_OPENED, opened, S.EMAIL, message_id=message_id, subject=subject)
        if rng.random() >= click_chance:
            return
        clicked = opened + timedelta(seconds=rng.randint(5, 120))
        url = f"{names.SITE}{link[0]}"
        self.add(T.EMAIL_CLICKED, clicked, S.EMAIL, message_id=message_id, url=url)
        if not self.visitor:
            self.visitor = stream.visitor_id()
        utm = {"utm_source": "ma", "utm_medium": "email", "utm_campaign": "step_mail"}
        pages = [link, *_browse(stream, rng.randint(0, 2))]
        self.drafts += _session(
            stream,
            clicked + timedelta(seconds=2),
            pages,
            visitor=self.visitor,
            anonymous=False,
            utm=utm,
        )

    def _step_mails(self, at: datetime) -> None:
        """The seeds' three-step mail after a download: at once, ~4 and ~11 days later."""
        case = self.stream.rng.choice(names.CASE_PAGES)
        first, second, third = STEP_MAIL_SUBJECTS
        self._mail(at + timedelta(minutes=1), first, "warm", case)
        self._mail(at + timedelta(days=4, hours=1), second, "warm", case)
        self._mail(at + timedelta(days=11, hours=1), third, "warm", names.DEMO_PAGE)

    def _nurture(self, created: datetime, level: str) -> None:
        stream = self.stream
        rng, cal = stream.rng, stream.cal
        now = cal.now
        # Newsletters every two weeks.
        letter = created + timedelta(days=rng.randint(3, 14))
        for _number in range(13):
            if letter > now:
                break
            month = letter.astimezone(clock.TOKYO).month
            subject = f"{NEWSLETTER_PREFIX}マーケティング通信 {month}月号"
            self._mail(letter, subject, level, rng.choice(names.BLOG_PAGES))
            letter += timedelta(days=14)
        # Coming back to the site.
        visits = {"cold": (0, 1), "warm": (1, 4), "hot": (3, 7)}[level]
        for _visit in range(rng.randint(*visits)):
            if not self.visitor:
                self.visitor = stream.visitor_id()
            at = stream.between(created, now)
            moved = stream.business_hours(at)
            pages = [_HOME, *_browse(stream, rng.randint(0, 3), hot=level == "hot")]
            self.drafts += _session(
                stream,
                moved if moved > created else at,
                pages,
                visitor=self.visitor,
                anonymous=False,
            )
        if level == "cold":
            return
        # Warm and hot people come to a (further) webinar and read more.
        if rng.random() < (0.25 if level == "warm" else 0.4):
            later = [w for w in cal.webinars if w.at > created + timedelta(days=3)]
            if later:
                webinar = rng.choice(later)
                opens = max(created + timedelta(days=1), webinar.at - timedelta(days=14))
                at = stream.between(opens, webinar.at - timedelta(hours=2))
                if at < now:
                    self._webinar(webinar, at, attend_chance=0.6 if level == "warm" else 0.75)
        if rng.random() < (0.3 if level == "warm" else 0.5):
            self._download(stream.between(created, now))
        if level == "hot":
            self._hot(created)

    def _hot(self, created: datetime) -> None:
        """Hot people ask for a demo or send an inquiry; some of those who saw a demo buy."""
        stream = self.stream
        rng, now = stream.rng, stream.cal.now
        demo_at: datetime | None = created if "デモ依頼" in self.tags else None
        if demo_at is None and rng.random() < 0.45:
            at = stream.between(created + timedelta(days=1), now + timedelta(days=1))
            if at < now:
                self._demo_request(at)
                demo_at = at
        if rng.random() < 0.2:
            at = stream.between(created, now)
            subject = rng.choice(names.INQUIRY_SUBJECTS)
            self.add(T.FORM_SUBMITTED, at, S.FORM, form="お問い合わせ", fields={"subject": subject})
            self.add(T.INQUIRY, at + timedelta(seconds=1), S.FORM, subject=subject)
        if demo_at is not None and rng.random() < 0.25:
            bought = demo_at + timedelta(days=rng.randint(30, 75))
            if bought < now:
                product, amount = rng.choice(names.PRODUCTS)
                self.add(
                    T.PURCHASE,
                    bought,
                    S.API,
                    amount_jpy=amount,
                    product=product,
                    order_id=stream.order_id(),
                )
                self.tag("既存顧客")


def _undeliverable_dropped(drafts: list[Draft]) -> list[Draft]:
    """``drafts`` without the mails sent after the person's first hard bounce: the address is
    suppressed from then on, so those mails (and what followed from them) never happened."""
    bounced = min((d.at for d in drafts if d.type == T.EMAIL_BOUNCED), default=None)
    if bounced is None:
        return drafts
    unsent = {d.mail for d in drafts if d.type == T.EMAIL_SENT and d.at > bounced}
    return [d for d in drafts if not d.mail or d.mail not in unsent]
