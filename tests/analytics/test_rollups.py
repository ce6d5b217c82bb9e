"""The daily rollups: every change marks the days whose numbers it changes, a read refreshes the
dirty days it covers, and what the rollups answer equals what the raw tables answer."""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta

import pytest

from sokyaku.activity import listeners
from sokyaku.analytics import rollups
from sokyaku.analytics.metrics import Metric
from sokyaku.analytics.models import DailyCount, DirtyDay
from sokyaku.analytics.tasks import rollups_refresh_task
from sokyaku.campaigns import services as campaign_services
from sokyaku.campaigns.models import RuleOperator
from sokyaku.contacts import services as contact_services
from sokyaku.contacts import touches
from sokyaku.core import clock
from sokyaku.deals import services as deal_services
from sokyaku.deals.models import LostReason
from sokyaku.lifecycle import services as lifecycle_services
from sokyaku.lifecycle.models import ChangeSource, Stage
from tests.analytics.rollup_factories import (
    World,
    bounce_mail,
    click_mail,
    dirty_days,
    goal,
    open_mail,
    raw,
    rolled,
    stored_days,
    tokyo,
    unsubscribe_mail,
    world,
)

pytestmark = pytest.mark.django_db

MONDAY = tokyo(2026, 4, 6, 10)
FIRST, LAST = date(2026, 4, 1), date(2026, 4, 30)


def day(n: int) -> date:
    """The n-th day after MONDAY (0: MONDAY itself)."""
    return MONDAY.date() + timedelta(days=n)


@pytest.fixture
def w() -> World:
    with clock.frozen(MONDAY - timedelta(days=30)):
        return world()


def _settled() -> None:
    """Everything refreshed, as the worker leaves it."""
    rollups.rollups_refresh()
    assert dirty_days() == set()


def _equal() -> None:
    assert rolled(FIRST, LAST) == raw(FIRST, LAST)
    assert rolled(FIRST, LAST, by_day=True) == raw(FIRST, LAST, by_day=True)


def _on(counts: Counter[tuple[date | None, str, int, int]], metric: Metric, when: date) -> int:
    return sum(v for (d, m, _ch, _cp), v in counts.items() if d == when and m == metric)


# --- marking and reading ----------------------------------------------------------------------


def test_a_new_lead_marks_its_day_and_a_read_refreshes_it(w: World) -> None:
    with clock.frozen(MONDAY):
        lead = w.lead(medium="webinar", campaign="spring")

    assert dirty_days() == {day(0)}
    counts = rolled(day(0), day(0))
    assert counts == raw(day(0), day(0))
    assert counts[(None, "leads", w.channels["webinar"].pk, w.campaign.pk)] == 1
    assert dirty_days() == set()
    assert stored_days() == {day(0)}
    assert lead.first_touch_channel_id == w.channels["webinar"].pk


def test_a_read_refreshes_only_the_dirty_days_of_its_period(w: World) -> None:
    with clock.frozen(MONDAY):
        w.lead()
        clock.advance(timedelta(days=3))
        w.lead()

    rolled(day(0), day(1))

    assert dirty_days() == {day(3)}


def test_a_period_without_data_is_an_empty_counter(w: World) -> None:
    assert rolled(date(2020, 1, 1), date(2020, 1, 31)) == Counter()
    assert rollups.rollups_rebuild(date(2020, 1, 1), date(2020, 1, 31)) == 0


def test_becoming_a_customer_marks_the_day_the_lead_was_created(w: World) -> None:
    with clock.frozen(MONDAY):
        lead = w.lead(medium="webinar")
        _settled()
        clock.advance(timedelta(days=4))
        lifecycle_services.stage_change(
            contact=lead, to_stage=Stage.CUSTOMER, source=ChangeSource.USER
        )

    assert dirty_days() == {day(0), day(4)}
    _equal()
    assert _on(rolled(FIRST, LAST, by_day=True), Metric.LEADS_CONVERTED, day(0)) == 1


def test_reaching_opportunity_marks_the_days_of_the_leads_handoffs(w: World) -> None:
    with clock.frozen(MONDAY):
        lead = w.lead()
        clock.advance(timedelta(days=1))
        w.handoff(lead)
        _settled()
        clock.advance(timedelta(days=4))
        lifecycle_services.stage_change(
            contact=lead, to_stage=Stage.OPPORTUNITY, source=ChangeSource.USER
        )

    assert dirty_days() == {day(1), day(5)}
    _equal()
    assert _on(rolled(FIRST, LAST, by_day=True), Metric.HANDOFFS_CONVERTED, day(1)) == 1


def test_a_deal_from_a_handoff_marks_the_handoffs_day(w: World) -> None:
    with clock.frozen(MONDAY):
        lead = w.lead()
        lifecycle_services.stage_change(
            contact=lead, to_stage=Stage.OPPORTUNITY, source=ChangeSource.USER
        )
        clock.advance(timedelta(days=1))
        handoff = w.handoff(lead)
        _settled()
        clock.advance(timedelta(days=2))
        w.deal(lead, handoff=handoff)

    assert dirty_days() == {day(1), day(3)}
    _equal()
    assert _on(rolled(FIRST, LAST, by_day=True), Metric.HANDOFFS_CONVERTED, day(1)) == 1


def test_reopening_a_won_deal_marks_the_day_it_was_won(w: World) -> None:
    with clock.frozen(MONDAY):
        lead = w.lead(medium="webinar")
        deal = w.deal(lead, amount=2_000_000)
        clock.advance(timedelta(days=2))
        deal_services.deal_win(deal=deal, actor=None)
        assert _on(rolled(FIRST, LAST, by_day=True), Metric.REVENUE, day(2)) == 2_000_000
        clock.advance(timedelta(days=5))
        w.reopen(deal)

    assert dirty_days() == {day(2), day(7)}
    _equal()
    assert _on(rolled(FIRST, LAST, by_day=True), Metric.WON, day(2)) == 0


def test_losing_a_won_deal_marks_the_day_it_was_won(w: World) -> None:
    with clock.frozen(MONDAY):
        deal = w.deal(w.lead(medium="webinar"))
        clock.advance(timedelta(days=1))
        deal_services.deal_win(deal=deal, actor=None)
        _settled()
        clock.advance(timedelta(days=2))
        deal.refresh_from_db()
        deal_services.deal_lose(deal=deal, actor=None, reason=LostReason.TIMING)

    assert dirty_days() == {day(1), day(3)}
    _equal()
    assert _on(rolled(FIRST, LAST, by_day=True), Metric.WON, day(1)) == 0


def test_editing_a_won_deal_marks_its_closing_day(w: World) -> None:
    with clock.frozen(MONDAY):
        lead, other = w.lead(medium="webinar"), w.lead()
        deal = w.deal(lead, amount=2_000_000)
        clock.advance(timedelta(days=2))
        deal_services.deal_win(deal=deal, actor=None)
        _settled()
        clock.advance(timedelta(days=5))
        deal_services.deal_update(deal=deal, actor=None, version=None, amount=2_500_000)
        assert day(2) in dirty_days()
        assert _on(rolled(FIRST, LAST, by_day=True), Metric.REVENUE, day(2)) == 2_500_000
        deal_services.deal_update(deal=deal, actor=None, version=None, contact=other)

    assert day(2) in dirty_days()
    _equal()


def test_an_order_counts_on_its_own_day(w: World) -> None:
    with clock.frozen(MONDAY):
        buyer = w.lead(campaign="spring")
        clock.advance(timedelta(days=3))
        deal_services.order_record(
            contact=buyer, external_id="A-1", ordered_at=tokyo(2026, 4, 8, 23, 30), amount=5_000
        )

    assert {day(2), day(3)} <= dirty_days()
    _equal()
    assert _on(rolled(FIRST, LAST, by_day=True), Metric.ORDER_REVENUE, day(2)) == 5_000


# --- mails ------------------------------------------------------------------------------------


def test_opens_clicks_and_unsubscribes_mark_the_day_the_mail_was_sent(w: World) -> None:
    with clock.frozen(MONDAY):
        lead = w.lead(medium="email")
        mail = w.mail(lead)
        _settled()
        clock.advance(timedelta(days=2))
        open_mail(mail)
        assert dirty_days() == {day(0), day(2)}
        assert _on(rolled(FIRST, LAST, by_day=True), Metric.OPENED, day(0)) == 1
        clock.advance(timedelta(days=1))
        click_mail(mail)
        assert day(0) in dirty_days()
        assert _on(rolled(FIRST, LAST, by_day=True), Metric.CLICKED, day(0)) == 1
        clock.advance(timedelta(days=1))
        unsubscribe_mail(mail)

    assert day(0) in dirty_days()
    _equal()
    assert _on(rolled(FIRST, LAST, by_day=True), Metric.UNSUBSCRIBED, day(0)) == 1


def test_a_bounce_arriving_later_marks_the_day_the_mail_was_sent(w: World) -> None:
    with clock.frozen(MONDAY):
        mail = w.mail(w.lead())
        _settled()
        clock.advance(timedelta(days=1))
        bounce_mail(mail)

    assert day(0) in dirty_days()
    counts = rolled(FIRST, LAST, by_day=True)
    assert counts == raw(FIRST, LAST, by_day=True)
    assert (_on(counts, Metric.BOUNCED, day(0)), _on(counts, Metric.DELIVERED, day(0))) == (1, 0)


def test_a_goal_action_marks_the_sending_days_of_the_clicked_mails_it_converts(w: World) -> None:
    with clock.frozen(MONDAY):
        lead = w.lead(medium="email")
        converting, unread = w.mail(lead), w.mail(lead)
        clock.advance(timedelta(hours=2))
        click_mail(converting)
        _settled()
        clock.advance(timedelta(days=3))
        goal(lead, "demo_requested")

    assert dirty_days() == {day(0), day(3)}
    _equal()
    assert _on(rolled(FIRST, LAST, by_day=True), Metric.CONVERTED, day(0)) == 1
    assert unread.clicked_at is None


# --- sources ----------------------------------------------------------------------------------


def test_a_new_first_touch_channel_moves_the_leads_history_to_it(w: World) -> None:
    with clock.frozen(MONDAY):
        lead = w.lead(medium="webinar")
        clock.advance(timedelta(days=1))
        lifecycle_services.stage_change(contact=lead, to_stage=Stage.MQL, source=ChangeSource.USER)
        _settled()
        clock.advance(timedelta(days=5))
        contact_services.contact_update(
            contact=lead,
            data=contact_services.ContactInput(first_touch_channel_id=w.channels["seo-blog"].pk),
        )

    assert dirty_days() == {day(0), day(1), day(6)}
    counts = rolled(FIRST, LAST)
    assert counts == raw(FIRST, LAST)
    assert counts[(None, "mqls", w.channels["seo-blog"].pk, 0)] == 1
    assert counts[(None, "mqls", w.channels["webinar"].pk, 0)] == 0


def test_an_earlier_touch_arriving_later_re_attributes_the_lead(w: World) -> None:
    with clock.frozen(MONDAY):
        lead = w.lead(medium="webinar")
        _settled()
        clock.advance(timedelta(days=2))
        touches.contact_touch_record(
            contact_id=lead.pk,
            touch={"medium": "paid_social", "campaign": "spring"},
            at=MONDAY - timedelta(days=1),
        )

    assert day(0) in dirty_days()
    counts = rolled(FIRST, LAST)
    assert counts == raw(FIRST, LAST)
    # the campaign's own channel wins over the medium
    assert counts[(None, "leads", w.channels["webinar"].pk, w.campaign.pk)] == 1


def test_changed_channel_rules_re_attribute_the_leads_they_move(w: World) -> None:
    with clock.frozen(MONDAY):
        w.lead(medium="webinar")
        _settled()
        clock.advance(timedelta(days=2))
        campaign_services.channel_rule_create(
            data=campaign_services.RuleInput(
                channel_id=w.channels["seo-blog"].pk,
                priority=0,
                medium_op=RuleOperator.EXACT,
                medium_values="webinar",
            )
        )
        touches.channel_rules_reapply()

    assert day(0) in dirty_days()
    counts = rolled(FIRST, LAST)
    assert counts == raw(FIRST, LAST)
    assert counts[(None, "leads", w.channels["seo-blog"].pk, 0)] == 1


def test_a_campaign_created_after_its_leads_takes_them_over(w: World) -> None:
    with clock.frozen(MONDAY):
        w.lead(medium="paid_social", campaign="summer")
        _settled()
        clock.advance(timedelta(days=2))
        summer = campaign_services.campaign_save(
            data=campaign_services.CampaignInput(
                name="夏のSNS広告", channel_id=w.channels["paid-social"].pk, utm_campaign="summer"
            )
        )

    assert day(0) in dirty_days()
    counts = rolled(FIRST, LAST)
    assert counts == raw(FIRST, LAST)
    assert counts[(None, "leads", w.channels["paid-social"].pk, summer.pk)] == 1


def test_a_merge_and_its_undo_keep_the_rollups_equal_to_the_raw_numbers(w: World) -> None:
    with clock.frozen(MONDAY):
        older = w.lead(medium="webinar")
        lifecycle_services.stage_change(contact=older, to_stage=Stage.MQL, source=ChangeSource.USER)
        mail = w.mail(older)
        clock.advance(timedelta(hours=1))
        click_mail(mail)
        goal(older, "inquiry")
        clock.advance(timedelta(days=2))
        newer = w.lead(medium="email")
        _settled()
        assert _on(rolled(FIRST, LAST, by_day=True), Metric.CONVERTED, day(0)) == 1
        clock.advance(timedelta(days=3))
        # the newer contact keeps its values, takes the older one's creation time and events
        record = contact_services.contact_merge(winner=newer, loser=older)
        assert {day(0), day(2)} <= dirty_days()
        _equal()
        counts = rolled(FIRST, LAST, by_day=True)
        assert counts[(day(0), "leads", w.channels["email"].pk, 0)] == 1
        assert _on(counts, Metric.LEADS, day(2)) == 0
        assert _on(counts, Metric.CONVERTED, day(0)) == 0
        clock.advance(timedelta(days=1))
        contact_services.contact_merge_undo(record=record)

    assert {day(0), day(2)} <= dirty_days()
    _equal()
    assert rolled(FIRST, LAST)[(None, "leads", w.channels["webinar"].pk, 0)] == 1


# --- refresh, rebuild, worker -----------------------------------------------------------------


def _busy_month(w: World) -> None:
    with clock.frozen(MONDAY):
        lead = w.lead(medium="webinar", campaign="spring")
        mail = w.mail(lead)
        clock.advance(timedelta(days=1))
        click_mail(mail)
        lifecycle_services.stage_change(contact=lead, to_stage=Stage.MQL, source=ChangeSource.USER)
        handoff = w.handoff(lead)
        clock.advance(timedelta(days=1))
        deal = w.deal(lead, handoff=handoff)
        goal(lead, "quote_requested")
        clock.advance(timedelta(days=1))
        deal_services.deal_win(deal=deal, actor=None)
        w.lead(medium="email")


def _rows() -> set[tuple[date, str, int, int, int]]:
    return set(
        DailyCount.objects.values_list("day", "metric", "channel_id", "campaign_id", "value")
    )


def test_refreshing_twice_changes_nothing(w: World) -> None:
    _busy_month(w)
    assert rollups.rollups_refresh() == 4
    before = _rows()

    assert rollups.rollups_refresh([day(n) for n in range(-2, 6)]) == 8
    assert _rows() == before
    assert dirty_days() == set()


def test_a_rebuild_writes_what_the_refreshes_wrote(w: World) -> None:
    _busy_month(w)
    rollups.rollups_refresh()
    refreshed = _rows()

    written = rollups.rollups_rebuild()

    assert written == len(refreshed)
    assert _rows() == refreshed
    _equal()


def test_events_stored_with_listeners_paused_wait_for_a_rebuild(w: World) -> None:
    with clock.frozen(MONDAY):
        with listeners.paused():
            w.lead()
        assert dirty_days() == set()
        assert rolled(FIRST, LAST) == Counter()

        rollups.rollups_rebuild(FIRST, LAST)

    _equal()
    assert rolled(FIRST, LAST)[(None, "leads", 0, 0)] == 1


def test_the_periodic_task_refreshes_every_dirty_day(w: World) -> None:
    _busy_month(w)

    rollups_refresh_task()

    assert dirty_days() == set()
    assert stored_days() == {day(0), day(1), day(2), day(3)}


def test_a_day_marked_again_while_it_is_refreshed_stays_dirty(
    w: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    with clock.frozen(MONDAY):
        lead = w.lead()
        real = rollups.raw_counts

        def meanwhile(*args, **kwargs):  # type: ignore[no-untyped-def]
            counts = real(*args, **kwargs)
            # another transaction stores an event of that day after the numbers were read
            clock.advance(timedelta(seconds=1))
            goal(lead, "inquiry")
            return counts

        monkeypatch.setattr(rollups, "raw_counts", meanwhile)
        rollups.rollups_refresh()

    assert dirty_days() == {day(0)}
    assert list(DirtyDay.objects.values_list("marked_at", flat=True)) == [
        MONDAY + timedelta(seconds=1)
    ]


def test_only_the_metrics_asked_for_are_read(w: World) -> None:
    _busy_month(w)

    counts = rollups.rollup_counts(FIRST, LAST, metrics={Metric.LEADS, Metric.WON})

    assert {metric for (_d, metric, _ch, _cp) in counts} == {"leads", "won"}
    assert counts[(None, "leads", w.channels["webinar"].pk, w.campaign.pk)] == 1
