"""Reads of import jobs, permission-checked: importing needs ``contacts.add_importjob``."""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import QuerySet

from sokyaku.contacts.models import ImportJob, ImportRowError
from sokyaku.core.errors import NotFound, PermissionDenied

AnyUser = User | AnonymousUser

IMPORT_PERMISSION = "contacts.add_importjob"


def _require(user: AnyUser | None) -> None:
    # ``None`` is the system itself (the CLI, the worker).
    if user is not None and not user.has_perm(IMPORT_PERMISSION):
        raise PermissionDenied("You do not have permission to import contacts.")


def import_job_list(*, user: AnyUser | None) -> QuerySet[ImportJob]:
    """Import jobs, newest first."""
    _require(user)
    return ImportJob.objects.select_related("created_by").order_by("-created_at", "-id")


def import_job_get(*, user: AnyUser | None, id: int) -> ImportJob:
    _require(user)
    job = (
        ImportJob.objects.select_related("created_by", "channel", "campaign").filter(pk=id).first()
    )
    if job is None:
        raise NotFound(f"No import with id {id}.")
    return job


def import_row_errors(*, user: AnyUser | None, job: ImportJob) -> QuerySet[ImportRowError]:
    """The rows of a job that could not be imported, in file order."""
    _require(user)
    return ImportRowError.objects.filter(job=job).order_by("row_number", "id")


def import_earlier(*, user: AnyUser | None, job: ImportJob) -> ImportJob | None:
    """The latest other finished import of the same file (same SHA-256), if any."""
    _require(user)
    return (
        ImportJob.objects.filter(file_sha256=job.file_sha256, status=ImportJob.Status.DONE)
        .exclude(pk=job.pk)
        .order_by("-created_at")
        .first()
    )
