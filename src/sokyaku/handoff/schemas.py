"""Request and response shapes of the handoffs API."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ninja import Field, Schema
from pydantic import ConfigDict, StrictStr, field_validator

from sokyaku.handoff.models import (
    ActivityKind,
    HandoffOutcome,
    HandoffStatus,
    RejectReason,
)

MAX_ID = 2**63 - 1


class UserRef(Schema):
    id: int
    name: str = Field(description="Surname first, else the user name.")


class TriggerRef(Schema):
    id: int | None = Field(description="The trigger (null when it was deleted since).")
    kind: str = Field(description="mql or event (a hot action).")
    action: str = Field(description="The action as the alert names it, e.g. デモ申し込み.")


class ContactRef(Schema):
    id: int
    name: str
    company: str | None


class HandoffOut(Schema):
    id: int
    status: str = Field(description="open, accepted or rejected.")
    assignee: UserRef | None = Field(description="The rep; null while in a queue.")
    team: str | None = Field(description="The team whose queue or round-robin it came from.")
    trigger: TriggerRef
    contact: ContactRef
    interest: str = Field(description="What the lead was interested in (asset, product, page …).")
    acted_at: datetime = Field(description="When the lead did what triggered the handoff.")
    created_at: datetime
    sla_due_at: datetime = Field(description="The SLA deadline for the first touch.")
    sla_state: str = Field(description="pending (running), met or breached.")
    first_touch_at: datetime | None = Field(
        description="The rep's first call, mail or meeting (or accept/reject) — speed to lead."
    )
    routing_note: str = Field(description="Which routing rule gave it to whom.")
    outcome: str = Field(description='sql, recycled, disqualified, or "" while open.')
    reject_reason: str
    reject_note: str
    closed_at: datetime | None


class HandoffPage(Schema):
    items: list[HandoffOut]
    count: int = Field(description="Handoffs matching the filters, on all pages.")
    page: int
    pages: int


class MomentOut(Schema):
    action: str
    interest: str
    acted_at: datetime


class RecentOut(Schema):
    at: datetime
    what: str


class AssignmentOut(Schema):
    from_user: UserRef | None
    to_user: UserRef | None
    by: UserRef | None
    reason: str
    at: datetime


class AlertOut(Schema):
    subject: str
    text: str = Field(description="The alert as mailed to the rep (Japanese).")
    url: str


class HandoffDetailOut(HandoffOut):
    next_action: str
    alert: AlertOut
    moments: list[MomentOut] = Field(description="Later hot actions added to this handoff.")
    recent: list[RecentOut] = Field(description="The lead's last key events, newest first.")
    assignments: list[AssignmentOut]


class ListParams(Schema):
    status: HandoffStatus | None = Field(None, description="open, accepted or rejected.")
    assignee: int | None = Field(None, ge=1, le=MAX_ID, description="Only this rep's handoffs.")
    queue: bool = Field(False, description="Only unassigned handoffs (in a queue).")
    page: int = Field(1, ge=1, le=1_000_000)
    page_size: int = Field(50, ge=1, le=200)


class ReassignIn(Schema):
    model_config = ConfigDict(extra="forbid")

    assignee_id: int = Field(ge=1, le=MAX_ID, description="The user who takes the handoff.")
    reason: StrictStr = Field(min_length=1, max_length=300)


class RejectIn(Schema):
    model_config = ConfigDict(extra="forbid")

    reason: RejectReason
    note: StrictStr = Field("", max_length=2000)
    outcome: HandoffOutcome = Field(
        HandoffOutcome.RECYCLED, description="recycled (back to nurture) or disqualified."
    )
    sequence_id: int | None = Field(
        None, ge=1, le=MAX_ID, description="When recycled: a nurture sequence to enrol in."
    )


class ActivityIn(Schema):
    model_config = ConfigDict(extra="forbid")

    kind: ActivityKind
    subject: StrictStr = Field("", max_length=200)
    body: StrictStr = Field("", max_length=10000)
    occurred_at: datetime | None = Field(
        None, description="When it happened, ISO 8601 with a time zone (default now)."
    )

    @field_validator("occurred_at", mode="before")
    @classmethod
    def _iso_text(cls, value: Any) -> Any:
        # A number would be read as seconds since 1970: accept the documented text only.
        if value is not None and not isinstance(value, str | datetime):
            raise ValueError("an ISO 8601 date-time")
        return value


class ActivityOut(Schema):
    id: int
    kind: str
    subject: str
    body: str
    occurred_at: datetime
    user: UserRef | None
    handoff_id: int | None
