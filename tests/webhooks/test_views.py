"""The webhooks settings pages: an admin creates a webhook and sees its secret once, edits its
events, rotates the secret, disables it, reads the delivery log with each attempt and replays a
delivery or a period. Marketers and reps do not reach them."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from django.test import Client
from django.urls import reverse

from sokyaku.core import clock
from sokyaku.webhooks.models import Delivery, DeliveryStatus, Subscription
from tests.sequences.factories import contact_make
from tests.webhooks.conftest import band_changed, subscribe

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 6, 1, 1, 0, tzinfo=UTC)


@pytest.fixture
def admin(client: Client, admin_user) -> Client:  # type: ignore[no-untyped-def]
    client.force_login(admin_user)
    return client


def test_an_admin_creates_a_webhook_and_sees_its_secret_once(admin, receiver, english):  # type: ignore[no-untyped-def]
    # when the admin fills in the form
    response = admin.post(
        reverse("webhooks:create"),
        {
            "url": receiver.url + "/crm",
            "description": "CRM",
            "events": ["handoff.created", "deal.won"],
        },
    )
    # then the answer shows the secret, not to be cached
    subscription = Subscription.objects.get()
    assert response.status_code == 200
    assert subscription.secret in response.content.decode()
    assert "not shown again" in response.content.decode()
    assert response["Cache-Control"] == "no-store"
    assert subscription.event_types == ["handoff.created", "deal.won"]
    # and neither the list nor the webhook's page shows it again
    listing = admin.get(reverse("webhooks:list")).content.decode()
    page = admin.get(reverse("webhooks:detail", args=[subscription.pk])).content.decode()
    assert receiver.url + "/crm" in listing and receiver.url + "/crm" in page
    assert subscription.secret not in listing and subscription.secret not in page


def test_the_form_refuses_a_private_address_and_no_events(admin, english, settings):  # type: ignore[no-untyped-def]
    settings.WEBHOOKS_ALLOW_PRIVATE = False
    private = admin.post(
        reverse("webhooks:create"), {"url": "https://192.168.1.10/hook", "events": ["deal.won"]}
    )
    assert "This URL points to a private or local address." in private.content.decode()
    plain = admin.post(
        reverse("webhooks:create"), {"url": "http://crm.example.com/hook", "events": ["deal.won"]}
    )
    assert "Only https:// URLs are allowed." in plain.content.decode()
    nothing = admin.post(reverse("webhooks:create"), {"url": "https://crm.example.com/hook"})
    assert "Choose at least one event." in nothing.content.decode()
    assert not Subscription.objects.exists()


def test_editing_events_rotating_and_disabling(admin, receiver, english):  # type: ignore[no-untyped-def]
    hook = subscribe(receiver, "deal.won")
    url = reverse("webhooks:detail", args=[hook.subscription.pk])
    # the admin adds an event
    response = admin.post(
        url, {"url": hook.subscription.url, "events": ["deal.won", "order.created"]}
    )
    assert response.status_code == 302
    assert Subscription.objects.get().event_types == ["deal.won", "order.created"]
    # rotates the secret: the new one is shown once, the old one no longer current
    rotated = admin.post(reverse("webhooks:rotate", args=[hook.subscription.pk]))
    subscription = Subscription.objects.get()
    assert subscription.secret != hook.secret
    assert subscription.secret in rotated.content.decode()
    assert "the previous secret signs too" in rotated.content.decode()
    # and disables it
    admin.post(reverse("webhooks:active", args=[hook.subscription.pk]), {"active": "0"})
    assert not Subscription.objects.get().is_active
    assert "This webhook is disabled" in admin.get(url).content.decode()


def test_the_delivery_log_shows_each_attempt_and_replays(
    admin, receiver, english, django_capture_on_commit_callbacks
):  # type: ignore[no-untyped-def]
    with clock.frozen(T0):
        # given a delivery the receiver refused once, then accepted
        hook = subscribe(receiver, "score.band_changed")
        contact = contact_make()
        receiver.statuses = [503]
        with django_capture_on_commit_callbacks(execute=True):
            band_changed(contact.pk, "warm")
        clock.advance(timedelta(minutes=1))
        with django_capture_on_commit_callbacks(execute=True):
            from sokyaku.webhooks.services.sending import webhooks_tick

            webhooks_tick()
        delivery = Delivery.objects.get()
        # when the admin opens the log and the delivery
        log = admin.get(reverse("webhooks:detail", args=[hook.subscription.pk])).content.decode()
        page = admin.get(
            reverse("webhooks:delivery", args=[hook.subscription.pk, delivery.pk])
        ).content.decode()
        # then they see it delivered, with both attempts, their status and the answer
        assert "score.band_changed" in log and "Delivered" in log
        assert "HTTP 503" in page and "HTTP 200" in page
        assert delivery.webhook_id in page
        assert "webhook-signature" in page
        assert "{&quot;ok&quot;: true}" in page
        # when they replay it
        with django_capture_on_commit_callbacks(execute=True):
            response = admin.post(
                reverse("webhooks:delivery_replay", args=[hook.subscription.pk, delivery.pk])
            )
        assert response.status_code == 302
        # then the receiver gets it again with the same webhook-id and body
        assert [r.header("webhook-id") for r in receiver.requests] == [delivery.webhook_id] * 3
        assert json.loads(receiver.requests[-1].body) == json.loads(receiver.requests[0].body)
        # and a period replay of failed ones finds none
        with django_capture_on_commit_callbacks(execute=True):
            admin.post(
                reverse("webhooks:replay", args=[hook.subscription.pk]),
                {"since": "2026-06-01T00:00"},
            )
        assert len(receiver.requests) == 3
    assert Delivery.objects.get().status == DeliveryStatus.DELIVERED


@pytest.mark.parametrize("role", ["marketer", "sales_rep"])
def test_marketers_and_reps_do_not_reach_the_webhook_pages(client, role, request, receiver):  # type: ignore[no-untyped-def]
    hook = subscribe(receiver, "deal.won")
    client.force_login(request.getfixturevalue(role))
    for url in (
        reverse("webhooks:list"),
        reverse("webhooks:create"),
        reverse("webhooks:detail", args=[hook.subscription.pk]),
    ):
        assert client.get(url).status_code == 403
    assert client.post(reverse("webhooks:delete", args=[hook.subscription.pk])).status_code == 403
    assert Subscription.objects.exists()
