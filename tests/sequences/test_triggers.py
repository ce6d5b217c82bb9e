"""Triggers: events enrol contacts in real time (after commit, through the worker task)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from sokyaku.activity import services as activity_services
from sokyaku.activity.events import event_build
from sokyaku.activity.models import EventSource
from sokyaku.core import clock
from sokyaku.core.errors import Conflict
from sokyaku.sequences.models import Enrollment, ReentryPolicy, TriggerKind
from sokyaku.sequences.services.enrollment import enrollment_exit, sequence_enroll
from tests.sequences.factories import contact_make, sequence_make, tokyo

pytestmark = pytest.mark.django_db


@pytest.fixture
def react(django_capture_on_commit_callbacks):  # type: ignore[no-untyped-def]
    """Ingest one event and run the after-commit reactions (the worker runs tasks inline)."""

    def ingest(contact_id: int, type: str, **properties: object) -> None:
        with django_capture_on_commit_callbacks(execute=True):
            activity_services.event_ingest(
                event=event_build(
                    type=type,
                    occurred_at=clock.now(),
                    source=EventSource.SYSTEM,
                    properties=properties,
                    contact_id=contact_id,
                )
            )

    return ingest


def _enrolled(sequence) -> list[int]:  # type: ignore[no-untyped-def]
    return list(Enrollment.objects.filter(sequence=sequence).values_list("contact_id", flat=True))


def test_asset_download_of_the_given_asset_enrols(react) -> None:  # type: ignore[no-untyped-def]
    with clock.frozen(tokyo(2026, 11, 25, 10, 0)):
        sequence = sequence_make(
            trigger_kind=TriggerKind.FORM_SUBMITTED, trigger_config={"asset": 7}
        )
        downloader, other = contact_make(), contact_make()
        react(downloader.pk, "asset_downloaded", asset=7, form="wp")
        react(other.pk, "asset_downloaded", asset=8, form="wp")
    assert _enrolled(sequence) == [downloader.pk]


def test_event_with_property_conditions(react) -> None:  # type: ignore[no-untyped-def]
    with clock.frozen(tokyo(2026, 11, 25, 10, 0)):
        sequence = sequence_make(
            trigger_kind=TriggerKind.EVENT,
            trigger_config={
                "event_type": "cart_abandoned",
                "where": [{"field": "amount_jpy", "op": "gte", "value": 5000}],
            },
        )
        big, small = contact_make(), contact_make()
        react(big.pk, "cart_abandoned", amount_jpy=12000)
        react(small.pk, "cart_abandoned", amount_jpy=800)
    assert _enrolled(sequence) == [big.pk]


@pytest.mark.parametrize("wanted", [5, "5"])
def test_amount_5_and_amount_text_5_enrol_the_same_contacts(react, wanted) -> None:  # type: ignore[no-untyped-def]
    with clock.frozen(tokyo(2026, 11, 25, 10, 0)):
        # given a sequence triggered by "amount = 5", the 5 written as a number or as text
        sequence = sequence_make(
            trigger_kind=TriggerKind.EVENT,
            trigger_config={
                "event_type": "cart_abandoned",
                "where": [{"field": "amount", "op": "eq", "value": wanted}],
            },
        )
        number, text, wide, other = (contact_make() for _ in range(4))
        # when carts carry the amount as a number, as text, in full width, or another amount
        react(number.pk, "cart_abandoned", amount=5)
        react(text.pk, "cart_abandoned", amount="5")
        react(wide.pk, "cart_abandoned", amount="５")
        react(other.pk, "cart_abandoned", amount=50)
    # then the same three are enrolled either way
    assert sorted(_enrolled(sequence)) == sorted([number.pk, text.pk, wide.pk])


def test_segment_entered_and_stage_entered(react) -> None:  # type: ignore[no-untyped-def]
    with clock.frozen(tokyo(2026, 11, 25, 10, 0)):
        by_segment = sequence_make(
            trigger_kind=TriggerKind.SEGMENT_ENTERED, trigger_config={"segment": 3}
        )
        by_stage = sequence_make(
            trigger_kind=TriggerKind.STAGE_ENTERED, trigger_config={"stage": "mql"}
        )
        a, b = contact_make(), contact_make()
        react(a.pk, "segment_entered", segment=3)
        react(b.pk, "lifecycle_changed", **{"from": "lead", "to": "mql"})
    assert (_enrolled(by_segment), _enrolled(by_stage)) == ([a.pk], [b.pk])


def test_a_manual_sequence_ignores_events(react) -> None:  # type: ignore[no-untyped-def]
    with clock.frozen(tokyo(2026, 11, 25, 10, 0)):
        sequence = sequence_make(trigger_kind=TriggerKind.MANUAL)
        react(contact_make().pk, "demo_requested")
    assert _enrolled(sequence) == []


def test_webinar_reminder_one_hour_before_the_start(react) -> None:  # type: ignore[no-untyped-def]
    with clock.frozen(tokyo(2026, 11, 25, 10, 0)):
        sequence = sequence_make(
            trigger_kind=TriggerKind.DATE_RELATIVE,
            trigger_config={"date": "event:webinar_registered.starts_at", "offset_minutes": -60},
            window_days=[1, 2, 3, 4, 5, 6, 7],
        )
        contact = contact_make()
        react(
            contact.pk,
            "webinar_registered",
            webinar="DX入門",
            starts_at="2026-12-02T15:00:00+09:00",
        )
    enrollment = Enrollment.objects.get(sequence=sequence)
    assert enrollment.anchor_at == tokyo(2026, 12, 2, 15, 0)
    assert enrollment.next_run_at == tokyo(2026, 12, 2, 14, 0)


def test_reentry_never_refuses_a_second_enrolment() -> None:
    with clock.frozen(tokyo(2026, 11, 25, 10, 0)):
        sequence = sequence_make(reentry=ReentryPolicy.NEVER)
        contact = contact_make()
        first = sequence_enroll(sequence=sequence, contact=contact)
        assert sequence_enroll(sequence=sequence, contact=contact) == first  # still active
        enrollment_exit(enrollment=first, reason="manual")
        with pytest.raises(Conflict):
            sequence_enroll(sequence=sequence, contact=contact)


def test_reentry_after_exit_and_after_days() -> None:
    with clock.frozen(tokyo(2026, 11, 25, 10, 0)):
        after_exit = sequence_make(reentry=ReentryPolicy.AFTER_EXIT)
        after_days = sequence_make(reentry=ReentryPolicy.AFTER_DAYS, reentry_days=30)
        contact = contact_make()
        for sequence in (after_exit, after_days):
            enrollment_exit(
                enrollment=sequence_enroll(sequence=sequence, contact=contact), reason="manual"
            )
        assert sequence_enroll(sequence=after_exit, contact=contact).status == "active"
        with pytest.raises(Conflict):
            sequence_enroll(sequence=after_days, contact=contact)
        clock.advance(timedelta(days=30))
        assert sequence_enroll(sequence=after_days, contact=contact).status == "active"


def test_a_contact_without_email_cannot_join_a_mail_sequence() -> None:
    from sokyaku.contacts.services import ContactInput, contact_upsert
    from sokyaku.core.errors import ValidationError

    with clock.frozen(tokyo(2026, 11, 25, 10, 0)):
        sequence = sequence_make()
        phone_only = contact_upsert(
            data=ContactInput(family_name="田中", phone="03-1234-5678")
        ).contact
        with pytest.raises(ValidationError):
            sequence_enroll(sequence=sequence, contact=phone_only)
