"""Demo data for sequences: the seed's B2B step mail, active, with recent whitepaper
downloaders at every stage (some finished, some waiting for mail 2 or 3).

``sequences_demo_setup()`` installs the presets, activates the B2B sequence and enrols up to
``limit`` recent ``asset_downloaded`` contacts through the real services, each at the moment of
its download (the clock is moved there), then runs the tick up to now — so their mails, StepRuns,
waits and completions are what the product itself would have produced.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from sokyaku.activity.models import Event, EventType
from sokyaku.core import clock
from sokyaku.core.errors import Conflict, ValidationError
from sokyaku.sequences.models import Sequence, SequenceStatus
from sokyaku.sequences.presets import b2b_sequence, sequences_presets_install_if_missing
from sokyaku.sequences.services.editing import sequence_activate
from sokyaku.sequences.services.enrollment import sequence_enroll
from sokyaku.sequences.services.tick import sequences_tick

logger = logging.getLogger(__name__)


def sequences_demo_setup(*, limit: int = 60, days: int = 30) -> Sequence | None:
    """Install presets, activate the B2B sequence, enrol recent whitepaper downloaders."""
    sequences_presets_install_if_missing()
    sequence = b2b_sequence()
    if sequence is None:
        return None
    if sequence.status != SequenceStatus.ACTIVE:
        sequence_activate(sequence=sequence)
    now = clock.now()
    since = now - timedelta(days=days)
    downloads = list(
        Event.objects.filter(
            type=EventType.ASSET_DOWNLOADED,
            occurred_at__gte=since,
            occurred_at__lte=now,
            contact__merged_into__isnull=True,
            contact__email__gt="",
        )
        .select_related("contact")
        .order_by("occurred_at")[:limit]
    )
    enrolled = 0
    for event in downloads:
        if event.contact is None:
            continue
        with clock.frozen(event.occurred_at):
            try:
                sequence_enroll(sequence=sequence, contact=event.contact, trigger_event=event)
            except (Conflict, ValidationError):
                continue
            enrolled += 1
            sequences_tick(limit=10_000)
    # Catch every enrolment up to now: waits that ended, later mails, completions.
    step = timedelta(hours=1)
    moment = downloads[0].occurred_at if downloads else now
    while moment < now:
        moment = min(moment + step, now)
        with clock.frozen(moment):
            sequences_tick(limit=10_000)
    logger.info("demo.sequences", extra={"enrolled": enrolled})
    return sequence
