"""Deals: create, edit, move with optimistic versions, win, lose, reopen; stagnation alerts."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import translation

from sokyaku.activity.models import Event
from sokyaku.core import clock
from sokyaku.core.errors import Conflict, ValidationError
from sokyaku.deals import selectors, services
from sokyaku.deals.models import Deal, DealStageChange, DealStatus, LostReason
from sokyaku.lifecycle import selectors as lifecycle_selectors
from sokyaku.messaging.models import Message, Stream
from sokyaku.sequences.models import Enrollment, TriggerKind
from tests.deals.factories import (
    contact_make,
    deal_make,
    fresh,
    pipeline,
    product_make,
    stage,
    tokyo,
    transactional_sender_make,
    user_make,
)
from tests.sequences.factories import sequence_make

pytestmark = pytest.mark.django_db


def _events(contact_id: int, type: str) -> list[Event]:
    return list(Event.objects.filter(contact_id=contact_id, type=type).order_by("id"))


# --- create and edit ------------------------------------------------------------------------


def test_a_new_deal_makes_its_contact_an_opportunity() -> None:
    rep = user_make()
    contact = contact_make(stage="sql", company_name="株式会社サンプル")

    deal = services.deal_create(
        actor=rep, name="MA導入", contact=contact, amount="1,200,000", pipeline=pipeline()
    )

    deal = fresh(deal)
    assert (deal.stage.name, deal.status, deal.amount, deal.version) == (
        "商談開始",
        "open",
        1_200_000,
        1,
    )
    assert deal.company == contact.company
    assert deal.owner == rep
    assert lifecycle_selectors.stage_get(contact_id=contact.pk) == "opportunity"
    (event,) = _events(contact.pk, "deal_created")
    assert event.properties["deal"] == deal.pk
    assert event.properties["amount_jpy"] == 1_200_000
    assert [c.to_stage_id for c in selectors.deal_history(deal=deal)] == [deal.stage_id]


def test_an_upsell_deal_leaves_a_customer_a_customer() -> None:
    contact = contact_make(stage="customer")

    deal_make(contact=contact)

    assert lifecycle_selectors.stage_get(contact_id=contact.pk) == "customer"


def test_lines_give_the_amount_when_none_is_given() -> None:
    product = product_make("クラウドMA スタンダード", unit_price=50_000)

    deal = deal_make(
        amount=None,
        lines=[
            {"product": product, "quantity": 12},
            {"name": "導入支援", "quantity": 1, "unit_price": 300_000},
        ],
    )

    deal = fresh(deal)
    assert deal.amount == 12 * 50_000 + 300_000
    assert [(line.name, line.total) for line in deal.lines.all()] == [
        ("クラウドMA スタンダード", 600_000),
        ("導入支援", 300_000),
    ]


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"name": " "}, "name"),
        ({"amount": -1}, "amount"),
        ({"amount": "12万"}, "amount"),
        ({"amount": 1.5}, "amount"),
        ({"expected_close": "2026-13-01"}, "expected_close"),
        ({"lines": [{"name": "保守", "quantity": 0, "unit_price": 1}]}, "lines.0.quantity"),
        ({"lines": [{"name": "保守"}]}, "lines.0.unit_price"),
        ({"lines": [{"product": 999999}]}, "lines.0.product"),
    ],
)
def test_bad_deal_input_is_refused(data: dict[str, object], field: str) -> None:
    values: dict[str, object] = {"name": "MA導入", "contact": contact_make(), **data}

    with pytest.raises(ValidationError) as caught:
        services.deal_create(actor=None, **values)  # type: ignore[arg-type]

    assert field in caught.value.field_errors
    assert not Deal.objects.exists()


def test_the_owner_must_be_active() -> None:
    rep = user_make()
    rep.is_active = False
    rep.save()

    with pytest.raises(ValidationError) as caught:
        services.deal_create(actor=None, name="MA導入", owner=rep)

    assert "owner" in caught.value.field_errors


def test_the_company_must_be_the_contacts() -> None:
    contact, other = contact_make(), contact_make()

    with pytest.raises(ValidationError) as caught:
        services.deal_create(actor=None, name="MA導入", contact=contact, company=other.company)

    assert "company" in caught.value.field_errors


def test_update_with_a_stale_version_is_refused() -> None:
    deal = deal_make(amount=1_000_000)
    services.deal_update(deal=deal, actor=None, version=1, amount=1_500_000)

    with pytest.raises(Conflict):
        services.deal_update(deal=deal, actor=None, version=1, amount=900_000)

    assert (fresh(deal).amount, fresh(deal).version) == (1_500_000, 2)


# --- moving, winning, losing ----------------------------------------------------------------


def test_move_records_history_and_a_timeline_event() -> None:
    rep = user_make()
    deal = deal_make(owner=rep)

    moved = services.deal_move(deal=deal, stage=stage("提案"), version=1, actor=rep)

    assert (moved.stage.name, moved.version) == ("提案", 2)
    change = DealStageChange.objects.filter(deal=deal).order_by("id").last()
    assert change is not None
    assert (change.from_stage.name, change.to_stage.name, change.by) == ("商談開始", "提案", rep)  # type: ignore[union-attr]
    (event,) = _events(deal.contact_id, "deal_stage_changed")  # type: ignore[arg-type]
    assert (event.properties["from"], event.properties["to"]) == ("商談開始", "提案")


def test_a_stale_move_is_refused_and_overwrites_nothing() -> None:
    deal = deal_make()
    services.deal_move(deal=deal, stage=stage("交渉"), version=1, actor=None)

    with translation.override("en"), pytest.raises(Conflict) as caught:
        services.deal_move(deal=deal, stage=stage("提案"), version=1, actor=None)

    assert "交渉" in caught.value.message
    deal = fresh(deal)
    assert (deal.stage.name, deal.version) == ("交渉", 2)
    assert DealStageChange.objects.filter(deal=deal).count() == 2


def test_winning_needs_an_amount() -> None:
    deal = deal_make(amount=None)

    with translation.override("en"), pytest.raises(ValidationError) as caught:
        services.deal_move(deal=deal, stage=stage("受注"), version=1, actor=None)

    assert caught.value.field_errors == {"amount": "A won deal needs an amount."}
    assert fresh(deal).status == DealStatus.OPEN
    with pytest.raises(ValidationError):
        services.deal_win(deal=deal, actor=None)
    assert fresh(deal).version == 1


def test_losing_needs_a_reason() -> None:
    deal = deal_make()

    with pytest.raises(ValidationError) as caught:
        services.deal_move(deal=deal, stage=stage("失注"), version=1, actor=None)

    assert "lost_reason" in caught.value.field_errors
    lost = services.deal_move(
        deal=deal, stage=stage("失注"), version=1, actor=None, lost_reason=LostReason.PRICE
    )
    assert (lost.status, lost.lost_reason, lost.closed_at is not None) == ("lost", "price", True)
    (event,) = _events(deal.contact_id, "deal_lost")  # type: ignore[arg-type]
    assert event.properties["reason"] == "price"


def test_winning_makes_a_customer_and_enrols_in_the_onboarding_sequence(
    django_capture_on_commit_callbacks: Any,
) -> None:
    with clock.frozen(tokyo(2026, 11, 25, 10, 0)):
        onboarding = sequence_make(name="オンボーディング", trigger_kind=TriggerKind.DEAL_WON)
        upsell = sequence_make(
            name="アップセル",
            trigger_kind=TriggerKind.DEAL_WON,
            trigger_config={"where": [{"field": "categories", "op": "contains", "value": "保守"}]},
        )
        contact = contact_make(stage="opportunity")
        product = product_make("クラウドMA", category="SaaS", unit_price=100_000)
        deal = deal_make(contact=contact, amount=None, lines=[{"product": product, "quantity": 3}])

        with django_capture_on_commit_callbacks(execute=True):
            won = services.deal_win(deal=deal, actor=None, version=1, note="年間契約")

    assert (won.status, won.stage.name, won.close_note) == ("won", "受注", "年間契約")
    assert lifecycle_selectors.stage_get(contact_id=contact.pk) == "customer"
    (event,) = _events(contact.pk, "deal_won")
    assert event.properties["amount_jpy"] == 300_000
    assert event.properties["products"] == ["クラウドMA"]
    assert event.properties["categories"] == ["SaaS"]
    assert event.properties["pipeline"] == "営業パイプライン"
    assert list(
        Enrollment.objects.filter(contact=contact).values_list("sequence_id", flat=True)
    ) == [onboarding.pk]
    assert upsell.pk != onboarding.pk


def test_moving_a_closed_deal_back_reopens_it() -> None:
    deal = deal_make()
    services.deal_lose(deal=deal, actor=None, reason=LostReason.TIMING, note="来期")

    reopened = services.deal_move(deal=deal, stage=stage("提案"), version=2, actor=None)

    assert (reopened.status, reopened.closed_at, reopened.lost_reason, reopened.close_note) == (
        "open",
        None,
        "",
        "",
    )
    (event,) = _events(deal.contact_id, "deal_stage_changed")  # type: ignore[arg-type]
    assert event.properties["reopened"] is True


# --- stagnation -----------------------------------------------------------------------------


def _alerts() -> list[Message]:
    return list(Message.objects.filter(stream=Stream.TRANSACTIONAL).order_by("id"))


def test_a_stagnating_deal_alerts_its_owner_once_per_stage_stay() -> None:
    rep = user_make()
    with clock.frozen(tokyo(2026, 11, 2, 9, 0)):
        deal = deal_make(owner=rep, name="MA導入 サンプル社")

        clock.advance(timedelta(days=13, hours=23))
        assert services.stagnation_tick() == 0
        assert not selectors.deal_is_stagnating(fresh(deal))

        clock.advance(timedelta(hours=2))
        assert services.stagnation_tick() == 1
        assert services.stagnation_tick() == 0
        assert selectors.deal_is_stagnating(fresh(deal))
        (board_first, *_rest) = selectors.board(user=rep, pipeline=pipeline())
        assert board_first.stagnating_ids == {deal.pk}

        services.deal_move(deal=deal, stage=stage("提案"), version=1, actor=rep)
        clock.advance(timedelta(days=15))
        assert services.stagnation_tick() == 1

    first, second = _alerts()
    assert first.to_address == rep.email
    assert "MA導入 サンプル社" in first.context["notification"]["subject"]
    assert first.context["notification"]["contact_id"] == deal.contact_id
    assert first.dedupe_key != second.dedupe_key


def test_the_stagnation_alert_reaches_the_owners_inbox(
    smtp_server: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    rep = user_make()
    transactional_sender_make()
    with clock.frozen(tokyo(2026, 11, 2, 9, 0)):
        deal_make(owner=rep, name="MA導入 サンプル社")
        clock.advance(timedelta(days=15))
        with django_capture_on_commit_callbacks(execute=True):
            services.stagnation_tick()

    (mail,) = smtp_server.wait_for(1)
    assert mail["To"] == rep.email
    assert "MA導入 サンプル社" in str(mail["Subject"])


def test_closed_deals_and_stages_without_a_limit_do_not_alert() -> None:
    rep = user_make()
    with clock.frozen(tokyo(2026, 11, 2, 9, 0)):
        won = deal_make(owner=rep)
        services.deal_win(deal=won, actor=rep)
        clock.advance(timedelta(days=60))
        assert services.stagnation_tick() == 0
    assert _alerts() == []
