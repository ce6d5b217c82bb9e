"""``/api/v1/webhooks``: outgoing webhook subscriptions, their delivery log and replays.

Every operation needs the ``webhooks:manage`` scope and a key whose user manages webhooks
(admins; a system key acts for the installation). The secret is in the answer of the create and
rotate operations only.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import P, PathEx, Query, Router, Status

from sokyaku.core import clock
from sokyaku.core.apikeys import ApiKeyAuth
from sokyaku.core.models import ApiScope
from sokyaku.core.schemas import error_responses, paged, responses_extra
from sokyaku.core.visibility import api_user
from sokyaku.webhooks import catalogue, selectors
from sokyaku.webhooks.models import Delivery, Subscription
from sokyaku.webhooks.schemas import (
    DeliveryDetailOut,
    DeliveryOut,
    DeliveryPage,
    DeliveryParams,
    EventTypeOut,
    ReplayIn,
    ReplayOut,
    SecretOut,
    SubscriptionCreated,
    SubscriptionIn,
    SubscriptionOut,
    SubscriptionPatch,
)
from sokyaku.webhooks.services import replay, subscriptions

router = Router(tags=["webhooks"])

WebhookId = PathEx[int, P(ge=1, le=2**63 - 1, description="The webhook's id.")]
DeliveryId = PathEx[int, P(ge=1, le=2**63 - 1, description="The delivery's id.")]

VIEW = "webhooks.view_subscription"
CHANGE = "webhooks.change_subscription"
DELETE = "webhooks.delete_subscription"

_LIST_ERRORS = (401, 403)
_GET_ERRORS = (401, 403, 404, 422)
_WRITE_ERRORS = (401, 403, 413, 415, 422)
_CHANGE_ERRORS = (401, 403, 404, 413, 415, 422)
_REPLAY_ERRORS = (401, 403, 404, 409, 413, 415, 422)
_REPLAY_ONE_ERRORS = (401, 403, 404, 409, 422)


def _read(scope_perm: str) -> ApiKeyAuth:
    return ApiKeyAuth(ApiScope.WEBHOOKS_MANAGE, scope_perm)


def _out(subscription: Subscription) -> dict[str, Any]:
    expires = subscription.previous_secret_expires_at
    return {
        "id": subscription.pk,
        "url": subscription.url,
        "events": list(subscription.event_types or ()),
        "description": subscription.description,
        "is_active": subscription.is_active,
        "disabled_at": subscription.disabled_at,
        "disabled_reason": subscription.disabled_reason,
        "failing_since": subscription.failing_since,
        "rotation_ends_at": expires if expires and expires > clock.now() else None,
        "created_at": subscription.created_at,
        "updated_at": subscription.updated_at,
    }


def _delivery(delivery: Delivery) -> dict[str, Any]:
    return {
        "id": delivery.pk,
        "webhook_id": delivery.webhook_id,
        "event_type": delivery.event_type,
        "status": delivery.status,
        "attempts": delivery.attempts,
        "next_attempt_at": delivery.next_attempt_at,
        "last_error": delivery.last_error,
        "ordering_key": delivery.ordering_key,
        "created_at": delivery.created_at,
        "delivered_at": delivery.delivered_at,
        "failed_at": delivery.failed_at,
        "replayed_at": delivery.replayed_at,
    }


def _delivery_detail(delivery: Delivery) -> dict[str, Any]:
    return {
        **_delivery(delivery),
        "body": delivery.body,
        "attempt_log": [
            {
                "number": a.number,
                "started_at": a.started_at,
                "duration_ms": a.duration_ms,
                "url": a.url,
                "request_headers": {str(k): str(v) for k, v in (a.request_headers or {}).items()},
                "response_status": a.response_status,
                "response_body": a.response_body,
                "error": a.error,
                "succeeded": a.succeeded,
            }
            for a in selectors.attempt_list(delivery=delivery)
        ],
    }


@router.get(
    "/webhooks/event-types",
    response={200: list[EventTypeOut], **error_responses(*_LIST_ERRORS)},
    auth=_read(VIEW),
    operation_id="webhook_event_types",
    summary="The event types a webhook can receive",
    openapi_extra=responses_extra(_LIST_ERRORS),
)
def webhook_event_types(request: HttpRequest) -> list[dict[str, str]]:
    return [{"type": t.key, "label": str(t.label), "group": str(t.group)} for t in catalogue.TYPES]


@router.post(
    "/webhooks",
    response={201: SubscriptionCreated, **error_responses(*_WRITE_ERRORS)},
    auth=_read(CHANGE),
    operation_id="webhook_create",
    summary="Subscribe a URL to event types; the answer holds its signing secret, shown once",
    description=(
        "The URL must be https:// to a public address (private and loopback addresses and "
        "http:// only where the operator allows them). Requests are signed as Standard Webhooks "
        "(`webhook-id`, `webhook-timestamp`, `webhook-signature`) with the `secret` of this "
        "answer, which is not shown again (rotate it to get a new one)."
    ),
    openapi_extra=responses_extra(_WRITE_ERRORS),
)
def webhook_create(request: HttpRequest, payload: SubscriptionIn) -> Status[dict[str, Any]]:
    created = subscriptions.subscription_create(
        url=payload.url,
        event_types=payload.events,
        description=payload.description,
        actor=api_user(request),
    )
    return Status(201, {**_out(created.subscription), "secret": created.secret})


@router.get(
    "/webhooks",
    response={200: list[SubscriptionOut], **error_responses(*_LIST_ERRORS)},
    auth=_read(VIEW),
    operation_id="webhook_list",
    summary="Every webhook subscription, newest first (without secrets)",
    openapi_extra=responses_extra(_LIST_ERRORS),
)
def webhook_list(request: HttpRequest) -> list[dict[str, Any]]:
    return [_out(s) for s in selectors.subscription_list(user=api_user(request))]


@router.get(
    "/webhooks/{webhook_id}",
    response={200: SubscriptionOut, **error_responses(*_GET_ERRORS)},
    auth=_read(VIEW),
    operation_id="webhook_get",
    summary="One webhook subscription (without its secret)",
    openapi_extra=responses_extra(_GET_ERRORS),
)
def webhook_get(request: HttpRequest, webhook_id: WebhookId) -> dict[str, Any]:
    return _out(selectors.subscription_get(user=api_user(request), id=webhook_id))


@router.patch(
    "/webhooks/{webhook_id}",
    response={200: SubscriptionOut, **error_responses(*_CHANGE_ERRORS)},
    auth=_read(CHANGE),
    operation_id="webhook_update",
    summary="Change the URL, events or description; disable or enable it (`is_active`)",
    description=(
        "Disabling holds its undelivered messages; enabling sends them and starts its failure "
        "count afresh."
    ),
    openapi_extra=responses_extra(_CHANGE_ERRORS),
)
def webhook_update(
    request: HttpRequest, webhook_id: WebhookId, payload: SubscriptionPatch
) -> dict[str, Any]:
    user = api_user(request)
    subscription = selectors.subscription_get(user=user, id=webhook_id)
    subscriptions.subscription_update(
        subscription=subscription,
        url=payload.url,
        event_types=payload.events,
        description=payload.description,
        is_active=payload.is_active,
        actor=user,
    )
    return _out(selectors.subscription_get(user=user, id=webhook_id))


@router.delete(
    "/webhooks/{webhook_id}",
    response={204: None, **error_responses(*_GET_ERRORS)},
    auth=_read(DELETE),
    operation_id="webhook_delete",
    summary="Delete a webhook subscription with its delivery log",
    openapi_extra=responses_extra(_GET_ERRORS),
)
def webhook_delete(request: HttpRequest, webhook_id: WebhookId) -> Status[None]:
    user = api_user(request)
    subscription = selectors.subscription_get(user=user, id=webhook_id)
    subscriptions.subscription_delete(subscription=subscription, actor=user)
    return Status(204, None)


@router.post(
    "/webhooks/{webhook_id}/rotate-secret",
    response={200: SecretOut, **error_responses(*_GET_ERRORS)},
    auth=_read(CHANGE),
    operation_id="webhook_rotate_secret",
    summary="A new signing secret (shown once); the old one signs beside it for a grace period",
    description=(
        "Until `previous_secret_expires_at` every request carries two signatures in "
        "`webhook-signature` (the new secret's first), so the receiver may switch at any moment."
    ),
    openapi_extra=responses_extra(_GET_ERRORS),
)
def webhook_rotate_secret(request: HttpRequest, webhook_id: WebhookId) -> dict[str, Any]:
    user = api_user(request)
    subscription = selectors.subscription_get(user=user, id=webhook_id)
    secret = subscriptions.subscription_secret_rotate(subscription=subscription, actor=user)
    return {"secret": secret, "previous_secret_expires_at": subscription.previous_secret_expires_at}


@router.get(
    "/webhooks/{webhook_id}/deliveries",
    response={200: DeliveryPage, **error_responses(*_GET_ERRORS)},
    auth=_read(VIEW),
    operation_id="webhook_delivery_list",
    summary="The delivery log: the webhook's deliveries, newest first",
    description="Filter with `status` and `event_type`; paged with `page` and `page_size`.",
    openapi_extra=responses_extra(_GET_ERRORS),
)
def webhook_delivery_list(
    request: HttpRequest, webhook_id: WebhookId, params: Query[DeliveryParams]
) -> dict[str, Any]:
    subscription = selectors.subscription_get(user=api_user(request), id=webhook_id)
    rows = selectors.delivery_list(
        subscription=subscription, status=params.status, event_type=params.event_type
    )
    page = paged(rows, page=params.page, page_size=params.page_size)
    page["items"] = [_delivery(d) for d in page["items"]]
    return page


@router.get(
    "/webhooks/{webhook_id}/deliveries/{delivery_id}",
    response={200: DeliveryDetailOut, **error_responses(*_GET_ERRORS)},
    auth=_read(VIEW),
    operation_id="webhook_delivery_get",
    summary="One delivery with its body and every attempt (request headers, status, answer, time)",
    openapi_extra=responses_extra(_GET_ERRORS),
)
def webhook_delivery_get(
    request: HttpRequest, webhook_id: WebhookId, delivery_id: DeliveryId
) -> dict[str, Any]:
    subscription = selectors.subscription_get(user=api_user(request), id=webhook_id)
    return _delivery_detail(selectors.delivery_get(subscription=subscription, id=delivery_id))


@router.post(
    "/webhooks/{webhook_id}/deliveries/{delivery_id}/replay",
    response={200: DeliveryOut, **error_responses(*_REPLAY_ONE_ERRORS)},
    auth=_read(CHANGE),
    operation_id="webhook_delivery_replay",
    summary="Send one delivery again, with the same webhook-id and body",
    description="409 when the webhook is disabled or the delivery is being sent.",
    openapi_extra=responses_extra(_REPLAY_ONE_ERRORS),
)
def webhook_delivery_replay(
    request: HttpRequest, webhook_id: WebhookId, delivery_id: DeliveryId
) -> dict[str, Any]:
    user = api_user(request)
    subscription = selectors.subscription_get(user=user, id=webhook_id)
    delivery = selectors.delivery_get(subscription=subscription, id=delivery_id)
    return _delivery(replay.delivery_replay(delivery=delivery, actor=user))


@router.post(
    "/webhooks/{webhook_id}/replay",
    response={200: ReplayOut, **error_responses(*_REPLAY_ERRORS)},
    auth=_read(CHANGE),
    operation_id="webhook_replay",
    summary="Send again the deliveries of a period (failed ones by default), at most 1000",
    description="409 when the webhook is disabled.",
    openapi_extra=responses_extra(_REPLAY_ERRORS),
)
def webhook_replay(
    request: HttpRequest, webhook_id: WebhookId, payload: ReplayIn
) -> dict[str, int]:
    user = api_user(request)
    subscription = selectors.subscription_get(user=user, id=webhook_id)
    count = replay.deliveries_replay(
        subscription=subscription,
        since=payload.since,
        until=payload.until,
        statuses=list(payload.status),
        actor=user,
    )
    return {"replayed": count}
