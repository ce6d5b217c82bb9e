"""``/api/v1/orders`` and ``/api/v1/referrals``: purchases with amounts (B2C) and referrals.

- ``POST /orders`` records a shop's order (idempotent by the shop's ``external_id``: 201 when
  new, 200 with the stored order when sent again, 409 when the id is stored with another amount);
  a first purchase makes the contact a customer. The buyer is named by ``contact_id`` or
  ``email`` — an unknown email becomes a new contact (a first-time buyer).
- ``GET /contacts/{id}/orders`` lists a contact's orders.
- ``POST /contacts/{id}/referral-code`` gives the contact's referral code and link (made on
  first use).
- ``POST /referrals`` attributes a contact to the owner of a referral code;
  ``POST /referrals/{id}/reward`` moves the reward (earned, paid, void).

A key acts as the user who created it: a sales rep's key reaches only the rep's contacts.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from django.http import HttpRequest
from django.utils import timezone
from ninja import P, PathEx, Router, Schema, Status
from pydantic import BeforeValidator, ConfigDict, EmailStr, Field

from sokyaku.activity.models import EventSource
from sokyaku.contacts import selectors as contact_selectors
from sokyaku.contacts.api import ContactId
from sokyaku.contacts.models import Contact
from sokyaku.contacts.services import ContactInput, contact_upsert
from sokyaku.core import clock
from sokyaku.core.apikeys import ApiKeyAuth
from sokyaku.core.errors import NotFound, ValidationError
from sokyaku.core.models import ApiScope
from sokyaku.core.schemas import error_responses, responses_extra
from sokyaku.core.visibility import api_user, visible_owner_ids
from sokyaku.deals import selectors_aftersale as selectors
from sokyaku.deals.models import Order, Referral
from sokyaku.deals.services import orders as order_services
from sokyaku.deals.services import referrals as referral_services

router = Router(tags=["orders"])

MAX_ID = 2**63 - 1
MAX_YEN = 2**63 - 1
ReferralId = PathEx[int, P(ge=1, le=MAX_ID, description="The referral's id.")]
_ORDER_ERRORS = (401, 403, 404, 409, 413, 415, 422)
_LIST_ERRORS = (401, 403, 404, 422)
_CODE_ERRORS = (401, 403, 404, 422)
_REFERRAL_ERRORS = (401, 403, 404, 409, 413, 415, 422)
_REWARD_ERRORS = (401, 403, 404, 409, 413, 415, 422)

Yen = Annotated[int, Field(ge=0, le=MAX_YEN, strict=True)]


def _iso_datetime(value: Any) -> Any:
    """Only ISO 8601 text (or a datetime): a bare number is not an order time. A time without
    a zone is read as Asia/Tokyo, as in the event API."""
    parsed = value
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            parsed = None
    if not isinstance(parsed, datetime):
        raise ValueError("an ISO 8601 date and time, e.g. 2026-05-11T12:00:00+09:00")
    return parsed.replace(tzinfo=clock.TOKYO) if timezone.is_naive(parsed) else parsed


OrderTime = Annotated[datetime, BeforeValidator(_iso_datetime)]


class OrderLineIn(Schema):
    model_config = ConfigDict(extra="forbid")

    sku: str = Field(default="", max_length=order_services.SKU_MAX)
    name: str = Field(default="", max_length=order_services.LINE_NAME_MAX)
    quantity: Annotated[int, Field(ge=1, le=2**31 - 1, strict=True)] = 1
    unit_price: Yen


class OrderIn(Schema):
    model_config = ConfigDict(extra="forbid")

    contact_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    email: EmailStr | None = None
    external_id: str = Field(min_length=1, max_length=order_services.EXTERNAL_ID_MAX)
    ordered_at: OrderTime = Field(
        description="When the order was placed (ISO 8601; without an offset: Asia/Tokyo)."
    )
    amount: Yen = Field(description="The order's total in yen (a whole number).")
    lines: list[OrderLineIn] = Field(default_factory=list, max_length=order_services.LINES_MAX)


class OrderLineOut(Schema):
    sku: str
    name: str
    quantity: int
    unit_price: int


class OrderOut(Schema):
    id: int
    contact_id: int
    external_id: str
    ordered_at: datetime
    amount: int
    lines: list[OrderLineOut]
    created_at: datetime


class ReferralCodeOut(Schema):
    contact_id: int
    code: str
    url: str


class ReferralIn(Schema):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(min_length=1, max_length=64)
    contact_id: int = Field(ge=1, le=MAX_ID, description="The referred contact.")


class ReferralOut(Schema):
    id: int
    referrer_id: int
    referred_id: int
    code: str
    attributed_at: datetime
    reward_status: str
    reward_changed_at: datetime | None


class RewardIn(Schema):
    model_config = ConfigDict(extra="forbid")

    status: str = Field(description="pending, earned, paid or void.", max_length=10)


def _contact(request: HttpRequest, contact_id: int) -> Contact:
    """The contact, if the key's user may see it (a rep: only the contacts they own)."""
    user = api_user(request)
    contact = contact_selectors.contact_get(user=user, id=contact_id)
    owners = visible_owner_ids(user)
    if owners is not None and contact.owner_id not in owners:
        raise NotFound(f"No contact with id {contact_id}.")
    return contact


def _buyer(request: HttpRequest, payload: OrderIn) -> Contact:
    if payload.contact_id is not None:
        return _contact(request, payload.contact_id)
    if not payload.email:
        raise ValidationError(
            "Give contact_id or email.", field_errors={"contact_id": "contact_id or email"}
        )
    found = contact_selectors.contact_find(email=str(payload.email))
    if found is not None:
        return _contact(request, found.pk)
    return contact_upsert(
        data=ContactInput(email=str(payload.email)), source=EventSource.API, overwrite=False
    ).contact


@router.post(
    "/orders",
    response={201: OrderOut, 200: OrderOut, **error_responses(*_ORDER_ERRORS)},
    auth=ApiKeyAuth(ApiScope.ORDERS_WRITE, "deals.add_order"),
    operation_id="order_record",
    summary="Record a purchase (idempotent by external_id); a first purchase makes a customer",
    description=(
        "201 with the new order; 200 with the stored order when `external_id` was sent before "
        "with the same amount; 409 when it is stored with another amount or for another "
        "contact. Name the buyer by `contact_id` or `email` (an unknown email creates the "
        "contact). Amounts are whole yen."
    ),
    openapi_extra=responses_extra(_ORDER_ERRORS),
)
def order_record(request: HttpRequest, payload: OrderIn) -> Status:
    order, created = order_services.order_record(
        contact=_buyer(request, payload),
        external_id=payload.external_id,
        ordered_at=payload.ordered_at,
        amount=payload.amount,
        lines=[line.model_dump() for line in payload.lines],
        source=EventSource.API,
    )
    return Status(201 if created else 200, order)


@router.get(
    "/contacts/{contact_id}/orders",
    response={200: list[OrderOut], **error_responses(*_LIST_ERRORS)},
    auth=ApiKeyAuth(ApiScope.CONTACTS_READ, "deals.view_order"),
    operation_id="contact_orders",
    summary="A contact's orders, newest first",
    openapi_extra=responses_extra(_LIST_ERRORS),
)
def contact_orders(request: HttpRequest, contact_id: ContactId) -> list[Order]:
    contact = _contact(request, contact_id)
    return selectors.orders_of(contact_id=contact.pk)


@router.post(
    "/contacts/{contact_id}/referral-code",
    response={200: ReferralCodeOut, **error_responses(*_CODE_ERRORS)},
    auth=ApiKeyAuth(ApiScope.ORDERS_WRITE, "deals.add_referralcode"),
    operation_id="contact_referral_code",
    summary="The contact's referral code and the link to share (made on first use)",
    openapi_extra=responses_extra(_CODE_ERRORS),
)
def contact_referral_code(request: HttpRequest, contact_id: ContactId) -> dict[str, Any]:
    contact = _contact(request, contact_id)
    code = referral_services.referral_code_get_or_create(contact=contact)
    return {
        "contact_id": contact.pk,
        "code": code.code,
        "url": selectors.referral_url(code=code.code),
    }


@router.post(
    "/referrals",
    response={201: ReferralOut, 200: ReferralOut, **error_responses(*_REFERRAL_ERRORS)},
    auth=ApiKeyAuth(ApiScope.ORDERS_WRITE, "deals.add_referral"),
    operation_id="referral_attribute",
    summary="Attribute a contact to the owner of a referral code",
    description=(
        "201 with the new referral; 200 when the contact was already attributed to this "
        "referrer; 409 when someone else referred the contact; 422 for an unknown code or a "
        "self-referral."
    ),
    openapi_extra=responses_extra(_REFERRAL_ERRORS),
)
def referral_attribute(request: HttpRequest, payload: ReferralIn) -> Status:
    referred = _contact(request, payload.contact_id)
    before = selectors.referred_by(contact_id=referred.pk)
    referral = referral_services.referral_attribute(
        code=payload.code, referred=referred, source="api"
    )
    return Status(200 if before is not None else 201, referral)


@router.post(
    "/referrals/{referral_id}/reward",
    response={200: ReferralOut, **error_responses(*_REWARD_ERRORS)},
    auth=ApiKeyAuth(
        ApiScope.ORDERS_WRITE,
        "deals.view_referral",
        "contacts.view_all_contacts",
        "deals.change_referral",
    ),
    operation_id="referral_reward_set",
    summary="Move a referral's reward: earned, paid, void (or pending again after a void)",
    description="409 for a move that is not allowed (a paid reward is final).",
    openapi_extra=responses_extra(_REWARD_ERRORS),
)
def referral_reward_set(
    request: HttpRequest, referral_id: ReferralId, payload: RewardIn
) -> Referral:
    referral = selectors.referral_get(user=api_user(request), id=referral_id)
    return referral_services.referral_reward_set(
        referral=referral, status=payload.status, actor=api_user(request)
    )
