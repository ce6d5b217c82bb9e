"""``POST /api/v1/events``: one event or a list of up to ``EVENT_BATCH_MAX``, all or nothing."""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from ninja import Router
from pydantic import TypeAdapter
from pydantic import ValidationError as PydanticValidationError

from sokyaku.activity import services
from sokyaku.activity.events import NewEvent, event_build
from sokyaku.activity.schemas import EventIn, StoredOut
from sokyaku.contacts import selectors as contact_selectors
from sokyaku.contacts import services as contact_services
from sokyaku.core import clock
from sokyaku.core.apikeys import scope_require
from sokyaku.core.errors import NotFound, SokyakuError, ValidationError
from sokyaku.core.models import ApiScope
from sokyaku.core.schemas import ERRORS

router = Router(tags=["events"])



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


def _item_error(index: int | None, loc: list[Any], msg: str, kind: str) -> dict[str, Any]:
    prefix: list[Any] = ["body"] if index is None else ["body", index]
    return {"loc": [*prefix, *loc], "msg": msg, "type": kind}


def _parse(request: HttpRequest) -> tuple[list[EventIn], bool]:
    try:
        body = json.loads(request.body or b"null")
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ValidationError("The body is not valid JSON.") from exc
    single = isinstance(body, dict)
    items = [body] if single else body
    if not isinstance(items, list) or not items:
        raise ValidationError("Send one event object or a non-empty list of events.")
    if len(items) > settings.EVENT_BATCH_MAX:
        raise ValidationError(
            f"At most {settings.EVENT_BATCH_MAX} events per request; got {len(items)}."
        )
    parsed: list[EventIn] = []
    for index, item in enumerate(items):
        try:
            parsed.append(EventIn.model_validate(item))
        except PydanticValidationError as exc:
            raise _BatchError(
                [
                    _item_error(None if single else index, list(e["loc"]), e["msg"], e["type"])
                    for e in exc.errors(include_url=False, include_context=False)
                ]
            ) from exc
    return parsed, single


class _BatchError(ValidationError):
    def __init__(self, errors: list[dict[str, Any]]) -> None:
        super().__init__("Invalid event.")
        self._errors = errors

    @property
    def detail(self) -> list[dict[str, Any]]:
        return self._errors


def _build(items: list[EventIn], single: bool) -> list[NewEvent]:
    """Resolve whose each event is and check it against its type; the first bad item (by index)
    rejects the whole batch."""
    now = clock.now()
    built: list[NewEvent] = []
    for index, item in enumerate(items):
        pos = None if single else index
        try:
            contact_id = _contact_for(item)
            occurred_at = item.occurred_at or now
            if timezone.is_naive(occurred_at):
                occurred_at = occurred_at.replace(tzinfo=clock.TOKYO)
            built.append(
                event_build(
                    type=item.type,
                    occurred_at=occurred_at,
                    source=item.source,
                    properties=item.properties,
                    contact_id=contact_id,
                    visitor_id=item.visitor_id or "",
                    idempotency_key=item.idempotency_key,
                )
            )
        except SokyakuError as exc:
            fields = exc.field_errors or {"event": exc.message}
            raise _BatchError(
                [_item_error(pos, [name], msg, "value_error") for name, msg in fields.items()]
            ) from exc
    return built


def _contact_for(item: EventIn) -> int | None:
    if item.contact_id is not None:
        try:
            return contact_selectors.contact_get(user=None, id=item.contact_id).pk
        except NotFound as exc:
            raise ValidationError(
                str(exc), field_errors={"contact_id": f"No contact with id {item.contact_id}."}
            ) from exc
    if item.email:
        found = contact_selectors.contact_find(email=item.email)
        if found is not None:
            return found.pk
        return contact_services.contact_upsert(
            data=contact_services.ContactInput(email=item.email), source="api"
        ).contact.pk
    return None


@router.post(
    "",
    response={200: StoredOut, **ERRORS},
    summary="Send one event or a batch of events",
    openapi_extra={
        "requestBody": {"required": True, "content": {"application/json": {"schema": _BODY_SCHEMA}}}
    },
)
def events_ingest(request: HttpRequest) -> StoredOut:
    scope_require(request, ApiScope.EVENTS_WRITE)
    items, single = _parse(request)
    # One transaction: contacts created for new emails vanish too if a later item is bad.
    with transaction.atomic():
        stored = services.event_ingest_batch(events=_build(items, single))
    return StoredOut(stored=stored)
