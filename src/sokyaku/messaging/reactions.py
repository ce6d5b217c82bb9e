"""How messaging reacts to stored events (reaction "messaging" in ``sokyaku.reactions``).

In the transaction of a ``consent_withdrawn`` event: the contact's queued marketing messages
are suppressed at once (DESIGN.md: an opt-out stops already-queued steps at once), so no worker
can send them after the opt-out committed.
"""

from __future__ import annotations

from sokyaku.activity.models import EventType
from sokyaku.messaging.services.tracking import messages_stop_for_withdrawals

TYPES = frozenset({EventType.CONSENT_WITHDRAWN})
events_stored = messages_stop_for_withdrawals
