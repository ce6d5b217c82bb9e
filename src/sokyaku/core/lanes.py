"""The worker's lanes: the priority every background task is queued with.

One Huey queue serves every task; the consumer takes the highest priority first (SqliteHuey and
``PriorityRedisHuey`` both order by priority, then by arrival). Every task names its lane:

- ``TICK``: the periodic ticks and repair sweeps (outbox, sequences, SLA timers, band drops,
  heartbeat, unfinished imports …). They find what is due from durable rows, so a burst of bulk
  work queued before them must not make them wait: they go first.
- ``HOT``: the hot path (DESIGN.md, "speed to lead"): sequence triggers and mail 1, MQL
  evaluation, message delivery (sales alerts, confirmations, download links).
- ``NORMAL``: the other after-commit evaluations of a few contacts (segment memberships).
- ``BULK``: work over many rows that nobody waits for second by second: imports, broadcasts
  (their delivery included), full segment refreshes, score recomputes, model training,
  re-applying channel rules.

Priorities decide which queued task a free worker thread takes next; they do not interrupt a
task that is running. A tick therefore waits at most for one running task to end, never for
the queue (docs/operations.md, "Worker lanes").
"""

from __future__ import annotations

TICK = 30
HOT = 20
NORMAL = 10
BULK = 0

__all__ = ["BULK", "HOT", "NORMAL", "TICK"]
