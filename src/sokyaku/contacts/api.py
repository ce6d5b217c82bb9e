"""JSON endpoints for contacts: upsert by the dedupe rules, read, search, edit, timeline.

Thin by design: shapes here, rules in ``contacts.services`` (normalisation, dedupe, validation)
and ``activity.services`` (visitor stitching).

A request acts as its key's creator (``core.visibility.api_user``): a sales rep's key sees and
changes only the rep's (or their team's) contacts, another contact's id is a 404. A key
without a creator acts for the installation. Every page of the list is written to the
data-access log.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from django.db import transaction
from django.http import HttpRequest
from ninja import Field, P, PathEx, Query, Router, Schema, Status
from ninja.errors import ValidationError as NinjaValidationError
from pydantic import ConfigDict

from sokyaku.activity import selectors as activity_selectors
from sokyaku.activity.models import EventSource
from sokyaku.activity.schemas import EventOut
from sokyaku.contacts import selectors, services, touches
from sokyaku.contacts.models import Contact
from sokyaku.core.apikeys import ApiKeyAuth
from sokyaku.core.errors import Conflict
from sokyaku.core.models import AccessKind, ApiScope
from sokyaku.core.schemas import error_item, error_responses, paged, responses_extra
from sokyaku.core.services import data_access_log
from sokyaku.core.visibility import api_key, api_user, sees_all
from sokyaku.lifecycle import selectors as lifecycle_selectors
from sokyaku.scoring import selectors as scoring_selectors

router = Router(tags=["contacts"])

# Ids are 64-bit; a larger number can name no contact and must not reach the database.
MAX_ID = 2**63 - 1
ContactId = PathEx[int, P(ge=1, le=MAX_ID, description="The contact's id.")]


_UPSERT_ERRORS = (401, 403, 409, 413, 415, 422)
_LIST_ERRORS = (401, 403, 422)
_GET_ERRORS = (401, 403, 404, 422)
_PATCH_ERRORS = (401, 403, 404, 409, 413, 415, 422)

TagName = Annotated[str, Field(max_length=60)]

# What a client can do next with the id of an upserted contact (OpenAPI links).
_CONTACT_LINKS = {
    "GetContact": {
        "operationId": "contact_get",
        "parameters": {"contact_id": "$response.body#/id"},
        "description": "Read the contact.",
    },
    "UpdateContact": {
        "operationId": "contact_update",
        "parameters": {"contact_id": "$response.body#/id"},
        "description": "Edit the contact.",
    },
    "GetTimeline": {
        "operationId": "contact_timeline",
        "parameters": {"contact_id": "$response.body#/id"},
        "description": "Read the contact's events.",
    },
    "AddNote": {
        "operationId": "events_ingest",
        "requestBody": {
            "type": "note",
            "contact_id": "$response.body#/id",
            "properties": {"text": "展示会で名刺交換"},
        },
        "description": "Send an event about the contact.",
    },
}


class ContactIn(Schema):
    """A person as the caller knows them. Omitted (or null) fields are left as they are.

    Names and other text are stored exactly as sent (髙, 﨑, emoji and inner full-width spaces
    included); email and phone are normalised (full-width to half-width, E.164).
    """

    model_config = ConfigDict(extra="forbid", strict=True)

    family_name: str | None = Field(None, max_length=100, examples=["山田"])
    given_name: str | None = Field(None, max_length=100, examples=["太郎"])
    family_name_kana: str | None = Field(None, max_length=100, examples=["ヤマダ"])
    given_name_kana: str | None = Field(None, max_length=100, examples=["タロウ"])
    email: str | None = Field(None, max_length=254, examples=["taro.yamada@example.co.jp"])
    phone: str | None = Field(
        None,
        max_length=100,
        description="As written on a card or form: 03-1234-5678, 03(1234)5678, "
        "03-1234-5678（代表） 内線123, +81 3 1234 5678. A number that cannot be read is kept "
        "as written and flagged (`phone_needs_review`), never refused.",
        examples=["03-5016-9744 内線123"],
    )
    company_name: str | None = Field(None, max_length=200, examples=["株式会社サンプル"])
    department: str | None = Field(None, max_length=200, examples=["情報システム部"])
    title: str | None = Field(None, max_length=200, examples=["部長"])
    postal_code: str | None = Field(None, max_length=10, examples=["100-0001"])
    prefecture: int | str | None = Field(
        None, description="Name (東京都) or JIS code (1–47).", examples=["東京都"]
    )
    address: str | None = Field(None, max_length=300, examples=["千代田区千代田1-1"])
    tags: list[TagName] | None = Field(None, max_length=50, examples=[["展示会2025"]])
    custom_fields: dict[str, Any] | None = Field(
        None, description="Values of custom fields defined in sokyaku, by key."
    )


class ContactUpsertIn(ContactIn):
    visitor_id: str | None = Field(
        None,
        min_length=1,
        max_length=64,
        description=(
            "The tracking cookie id of the browser that sent this person's data (a form). "
            "The visitor's earlier anonymous events join the contact's timeline, and its later "
            "events go to the contact."
        ),
    )


class UpsertOut(Schema):
    id: int
    created: bool


class CompanyRef(Schema):
    id: int
    name: str


class ScoreOut(Schema):
    engagement: float = Field(description="Behaviour points as of now, after decay.")
    fit: int = Field(description="Points from attributes (title, company size, industry …).")
    total: float = Field(description="engagement + fit (exact).")
    points: int = Field(
        description="The score as the UI shows it: `total` rounded down to whole points."
    )
    temperature: Literal["cold", "warm", "hot"] = Field(
        description="The band of `points` (so the shown number and band always agree)."
    )


class ContactOut(Schema):
    id: int
    display_name: str
    family_name: str
    given_name: str
    family_name_kana: str
    given_name_kana: str
    email: str
    phone: str = Field(description="E.164, e.g. +819012345678; empty when unreadable.")
    phone_extension: str = Field(description="The extension (内線), e.g. 123.")
    phone_written: str = Field(description="The phone number as it was given.")
    phone_needs_review: bool = Field(
        description="The phone number given could not be read: it is kept as written only."
    )
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
    score: ScoreOut
    lifecycle_stage: str = Field(
        description="subscriber, lead, mql, sql, opportunity, customer, advocate, disqualified "
        "or recycled; the history is at `/contacts/{id}/lifecycle`."
    )
    created_at: datetime
    updated_at: datetime

    @staticmethod
    def resolve_score(obj: Contact) -> dict[str, Any]:
        view = getattr(obj, "score_view", None) or scoring_selectors.score_get(contact_id=obj.pk)
        return asdict(view)

    @staticmethod
    def resolve_lifecycle_stage(obj: Contact) -> str:
        stage = getattr(obj, "lifecycle_stage", None)
        return stage or lifecycle_selectors.stage_get(contact_id=obj.pk)

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
    count: int = Field(description="Contacts matching the search, on all pages.")
    page: int
    pages: int


class TimelineOut(Schema):
    items: list[EventOut]
    next: str | None = Field(
        None, description="Pass as `before` for the next page; null at the end."
    )


class ListParams(Schema):
    q: str = Field(
        "",
        max_length=200,
        description="Words to find (every word must match): a name in kanji, kana or romaji, "
        "the email (any case or width) or its domain or part of it, a phone number written "
        "any way (03-5016-9744, 0350169744, +81 3 5016 9744), a company with or without its "
        "legal form ((株)サンプル, サンプル株式会社), department or title.",
    )
    phone_needs_review: bool = Field(
        False, description="Only contacts whose phone number could not be read."
    )
    page: int = Field(1, ge=1, le=1_000_000)
    page_size: int = Field(50, ge=1, le=200)


class TimelineParams(Schema):
    before: str | None = Field(None, max_length=200, description="`next` of the previous page.")
    limit: int = Field(50, ge=1, le=500)


def _input(payload: ContactIn) -> services.ContactInput:
    return services.ContactInput.from_mapping(payload.model_dump(exclude_unset=True))


@router.post(
    "",
    response={200: UpsertOut, 201: UpsertOut, **error_responses(*_UPSERT_ERRORS)},
    auth=ApiKeyAuth(ApiScope.CONTACTS_WRITE, "contacts.add_contact", "contacts.change_contact"),
    operation_id="contact_upsert",
    summary="Create or update a contact (dedupe by email, name + company, phone)",
    description=(
        "Finds the person by email; else by name and company (株式会社サンプル, (株)サンプル and "
        "ｻﾝﾌﾟﾙ株式会社 are one company); else by phone. Answers 201 when a contact was created, "
        "200 when an existing one was updated. Needs the `contacts:write` scope.\n\n"
        "A key created by a sales rep creates contacts owned by the rep; when the person is "
        "already a contact the rep does not see, it answers 409 and changes nothing."
    ),
    openapi_extra=responses_extra(_UPSERT_ERRORS, links={200: _CONTACT_LINKS, 201: _CONTACT_LINKS}),
)
def contact_upsert(request: HttpRequest, payload: ContactUpsertIn) -> Status[UpsertOut]:
    user = api_user(request)
    # One transaction: a visitor is only tied to a contact that exists, and the upsert of a
    # person the caller may not see is undone.
    with transaction.atomic():
        result = services.contact_upsert(data=_input(payload), source=EventSource.API)
        if not result.created and not selectors.contact_is_visible(
            user=user, contact=result.contact
        ):
            raise Conflict(
                "This person is already a contact you do not see; ask their owner or a "
                "marketer to share it with you."
            )
        if result.created and not sees_all(user) and user is not None:
            # A rep's new contact is theirs, or the rep could not read what they just wrote.
            result.contact = services.contact_update(
                contact=result.contact, data=services.ContactInput(owner_id=user.pk)
            ).contact
        if payload.visitor_id:
            touches.visitor_stitch(visitor_id=payload.visitor_id, contact_id=result.contact.pk)
    return Status(
        201 if result.created else 200, UpsertOut(id=result.contact.pk, created=result.created)
    )


@router.get(
    "",
    response={200: ContactPage, **error_responses(*_LIST_ERRORS)},
    auth=ApiKeyAuth(ApiScope.CONTACTS_READ, "contacts.view_contact"),
    operation_id="contact_list",
    summary="Search contacts, newest first",
    description=(
        "Every word of `q` must match a name (kanji, hiragana, katakana or romaji), email or "
        "its domain, phone (however written), company (with or without 株式会社 / (株)), "
        "department or title. Paged with `page` and `page_size`; `count` and "
        "`pages` describe the whole result. Needs the `contacts:read` scope."
    ),
    openapi_extra=responses_extra(_LIST_ERRORS),
)
def contact_list(request: HttpRequest, params: Query[ListParams]) -> dict[str, Any]:
    qs = selectors.contact_list(
        user=api_user(request), q=params.q, phone_needs_review=params.phone_needs_review
    )
    qs = qs.select_related("first_touch_channel").prefetch_related("tags")
    page = paged(qs, page=params.page, page_size=params.page_size, prepare=_with_scores)
    if page["items"]:
        data_access_log(
            kind=AccessKind.BULK_VIEW,
            resource="contacts.api_list",
            fields=list(ContactOut.model_fields),
            rows=len(page["items"]),
            user=api_user(request),
            api_key=api_key(request),
            filters={
                "q": params.q,
                **({"phone_needs_review": True} if params.phone_needs_review else {}),
                "page": params.page,
                "page_size": params.page_size,
            },
        )
    return page


def _with_scores(contacts: list[Contact]) -> list[Contact]:
    """Scores and stages of a page in two queries, not two per contact."""
    ids = [c.pk for c in contacts]
    scores = scoring_selectors.scores_for(contact_ids=ids)
    stages = lifecycle_selectors.stage_of(contact_ids=ids)
    for contact in contacts:
        contact.score_view = scores[contact.pk]  # type: ignore[attr-defined]
        contact.lifecycle_stage = stages[contact.pk]  # type: ignore[attr-defined]
    return contacts


@router.get(
    "/{contact_id}",
    response={200: ContactOut, **error_responses(*_GET_ERRORS)},
    auth=ApiKeyAuth(ApiScope.CONTACTS_READ, "contacts.view_contact"),
    operation_id="contact_get",
    summary="Get a contact",
    description=(
        "An id that was merged into another contact answers with that contact. Needs the "
        "`contacts:read` scope."
    ),
    openapi_extra=responses_extra(_GET_ERRORS),
)
def contact_get(request: HttpRequest, contact_id: ContactId) -> Contact:
    return selectors.contact_get(user=api_user(request), id=contact_id)


@router.patch(
    "/{contact_id}",
    response={200: ContactOut, **error_responses(*_PATCH_ERRORS)},
    auth=ApiKeyAuth(ApiScope.CONTACTS_WRITE, "contacts.change_contact"),
    operation_id="contact_update",
    summary="Edit a contact",
    description=(
        "Given fields replace what the contact has (an empty string clears a field; `tags` and "
        "`custom_fields` are replaced as a whole); omitted fields stay. 409 when the new email "
        "(or name + company, or phone) belongs to another contact: merge them instead. Needs "
        "the `contacts:write` scope."
    ),
    openapi_extra=responses_extra(_PATCH_ERRORS),
)
def contact_update(request: HttpRequest, contact_id: ContactId, payload: ContactIn) -> Contact:
    user = api_user(request)
    contact = selectors.contact_get(user=user, id=contact_id)
    services.contact_update(contact=contact, data=_input(payload))
    return selectors.contact_get(user=user, id=contact.pk)


# --- Timeline -------------------------------------------------------------------------------


def _cursor_encode(event_time: datetime, event_id: int) -> str:
    raw = f"{event_time.astimezone(UTC).isoformat()}|{event_id}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _cursor_decode(cursor: str) -> tuple[datetime, int]:
    """The (time, id) keyset position a cursor from ``_cursor_encode`` stands for."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        when_text, _sep, ident_text = (
            base64.urlsafe_b64decode(padded.encode("ascii")).decode().partition("|")
        )
        when, ident = datetime.fromisoformat(when_text), int(ident_text)
        if when.tzinfo is None or not 0 < ident <= MAX_ID:
            raise ValueError("not a cursor")
        when.astimezone(UTC)  # a time the database can hold
    except (ValueError, UnicodeError, binascii.Error, OverflowError) as exc:
        raise NinjaValidationError(
            [error_item(["query", "before"], "Not a cursor from a previous page.")]
        ) from exc
    return when, ident


_TIMELINE_ERRORS = (401, 403, 404, 422)


@router.get(
    "/{contact_id}/timeline",
    response={200: TimelineOut, **error_responses(*_TIMELINE_ERRORS)},
    auth=ApiKeyAuth(ApiScope.EVENTS_READ, "contacts.view_contact", "activity.view_event"),
    operation_id="contact_timeline",
    summary="A contact's events, newest first",
    description=(
        "Keyset paging: pass the answer's `next` as `before` to get the following page; it stays "
        "stable while new events arrive. Needs the `events:read` scope."
    ),
    openapi_extra=responses_extra(_TIMELINE_ERRORS),
)
def contact_timeline(
    request: HttpRequest, contact_id: ContactId, params: Query[TimelineParams]
) -> dict[str, Any]:
    contact = selectors.contact_get(user=api_user(request), id=contact_id)
    when, ident = _cursor_decode(params.before) if params.before else (None, None)
    # One row more than asked tells whether there is a next page.
    events = activity_selectors.timeline(
        contact_id=contact.pk, before=when, before_id=ident, limit=params.limit + 1
    )
    page, more = events[: params.limit], len(events) > params.limit
    next_cursor = _cursor_encode(page[-1].occurred_at, page[-1].pk) if more else None
    return {"items": page, "next": next_cursor}
