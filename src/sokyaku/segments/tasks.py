"""Segment tasks: membership of changed contacts, full refreshes (on save, hourly, nightly).

Time windows ("in the last 30 days") and decaying scores change matches without any contact
changing, so segments whose definition has such parts are refreshed hourly; every dynamic
segment is refreshed nightly as well (company edits and membership of other segments do not
always come with an event of the contact). Temperature changes arrive as events anyway.
"""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from sokyaku.core import lanes
from sokyaku.segments import services
from sokyaku.segments.models import Segment


@db_task(priority=lanes.BULK)
def segment_refresh_task(segment_id: int) -> None:
    segment = Segment.objects.filter(pk=segment_id).first()
    if segment is not None:
        services.segment_refresh(segment=segment)


@db_periodic_task(crontab(minute="7"), priority=lanes.BULK)
def segments_refresh_hourly() -> None:
    services.segments_refresh_due(time_relative_only=True)


@db_periodic_task(crontab(hour="18", minute="37"), priority=lanes.BULK)  # 03:37 in Tokyo
def segments_refresh_nightly() -> None:
    services.segments_refresh_due(time_relative_only=False)
