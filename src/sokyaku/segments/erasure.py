"""Erasing a person from segments (a data-subject erasure, see ``privacy``): they leave every
static list and dynamic segment at once (no "left" events: an erased person has no timeline),
and the member counts of those segments are counted again."""

from __future__ import annotations

from collections.abc import Sequence

from django.db.models import Count, OuterRef, Subquery
from django.db.models.functions import Coalesce

from sokyaku.segments.models import Segment, SegmentMembership


def memberships_erase(*, contact_ids: Sequence[int]) -> int:
    """Take these contacts out of every segment. Returns how many memberships went."""
    memberships = SegmentMembership.objects.filter(contact_id__in=contact_ids)
    segment_ids = list(memberships.values_list("segment_id", flat=True).distinct())
    if not segment_ids:
        return 0
    deleted, _ = memberships.delete()
    counts = (
        SegmentMembership.objects.filter(segment=OuterRef("pk"))
        .values("segment")
        .annotate(n=Count("pk"))
        .values("n")
    )
    Segment.objects.filter(pk__in=segment_ids).update(member_count=Coalesce(Subquery(counts), 0))
    return deleted
