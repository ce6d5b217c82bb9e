"""The tick: steps, waits in business days, the send window, branches, exits, pause/resume and
exactly-once — driven by moving the clock."""

from __future__ import annotations

from datetime import timedelta

import pytest

from sokyaku.activity import services as activity_services
from sokyaku.activity.events import event_build
from sokyaku.activity.models import EventSource
from sokyaku.consent.models import ConsentStatus
from sokyaku.consent.services import Evidence, consent_record
from sokyaku.core import clock
from sokyaku.core.calendar import TOKYO
from sokyaku.messaging.models import Message
from sokyaku.messaging.services.frequency import frequency_cap_update
from sokyaku.sequences.models import EnrollmentStatus, StepKind, StepRun
from sokyaku.sequences.services.editing import StepInput, sequence_pause, sequence_resume
from sokyaku.sequences.services.enrollment import enrollment_exit, sequence_enroll
from sokyaku.sequences.services.tick import sequences_tick
from tests.sequences.factories import (
    contact_make,
    email,
    sequence_make,
    template_make,
    tokyo,
    wait,
)

pytestmark = pytest.mark.django_db


def _sent_days(contact_id: int) -> list[str]:
    rows = Message.objects.filter(contact_id=contact_id).order_by("created_at", "id")
    return [m.created_at.astimezone(TOKYO).strftime("%m-%d %H:%M") for m in rows]


def _run_days(start, days: int) -> None:  # type: ignore[no-untyped-def]
    """Tick on every full and half hour for ``days`` days (the clock is frozen at ``start``),
    like the every-minute worker tick at a coarser grain."""
    local = clock.now().astimezone(TOKYO)
    clock.advance(timedelta(minutes=(30 - local.minute % 30) % 30, seconds=-local.second))
    sequences_tick()
    for _ in range(days * 48):
        clock.advance(timedelta(minutes=30))
        sequences_tick()


def _event(contact_id: int, type: str, **properties: object) -> None:
    activity_services.event_ingest(
        event=event_build(
            type=type,
            occurred_at=clock.now(),
            source=EventSource.SYSTEM,
            properties=properties,
            contact_id=contact_id,
        )
    )


def test_three_mails_on_business_days_across_a_national_holiday() -> None:
    # given the seed's scenario: mail 1 at once, 4 business days, mail 2, 6 business days, mail 3
    with clock.frozen(tokyo(2026, 11, 19, 10, 0)):  # Thursday
        sequence = sequence_make(steps=[email(), wait(4), email(), wait(6), email()])
        contact = contact_make()
        sequence_enroll(sequence=sequence, contact=contact)
        # when the clock runs for three weeks
        sequences_tick()
        _run_days(clock.now(), 21)
    # then mail 2 skips 勤労感謝の日 (Mon 11/23) and mail 3 comes 6 business days later
    assert _sent_days(contact.pk) == ["11-19 10:00", "11-26 10:00", "12-04 10:00"]


def test_a_late_enrolment_waits_for_the_window() -> None:
    with clock.frozen(tokyo(2026, 11, 20, 20, 15)):  # Friday evening before a holiday Monday
        sequence = sequence_make()
        enrollment = sequence_enroll(sequence=sequence, contact=contact_make())
        sequences_tick()
        enrollment.refresh_from_db()
        assert enrollment.next_run_at == tokyo(2026, 11, 24, 9, 0)
        assert not Message.objects.exists()
        _run_days(clock.now(), 4)
    assert Message.objects.get().created_at == tokyo(2026, 11, 24, 9, 0)


def test_a_tick_twice_at_the_same_moment_sends_once() -> None:
    with clock.frozen(tokyo(2026, 11, 25, 10, 0)):
        # (two mails back to back: without a frequency cap, both go in the first tick)
        frequency_cap_update(per_day=0, sequences=True, broadcasts=True, actor=None)
        sequence = sequence_make(steps=[email(), email()])
        enrollment = sequence_enroll(sequence=sequence, contact=contact_make())
        assert sequences_tick() == 1
        assert sequences_tick() == 0
    assert Message.objects.filter(enrollment_id=enrollment.pk).count() == 2
    assert StepRun.objects.filter(enrollment=enrollment).count() == 2


@pytest.mark.parametrize(("opened", "expected"), [(True, "yes-mail"), (False, "no-mail")])
def test_branch_on_whether_the_previous_mail_was_opened(opened: bool, expected: str) -> None:
    with clock.frozen(tokyo(2026, 11, 25, 10, 0)):
        yes, no = template_make("yes-mail"), template_make("no-mail")
        steps = [
            email(),
            wait(2, "days"),
            StepInput(StepKind.BRANCH, "", {"condition": {"kind": "opened"}, "yes": 4, "no": 5}),
            email(yes),
            email(no),
        ]
        # (yes → position 4 then continues to 5 as well; no → only 5)
        sequence = sequence_make(steps=steps[:4] + [wait(0, "minutes"), steps[4]])
        contact = contact_make()
        enrollment = sequence_enroll(sequence=sequence, contact=contact)
        sequences_tick()
        first = Message.objects.get(enrollment_id=enrollment.pk)
        Message.objects.filter(pk=first.pk).update(opened_at=clock.now() if opened else None)
        _run_days(clock.now(), 3)
    names = list(
        Message.objects.filter(enrollment_id=enrollment.pk)
        .order_by("id")
        .values_list("template__name", flat=True)
    )
    assert names[1] == expected


def test_branch_on_click() -> None:
    with clock.frozen(tokyo(2026, 11, 25, 10, 0)):
        clicked = template_make("clicked")
        sequence = sequence_make(
            steps=[
                email(),
                StepInput(StepKind.BRANCH, "", {"condition": {"kind": "clicked"}, "no": 4}),
                email(clicked),
            ]
        )
        enrollment = sequence_enroll(sequence=sequence, contact=contact_make())
        sequences_tick()
    assert StepRun.objects.get(enrollment=enrollment, step__kind=StepKind.BRANCH).outcome == "no"
    assert Message.objects.filter(enrollment_id=enrollment.pk).count() == 1


def test_goal_event_ends_the_enrolment_at_once(django_capture_on_commit_callbacks) -> None:  # type: ignore[no-untyped-def]
    with clock.frozen(tokyo(2026, 11, 25, 10, 0)):
        goal = StepInput(
            StepKind.GOAL, "", {"condition": {"kind": "event", "event_type": "demo_requested"}}
        )
        sequence = sequence_make(steps=[email(), wait(3), email(), goal])
        contact = contact_make()
        enrollment = sequence_enroll(sequence=sequence, contact=contact)
        sequences_tick()
        clock.advance(timedelta(hours=2))
        with django_capture_on_commit_callbacks(execute=True):
            _event(contact.pk, "demo_requested")
        _run_days(clock.now(), 7)
    enrollment.refresh_from_db()
    assert (enrollment.status, enrollment.exit_reason) == (EnrollmentStatus.COMPLETED, "goal")
    assert Message.objects.filter(enrollment_id=enrollment.pk).count() == 1


def test_becoming_mql_exits(django_capture_on_commit_callbacks) -> None:  # type: ignore[no-untyped-def]
    with clock.frozen(tokyo(2026, 11, 25, 10, 0)):
        sequence = sequence_make(steps=[email(), wait(2), email()], exit_on=["mql", "sql"])
        contact = contact_make()
        enrollment = sequence_enroll(sequence=sequence, contact=contact)
        sequences_tick()
        with django_capture_on_commit_callbacks(execute=True):
            _event(contact.pk, "lifecycle_changed", **{"from": "lead", "to": "mql"})
        _run_days(clock.now(), 5)
    enrollment.refresh_from_db()
    assert (enrollment.status, enrollment.exit_reason) == (EnrollmentStatus.EXITED, "mql")
    assert Message.objects.filter(enrollment_id=enrollment.pk).count() == 1


def test_unsubscribing_stops_the_following_mails(django_capture_on_commit_callbacks) -> None:  # type: ignore[no-untyped-def]
    with clock.frozen(tokyo(2026, 11, 25, 10, 0)):
        sequence = sequence_make(steps=[email(), wait(2), email(), wait(2), email()])
        contact = contact_make()
        enrollment = sequence_enroll(sequence=sequence, contact=contact)
        sequences_tick()
        with django_capture_on_commit_callbacks(execute=True):
            consent_record(
                contact_id=contact.pk,
                topic=None,
                status=ConsentStatus.WITHDRAWN,
                evidence=Evidence(source="unsubscribe", source_detail="mail"),
            )
        _run_days(clock.now(), 10)
    enrollment.refresh_from_db()
    assert enrollment.exit_reason == "unsubscribed"
    assert Message.objects.filter(enrollment_id=enrollment.pk).count() == 1


def test_a_bounce_exits_when_the_sequence_says_so(django_capture_on_commit_callbacks) -> None:  # type: ignore[no-untyped-def]
    with clock.frozen(tokyo(2026, 11, 25, 10, 0)):
        sequence = sequence_make(steps=[email(), wait(1), email()], exit_on=["bounced"])
        contact = contact_make()
        enrollment = sequence_enroll(sequence=sequence, contact=contact)
        sequences_tick()
        message = Message.objects.get(enrollment_id=enrollment.pk)
        with django_capture_on_commit_callbacks(execute=True):
            _event(contact.pk, "email_bounced", message_id=message.pk)
    enrollment.refresh_from_db()
    assert (enrollment.status, enrollment.exit_reason) == (EnrollmentStatus.EXITED, "bounced")


def test_manual_removal_exits_with_a_reason() -> None:
    with clock.frozen(tokyo(2026, 11, 25, 10, 0)):
        sequence = sequence_make(steps=[wait(1), email()])
        enrollment = sequence_enroll(sequence=sequence, contact=contact_make())
        enrollment_exit(enrollment=enrollment, reason="manual")
        _run_days(clock.now(), 3)
    enrollment.refresh_from_db()
    assert (enrollment.status, enrollment.exit_reason) == (EnrollmentStatus.EXITED, "manual")
    assert not Message.objects.exists()


def test_pause_keeps_places_and_resume_runs_overdue_steps_in_the_window() -> None:
    with clock.frozen(tokyo(2026, 11, 24, 10, 0)):  # Tuesday
        sequence = sequence_make(steps=[email(), wait(1), email()])
        enrollment = sequence_enroll(sequence=sequence, contact=contact_make())
        sequences_tick()
        enrollment.refresh_from_db()
        place = (enrollment.position, enrollment.next_run_at)
        sequence_pause(sequence=sequence)
        _run_days(clock.now(), 3)  # until Friday 10:00, paused
        enrollment.refresh_from_db()
        assert (enrollment.position, enrollment.next_run_at) == place
        assert Message.objects.count() == 1
        clock.advance(timedelta(hours=10))  # Friday 20:00: outside the window
        sequence_resume(sequence=sequence)
        sequences_tick()
        enrollment.refresh_from_db()
        assert enrollment.next_run_at == tokyo(2026, 11, 30, 9, 0)
        _run_days(clock.now(), 3)
    assert Message.objects.order_by("-id").first().created_at == tokyo(2026, 11, 30, 9, 0)  # type: ignore[union-attr]


def test_the_last_step_completes_the_enrolment() -> None:
    with clock.frozen(tokyo(2026, 11, 25, 10, 0)):
        enrollment = sequence_enroll(sequence=sequence_make(), contact=contact_make())
        sequences_tick()
    enrollment.refresh_from_db()
    assert (enrollment.status, enrollment.exit_reason) == (EnrollmentStatus.COMPLETED, "completed")
    assert enrollment.next_run_at is None


def test_update_step_adds_a_tag() -> None:
    with clock.frozen(tokyo(2026, 11, 25, 10, 0)):
        sequence = sequence_make(steps=[StepInput(StepKind.UPDATE, "", {"tag": "nurtured"})])
        contact = contact_make()
        sequence_enroll(sequence=sequence, contact=contact)
        sequences_tick()
    assert list(contact.tags.values_list("name", flat=True)) == ["nurtured"]


def test_a_new_enrolment_runs_mail_one_at_once(django_capture_on_commit_callbacks) -> None:  # type: ignore[no-untyped-def]
    with clock.frozen(tokyo(2026, 11, 25, 10, 0)):
        sequence = sequence_make()
        with django_capture_on_commit_callbacks(execute=True):
            enrollment = sequence_enroll(sequence=sequence, contact=contact_make())
    assert Message.objects.filter(enrollment_id=enrollment.pk).count() == 1
