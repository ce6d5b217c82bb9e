"""Scoring: versioned rule sets, each contact's score state, the points ledger, predictions.

A ``RuleSet`` is immutable once published: editing the rules publishes a new version (the old
ones stay for history and can be restored), and publishing recomputes every contact. Exactly one
rule set is active.

Engagement is stored as ``(engagement, engagement_epoch)``: its value at time t is
``engagement · 2^(-(t - engagement_epoch) / half_life)`` (DESIGN.md, "Scores that decay without
batch jobs"). The epoch is in seconds (a float), so every database can decay it in SQL. Fit does
not decay. ``temperature`` is the band the total was in when last written, and
``band_drops_at`` the computed moment decay will take it below its band's lower edge; the
worker's tick moves it then.
"""

from __future__ import annotations

from datetime import UTC, datetime

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Temperature(models.TextChoices):
    COLD = "cold", _("Cold")
    WARM = "warm", _("Warm")
    HOT = "hot", _("Hot")


class RuleSet(models.Model):
    version = models.PositiveIntegerField(_("version"), unique=True)
    half_life_days = models.FloatField(_("half-life (days)"), default=30)
    warm_at = models.FloatField(_("warm from"), default=20)
    hot_at = models.FloatField(_("hot from"), default=50)
    # Opens by Apple Mail Privacy Protection and other prefetchers carry properties.machine=true.
    score_machine_opens = models.BooleanField(_("score machine opens"), default=False)
    is_active = models.BooleanField(_("active"), default=False)
    comment = models.CharField(_("comment"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("created"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-version"]
        verbose_name = _("scoring rule set")
        verbose_name_plural = _("scoring rule sets")
        constraints = [
            models.UniqueConstraint(
                fields=["is_active"],
                condition=models.Q(is_active=True),
                name="scoring_one_active_ruleset",
            )
        ]

    def __str__(self) -> str:
        return f"v{self.version}"


class RuleKind(models.TextChoices):
    BEHAVIOUR = "behaviour", _("Behaviour")
    FIT = "fit", _("Fit")


class CapPeriod(models.TextChoices):
    NONE = "", _("No cap")
    DAY = "day", _("per day")
    WEEK = "week", _("per week")


class Rule(models.Model):
    """One scoring rule.

    behaviour: ``event_type`` + ``conditions`` on the event's properties → ``points`` (decaying),
    at most ``cap`` times per ``cap_period`` (Asia/Tokyo days, weeks from Monday).
    fit: ``conditions`` on the contact's and company's attributes → ``points`` (no decay).
    ``conditions`` is a list of ``{"field", "op", "value"}`` that must all hold.
    """

    ruleset = models.ForeignKey(RuleSet, on_delete=models.CASCADE, related_name="rules")
    position = models.PositiveIntegerField(default=0)
    kind = models.CharField(_("kind"), max_length=10, choices=RuleKind.choices)
    name = models.CharField(_("name"), max_length=100)
    event_type = models.CharField(_("event type"), max_length=40, blank=True)
    conditions = models.JSONField(_("conditions"), default=list, blank=True)
    points = models.IntegerField(_("points"))
    cap = models.PositiveIntegerField(_("cap"), null=True, blank=True)
    cap_period = models.CharField(
        _("cap period"), max_length=4, choices=CapPeriod.choices, blank=True
    )

    class Meta:
        ordering = ["ruleset", "kind", "position", "id"]
        verbose_name = _("scoring rule")
        verbose_name_plural = _("scoring rules")

    def __str__(self) -> str:
        return self.name


class ScoreState(models.Model):
    contact = models.OneToOneField(
        "contacts.Contact", primary_key=True, on_delete=models.CASCADE, related_name="score"
    )
    engagement = models.FloatField(default=0)
    engagement_epoch = models.FloatField(default=0)
    fit = models.IntegerField(default=0)
    temperature = models.CharField(
        max_length=4, choices=Temperature.choices, default=Temperature.COLD
    )
    band_drops_at = models.DateTimeField(null=True, blank=True)
    ruleset_version = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField()

    class Meta:
        verbose_name = _("score")
        verbose_name_plural = _("scores")
        indexes = [
            models.Index(
                fields=["band_drops_at"],
                name="score_band_drops_idx",
                condition=models.Q(band_drops_at__isnull=False),
            ),
            models.Index(fields=["temperature"], name="score_temperature_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.contact_id}: {self.engagement:.1f}+{self.fit}"

    @property
    def engagement_as_of(self) -> datetime:
        return datetime.fromtimestamp(self.engagement_epoch, tz=UTC)


class ScoreEntry(models.Model):
    """Behaviour points one event earned under one rule (the ledger behind the breakdown).

    Rebuilt from the events by a recompute; written one by one as events arrive.
    """

    contact = models.ForeignKey(
        "contacts.Contact", on_delete=models.CASCADE, related_name="score_entries"
    )
    rule = models.ForeignKey(Rule, null=True, on_delete=models.SET_NULL, related_name="entries")
    event = models.ForeignKey(
        "activity.Event", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    points = models.IntegerField()
    occurred_at = models.DateTimeField()

    class Meta:
        verbose_name = _("score entry")
        verbose_name_plural = _("score entries")
        indexes = [
            models.Index(fields=["contact", "occurred_at"], name="score_entry_contact_idx"),
            models.Index(fields=["rule", "contact", "occurred_at"], name="score_entry_cap_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.contact_id}: {self.points:+d} @ {self.occurred_at:%Y-%m-%d %H:%M}"


class RecomputeStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")


class RecomputeRun(models.Model):
    """A set-based recompute of every contact's score under ``ruleset``, with its progress."""

    ruleset = models.ForeignKey(RuleSet, on_delete=models.CASCADE, related_name="runs")
    status = models.CharField(
        max_length=8, choices=RecomputeStatus.choices, default=RecomputeStatus.QUEUED
    )
    total = models.PositiveIntegerField(default=0)
    done = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField()
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"recompute v{self.ruleset_id}: {self.status}"


class ModelStatus(models.TextChoices):
    TRAINING = "training", _("Training")
    READY = "ready", _("Ready")
    REFUSED = "refused", _("Not enough outcomes")
    FAILED = "failed", _("Failed")


class PredictiveModel(models.Model):
    """A trained win-probability model: logistic regression beside a naive-Bayes baseline.

    Coefficients, feature names and scaling are stored as JSON (no pickles), so predicting is
    a dot product and the top reasons are the largest contributions.
    """

    status = models.CharField(max_length=10, choices=ModelStatus.choices)
    message = models.TextField(blank=True)
    is_active = models.BooleanField(default=False)
    features = models.JSONField(default=list)
    parameters = models.JSONField(default=dict)
    auc = models.FloatField(null=True, blank=True)
    baseline_auc = models.FloatField(null=True, blank=True)
    positives = models.PositiveIntegerField(default=0)
    negatives = models.PositiveIntegerField(default=0)
    trained_at = models.DateTimeField()
    trained_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-trained_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_active"],
                condition=models.Q(is_active=True),
                name="scoring_one_active_model",
            )
        ]

    def __str__(self) -> str:
        return f"model {self.pk}: {self.status}"


class Prediction(models.Model):
    contact = models.OneToOneField(
        "contacts.Contact", primary_key=True, on_delete=models.CASCADE, related_name="prediction"
    )
    model = models.ForeignKey(PredictiveModel, on_delete=models.CASCADE, related_name="+")
    probability = models.FloatField()
    # [{"feature", "label", "contribution"}], the three largest pushes towards a win.
    reasons = models.JSONField(default=list)
    computed_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.contact_id}: {self.probability:.2f}"
