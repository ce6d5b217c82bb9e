"""Helpers that make contacts, companies and events the way the product does."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sokyaku.activity import events as event_factories
from sokyaku.activity import services as activity_services
from sokyaku.activity.models import EventSource
from sokyaku.contacts import services as contact_services
from sokyaku.contacts.models import Contact
from sokyaku.core import clock


def contact_make(**data: Any) -> Contact:
    data.setdefault("family_name", "山田")
    data.setdefault("given_name", "太郎")
    data.setdefault("email", f"taro{Contact.objects.count()}@example.jp")
    employees = data.pop("employees", None)
    if employees is not None:
        contact_services.company_upsert(name=data["company_name"], employee_count=employees)
    result = contact_services.contact_upsert(
        data=contact_services.ContactInput(**data), source=EventSource.API
    )
    return result.contact


def event_record(contact: Contact, type: str, **properties: Any) -> None:
    activity_services.event_ingest(
        event=event_factories.event_build(
            type=type,
            occurred_at=clock.now(),
            source=EventSource.API,
            properties=properties,
            contact_id=contact.pk,
        )
    )


def in_months(months: int) -> date:
    return clock.local_now().date() + timedelta(days=30 * months)
