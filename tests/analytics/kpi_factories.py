"""Rows for the KPI, channel, funnel and drill-down tests, made through the services at chosen
moments (the clock is frozen at each), as the product would have made them then.

The few rows no single service writes for a test — a handoff routing would have made, a
marketing mail the sending engine would have sent, a temperature change scoring would have
made — are written as those would have left them, with their events.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from django.contrib.auth.models import User

from sokyaku.activity import events as event_factories
from sokyaku.activity import services as activity_services
from sokyaku.activity.models import EventSource, EventType
from sokyaku.campaigns import services as campaign_services
from sokyaku.campaigns.models import Channel
from sokyaku.contacts import services as contact_services
from sokyaku.contacts import touches
from sokyaku.contacts.models import Contact
from sokyaku.core import clock
from sokyaku.deals import services as deal_services
from sokyaku.deals.models import Deal
from sokyaku.handoff.models import Handoff, TriggerKind
from sokyaku.lifecycle import services as lifecycle_services
from sokyaku.lifecycle.models import ChangeSource
from sokyaku.messaging.models import Message, MessageChannel, MessageStatus, Stream
from sokyaku.scoring.models import ScoreState

_serial = iter(range(1, 10**9))


def tokyo(*args: int) -> datetime:
    return datetime(*args, tzinfo=clock.TOKYO)  # type: ignore[misc, arg-type]


def channel(key: str) -> Channel:
    """A default channel (installed after migrate)."""
    campaign_services.channel_defaults_install()
    return Channel.objects.get(key=key)


def contact(
    at: datetime,
    *,
    channel_key: str | None = None,
    owner: User | None = None,
    touch: dict[str, str] | None = None,
) -> Contact:
    """A lead created at ``at``, with a first-touch channel when ``channel_key`` is given."""
    n = next(_serial)
    with clock.frozen(at):
        person = contact_services.contact_upsert(
            data=contact_services.ContactInput(
                family_name="佐藤",
                given_name=f"花子{n}",
                email=f"hanako{n}@example.jp",
                company_name=f"株式会社サンプル{n}",
                owner_id=owner.pk if owner else None,
                first_touch_channel_id=channel(channel_key).pk if channel_key else None,
            ),
            source=EventSource.API,
        ).contact
        if touch:
            touches.contact_touch_record(contact_id=person.pk, touch=touch, at=at)
    person.refresh_from_db()
    return person


def move(person: Contact, stage: str, at: datetime, reason: str = "") -> None:
    with clock.frozen(at):
        lifecycle_services.stage_change(
            contact=person, to_stage=stage, source=ChangeSource.USER, reason=reason
        )


def band(person: Contact, old: str, new: str, at: datetime) -> None:
    """A temperature change as scoring leaves it: the ``score_band_changed`` event, and the
    contact's score state in the new band (call in time order per contact)."""
    event(person, EventType.SCORE_BAND_CHANGED, at, **{"from": old, "to": new, "score": 0})
    ScoreState.objects.update_or_create(
        contact=person, defaults={"temperature": new, "updated_at": at}
    )


def event(person: Contact, type: str, at: datetime, **properties: Any) -> None:
    activity_services.event_ingest(
        event=event_factories.event_build(
            type=type,
            occurred_at=at,
            source=EventSource.API,
            properties=properties,
            contact_id=person.pk,
        )
    )


def won_deal(person: Contact, at: datetime, amount: int = 600_000) -> Deal:
    """A deal opened a day before ``at`` and won at ``at`` (the contact becomes a customer)."""
    with clock.frozen(at - timedelta(days=1)):
        deal = deal_services.deal_create(actor=None, name="導入検討", contact=person, amount=amount)
    with clock.frozen(at):
        return deal_services.deal_win(deal=deal, actor=None)


def cost(key: str, month: date, amount: int) -> None:
    campaign_services.channel_costs_upsert(
        rows=[campaign_services.CostRow(month=month, channel_id=channel(key).pk, amount_jpy=amount)]
    )


def handoff(person: Contact, at: datetime) -> Handoff:
    """A handoff as routing would have made it at ``at``, with its timeline event."""
    row = Handoff.objects.create(
        contact=person,
        trigger_kind=TriggerKind.EVENT,
        action_label="デモ申し込み",
        acted_at=at,
        next_action="24時間以内に電話",
        created_at=at,
        sla_due_at=at + timedelta(hours=24),
    )
    event(person, EventType.HANDOFF_CREATED, at, handoff=row.pk)
    return row


def mail(
    person: Contact,
    at: datetime,
    *,
    opened: bool = False,
    clicked: bool = False,
    bounced: bool = False,
) -> Message:
    """A marketing mail as the sending engine leaves it (with its events): sent at ``at``, then
    opened, clicked or bounced an hour later."""
    later = at + timedelta(hours=1)
    row = Message.objects.create(
        dedupe_key=f"test-{next(_serial)}",
        channel=MessageChannel.EMAIL,
        stream=Stream.MARKETING,
        status=MessageStatus.SENT,
        contact=person,
        to_address=person.email,
        subject="ご案内",
        created_at=at,
        sent_at=at,
        opened_at=later if opened or clicked else None,
        clicked_at=later if clicked else None,
        bounced_at=later if bounced else None,
    )
    event(person, EventType.EMAIL_SENT, at, message_id=row.pk)
    if opened or clicked:
        event(person, EventType.EMAIL_OPENED, later, message_id=row.pk)
    if clicked:
        event(person, EventType.EMAIL_CLICKED, later, message_id=row.pk, url="https://example.jp/")
    if bounced:
        event(person, EventType.EMAIL_BOUNCED, later, message_id=row.pk)
    return row
