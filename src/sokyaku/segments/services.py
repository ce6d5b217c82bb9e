"""Writes of segments: create/update/archive, static list members, membership refreshes.

Membership rows are the list itself for a static segment and, for a dynamic one, the members as
last evaluated. They are kept current two ways (docs/segments.md):

- ``memberships_refresh(contact_ids=…)`` — after events of some contacts committed (the activity
  listener registered in ``apps.py``), every live dynamic segment is evaluated for just those
  contacts (one query per segment) and the difference is written;
- ``segment_refresh(segment=…)`` — a set-based full diff (``INSERT … SELECT`` / ``DELETE …
  WHERE NOT IN (SELECT …)``), run when a segment is created or edited, hourly for definitions
  with time windows or decaying scores, and nightly for every dynamic segment.

Every entry and exit is recorded as a ``segment_entered`` / ``segment_left`` event (one
``event_ingest_batch`` per refresh), except during a segment's first build: a new segment of
100,000 people would otherwise put 100,000 "entered" events on timelines and trigger
sequences for people who did not do anything new.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from django.contrib.auth.models import User
from django.db import connection, transaction
from django.db.models import Exists, F, OuterRef

from sokyaku.activity import services as activity_services
from sokyaku.activity.events import NewEvent, event_build
from sokyaku.activity.models import EventSource, EventType
from sokyaku.contacts.models import Contact
from sokyaku.contacts.selectors import contact_live_ids
from sokyaku.core import clock
from sokyaku.core.errors import ValidationError
from sokyaku.segments import conditions
from sokyaku.segments.models import Segment, SegmentKind, SegmentMembership

logger = logging.getLogger(__name__)

MAX_STATIC_ADD = 50_000


# --- create, update, archive ----------------------------------------------------------------


def _clean(
    *,
    segment: Segment | None,
    name: str,
    kind: str,
    definition: Mapping[str, Any] | None,
    description: str,
) -> tuple[str, dict[str, Any]]:
    name = (name or "").strip()
    errors: dict[str, str] = {}
    if not name:
        errors["name"] = "Enter a name."
    elif len(name) > 150:
        errors["name"] = "At most 150 characters."
    elif Segment.objects.filter(name=name).exclude(pk=segment.pk if segment else 0).exists():
        errors["name"] = "Another segment already has this name."
    if kind not in SegmentKind.values:
        errors["kind"] = "Choose dynamic or static."
    if errors:
        raise ValidationError(next(iter(errors.values())), field_errors=errors)
    if kind == SegmentKind.STATIC:
        return name, {}
    clean = conditions.definition_validate(definition or {})
    if segment is not None:
        _refuse_cycles(segment=segment, definition=clean)
    return name, clean


def _refuse_cycles(*, segment: Segment, definition: Mapping[str, Any]) -> None:
    """A segment may not, directly or through others, test membership of itself."""
    seen: set[int] = set()
    pending = set(conditions.definition_segment_refs(definition))
    while pending:
        if segment.pk in pending:
            raise ValidationError(
                "A segment cannot contain a condition on its own membership.",
                field_errors={"definition": "This would make the segment depend on itself."},
            )
        seen |= pending
        following: set[int] = set()
        for ref_definition in Segment.objects.filter(pk__in=pending).values_list(
            "definition", flat=True
        ):
            following |= conditions.definition_segment_refs(ref_definition or {})
        pending = following - seen


def segment_create(
    *,
    name: str,
    kind: str,
    definition: Mapping[str, Any] | None = None,
    description: str = "",
    actor: User | None = None,
) -> Segment:
    """Create a segment. A dynamic one is built after commit (by a task; no entered events).

    Raises ``ValidationError`` for a blank or taken name, an unknown kind or a bad definition
    (its ``field_errors`` name the bad condition, e.g. ``conditions.1.value``).
    """
    name, clean = _clean(
        segment=None, name=name, kind=kind, definition=definition, description=description
    )
    now = clock.now()
    with transaction.atomic():
        segment = Segment.objects.create(
            name=name,
            kind=kind,
            definition=clean,
            description=(description or "").strip(),
            created_by=actor,
            created_at=now,
            updated_at=now,
        )
        if kind == SegmentKind.DYNAMIC:
            _refresh_after_commit(segment.pk)
    logger.info(
        "segment.created",
        extra={"segment": segment.pk, "kind": kind, "actor": actor.pk if actor else None},
    )
    return segment


def segment_update(
    *,
    segment: Segment,
    name: str,
    kind: str | None = None,
    definition: Mapping[str, Any] | None = None,
    description: str = "",
    actor: User | None = None,
) -> Segment:
    """Edit a segment; a changed dynamic definition is re-evaluated after commit (with events).

    A static list turned dynamic is rebuilt from its definition; a dynamic segment turned
    static keeps its current members as the list. Raises ``ValidationError`` like
    ``segment_create``, and for a definition depending on the segment's own membership.
    """
    kind = kind or segment.kind
    name, clean = _clean(
        segment=segment, name=name, kind=kind, definition=definition, description=description
    )
    changed_definition = kind == SegmentKind.DYNAMIC and (
        clean != segment.definition or kind != segment.kind
    )
    with transaction.atomic():
        segment.name = name
        segment.kind = kind
        segment.definition = clean
        segment.description = (description or "").strip()
        segment.updated_at = clock.now()
        segment.save(update_fields=["name", "kind", "definition", "description", "updated_at"])
        if changed_definition:
            _refresh_after_commit(segment.pk)
    logger.info(
        "segment.updated",
        extra={"segment": segment.pk, "actor": actor.pk if actor else None},
    )
    return segment


def segment_archive(*, segment: Segment, actor: User | None = None) -> Segment:
    """Archive a segment: hidden from lists, no longer refreshed; members are kept."""
    segment.is_archived = True
    segment.updated_at = clock.now()
    segment.save(update_fields=["is_archived", "updated_at"])
    logger.info(
        "segment.archived", extra={"segment": segment.pk, "actor": actor.pk if actor else None}
    )
    return segment


def segment_restore(*, segment: Segment, actor: User | None = None) -> Segment:
    """Bring an archived segment back; a dynamic one is re-evaluated after commit."""
    with transaction.atomic():
        segment.is_archived = False
        segment.updated_at = clock.now()
        segment.save(update_fields=["is_archived", "updated_at"])
        if segment.kind == SegmentKind.DYNAMIC:
            _refresh_after_commit(segment.pk)
    return segment


def _refresh_after_commit(segment_id: int) -> None:
    from sokyaku.segments import tasks

    transaction.on_commit(lambda: tasks.segment_refresh_task(segment_id))


# --- events ---------------------------------------------------------------------------------


def _membership_events(
    *, segment: Segment, entered: Iterable[int], left: Iterable[int], at: datetime
) -> list[NewEvent]:
    properties = {"segment": segment.pk, "name": segment.name}
    return [
        event_build(
            type=kind,
            occurred_at=at,
            source=EventSource.SYSTEM,
            properties=properties,
            contact_id=contact_id,
        )
        for kind, ids in ((EventType.SEGMENT_ENTERED, entered), (EventType.SEGMENT_LEFT, left))
        for contact_id in ids
    ]


# --- static lists ---------------------------------------------------------------------------


def _require_static(segment: Segment) -> None:
    if segment.kind != SegmentKind.STATIC:
        raise ValidationError(
            "Members of a dynamic segment follow its conditions; edit the conditions instead.",
            field_errors={"segment": "Not a static list."},
        )
    if segment.is_archived:
        raise ValidationError("This list is archived.", field_errors={"segment": "Archived."})


def segment_members_add(
    *, segment: Segment, contact_ids: Iterable[int], actor: User | None = None
) -> int:
    """Add contacts (merged-away ids follow their merge) to a static list; returns how many
    were new. Records ``segment_entered`` for each. Raises ``ValidationError`` for a dynamic
    or archived segment or too many ids at once."""
    _require_static(segment)
    asked = set(contact_ids)
    if len(asked) > MAX_STATIC_ADD:
        raise ValidationError(
            f"At most {MAX_STATIC_ADD} contacts at once.",
            field_errors={"contact_ids": "Too many."},
        )
    live = set(contact_live_ids(ids=asked).values())
    now = clock.now()
    with transaction.atomic():
        Segment.objects.select_for_update().filter(pk=segment.pk).first()
        present = set(
            SegmentMembership.objects.filter(segment=segment, contact_id__in=live).values_list(
                "contact_id", flat=True
            )
        )
        new = sorted(live - present)
        SegmentMembership.objects.bulk_create(
            [SegmentMembership(segment=segment, contact_id=c, entered_at=now) for c in new],
            batch_size=1000,
            ignore_conflicts=True,
        )
        _count_update(segment, refreshed=False)
        activity_services.event_ingest_batch(
            events=_membership_events(segment=segment, entered=new, left=(), at=now)
        )
    logger.info(
        "segment.members_added",
        extra={"segment": segment.pk, "count": len(new), "actor": actor.pk if actor else None},
    )
    return len(new)


def segment_members_remove(
    *, segment: Segment, contact_ids: Iterable[int], actor: User | None = None
) -> int:
    """Remove contacts from a static list; returns how many were members. Records
    ``segment_left`` for each. Raises ``ValidationError`` for a dynamic or archived segment."""
    _require_static(segment)
    ids = set(contact_ids)
    now = clock.now()
    with transaction.atomic():
        Segment.objects.select_for_update().filter(pk=segment.pk).first()
        members = SegmentMembership.objects.filter(segment=segment, contact_id__in=ids)
        gone = sorted(members.values_list("contact_id", flat=True))
        members.delete()
        _count_update(segment, refreshed=False)
        activity_services.event_ingest_batch(
            events=_membership_events(segment=segment, entered=(), left=gone, at=now)
        )
    logger.info(
        "segment.members_removed",
        extra={"segment": segment.pk, "count": len(gone), "actor": actor.pk if actor else None},
    )
    return len(gone)


def _count_update(segment: Segment, *, refreshed: bool, at: datetime | None = None) -> None:
    segment.member_count = SegmentMembership.objects.filter(segment=segment).count()
    fields = ["member_count"]
    if refreshed:
        segment.refreshed_at = at or clock.now()
        fields.append("refreshed_at")
    segment.save(update_fields=fields)


# --- dynamic membership ---------------------------------------------------------------------


def segment_refresh(
    *, segment: Segment, record_events: bool | None = None, at: datetime | None = None
) -> tuple[int, int]:
    """Re-evaluate a dynamic segment over every contact and write the difference, set based.

    Returns ``(entered, left)``. Events are recorded unless this is the segment's first build
    (``record_events=None``), or as ``record_events`` says. A static or archived segment is
    left alone (``(0, 0)``). Raises ``ValidationError`` if the stored definition no longer
    validates (e.g. a custom field it tests was deleted).
    """
    at = at or clock.now()
    with transaction.atomic():
        locked = Segment.objects.select_for_update().filter(pk=segment.pk).first()
        if locked is None or locked.kind != SegmentKind.DYNAMIC or locked.is_archived:
            return 0, 0
        segment = locked
        quiet = segment.refreshed_at is None if record_events is None else not record_events
        matching = conditions.definition_queryset(segment.definition, at=at)
        entered = _insert_missing(segment=segment, matching=matching, at=at)
        left = _delete_gone(segment=segment, matching=matching)
        _count_update(segment, refreshed=True, at=at)
        if not quiet and (entered or left):
            activity_services.event_ingest_batch(
                events=_membership_events(segment=segment, entered=entered, left=left, at=at)
            )
    logger.info(
        "segment.refreshed",
        extra={"segment": segment.pk, "entered": len(entered), "left": len(left), "quiet": quiet},
    )
    return len(entered), len(left)


def _insert_missing(*, segment: Segment, matching: Any, at: datetime) -> list[int]:
    """``INSERT … SELECT`` the matching contacts not yet members; returns their ids."""
    new = matching.filter(
        ~Exists(SegmentMembership.objects.filter(segment_id=segment.pk, contact_id=OuterRef("pk")))
    )
    new = new.annotate(member_id=F("pk")).values_list("member_id")
    sql, params = new.query.sql_with_params()
    table = SegmentMembership._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (segment_id, contact_id, entered_at) "  # noqa: S608
            f"SELECT %s, m.member_id, %s FROM ({sql}) m RETURNING contact_id",
            [segment.pk, connection.ops.adapt_datetimefield_value(at), *params],
        )
        return [row[0] for row in cursor.fetchall()]


def _delete_gone(*, segment: Segment, matching: Any) -> list[int]:
    """``DELETE`` members that no longer match; returns their contact ids."""
    sql, params = matching.values("pk").query.sql_with_params()
    table = SegmentMembership._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"DELETE FROM {table} WHERE segment_id = %s "  # noqa: S608
            f"AND contact_id NOT IN ({sql}) RETURNING contact_id",
            [segment.pk, *params],
        )
        return [row[0] for row in cursor.fetchall()]


def _dependency_order(segments: Sequence[Segment]) -> list[Segment]:
    """Segments that test other segments' membership come after those segments."""
    by_id = {s.pk: s for s in segments}
    ordered: list[Segment] = []
    placed: set[int] = set()
    remaining = list(segments)
    for _round in range(len(segments) + 1):
        if not remaining:
            break
        later = []
        for segment in remaining:
            refs = conditions.definition_segment_refs(segment.definition) & by_id.keys()
            if refs - {segment.pk} <= placed:
                ordered.append(segment)
                placed.add(segment.pk)
            else:
                later.append(segment)
        remaining = later
    return ordered + remaining  # a cycle (refused on save) is still evaluated, once


def memberships_refresh(
    *, contact_ids: Iterable[int], at: datetime | None = None
) -> dict[int, tuple[int, int]]:
    """Re-evaluate every live dynamic segment for ``contact_ids`` and write the differences.

    One query per segment evaluates the conditions; entries and exits are written in bulk and
    recorded as ``segment_entered`` / ``segment_left`` events with one ``event_ingest_batch``.
    Contacts merged away leave quietly (their history moved to the contact they became).
    Safe to run twice. Returns ``{segment_id: (entered, left)}`` for segments that changed.
    """
    ids = set(contact_ids)
    if not ids:
        return {}
    at = at or clock.now()
    live = set(
        Contact.objects.filter(pk__in=ids, merged_into__isnull=True).values_list("pk", flat=True)
    )
    changes: dict[int, tuple[int, int]] = {}
    events: list[NewEvent] = []
    segments = list(
        Segment.objects.filter(kind=SegmentKind.DYNAMIC, is_archived=False).exclude(
            refreshed_at__isnull=True  # not built yet: its first build takes everyone
        )
    )
    with transaction.atomic():
        if ids - live:
            SegmentMembership.objects.filter(
                contact_id__in=ids - live, segment__kind=SegmentKind.DYNAMIC
            ).delete()
        for segment in _dependency_order(segments):
            try:
                matched = conditions.definition_matches(segment.definition, contact_ids=live, at=at)
            except ValidationError:
                logger.warning("segment.definition_invalid", extra={"segment": segment.pk})
                continue
            current = set(
                SegmentMembership.objects.filter(segment=segment, contact_id__in=live).values_list(
                    "contact_id", flat=True
                )
            )
            entered, left = sorted(matched - current), sorted(current - matched)
            if not entered and not left:
                continue
            SegmentMembership.objects.bulk_create(
                [SegmentMembership(segment=segment, contact_id=c, entered_at=at) for c in entered],
                ignore_conflicts=True,
            )
            if left:
                SegmentMembership.objects.filter(segment=segment, contact_id__in=left).delete()
            Segment.objects.filter(pk=segment.pk).update(
                member_count=F("member_count") + len(entered) - len(left)
            )
            changes[segment.pk] = (len(entered), len(left))
            events += _membership_events(segment=segment, entered=entered, left=left, at=at)
        activity_services.event_ingest_batch(events=events)
    return changes


def segments_refresh_due(*, time_relative_only: bool, at: datetime | None = None) -> int:
    """Full refresh of live dynamic segments (only those whose matches change with time alone,
    when ``time_relative_only``). Each in its own transaction. Returns how many ran."""
    done = 0
    for segment in Segment.objects.filter(kind=SegmentKind.DYNAMIC, is_archived=False):
        if time_relative_only and not conditions.definition_is_time_relative(segment.definition):
            continue
        try:
            segment_refresh(segment=segment, at=at)
        except ValidationError:
            logger.warning("segment.definition_invalid", extra={"segment": segment.pk})
            continue
        done += 1
    return done


# --- demo -----------------------------------------------------------------------------------

DEMO_SEGMENTS: tuple[tuple[str, str, dict[str, Any]], ...] = (
    (
        "ホットリード",
        "スコアがホット帯のリード。営業への引き渡し候補です。",
        {"op": "and", "conditions": [{"field": "score.temperature", "op": "eq", "value": "hot"}]},
    ),
    (
        "製造業の部長以上",
        "製造業（JSIC E）で役職が部長以上の担当者。",
        {
            "op": "and",
            "conditions": [
                {"field": "company.industry", "op": "eq", "value": "E"},
                {"field": "title_level", "op": "gte", "value": 4},
            ],
        },
    ),
    (
        "資料DL後30日未訪問",
        "90日以内に資料をダウンロードし、その後30日間サイトを訪問していない人。",
        {
            "op": "and",
            "conditions": [
                {"event": "asset_downloaded", "within_days": 90},
                {"event": "page_view", "within_days": 30, "negate": True},
            ],
        },
    ),
    (
        "カート放棄（リターゲティング）",
        "14日以内にカートを放棄し、購入していない人。広告のリターゲティング用。",
        {
            "op": "and",
            "conditions": [
                {"event": "cart_abandoned", "within_days": 14},
                {"event": "purchase", "within_days": 14, "negate": True},
            ],
        },
    ),
    (
        "従業員100名以上・IT資料DL",
        "従業員100名以上の企業で、90日以内に資料をダウンロードした人。",
        {
            "op": "and",
            "conditions": [
                {"field": "company.employees", "op": "gte", "value": 100},
                {"event": "asset_downloaded", "within_days": 90},
            ],
        },
    ),
)


def segments_demo_setup() -> None:
    """Create the Japanese example segments (once; existing names are left alone) and build
    them without events. Called by the demo loader after the data is in."""
    for name, description, definition in DEMO_SEGMENTS:
        segment = Segment.objects.filter(name=name).first()
        if segment is None:
            now = clock.now()
            segment = Segment.objects.create(
                name=name,
                kind=SegmentKind.DYNAMIC,
                definition=conditions.definition_validate(definition),
                description=description,
                created_at=now,
                updated_at=now,
            )
        segment_refresh(segment=segment, record_events=False)
