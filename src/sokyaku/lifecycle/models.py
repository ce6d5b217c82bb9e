"""Lifecycle: each contact's stage, every move between stages, MQL rules, BANT and SQL criteria.

``ContactStage`` is the current stage (one row per contact); ``StageChange`` is the history,
append-only, including moves backwards (recycle), so funnel and velocity can be computed from it.
``BantRecord`` is append-only too: a rep's new entry supersedes the previous one.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Stage(models.TextChoices):
    SUBSCRIBER = "subscriber", _("Subscriber")
    LEAD = "lead", _("Lead")
    MQL = "mql", _("MQL")
    SQL = "sql", _("SQL")
    OPPORTUNITY = "opportunity", _("Opportunity")
    CUSTOMER = "customer", _("Customer")
    ADVOCATE = "advocate", _("Advocate")
    DISQUALIFIED = "disqualified", _("Disqualified")
    RECYCLED = "recycled", _("Recycled")


# The forward funnel; disqualified and recycled are side exits.
FUNNEL = (
    Stage.SUBSCRIBER,
    Stage.LEAD,
    Stage.MQL,
    Stage.SQL,
    Stage.OPPORTUNITY,
    Stage.CUSTOMER,
    Stage.ADVOCATE,
)


class ChangeSource(models.TextChoices):
    RULE = "rule", _("Rule")
    USER = "user", _("User")
    API = "api", _("API")
    SYSTEM = "system", _("System")


class ContactStage(models.Model):
    contact = models.OneToOneField(
        "contacts.Contact", primary_key=True, on_delete=models.CASCADE, related_name="lifecycle"
    )
    stage = models.CharField(_("stage"), max_length=12, choices=Stage.choices)
    entered_at = models.DateTimeField(_("entered"))

    class Meta:
        verbose_name = _("lifecycle stage")
        verbose_name_plural = _("lifecycle stages")
        indexes = [models.Index(fields=["stage", "entered_at"], name="lifecycle_stage_idx")]

    def __str__(self) -> str:
        return f"{self.contact_id}: {self.stage}"


class MqlRule(models.Model):
    """A composite MQL condition (the segments condition language); any active rule qualifies."""

    name = models.CharField(_("name"), max_length=150)
    description = models.TextField(_("description"), blank=True)
    definition = models.JSONField(_("conditions"), default=dict)
    is_active = models.BooleanField(_("active"), default=True)
    position = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["position", "id"]
        verbose_name = _("MQL rule")
        verbose_name_plural = _("MQL rules")

    def __str__(self) -> str:
        return self.name


class StageChange(models.Model):
    contact = models.ForeignKey(
        "contacts.Contact", on_delete=models.CASCADE, related_name="stage_changes"
    )
    from_stage = models.CharField(max_length=12, choices=Stage.choices, blank=True)
    to_stage = models.CharField(max_length=12, choices=Stage.choices)
    changed_at = models.DateTimeField()
    source = models.CharField(max_length=8, choices=ChangeSource.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    rule = models.ForeignKey(
        MqlRule, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reason = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["changed_at", "id"]
        indexes = [
            models.Index(fields=["contact", "changed_at"], name="stage_change_contact_idx"),
            models.Index(fields=["to_stage", "changed_at"], name="stage_change_to_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.contact_id}: {self.from_stage or '-'} → {self.to_stage}"


class Authority(models.TextChoices):
    DECISION_MAKER = "decision_maker", _("Decision maker")
    INFLUENCER = "influencer", _("Influencer")
    USER = "user", _("User")
    UNKNOWN = "", _("Unknown")


class BudgetBand(models.TextChoices):
    UNKNOWN = "", _("Unknown")
    UNDER_1M = "<1m", _("Under ¥1 million")
    B1M_5M = "1m-5m", _("¥1–5 million")
    B5M_10M = "5m-10m", _("¥5–10 million")
    B10M_50M = "10m-50m", _("¥10–50 million")
    OVER_50M = "50m+", _("¥50 million or more")


class TimelineBand(models.TextChoices):
    UNKNOWN = "", _("Unknown")
    M1 = "1m", _("Within 1 month")
    M3 = "3m", _("Within 3 months")
    M6 = "6m", _("Within 6 months")
    M12 = "12m", _("Within 12 months")
    LATER = "later", _("More than 12 months")


class BantRecord(models.Model):
    contact = models.ForeignKey(
        "contacts.Contact", on_delete=models.CASCADE, related_name="bant_records"
    )
    budget_amount_jpy = models.PositiveBigIntegerField(_("budget (JPY)"), null=True, blank=True)
    budget_band = models.CharField(
        _("budget band"), max_length=8, choices=BudgetBand.choices, blank=True
    )
    authority = models.CharField(
        _("authority"), max_length=16, choices=Authority.choices, blank=True
    )
    need = models.TextField(_("need"), blank=True)
    need_tags = models.JSONField(_("need tags"), default=list, blank=True)
    timeline_date = models.DateField(_("timeline"), null=True, blank=True)
    timeline_band = models.CharField(
        _("timeline band"), max_length=6, choices=TimelineBand.choices, blank=True
    )
    recorded_at = models.DateTimeField()
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-recorded_at", "-id"]
        verbose_name = _("BANT")
        verbose_name_plural = _("BANT records")
        indexes = [models.Index(fields=["contact", "recorded_at"], name="bant_contact_idx")]

    def __str__(self) -> str:
        return f"BANT {self.contact_id} @ {self.recorded_at:%Y-%m-%d}"


class SqlCriteria(models.Model):
    """What makes a BANT entry an SQL. One row; by default all four known, timeline ≤ 6 months."""

    require_budget = models.BooleanField(_("budget known"), default=True)
    require_authority = models.BooleanField(_("authority known"), default=True)
    require_decision_maker = models.BooleanField(
        _("authority is the decision maker"), default=False
    )
    require_need = models.BooleanField(_("need known"), default=True)
    require_timeline = models.BooleanField(_("timeline known"), default=True)
    timeline_within_months = models.PositiveSmallIntegerField(
        _("timeline within (months)"), default=6
    )
    updated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("SQL criteria")
        verbose_name_plural = _("SQL criteria")

    def __str__(self) -> str:
        return "SQL criteria"
