"""The API's one error shape, declared on every route so the OpenAPI document lists it."""

from __future__ import annotations

from typing import Any

from ninja import Schema


class Error(Schema):
    detail: str


class ErrorItem(Schema):
    loc: list[Any]
    msg: str
    type: str


class ValidationErrorOut(Schema):
    detail: list[ErrorItem] | str


ERRORS: dict[int, type[Schema]] = {
    401: Error,
    403: Error,
    404: Error,
    409: Error,
    413: Error,
    422: ValidationErrorOut,
}
