"""API shapes of events."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ninja import Field, Schema
from pydantic import ConfigDict, StrictInt

from sokyaku.activity.models import EventSource, EventType


class EventIn(Schema):
    """One event. Say whose it is with ``contact_id``, ``email`` (a new email creates the
    contact) or ``visitor_id`` (anonymous; attached to the contact once the visitor identifies).
    A time without a zone is read as Asia/Tokyo. Each type needs some ``properties``
    (``page_view``: ``url``; ``asset_downloaded``: ``asset``; ``purchase``: ``amount_jpy`` …)."""

    model_config = ConfigDict(extra="forbid")

    type: EventType
    occurred_at: datetime | None = Field(None, description="Defaults to the time received.")
    contact_id: StrictInt | None = Field(None, ge=1, le=2**63 - 1)
    email: str | None = Field(None, max_length=254)
    visitor_id: str | None = Field(None, min_length=1, max_length=64)
    properties: dict[str, Any] = Field(
        default_factory=dict, examples=[{"url": "https://example.co.jp/pricing", "title": "料金"}]
    )
    source: EventSource = EventSource.API
    idempotency_key: str | None = Field(
        None,
        min_length=1,
        max_length=100,
        description="A key unique to this event: a retry with the same key stores nothing twice.",
    )


class EventOut(Schema):
    id: int
    type: str
    occurred_at: datetime
    source: str
    visitor_id: str
    properties: dict[str, Any]


class StoredOut(Schema):
    stored: int
