"""Privacy: the log of erasures, erasures of many people at once, and the retention policy.

An ``ErasureLog`` row says that a person was erased — who did it, when, how, the keyed hashes of
their email and phone (``consent.keyed_hash``: the same the consent ledger and the hashed
suppression list keep) and how many rows of each table changed — and never what they were.
An ``ErasureJob`` is the durable state of erasing a whole segment: the people it will erase
were fixed when an admin confirmed it, and how far it got is in the row, so a lost queue item
or a stopped worker delays it, never loses it. ``RetentionPolicy`` is one row: whether contacts
with no activity for some years are anonymised by the daily task.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class ErasureVia(models.TextChoices):
    UI = "ui", _("Contact page")
    API = "api", _("API")
    CLI = "cli", _("Command line")
    SEGMENT = "segment", _("Segment deletion")
    RETENTION = "retention", _("Retention policy")


class ErasureJobStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")


class ErasureJob(models.Model):
    """Erasing the people of a segment in the background, one person per transaction."""

    segment_id = models.PositiveIntegerField(null=True, blank=True)
    segment_name = models.CharField(_("segment"), max_length=150)
    # The contacts the admin confirmed, fixed then: later members are not erased.
    contact_ids = models.JSONField(default=list)
    total = models.PositiveIntegerField(_("people"), default=0)
    done = models.PositiveIntegerField(_("processed"), default=0)
    erased = models.PositiveIntegerField(_("erased"), default=0)
    status = models.CharField(
        _("status"),
        max_length=8,
        choices=ErasureJobStatus.choices,
        default=ErasureJobStatus.QUEUED,
    )
    reason = models.CharField(_("reason"), max_length=300, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    requested_at = models.DateTimeField(_("requested"))
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    # A run holds the job until then; a stopped run's claim runs out and the sweep takes over.
    claimed_until = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)

    class Meta:
        ordering = ["-requested_at", "-id"]
        verbose_name = _("erasure of a segment")
        verbose_name_plural = _("erasures of segments")

    def __str__(self) -> str:
        return f"{self.segment_name} ({self.done}/{self.total})"


class ErasureLog(models.Model):
    """One person erased. Holds no personal data (see the module docstring)."""

    erased_at = models.DateTimeField(_("erased"), db_index=True)
    erased_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("erased by"),
    )
    via = models.CharField(_("through"), max_length=10, choices=ErasureVia.choices)
    reason = models.CharField(_("reason"), max_length=300, blank=True)
    # The anonymous contact row that stays (and the rows merged into it, in ``counts``).
    contact_id = models.BigIntegerField(_("contact"), db_index=True)
    email_hash = models.CharField(_("email (keyed hash)"), max_length=64, blank=True)
    phone_hash = models.CharField(_("phone (keyed hash)"), max_length=64, blank=True)
    # "app.Model" (or "files") → rows changed or deleted.
    counts = models.JSONField(_("rows per table"), default=dict)
    job = models.ForeignKey(
        ErasureJob, null=True, blank=True, on_delete=models.SET_NULL, related_name="logs"
    )

    class Meta:
        ordering = ["-erased_at", "-id"]
        verbose_name = _("erasure")
        verbose_name_plural = _("erasure log")
        permissions = [("erase_person", _("Can erase a person's data"))]

    def __str__(self) -> str:
        return f"contact {self.contact_id} erased {self.erased_at:%Y-%m-%d %H:%M}"


class RetentionPolicy(models.Model):
    """One row: anonymise contacts with no activity for ``inactive_years`` (off by default)."""

    enabled = models.BooleanField(_("anonymise inactive contacts"), default=False)
    inactive_years = models.PositiveSmallIntegerField(_("years without activity"), default=3)
    updated_at = models.DateTimeField(null=True, blank=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    last_run_at = models.DateTimeField(_("last run"), null=True, blank=True)
    last_run_erased = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("retention policy")
        verbose_name_plural = _("retention policy")

    def __str__(self) -> str:
        return f"retention {'on' if self.enabled else 'off'} ({self.inactive_years} years)"
