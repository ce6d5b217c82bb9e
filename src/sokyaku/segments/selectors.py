"""Reads of segments, permission-checked for the user asking (``None`` is the system)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import QuerySet

from sokyaku.contacts.models import Contact
from sokyaku.core.errors import NotFound, PermissionDenied
from sokyaku.segments.conditions import (  # re-exported for other apps
    FieldSpec,
    definition_matches,
    definition_queryset,
    definition_validate,
    field_catalogue,
)
from sokyaku.segments.models import Segment, SegmentKind, SegmentMembership

__all__ = [
    "FieldSpec",
    "definition_matches",
    "definition_queryset",
    "definition_validate",
    "field_catalogue",
    "segment_count",
    "segment_get",
    "segment_list",
    "segment_members",
    "segments_for_contact",
    "static_list_choices",
]

AnyUser = User | AnonymousUser

VIEW = "segments.view_segment"
CHANGE = "segments.change_segment"
# Exporting hashed audiences to ad platforms is a marketer's job, not a sales rep's.
EXPORT = "segments.change_segment"


def _require(user: AnyUser | None, perm: str = VIEW) -> None:
    if user is not None and not user.has_perm(perm):
        raise PermissionDenied("You do not have permission to see segments.")


def segment_list(*, user: AnyUser | None, archived: bool = False) -> QuerySet[Segment]:
    _require(user)
    return Segment.objects.filter(is_archived=archived).select_related("created_by")


def segment_get(*, user: AnyUser | None, id: int) -> Segment:
    _require(user)
    segment = Segment.objects.filter(pk=id).first()
    if segment is None:
        raise NotFound(f"No segment with id {id}.")
    return segment


def segment_members(*, user: AnyUser | None, segment: Segment) -> QuerySet[SegmentMembership]:
    """Members, newest entry first, with what the member table shows (one query per page)."""
    _require(user)
    return (
        SegmentMembership.objects.filter(segment=segment, contact__merged_into__isnull=True)
        .select_related("contact", "contact__company", "contact__score", "contact__lifecycle")
        .order_by("-entered_at", "-contact_id")
    )


def segments_for_contact(*, user: AnyUser | None, contact: Contact) -> QuerySet[SegmentMembership]:
    _require(user)
    return (
        SegmentMembership.objects.filter(contact=contact, segment__is_archived=False)
        .select_related("segment")
        .order_by("segment__name")
    )


def static_list_choices(*, user: AnyUser | None) -> QuerySet[Segment]:
    _require(user)
    return Segment.objects.filter(kind=SegmentKind.STATIC, is_archived=False).order_by("name")


def segment_count(definition: Mapping[str, Any], *, at: datetime | None = None) -> int:
    """How many live contacts a (not yet saved) definition matches: the builder's live count."""
    return definition_queryset(definition, at=at).count()
