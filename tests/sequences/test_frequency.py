"""One person, one mail at a time: two active sequences on the same trigger, the marketing
frequency cap (a capped mail waits for the next day's window, it is not dropped), priority,
"do not enrol while in", and the warning about sequences that share a trigger.

The clock is moved, never slept; mail goes through a real SMTP server."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from sokyaku.activity import services as activity_services
from sokyaku.activity.events import event_build
from sokyaku.activity.models import EventSource
from sokyaku.capture.services.assets import AssetInput, asset_create
from sokyaku.core import clock
from sokyaku.core.errors import Conflict
from sokyaku.messaging.models import Message, Stream
from sokyaku.messaging.services.frequency import frequency_cap_update
from sokyaku.messaging.services.outbox import message_enqueue
from sokyaku.sequences.models import Enrollment, StepRun, TriggerKind
from sokyaku.sequences.overlaps import overlaps_list
from sokyaku.sequences.services.editing import SequenceInput, sequence_update
from sokyaku.sequences.services.enrollment import sequence_enroll
from sokyaku.sequences.services.tick import sequences_tick
from tests.sequences.factories import contact_make, email, sequence_make, tokyo, wait

pytestmark = pytest.mark.django_db

THURSDAY_10 = tokyo(2026, 11, 19, 10, 0)
FRIDAY_9 = tokyo(2026, 11, 20, 9, 0)


def _whitepaper_sequences(*, follow_up_priority: int = 10, preset_priority: int = 0):  # type: ignore[no-untyped-def]
    """The form's own follow-up (on the whitepaper's download) and a B2B sequence on any
    download: one download triggers both."""
    whitepaper = asset_create(
        data=AssetInput(title="ITインフラ更新ガイド", kind="whitepaper", url="https://s.example/wp")
    )
    follow_up = sequence_make(
        name="資料フォロー",
        trigger_kind=TriggerKind.FORM_SUBMITTED,
        trigger_config={"asset": whitepaper.pk},
        steps=[email(), wait(4), email()],
        priority=follow_up_priority,
    )
    preset = sequence_make(
        name="B2B 資料請求フォロー",
        trigger_kind=TriggerKind.EVENT,
        trigger_config={"event_type": "asset_downloaded", "where": []},
        steps=[email(), wait(4), email()],
        priority=preset_priority,
    )
    return whitepaper, follow_up, preset


def _download(contact, whitepaper, capture) -> None:  # type: ignore[no-untyped-def]
    with capture(execute=True):
        activity_services.event_ingest(
            event=event_build(
                type="asset_downloaded",
                occurred_at=clock.now(),
                source=EventSource.FORM,
                properties={"asset": whitepaper.pk, "asset_kind": "whitepaper"},
                contact_id=contact.pk,
            )
        )


def _mails_of(sequence) -> int:  # type: ignore[no-untyped-def]
    return Message.objects.filter(sequence_id=sequence.pk).count()


def test_two_sequences_on_one_download_send_one_mail_today_and_the_other_tomorrow(
    smtp_server: Any, django_capture_on_commit_callbacks: Any
) -> None:
    with clock.frozen(THURSDAY_10):
        # given the form's follow-up (priority 10) and the B2B sequence (0) on the same download
        whitepaper, follow_up, preset = _whitepaper_sequences()
        lead = contact_make(email="lead@example.jp")
        # when the lead downloads the whitepaper on Thursday at 10:00
        _download(lead, whitepaper, django_capture_on_commit_callbacks)
        # then one mail reaches the lead today: the follow-up's, it has the higher priority
        assert len(smtp_server.wait_for(1)) == 1
        assert (_mails_of(follow_up), _mails_of(preset)) == (1, 0)
        # and the B2B mail 1 waits for Friday's window, neither dropped nor skipped
        waiting = Enrollment.objects.get(sequence=preset, contact=lead)
        assert waiting.next_run_at == FRIDAY_9
        assert not StepRun.objects.filter(enrollment=waiting).exists()
        # and ticks later that day change nothing
        clock.advance(timedelta(hours=5))
        sequences_tick()
        assert _mails_of(preset) == 0
    # when the clock reaches Friday 9:00
    with clock.frozen(FRIDAY_9), django_capture_on_commit_callbacks(execute=True):
        sequences_tick()
    # then the B2B mail 1 goes out
    received = smtp_server.wait_for(2)
    assert len(received) == 2 and all("lead@example.jp" in m["To"] for m in received)
    assert (_mails_of(follow_up), _mails_of(preset)) == (1, 1)


def test_the_higher_priority_goes_first_whichever_was_enrolled_first() -> None:
    with clock.frozen(THURSDAY_10):
        low = sequence_make(name="低", priority=0)
        high = sequence_make(name="高", priority=5)
        lead = contact_make()
        sequence_enroll(sequence=low, contact=lead)
        sequence_enroll(sequence=high, contact=lead)
        sequences_tick()
    assert (_mails_of(high), _mails_of(low)) == (1, 0)
    # the low one gave way for a minute; then the cap moves it to the next day's window
    with clock.frozen(THURSDAY_10 + timedelta(minutes=1)):
        sequences_tick()
    assert (_mails_of(high), _mails_of(low)) == (1, 0)
    assert Enrollment.objects.get(sequence=low).next_run_at == FRIDAY_9


def test_a_lower_priority_mail_waits_for_a_higher_one_due_later_that_day() -> None:
    with clock.frozen(THURSDAY_10):
        high = sequence_make(name="高", priority=5, steps=[wait(3, "hours"), email()])
        low = sequence_make(name="低", priority=0)
        lead = contact_make()
        sequence_enroll(sequence=high, contact=lead)
        sequences_tick()  # the high one waits until 13:00
        sequence_enroll(sequence=low, contact=lead)
        sequences_tick()
        # the low one gives way until just after the high one's mail
        assert _mails_of(low) == 0
        assert Enrollment.objects.get(sequence=low).next_run_at == tokyo(2026, 11, 19, 13, 1)
    with clock.frozen(tokyo(2026, 11, 19, 13, 1)):
        sequences_tick()
    assert (_mails_of(high), _mails_of(low)) == (1, 0)
    assert Enrollment.objects.get(sequence=low).next_run_at == FRIDAY_9


def test_the_cap_is_configurable_and_transactional_mail_does_not_count() -> None:
    with clock.frozen(THURSDAY_10):
        frequency_cap_update(per_day=2, sequences=True, broadcasts=True, actor=None)
        first, second, third = (sequence_make(name=f"S{n}") for n in range(3))
        lead = contact_make()
        message_enqueue(dedupe_key="receipt", contact=lead, stream=Stream.TRANSACTIONAL)
        for sequence in (first, second, third):
            sequence_enroll(sequence=sequence, contact=lead)
        sequences_tick()
    assert [_mails_of(s) for s in (first, second, third)] == [1, 1, 0]


def test_without_a_cap_both_go_at_once() -> None:
    with clock.frozen(THURSDAY_10):
        frequency_cap_update(per_day=0, sequences=True, broadcasts=True, actor=None)
        one, two = sequence_make(name="一"), sequence_make(name="二")
        lead = contact_make()
        sequence_enroll(sequence=one, contact=lead)
        sequence_enroll(sequence=two, contact=lead)
        sequences_tick()
    assert (_mails_of(one), _mails_of(two)) == (1, 1)


def test_a_sequence_does_not_enrol_a_contact_active_in_a_sequence_it_excludes(
    django_capture_on_commit_callbacks: Any,
) -> None:
    with clock.frozen(THURSDAY_10):
        whitepaper, follow_up, preset = _whitepaper_sequences()
        sequence_update(sequence=preset, data=SequenceInput(exclusion_ids=[follow_up.pk]))
        lead = contact_make()
        # the higher-priority follow-up enrols first, so the download enrols only there
        _download(lead, whitepaper, django_capture_on_commit_callbacks)
        assert Enrollment.objects.filter(contact=lead).get().sequence == follow_up
        # and enrolling by hand is refused with the reason
        with pytest.raises(Conflict) as refused:
            sequence_enroll(sequence=preset, contact=lead)
    assert refused.value.message == (
        "The contact is active in a sequence that this sequence excludes or that excludes it."
    )


def test_an_exclusion_keeps_two_sequences_apart_whichever_trigger_fires_first() -> None:
    with clock.frozen(THURSDAY_10):
        # given a form's own follow-up that excludes the B2B preset (set on the follow-up only)
        _whitepaper, follow_up, preset = _whitepaper_sequences()
        sequence_update(sequence=follow_up, data=SequenceInput(exclusion_ids=[preset.pk]))
        lead = contact_make()
        # when the follow-up enrols the lead first, then the preset's trigger fires
        sequence_enroll(sequence=follow_up, contact=lead)
        with pytest.raises(Conflict):
            sequence_enroll(sequence=preset, contact=lead)
    # then the lead is in the follow-up only
    assert [e.sequence for e in Enrollment.objects.filter(contact=lead)] == [follow_up]


def test_active_sequences_on_the_same_trigger_are_flagged_until_one_excludes_the_other() -> None:
    with clock.frozen(THURSDAY_10):
        _whitepaper, follow_up, preset = _whitepaper_sequences()
        other = sequence_make(
            name="ウェビナー",
            trigger_kind=TriggerKind.EVENT,
            trigger_config={"event_type": "webinar_registered", "where": []},
        )
        (pair,) = overlaps_list()
        assert {pair.first, pair.second} == {follow_up, preset}
        assert overlaps_list(sequence=other) == []
        sequence_update(sequence=preset, data=SequenceInput(exclusion_ids=[follow_up.pk]))
    assert overlaps_list() == []


def test_the_sequence_list_and_page_warn_about_a_shared_trigger(logged_in) -> None:  # type: ignore[no-untyped-def]
    with clock.frozen(THURSDAY_10):
        _whitepaper, follow_up, _preset = _whitepaper_sequences()
    listing = logged_in.get("/sequences/").content.decode()
    page = logged_in.get(f"/sequences/{follow_up.pk}/").content.decode()
    for html in (listing, page):
        assert "seq-shared-trigger" in html
        assert "「資料フォロー」と「B2B 資料請求フォロー」" in html


def test_a_download_form_shares_its_trigger_with_a_sequence_on_its_asset() -> None:
    from sokyaku.capture.services.forms import FieldSpec, FormInput, form_create

    with clock.frozen(THURSDAY_10):
        # given the B2B sequence on the whitepaper's download
        whitepaper, follow_up, preset = _whitepaper_sequences()
        # and a new download form for the same whitepaper with its own follow-up
        form = form_create(
            data=FormInput(
                name="資料DL",
                kind="asset_download",
                kind_options={"asset": whitepaper.pk},
                fields=[FieldSpec(type="email", label="メールアドレス", required=True)],
            )
        )
        own = sequence_make(
            name="新フォームのフォロー",
            trigger_kind=TriggerKind.FORM_SUBMITTED,
            trigger_config={"form": form.pk},
        )
        pairs = overlaps_list(sequence=own)
    # then the new follow-up is flagged against both sequences on that download
    assert {pair.first.pk for pair in pairs} | {pair.second.pk for pair in pairs} == {
        own.pk, preset.pk, follow_up.pk,
    }  # fmt: skip
