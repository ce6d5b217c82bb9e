"""Behaviour conditions (events with property filters, counts, windows, negation) and consent."""

from __future__ import annotations

from typing import Any

from sokyaku.consent import selectors as consent_selectors
from sokyaku.contacts.models import Contact
from sokyaku.core import clock
from sokyaku.segments.conditions import definition_queryset
from tests.segments import factories as f

ALL = {"yamada", "suzuki", "sato", "tanaka"}


def names(people: dict[str, Contact], *conditions: dict[str, Any], op: str = "and") -> set[str]:
    ids = set(
        definition_queryset({"op": op, "conditions": list(conditions)}).values_list("pk", flat=True)
    )
    return {name for name, contact in people.items() if contact.pk in ids}


def did(event: str, **options: Any) -> dict[str, Any]:
    return {"event": event, **options}


def test_event_counts_windows_and_property_filters(people, now) -> None:  # type: ignore[no-untyped-def]
    f.event(people["yamada"], "asset_downloaded", at=now - f.days(5), asset="wp-1")
    f.event(people["yamada"], "asset_downloaded", at=now - f.days(60), asset="wp-2")
    f.event(people["suzuki"], "asset_downloaded", at=now - f.days(100), asset="wp-1")

    assert names(people, did("asset_downloaded")) == {"yamada", "suzuki"}
    assert names(people, did("asset_downloaded", within_days=30)) == {"yamada"}
    assert names(people, did("asset_downloaded", within_days=120)) == {"yamada", "suzuki"}
    wp2 = [{"field": "asset", "op": "eq", "value": "wp-2"}]
    assert names(people, did("asset_downloaded", where=wp2)) == {"yamada"}
    assert names(people, did("asset_downloaded", where=wp2, within_days=30)) == set()
    assert names(people, did("asset_downloaded", min_count=2)) == {"yamada"}
    assert names(people, did("asset_downloaded", min_count=2, within_days=30)) == set()
    not_wp1 = [{"field": "asset", "op": "ne", "value": "wp-1"}]
    assert names(people, did("asset_downloaded", where=not_wp1)) == {"yamada"}


def test_negated_event_is_did_not(people, now) -> None:  # type: ignore[no-untyped-def]
    f.event(people["yamada"], "asset_downloaded", at=now - f.days(5), asset="wp-1")

    assert names(people, did("asset_downloaded", within_days=30, negate=True)) == ALL - {"yamada"}


def test_windows_move_with_the_clock(people, now) -> None:  # type: ignore[no-untyped-def]
    f.event(people["sato"], "page_view", at=now - f.days(1), url="https://x.example/a")
    f.event(people["sato"], "page_view", at=now - f.days(2), url="https://x.example/b")
    f.event(people["sato"], "page_view", at=now - f.days(8), url="https://x.example/pricing")
    three = did("page_view", min_count=3, within_days=10)

    assert names(people, three) == {"sato"}
    clock.advance(f.days(3))
    assert names(people, three) == set()
    assert names(people, did("page_view", min_count=2, within_days=10)) == {"sato"}


def test_events_after_the_evaluation_time_do_not_count(people, now) -> None:  # type: ignore[no-untyped-def]
    f.event(people["sato"], "purchase", at=now + f.days(1), amount_jpy=1000)

    assert names(people, did("purchase")) == set()


def test_property_filters_on_numbers_text_and_flags(people, now) -> None:  # type: ignore[no-untyped-def]
    f.event(people["yamada"], "purchase", at=now - f.days(1), amount_jpy=12000)
    f.event(people["suzuki"], "purchase", at=now - f.days(1), amount_jpy=800)
    f.event(people["sato"], "email_opened", at=now - f.days(1), message_id="m1", machine=True)
    f.event(people["tanaka"], "email_opened", at=now - f.days(1), message_id="m2")
    f.event(people["yamada"], "page_view", at=now - f.days(1), url="https://x.example/Pricing")

    big = [{"field": "amount_jpy", "op": "gte", "value": 10000}]
    assert names(people, did("purchase", where=big)) == {"yamada"}
    small = [{"field": "amount_jpy", "op": "lt", "value": 1000}]
    assert names(people, did("purchase", where=small)) == {"suzuki"}
    human = [{"field": "machine", "op": "ne", "value": True}]
    assert names(people, did("email_opened", where=human)) == {"tanaka"}
    machine = [{"field": "machine", "op": "eq", "value": True}]
    assert names(people, did("email_opened", where=machine)) == {"sato"}
    pricing = [{"field": "url", "op": "contains", "value": "pricing"}]
    assert names(people, did("page_view", where=pricing)) == {"yamada"}
    flagged = [{"field": "machine", "op": "is_set", "value": None}]
    assert names(people, did("email_opened", where=flagged)) == {"sato"}


def test_behaviour_and_attributes_combine(people, now) -> None:  # type: ignore[no-untyped-def]
    f.event(people["yamada"], "asset_downloaded", at=now - f.days(5), asset="wp-1")
    f.event(people["suzuki"], "asset_downloaded", at=now - f.days(5), asset="wp-1")

    found = names(
        people,
        {"field": "company.employees", "op": "gte", "value": 100},
        {"field": "title_level", "op": "gte", "value": 4},
        did("asset_downloaded", within_days=90),
    )
    assert found == {"yamada"}
    either = names(
        people,
        did("asset_downloaded", within_days=90),
        {"field": "title_level", "op": "gte", "value": 5},
        op="or",
    )
    assert either == {"yamada", "suzuki", "tanaka"}


def test_consent_matches_the_ledger_rules(people, now) -> None:  # type: ignore[no-untyped-def]
    yamada, suzuki, sato, tanaka = (people[n] for n in ("yamada", "suzuki", "sato", "tanaka"))
    f.consent(yamada, topic_key="newsletter", status="granted", basis="opt_in", at=now - f.days(9))
    f.consent(
        suzuki, topic_key="newsletter", status="granted", basis="business_card", at=now - f.days(9)
    )
    f.consent(suzuki, topic_key=None, status="withdrawn", at=now - f.days(8))
    f.consent(
        sato, topic_key="newsletter", status="granted", basis="business_card", at=now - f.days(9)
    )
    f.consent(sato, topic_key="newsletter", status="withdrawn", at=now - f.days(8))
    f.consent(
        sato, topic_key="newsletter", status="granted", basis="business_card", at=now - f.days(7)
    )
    f.consent(tanaka, topic_key="newsletter", status="pending", basis="opt_in", at=now - f.days(7))
    granted = {"field": "consent.newsletter", "op": "eq", "value": True}

    assert names(people, granted) == {"yamada"}
    assert names(people, {**granted, "value": False}) == ALL - {"yamada"}
    f.consent(sato, topic_key="newsletter", status="granted", basis="opt_in", at=now - f.days(1))
    assert names(people, granted) == {"yamada", "sato"}
    python_reading = {
        name
        for name, contact in people.items()
        if consent_selectors.may_send(contact_id=contact.pk, topic_key="newsletter")
    }
    assert names(people, granted) == python_reading


def test_consent_of_another_topic_does_not_count(people, now) -> None:  # type: ignore[no-untyped-def]
    f.topic("newsletter")
    f.consent(people["yamada"], topic_key="seminars", status="granted", basis="opt_in", at=now)

    assert names(people, {"field": "consent.newsletter", "op": "eq", "value": True}) == set()
    assert names(people, {"field": "consent.seminars", "op": "eq", "value": True}) == {"yamada"}
