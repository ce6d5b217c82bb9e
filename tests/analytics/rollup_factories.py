"""The world the rollup tests act on, through the product's own services at the frozen time:
leads arriving through touches the channel rules map, stage moves, handoffs routed to a rep,
deals, orders, marketing mails sent by the engine and read, clicked, bounced, goal actions."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime

from django.contrib.auth.models import User

from sokyaku.activity import services as activity_services
from sokyaku.activity.events import event_build
from sokyaku.activity.models import EventSource
from sokyaku.analytics import rollups
from sokyaku.analytics.metrics import Key, day_bounds, raw_counts
from sokyaku.analytics.models import DailyCount, DirtyDay
from sokyaku.analytics.rollups import rollup_counts
from sokyaku.campaigns import services as campaign_services
from sokyaku.campaigns.models import Campaign, Channel
from sokyaku.consent.models import ConsentStatus, LegalBasis
from sokyaku.consent.services import Evidence, consent_record
from sokyaku.contacts import services as contact_services
from sokyaku.contacts import touches
from sokyaku.contacts.models import Contact
from sokyaku.core import clock, roles
from sokyaku.core import services as core_services
from sokyaku.deals import services as deal_services
from sokyaku.deals.models import Deal, DealStage, Pipeline, StageKind
from sokyaku.handoff import services as handoff_services
from sokyaku.handoff.models import Handoff, HandoffTrigger, RuleKind
from sokyaku.messaging import tokens
from sokyaku.messaging.models import Message, MessageLink, SenderProfile, Stream, Template
from sokyaku.messaging.services import bounces, delivery, tracking
from sokyaku.messaging.services.outbox import message_enqueue
from tests.messaging.engine_factories import sender_make, template_make, topic_make

BROWSER = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/126.0 Safari/537.36"
PERSON_IP = "198.51.100.7"

_serial = iter(range(1, 10**9))


def tokyo(*args: int) -> datetime:
    return datetime(*args, tzinfo=clock.TOKYO)  # type: ignore[misc, arg-type]


def dirty_days() -> set[date]:
    """The days a refresh would recompute now: the marked days, with the days of contacts whose
    source changed (noted by the change, turned into marks as every refresh does first)."""
    rollups.sources_mark()
    return set(DirtyDay.objects.values_list("day", flat=True))


def stored_days() -> set[date]:
    return set(DailyCount.objects.values_list("day", flat=True))


def raw(first: date, last: date, *, by_day: bool = False) -> Counter[Key]:
    return raw_counts(*day_bounds(first, last), by_day=by_day)


def rolled(first: date, last: date, *, by_day: bool = False) -> Counter[Key]:
    return rollup_counts(first, last, by_day=by_day)


def touch(contact: Contact, **utm: str) -> None:
    """A marketing touch now (``medium="webinar"``, ``campaign="spring"`` …)."""
    touches.contact_touch_record(contact_id=contact.pk, touch=utm, at=clock.now())


@dataclass
class World:
    """Channels, a campaign, a routed sales team, a pipeline and a marketing sender."""

    rep: User
    trigger: HandoffTrigger
    pipeline: Pipeline
    open_stage: DealStage
    later_stage: DealStage
    sender: SenderProfile
    template: Template
    campaign: Campaign
    channels: dict[str, Channel] = field(default_factory=dict)

    def lead(self, *, medium: str = "", campaign: str = "") -> Contact:
        """A lead created now (consenting to the newsletter), with its first touch."""
        n = next(_serial)
        contact = contact_services.contact_upsert(
            data=contact_services.ContactInput(
                family_name="佐藤",
                given_name=f"花子{n}",
                email=f"hanako{n}@example.jp",
                company_name=f"株式会社サンプル{n}",
            ),
            source=EventSource.API,
        ).contact
        utm = {k: v for k, v in (("medium", medium), ("campaign", campaign)) if v}
        if utm:
            touch(contact, **utm)
        consent_record(
            contact_id=contact.pk,
            topic=topic_make("newsletter"),
            status=ConsentStatus.GRANTED,
            legal_basis=LegalBasis.OPT_IN,
            evidence=Evidence(source="form", source_detail="test"),
        )
        return Contact.objects.get(pk=contact.pk)

    def handoff(self, contact: Contact) -> Handoff:
        return handoff_services.handoff_create(contact=contact, trigger=self.trigger)

    def deal(
        self, contact: Contact, *, amount: int = 1_000_000, handoff: Handoff | None = None
    ) -> Deal:
        return deal_services.deal_create(
            actor=None,
            name=f"商談{next(_serial)}",
            contact=contact,
            amount=amount,
            pipeline=self.pipeline,
            stage=self.open_stage,
            handoff=handoff,
        )

    def reopen(self, deal: Deal) -> Deal:
        deal.refresh_from_db()
        return deal_services.deal_move(
            deal=deal, stage=self.later_stage, version=deal.version, actor=None
        )

    def mail(self, contact: Contact) -> Message:
        """A marketing mail queued and sent now by the sending engine."""
        message, _created = message_enqueue(
            dedupe_key=f"rollups:{next(_serial)}",
            contact=contact,
            stream=Stream.MARKETING,
            sender=self.sender,
            template=self.template,
            topic_key="newsletter",
        )
        delivery.messages_deliver(message_ids=[message.pk])
        return Message.objects.get(pk=message.pk)


def world() -> World:
    campaign_services.channel_defaults_install()
    channels = {c.key: c for c in Channel.objects.all()}
    campaign = campaign_services.campaign_save(
        data=campaign_services.CampaignInput(
            name="春のウェビナー", channel_id=channels["webinar"].pk, utm_campaign="spring"
        )
    )
    sender_make(stream=Stream.TRANSACTIONAL, is_default=True)
    rep = core_services.user_create(
        username=f"rep{next(_serial)}",
        password="x",
        role=roles.SALES_REP,
        email="rep@sales.example",
        check_password=False,
    )
    team = handoff_services.team_save(
        team=None,
        name="営業1課",
        manager=None,
        share_records=False,
        member_ids=[rep.pk],
        actor=None,
    )
    handoff_services.routing_rule_save(
        rule=None, data={"name": "営業部", "kind": RuleKind.ROUND_ROBIN, "team": team}, actor=None
    )
    trigger = handoff_services.trigger_save(
        trigger=None,
        data={
            "name": "見積依頼",
            "kind": "event",
            "event_type": "quote_requested",
            "action_label": "見積依頼",
            "next_action": "24時間以内にご連絡ください。",
        },
        actor=None,
    )
    pipeline = deal_services.pipeline_presets_install()
    stages = list(pipeline.stages.filter(kind=StageKind.OPEN).order_by("position", "pk"))
    return World(
        rep=rep,
        trigger=trigger,
        pipeline=pipeline,
        open_stage=stages[0],
        later_stage=stages[1],
        sender=sender_make(stream=Stream.MARKETING),
        template=template_make(),
        campaign=campaign,
        channels=channels,
    )


def open_mail(message: Message) -> None:
    tracking.message_open_record(message_id=message.pk, ip=PERSON_IP, user_agent=BROWSER)


def click_mail(message: Message) -> None:
    link = MessageLink.objects.filter(message=message).order_by("position").first()
    assert link is not None
    tracking.message_click_record(
        message_id=message.pk, position=link.position, ip=PERSON_IP, user_agent=BROWSER
    )


def unsubscribe_mail(message: Message) -> None:
    tracking.message_unsubscribe(message_id=message.pk)


def bounce_mail(message: Message) -> None:
    """A hard-bounce DSN for the mail arrives (as Postfix writes it)."""
    recipient = message.to_address
    raw_dsn = (
        "From: MAILER-DAEMON@mx.example.jp\r\n"
        "To: info@sample.example\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="B"\r\n'
        "\r\n--B\r\n"
        "Content-Type: text/plain\r\n\r\nThe mail could not be delivered.\r\n"
        "\r\n--B\r\n"
        "Content-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; mx.example.jp\r\n\r\n"
        f"Final-Recipient: rfc822; {recipient}\r\n"
        "Action: failed\r\nStatus: 5.1.1\r\n"
        "Diagnostic-Code: smtp; 550 5.1.1 User unknown\r\n"
        "\r\n--B\r\n"
        "Content-Type: text/rfc822-headers\r\n\r\n"
        f"Message-ID: {tokens.message_id_header(message.pk)}\r\nTo: {recipient}\r\nSubject: x\r\n"
        "\r\n--B--\r\n"
    ).encode()
    bounces.bounce_process(raw=raw_dsn)


def goal(contact: Contact, type: str = "demo_requested") -> None:
    """The contact does something that counts as a mail's conversion."""
    properties = {"form": "contact"} if type == "form_submitted" else {}
    activity_services.event_ingest(
        event=event_build(
            type=type,
            occurred_at=clock.now(),
            source=EventSource.API,
            properties=properties,
            contact_id=contact.pk,
        )
    )
