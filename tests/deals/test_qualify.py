"""Accepting a handoff with BANT: SQL, then an opportunity with a deal, all or nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest

from sokyaku.core import clock
from sokyaku.core.errors import Conflict, ValidationError
from sokyaku.deals import services
from sokyaku.deals.models import Deal
from sokyaku.handoff.models import HandoffStatus
from sokyaku.lifecycle.models import BantRecord, StageChange
from tests.deals.factories import contact_make, handoff_make, pipeline, user_make

pytestmark = pytest.mark.django_db

BANT = {
    "budget_amount_jpy": 3_000_000,
    "authority": "decision_maker",
    "need": "リード管理の属人化を解消したい",
    "timeline_band": "3m",
}


def test_qualify_records_bant_makes_an_sql_then_an_opportunity_with_a_deal() -> None:
    rep = user_make()
    contact = contact_make(stage="mql", company_name="株式会社サンプル", owner=rep)
    handoff = handoff_make(contact=contact, assignee=rep)

    deal = services.handoff_qualify(
        handoff=handoff,
        actor=rep,
        bant=BANT,
        deal={"amount": 2_400_000, "expected_close": clock.local_now().date() + timedelta(days=60)},
    )

    deal = Deal.objects.select_related("stage", "handoff", "bant").get(pk=deal.pk)
    assert deal.name == "株式会社サンプル — デモ申し込み"
    assert (deal.owner, deal.amount, deal.stage.name) == (rep, 2_400_000, "商談開始")
    assert deal.handoff == handoff
    assert deal.bant == BantRecord.objects.get(contact=contact)
    assert deal.bant.budget_amount_jpy == 3_000_000
    assert deal.handoff.status == HandoffStatus.ACCEPTED
    moves = list(
        StageChange.objects.filter(contact=contact)
        .order_by("id")
        .values_list("to_stage", flat=True)
    )
    assert moves[-2:] == ["sql", "opportunity"]


def test_bad_bant_stores_nothing_and_names_the_field() -> None:
    rep = user_make()
    contact = contact_make(stage="mql")
    handoff = handoff_make(contact=contact, assignee=rep)

    with pytest.raises(ValidationError) as caught:
        services.handoff_qualify(
            handoff=handoff, actor=rep, bant={**BANT, "budget_amount_jpy": -5}, deal={}
        )

    assert "bant.budget_amount_jpy" in caught.value.field_errors
    handoff.refresh_from_db()
    assert handoff.status == HandoffStatus.OPEN
    assert not BantRecord.objects.exists()
    assert not Deal.objects.exists()


def test_bad_deal_stores_nothing_and_names_the_field() -> None:
    rep = user_make()
    contact = contact_make(stage="mql")
    handoff = handoff_make(contact=contact, assignee=rep)
    won = pipeline().stages.get(kind="won")

    with pytest.raises(ValidationError) as caught:
        services.handoff_qualify(
            handoff=handoff, actor=rep, bant=BANT, deal={"amount": -1, "stage": won}
        )

    assert "deal.amount" in caught.value.field_errors
    handoff.refresh_from_db()
    assert handoff.status == HandoffStatus.OPEN
    assert not BantRecord.objects.exists()


def test_unknown_fields_are_refused() -> None:
    rep = user_make()
    handoff = handoff_make(contact=contact_make(), assignee=rep)

    with pytest.raises(ValidationError) as caught:
        services.handoff_qualify(handoff=handoff, actor=rep, bant={"budgett": 1}, deal={})

    assert caught.value.field_errors.keys() == {"bant.budgett"}


def test_a_closed_handoff_cannot_be_qualified_twice() -> None:
    rep = user_make()
    handoff = handoff_make(contact=contact_make(stage="mql"), assignee=rep)
    services.handoff_qualify(handoff=handoff, actor=rep, bant=BANT, deal={"amount": 1})

    with pytest.raises(Conflict):
        services.handoff_qualify(handoff=handoff, actor=rep, bant=BANT, deal={"amount": 1})

    assert Deal.objects.count() == 1
