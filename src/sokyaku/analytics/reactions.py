"""How analytics reacts to stored events (reaction "analytics" in ``sokyaku.reactions``).

In the ingesting transaction: the days whose rollups the events change are marked dirty
(``rollups.events_stored``); the minute task recomputes them.
"""

from __future__ import annotations

from sokyaku.analytics import rollups

events_stored = rollups.events_stored
