"""Sending: order per contact while a delivery is retried, the SSRF guard at the moment of
sending, and signatures during a secret rotation — against a real receiver on 127.0.0.1."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from sokyaku.core import clock
from sokyaku.webhooks.models import Delivery, DeliveryStatus
from sokyaku.webhooks.services.sending import webhooks_tick
from sokyaku.webhooks.services.subscriptions import subscription_secret_rotate
from tests.sequences.factories import contact_make
from tests.webhooks.conftest import band_changed, signed_by, subscribe

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 6, 1, 1, 0, tzinfo=UTC)


def _bands(receiver) -> list[tuple[int, str]]:  # type: ignore[no-untyped-def]
    seen = []
    for request in receiver.requests:
        data = json.loads(request.body)["data"]
        seen.append((data["contact"]["id"], data["to"]))
    return seen


def test_a_later_event_of_a_contact_waits_while_an_earlier_one_is_retried(
    receiver, django_capture_on_commit_callbacks
):  # type: ignore[no-untyped-def]
    with clock.frozen(T0):
        # given two contacts and a subscription whose receiver refuses the first request
        yamada, sato = contact_make(family_name="山田"), contact_make(family_name="佐藤")
        subscribe(receiver, "score.band_changed")
        receiver.statuses = [500]
        # when Yamada warms up (refused), then turns hot, and Sato warms up
        with django_capture_on_commit_callbacks(execute=True):
            band_changed(yamada.pk, "warm")
        with django_capture_on_commit_callbacks(execute=True):
            band_changed(yamada.pk, "hot")
        with django_capture_on_commit_callbacks(execute=True):
            band_changed(sato.pk, "warm")
        # then Sato's went out, and Yamada's "hot" waits behind his refused "warm"
        assert _bands(receiver) == [(yamada.pk, "warm"), (sato.pk, "warm")]
        waiting = Delivery.objects.get(body__contains='"to":"hot"')
        assert (waiting.status, waiting.attempts) == (DeliveryStatus.PENDING, 0)

        # when the retry is due
        clock.advance(timedelta(minutes=1))
        webhooks_tick()
    # then "warm" went through, and "hot" right after it
    assert _bands(receiver) == [
        (yamada.pk, "warm"),
        (sato.pk, "warm"),
        (yamada.pk, "warm"),
        (yamada.pk, "hot"),
    ]
    assert set(Delivery.objects.values_list("status", flat=True)) == {DeliveryStatus.DELIVERED}


def test_a_private_target_is_refused_when_sending_unless_the_operator_allows_it(
    receiver, settings, django_capture_on_commit_callbacks
):  # type: ignore[no-untyped-def]
    # given a subscription to the local receiver, made while private targets were allowed
    with clock.frozen(T0):
        subscribe(receiver, "score.band_changed")
        contact = contact_make()
        # when the operator no longer allows them and an event is relayed
        settings.WEBHOOKS_ALLOW_PRIVATE = False
        with django_capture_on_commit_callbacks(execute=True):
            band_changed(contact.pk, "warm")
    # then nothing reached the receiver: the delivery failed at once, the log says why
    assert receiver.requests == []
    delivery = Delivery.objects.get()
    assert delivery.status == DeliveryStatus.FAILED
    (attempt,) = delivery.attempt_log.all()
    assert attempt.response_status == 0
    assert "Refused target" in attempt.error
    assert "127.0.0.1" in attempt.error


def test_during_a_rotation_both_secrets_sign_and_afterwards_only_the_new_one(
    receiver, django_capture_on_commit_callbacks
):  # type: ignore[no-untyped-def]
    with clock.frozen(T0):
        # given a subscription whose secret was rotated
        hook = subscribe(receiver, "score.band_changed")
        contact = contact_make()
        new = subscription_secret_rotate(subscription=hook.subscription, actor=None)
        # when a message goes out during the grace period, and another one a day later
        with django_capture_on_commit_callbacks(execute=True):
            band_changed(contact.pk, "warm")
        clock.advance(timedelta(hours=24, minutes=1))
        with django_capture_on_commit_callbacks(execute=True):
            band_changed(contact.pk, "hot")
    during, after = receiver.requests
    # then the first carries both signatures (the new one first), the second only the new one
    assert len(during.header("webhook-signature").split(" ")) == 2
    assert signed_by(new, during) and signed_by(hook.secret, during)
    assert len(after.header("webhook-signature").split(" ")) == 1
    assert signed_by(new, after) and not signed_by(hook.secret, after)
    assert new != hook.secret
