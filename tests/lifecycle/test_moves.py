"""stage_change: the one writer of stages, with append-only history and an event per move."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from sokyaku.activity.models import Event, EventType
from sokyaku.core import clock
from sokyaku.core.errors import ValidationError
from sokyaku.lifecycle import selectors, services
from sokyaku.lifecycle.models import ChangeSource, ContactStage, Stage, StageChange
from tests.lifecycle.factories import contact_make

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 4, 1, 10, 0, tzinfo=clock.TOKYO)


def test_history_is_kept_when_a_contact_moves_backwards(sales_rep) -> None:  # type: ignore[no-untyped-def]
    # given a lead that became MQL and then SQL
    with clock.frozen(T0):
        contact = contact_make()
    with clock.frozen(T0 + timedelta(days=1)):
        services.stage_change(contact=contact, to_stage=Stage.MQL, source=ChangeSource.SYSTEM)
    with clock.frozen(T0 + timedelta(days=2)):
        services.stage_change(
            contact=contact, to_stage=Stage.SQL, source=ChangeSource.USER, actor=sales_rep
        )
    # when the rep recycles it
    with clock.frozen(T0 + timedelta(days=3)):
        services.contact_recycle(contact=contact, reason="予算なし（来期再検討）", actor=sales_rep)
    # then every move is in the history, in order, and the current stage is recycled
    history = list(selectors.stage_history(contact_id=contact.pk))
    assert [(c.from_stage, c.to_stage) for c in history] == [
        ("", "lead"),
        ("lead", "mql"),
        ("mql", "sql"),
        ("sql", "recycled"),
    ]
    assert history[-1].reason == "予算なし（来期再検討）"
    assert history[-1].actor == sales_rep
    assert selectors.stage_get(contact_id=contact.pk) == Stage.RECYCLED
    assert ContactStage.objects.get(contact=contact).entered_at == T0 + timedelta(days=3)


def test_each_move_records_a_lifecycle_changed_event(sales_rep) -> None:  # type: ignore[no-untyped-def]
    # given a lead
    contact = contact_make()
    # when a rep disqualifies it
    services.contact_disqualify(contact=contact, reason="競合他社", actor=sales_rep)
    # then the timeline has the move, as the rep's action
    event = Event.objects.get(contact=contact, type=EventType.LIFECYCLE_CHANGED)
    assert event.properties["from"] == "lead"
    assert event.properties["to"] == "disqualified"
    assert event.properties["reason"] == "競合他社"
    assert event.source == "ui"


def test_moving_to_the_current_stage_changes_nothing() -> None:
    # given a lead
    contact = contact_make()
    # when it is "moved" to lead
    result = services.stage_change(contact=contact, to_stage=Stage.LEAD, source="system")
    # then nothing is written
    assert result is None
    assert StageChange.objects.filter(contact=contact).count() == 1


@pytest.mark.parametrize(
    ("to_stage", "reason", "field"),
    [
        ("won", "", "to_stage"),
        (Stage.RECYCLED, "", "reason"),
        (Stage.DISQUALIFIED, "   ", "reason"),
        (Stage.DISQUALIFIED, "x" * 301, "reason"),
    ],
)
def test_bad_moves_are_refused_and_change_nothing(to_stage: str, reason: str, field: str) -> None:
    # given a lead
    contact = contact_make()
    # when a bad move is asked for
    with pytest.raises(ValidationError) as error:
        services.stage_change(contact=contact, to_stage=to_stage, source="user", reason=reason)
    # then the error names the field and the contact stays a lead
    assert field in error.value.field_errors
    assert selectors.stage_get(contact_id=contact.pk) == Stage.LEAD


def test_stage_of_answers_lead_for_contacts_without_a_row() -> None:
    # given a contact whose stage row is missing (created before lifecycle existed)
    contact = contact_make()
    other = contact_make(email="b@example.jp", family_name="佐藤")
    ContactStage.objects.filter(contact=contact).delete()
    services.stage_change(contact=other, to_stage=Stage.MQL, source="system")
    # when the stages are read
    stages = selectors.stage_of(contact_ids=[contact.pk, other.pk])
    # then the missing one counts as lead
    assert stages == {contact.pk: "lead", other.pk: "mql"}
