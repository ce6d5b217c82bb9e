"""Sequences (step mail, ステップメール): triggers, steps, enrolments and their durable schedule.

An enrolment knows its ``next_run_at``; the worker's tick claims due enrolments
(``FOR UPDATE SKIP LOCKED`` on PostgreSQL) and advances them, creating outbox messages in the same
transaction. The queue only says "look now"; a lost queue item delays a step, never loses it.
A sequence's ``priority`` and ``exclusions`` keep one person from getting several sequences'
mails at once, with the messaging app's frequency cap (``sequences.services.tick``).
``StepRun`` is the history of what each enrolment did at each step (and the message it queued).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class SequenceStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    ACTIVE = "active", _("Active")
    PAUSED = "paused", _("Paused")
    ARCHIVED = "archived", _("Archived")


class TriggerKind(models.TextChoices):
    FORM_SUBMITTED = "form_submitted", _("Form submitted")
    EVENT = "event", _("Event")
    SEGMENT_ENTERED = "segment_entered", _("Entered a segment")
    STAGE_ENTERED = "stage_entered", _("Entered a lifecycle stage")
    DEAL_WON = "deal_won", _("Deal won")
    MANUAL = "manual", _("Manual or API enrolment only")
    DATE_RELATIVE = "date_relative", _("Relative to a date")


class ReentryPolicy(models.TextChoices):
    NEVER = "never", _("Never again")
    AFTER_EXIT = "after_exit", _("Again after leaving")
    AFTER_DAYS = "after_days", _("Again after a number of days")


class Sequence(models.Model):
    name = models.CharField(_("name"), max_length=150, unique=True)
    description = models.TextField(_("description"), blank=True)
    status = models.CharField(
        _("status"), max_length=8, choices=SequenceStatus.choices, default=SequenceStatus.DRAFT
    )
    trigger_kind = models.CharField(_("trigger"), max_length=16, choices=TriggerKind.choices)
    # Per kind: {"form": id} / {"asset": id}, {"event_type", "where": [...]}, {"segment": id},
    # {"stage": "mql"}, {"date": "event:webinar_registered.starts_at" | "field:custom.trial_end",
    # "offset_minutes": -60} …
    trigger_config = models.JSONField(_("trigger settings"), default=dict, blank=True)
    reentry = models.CharField(
        _("re-entry"), max_length=10, choices=ReentryPolicy.choices, default=ReentryPolicy.NEVER
    )
    reentry_days = models.PositiveIntegerField(null=True, blank=True)
    # Exits besides the goal: any of "mql", "sql", "customer", "unsubscribed", "bounced".
    exit_on = models.JSONField(_("exit when"), default=list, blank=True)
    # Send window (Asia/Tokyo): ISO weekdays 1–7, start/end times, national holidays skipped,
    # company closures as [{"from": "12-29", "to": "01-03"}] (month-day, wrapping the year).
    window_days = models.JSONField(default=list, blank=True)
    window_start = models.TimeField(null=True, blank=True)
    window_end = models.TimeField(null=True, blank=True)
    skip_holidays = models.BooleanField(_("skip national holidays"), default=True)
    closures = models.JSONField(_("company closures"), default=list, blank=True)
    sender = models.ForeignKey(
        "messaging.SenderProfile",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    topic_key = models.SlugField(_("consent topic"), max_length=50, blank=True)
    # When the frequency cap lets only one of several sequences mail a contact on a day, the
    # higher priority goes first (equal: the one whose step is due first).
    priority = models.PositiveSmallIntegerField(_("priority"), default=0)
    # "Do not enrol while in sequence X": a contact active in any of these is not enrolled.
    exclusions = models.ManyToManyField(
        "self",
        symmetrical=False,
        blank=True,
        related_name="excluded_by",
        verbose_name=_("do not enrol while in"),
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["name"]
        verbose_name = _("sequence")
        verbose_name_plural = _("sequences")

    def __str__(self) -> str:
        return self.name


class StepKind(models.TextChoices):
    EMAIL = "email", _("Send email")
    CHAT = "chat", _("Send chat message")
    WAIT = "wait", _("Wait")
    BRANCH = "branch", _("Branch")
    UPDATE = "update", _("Update a field or tag")
    NOTIFY_OWNER = "notify_owner", _("Notify the owner")
    GOAL = "goal", _("Goal")


class Step(models.Model):
    """One step. ``config`` per kind: email {"template": id, "variants": [...]} (A/B variants,
    optional: see ``sequences.variants``); chat {"channel": id, "text"};
    wait {"amount", "unit": minutes|hours|days|business_days} or {"until": <date ref>,
    "offset_minutes"}; branch {"condition": {...}, "yes": position, "no": position};
    update {"field" | "tag", "value"}; notify_owner {"text"}; goal {"condition": {...}}."""

    sequence = models.ForeignKey(Sequence, on_delete=models.CASCADE, related_name="steps")
    position = models.PositiveIntegerField()
    kind = models.CharField(_("kind"), max_length=12, choices=StepKind.choices)
    name = models.CharField(_("name"), max_length=150, blank=True)
    config = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["sequence", "position"]
        constraints = [
            models.UniqueConstraint(fields=["sequence", "position"], name="step_unique_position")
        ]

    def __str__(self) -> str:
        return f"{self.sequence_id}#{self.position} {self.kind}"


class EnrollmentStatus(models.TextChoices):
    ACTIVE = "active", _("Active")
    COMPLETED = "completed", _("Completed")
    EXITED = "exited", _("Exited")


class Enrollment(models.Model):
    sequence = models.ForeignKey(Sequence, on_delete=models.CASCADE, related_name="enrollments")
    contact = models.ForeignKey(
        "contacts.Contact", on_delete=models.CASCADE, related_name="enrollments"
    )
    status = models.CharField(
        max_length=10, choices=EnrollmentStatus.choices, default=EnrollmentStatus.ACTIVE
    )
    # The next step to run (position), and when; NULL next_run_at once finished.
    position = models.PositiveIntegerField(default=0)
    next_run_at = models.DateTimeField(null=True, blank=True)
    # The date a date-relative trigger or wait counts from (webinar start, trial end …).
    anchor_at = models.DateTimeField(null=True, blank=True)
    trigger_event = models.ForeignKey(
        "activity.Event", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    enrolled_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    exit_reason = models.CharField(max_length=100, blank=True)
    enrolled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-enrolled_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["sequence", "contact"],
                condition=models.Q(status="active"),
                name="enrollment_one_active",
            )
        ]
        indexes = [
            models.Index(
                fields=["next_run_at"],
                name="enrollment_due_idx",
                condition=models.Q(status="active"),
            ),
            models.Index(fields=["contact", "status"], name="enrollment_contact_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.sequence_id}/{self.contact_id} ({self.status})"


class StepRun(models.Model):
    enrollment = models.ForeignKey(Enrollment, on_delete=models.CASCADE, related_name="runs")
    step = models.ForeignKey(Step, null=True, on_delete=models.SET_NULL, related_name="runs")
    ran_at = models.DateTimeField()
    outcome = models.CharField(max_length=40)
    detail = models.CharField(max_length=300, blank=True)
    message = models.ForeignKey(
        "messaging.Message", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["ran_at", "id"]
        constraints = [models.UniqueConstraint(fields=["enrollment", "step"], name="step_run_once")]

    def __str__(self) -> str:
        return f"{self.enrollment_id} step {self.step_id}: {self.outcome}"
