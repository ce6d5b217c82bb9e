"""Analytics: daily rollups of the additive metrics, and the days waiting to be refreshed.

A ``DailyCount`` row is one metric's number for one Tokyo day and one source — the first-touch
channel and campaign of the contact the counted rows belong to (0: none). Channel and campaign
are plain integers, not foreign keys: deleting a channel does not delete its history.

The rollups are kept current incrementally: whatever changes a day's numbers marks the day with
a ``DirtyDay`` row of its own (in the transaction that makes the change), and a refresh
recomputes exactly those days from the raw tables (``analytics.metrics``) and removes the marks
it read. Nothing is rebuilt nightly.
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
    """A mark: this Tokyo day's rollups are out of date. Each marking transaction inserts its own
    row (never updates a shared one, so submissions do not queue on a day's row); a refresh
    removes exactly the rows it read, so a mark that committed meanwhile stays."""

    day = models.DateField()
    marked_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["day"], name="dirtyday_day_idx")]

    def __str__(self) -> str:
        return str(self.day)
