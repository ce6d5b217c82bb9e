"""Reads of the erasure pages: the log, the segment erasures, one job."""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import QuerySet

from sokyaku.contacts.models import Contact
from sokyaku.core.errors import NotFound, PermissionDenied
from sokyaku.privacy.models import ErasureJob, ErasureLog

AnyUser = User | AnonymousUser

_VIEW = "privacy.view_erasurelog"


def _require(user: AnyUser | None) -> None:
    if user is not None and not user.has_perm(_VIEW):
        raise PermissionDenied("You may not see the erasure log.")


def erasure_log_list(*, user: AnyUser | None) -> QuerySet[ErasureLog]:
    """Every erasure, newest first, with who did it."""
    _require(user)
    return ErasureLog.objects.select_related("erased_by").order_by("-erased_at", "-id")


def erasure_jobs_recent(*, user: AnyUser | None, limit: int = 10) -> list[ErasureJob]:
    """The latest segment erasures (without their contact lists)."""
    _require(user)
    jobs = ErasureJob.objects.select_related("requested_by").defer("contact_ids")
    return list(jobs.order_by("-requested_at", "-id")[:limit])


def contacts_by_email(*, email: str) -> list[Contact]:
    """The contacts not erased yet that have this (normalised) email, live or merged away: the
    command line's way to find a person."""
    if not email:
        return []
    return list(Contact.objects.filter(email=email, erased_at__isnull=True).order_by("pk"))


def erasure_job_get(*, user: AnyUser | None, id: int) -> ErasureJob:
    _require(user)
    job = ErasureJob.objects.select_related("requested_by").defer("contact_ids").filter(pk=id)
    found = job.first()
    if found is None:
        raise NotFound(f"No erasure with id {id}.")
    return found
