"""``POST /api/v1/events``: one event or a list of up to ``EVENT_BATCH_MAX``, all or nothing.

The body is read by hand (ninja's body binding cannot say "an object or a list of them" with
per-item error locations); its OpenAPI schema is declared explicitly below. Every item is
checked before anything is written; contacts created for new emails are written in the same
transaction as the events, so a bad item leaves no trace at all.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from ninja import Router
from ninja.errors import ValidationError as NinjaValidationError
from pydantic import TypeAdapter
from pydantic import ValidationError as PydanticValidationError

from sokyaku.activity import services
from sokyaku.activity.events import SYSTEM_TYPES, NewEvent, event_build
from sokyaku.activity.models import EventSource
from sokyaku.activity.schemas import EventIn, StoredOut
from sokyaku.contacts import selectors as contact_selectors
from sokyaku.contacts import services as contact_services
from sokyaku.contacts import touches
from sokyaku.core import clock
from sokyaku.core.apikeys import ApiKeyAuth
from sokyaku.core.errors import SokyakuError, ValidationError
from sokyaku.core.models import ApiScope
from sokyaku.core.schemas import error_item, error_responses, json_body, responses_extra
from sokyaku.core.visibility import api_user, sees_all

router = Router(tags=["events"])

# Enough to fix a whole batch in one go, without answering with megabytes of errors.
MAX_REPORTED_ERRORS = 100


def _inline_refs(schema: Any, defs: dict[str, Any]) -> Any:
    """Replace local ``$ref``s by their definitions (the body schema sits inside OpenAPI's
    document, where pydantic's ``#/$defs/...`` would not resolve)."""
    if isinstance(schema, dict):
        if "$ref" in schema:
            return _inline_refs(defs[schema["$ref"].rsplit("/", 1)[-1]], defs)
        return {k: _inline_refs(v, defs) for k, v in schema.items() if k != "$defs"}
    if isinstance(schema, list):
        return [_inline_refs(v, defs) for v in schema]
    return schema


_EVENT_JSON_SCHEMA = TypeAdapter(EventIn).json_schema()
_EVENT_SCHEMA = _inline_refs(_EVENT_JSON_SCHEMA, _EVENT_JSON_SCHEMA.get("$defs", {}))
_BODY_SCHEMA = {
    "oneOf": [
        _EVENT_SCHEMA,
        {
            "type": "array",
            "items": _EVENT_SCHEMA,
            "minItems": 1,
            "maxItems": settings.EVENT_BATCH_MAX,
        },
    ]
}
_BODY_EXAMPLES = {
    "page_view": {
        "summary": "One anonymous page view (tracking)",
        "value": {
            "type": "page_view",
            "visitor_id": "v-3f9c2a7e",
            "occurred_at": "2025-06-02T10:15:00+09:00",
            "properties": {"url": "https://example.co.jp/products/ma", "title": "製品紹介"},
        },
    },
    "batch": {
        "summary": "A batch about a known person, safe to retry",
        "value": [
            {
                "type": "asset_downloaded",
                "email": "taro.yamada@example.co.jp",
                "properties": {"asset": "MA導入ガイド.pdf"},
                "idempotency_key": "crm-export-2025-06-02-0001",
            },
            {
                "type": "webinar_attended",
                "email": "taro.yamada@example.co.jp",
                "properties": {"webinar": "6月製品ウェビナー", "minutes": 45},
                "idempotency_key": "crm-export-2025-06-02-0002",
            },
        ],
    },
}
_ERRORS = (401, 403, 413, 415, 422)


def _loc(index: int | None, path: Iterable[str | int]) -> list[str | int]:
    return ["body", *([] if index is None else [index]), *path]


def _parse(request: HttpRequest) -> tuple[list[EventIn], bool]:
    """The events of the body and whether it was a single object; raises a 422 listing every
    bad item (by index) when any item does not have the shape of an event."""
    body = json_body(request)
    single = isinstance(body, dict)
    items = [body] if single else body
    if not isinstance(items, list) or not items:
        raise NinjaValidationError(
            [error_item(["body"], "Send one event object or a non-empty list of events.")]
        )
    if len(items) > settings.EVENT_BATCH_MAX:
        raise NinjaValidationError(
            [
                error_item(
                    ["body"],
                    f"At most {settings.EVENT_BATCH_MAX} events per request; got {len(items)}.",
                    "too_long",
                )
            ]
        )
    parsed: list[EventIn] = []
    errors: list[dict[str, Any]] = []
    for index, item in enumerate(items):
        try:
            parsed.append(EventIn.model_validate(item))
        except PydanticValidationError as exc:
            errors += [
                error_item(_loc(None if single else index, e["loc"]), e["msg"], e["type"])
                for e in exc.errors(include_url=False, include_context=False)
            ]
    if errors:
        raise NinjaValidationError(errors[:MAX_REPORTED_ERRORS])
    return parsed, single


class _Resolver:
    """Whose each event is: ``contact_id`` (a merged-away id follows the merge), else ``email``
    (a new address creates the contact), else nobody yet (``visitor_id``). The known ids and
    emails of a whole batch are looked up in two queries (three for a sales rep's key: which
    of them the rep sees)."""

    def __init__(self, items: list[EventIn], *, user: User | None) -> None:
        self._ids = contact_selectors.contact_live_ids(
            ids={i.contact_id for i in items if i.contact_id is not None}
        )
        self._emails = contact_selectors.contact_ids_by_email(
            emails={i.email for i in items if i.contact_id is None and i.email}
        )
        self._owner_id = None if sees_all(user) or user is None else user.pk
        self._hidden: set[str] = set()
        if self._owner_id is not None:
            visible = contact_selectors.contact_ids_visible(
                user=user, ids={*self._ids.values(), *self._emails.values()}
            )
            self._ids = {k: v for k, v in self._ids.items() if v in visible}
            self._hidden = {k for k, v in self._emails.items() if v not in visible}

    def contact_for(self, item: EventIn) -> int | None:
        if item.contact_id is not None:
            if item.contact_id not in self._ids:
                raise ValidationError(
                    f"No contact with id {item.contact_id}.",
                    field_errors={"contact_id": f"No contact with id {item.contact_id}."},
                )
            return self._ids[item.contact_id]
        if item.email:
            if item.email in self._hidden:
                raise ValidationError(
                    "This email address belongs to a contact you do not see.",
                    field_errors={"email": "This address belongs to a contact you do not see."},
                )
            if item.email not in self._emails:
                self._emails[item.email] = contact_services.contact_upsert(
                    data=contact_services.ContactInput(email=item.email, owner_id=self._owner_id),
                    source=EventSource.API,
                ).contact.pk
            return self._emails[item.email]
        return None


def _build(items: list[EventIn], single: bool, *, user: User | None) -> list[NewEvent]:
    """Resolve whose each event is and check it against its type; raises a 422 listing every
    bad item. Call inside a transaction: contacts created on the way must go if it fails."""
    now = clock.now()
    resolver = _Resolver(items, user=user)
    built: list[NewEvent] = []
    errors: list[dict[str, Any]] = []
    for index, item in enumerate(items):
        try:
            if item.type in SYSTEM_TYPES:
                raise ValidationError(
                    f"{item.type} events are recorded by sokyaku itself.",
                    field_errors={"type": f"{item.type} cannot be sent through the API."},
                )
            occurred_at = item.occurred_at or now
            if timezone.is_naive(occurred_at):
                occurred_at = occurred_at.replace(tzinfo=clock.TOKYO)
            built.append(
                event_build(
                    type=item.type,
                    occurred_at=occurred_at,
                    source=item.source,
                    properties=item.properties,
                    contact_id=resolver.contact_for(item),
                    visitor_id=item.visitor_id or "",
                    idempotency_key=item.idempotency_key,
                )
            )
        except SokyakuError as exc:
            fields = exc.field_errors or {"event": exc.message}
            errors += [
                error_item(_loc(None if single else index, name.split(".")), msg)
                for name, msg in fields.items()
            ]
    if errors:
        raise NinjaValidationError(errors[:MAX_REPORTED_ERRORS])
    return built


@router.post(
    "",
    response={200: StoredOut, **error_responses(*_ERRORS)},
    auth=ApiKeyAuth(ApiScope.EVENTS_WRITE, "activity.add_event"),
    operation_id="events_ingest",
    summary="Send one event or a batch of events",
    description=(
        f"Send one event object or a list of up to {settings.EVENT_BATCH_MAX}. The batch is "
        "stored whole or not at all: any bad item answers 422 with its index in `loc` and "
        "nothing is stored. Events whose `idempotency_key` was stored before are skipped, so "
        "a retried request stores nothing twice; `stored` counts the events actually stored. "
        "Needs the `events:write` scope."
    ),
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": _BODY_SCHEMA, "examples": _BODY_EXAMPLES}},
        },
        **responses_extra(_ERRORS),
    },
)
def events_ingest(request: HttpRequest) -> StoredOut:
    items, single = _parse(request)
    # One transaction: contacts created for new emails vanish too if a later item is bad.
    with transaction.atomic():
        built = _build(items, single, user=api_user(request))
        stored = services.event_ingest_batch(events=built)
        # An event that names both the person and the browser identifies that browser.
        for visitor_id, contact_id in {(e.visitor_id, e.contact_id) for e in built}:
            if visitor_id and contact_id is not None:
                touches.visitor_stitch(visitor_id=visitor_id, contact_id=contact_id)
    return StoredOut(stored=stored)
