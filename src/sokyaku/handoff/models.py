"""Handoff (送客): triggers, routing rules, handoffs with their SLA, and the reps' activities."""

from __future__ import annotations

from typing import Any, ClassVar

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class TriggerKind(models.TextChoices):
    MQL = "mql", _("Became an MQL")
    EVENT = "event", _("Hot action")


class HandoffTrigger(models.Model):
    """What hands a lead to sales: entering MQL, or a hot action (an event type with optional
    property conditions, e.g. ``page_view`` whose ``url`` contains ``/pricing``).

    ``action_label`` names the action in the alert (デモ申し込み); ``next_action`` is the
    instruction the rep gets; the SLA is ``sla_hours``, counted on business days only when
    ``business_days_only`` is set; a reminder goes ``reminder_minutes`` before the deadline.
    """

    name = models.CharField(_("name"), max_length=100, unique=True)
    kind = models.CharField(_("kind"), max_length=8, choices=TriggerKind.choices)
    event_type = models.CharField(_("event type"), max_length=40, blank=True)
    # [{"property": "url", "op": "contains", "value": "/pricing"}]; all must hold.
    conditions = models.JSONField(_("conditions"), default=list, blank=True)
    action_label = models.CharField(_("action"), max_length=100)
    next_action = models.TextField(_("next action"))
    sla_hours = models.PositiveSmallIntegerField(_("SLA (hours)"), default=24)
    business_days_only = models.BooleanField(_("count business days only"), default=True)
    reminder_minutes = models.PositiveIntegerField(
        _("reminder before deadline (minutes)"), default=120
    )
    is_active = models.BooleanField(_("active"), default=True)
    position = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField()

    # Counts this process's saves and deletes of triggers: the cache of active triggers
    # (``reactions``) is dropped when it moved, whoever wrote (a service, a fixture, the shell).
    generation: ClassVar[int] = 0

    class Meta:
        ordering = ["position", "id"]
        verbose_name = _("handoff trigger")
        verbose_name_plural = _("handoff triggers")

    def __str__(self) -> str:
        return self.name

    def save(self, *args: Any, **kwargs: Any) -> None:
        super().save(*args, **kwargs)
        HandoffTrigger.generation += 1

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        deleted = super().delete(*args, **kwargs)
        HandoffTrigger.generation += 1
        return deleted


class RuleKind(models.TextChoices):
    ACCOUNT_OWNER = "account_owner", _("Existing account owner")
    TERRITORY = "territory", _("Territory (prefecture / region)")
    INDUSTRY = "industry", _("Industry")
    ROUND_ROBIN = "round_robin", _("Round-robin in a team")
    QUEUE = "queue", _("Fallback queue")


class RoutingRule(models.Model):
    """One routing step, tried in ``position`` order; the first that yields an available rep wins.

    Territory and industry rules match on the contact's (else its company's) prefecture or the
    company's industry and assign ``assignee``, or round-robin in ``team`` when no assignee is
    set. Account owner assigns the company's owner (else the contact's). Round-robin takes the
    team member assigned longest ago who is not away. Queue leaves the handoff unassigned in
    ``team``'s queue (no team: the general queue).
    """

    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(_("kind"), max_length=16, choices=RuleKind.choices)
    prefectures = models.JSONField(_("prefectures"), default=list, blank=True)
    industries = models.JSONField(_("industries"), default=list, blank=True)
    team = models.ForeignKey(
        "core.Team",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="routing_rules",
        verbose_name=_("team"),
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("assignee"),
    )
    is_active = models.BooleanField(_("active"), default=True)
    position = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["position", "id"]
        verbose_name = _("routing rule")
        verbose_name_plural = _("routing rules")

    def __str__(self) -> str:
        return self.name


class HandoffStatus(models.TextChoices):
    OPEN = "open", _("Open")
    ACCEPTED = "accepted", _("Accepted")
    REJECTED = "rejected", _("Rejected")


class SlaState(models.TextChoices):
    PENDING = "pending", _("Running")
    MET = "met", _("Met")
    BREACHED = "breached", _("Breached")


class RejectReason(models.TextChoices):
    NOT_A_FIT = "not_fit", _("Not a fit")
    NO_BUDGET = "no_budget", _("No budget")
    BAD_TIMING = "bad_timing", _("Bad timing")
    NO_AUTHORITY = "no_authority", _("Not the decision maker")
    NO_RESPONSE = "no_response", _("Could not reach")
    DUPLICATE = "duplicate", _("Duplicate")
    COMPETITOR = "competitor", _("Competitor or partner")
    OTHER = "other", _("Other")


class HandoffOutcome(models.TextChoices):
    SQL = "sql", _("SQL")
    RECYCLED = "recycled", _("Recycled to nurture")
    DISQUALIFIED = "disqualified", _("Disqualified")


class Handoff(models.Model):
    """A lead handed to sales: who, why (trigger and the event), to whom, and the SLA clock.

    At most one open handoff per contact; a later hot action while it is open is added to it
    (and alerted) instead of opening a second one.
    """

    contact = models.ForeignKey(
        "contacts.Contact", on_delete=models.CASCADE, related_name="handoffs"
    )
    trigger = models.ForeignKey(
        HandoffTrigger, null=True, blank=True, on_delete=models.SET_NULL, related_name="handoffs"
    )
    trigger_kind = models.CharField(_("trigger"), max_length=8, choices=TriggerKind.choices)
    action_label = models.CharField(_("action"), max_length=100)
    interest = models.CharField(_("interest"), max_length=300, blank=True)
    event = models.ForeignKey(
        "activity.Event", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    acted_at = models.DateTimeField(_("action time"))
    next_action = models.TextField(_("next action"), blank=True)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="handoffs",
        verbose_name=_("assignee"),
    )
    team = models.ForeignKey(
        "core.Team",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="handoffs",
        verbose_name=_("team"),
    )
    routing_rule = models.ForeignKey(
        RoutingRule, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    routing_note = models.CharField(max_length=300, blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=HandoffStatus.choices, default=HandoffStatus.OPEN
    )
    created_at = models.DateTimeField(_("created"))
    alerted_at = models.DateTimeField(null=True, blank=True)
    sla_due_at = models.DateTimeField(_("SLA deadline"))
    reminder_at = models.DateTimeField(null=True, blank=True)
    reminded_at = models.DateTimeField(null=True, blank=True)
    escalated_at = models.DateTimeField(null=True, blank=True)
    sla_state = models.CharField(
        _("SLA"), max_length=10, choices=SlaState.choices, default=SlaState.PENDING
    )
    first_touch_at = models.DateTimeField(_("first touch"), null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reject_reason = models.CharField(
        _("reason"), max_length=16, choices=RejectReason.choices, blank=True
    )
    reject_note = models.TextField(_("note"), blank=True)
    outcome = models.CharField(
        _("outcome"), max_length=14, choices=HandoffOutcome.choices, blank=True
    )
    recycle_sequence = models.ForeignKey(
        "sequences.Sequence", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("handoff")
        verbose_name_plural = _("handoffs")
        constraints = [
            models.UniqueConstraint(
                fields=["contact"],
                condition=models.Q(status="open"),
                name="handoff_one_open_per_contact",
            ),
        ]
        indexes = [
            models.Index(fields=["assignee", "status"], name="handoff_assignee_idx"),
            models.Index(fields=["status", "sla_due_at"], name="handoff_sla_idx"),
            models.Index(fields=["status", "reminder_at"], name="handoff_reminder_idx"),
            models.Index(fields=["created_at"], name="handoff_created_idx"),
        ]

    def __str__(self) -> str:
        return f"handoff {self.pk} ({self.contact_id})"


class HandoffMoment(models.Model):
    """A hot action added to an open handoff (the first action is the handoff itself)."""

    handoff = models.ForeignKey(Handoff, on_delete=models.CASCADE, related_name="moments")
    trigger = models.ForeignKey(
        HandoffTrigger, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    action_label = models.CharField(max_length=100)
    interest = models.CharField(max_length=300, blank=True)
    event = models.ForeignKey(
        "activity.Event", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    acted_at = models.DateTimeField()

    class Meta:
        ordering = ["acted_at", "id"]

    def __str__(self) -> str:
        return self.action_label


class HandoffAssignment(models.Model):
    """Every (re)assignment of a handoff: from whom, to whom, by whom, why."""

    handoff = models.ForeignKey(Handoff, on_delete=models.CASCADE, related_name="assignments")
    from_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    to_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reason = models.CharField(_("reason"), max_length=300, blank=True)
    at = models.DateTimeField()

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.handoff_id}: {self.from_user_id} → {self.to_user_id}"


class ActivityKind(models.TextChoices):
    CALL = "call", _("Call")
    MAIL = "mail", _("Email")
    MEETING = "meeting", _("Meeting")
    NOTE = "note", _("Note")


# Kinds that count as touching the lead (speed to lead); a note does not.
TOUCH_KINDS = (ActivityKind.CALL, ActivityKind.MAIL, ActivityKind.MEETING)


class SalesActivity(models.Model):
    """A call, mail, meeting or note a rep logged on a contact (also on the timeline)."""

    contact = models.ForeignKey(
        "contacts.Contact", on_delete=models.CASCADE, related_name="sales_activities"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    handoff = models.ForeignKey(
        Handoff, null=True, blank=True, on_delete=models.SET_NULL, related_name="activities"
    )
    kind = models.CharField(_("kind"), max_length=8, choices=ActivityKind.choices)
    subject = models.CharField(_("subject"), max_length=200, blank=True)
    body = models.TextField(_("notes"), blank=True)
    occurred_at = models.DateTimeField(_("when"))
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-occurred_at", "-id"]
        verbose_name = _("sales activity")
        verbose_name_plural = _("sales activities")
        indexes = [
            models.Index(fields=["contact", "occurred_at"], name="salesact_contact_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.contact_id}"


class HandoffSettings(models.Model):
    """One row: where alerts go besides the rep's mail, and who hears about the general queue."""

    alert_chat_channel = models.ForeignKey(
        "messaging.ChatChannel",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("alert chat channel"),
    )
    queue_notify = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("notify about unassigned handoffs"),
    )

    class Meta:
        verbose_name = _("handoff settings")
        verbose_name_plural = _("handoff settings")

    def __str__(self) -> str:
        return "handoff settings"
