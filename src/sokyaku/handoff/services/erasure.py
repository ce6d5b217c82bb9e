"""Erasing a person from the handoff app (a data-subject erasure, see ``privacy``).

Handoffs stay — speed to lead, SLA and 商談化率 count them — with their trigger, times, rep and
outcome; the reps' notes on the person go (the sales activities' subjects and texts, a
rejection's note), and the short texts (interest, routing note, reasons) stay only where they do
not name the person. The alerts sent about the person are the outbox's (``messaging``).
"""

from __future__ import annotations

from collections.abc import Sequence

from sokyaku.core.redaction import Redactor
from sokyaku.handoff.models import Handoff, HandoffAssignment, HandoffMoment, SalesActivity


def handoffs_erase(*, contact_ids: Sequence[int], redactor: Redactor) -> dict[str, int]:
    """Erase the handoff app's rows about these contacts (module docstring). Idempotent.
    Returns the changed rows per table."""
    activities = SalesActivity.objects.filter(contact_id__in=contact_ids).exclude(
        subject="", body=""
    )
    counts = {"handoff.SalesActivity": activities.update(subject="", body="")}
    handoffs = list(
        Handoff.objects.filter(contact_id__in=contact_ids).only(
            "pk", "interest", "routing_note", "next_action", "action_label", "reject_note"
        )
    )
    changed = []
    for handoff in handoffs:
        new = {
            "interest": redactor.text(handoff.interest),
            "routing_note": redactor.text(handoff.routing_note),
            "next_action": redactor.text(handoff.next_action),
            "action_label": redactor.text(handoff.action_label, replacement="-"),
            "reject_note": "",
        }
        if any(getattr(handoff, key) != value for key, value in new.items()):
            for key, value in new.items():
                setattr(handoff, key, value)
            changed.append(handoff)
    Handoff.objects.bulk_update(changed, list(_HANDOFF_TEXTS), batch_size=500)
    counts["handoff.Handoff"] = len(changed)
    ids = [h.pk for h in handoffs]
    moments = [
        m
        for m in HandoffMoment.objects.filter(handoff_id__in=ids).only("pk", "interest")
        if redactor.hits(m.interest)
    ]
    for moment in moments:
        moment.interest = ""
    HandoffMoment.objects.bulk_update(moments, ["interest"], batch_size=500)
    counts["handoff.HandoffMoment"] = len(moments)
    assignments = [
        a
        for a in HandoffAssignment.objects.filter(handoff_id__in=ids).only("pk", "reason")
        if redactor.hits(a.reason)
    ]
    for assignment in assignments:
        assignment.reason = ""
    HandoffAssignment.objects.bulk_update(assignments, ["reason"], batch_size=500)
    counts["handoff.HandoffAssignment"] = len(assignments)
    return {table: count for table, count in counts.items() if count}


_HANDOFF_TEXTS = ("interest", "routing_note", "next_action", "action_label", "reject_note")
