"""The worker's lanes: the priority every background task is queued with.

One Huey queue serves every task; the consumer takes the highest priority first (SqliteHuey and
``PriorityRedisHuey`` both order by priority, then by arrival). Every task names its lane:

- ``TICK``: the periodic ticks and repair sweeps (outbox, sequences, SLA timers, band drops,
  heartbeat, unfinished imports …). They find what is due from durable rows, so a burst of bulk
  work queued before them must not make them wait: they go first.
- ``SEND``: delivery of the messages the hot path queued (sales alerts, confirmations, download
  links, mail 1): short, and what a person waits for, so ahead of the evaluations that queue it.
- ``HOT``: the hot path (DESIGN.md, "speed to lead"): the after-commit reactions of stored
  events (MQL rules, segment membership, sequence triggers), mail 1 of a new enrolment.
- ``BULK``: work over many rows that nobody waits for second by second: imports, broadcasts
  (their delivery included), full segment refreshes, score recomputes, model training,
  re-applying channel rules.

Priorities decide which queued task a free worker thread takes next; they do not interrupt a
task that is running. A tick therefore waits at most for one running task to end, never for
the queue (docs/operations.md, "Worker lanes").
"""

from __future__ import annotations

TICK = 30
SEND = 25
HOT = 20
BULK = 0

__all__ = ["BULK", "HOT", "SEND", "TICK"]
