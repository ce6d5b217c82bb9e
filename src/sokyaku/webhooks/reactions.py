"""How outgoing webhooks react to stored events (reaction "webhooks" in ``sokyaku.reactions``).

In the storing transaction, each event of a type that a subscription wants (``catalogue``) is
written as a delivery to every such subscription (``services.publishing.events_stored``); the
deliveries commit with the event and are sent after commit. It runs first of the in-transaction
reactions, so that the deliveries of a contact are written in the order its events were stored
(the reactions after it store further events — a score band, a handoff — whose deliveries then
follow).
"""

from __future__ import annotations

from sokyaku.webhooks import catalogue
from sokyaku.webhooks.services.publishing import events_stored

TYPES = catalogue.SOURCES

__all__ = ["TYPES", "events_stored"]
