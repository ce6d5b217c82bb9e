"""Prometheus metrics, read from our tables when scraped (``GET /metrics``).

A custom collector: every family is computed at scrape time from durable rows (and the queue's
depth), never kept in a process's memory, so with many web and worker processes on many
machines any one of them answers for the whole installation, and a restart loses nothing.
Each family is one query, over an index or a grouped count:

- ``sokyaku_outbox_messages{status}``: outbox messages by status;
- ``sokyaku_queue_depth``: tasks waiting in the worker queue;
- ``sokyaku_tick_lag_seconds``: age of the newest worker heartbeat (written every minute);
- ``sokyaku_oldest_due_seconds{work}``: how long the oldest due message, enrolment step or
  after-commit reaction has waited past its due time;
- ``sokyaku_speed_to_lead_seconds{channel}``: histogram, handoff created → its alert sent;
- ``sokyaku_handoffs{sla_state}``: handoffs by SLA state (running, met, breached);
- ``sokyaku_events_stored_total``: events stored (the highest event id), whose ``rate()`` is
  the ingestion rate;
- ``sokyaku_marketing_paused``: 1 while all marketing sending is paused;
- ``sokyaku_sender_profiles_paused``: sender profiles paused (by hand or for complaints).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import datetime

from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector, CollectorRegistry
from prometheus_client.utils import floatToGoString

from sokyaku.activity.selectors import event_last_id, pending_reaction_oldest_due
from sokyaku.core import clock
from sokyaku.core.selectors import worker_heartbeat_latest
from sokyaku.handoff.selectors import alert_speed, handoff_sla_counts
from sokyaku.messaging.selectors import (
    message_status_counts,
    outbox_oldest_due,
    sender_profiles_paused_count,
)
from sokyaku.messaging.services.pausing import marketing_paused
from sokyaku.monitoring.readiness import queue_depth
from sokyaku.sequences.selectors import enrollment_oldest_due

# Speed to lead: seconds. The target is well under a second; peers take minutes to hours.
SPEED_BUCKETS = (0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 300.0, 1800.0, 3600.0)


def _age(since: datetime | None, now: datetime) -> float:
    return 0.0 if since is None else max(0.0, (now - since).total_seconds())


class TablesCollector(Collector):
    """Every sokyaku family, computed from the database at each scrape."""

    def collect(self) -> Iterator[Metric]:
        now = clock.now()
        outbox = GaugeMetricFamily(
            "sokyaku_outbox_messages", "Outbox messages by status.", labels=["status"]
        )
        for status, count in message_status_counts().items():
            outbox.add_metric([status], count)
        yield outbox

        try:
            depth = float(queue_depth())
        except Exception:  # the queue is down: say so with NaN rather than fail the scrape
            depth = math.nan
        yield GaugeMetricFamily(
            "sokyaku_queue_depth", "Tasks waiting in the worker queue.", value=depth
        )

        beat = worker_heartbeat_latest()
        yield GaugeMetricFamily(
            "sokyaku_tick_lag_seconds",
            "Age of the newest worker heartbeat (written every minute; NaN before the first).",
            value=_age(beat, now) if beat is not None else math.nan,
        )

        paused = marketing_paused()
        due = GaugeMetricFamily(
            "sokyaku_oldest_due_seconds",
            "How long the oldest due work has waited past its due time.",
            labels=["work"],
        )
        due.add_metric(["outbox"], _age(outbox_oldest_due(at=now, marketing=not paused), now))
        due.add_metric(["enrollments"], _age(enrollment_oldest_due(at=now), now))
        due.add_metric(["reactions"], _age(pending_reaction_oldest_due(at=now), now))
        yield due

        speed = HistogramMetricFamily(
            "sokyaku_speed_to_lead_seconds",
            "From a handoff's creation to its sales alert being sent.",
            labels=["channel"],
        )
        for row in alert_speed(bounds=SPEED_BUCKETS):
            buckets = [(floatToGoString(bound), float(count)) for bound, count in row.buckets]
            buckets.append(("+Inf", float(row.count)))
            speed.add_metric([row.channel], buckets=buckets, sum_value=row.total_seconds)
        yield speed

        sla = GaugeMetricFamily("sokyaku_handoffs", "Handoffs by SLA state.", labels=["sla_state"])
        for state, count in handoff_sla_counts().items():
            sla.add_metric([state], count)
        yield sla

        yield CounterMetricFamily(
            "sokyaku_events_stored",
            "Events stored (the highest event id); its rate is the ingestion rate.",
            value=event_last_id(),
        )
        yield GaugeMetricFamily(
            "sokyaku_marketing_paused",
            "1 while all marketing sending is paused.",
            value=1 if paused else 0,
        )
        yield GaugeMetricFamily(
            "sokyaku_sender_profiles_paused",
            "Sender profiles paused (by hand or for their complaint rate).",
            value=sender_profiles_paused_count(),
        )


def registry() -> CollectorRegistry:
    """A registry with our collector only (per-process metrics would describe one process of
    many, so none are exported)."""
    found = CollectorRegistry(auto_describe=False)
    found.register(TablesCollector())
    return found
