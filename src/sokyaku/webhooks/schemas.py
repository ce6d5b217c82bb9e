"""Request and response shapes of the webhooks API."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from ninja import Field, Schema
from pydantic import ConfigDict, StrictBool, StrictStr

ReplayStatus = Literal["failed", "delivered"]


class SubscriptionIn(Schema):
    model_config = ConfigDict(extra="forbid")

    url: StrictStr = Field(
        max_length=2000,
        description="Where to POST: https:// to a public address.",
        examples=["https://crm.example.co.jp/hooks/sokyaku"],
    )
    events: list[StrictStr] = Field(
        min_length=1,
        max_length=50,
        description="The event types to receive (see `GET /webhooks/event-types`).",
        examples=[["handoff.created", "deal.won"]],
    )
    description: StrictStr = Field("", max_length=200)


class SubscriptionPatch(Schema):
    model_config = ConfigDict(extra="forbid")

    url: StrictStr | None = Field(None, max_length=2000)
    events: list[StrictStr] | None = Field(None, min_length=1, max_length=50)
    description: StrictStr | None = Field(None, max_length=200)
    is_active: StrictBool | None = Field(
        None, description="false disables it (its messages wait); true enables it again."
    )


class SubscriptionOut(Schema):
    id: int
    url: str
    events: list[str]
    description: str
    is_active: bool
    disabled_at: datetime | None
    disabled_reason: str = Field(description="Why it was disabled (automatically or by hand).")
    failing_since: datetime | None = Field(
        description="Since when every attempt failed (null after a success)."
    )
    rotation_ends_at: datetime | None = Field(
        description="Until when the previous secret also signs (after a rotation)."
    )
    created_at: datetime
    updated_at: datetime


class SubscriptionCreated(SubscriptionOut):
    secret: str = Field(
        description="The signing secret (`whsec_` + base64). Shown only in this answer."
    )


class SecretOut(Schema):
    secret: str = Field(description="The new signing secret, shown only in this answer.")
    previous_secret_expires_at: datetime = Field(
        description="Until then the previous secret signs too (a second signature)."
    )


class EventTypeOut(Schema):
    type: str
    label: str
    group: str


class AttemptOut(Schema):
    number: int
    started_at: datetime
    duration_ms: int
    url: str
    request_headers: dict[str, str]
    response_status: int = Field(description="0 when no HTTP answer came (see `error`).")
    response_body: str = Field(description="The first 4 KB of the answer.")
    error: str
    succeeded: bool


class DeliveryOut(Schema):
    id: int
    webhook_id: str = Field(description="The `webhook-id` header: the same on every attempt.")
    event_type: str
    status: str = Field(description="pending, sending, delivered or failed.")
    attempts: int = Field(description="Attempts since it was written or last replayed.")
    next_attempt_at: datetime | None
    last_error: str
    ordering_key: str
    created_at: datetime
    delivered_at: datetime | None
    failed_at: datetime | None
    replayed_at: datetime | None


class DeliveryDetailOut(DeliveryOut):
    body: str = Field(description="The JSON body as sent on every attempt.")
    attempt_log: list[AttemptOut]


class DeliveryPage(Schema):
    items: list[DeliveryOut]
    count: int
    page: int
    pages: int


class DeliveryParams(Schema):
    status: Literal["pending", "sending", "delivered", "failed"] | None = None
    event_type: str | None = Field(None, max_length=50)
    page: int = Field(1, ge=1, le=100_000)
    page_size: int = Field(50, ge=1, le=200)


def _failed_only() -> list[ReplayStatus]:
    return ["failed"]


class ReplayIn(Schema):
    model_config = ConfigDict(extra="forbid")

    since: datetime = Field(description="Deliveries written at or after this time.")
    until: datetime | None = Field(None, description="… and before this time (default: now).")
    status: list[ReplayStatus] = Field(
        default_factory=_failed_only,
        min_length=1,
        description="Which to send again: failed (default), delivered or both.",
    )


class ReplayOut(Schema):
    replayed: int = Field(description="How many deliveries were queued again (at most 1000).")
