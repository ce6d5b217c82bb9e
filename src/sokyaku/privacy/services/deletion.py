"""Deleting people is erasing them (docs/privacy.md, "Deletion").

An admin deletes one person from the contact page or the API (``contact_delete``: an erasure),
or every person of a segment (``segment_erasure_start``). A segment's erasure runs in the worker
as an ``ErasureJob``: the people are fixed when the admin confirms, each person is erased in a
transaction of their own (``erase_contact``), and the job's row says how far it got, so a run
that stops — a lost queue item, a worker that died — is taken up again by the sweep
(``erasure_jobs_unfinished_ids``) where it stopped. Erasing a person twice changes nothing, so a
person between the last commit and a crash is no problem either.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Q
from django.utils.translation import gettext_noop

from sokyaku.contacts.models import Contact
from sokyaku.core import clock
from sokyaku.core.errors import ValidationError
from sokyaku.privacy.models import ErasureJob, ErasureJobStatus, ErasureLog, ErasureVia
from sokyaku.privacy.services.erasure import erase_contact
from sokyaku.segments.models import Segment, SegmentKind, SegmentMembership

logger = logging.getLogger(__name__)

MSG_NOT_EVALUATED = gettext_noop("This segment has not been evaluated yet.")
MSG_EMPTY = gettext_noop("This segment has no one to erase.")
# People erased between two saves of a job's progress (and two renewals of its claim).
BATCH = 25
# A run holds its job this long after each batch; a run that stopped frees it then.
CLAIM = timedelta(minutes=5)
# How long a queued job waits for its own queued run before the sweep runs it.
GRACE = timedelta(minutes=1)


def contact_delete(
    *, contact: Contact, by: User | None, reason: str, via: str = ErasureVia.UI
) -> ErasureLog:
    """Delete a person: the same as erasing them (``erase_contact``)."""
    return erase_contact(contact, by=by, reason=reason, via=via)


def segment_members_for_erasure(*, segment: Segment) -> list[int]:
    """The live contacts of a segment as it is now (a dynamic one as last evaluated): the
    people an erasure of it would take."""
    ids = SegmentMembership.objects.filter(
        segment=segment, contact__merged_into__isnull=True, contact__erased_at__isnull=True
    ).values_list("contact_id", flat=True)
    return sorted(ids)


def segment_erasure_start(*, segment: Segment, by: User | None, reason: str) -> ErasureJob:
    """Erase every person of ``segment`` in the background: the job with the people fixed now,
    queued after commit. Raises ``ValidationError`` for a segment without people, and for a
    dynamic segment never evaluated."""
    if segment.kind == SegmentKind.DYNAMIC and segment.refreshed_at is None:
        raise ValidationError(MSG_NOT_EVALUATED)
    ids = segment_members_for_erasure(segment=segment)
    if not ids:
        raise ValidationError(MSG_EMPTY)
    from sokyaku.privacy import tasks

    with transaction.atomic():
        job = ErasureJob.objects.create(
            segment_id=segment.pk,
            segment_name=segment.name,
            contact_ids=ids,
            total=len(ids),
            reason=reason.strip()[:300],
            requested_by=by,
            requested_at=clock.now(),
        )
        transaction.on_commit(lambda: tasks.erasure_job_run_task(job.pk))
    logger.info("privacy.segment_erasure_queued", extra={"job": job.pk, "people": len(ids)})
    return job


def _claim(job_id: int) -> ErasureJob | None:
    """Take the job for this run (or keep it): ``None`` when it is finished or another run
    holds it."""
    now = clock.now()
    with transaction.atomic():
        job = ErasureJob.objects.select_for_update().filter(pk=job_id).first()
        if job is None or job.status in (ErasureJobStatus.DONE, ErasureJobStatus.FAILED):
            return None
        if job.claimed_until is not None and job.claimed_until > now:
            return None
        job.status = ErasureJobStatus.RUNNING
        job.started_at = job.started_at or now
        job.claimed_until = now + CLAIM
        job.save(update_fields=["status", "started_at", "claimed_until"])
    return job


def erasure_job_run(*, job_id: int) -> ErasureJob | None:
    """Run a segment's erasure to its end from where it stopped (module docstring). Safe to run
    twice, and while another run holds the job (this one then does nothing). A person that can
    no longer be found (gone for another reason) is skipped. Returns the job as this run left
    it, ``None`` for an unknown id."""
    job = _claim(job_id)
    if job is None:
        return ErasureJob.objects.filter(pk=job_id).first()
    ids: list[int] = list(job.contact_ids)
    user = job.requested_by
    while job.done < len(ids):
        batch = ids[job.done : job.done + BATCH]
        erased = 0
        try:
            for contact in Contact.objects.filter(pk__in=batch):
                log = erase_contact(
                    contact, by=user, reason=job.reason, via=ErasureVia.SEGMENT, job=job
                )
                erased += int(log.job_id == job.pk)
        except Exception as exc:
            logger.exception("privacy.segment_erasure_failed", extra={"job": job.pk})
            ErasureJob.objects.filter(pk=job.pk).update(
                status=ErasureJobStatus.FAILED,
                # The type only: a database's message may quote the person's values.
                last_error=type(exc).__name__,
                erased=job.erased + erased,
                finished_at=clock.now(),
                claimed_until=None,
            )
            return ErasureJob.objects.filter(pk=job.pk).first()
        job.done += len(batch)
        job.erased += erased
        job.claimed_until = clock.now() + CLAIM
        job.save(update_fields=["done", "erased", "claimed_until"])
    job.status = ErasureJobStatus.DONE
    job.finished_at = clock.now()
    job.claimed_until = None
    job.save(update_fields=["status", "finished_at", "claimed_until"])
    logger.info("privacy.segment_erasure_done", extra={"job": job.pk, "erased": job.erased})
    return job


def erasure_jobs_unfinished_ids() -> list[int]:
    """Jobs queued or running that no run holds: never started ``GRACE`` after they were
    queued, or their run stopped. The sweep runs them again."""
    now = clock.now()
    jobs = ErasureJob.objects.filter(
        Q(claimed_until__lt=now) | Q(claimed_until__isnull=True, requested_at__lt=now - GRACE),
        status__in=(ErasureJobStatus.QUEUED, ErasureJobStatus.RUNNING),
    )
    return list(jobs.order_by("requested_at").values_list("pk", flat=True))
