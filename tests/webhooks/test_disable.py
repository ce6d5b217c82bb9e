"""Persistent failure: a receiver that answers 500 for three days gets every retry (1, 2, 4 …
minutes apart, at most 12 hours), then the subscription is disabled and every admin — only
admins — gets a notice by mail. Its undelivered message waits and nothing new is written for
it; enabled again, the message goes out with the webhook-id of its first attempt."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from sokyaku.core import clock, roles
from sokyaku.core import services as core_services
from sokyaku.webhooks.models import Delivery, DeliveryStatus, Subscription
from sokyaku.webhooks.services.sending import webhooks_tick
from sokyaku.webhooks.services.subscriptions import subscription_update
from tests.handoff.factories import transactional_sender
from tests.sequences.factories import contact_make
from tests.webhooks.conftest import band_changed, subscribe

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 6, 1, 1, 0, tzinfo=UTC)


def test_a_webhook_failing_for_three_days_is_disabled_and_the_admins_are_told(
    receiver, smtp_server, django_capture_on_commit_callbacks
):  # type: ignore[no-untyped-def]
    with clock.frozen(T0):
        # given an admin and a marketer with mail addresses, and a receiver that keeps failing
        transactional_sender()
        core_services.user_create(
            username="boss", password="x", role=roles.ADMIN, email="boss@sample.example",
            check_password=False,
        )  # fmt: skip
        core_services.user_create(
            username="mk", password="x", role=roles.MARKETER, email="mk@sample.example",
            check_password=False,
        )  # fmt: skip
        subscribe(receiver, "score.band_changed")
        contact = contact_make()
        receiver.statuses = [500] * 100
        with django_capture_on_commit_callbacks(execute=True):
            band_changed(contact.pk, "warm")
        # when the worker's tick runs twice a day for a week
        for _half_day in range(14):
            clock.advance(timedelta(hours=12, minutes=1))
            with django_capture_on_commit_callbacks(execute=True):
                webhooks_tick()
        disabled_at = clock.now()

    # then the subscription is disabled, saying why
    subscription = Subscription.objects.get()
    assert not subscription.is_active
    assert subscription.disabled_reason
    # after every attempt of three days failed, with one webhook-id; then none was made
    delivery = Delivery.objects.get()
    log = list(delivery.attempt_log.order_by("started_at"))
    assert len(receiver.requests) == len(log) == delivery.attempts
    assert {r.header("webhook-id") for r in receiver.requests} == {delivery.webhook_id}
    assert not any(a.succeeded for a in log)
    assert log[-1].started_at - log[0].started_at >= timedelta(hours=72)
    assert subscription.disabled_at == log[-1].started_at
    assert subscription.disabled_at < disabled_at - timedelta(days=3)
    # and the message waits
    assert delivery.status == DeliveryStatus.PENDING
    # and the admin, and only the admin, was told by mail
    mails = smtp_server.wait_for(1)
    assert [str(m["To"]) for m in mails] == ["boss@sample.example"]
    assert receiver.url in str(mails[0]["Subject"])
    assert f"/webhooks/{subscription.pk}/" in mails[0].get_body(("plain",)).get_content()

    with clock.frozen(disabled_at + timedelta(hours=1)):
        # when the contact turns hot while the webhook is off
        receiver.statuses = []
        with django_capture_on_commit_callbacks(execute=True):
            band_changed(contact.pk, "hot")
        # then nothing is written for it
        assert Delivery.objects.count() == 1
        # when an admin enables it again
        before = len(receiver.requests)
        with django_capture_on_commit_callbacks(execute=True):
            subscription_update(subscription=subscription, is_active=True, actor=None)
    # then the waiting message goes through with the webhook-id of its first attempt
    assert len(receiver.requests) == before + 1
    assert receiver.requests[-1].header("webhook-id") == delivery.webhook_id
    assert json.loads(receiver.requests[-1].body)["data"]["to"] == "warm"
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.DELIVERED
    assert Subscription.objects.get().failing_since is None
