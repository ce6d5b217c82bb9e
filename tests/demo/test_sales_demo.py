"""sales_demo_setup: a sales team ready to receive leads, and months of handoffs and deals."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from django.db.models import Count
from django.test import Client

from sokyaku.contacts.models import Contact
from sokyaku.core import clock
from sokyaku.deals.models import Deal, DealStatus, Order, Referral, ReferralCode
from sokyaku.demo.generator import demo_load
from sokyaku.handoff.models import Handoff, HandoffStatus, SlaState
from sokyaku.lifecycle.models import ContactStage
from sokyaku.messaging.models import Message

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 20, 9, 0, tzinfo=clock.TOKYO)


def test_the_demo_has_handoffs_deals_orders_and_referrals_from_its_history() -> None:
    with clock.frozen(NOW):
        summary = demo_load(contacts=800, seed=11, now=NOW)
    # every MQL was handed to a rep; outcomes follow the lifecycle
    assert summary.handoffs == Handoff.objects.count() > 0
    statuses = dict(Handoff.objects.values_list("status").annotate(n=Count("id")))
    assert statuses.get(HandoffStatus.ACCEPTED, 0) > 0
    assert statuses.get(HandoffStatus.REJECTED, 0) > 0
    assert not Handoff.objects.filter(assignee__isnull=True).exists()
    assert (
        Handoff.objects.filter(sla_state=SlaState.MET).count()
        > Handoff.objects.filter(sla_state=SlaState.BREACHED).count()
    )
    assert not Handoff.objects.filter(status=HandoffStatus.REJECTED, reject_reason="").exists()
    # a won deal per customer who came through the pipeline, at the moment they became one
    won = Deal.objects.filter(status=DealStatus.WON)
    assert won.count() == summary.won_deals > 0
    for deal in won.select_related("contact")[:20]:
        assert deal.amount and deal.closed_at and deal.closed_at <= NOW
        assert ContactStage.objects.get(contact=deal.contact).stage in ("customer", "advocate")
    assert Deal.objects.filter(status=DealStatus.OPEN).exists()
    assert Deal.objects.filter(status=DealStatus.LOST).exclude(lost_reason="").exists()
    # orders from purchases, codes for customers, some referrals
    assert Order.objects.count() == summary.orders
    assert ReferralCode.objects.count() == won.count()
    assert Referral.objects.count() == summary.referrals


def test_a_demo_request_for_a_demo_contact_reaches_a_rep_without_set_up(
    api: Client, django_capture_on_commit_callbacks: Any
) -> None:
    # given the demo (default triggers, team and routing) and a lead nobody handed off yet
    with clock.frozen(NOW):
        demo_load(contacts=300, seed=5, now=NOW)
        lead = (
            Contact.objects.filter(lifecycle__stage="lead", handoffs__isnull=True)
            .order_by("pk")
            .first()
        )
        assert lead is not None
        # when the lead requests a demo through the API
        with django_capture_on_commit_callbacks(execute=True):
            response = api.post(
                "/api/v1/events",
                {"type": "demo_requested", "contact_id": lead.pk},
                content_type="application/json",
            )
    assert response.status_code == 200
    # then an open handoff and its alert to the assigned rep exist
    handoff = Handoff.objects.get(contact=lead, status=HandoffStatus.OPEN)
    assert handoff.assignee is not None and handoff.assignee.email
    alert = Message.objects.get(dedupe_key__startswith=f"handoff:{handoff.pk}:", channel="email")
    assert alert.to_address == handoff.assignee.email
    assert alert.context["notification"]["subject"].startswith("【デモ申し込み通知】")
    listed = api.get("/api/v1/handoffs?status=open").json()
    assert handoff.pk in [item["id"] for item in listed["items"]]
