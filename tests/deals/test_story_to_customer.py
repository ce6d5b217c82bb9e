"""From the alert to a customer, through the pages a rep uses (seeds 003/004: 送客 → 増客).

Given the default triggers and pipeline, the after-sale presets and a rep, a lead in MQL who
requests a demo is handed to the rep. The rep accepts it on the qualify page with BANT: the lead
becomes an SQL, then an opportunity with a deal linked to the handoff and the BANT record. The
rep drags the deal to 受注 on the board: the contact becomes a customer and is enrolled in the
onboarding sequence; the customer's referral link then brings a friend who is attributed to
them.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from sokyaku.consent.models import ConsentTopic
from sokyaku.contacts.models import Contact
from sokyaku.core import clock
from sokyaku.deals.models import Deal, DealStage, DealStatus, Referral
from sokyaku.deals.services import pipeline_presets_install, referral_code_get_or_create
from sokyaku.handoff import services as handoff_services
from sokyaku.handoff.models import HandoffStatus
from sokyaku.lifecycle.models import ContactStage, StageChange
from sokyaku.lifecycle.services import stage_change
from sokyaku.sequences import presets
from sokyaku.sequences.models import Enrollment
from tests.capture.conftest import answers, lead_form, rendered_token
from tests.handoff.factories import act, lead_make, open_handoff, rep_make, team_make, tokyo
from tests.sequences.factories import sender_make

pytestmark = pytest.mark.django_db


def test_accept_with_bant_then_win_makes_a_customer_in_onboarding_who_refers_a_friend(
    client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    with clock.frozen(tokyo(2026, 11, 24, 10, 0)):  # Tuesday
        # given the presets and a rep in a team that takes every handoff in turn
        sender_make()
        onboarding = {s.name: s for s in presets.sequences_presets_install_if_missing()}[
            presets.ONBOARDING_NAME
        ]
        handoff_services.trigger_presets_install()
        pipeline = pipeline_presets_install()
        rep = rep_make("鈴木", "由美", email="yumi@sales.example")
        team = team_make(rep, name="インサイドセールス")
        handoff_services.routing_rule_save(
            rule=None, data={"name": "順番に", "kind": "round_robin", "team": team}, actor=None
        )
        lead = lead_make(email="sato@customer.example", family_name="佐藤", given_name="一郎")
        stage_change(contact=lead, to_stage="mql", source="system")
        # when the lead requests a demo
        with django_capture_on_commit_callbacks(execute=True):
            act(lead, product="リード管理クラウド")
        handoff = open_handoff(lead)
        assert handoff.assignee == rep

        # and the rep accepts it with BANT on the qualify page
        client.force_login(rep)
        first_stage = DealStage.objects.get(pipeline=pipeline, name="商談開始")
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(
                reverse("deals:qualify", args=[handoff.pk]),
                {
                    "bant-budget_amount_jpy": "3,000,000",
                    "bant-authority": "decision_maker",
                    "bant-need": "リード対応の遅れをなくしたい",
                    "bant-timeline_date": "2027-03-31",
                    "deal-name": "",
                    "deal-amount": "2,400,000",
                    "deal-expected_close": "2027-02-26",
                    "deal-stage": str(first_stage.pk),
                },
            )
    # then the lead is an SQL, then an opportunity, with a deal linked to the handoff and BANT
    assert response.status_code == 302, response.content.decode()[:2000]
    deal = Deal.objects.select_related("bant", "handoff").get()
    assert response["Location"] == reverse("deals:detail", args=[deal.pk])
    assert (deal.owner, deal.amount, deal.stage) == (rep, 2_400_000, first_stage)
    assert deal.handoff == handoff and deal.bant is not None
    assert deal.bant.budget_amount_jpy == 3_000_000
    handoff.refresh_from_db()
    assert handoff.status == HandoffStatus.ACCEPTED
    moves = list(StageChange.objects.filter(contact=lead).values_list("to_stage", flat=True))
    assert moves[-2:] == ["sql", "opportunity"]

    # when the rep drags the deal to 受注 on the board
    won = DealStage.objects.get(pipeline=pipeline, name="受注")
    with (
        clock.frozen(tokyo(2026, 12, 10, 15, 0)),
        django_capture_on_commit_callbacks(execute=True),
    ):
        response = client.post(
            reverse("deals:move", args=[deal.pk]),
            {"stage": won.pk, "version": deal.version},
            headers={"X-Board-Partial": "1"},
        )
    assert response.status_code == 200
    # then the deal is won, the contact a customer, enrolled in onboarding
    deal.refresh_from_db()
    assert deal.status == DealStatus.WON
    assert ContactStage.objects.get(contact=lead).stage == "customer"
    assert Enrollment.objects.filter(contact=lead, sequence=onboarding).exists()

    # when a friend follows the customer's referral link and fills in a form
    with clock.frozen(tokyo(2026, 12, 14, 11, 0)):
        ConsentTopic.objects.create(key="newsletter", name="メールマガジン")
        ConsentTopic.objects.create(key="seminars", name="セミナー案内")
        lead_form()
        code = referral_code_get_or_create(contact=lead).code
        friend = Client()
        assert friend.get(f"/r/{code}").status_code == 302
        token = rendered_token(friend, "whitepaper")
        clock.advance(timedelta(seconds=20))
        with django_capture_on_commit_callbacks(execute=True):
            response = friend.post(
                "/f/whitepaper", {**answers(email="friend@example.co.jp"), "_token": token}
            )
    assert response.status_code == 200
    # then the friend is attributed to the customer who referred them
    referred = Contact.objects.get(email="friend@example.co.jp")
    referral = Referral.objects.get()
    assert (referral.referrer_id, referral.referred_id) == (lead.pk, referred.pk)
