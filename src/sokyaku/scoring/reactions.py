"""How scoring reacts to stored events (reaction "scoring" in ``sokyaku.reactions``).

In the ingesting transaction: the events' points are added to their contacts' scores with the
exact decay, and fit follows attribute changes (``services.engine.events_score``), so a score
commits with the event that caused it — DESIGN.md's hot path.
"""

from __future__ import annotations

from sokyaku.scoring.services import engine

TYPES = engine.RELEVANT
events_stored = engine.events_score
