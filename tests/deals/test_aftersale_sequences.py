"""After the sale (増客) in sequences: winning a deal enrols the customer in onboarding; up-sell,
cross-sell and the B2C repeat coupon follow their rules."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from sokyaku.activity import services as activity_services
from sokyaku.activity.events import event_build
from sokyaku.activity.models import EventSource
from sokyaku.core import clock
from sokyaku.deals import services as deal_services
from sokyaku.deals.services import order_record
from sokyaku.messaging.models import Message
from sokyaku.sequences import presets
from sokyaku.sequences.models import Enrollment, Sequence, SequenceStatus
from sokyaku.sequences.services.editing import sequence_activate
from sokyaku.sequences.services.tick import sequences_tick
from tests.sequences.factories import contact_make, sender_make, tokyo

pytestmark = pytest.mark.django_db

# A Wednesday, 10:00 in Tokyo; the next three business days end on Monday 30 November.
START = tokyo(2026, 11, 25, 10, 0)


@pytest.fixture
def installed() -> Any:
    with clock.frozen(START):
        sender_make()
        yield {s.name: s for s in presets.sequences_presets_install_if_missing()}


def _templates(sequence: Sequence, contact_id: int) -> list[str]:
    return list(
        Message.objects.filter(sequence_id=sequence.pk, contact_id=contact_id)
        .order_by("id")
        .values_list("template__name", flat=True)
    )


def _enrolled(sequence: Sequence) -> list[int]:
    return list(Enrollment.objects.filter(sequence=sequence).values_list("contact_id", flat=True))


def _deal_won(contact_id: int, capture: Any, **properties: Any) -> None:
    with capture(execute=True):
        activity_services.event_ingest(
            event=event_build(
                type="deal_won",
                occurred_at=clock.now(),
                source=EventSource.SYSTEM,
                properties={"deal": 1, "pipeline": "営業パイプライン", **properties},
                contact_id=contact_id,
            )
        )


def test_the_presets_install_once_with_onboarding_active(installed: dict[str, Sequence]) -> None:
    statuses = {name: installed[name].status for name in installed}
    assert statuses[presets.ONBOARDING_NAME] == SequenceStatus.ACTIVE
    for name in (presets.UPSELL_NAME, presets.CROSS_SELL_NAME, presets.B2C_REPEAT_NAME):
        assert statuses[name] == SequenceStatus.DRAFT
    # and installing again adds nothing
    with clock.frozen(START):
        again = presets.sequences_presets_install_if_missing()
    assert [s.pk for s in again] == [s.pk for s in installed.values()]
    assert Sequence.objects.count() == 7


def test_winning_the_deal_enrols_the_customer_in_onboarding(
    installed: dict[str, Sequence], django_capture_on_commit_callbacks: Any
) -> None:
    onboarding = installed[presets.ONBOARDING_NAME]
    with clock.frozen(START):
        # given an opportunity with a deal
        contact = contact_make(email="buyer@example.jp", family_name="鈴木")
        deal_services.pipeline_presets_install()
        deal = deal_services.deal_create(
            actor=None, name="基幹システム更新", contact=contact, amount=1_200_000
        )
        # when the deal is won
        with django_capture_on_commit_callbacks(execute=True):
            deal_services.deal_win(deal=deal, actor=None)
        # then the customer is enrolled and the welcome mail goes at once
        assert _enrolled(onboarding) == [contact.pk]
        assert _templates(onboarding, contact.pk) == [presets.T_ONBOARDING_1]
    # and the getting-started guide follows three business days later
    with clock.frozen(tokyo(2026, 11, 27, 18, 0)):
        sequences_tick()
        assert _templates(onboarding, contact.pk) == [presets.T_ONBOARDING_1]
    with clock.frozen(tokyo(2026, 11, 30, 10, 0)):
        sequences_tick()
        assert _templates(onboarding, contact.pk) == [
            presets.T_ONBOARDING_1,
            presets.T_ONBOARDING_2,
        ]
    # and the check-in 14 days after that
    with clock.frozen(tokyo(2026, 12, 14, 10, 0)):
        sequences_tick()
        assert _templates(onboarding, contact.pk)[-1] == presets.T_ONBOARDING_3


def test_upsell_enrols_customers_of_deals_under_one_million_yen(
    installed: dict[str, Sequence], django_capture_on_commit_callbacks: Any
) -> None:
    upsell = sequence_activate(sequence=installed[presets.UPSELL_NAME])
    with clock.frozen(START):
        small, large = contact_make(), contact_make()
        _deal_won(small.pk, django_capture_on_commit_callbacks, amount_jpy=800_000)
        _deal_won(large.pk, django_capture_on_commit_callbacks, amount_jpy=1_000_000)
    assert _enrolled(upsell) == [small.pk]
    # the proposal goes 60 days after the win (a Sunday: the next weekday, in the window)
    with clock.frozen(tokyo(2027, 1, 24, 10, 0)):
        sequences_tick()
    assert _templates(upsell, small.pk) == []
    with clock.frozen(tokyo(2027, 1, 25, 9, 0)):
        sequences_tick()
    # that morning the onboarding mail that had waited since the win goes first, and the
    # frequency cap (one marketing mail a day) moves the proposal to the next morning
    onboarding = installed[presets.ONBOARDING_NAME]
    assert _templates(onboarding, small.pk) == [presets.T_ONBOARDING_1, presets.T_ONBOARDING_2]
    assert _templates(upsell, small.pk) == []
    with clock.frozen(tokyo(2027, 1, 26, 9, 0)):
        sequences_tick()
    assert _templates(upsell, small.pk) == [presets.T_UPSELL]


def test_cross_sell_enrols_customers_whose_deal_had_no_option(
    installed: dict[str, Sequence], django_capture_on_commit_callbacks: Any
) -> None:
    cross_sell = sequence_activate(sequence=installed[presets.CROSS_SELL_NAME])
    with clock.frozen(START):
        contact = contact_make()
        _deal_won(contact.pk, django_capture_on_commit_callbacks, categories=["ソフトウェア"])
    assert _enrolled(cross_sell) == [contact.pk]


def test_cross_sell_leaves_out_customers_who_bought_the_option(
    installed: dict[str, Sequence], django_capture_on_commit_callbacks: Any
) -> None:
    cross_sell = sequence_activate(sequence=installed[presets.CROSS_SELL_NAME])
    with clock.frozen(START):
        contact = contact_make()
        _deal_won(
            contact.pk,
            django_capture_on_commit_callbacks,
            categories=["ソフトウェア", "オプション"],
        )
    assert _enrolled(cross_sell) == []


def test_b2c_repeat_sends_a_coupon_twenty_days_after_a_purchase(
    installed: dict[str, Sequence], django_capture_on_commit_callbacks: Any
) -> None:
    repeat = sequence_activate(sequence=installed[presets.B2C_REPEAT_NAME])
    with clock.frozen(START):
        shopper = contact_make(email="shopper@example.jp")
        with django_capture_on_commit_callbacks(execute=True):
            order_record(
                contact=shopper,
                external_id="EC-1",
                ordered_at=START - timedelta(minutes=3),
                amount=4800,
            )
    assert _enrolled(repeat) == [shopper.pk]
    with clock.frozen(START + timedelta(days=20)):
        sequences_tick()
    assert _templates(repeat, shopper.pk) == [presets.T_B2C_REPEAT]
