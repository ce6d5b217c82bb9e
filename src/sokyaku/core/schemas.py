"""The API's wire format: how request bodies are read, and the one error shape.

Every error the API answers is ``{"detail": ...}``: a message for most statuses, a list of
``{"loc", "msg", "type"}`` items for 422 (``loc`` starts with where the bad value was sent:
``body``, ``query`` or ``path``; in an event batch the next element is the item's index).

Bodies are JSON only (``application/json`` or a ``+json`` type, else 415). Text that no database
can store is rejected here with a 422 instead of failing deep in the ORM: NUL characters (which
PostgreSQL refuses in text and JSON), lone surrogates, ``NaN``/``Infinity`` and nesting deeper
than ``MAX_JSON_DEPTH``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.datastructures import MultiValueDict
from ninja import Schema
from ninja.errors import HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.parser import Parser

MAX_JSON_DEPTH = 32


class Error(Schema):
    detail: str


class ErrorItem(Schema):
    loc: list[str | int]
    msg: str
    type: str


class ValidationErrorOut(Schema):
    detail: list[ErrorItem] | str


_DESCRIPTIONS = {
    401: "Missing, unknown or revoked API key.",
    403: "The API key lacks the scope this operation needs.",
    404: "Nothing with this id (a contact, for the contact routes).",
    409: "The change would make two contacts the same person.",
    413: "The request body is larger than the limit.",
    415: "The body is not JSON.",
    422: "Invalid input: `detail` lists each bad value with its location.",
    429: "The API key's rate limit is reached: try again after `Retry-After` seconds.",
}


def _with_rate_limit(statuses: Iterable[int]) -> list[int]:
    """Every operation that takes an API key (it may answer 401) may also answer 429."""
    listed = list(statuses)
    return [*listed, 429] if 401 in listed and 429 not in listed else listed


def error_responses(*statuses: int) -> dict[int, type[Schema]]:
    """The error responses to declare on an operation, so the OpenAPI document lists them."""
    return {
        status: ValidationErrorOut if status == 422 else Error
        for status in _with_rate_limit(statuses)
    }


def responses_extra(
    statuses: Iterable[int], *, links: Mapping[int, Mapping[str, Any]] | None = None
) -> dict[str, Any]:
    """``openapi_extra`` that gives each declared error response a meaningful description, and
    adds OpenAPI ``links`` (what a client can call next with this answer) to success statuses."""
    # Integer keys: ninja's own response keys are integers, and the two are merged.
    responses: dict[int, dict[str, Any]] = {
        s: {"description": _DESCRIPTIONS[s]} for s in _with_rate_limit(statuses)
    }
    for status, status_links in (links or {}).items():
        responses.setdefault(status, {})["links"] = dict(status_links)
    return {"responses": responses}


def error_item(loc: Iterable[str | int], msg: str, kind: str = "value_error") -> dict[str, Any]:
    return {"loc": list(loc), "msg": msg, "type": kind}


class UnsupportedMediaType(HttpError):
    def __init__(self) -> None:
        super().__init__(415, "Send the body as JSON (Content-Type: application/json).")


def _is_json(content_type: str) -> bool:
    return content_type == "application/json" or (
        content_type.startswith("application/") and content_type.endswith("+json")
    )


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _finite_float(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise ValueError(f"{text} is out of range")
    return value


def _text_problem(value: str) -> str | None:
    if "\x00" in value:
        return "Text may not contain NUL (\\u0000) characters."
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "Text may not contain unpaired surrogates."
    return None


def _check_tree(data: Any, root: tuple[str | int, ...]) -> None:
    """Raise a 422 for the first value in ``data`` that cannot be stored (iterative: no
    recursion limit to hit on hostile input)."""
    stack: list[tuple[Any, tuple[str | int, ...]]] = [(data, root)]
    while stack:
        value, loc = stack.pop()
        if len(loc) - len(root) > MAX_JSON_DEPTH:
            raise NinjaValidationError(
                [error_item(loc, f"Nested deeper than {MAX_JSON_DEPTH} levels.", "too_deep")]
            )
        if isinstance(value, str):
            problem = _text_problem(value)
            if problem:
                raise NinjaValidationError([error_item(loc, problem, "string_unstorable")])
        elif isinstance(value, dict):
            for key, item in value.items():
                problem = _text_problem(key)
                if problem:
                    raise NinjaValidationError([error_item(loc, problem, "string_unstorable")])
                stack.append((item, (*loc, key)))
        elif isinstance(value, list):
            stack.extend((item, (*loc, index)) for index, item in enumerate(value))


def json_body(request: HttpRequest) -> Any:
    """The request body decoded as JSON; ``None`` when there is none.

    Raises ``UnsupportedMediaType`` (415) for a body that is not declared as JSON and ninja's
    ``ValidationError`` (422) for malformed JSON or values that cannot be stored.
    """
    if not request.body:
        return None
    if not _is_json(request.content_type or ""):
        raise UnsupportedMediaType()
    try:
        data = json.loads(request.body, parse_constant=_reject_constant, parse_float=_finite_float)
    except (ValueError, RecursionError) as exc:
        # ValueError covers JSONDecodeError, bad UTF-8 and integers past Python's digit limit.
        raise NinjaValidationError(
            [error_item(["body"], f"The body is not valid JSON: {exc}", "json_invalid")]
        ) from exc
    _check_tree(data, ("body",))
    return data


class JsonParser(Parser):
    """ninja's parser with the checks of ``json_body`` on bodies and query strings."""

    def parse_body(self, request: HttpRequest) -> Any:
        return json_body(request)

    def parse_querydict(
        self, data: MultiValueDict[str, Any], list_fields: list[str], request: HttpRequest
    ) -> dict[str, Any]:
        for key, values in data.lists():
            for value in [key, *values]:
                problem = _text_problem(value) if isinstance(value, str) else None
                if problem:
                    raise NinjaValidationError(
                        [error_item(["query", key], problem, "string_unstorable")]
                    )
        return super().parse_querydict(data, list_fields, request)


def errors_located(errors: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """ninja's validation errors in our shape: ``{"loc", "msg", "type"}`` only, and the body
    parameter's name dropped from ``loc`` (``["body", "payload", "email"]`` → ``["body",
    "email"]``), since a client never sees that name."""
    result = []
    for error in errors:
        loc = [part if isinstance(part, int) else str(part) for part in error.get("loc", ())]
        if len(loc) >= 2 and loc[0] == "body" and loc[1] == "payload":
            del loc[1]
        result.append(error_item(loc, str(error.get("msg", "")), str(error.get("type", ""))))
    return result


def paged(
    rows: QuerySet[Any],
    *,
    page: int,
    page_size: int,
    prepare: Callable[[list[Any]], list[Any]] | None = None,
) -> dict[str, Any]:
    """One page of ``rows`` as every list endpoint answers it: ``items``, ``count``, ``page`` and
    ``pages``. The items are model rows (ninja validates them against the response schema once);
    ``prepare`` may load what they need for the page (e.g. a related text per row)."""
    count = rows.count()
    start = (page - 1) * page_size
    items = list(rows[start : start + page_size]) if start < count else []
    return {
        "items": prepare(items) if prepare and items else items,
        "count": count,
        "page": page,
        "pages": max(1, math.ceil(count / page_size)),
    }
