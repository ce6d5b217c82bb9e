"""Outgoing webhooks UI (settings → webhooks): subscriptions, their secret shown once, the
delivery log with each attempt, replay of one delivery or of a period.

Thin views: parse, call the selectors and services, render. Admins only (the ``webhooks``
permissions): a webhook sends contacts' data to another system.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from sokyaku.core.errors import Conflict, ValidationError
from sokyaku.core.http import HtmxHttpRequest, actor, domain_errors
from sokyaku.webhooks import catalogue, selectors
from sokyaku.webhooks.forms import ReplayForm, SubscriptionForm
from sokyaku.webhooks.models import DeliveryStatus, Subscription
from sokyaku.webhooks.services import replay, subscriptions
from sokyaku.webhooks.services.subscriptions import secrets_in_force

PAGE_SIZE = 50
VIEW = "webhooks.view_subscription"
ADD = "webhooks.add_subscription"
CHANGE = "webhooks.change_subscription"
DELETE = "webhooks.delete_subscription"


def _secret_page(
    request: HtmxHttpRequest, subscription: Subscription, secret: str, *, rotated: bool
) -> HttpResponse:
    response = render(
        request,
        "webhooks/secret.html",
        {"subscription": subscription, "secret": secret, "rotated": rotated},
    )
    # The secret is shown once: never kept by a browser or a proxy.
    response["Cache-Control"] = "no-store"
    return response


@require_GET
@login_required
@permission_required(VIEW, raise_exception=True)
@domain_errors
def subscription_list(request: HtmxHttpRequest) -> HttpResponse:
    rows = list(selectors.subscription_list(user=request.user))
    return render(request, "webhooks/list.html", {"rows": rows})


@require_http_methods(["GET", "POST"])
@login_required
@permission_required(ADD, raise_exception=True)
@domain_errors
def subscription_create(request: HtmxHttpRequest) -> HttpResponse:
    form = SubscriptionForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            created = subscriptions.subscription_create(
                url=form.cleaned_data["url"],
                event_types=form.cleaned_data["events"],
                description=form.cleaned_data["description"],
                actor=actor(request),
            )
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            return _secret_page(request, created.subscription, created.secret, rotated=False)
    return render(request, "webhooks/form.html", {"form": form, "subscription": None})


def _log(request: HtmxHttpRequest, subscription: Subscription) -> dict[str, Any]:
    status = request.GET.get("status") or ""
    if status not in DeliveryStatus.values:
        status = ""
    rows = selectors.delivery_list(subscription=subscription, status=status or None)
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    counts = selectors.status_counts(subscription=subscription)
    return {
        "page": page,
        "status": status,
        "statuses": [(value, label, counts[value]) for value, label in DeliveryStatus.choices],
    }


@require_http_methods(["GET", "POST"])
@login_required
@permission_required(VIEW, raise_exception=True)
@domain_errors
def subscription_detail(request: HtmxHttpRequest, subscription_id: int) -> HttpResponse:
    subscription = selectors.subscription_get(user=request.user, id=subscription_id)
    can_change = request.user.has_perm(CHANGE)
    if request.method == "POST":
        if not can_change:
            return HttpResponse(status=403)
        form = SubscriptionForm(request.POST)
        if form.is_valid():
            try:
                subscriptions.subscription_update(
                    subscription=subscription,
                    url=form.cleaned_data["url"],
                    event_types=form.cleaned_data["events"],
                    description=form.cleaned_data["description"],
                    actor=actor(request),
                )
            except ValidationError as exc:
                form.add_service_errors(exc)
                subscription.refresh_from_db()
            else:
                messages.success(request, _("Webhook saved."))
                return redirect("webhooks:detail", subscription_id=subscription.pk)
    else:
        form = SubscriptionForm(
            initial={
                "url": subscription.url,
                "description": subscription.description,
                "events": list(subscription.event_types or ()),
            }
        )
    context = {
        "subscription": subscription,
        "form": form,
        "can_change": can_change,
        "can_delete": request.user.has_perm(DELETE),
        "replay_form": ReplayForm(),
        "rotation_ends_at": _rotation_ends_at(subscription),
        **_log(request, subscription),
    }
    return render(request, "webhooks/detail.html", context)


def _rotation_ends_at(subscription: Subscription) -> Any:
    if len(secrets_in_force(subscription)) > 1:
        return subscription.previous_secret_expires_at
    return None


@require_POST
@login_required
@permission_required(CHANGE, raise_exception=True)
@domain_errors
def subscription_rotate(request: HtmxHttpRequest, subscription_id: int) -> HttpResponse:
    subscription = selectors.subscription_get(user=request.user, id=subscription_id)
    secret = subscriptions.subscription_secret_rotate(
        subscription=subscription, actor=actor(request)
    )
    return _secret_page(request, subscription, secret, rotated=True)


@require_POST
@login_required
@permission_required(CHANGE, raise_exception=True)
@domain_errors
def subscription_active(request: HtmxHttpRequest, subscription_id: int) -> HttpResponse:
    subscription = selectors.subscription_get(user=request.user, id=subscription_id)
    active = request.POST.get("active") == "1"
    if active:
        subscriptions.subscription_enable(subscription=subscription, actor=actor(request))
        messages.success(request, _("Webhook enabled: waiting messages are being sent."))
    else:
        subscriptions.subscription_disable(
            subscription=subscription, reason=_("Disabled by hand."), actor=actor(request)
        )
        messages.success(request, _("Webhook disabled: its messages wait until it is enabled."))
    return redirect("webhooks:detail", subscription_id=subscription.pk)


@require_POST
@login_required
@permission_required(DELETE, raise_exception=True)
@domain_errors
def subscription_delete(request: HtmxHttpRequest, subscription_id: int) -> HttpResponse:
    subscription = selectors.subscription_get(user=request.user, id=subscription_id)
    subscriptions.subscription_delete(subscription=subscription, actor=actor(request))
    messages.success(request, _("Webhook deleted."))
    return redirect("webhooks:list")


@require_GET
@login_required
@permission_required(VIEW, raise_exception=True)
@domain_errors
def delivery_detail(
    request: HtmxHttpRequest, subscription_id: int, delivery_id: int
) -> HttpResponse:
    subscription = selectors.subscription_get(user=request.user, id=subscription_id)
    delivery = selectors.delivery_get(subscription=subscription, id=delivery_id)
    context = {
        "subscription": subscription,
        "delivery": delivery,
        "attempts": selectors.attempt_list(delivery=delivery),
        "can_change": request.user.has_perm(CHANGE),
        "label": catalogue.BY_KEY.get(delivery.event_type),
    }
    return render(request, "webhooks/delivery.html", context)


@require_POST
@login_required
@permission_required(CHANGE, raise_exception=True)
@domain_errors
def delivery_replay(
    request: HtmxHttpRequest, subscription_id: int, delivery_id: int
) -> HttpResponse:
    subscription = selectors.subscription_get(user=request.user, id=subscription_id)
    delivery = selectors.delivery_get(subscription=subscription, id=delivery_id)
    try:
        replay.delivery_replay(delivery=delivery, actor=actor(request))
    except Conflict as exc:
        messages.error(request, _(exc.message))
    else:
        messages.success(request, _("The delivery is being sent again."))
    if request.POST.get("next") == "delivery":
        return redirect(
            "webhooks:delivery", subscription_id=subscription.pk, delivery_id=delivery.pk
        )
    return redirect("webhooks:detail", subscription_id=subscription.pk)


@require_POST
@login_required
@permission_required(CHANGE, raise_exception=True)
@domain_errors
def deliveries_replay(request: HtmxHttpRequest, subscription_id: int) -> HttpResponse:
    subscription = selectors.subscription_get(user=request.user, id=subscription_id)
    form = ReplayForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Give the start of the period to replay."))
        return redirect("webhooks:detail", subscription_id=subscription.pk)
    since, until = form.period()
    statuses = [DeliveryStatus.FAILED]
    if form.cleaned_data["include_delivered"]:
        statuses.append(DeliveryStatus.DELIVERED)
    try:
        count = replay.deliveries_replay(
            subscription=subscription,
            since=since,
            until=until,
            statuses=statuses,
            actor=actor(request),
        )
    except (Conflict, ValidationError) as exc:
        messages.error(request, _(exc.message))
    else:
        messages.success(
            request, _("%(count)d deliveries are being sent again.") % {"count": count}
        )
    return redirect("webhooks:detail", subscription_id=subscription.pk)
