"""The CRM learns of a handoff: a person requests a demo on the hosted form; the handoff it
makes reaches a real receiver on 127.0.0.1 as a signed ``handoff.created``, which the receiver
refuses twice (500) and then accepts. The same ``webhook-id`` came three times, each time with a
valid signature, and the delivery log shows the three attempts."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from sokyaku.core import clock
from sokyaku.handoff.models import Handoff
from sokyaku.handoff.services import trigger_presets_install
from sokyaku.webhooks import selectors
from sokyaku.webhooks.models import DeliveryStatus
from sokyaku.webhooks.services.sending import webhooks_tick
from tests.capture.conftest import answers, lead_form
from tests.webhooks.conftest import signed_by, subscribe

pytestmark = pytest.mark.django_db


def test_a_demo_request_reaches_the_crm_signed_and_retried_until_accepted(
    receiver, topics, now, submit, django_capture_on_commit_callbacks
):  # type: ignore[no-untyped-def]
    # given a demo request form, the default handoff triggers and a CRM subscribed to handoffs
    lead_form(kind="demo_request", slug="demo", name="デモ申し込み")
    trigger_presets_install()
    hook = subscribe(receiver, "handoff.created")
    receiver.statuses = [500, 500]

    # when a person requests a demo on the hosted form
    with django_capture_on_commit_callbacks(execute=True):
        response = submit("demo", answers(email="suzuki@customer.example", family_name="鈴木"))
    assert response.status_code in (200, 302, 303)
    # and the worker's tick runs when the first and the second retry are due
    clock.advance(timedelta(minutes=1))
    webhooks_tick()
    clock.advance(timedelta(minutes=2))
    webhooks_tick()

    # then the receiver got the handoff three times, with one webhook-id, signed each time
    handoff = Handoff.objects.get()
    assert len(receiver.requests) == 3
    assert {r.header("webhook-id") for r in receiver.requests} == {
        receiver.requests[0].header("webhook-id")
    }
    assert all(signed_by(hook.secret, r) for r in receiver.requests)
    assert {r.path for r in receiver.requests} == {"/hooks"}
    body = json.loads(receiver.requests[-1].body)
    assert body["type"] == "handoff.created"
    assert body["data"]["handoff"] == handoff.pk
    assert body["data"]["contact"]["email"] == "suzuki@customer.example"
    assert body["data"]["contact"]["name"] == "鈴木 太郎"
    assert body["data"]["action"] == "デモ申し込み"
    # and the delivery log shows the three attempts: refused, refused, accepted
    (delivery,) = selectors.delivery_list(subscription=hook.subscription)
    assert delivery.status == DeliveryStatus.DELIVERED
    assert delivery.webhook_id == receiver.requests[0].header("webhook-id")
    log = selectors.attempt_list(delivery=delivery)
    assert [a.response_status for a in log] == [500, 500, 200]
    assert [a.succeeded for a in log] == [False, False, True]
    assert all(a.request_headers["webhook-id"] == delivery.webhook_id for a in log)
    assert log[-1].response_body == '{"ok": true}'
