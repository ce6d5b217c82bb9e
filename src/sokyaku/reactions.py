"""The switchboard: every reaction to stored events, in the order it runs.

An event is stored by ``activity.services`` (one at a time or in batches); then

- the **in-transaction** reactions run at once, in the order below, inside the transaction that
  stores the events: what they write commits or rolls back with the events;
- the **after-commit** reactions run once per transaction, with every event of theirs that the
  transaction stored, in the worker, in the order below; the work is recorded in the same
  transaction (``activity.models.PendingReaction``), so a lost queue item only delays it.

``types`` is what a reaction wants (``None``: every type); ``ignores`` what it never wants — its
own events, so that no reaction feeds itself. The runner is ``activity.listeners``; this table is
the only place where reactions are wired (``settings.SOKYAKU_REACTIONS`` names it).

This module sits at the top of the house with ``urls.py``, ``api.py`` and ``cli.py``: it may
import every app; nothing imports it.
"""

from __future__ import annotations

from sokyaku.activity.listeners import Reaction
from sokyaku.analytics import reactions as analytics
from sokyaku.deals import reactions as deals
from sokyaku.handoff import reactions as handoff
from sokyaku.lifecycle import reactions as lifecycle
from sokyaku.messaging import reactions as messaging
from sokyaku.scoring import reactions as scoring
from sokyaku.segments import reactions as segments
from sokyaku.sequences import reactions as sequences
from sokyaku.webhooks import reactions as webhooks

REACTIONS: tuple[Reaction, ...] = (
    # --- in the transaction ------------------------------------------------------------------
    # Outgoing webhooks: a delivery per subscription, committed with the event. First, so that a
    # contact's deliveries are written in the order of its events (the reactions below store
    # further events: a band, a handoff).
    Reaction("webhooks", stored=webhooks.events_stored, types=webhooks.TYPES),
    # Points with exact decay, fit from attribute changes: the score commits with its event.
    Reaction("scoring", stored=scoring.events_stored, types=scoring.TYPES),
    # A new contact's first stage; a subscriber who converts becomes a lead.
    Reaction("lifecycle.stages", stored=lifecycle.events_stored, types=lifecycle.STAGE_TYPES),
    # An opt-out stops the contact's queued marketing mail at once.
    Reaction("messaging", stored=messaging.events_stored, types=messaging.TYPES),
    # Hot actions and MQL entries hand the contact to sales; the alert is queued with them.
    Reaction("handoff", stored=handoff.events_stored),
    # The days whose reported numbers the events change are marked for the rollups.
    Reaction("analytics", stored=analytics.events_stored),
    # --- after commit, in the worker ---------------------------------------------------------
    # MQL rules (then, in that transaction, the handoff of a new MQL and its alert).
    Reaction("lifecycle.mql", committed=lifecycle.events_committed, ignores=lifecycle.MQL_IGNORES),
    # Dynamic segment membership (entered / left events).
    Reaction("segments", committed=segments.events_committed, ignores=segments.IGNORES),
    # Sequence exits, goals and triggers (enrolments).
    Reaction("sequences", committed=sequences.events_committed, ignores=sequences.IGNORES),
    # Referral attribution from forms; rewards when a referred contact buys.
    Reaction("deals", committed=deals.events_committed, types=deals.TYPES),
)
