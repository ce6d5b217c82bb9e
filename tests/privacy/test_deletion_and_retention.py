"""Deleting a segment's people survives a lost queue; the retention policy erases contacts
inactive for years, and nothing while it is off."""

from __future__ import annotations

from datetime import timedelta

import pytest

from sokyaku.activity.events import event_build, page_view
from sokyaku.activity.models import EventSource, EventType
from sokyaku.activity.services import event_ingest
from sokyaku.contacts.models import Contact
from sokyaku.contacts.services import ContactInput, contact_upsert
from sokyaku.core import clock
from sokyaku.privacy import tasks
from sokyaku.privacy.models import ErasureJob, ErasureJobStatus, ErasureLog, ErasureVia
from sokyaku.privacy.services import deletion, retention
from sokyaku.segments import services as segment_services
from tests.handoff.factories import tokyo

pytestmark = pytest.mark.django_db

NOW = tokyo(2026, 12, 1, 3, 30)


def _people(n: int) -> list[Contact]:
    return [
        contact_upsert(
            data=ContactInput(family_name="展示", given_name=f"{i}郎", email=f"p{i}@ex.jp")
        ).contact
        for i in range(n)
    ]


def _listed(people: list[Contact]) -> object:
    listed = segment_services.segment_create(name="破棄するリスト", kind="static")
    segment_services.segment_members_add(segment=listed, contact_ids=[p.pk for p in people])
    return listed


def test_a_segment_erasure_whose_queued_run_is_lost_is_run_by_the_sweep() -> None:
    # given a confirmed erasure of a list whose queued run never came (nothing ran on commit)
    with clock.frozen(NOW):
        people = _people(3)
        job = deletion.segment_erasure_start(segment=_listed(people), by=None, reason="")
        assert ErasureJob.objects.get().status == ErasureJobStatus.QUEUED
        # (within its grace period the sweep leaves it to its own run)
        assert deletion.erasure_jobs_unfinished_ids() == []
    # when the sweep comes a few minutes later
    with clock.frozen(NOW + timedelta(minutes=3)):
        tasks.erasure_jobs_sweep.call_local()
    # then everyone of the list is erased, each logged as part of the job
    job.refresh_from_db()
    assert (job.status, job.done, job.erased) == (ErasureJobStatus.DONE, 3, 3)
    assert Contact.objects.filter(erased_at__isnull=True).count() == 0
    assert set(ErasureLog.objects.values_list("via", "job_id")) == {(ErasureVia.SEGMENT, job.pk)}


def test_a_run_that_stopped_halfway_is_taken_up_where_it_stopped() -> None:
    # given a job whose worker died after erasing the first person (its claim ran out)
    with clock.frozen(NOW):
        people = _people(3)
        job = deletion.segment_erasure_start(segment=_listed(people), by=None, reason="")
        deletion.erase_contact(people[0], by=None, reason="")
        ErasureJob.objects.filter(pk=job.pk).update(
            status=ErasureJobStatus.RUNNING, done=1, claimed_until=NOW + timedelta(minutes=5)
        )
        # while its claim holds, another run leaves it alone
        assert deletion.erasure_job_run(job_id=job.pk).done == 1  # type: ignore[union-attr]
    # when the sweep runs after the claim ran out
    with clock.frozen(NOW + timedelta(minutes=6)):
        assert deletion.erasure_jobs_unfinished_ids() == [job.pk]
        tasks.erasure_jobs_sweep.call_local()
    # then the rest is erased, the first person not twice
    job.refresh_from_db()
    assert (job.status, job.done) == (ErasureJobStatus.DONE, 3)
    assert ErasureLog.objects.count() == 3
    assert Contact.objects.filter(erased_at__isnull=True).count() == 0


def _old_contact(email: str, *, at: object) -> Contact:
    with clock.frozen(at):  # type: ignore[arg-type]
        return contact_upsert(data=ContactInput(family_name="古田", email=email)).contact


def test_retention_erases_only_contacts_inactive_for_the_years_set_and_only_when_on() -> None:
    long_ago = NOW - timedelta(days=365 * 4)
    silent = _old_contact("silent@ex.jp", at=long_ago)
    mailed_only = _old_contact("mailed@ex.jp", at=long_ago)
    visited = _old_contact("visited@ex.jp", at=long_ago)
    recent = _old_contact("recent@ex.jp", at=NOW - timedelta(days=200))
    with clock.frozen(NOW - timedelta(days=30)):
        # we mailed one of them (not their activity); another read a page (theirs)
        event_ingest(
            event=event_build(
                type=EventType.EMAIL_SENT,
                occurred_at=clock.now(),
                source=EventSource.EMAIL,
                properties={"message_id": 1},
                contact_id=mailed_only.pk,
            )
        )
        event_ingest(
            event=page_view(occurred_at=clock.now(), url="https://ex.jp/", contact_id=visited.pk)
        )
    # while the policy is off, the daily task erases nobody
    with clock.frozen(NOW):
        tasks.retention_tick.call_local()
        assert not ErasureLog.objects.exists()
        # when an admin sets it to three years
        retention.retention_policy_save(enabled=True, inactive_years=3, by=None)
        assert retention.retention_due_count(years=3) == 2
        tasks.retention_tick.call_local()
    # then those with no activity of their own for three years are erased, and logged
    erased = set(Contact.objects.filter(erased_at__isnull=False).values_list("pk", flat=True))
    assert erased == {silent.pk, mailed_only.pk}
    assert set(ErasureLog.objects.values_list("via", flat=True)) == {ErasureVia.RETENTION}
    assert retention.retention_policy_get().last_run_erased == 2
    assert recent.pk not in erased and visited.pk not in erased
