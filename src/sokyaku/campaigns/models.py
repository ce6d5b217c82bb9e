"""Channels (where leads come from), the rules that map a touch to a channel, UTM campaigns and
their monthly costs.

A touch (UTM parameters, referrer) is mapped to a channel by ``ChannelRule`` rows, tried in
``priority`` order; ``matching.py`` holds the logic, ``services.py`` every write.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class ChannelKind(models.TextChoices):
    ORGANIC_SEARCH = "organic_search", _("Organic search / SEO")
    PAID_SEARCH = "paid_search", _("Paid search")
    PAID_SOCIAL = "paid_social", _("Paid social")
    ORGANIC_SOCIAL = "organic_social", _("Organic social")
    DISPLAY = "display", _("Display ads")
    EMAIL = "email", _("Email")
    REFERRAL = "referral", _("Referral")
    WEBINAR = "webinar", _("Webinar")
    TRADE_SHOW = "trade_show", _("Trade show")
    CONTENT = "content", _("Content / owned media")
    PARTNER = "partner", _("Partner")
    DIRECT = "direct", _("Direct")
    OTHER = "other", _("Other")


class Channel(models.Model):
    key = models.SlugField(_("key"), max_length=50, unique=True)
    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(_("kind"), max_length=30, choices=ChannelKind.choices)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("channel")
        verbose_name_plural = _("channels")

    def __str__(self) -> str:
        return self.name


class RuleOperator(models.TextChoices):
    """How one condition of a rule compares a touch's value (case-insensitive)."""

    ANY = "any", _("any value")
    EXACT = "exact", _("is one of")
    CONTAINS = "contains", _("contains one of")
    PRESENT = "present", _("is set")
    EMPTY = "empty", _("is empty")


class ChannelRule(models.Model):
    """When a touch matches every condition, it came through ``channel``.

    Each condition compares one value of the touch (``utm_source``, ``utm_medium``, the
    referrer's domain) with ``*_values``: a comma-separated list of alternatives. Rules are tried
    by ascending ``priority``; the first match wins.
    """

    priority = models.PositiveIntegerField(_("priority"))
    name = models.CharField(_("description"), max_length=200, blank=True)
    channel = models.ForeignKey(
        Channel, on_delete=models.CASCADE, related_name="rules", verbose_name=_("channel")
    )
    source_op = models.CharField(
        _("utm_source"), max_length=10, choices=RuleOperator.choices, default=RuleOperator.ANY
    )
    source_values = models.CharField(_("utm_source values"), max_length=500, blank=True)
    medium_op = models.CharField(
        _("utm_medium"), max_length=10, choices=RuleOperator.choices, default=RuleOperator.ANY
    )
    medium_values = models.CharField(_("utm_medium values"), max_length=500, blank=True)
    referrer_op = models.CharField(
        _("referrer domain"),
        max_length=10,
        choices=RuleOperator.choices,
        default=RuleOperator.ANY,
    )
    referrer_values = models.CharField(_("referrer domain values"), max_length=500, blank=True)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["priority", "id"]
        verbose_name = _("channel rule")
        verbose_name_plural = _("channel rules")
        indexes = [models.Index(fields=["priority", "id"], name="channelrule_order_idx")]

    def __str__(self) -> str:
        return self.name or f"#{self.pk}"


class Campaign(models.Model):
    name = models.CharField(_("name"), max_length=200)
    channel = models.ForeignKey(
        Channel, on_delete=models.PROTECT, related_name="campaigns", verbose_name=_("channel")
    )
    utm_campaign = models.CharField(_("utm_campaign"), max_length=200, unique=True)
    starts_on = models.DateField(_("starts on"), null=True, blank=True)
    ends_on = models.DateField(_("ends on"), null=True, blank=True)

    class Meta:
        ordering = ["-starts_on", "name"]
        verbose_name = _("campaign")
        verbose_name_plural = _("campaigns")

    def __str__(self) -> str:
        return self.name


class ChannelCost(models.Model):
    """What a channel (optionally one campaign of it) cost in one month, in yen."""

    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="costs")
    campaign = models.ForeignKey(
        Campaign, null=True, blank=True, on_delete=models.CASCADE, related_name="costs"
    )
    month = models.DateField(_("month"), help_text=_("First day of the month."))
    amount_jpy = models.BigIntegerField(_("amount (JPY)"))

    class Meta:
        ordering = ["-month"]
        constraints = [
            models.UniqueConstraint(
                fields=["channel", "month"],
                condition=models.Q(campaign__isnull=True),
                name="channelcost_one_per_channel_month",
            ),
            models.UniqueConstraint(
                fields=["channel", "campaign", "month"],
                condition=models.Q(campaign__isnull=False),
                name="channelcost_one_per_campaign_month",
            ),
            models.CheckConstraint(
                condition=models.Q(amount_jpy__gte=0), name="channelcost_amount_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.channel} {self.month:%Y-%m}"
