"""Erasing a person from the lifecycle app (a data-subject erasure, see ``privacy``).

Stages and their history stay (the funnel, MQL and SQL counts, velocity); BANT records keep
their bands, amounts and dates — what the qualification was — but not the rep's words about the
person's need, and a stage change's reason stays only where it does not name them.
"""

from __future__ import annotations

from collections.abc import Sequence

from sokyaku.core.redaction import Redactor
from sokyaku.lifecycle.models import BantRecord, StageChange


def lifecycle_erase(*, contact_ids: Sequence[int], redactor: Redactor) -> dict[str, int]:
    """Erase the lifecycle app's rows of these contacts (module docstring). Idempotent. Returns
    the changed rows per table."""
    records = []
    for record in BantRecord.objects.filter(contact_id__in=contact_ids).only(
        "pk", "need", "need_tags"
    ):
        tags = [tag for tag in record.need_tags or [] if not redactor.hits(tag)]
        if (record.need, record.need_tags) != ("", tags):
            record.need, record.need_tags = "", tags
            records.append(record)
    BantRecord.objects.bulk_update(records, ["need", "need_tags"], batch_size=500)
    changes = [
        change
        for change in StageChange.objects.filter(contact_id__in=contact_ids).only("pk", "reason")
        if redactor.hits(change.reason)
    ]
    for change in changes:
        change.reason = ""
    StageChange.objects.bulk_update(changes, ["reason"], batch_size=500)
    counts = {"lifecycle.BantRecord": len(records), "lifecycle.StageChange": len(changes)}
    return {table: count for table, count in counts.items() if count}
