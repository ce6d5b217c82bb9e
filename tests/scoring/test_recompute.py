"""The set-based recompute gives exactly what incremental scoring gave, event by event."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sokyaku.activity.events import event_build
from sokyaku.activity.models import Event, EventSource, EventType
from sokyaku.activity.services import event_ingest_batch
from sokyaku.contacts.models import Contact
from sokyaku.core import clock
from sokyaku.scoring.models import RecomputeStatus, ScoreEntry, ScoreState
from sokyaku.scoring.selectors import scores_for
from sokyaku.scoring.services import (
    PRESET,
    recompute_execute,
    recompute_start,
    ruleset_publish,
)
from tests.scoring.factories import START, make_contact

DEFINITION = {
    **PRESET,
    "half_life_days": 7,
    "rules": [
        *PRESET["rules"],
        {"kind": "behaviour", "name": "opens", "event_type": "email_opened", "points": 2,
         "conditions": [], "cap": 2, "cap_period": "week"},
        {"kind": "behaviour", "name": "long webinar", "event_type": "webinar_attended",
         "points": 7, "conditions": [{"field": "minutes", "op": "gte", "value": 30}],
         "cap": None, "cap_period": ""},
        {"kind": "behaviour", "name": "not ads", "event_type": "page_view", "points": 1,
         "conditions": [{"field": "utm_medium", "op": "not_in", "value": ["cpc", "display"]},
                        {"field": "title", "op": "is_set", "value": True}],
         "cap": 1, "cap_period": "day"},
        {"kind": "behaviour", "name": "api pricing", "event_type": "page_view", "points": 3,
         "conditions": [{"field": "url", "op": "startswith", "value": "/PRICING"},
                        {"field": "source", "op": "eq", "value": "api"}],
         "cap": None, "cap_period": ""},
        {"kind": "fit", "name": "tagged", "points": 4,
         "conditions": [{"field": "tags", "op": "in", "value": ["展示会"]}]},
    ],
}  # fmt: skip


def _props(base, **optional):
    return {**base, **{key: value for key, value in optional.items() if value is not None}}


_event = st.one_of(
    st.builds(
        lambda url, title, medium: (
            "page_view",
            {"url": url, "title": title, **({"utm_medium": medium} if medium else {})},
        ),
        st.sampled_from(["/product/a", "/Product", "/pricing/x", "/blog", "https://x/product"]),
        st.sampled_from(["", "製品", None]),
        st.sampled_from([None, "cpc", "email", 3]),
    ),
    st.builds(
        lambda machine: ("email_opened", _props({"message_id": "m"}, machine=machine)),
        st.sampled_from([None, True, False, "true"]),
    ),
    st.builds(
        lambda minutes: ("webinar_attended", _props({"webinar": "w"}, minutes=minutes)),
        st.sampled_from([None, 10, 30, 45.5]),
    ),
    st.just(("asset_downloaded", {"asset": "a"})),
    st.just(("inquiry", {})),
)  # fmt: skip
_batch = st.lists(
    st.tuples(
        st.integers(0, 2),  # which contact
        st.integers(0, 20 * 86400),  # seconds after START, in any order
        _event,
    ),
    min_size=1,
    max_size=25,
)


def _ingest(contacts, batch):
    event_ingest_batch(
        events=[
            event_build(
                type=type,
                occurred_at=START + timedelta(seconds=offset),
                source=EventSource.API,
                properties=props,
                contact_id=contacts[who].pk,
            )
            for who, offset, (type, props) in batch
        ]
    )


def _snapshot(contacts):
    at = START + timedelta(days=25)
    scores = scores_for(contact_ids=[c.pk for c in contacts], at=at)
    entries = sorted(ScoreEntry.objects.values_list("contact_id", "event_id", "points"))
    return scores, entries


@pytest.mark.django_db
@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(batches=st.lists(_batch, min_size=1, max_size=4))
def test_recompute_equals_incremental(batches):
    Contact.objects.all().delete()  # hypothesis runs every example in one test transaction
    with clock.frozen(START + timedelta(days=21)):
        ruleset = ruleset_publish(definition=DEFINITION)
        contacts = [
            make_contact(1, title="部長", company="A社", industry="G", employees=500),
            make_contact(2, tags=["展示会"]),
            make_contact(3),
        ]
        # given events arriving in several batches, out of order
        for batch in batches:
            _ingest(contacts, batch)
        incremental = _snapshot(contacts)
        # when everything is recomputed set-based
        run = recompute_execute(run_id=recompute_start(ruleset=ruleset).pk)
        recomputed = _snapshot(contacts)
    # then the ledger is the same and every score agrees within 1e-6
    assert run.status == RecomputeStatus.DONE
    assert recomputed[1] == incremental[1]
    for contact in contacts:
        before, after = incremental[0][contact.pk], recomputed[0][contact.pk]
        assert after.engagement == pytest.approx(before.engagement, abs=1e-6)
        assert (after.fit, after.temperature) == (before.fit, before.temperature)


@pytest.mark.django_db
def test_recompute_reports_progress_and_band_changes():
    with clock.frozen(START):
        contact = make_contact(title="部長", company="B社", industry="E", employees=100)
        event_ingest_batch(
            events=[
                event_build(type=EventType.INQUIRY, occurred_at=START, source=EventSource.API,
                            contact_id=contact.pk)
            ]
        )  # fmt: skip
        # no rule set yet: nothing scored
        assert not ScoreState.objects.filter(contact=contact).exists()
        ruleset = ruleset_publish(definition=PRESET)
        run = recompute_execute(run_id=recompute_start(ruleset=ruleset).pk)
    state = ScoreState.objects.get(contact=contact)
    assert (run.done, run.total) == (1, 1)
    assert (state.fit, round(state.engagement, 6), state.temperature) == (23, 30.0, "hot")
    changed = Event.objects.get(contact=contact, type=EventType.SCORE_BAND_CHANGED)
    assert changed.properties == {"from": "cold", "to": "hot", "score": 53.0}
    assert state.band_drops_at is not None


@pytest.mark.django_db
def test_demo_rebuild_installs_the_preset_and_scores_a_bulk_load():
    from sokyaku.activity import listeners
    from sokyaku.scoring.services import scoring_demo_rebuild

    with clock.frozen(START):
        contact = make_contact(title="部長", company="C社", industry="G", employees=1000)
        # given events loaded with the listeners paused (nothing scored on the way in)
        with listeners.paused():
            event_ingest_batch(
                events=[
                    event_build(type=EventType.WEBINAR_ATTENDED, occurred_at=START,
                                source=EventSource.DEMO, properties={"webinar": "w"},
                                contact_id=contact.pk)
                ]
            )  # fmt: skip
        # when the demo loader rebuilds the scores
        scoring_demo_rebuild()
        score = scores_for(contact_ids=[contact.pk])[contact.pk]
    # then the preset is active and the contact is scored from its events
    assert (round(score.engagement, 6), score.fit, score.temperature) == (15.0, 23, "warm")
