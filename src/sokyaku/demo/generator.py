"""Deterministic Japanese demo data: a B2B SaaS vendor's last months of marketing.

``demo_load(contacts=2000, seed=42, months=6, now=None)`` fills a database that has no contacts
yet with:

- a marketer and three sales reps (``core.services.user_create``, generated passwords);
- the seeds' channels (SEO/organic search, paid social, paid search, webinar, trade show,
  referral, email newsletter, direct), UTM campaigns (monthly webinars and newsletters, trade
  shows, ad campaigns) and a ``ChannelCost`` per channel and month, sized so the cost per lead
  lands near the seeds' figures (SEO and paid social about ¥2,000, webinars about ¥3,000);
- about ``contacts / 6`` companies across all JSIC divisions, employee and revenue bands and
  prefectures (weighted toward Tokyo, Osaka, Aichi, Kanagawa and Fukuoka), with plausible names
  (株式会社東洋システムズ, 山田工業株式会社), kana and domains;
- ``contacts`` people: surname-first names with kana, company email addresses built from the
  romaji of their names in the company's address format (and some free-mail addresses), mobile
  and landline phones, titles and departments, postal codes and addresses for some, an owner
  among the sales reps, tags (展示会2026, 資料DL, ウェビナー参加 …) and a first-touch channel;
- each person's behaviour from the first touch to today: page views with UTM parameters,
  form submissions, whitepaper downloads, webinar registration / attendance (with minutes) /
  no-show, trade-show booth visits, step mails and newsletters (sent, a few bounced, opened,
  clicked — each also an outbox row, see ``mail.py``), demo requests, inquiries and a few
  purchases; some people browse anonymously first and are stitched to their contact when they
  fill in a form, and some visitors never identify.

Determinism: every value is drawn from one ``random.Random`` seeded from ``seed``, in a fixed
order, so the same ``seed``, ``contacts``, ``months`` and ``now`` give exactly the same rows on a
fresh database. ``now`` defaults to the start of the current day in Asia/Tokyo (``clock``'s time,
truncated to midnight): two loads on the same day match; pass ``now`` for loads that must match
on any day. Generated passwords are random and not part of the data.

Scale: people are generated company by company and written in chunks of about ``CHUNK``
contacts, one transaction per chunk, through the set-based services (``contacts.bulk`` and
``activity.services.event_ingest_batch``). Memory stays flat up to a million contacts: only the
sets of used company keys, domains and free-mail addresses grow. Stitching calls
``activity.services.visitor_identify`` once per stitched visitor, with the clock frozen at the
moment the form was sent, so the visitor's ``identified_at`` is historical too.

Every email domain is under a name reserved for examples (see ``names.py``), so mail sent to demo
contacts can never reach a real person.

The parts: ``marketing`` (channels, calendar, campaigns, costs), ``people`` (companies and
people), ``behaviour`` (each person's journey as event drafts), ``stream`` (the random stream),
``names`` (word lists); this module writes them. ``mail`` (the outbox rows of the mails) and the
other ``*_demo_setup`` steps derive the rest from the written events; ``scores`` dates each
score band change to the moment it happened in the history.
"""

from __future__ import annotations

import logging
import secrets
import time
from dataclasses import dataclass, field
from datetime import datetime

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from sokyaku.activity import listeners
from sokyaku.activity import services as activity_services
from sokyaku.activity.events import NewEvent, event_build
from sokyaku.activity.models import Event, EventSource
from sokyaku.consent import services as consent_services
from sokyaku.consent.models import ConsentTopic, PurposeText
from sokyaku.contacts import bulk
from sokyaku.contacts.models import Contact
from sokyaku.core import clock, roles
from sokyaku.core import services as core_services
from sokyaku.core.errors import Conflict, ValidationError
from sokyaku.demo import names
from sokyaku.demo.behaviour import Draft
from sokyaku.demo.capture import capture_demo_write, sent_forms, submissions_attach
from sokyaku.demo.consent import consent_drafts, consent_setup
from sokyaku.demo.marketing import CHANNELS, Calendar, marketing_write
from sokyaku.demo.people import Chunk, People
from sokyaku.demo.stream import Stream

logger = logging.getLogger(__name__)

CHUNK = 2000
_EVENT_BATCH = 5000


@dataclass(frozen=True)
class DemoUser:
    username: str
    display_name: str
    role: str
    # Generated for a user this load created; ``None`` when the user existed already.
    password: str | None


@dataclass
class DemoSummary:
    """What ``demo_load`` wrote: counts of the rows it created, and the demo users."""

    seed: int
    now: datetime
    months: int
    users: list[DemoUser] = field(default_factory=list)
    companies: int = 0
    contacts: int = 0
    events: int = 0
    stitched_visitors: int = 0
    consent_records: int = 0
    forms: int = 0
    channels: int = 0
    campaigns: int = 0
    channel_costs: int = 0
    # Events the apps above the stream wrote from it (band changes, stage moves, segments …).
    derived_events: int = 0
    hot: int = 0
    mqls: int = 0
    customers: int = 0
    handoffs: int = 0
    deals: int = 0
    won_deals: int = 0
    orders: int = 0
    referrals: int = 0
    # Outbox rows of the marketing mails the demo people got.
    messages: int = 0
    model_auc: float | None = None
    baseline_auc: float | None = None
    seconds: float = 0.0

    def __str__(self) -> str:
        """For people: what was loaded, and how to log in as the demo team."""
        lines = [
            f"{self.contacts:,} contacts at {self.companies:,} companies, {self.events:,} events "
            f"({self.stitched_visitors:,} stitched visitors), "
            f"{self.consent_records:,} consent records, {self.forms} published forms, "
            f"{self.channels} channels, "
            f"{self.campaigns} campaigns, {self.channel_costs} monthly costs; "
            f"{self.months} months up to {self.now:%Y-%m-%d %H:%M %Z}, seed {self.seed}, "
            f"{self.seconds:.1f} s",
        ]
        if self.model_auc is not None:
            lines.append(
                f"{self.hot:,} hot leads, {self.mqls:,} MQLs, {self.customers:,} customers "
                f"({self.derived_events:,} events of scores, stages, segments, sequences); "
                f"{self.handoffs:,} handoffs, {self.deals:,} deals ({self.won_deals:,} won), "
                f"{self.orders:,} orders, {self.referrals:,} referrals, "
                f"{self.messages:,} marketing mails; "
                f"win-probability model AUC {self.model_auc:.2f} "
                f"(naive-Bayes baseline {self.baseline_auc or 0:.2f})"
            )
        for user in self.users:
            login = f" / {user.password}" if user.password else ""
            lines.append(f"{user.role}: {user.display_name} ({user.username}{login})")
        return "\n".join(lines)


def _users() -> list[DemoUser]:
    """The demo marketer and sales reps (existing ones are kept as they are)."""
    User = get_user_model()
    made: list[DemoUser] = []
    for username, family, given, role in names.DEMO_USERS:
        password: str | None = None
        if not User.objects.filter(username=username).exists():
            password = secrets.token_urlsafe(12)
            user = core_services.user_create(
                username=username,
                password=password,
                role=role,
                email=f"{username}@demo-ma.example",
                check_password=False,
            )
            # user_create takes no names; the display name is demo-only data.
            User.objects.filter(pk=user.pk).update(first_name=given, last_name=family)
        display = f"{family} {given}"
        made.append(DemoUser(username=username, display_name=display, role=role, password=password))
    return made


def _event(draft: Draft, contact_id: int | None) -> NewEvent:
    return event_build(
        type=draft.type,
        occurred_at=draft.at,
        source=draft.source,
        properties=draft.properties,
        contact_id=contact_id,
        visitor_id=draft.visitor_id,
    )


@dataclass(frozen=True)
class _ConsentContext:
    topics: list[ConsentTopic]
    purpose: PurposeText
    trade_show_channel_id: int | None


def _write(
    chunk: Chunk, *, write_events: bool, summary: DemoSummary, consent: _ConsentContext
) -> None:
    """One chunk, in one transaction: companies, contacts, consent, their events, stitching."""
    with transaction.atomic():
        summary.companies += bulk.company_bulk_create(rows=[c.row for c in chunk.companies])
        rows = [person.row for person in chunk.people]
        contacts = bulk.contact_bulk_insert(rows=rows, source=EventSource.DEMO)
        created = [
            (person, contact)
            for person, contact in zip(chunk.people, contacts, strict=True)
            if contact is not None
        ]
        summary.contacts += len(created)
        summary.events += len(created)  # contact_created, written by contact_bulk_insert
        drafts = consent_drafts(
            created,
            topics=consent.topics,
            purpose=consent.purpose,
            trade_show_channel_id=consent.trade_show_channel_id,
        )
        summary.consent_records += consent_services.consent_bulk_record(records=drafts)
        summary.events += len(drafts)  # each record is on the timeline
        if not write_events:
            return
        # Each sent form of the history becomes a stored submission its event points at.
        submissions_attach(sent_forms(created))
        events: list[NewEvent] = []
        for person, contact in created:
            events += [_event(d, None if d.anonymous else contact.pk) for d in person.drafts]
        events += [_event(d, None) for d in chunk.strangers]
        for start in range(0, len(events), _EVENT_BATCH):
            batch = events[start : start + _EVENT_BATCH]
            summary.events += activity_services.event_ingest_batch(events=batch)
        for person, contact in created:
            if person.stitch is not None:
                visitor, at = person.stitch
                with clock.frozen(at):
                    activity_services.visitor_identify(visitor_id=visitor, contact_id=contact.pk)
                summary.stitched_visitors += 1


def _derived_write(*, seed: int, summary: DemoSummary) -> None:
    """What the apps above the event stream derive from it, in the order they depend on each
    other: scores → lifecycle (MQL rules read scores; reps' BANT) → sales (handoffs, deals,
    orders, referrals from the stage history) → the win model (trained on those outcomes) →
    segments → mail presets, the outbox rows of the mails people got, and the B2B sequence →
    the analytics rollups."""
    from sokyaku.analytics.rollups import rollups_rebuild
    from sokyaku.demo.lifecycle import lifecycle_demo_setup
    from sokyaku.demo.mail import mail_demo_setup
    from sokyaku.demo.sales import sales_demo_setup
    from sokyaku.demo.scores import score_history_demo_write
    from sokyaku.demo.sequences import sequences_demo_setup
    from sokyaku.lifecycle.models import ContactStage, Stage
    from sokyaku.messaging.presets import messaging_presets_install_if_missing
    from sokyaku.scoring.models import ScoreState, Temperature
    from sokyaku.scoring.predictive.training import predictive_demo_train
    from sokyaku.scoring.services import scoring_demo_rebuild
    from sokyaku.segments.services import segments_demo_setup

    scoring_demo_rebuild()
    score_history_demo_write(now=summary.now)
    lifecycle_demo_setup(seed=seed, now=summary.now)
    sales = sales_demo_setup(seed=seed, now=summary.now)
    model = predictive_demo_train()
    segments_demo_setup()
    messaging_presets_install_if_missing()
    summary.messages = mail_demo_setup()
    sequences_demo_setup()
    # The events above were stored with the listeners paused: count the rollups once, set based.
    rollups_rebuild()
    summary.hot = ScoreState.objects.filter(temperature=Temperature.HOT).count()
    summary.mqls = ContactStage.objects.filter(stage=Stage.MQL).count()
    summary.customers = ContactStage.objects.filter(stage=Stage.CUSTOMER).count()
    summary.handoffs = sales.handoffs
    summary.deals = sales.deals
    summary.won_deals = sales.won
    summary.orders = sales.orders
    summary.referrals = sales.referrals
    summary.model_auc = model.auc
    summary.baseline_auc = model.baseline_auc


def demo_load(
    *,
    contacts: int = 2000,
    seed: int = 42,
    months: int = 6,
    now: datetime | None = None,
    events: bool = True,
) -> DemoSummary:
    """Fill a database without contacts with deterministic demo data (see the module docstring).

    ``events=False`` writes everything but the behaviour events (contacts keep the same names,
    tags and creation times), for benchmarks that only need people. Writes users, channels,
    campaigns, costs, companies, contacts, events and visitors. Raises ``Conflict`` when the
    database has contacts already, ``ValidationError`` for ``contacts < 0``, ``months < 1`` or a
    naive ``now``.
    """
    if contacts < 0 or months < 1:
        raise ValidationError("contacts must be at least 0 and months at least 1.")
    if now is None:
        now = clock.local_now().replace(hour=0, minute=0, second=0, microsecond=0)
    elif timezone.is_naive(now):
        raise ValidationError("now needs a time zone.", field_errors={"now": "no time zone"})
    if Contact.objects.exists():
        raise Conflict("The database already has contacts; demo data loads into an empty one.")
    started = time.perf_counter()
    cal = Calendar(now=now, months=months)
    with transaction.atomic():
        users = _users()
        marketing = marketing_write(cal=cal, contacts=contacts, seed=seed)
        topics, purpose = consent_setup()
        summary_forms = capture_demo_write(now=now)
    consent = _ConsentContext(
        topics=topics,
        purpose=purpose,
        trade_show_channel_id=marketing.channel_ids.get("trade-show"),
    )
    reps = [u.username for u in users if u.role == roles.SALES_REP]
    rep_ids = list(
        get_user_model()
        .objects.filter(username__in=reps)
        .order_by("username")
        .values_list("pk", flat=True)
    )
    summary = DemoSummary(
        seed=seed,
        now=now,
        months=months,
        users=users,
        channels=len(CHANNELS),
        campaigns=marketing.campaigns,
        channel_costs=marketing.costs,
        forms=summary_forms,
    )
    people = People(
        Stream(seed=seed, cal=cal),
        channel_ids=marketing.channel_ids,
        rep_ids=rep_ids,
        cover_industries=contacts >= 1000,
    )
    # Scores, stages and segments are computed set-based once everything is in, not event by
    # event while loading.
    with listeners.paused():
        for chunk in people.chunks(contacts, size=CHUNK):
            _write(chunk, write_events=events, summary=summary, consent=consent)
            logger.info(
                "demo.chunk", extra={"contacts": summary.contacts, "events": summary.events}
            )
    if events:
        # As of the demo's "now", like the events: a demo dated in the past stays consistent.
        with clock.frozen(now):
            before = Event.objects.count()
            _derived_write(seed=seed, summary=summary)
            summary.derived_events = Event.objects.count() - before
    summary.seconds = round(time.perf_counter() - started, 2)
    logger.info(
        "demo.loaded",
        extra={
            "contacts": summary.contacts,
            "companies": summary.companies,
            "events": summary.events,
            "seconds": summary.seconds,
        },
    )
    return summary
