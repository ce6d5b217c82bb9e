"""Deals: pipelines and stages, deals with lines, their stage history, sales quotas; after the
sale (増客): orders, referral codes and referrals."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Pipeline(models.Model):
    name = models.CharField(_("name"), max_length=100, unique=True)
    is_default = models.BooleanField(_("default"), default=False)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-is_default", "name"]
        verbose_name = _("pipeline")
        verbose_name_plural = _("pipelines")

    def __str__(self) -> str:
        return self.name


class StageKind(models.TextChoices):
    OPEN = "open", _("Open")
    WON = "won", _("Won")
    LOST = "lost", _("Lost")


class DealStage(models.Model):
    """A column of the board. ``probability`` (0–100) weights the forecast; a deal sitting
    longer than ``stagnation_days`` in an open stage alerts its owner."""

    pipeline = models.ForeignKey(Pipeline, on_delete=models.CASCADE, related_name="stages")
    name = models.CharField(_("name"), max_length=50)
    position = models.PositiveSmallIntegerField(default=0)
    probability = models.PositiveSmallIntegerField(_("probability (%)"), default=0)
    kind = models.CharField(_("kind"), max_length=5, choices=StageKind.choices, default="open")
    stagnation_days = models.PositiveSmallIntegerField(
        _("stagnation alert after (days)"), null=True, blank=True
    )

    class Meta:
        ordering = ["pipeline", "position", "id"]
        verbose_name = _("deal stage")
        verbose_name_plural = _("deal stages")
        constraints = [
            models.UniqueConstraint(fields=["pipeline", "name"], name="deal_stage_unique_name"),
        ]

    def __str__(self) -> str:
        return self.name


class Product(models.Model):
    name = models.CharField(_("name"), max_length=150)
    sku = models.CharField(_("SKU"), max_length=50, unique=True)
    category = models.CharField(_("category"), max_length=50, blank=True)
    unit_price = models.PositiveBigIntegerField(_("unit price (JPY)"), default=0)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("product")
        verbose_name_plural = _("products")

    def __str__(self) -> str:
        return self.name


class DealStatus(models.TextChoices):
    OPEN = "open", _("Open")
    WON = "won", _("Won")
    LOST = "lost", _("Lost")


class LostReason(models.TextChoices):
    PRICE = "price", _("Price")
    COMPETITOR = "competitor", _("Chose a competitor")
    NO_BUDGET = "no_budget", _("No budget")
    TIMING = "timing", _("Timing")
    NO_DECISION = "no_decision", _("No decision")
    NOT_A_FIT = "not_fit", _("Not a fit")
    OTHER = "other", _("Other")


class ForecastCategory(models.TextChoices):
    """How sure the owner is of an open deal (the forecast's commit / best case / pipeline);
    an omitted deal counts in no forecast figure."""

    COMMIT = "commit", _("Commit")
    BEST_CASE = "best_case", _("Best case")
    PIPELINE = "pipeline", _("Pipeline")
    OMITTED = "omitted", _("Omitted")


class Deal(models.Model):
    """An opportunity. ``version`` grows with every change so a stale board move is refused
    instead of overwriting someone else's."""

    pipeline = models.ForeignKey(Pipeline, on_delete=models.PROTECT, related_name="deals")
    stage = models.ForeignKey(DealStage, on_delete=models.PROTECT, related_name="deals")
    name = models.CharField(_("name"), max_length=200)
    contact = models.ForeignKey(
        "contacts.Contact",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="deals",
        verbose_name=_("contact"),
    )
    company = models.ForeignKey(
        "contacts.Company",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="deals",
        verbose_name=_("company"),
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="deals",
        verbose_name=_("owner"),
    )
    amount = models.PositiveBigIntegerField(_("amount (JPY)"), null=True, blank=True)
    expected_close = models.DateField(_("expected close"), null=True, blank=True)
    status = models.CharField(
        _("status"), max_length=5, choices=DealStatus.choices, default=DealStatus.OPEN
    )
    forecast_category = models.CharField(
        _("forecast category"),
        max_length=10,
        choices=ForecastCategory.choices,
        default=ForecastCategory.PIPELINE,
    )
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    lost_reason = models.CharField(
        _("lost reason"), max_length=12, choices=LostReason.choices, blank=True
    )
    close_note = models.TextField(_("note"), blank=True)
    handoff = models.ForeignKey(
        "handoff.Handoff", null=True, blank=True, on_delete=models.SET_NULL, related_name="deals"
    )
    bant = models.ForeignKey(
        "lifecycle.BantRecord",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="deals",
    )
    stage_entered_at = models.DateTimeField()
    stagnation_alerted_at = models.DateTimeField(null=True, blank=True)
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(_("created"))
    updated_at = models.DateTimeField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("deal")
        verbose_name_plural = _("deals")
        indexes = [
            models.Index(fields=["owner", "status"], name="deal_owner_idx"),
            models.Index(fields=["status", "expected_close"], name="deal_forecast_idx"),
            models.Index(fields=["stage", "stage_entered_at"], name="deal_stage_idx"),
            models.Index(fields=["status", "closed_at"], name="deal_closed_idx"),
        ]

    def __str__(self) -> str:
        return self.name


class DealLine(models.Model):
    deal = models.ForeignKey(Deal, on_delete=models.CASCADE, related_name="lines")
    product = models.ForeignKey(
        Product, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    name = models.CharField(_("item"), max_length=150)
    quantity = models.PositiveIntegerField(_("quantity"), default=1)
    unit_price = models.PositiveBigIntegerField(_("unit price (JPY)"))

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.name

    @property
    def total(self) -> int:
        return self.quantity * self.unit_price


class DealStageChange(models.Model):
    """The deal's history: every stage move (and win/loss), by whom, when."""

    deal = models.ForeignKey(Deal, on_delete=models.CASCADE, related_name="stage_changes")
    from_stage = models.ForeignKey(
        DealStage, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Empty once the stage was deleted (a stage no deal sits in any more can go; its past stays).
    to_stage = models.ForeignKey(
        DealStage, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    at = models.DateTimeField()
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["at"], name="deal_change_at_idx")]

    def __str__(self) -> str:
        return f"{self.deal_id} → {self.to_stage_id}"


class Quota(models.Model):
    """What a rep is expected to win in one calendar month (Asia/Tokyo), in yen. Set by admins,
    and by a team's manager for the team's members; the forecast report sets won against it."""

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="quotas",
        verbose_name=_("rep"),
    )
    month = models.DateField(_("month"))  # the first day of the month
    amount = models.PositiveBigIntegerField(_("quota (JPY)"))
    updated_at = models.DateTimeField()
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["month", "owner_id"]
        verbose_name = _("quota")
        verbose_name_plural = _("quotas")
        constraints = [
            models.UniqueConstraint(fields=["owner", "month"], name="quota_owner_month_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.owner_id} {self.month:%Y-%m}: {self.amount}"


class Order(models.Model):
    """A purchase (B2C), sent through the API with the shop's own id, so resends are harmless."""

    contact = models.ForeignKey("contacts.Contact", on_delete=models.CASCADE, related_name="orders")
    external_id = models.CharField(_("order id"), max_length=100, unique=True)
    ordered_at = models.DateTimeField(_("ordered"))
    amount = models.PositiveBigIntegerField(_("amount (JPY)"))
    lines = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-ordered_at", "-id"]
        verbose_name = _("order")
        verbose_name_plural = _("orders")
        indexes = [models.Index(fields=["contact", "ordered_at"], name="order_contact_idx")]

    def __str__(self) -> str:
        return self.external_id


class ReferralCode(models.Model):
    contact = models.OneToOneField(
        "contacts.Contact", on_delete=models.CASCADE, related_name="referral_code"
    )
    code = models.CharField(max_length=16, unique=True)
    created_at = models.DateTimeField()

    def __str__(self) -> str:
        return self.code


class RewardStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    EARNED = "earned", _("Earned")
    PAID = "paid", _("Paid")
    VOID = "void", _("Void")


class Referral(models.Model):
    """A lead brought by a customer's referral code; the reward is earned when the lead buys."""

    referrer = models.ForeignKey(
        "contacts.Contact", on_delete=models.CASCADE, related_name="referrals_made"
    )
    referred = models.OneToOneField(
        "contacts.Contact", on_delete=models.CASCADE, related_name="referred_by"
    )
    code = models.CharField(max_length=16)
    attributed_at = models.DateTimeField()
    reward_status = models.CharField(
        _("reward"), max_length=8, choices=RewardStatus.choices, default=RewardStatus.PENDING
    )
    reward_changed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-attributed_at", "-id"]
        verbose_name = _("referral")
        verbose_name_plural = _("referrals")

    def __str__(self) -> str:
        return f"{self.referrer_id} → {self.referred_id}"
