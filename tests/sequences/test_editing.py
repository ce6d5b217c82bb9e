"""Editing a sequence's steps through ``sequences.services.editing``: inserting between two
steps, moving a step anywhere and removing one keep the positions 1…n, make every branch keep
leading to the same step below it, and refuse (changing nothing) what would send a branch
backwards."""

from __future__ import annotations

import pytest

from sokyaku.core.errors import ValidationError
from sokyaku.sequences.models import Enrollment, Sequence, Step, StepKind
from sokyaku.sequences.services.editing import (
    StepInput,
    step_add,
    step_move,
    step_move_to,
    step_remove,
)
from sokyaku.sequences.services.enrollment import sequence_enroll
from tests.sequences.factories import contact_make, email, sequence_make, wait

pytestmark = pytest.mark.django_db


def _names(sequence: Sequence) -> list[str]:
    return list(
        Step.objects.filter(sequence=sequence).order_by("position").values_list("name", flat=True)
    )


def _positions(sequence: Sequence) -> list[int]:
    return list(
        Step.objects.filter(sequence=sequence)
        .order_by("position")
        .values_list("position", flat=True)
    )


def _step(sequence: Sequence, name: str) -> Step:
    return Step.objects.get(sequence=sequence, name=name)


def _branch_targets(sequence: Sequence) -> tuple[str, str]:
    """The names of the steps the branch's yes and no lead to ("end" past the last step)."""
    branch = _step(sequence, "分岐")
    by_position = {s.position: s.name for s in Step.objects.filter(sequence=sequence)}
    return (
        by_position.get(branch.config["yes"], "end"),
        by_position.get(branch.config["no"], "end"),
    )


def _three_mails_with_branch(*, active: bool = False) -> Sequence:
    """1 mail1, 2 wait, 3 branch (opened? yes → 4 mail2, no → 5 mail3)."""
    return sequence_make(
        active=active,
        steps=[
            email(name="1通目"),
            StepInput(StepKind.WAIT, "待機", {"amount": 3, "unit": "business_days"}),
            StepInput(
                StepKind.BRANCH, "分岐", {"condition": {"kind": "opened"}, "yes": 4, "no": 5}
            ),
            email(name="2通目"),
            email(name="3通目"),
        ],
    )


def test_insert_between_two_steps_shifts_the_rest_and_branch_targets_follow() -> None:
    # given mail1, wait, branch → (yes) mail2 / (no) mail3
    sequence = _three_mails_with_branch()

    # when a wait is inserted between the branch and mail 2
    step_add(
        sequence=sequence,
        data=StepInput(StepKind.WAIT, "追加の待機", {"amount": 1, "unit": "days"}),
        position=4,
    )

    # then positions stay 1…6 and the branch still leads to mail 2's place (now the new wait,
    # which comes first on that path) and to mail 3
    assert _names(sequence) == ["1通目", "待機", "分岐", "追加の待機", "2通目", "3通目"]
    assert _positions(sequence) == [1, 2, 3, 4, 5, 6]
    assert _step(sequence, "分岐").config["yes"] == 4
    assert _branch_targets(sequence) == ("追加の待機", "3通目")


def test_insert_above_a_branch_moves_its_targets_down_with_their_steps() -> None:
    sequence = _three_mails_with_branch()

    step_add(sequence=sequence, data=email(name="0通目"), position=1)

    assert _names(sequence)[0] == "0通目"
    assert _branch_targets(sequence) == ("2通目", "3通目")


def test_a_new_branch_names_targets_in_the_order_after_the_insert() -> None:
    # given mail1, wait, mail2, mail3
    sequence = sequence_make(
        active=False,
        steps=[email(name="1通目"), wait(3), email(name="2通目"), email(name="3通目")],
    )

    # when a branch is inserted at 3 leading to mail2 (now 4) or mail3 (now 5)
    step_add(
        sequence=sequence,
        data=StepInput(
            StepKind.BRANCH, "分岐", {"condition": {"kind": "clicked"}, "yes": 4, "no": 5}
        ),
        position=3,
    )

    # then the targets are exactly those steps
    assert _branch_targets(sequence) == ("2通目", "3通目")


def test_a_new_branch_cannot_lead_past_the_end() -> None:
    sequence = sequence_make(active=False, steps=[email(name="1通目")])

    with pytest.raises(ValidationError) as exc:
        step_add(
            sequence=sequence,
            data=StepInput(StepKind.BRANCH, "分岐", {"condition": {"kind": "opened"}, "yes": 9}),
        )

    assert "yes" in exc.value.field_errors
    assert _names(sequence) == ["1通目"]


def test_move_a_step_to_any_place_keeps_branch_targets_on_their_steps() -> None:
    sequence = _three_mails_with_branch()

    # when mail 3 is dragged above mail 2
    step_move_to(step=_step(sequence, "3通目"), position=4)

    # then the order changed and the branch still sends "yes" to mail 2 and "no" to mail 3
    assert _names(sequence) == ["1通目", "待機", "分岐", "3通目", "2通目"]
    assert _positions(sequence) == [1, 2, 3, 4, 5]
    assert _branch_targets(sequence) == ("2通目", "3通目")


def test_move_to_the_top_and_back_down() -> None:
    sequence = _three_mails_with_branch()

    step_move_to(step=_step(sequence, "待機"), position=1)
    assert _names(sequence)[:3] == ["待機", "1通目", "分岐"]

    step_move_to(step=_step(sequence, "待機"), position=99)  # clamped to the last place
    assert _names(sequence) == ["1通目", "分岐", "2通目", "3通目", "待機"]
    assert _branch_targets(sequence) == ("2通目", "3通目")


def test_a_move_that_would_send_a_branch_backwards_is_refused_and_changes_nothing() -> None:
    sequence = _three_mails_with_branch()
    before = list(Step.objects.filter(sequence=sequence).order_by("position").values())

    # when the branch is dragged below its own "no" target
    with pytest.raises(ValidationError) as exc:
        step_move_to(step=_step(sequence, "分岐"), position=5)

    # then nothing moved
    assert "position" in exc.value.field_errors
    assert list(Step.objects.filter(sequence=sequence).order_by("position").values()) == before

    # and so is moving it one place down, below its own "yes" target
    with pytest.raises(ValidationError):
        step_move(step=_step(sequence, "分岐"), direction=1)
    assert list(Step.objects.filter(sequence=sequence).order_by("position").values()) == before


def test_removing_a_branch_target_leads_the_branch_to_the_next_step() -> None:
    sequence = _three_mails_with_branch()

    step_remove(step=_step(sequence, "2通目"))

    assert _positions(sequence) == [1, 2, 3, 4]
    assert _branch_targets(sequence) == ("3通目", "3通目")


def test_removing_the_last_target_ends_the_sequence_on_that_path() -> None:
    sequence = _three_mails_with_branch()

    step_remove(step=_step(sequence, "3通目"))

    assert _branch_targets(sequence) == ("2通目", "end")


def test_enrolments_keep_their_next_step_when_steps_move() -> None:
    # given a contact waiting for mail 2 (position 4)
    sequence = _three_mails_with_branch(active=True)
    enrollment = sequence_enroll(sequence=sequence, contact=contact_make())
    Enrollment.objects.filter(pk=enrollment.pk).update(position=4)

    # when mail 2 is moved to the end
    step_move_to(step=_step(sequence, "2通目"), position=5)

    # then the contact still waits for mail 2, at its new place
    enrollment.refresh_from_db()
    assert enrollment.position == _step(sequence, "2通目").position == 5
