"""Segment services: create/update, first builds, refresh diffs with events, static lists,
live entered/left detection when contacts change, demo segments."""

from __future__ import annotations

from typing import Any

import pytest

from sokyaku.activity.models import Event
from sokyaku.contacts import services as contact_services
from sokyaku.core.errors import ValidationError
from sokyaku.segments import services
from sokyaku.segments.models import Segment, SegmentMembership
from tests.segments import factories as f


def where(field: str, op: str, value: Any = None) -> dict[str, Any]:
    return {"op": "and", "conditions": [{"field": field, "op": op, "value": value}]}


def members(segment: Segment) -> set[int]:
    return set(
        SegmentMembership.objects.filter(segment=segment).values_list("contact_id", flat=True)
    )


def segment_events(type: str) -> list[tuple[int | None, Any]]:
    rows = Event.objects.filter(type=type).order_by("contact_id")
    return [(e.contact_id, e.properties["segment"]) for e in rows]


def make(definition: dict[str, Any], name: str = "製造業", **kw: Any) -> Segment:
    return services.segment_create(name=name, kind="dynamic", definition=definition, **kw)


def test_a_new_segment_is_built_without_events(people, django_capture_on_commit_callbacks) -> None:  # type: ignore[no-untyped-def]
    with django_capture_on_commit_callbacks(execute=True):
        segment = make(where("company.industry", "eq", "E"))

    segment.refresh_from_db()
    assert members(segment) == {people["yamada"].pk, people["tanaka"].pk}
    assert segment.member_count == 2
    assert segment.refreshed_at is not None
    assert segment_events("segment_entered") == []


def test_later_refreshes_record_entered_and_left(
    people, now, django_capture_on_commit_callbacks
) -> None:  # type: ignore[no-untyped-def]
    with django_capture_on_commit_callbacks(execute=True):
        segment = make(where("created_at", "within_last_days", 30))
    assert members(segment) == {people["suzuki"].pk, people["tanaka"].pk}

    from sokyaku.core import clock

    clock.advance(f.days(25))
    entered, left = services.segment_refresh(segment=segment)

    assert (entered, left) == (0, 1)
    assert members(segment) == {people["tanaka"].pk}
    assert segment_events("segment_left") == [(people["suzuki"].pk, segment.pk)]
    segment.refresh_from_db()
    assert segment.member_count == 1


def test_contact_change_moves_membership_with_events(
    people, django_capture_on_commit_callbacks
) -> None:  # type: ignore[no-untyped-def]
    with django_capture_on_commit_callbacks(execute=True):
        segment = make(where("title_level", "gte", 4))
    sato = people["sato"]

    with django_capture_on_commit_callbacks(execute=True):
        contact_services.contact_update(
            contact=sato, data=contact_services.ContactInput(title="取締役")
        )

    assert sato.pk in members(segment)
    assert segment_events("segment_entered") == [(sato.pk, segment.pk)]
    with django_capture_on_commit_callbacks(execute=True):
        contact_services.contact_update(
            contact=sato, data=contact_services.ContactInput(title="担当")
        )
    assert sato.pk not in members(segment)
    assert segment_events("segment_left") == [(sato.pk, segment.pk)]
    segment.refresh_from_db()
    assert segment.member_count == 2


def test_an_event_can_make_a_contact_enter(people, now, django_capture_on_commit_callbacks) -> None:  # type: ignore[no-untyped-def]
    with django_capture_on_commit_callbacks(execute=True):
        segment = make(
            {"op": "and", "conditions": [{"event": "cart_abandoned", "within_days": 14}]}
        )
    assert members(segment) == set()

    with django_capture_on_commit_callbacks(execute=True):
        f.event(people["suzuki"], "cart_abandoned", at=now, amount_jpy=5000)

    assert members(segment) == {people["suzuki"].pk}
    assert segment_events("segment_entered") == [(people["suzuki"].pk, segment.pk)]


def test_segment_events_do_not_trigger_refreshes(
    people, django_capture_on_commit_callbacks
) -> None:  # type: ignore[no-untyped-def]
    from django.db import transaction

    from sokyaku.activity import listeners

    with django_capture_on_commit_callbacks(execute=True):
        make(where("title_level", "gte", 4))
    with django_capture_on_commit_callbacks(execute=True):
        contact_services.contact_update(
            contact=people["sato"], data=contact_services.ContactInput(title="取締役")
        )
    before = Event.objects.count()
    rows = list(Event.objects.filter(type__in=["segment_entered", "segment_left"]))
    (segments,) = listeners.reactions_for(["segments"])
    assert rows and not [row for row in rows if segments.wants(row)]
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        listeners.listeners_run(rows)  # as if they had just been stored
    assert Event.objects.count() == before


def test_membership_of_another_segment(people, django_capture_on_commit_callbacks) -> None:  # type: ignore[no-untyped-def]
    with django_capture_on_commit_callbacks(execute=True):
        seniors = make(where("title_level", "gte", 4), name="部長以上")
        tokyo = make(
            {
                "op": "and",
                "conditions": [
                    {"field": "segment", "op": "eq", "value": seniors.pk},
                    {"field": "company.prefecture", "op": "eq", "value": 13},
                ],
            },
            name="東京の部長以上",
        )
    assert members(tokyo) == {people["yamada"].pk, people["tanaka"].pk}
    with pytest.raises(ValidationError) as caught:
        services.segment_update(
            segment=seniors,
            name="部長以上",
            definition=where("segment", "eq", tokyo.pk),
        )
    assert "definition" in caught.value.field_errors


def test_rename_to_a_taken_name_is_a_field_error(people) -> None:  # type: ignore[no-untyped-def]
    make(where("email", "is_set"), name="A")
    b = make(where("email", "is_set"), name="B")

    with pytest.raises(ValidationError) as caught:
        services.segment_update(segment=b, name="A", definition=where("email", "is_set"))

    assert set(caught.value.field_errors) == {"name"}
    b.refresh_from_db()
    assert b.name == "B"


def test_a_bad_definition_is_refused_and_nothing_changes(people) -> None:  # type: ignore[no-untyped-def]
    segment = make(where("email", "is_set"))

    with pytest.raises(ValidationError) as caught:
        services.segment_update(segment=segment, name="x", definition=where("email", "gte", 3))

    assert "conditions.0.op" in caught.value.field_errors
    segment.refresh_from_db()
    assert segment.name == "製造業"


def test_static_lists_add_and_remove_with_events(people, marketer) -> None:  # type: ignore[no-untyped-def]
    lst = services.segment_create(name="展示会2026", kind="static", actor=marketer)
    ids = [people["yamada"].pk, people["sato"].pk]

    assert services.segment_members_add(segment=lst, contact_ids=ids, actor=marketer) == 2
    assert services.segment_members_add(segment=lst, contact_ids=ids, actor=marketer) == 0
    assert services.segment_members_remove(segment=lst, contact_ids=[people["sato"].pk]) == 1

    lst.refresh_from_db()
    assert members(lst) == {people["yamada"].pk}
    assert lst.member_count == 1
    assert len(segment_events("segment_entered")) == 2
    assert segment_events("segment_left") == [(people["sato"].pk, lst.pk)]


def test_dynamic_segments_refuse_manual_members(people) -> None:  # type: ignore[no-untyped-def]
    segment = make(where("email", "is_set"))

    with pytest.raises(ValidationError):
        services.segment_members_add(segment=segment, contact_ids=[people["sato"].pk])


def test_archived_segments_are_not_refreshed(people, django_capture_on_commit_callbacks) -> None:  # type: ignore[no-untyped-def]
    with django_capture_on_commit_callbacks(execute=True):
        segment = make(where("title_level", "gte", 4))
    services.segment_archive(segment=segment)

    assert services.segment_refresh(segment=segment) == (0, 0)
    assert services.memberships_refresh(contact_ids=[people["sato"].pk]) == {}


def test_hourly_refresh_only_takes_time_relative_segments(
    people, django_capture_on_commit_callbacks
) -> None:  # type: ignore[no-untyped-def]
    with django_capture_on_commit_callbacks(execute=True):
        make(where("created_at", "within_last_days", 30), name="新規")
        make(where("title_level", "gte", 4), name="部長")

    assert services.segments_refresh_due(time_relative_only=True) == 1
    assert services.segments_refresh_due(time_relative_only=False) == 2


def test_demo_segments_are_created_and_built_quietly(people, now) -> None:  # type: ignore[no-untyped-def]
    f.event(people["yamada"], "asset_downloaded", at=now - f.days(40), asset="wp")

    services.segments_demo_setup()
    services.segments_demo_setup()

    names = set(Segment.objects.values_list("name", flat=True))
    assert {"ホットリード", "製造業の部長以上", "資料DL後30日未訪問"} <= names
    assert members(Segment.objects.get(name="製造業の部長以上")) == {
        people["yamada"].pk,
        people["tanaka"].pk,
    }
    assert members(Segment.objects.get(name="資料DL後30日未訪問")) == {people["yamada"].pk}
    assert segment_events("segment_entered") == []
