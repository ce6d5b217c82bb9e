"""Test helpers for segments: people with companies, events, scores, stages and consent."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sokyaku.activity import events as event_factories
from sokyaku.activity import services as activity_services
from sokyaku.activity.models import EventSource
from sokyaku.consent import services as consent_services
from sokyaku.consent.models import ConsentSource, ConsentTopic
from sokyaku.contacts import services as contact_services
from sokyaku.contacts.models import Contact, FieldDefinition
from sokyaku.core import clock


def person(
    *,
    company: dict[str, Any] | None = None,
    created_at: datetime | None = None,
    **fields: Any,
) -> Contact:
    """A contact (and its company, with attributes) created through the contacts services."""
    if company is not None:
        contact_services.company_upsert(**company)
        fields["company_name"] = company["name"]
    data = contact_services.ContactInput(**fields)
    if created_at is None:
        return contact_services.contact_upsert(data=data).contact
    with clock.frozen(created_at):
        return contact_services.contact_upsert(data=data).contact


def custom_field(*, key: str, type: str, choices: list[str] | None = None) -> FieldDefinition:
    return FieldDefinition.objects.create(
        key=key, label=key.title(), type=type, choices=choices or []
    )


def event(contact: Contact, type: str, *, at: datetime, **properties: Any) -> None:
    activity_services.event_ingest(
        event=event_factories.event_build(
            type=type,
            occurred_at=at,
            source=EventSource.API,
            properties=properties,
            contact_id=contact.pk,
        )
    )


def topic(key: str = "newsletter") -> ConsentTopic:
    return ConsentTopic.objects.get_or_create(key=key, defaults={"name": key})[0]


def consent(
    contact: Contact, *, topic_key: str | None, status: str, basis: str = "", at: datetime
) -> None:
    consent_services.consent_record(
        contact_id=contact.pk,
        topic=topic(topic_key) if topic_key else None,
        status=status,
        legal_basis=basis,
        evidence=consent_services.Evidence(source=ConsentSource.UI),
        at=at,
    )


def score(contact: Contact, *, engagement: float = 0, fit: int = 0, temperature: str = "cold",
          at: datetime) -> None:  # fmt: skip
    """A score state as the scoring services store it (engagement valued at ``at``)."""
    from sokyaku.scoring.models import ScoreState

    ScoreState.objects.update_or_create(
        contact=contact,
        defaults={
            "engagement": engagement,
            "engagement_epoch": at.timestamp(),
            "fit": fit,
            "temperature": temperature,
            "updated_at": at,
        },
    )


def stage(contact: Contact, value: str, *, at: datetime) -> None:
    from sokyaku.lifecycle.models import ContactStage

    ContactStage.objects.update_or_create(
        contact=contact, defaults={"stage": value, "entered_at": at}
    )


def days(n: float) -> timedelta:
    return timedelta(days=n)
