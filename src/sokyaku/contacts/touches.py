"""A contact's marketing touches: where the person came from.

- ``contact_touch_record`` keeps a contact's first and latest touch (UTM parameters, referrer,
  landing URL) and maps each to a channel with campaigns' channel rules
  (``campaigns.selectors.channel_matcher``); ``channel_rules_reapply`` maps every stored touch
  again after the rules changed.
- ``page_views_record`` stores website page views (``activity.tracking.page_views_store``) and
  takes the touches among them for visitors that identified themselves;
  ``visitor_stitch`` attaches a visitor's anonymous page views to the contact it turned out to be
  and takes their touches (an ad clicked a week before the form becomes the first touch).

The touch columns are the contact's (``Contact.first_touch`` …), so their writes live here;
campaigns owns the channels and rules that name them.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from sokyaku.activity import services as activity_services
from sokyaku.activity import tracking
from sokyaku.activity.models import Event, EventType, Visitor
from sokyaku.campaigns import selectors as campaign_selectors
from sokyaku.contacts import sources
from sokyaku.contacts.models import Contact
from sokyaku.core import clock
from sokyaku.core.errors import ValidationError

logger = logging.getLogger(__name__)

TOUCH_KEYS = ("source", "medium", "campaign", "term", "content", "referrer", "url")
_UTM_KEYS = ("source", "medium", "campaign", "term", "content")
_CHUNK = 500  # ids per UPDATE (SQLite caps the parameters of one statement)


# --- Touches --------------------------------------------------------------------------------


def touch_clean(touch: Mapping[str, Any]) -> dict[str, str]:
    """The touch keys of ``touch`` (``utm_source`` is read as ``source``), as text of at most
    500 characters; empty values dropped."""
    data: dict[str, str] = {}
    for key in TOUCH_KEYS:
        value = touch.get(key)
        if value in (None, "") and key in _UTM_KEYS:
            value = touch.get(f"utm_{key}")
        if value not in (None, ""):
            data[key] = str(value).replace("\x00", "")[:500]
    return data


def contact_touch_record(*, contact_id: int, touch: Mapping[str, str], at: datetime) -> None:
    """Record a marketing touch (UTM parameters, referrer, landing URL) for a contact.

    The first touch is the earliest one recorded: it is set once and kept, unless a touch from
    before it arrives later (anonymous page views stitched after the form). The latest touch is
    replaced when this one is at least as new. Each is mapped to a channel by the channel rules:
    ``latest_touch_channel`` follows the latest touch; ``first_touch_channel`` is set with the
    first touch when it is empty (a channel set by an import or by hand is kept) or when an
    earlier touch replaced the first one. Keys other than ``TOUCH_KEYS`` (and their ``utm_``
    names) are ignored; a touch with no key at all, or an unknown contact, is a no-op.
    Raises ``ValidationError`` for a naive ``at``.
    """
    if timezone.is_naive(at):
        raise ValidationError("at needs a time zone", field_errors={"at": "no time zone"})
    data = touch_clean(touch)
    if not data:
        return
    data["at"] = at.astimezone(UTC).isoformat()  # comparable as text
    channel_id = campaign_selectors.channel_matcher().channel_for(data)
    with transaction.atomic():
        contact = (
            Contact.objects.select_for_update()
            .filter(pk=contact_id)
            .only("first_touch", "latest_touch", "first_touch_channel", "latest_touch_channel")
            .first()
        )
        if contact is None:
            return
        fields: list[str] = []
        first = contact.first_touch or {}
        if not first or data["at"] < str(first.get("at", "")):
            contact.first_touch = data
            fields.append("first_touch")
            if (first or contact.first_touch_channel_id is None) and channel_id is not None:
                contact.first_touch_channel_id = channel_id
                fields.append("first_touch_channel")
        latest = contact.latest_touch or {}
        if not latest or str(latest.get("at", "")) <= data["at"]:
            contact.latest_touch = data
            contact.latest_touch_channel_id = channel_id
            fields += ["latest_touch", "latest_touch_channel"]
        if fields:
            contact.save(update_fields=fields)
        if "first_touch" in fields:
            sources.sources_changed(contact_ids=[contact_id])


@dataclass(frozen=True)
class ReapplyResult:
    first_changed: int
    latest_changed: int


def channel_rules_reapply(*, chunk_size: int = 2000) -> ReapplyResult:
    """Map every live contact's stored first and latest touch to a channel again (after the
    rules changed). Set based: contacts are read in chunks, one ``UPDATE`` per channel and
    chunk of ids. A touch no rule matches keeps its channel (which may have been set by an
    import); contacts without a stored touch are not changed. Returns how many changed."""
    matcher = campaign_selectors.channel_matcher()
    cache: dict[tuple[str, ...], int | None] = {}

    def channel_of(touch: object) -> int | None:
        if not isinstance(touch, dict) or not touch:
            return None
        key = tuple(str(touch.get(k, "")) for k in ("source", "medium", "campaign", "referrer"))
        key += (str(touch.get("url", "")) if touch.get("referrer") else "",)
        if key not in cache:
            cache[key] = matcher.channel_for(touch)
        return cache[key]

    first_moves: dict[int, list[int]] = defaultdict(list)
    latest_moves: dict[int, list[int]] = defaultdict(list)
    rows = Contact.objects.filter(merged_into__isnull=True).values_list(
        "id", "first_touch", "first_touch_channel_id", "latest_touch", "latest_touch_channel_id"
    )
    for pk, first, first_channel, latest, latest_channel in rows.iterator(chunk_size=chunk_size):
        new_first, new_latest = channel_of(first), channel_of(latest)
        if new_first is not None and new_first != first_channel:
            first_moves[new_first].append(pk)
        if new_latest is not None and new_latest != latest_channel:
            latest_moves[new_latest].append(pk)
    with transaction.atomic():
        for column, moves in (
            ("first_touch_channel_id", first_moves),
            ("latest_touch_channel_id", latest_moves),
        ):
            for channel_id, ids in moves.items():
                for start in range(0, len(ids), _CHUNK):
                    Contact.objects.filter(pk__in=ids[start : start + _CHUNK]).update(
                        **{column: channel_id}
                    )
        sources.sources_changed(contact_ids=[pk for ids in first_moves.values() for pk in ids])
    result = ReapplyResult(
        first_changed=sum(map(len, first_moves.values())),
        latest_changed=sum(map(len, latest_moves.values())),
    )
    logger.info(
        "channel_rules.reapplied",
        extra={"first": result.first_changed, "latest": result.latest_changed},
    )
    return result


# --- Website page views ------------------------------------------------------------------


def page_views_record(*, hits: Sequence[tracking.Hit], at: datetime | None = None) -> int:
    """Store ``hits`` as page views received at ``at`` (default: now), in one batch
    (``activity.tracking.page_views_store``).

    Views of a visitor that identified itself go to its contact (ingestion does that), and
    those that are touches update the contact's latest touch (and its first, when it had
    none). Returns the number of events stored.
    """
    if not hits:
        return 0
    at = at or clock.now()
    stored = tracking.page_views_store(hits=hits, at=at)
    touches = [(hit.visitor_id, touch) for hit in hits if (touch := hit.touch())]
    if touches:
        contacts = dict(
            Visitor.objects.filter(
                id__in={vid for vid, _t in touches}, contact__isnull=False
            ).values_list("id", "contact_id")
        )
        for vid, touch in touches:
            contact_id = contacts.get(vid)
            if contact_id is not None:
                contact_touch_record(contact_id=contact_id, touch=touch, at=at)
    return stored


def visitor_touches_record(*, visitor_id: str, contact_id: int) -> int:
    """Record the touches among a visitor's page views for its contact (call it after
    ``activity.services.visitor_identify``): the earliest becomes the first touch when it is
    earlier than the one the contact has, the newest the latest touch. Returns the number of
    touches found.
    """
    if not visitor_id:
        return 0
    views = Event.objects.filter(
        visitor_id=visitor_id, type=EventType.PAGE_VIEW, contact_id=contact_id
    ).order_by("occurred_at", "id")
    found: list[tuple[datetime, dict[str, str]]] = []
    for occurred_at, props in views.values_list("occurred_at", "properties").iterator():
        if not isinstance(props, dict) or not isinstance(props.get("url"), str):
            continue
        hit = tracking.Hit(
            visitor_id=visitor_id,
            url=props["url"],
            referrer=str(props.get("referrer") or ""),
            utm={k: str(props[k]) for k in tracking.UTM_KEYS if props.get(k)},
        )
        touch = hit.touch()
        if touch:
            found.append((occurred_at, touch))
    for occurred_at, touch in (found[:1] + found[-1:]) if found else []:
        contact_touch_record(contact_id=contact_id, touch=touch, at=occurred_at)
    return len(found)


def visitor_stitch(*, visitor_id: str, contact_id: int) -> int:
    """A visitor turned out to be this contact (a form, an API call naming both): attach its
    anonymous page views and take their touches (an ad clicked a week before the form becomes
    the first touch). Returns the number of events attached."""
    attached = activity_services.visitor_identify(visitor_id=visitor_id, contact_id=contact_id)
    visitor_touches_record(visitor_id=visitor_id, contact_id=contact_id)
    return attached
