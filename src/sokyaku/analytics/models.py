"""Analytics: daily rollups of the additive metrics, and the days waiting to be refreshed.

A ``DailyCount`` row is one metric's number for one Tokyo day and one source — the first-touch
channel and campaign of the contact the counted rows belong to (0: none). Channel and campaign
are plain integers, not foreign keys: deleting a channel does not delete its history.

The rollups are kept current incrementally: whatever changes a day's numbers marks the day in
``DirtyDay`` (in the transaction that makes the change), and a refresh recomputes exactly those
days from the raw tables (``analytics.metrics``). Nothing is rebuilt nightly.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class DailyCount(models.Model):
    day = models.DateField()
    metric = models.CharField(max_length=24)
    channel_id = models.PositiveIntegerField(default=0)
    campaign_id = models.PositiveIntegerField(default=0)
    value = models.BigIntegerField(default=0)

    class Meta:
        verbose_name = _("daily count")
        verbose_name_plural = _("daily counts")
        permissions = [("view_reports", _("Can see reports and dashboards"))]
        constraints = [
            models.UniqueConstraint(
                fields=["day", "metric", "channel_id", "campaign_id"], name="dailycount_unique"
            )
        ]
        indexes = [models.Index(fields=["metric", "day"], name="dailycount_metric_day_idx")]

    def __str__(self) -> str:
        return f"{self.day} {self.metric} ch{self.channel_id}/cp{self.campaign_id}: {self.value}"


class DirtyDay(models.Model):
    """A Tokyo day whose rollups are out of date; removed by the refresh that fixes them."""

    day = models.DateField(primary_key=True)
    marked_at = models.DateTimeField()

    def __str__(self) -> str:
        return str(self.day)
