"""Wire shapes of the sequences API."""

from __future__ import annotations

from datetime import datetime

from ninja import Schema
from pydantic import ConfigDict, EmailStr, Field


class SequenceOut(Schema):
    id: int
    name: str
    status: str
    trigger_kind: str


class StepOut(Schema):
    id: int
    position: int
    kind: str
    name: str
    config: dict[str, object]


class SequenceDetailOut(SequenceOut):
    description: str
    trigger_config: dict[str, object]
    reentry: str
    reentry_days: int | None
    exit_on: list[str]
    window_days: list[int]
    window_start: str
    window_end: str
    skip_holidays: bool
    closures: list[dict[str, str]]
    topic_key: str
    steps: list[StepOut]


class EnrollIn(Schema):
    model_config = ConfigDict(extra="forbid")

    contact_id: int | None = Field(default=None, ge=1, le=2**63 - 1)
    email: EmailStr | None = None


class EnrollmentOut(Schema):
    id: int
    sequence_id: int
    contact_id: int
    status: str
    position: int
    next_run_at: datetime | None
    anchor_at: datetime | None
    enrolled_at: datetime
    finished_at: datetime | None
    exit_reason: str


class PlannedStepOut(Schema):
    position: int
    kind: str
    name: str
    planned_at: datetime | None
    note: str
