"""JSON endpoints for contacts: upsert by the dedupe rules, read, search, edit, timeline."""

from __future__ import annotations

import base64
import math
from datetime import datetime
from typing import Any

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema
from pydantic import ConfigDict

from sokyaku.activity import selectors as activity_selectors
from sokyaku.activity.schemas import EventOut
from sokyaku.contacts import selectors, services
from sokyaku.contacts.models import Contact
from sokyaku.core.apikeys import scope_require
from sokyaku.core.errors import ValidationError
from sokyaku.core.models import ApiScope
from sokyaku.core.schemas import ERRORS

router = Router(tags=["contacts"])


class ContactIn(Schema):
    """A person as the caller knows them. Omitted fields are left as they are."""

    model_config = ConfigDict(extra="forbid")

    family_name: str | None = Field(None, max_length=100, examples=["山田"])
    given_name: str | None = Field(None, max_length=100, examples=["太郎"])
    family_name_kana: str | None = Field(None, max_length=100, examples=["ヤマダ"])
    given_name_kana: str | None = Field(None, max_length=100, examples=["タロウ"])
    email: str | None = Field(None, max_length=254, examples=["taro.yamada@example.co.jp"])
    phone: str | None = Field(None, max_length=40, examples=["090-1234-5678"])
    company_name: str | None = Field(None, max_length=200, examples=["株式会社サンプル"])
    department: str | None = Field(None, max_length=200, examples=["情報システム部"])
    title: str | None = Field(None, max_length=200, examples=["部長"])
    postal_code: str | None = Field(None, max_length=10, examples=["100-0001"])
    prefecture: str | None = Field(None, max_length=10, description="Name or JIS code (1–47)")
    address: str | None = Field(None, max_length=300)
    tags: list[str] | None = Field(None, max_length=50)
    custom_fields: dict[str, Any] | None = None


class UpsertOut(Schema):
    id: int
    created: bool


class CompanyRef(Schema):
    id: int
    name: str


class ContactOut(Schema):
    id: int
    display_name: str
    family_name: str
    given_name: str
    family_name_kana: str
    given_name_kana: str
    email: str
    phone: str
    company: CompanyRef | None
    department: str
    title: str
    postal_code: str
    prefecture: int | None
    prefecture_name: str
    address: str
    owner: str | None
    tags: list[str]
    custom_fields: dict[str, Any]
    first_touch_channel: str | None
    created_at: datetime
    updated_at: datetime

    @staticmethod
    def resolve_owner(obj: Contact) -> str | None:
        return obj.owner.get_username() if obj.owner_id and obj.owner else None

    @staticmethod
    def resolve_tags(obj: Contact) -> list[str]:
        return sorted(t.name for t in obj.tags.all())

    @staticmethod
    def resolve_first_touch_channel(obj: Contact) -> str | None:
        channel = obj.first_touch_channel
        return channel.key if channel else None


class ContactPage(Schema):
    items: list[ContactOut]
    count: int
    page: int
    pages: int


class TimelineOut(Schema):
    items: list[EventOut]
    next: str | None = Field(None, description="Pass as `before` for the next page.")


class ListParams(Schema):
    q: str = Field("", max_length=200, description="Name (kanji, kana or romaji), email, phone, company…")
    page: int = Field(1, ge=1, le=1_000_000)
    page_size: int = Field(50, ge=1, le=200)


def _input(payload: ContactIn) -> services.ContactInput:
    return services.ContactInput.from_mapping(payload.model_dump(exclude_unset=True))


@router.post(
    "",
    response={200: UpsertOut, 201: UpsertOut, **ERRORS},
    summary="Create or update a contact (dedupe by email, name + company, phone)",
)
def contact_upsert(request: HttpRequest, payload: ContactIn) -> tuple[int, UpsertOut]:
    scope_require(request, ApiScope.CONTACTS_WRITE)
    result = services.contact_upsert(data=_input(payload), source="api")
    return (201 if result.created else 200), UpsertOut(id=result.contact.pk, created=result.created)


@router.get("", response={200: ContactPage, **ERRORS}, summary="Search contacts")
def contact_list(request: HttpRequest, params: Query[ListParams]) -> ContactPage:
    scope_require(request, ApiScope.CONTACTS_READ)
    qs = selectors.contact_list(user=None, q=params.q).prefetch_related("tags")
    count = qs.count()
    start = (params.page - 1) * params.page_size
    items = list(qs[start : start + params.page_size])
    return ContactPage(
        items=[ContactOut.from_orm(c) for c in items],
        count=count,
        page=params.page,
        pages=max(1, math.ceil(count / params.page_size)),
    )


@router.get("/{contact_id}", response={200: ContactOut, **ERRORS}, summary="Get a contact")
def contact_get(request: HttpRequest, contact_id: int) -> Contact:
    scope_require(request, ApiScope.CONTACTS_READ)
    return selectors.contact_get(user=None, id=contact_id)


@router.patch("/{contact_id}", response={200: ContactOut, **ERRORS}, summary="Edit a contact")
def contact_update(request: HttpRequest, contact_id: int, payload: ContactIn) -> Contact:
    scope_require(request, ApiScope.CONTACTS_WRITE)
    contact = selectors.contact_get(user=None, id=contact_id)
    services.contact_update(contact=contact, data=_input(payload))
    return selectors.contact_get(user=None, id=contact.pk)


def _cursor_encode(event_time: datetime, event_id: int) -> str:
    return base64.urlsafe_b64encode(f"{event_time.isoformat()}|{event_id}".encode()).decode()


def _cursor_decode(cursor: str) -> tuple[datetime, int]:
    try:
        when, _sep, ident = base64.urlsafe_b64decode(cursor.encode()).decode().partition("|")
        return datetime.fromisoformat(when), int(ident)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValidationError("Invalid cursor.", field_errors={"before": "invalid"}) from exc


@router.get(
    "/{contact_id}/timeline",
    response={200: TimelineOut, **ERRORS},
    summary="A contact's events, newest first",
)
def contact_timeline(
    request: HttpRequest,
    contact_id: int,
    before: str | None = None,
    limit: int = Query(50, ge=1, le=500),  # type: ignore[type-arg]
) -> TimelineOut:
    scope_require(request, ApiScope.EVENTS_READ)
    contact = selectors.contact_get(user=None, id=contact_id)
    when, ident = _cursor_decode(before) if before else (None, None)
    events = activity_selectors.timeline(
        contact_id=contact.pk, before=when, before_id=ident, limit=limit
    )
    next_cursor = (
        _cursor_encode(events[-1].occurred_at, events[-1].pk) if len(events) == limit else None
    )
    return TimelineOut(items=[EventOut.from_orm(e) for e in events], next=next_cursor)

