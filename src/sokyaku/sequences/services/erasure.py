"""Erasing a person from the sequences app (a data-subject erasure, see ``privacy``).

Enrolments and step runs stay (per-step reports count them); the person's active enrolments end
at once — no next step is run, no mail queued — without the exit events an ordinary exit writes
(an erased person has no timeline to add to), and a step run's detail stays only where it does
not name them.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sokyaku.core.redaction import Redactor
from sokyaku.sequences.models import Enrollment, EnrollmentStatus, StepRun

ERASED = "erased"


def enrollments_erase(
    *, contact_ids: Sequence[int], redactor: Redactor, at: datetime
) -> dict[str, int]:
    """End these contacts' active enrolments and clean their step runs (module docstring).
    Idempotent. Returns the changed rows per table."""
    ended = Enrollment.objects.filter(
        contact_id__in=contact_ids, status=EnrollmentStatus.ACTIVE
    ).update(status=EnrollmentStatus.EXITED, exit_reason=ERASED, next_run_at=None, finished_at=at)
    runs = [
        run
        for run in StepRun.objects.filter(enrollment__contact_id__in=contact_ids).only(
            "pk", "detail"
        )
        if redactor.hits(run.detail)
    ]
    for run in runs:
        run.detail = ""
    StepRun.objects.bulk_update(runs, ["detail"], batch_size=500)
    counts = {"sequences.Enrollment": ended, "sequences.StepRun": len(runs)}
    return {table: count for table, count in counts.items() if count}
