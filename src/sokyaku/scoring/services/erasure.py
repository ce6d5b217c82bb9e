"""Erasing a person from the scoring app (a data-subject erasure, see ``privacy``).

Scores stay: the hot-lead ratio and the nurturing rate count temperatures, and a score is a
number, not the person. The win prediction goes: its reasons are read from the person's title,
company and behaviour, and an anonymous row has nothing left to predict from.
"""

from __future__ import annotations

from collections.abc import Sequence

from sokyaku.scoring.models import Prediction


def predictions_erase(*, contact_ids: Sequence[int]) -> int:
    """Delete these contacts' win predictions. Returns how many went."""
    deleted, _ = Prediction.objects.filter(contact_id__in=contact_ids).delete()
    return deleted
