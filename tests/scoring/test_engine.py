"""Incremental scoring with the preset: points, exact decay, bands that drop on time, caps."""

from __future__ import annotations

from datetime import timedelta

import pytest

from sokyaku.activity.models import Event, EventType
from sokyaku.core import clock
from sokyaku.scoring.models import ScoreEntry, ScoreState
from sokyaku.scoring.selectors import score_get
from sokyaku.scoring.services import (
    PRESET,
    band_drops_process,
    preset_install_if_missing,
    ruleset_publish,
)
from tests.scoring.factories import START, event, make_contact

pytestmark = pytest.mark.django_db


@pytest.fixture
def preset():
    with clock.frozen(START - timedelta(days=1)):
        return preset_install_if_missing()


def _director():
    return make_contact(
        title="営業部長", company="株式会社テスト製作所", industry="E", employees=300
    )


def _band_events(contact):
    return list(
        Event.objects.filter(contact=contact, type=EventType.SCORE_BAND_CHANGED)
        .order_by("id")
        .values_list("properties", flat=True)
    )


def test_director_who_does_everything_is_hot(preset):
    with clock.frozen(START):
        # given a 部長 at a 300-person manufacturer
        contact = _director()
        # when they view a product page, download, attend a webinar and inquire
        event(contact, "page_view", START, url="https://example.jp/product/ma")
        event(contact, "asset_downloaded", START, asset="whitepaper")
        event(contact, "webinar_attended", START, webinar="MA入門")
        event(contact, "inquiry", START)
        # then engagement 60 + fit 23 = 83: hot
        score = score_get(contact_id=contact.pk)
    assert score.engagement == pytest.approx(60)
    assert score.fit == 23
    assert score.total == pytest.approx(83)
    assert score.temperature == "hot"
    assert [p["to"] for p in _band_events(contact)] == ["warm", "hot"]


def test_engagement_halves_after_exactly_one_half_life(preset):
    with clock.frozen(START):
        contact = make_contact()
        event(contact, "webinar_attended", START, webinar="MA入門")
        event(contact, "inquiry", START)
    later = START + timedelta(days=30)
    assert score_get(contact_id=contact.pk, at=later).engagement == pytest.approx(22.5)
    assert score_get(contact_id=contact.pk, at=START + timedelta(days=60)).engagement == (
        pytest.approx(11.25)
    )


def test_band_drops_at_the_computed_moment(preset):
    with clock.frozen(START):
        # given a contact without fit at 55 (hot) → drops below 50 after 30·log2(55/50) days
        contact = make_contact()
        event(contact, "inquiry", START)
        event(contact, "webinar_attended", START, webinar="a")
        event(contact, "asset_downloaded", START, asset="b")
        state = ScoreState.objects.get(contact=contact)
    expected = START + timedelta(days=30 * __import__("math").log2(55 / 50))
    assert state.temperature == "hot"
    assert abs((state.band_drops_at - expected).total_seconds()) < 0.01
    # when the worker ticks just before the moment, nothing moves
    assert band_drops_process(now=expected - timedelta(seconds=1)) == 0
    # when it ticks just after, the score is warm and the change is on the timeline
    assert band_drops_process(now=expected + timedelta(seconds=1)) == 1
    state.refresh_from_db()
    assert state.temperature == "warm"
    last = _band_events(contact)[-1]
    assert (last["from"], last["to"]) == ("hot", "warm")
    # and the next drop (below 20) is scheduled: 30·log2(55/20) days after the events
    warm_ends = START + timedelta(days=30 * __import__("math").log2(55 / 20))
    assert abs((state.band_drops_at - warm_ends).total_seconds()) < 0.01


def test_fit_alone_keeps_a_band_so_it_never_drops(preset):
    with clock.frozen(START):
        contact = _director()  # fit 23 ≥ warm 20
        event(contact, "asset_downloaded", START, asset="b")
        state = ScoreState.objects.get(contact=contact)
    assert state.temperature == "warm"
    assert state.band_drops_at is None


def test_product_page_views_count_at_most_five_a_tokyo_day(preset):
    with clock.frozen(START):
        contact = make_contact()
        for minute in range(7):
            event(contact, "page_view", START + timedelta(minutes=minute), url="/product/a")
        # 23:59 Tokyo is still the same day; 00:00 Tokyo the next
        day_end = START.replace(hour=14, minute=59)
        event(contact, "page_view", day_end, url="/product/a")
        event(contact, "page_view", day_end + timedelta(minutes=1), url="/product/a")
        event(contact, "page_view", START, url="/blog/a")  # not a product page
    assert ScoreEntry.objects.filter(contact=contact).count() == 6


def test_a_late_earlier_event_takes_the_capped_slot(preset):
    with clock.frozen(START + timedelta(hours=5)):
        contact = make_contact()
        for minute in range(5):
            event(contact, "page_view", START + timedelta(hours=2, minutes=minute), url="/product")
        # when an event from earlier that day arrives late
        event(contact, "page_view", START, url="/product")
    kept = sorted(ScoreEntry.objects.filter(contact=contact).values_list("occurred_at", flat=True))
    assert kept[0] == START
    assert len(kept) == 5


def test_machine_opens_score_nothing_unless_the_rule_set_says_so(preset):
    from sokyaku.scoring.services import ruleset_export, ruleset_publish

    with clock.frozen(START):
        definition = ruleset_export(ruleset=preset)
        definition["rules"].append(
            {"kind": "behaviour", "name": "open", "event_type": "email_opened", "points": 1,
             "conditions": [], "cap": None, "cap_period": ""}
        )  # fmt: skip
        ruleset_publish(definition=definition)
        contact = make_contact()
        event(contact, "email_opened", START, message_id="m1", machine=True)
        event(contact, "email_opened", START, message_id="m2")
        assert score_get(contact_id=contact.pk).engagement == pytest.approx(1)
        definition["score_machine_opens"] = True
        ruleset_publish(definition=definition)
        event(contact, "email_opened", START, message_id="m3", machine=True)
    assert ScoreEntry.objects.filter(contact=contact).count() == 2


def test_fit_follows_attribute_changes(preset):
    from sokyaku.contacts.services import ContactInput, contact_upsert

    with clock.frozen(START):
        contact = make_contact(title="担当")
        assert score_get(contact_id=contact.pk).fit == 0
        contact_upsert(data=ContactInput(email=contact.email, title="取締役"))
    assert score_get(contact_id=contact.pk).fit == 10


def test_one_event_costs_a_handful_of_queries(preset, django_assert_max_num_queries):
    with clock.frozen(START):
        contact = make_contact()
        # the ingest's insert and savepoints (5), then scoring: rule set, lock the score row,
        # the cap check, the ledger row, the score update (5), and the row that records the
        # after-commit reactions the transaction owes (1: nothing lives only in the queue)
        with django_assert_max_num_queries(11):
            event(contact, "page_view", START, url="/product/x")
    assert score_get(contact_id=contact.pk, at=START).engagement == pytest.approx(5)


def test_a_large_batch_is_scored_set_based_with_the_same_result(preset, monkeypatch):
    from sokyaku.scoring.services import engine
    from tests.scoring.factories import events

    with clock.frozen(START):
        people = [make_contact(n) for n in range(3)]
        rows = [(p.pk, "page_view", START + timedelta(minutes=m), {"url": "/product"})
                for p in people for m in range(7)]  # fmt: skip
        events(rows[:7])  # incremental: one contact
        monkeypatch.setattr(engine, "BULK_CONTACTS", 1)
        events(rows[7:])  # set-based: two contacts
        scores = [score_get(contact_id=p.pk).engagement for p in people]
    assert scores[1:] == [pytest.approx(scores[0], abs=1e-9)] * 2
    assert scores[0] == pytest.approx(25, rel=1e-3)
    assert ScoreEntry.objects.count() == 15


def test_a_merge_gives_the_winner_the_losers_points(preset):
    from sokyaku.contacts.services import contact_merge

    with clock.frozen(START):
        winner, loser = make_contact(1), make_contact(2)
        event(winner, "inquiry", START)
        event(loser, "webinar_attended", START, webinar="w")
        contact_merge(winner=winner, loser=loser)
        assert score_get(contact_id=winner.pk).engagement == pytest.approx(45)


@pytest.mark.parametrize(
    ("event_type", "properties", "points"),
    [
        ("demo_requested", {"product": "MA"}, 60),
        ("quote_requested", {}, 60),
        ("trial_started", {}, 40),
        ("inquiry", {}, 30),
        ("page_view", {"url": "https://sample.example/pricing/", "title": "料金プラン"}, 10),
        ("page_view", {"url": "https://sample.example/contact/", "title": "お問い合わせ"}, 10),
    ],
)
def test_the_preset_scores_the_strongest_signals_of_the_seeds(event_type, properties, points):
    # given the preset and a contact without fit (seed 003: price and contact pages show need)
    with clock.frozen(START):
        ruleset_publish(definition=PRESET)
        contact = make_contact(1)
        # when the contact does it (a page twice: once a day counts)
        event(contact, event_type, START, **properties)
        if event_type == "page_view":
            event(contact, event_type, START + timedelta(minutes=5), **properties)
    # then it is worth the preset's points
    assert score_get(contact_id=contact.pk, at=START).total == pytest.approx(points)


def test_a_demo_requester_without_any_fit_is_hot_and_stays_hot_for_a_week():
    with clock.frozen(START):
        ruleset_publish(definition=PRESET)
        contact = make_contact(1)
        event(contact, "demo_requested", START, product="MA")
    assert score_get(contact_id=contact.pk, at=START + timedelta(minutes=5)).temperature == "hot"
    assert score_get(contact_id=contact.pk, at=START + timedelta(days=7)).temperature == "hot"
