"""Helpers for scoring tests: contacts through the contacts services, events through ingest."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sokyaku.activity.events import event_build
from sokyaku.activity.models import EventSource
from sokyaku.activity.services import event_ingest, event_ingest_batch
from sokyaku.contacts.models import Contact
from sokyaku.contacts.services import ContactInput, company_upsert, contact_upsert

START = datetime(2026, 4, 1, 1, 0, tzinfo=UTC)  # 10:00 in Tokyo


def make_contact(
    n: int = 1,
    *,
    title: str = "",
    company: str | None = None,
    industry: str | None = None,
    employees: int | None = None,
    tags: list[str] | None = None,
) -> Contact:
    if company:
        company_upsert(name=company, industry=industry, employee_count=employees)
    return contact_upsert(
        data=ContactInput(
            family_name="山田",
            given_name=f"太郎{n}",
            email=f"taro{n}@example.co.jp",
            title=title or None,
            company_name=company,
            tags=tags,
        ),
        source=EventSource.API,
    ).contact


def event(
    contact: Contact | int,
    type: str,
    at: datetime,
    source: str = EventSource.API,
    **properties: Any,
) -> None:
    contact_id = contact if isinstance(contact, int) else contact.pk
    event_ingest(
        event=event_build(
            type=type, occurred_at=at, source=source, properties=properties, contact_id=contact_id
        )
    )


def events(rows: list[tuple[int, str, datetime, dict[str, Any]]]) -> None:
    event_ingest_batch(
        events=[
            event_build(
                type=type, occurred_at=at, source=EventSource.API, properties=props, contact_id=cid
            )
            for cid, type, at, props in rows
        ]
    )
