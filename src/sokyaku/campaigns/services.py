"""Writes owned by campaigns: where a contact came from (first and latest touch)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

from sokyaku.contacts.models import Contact

TOUCH_KEYS = ("source", "medium", "campaign", "term", "content", "referrer", "url")


def contact_touch_record(*, contact_id: int, touch: Mapping[str, str], at: datetime) -> None:
    """Record a marketing touch (UTM parameters, referrer, landing URL) for a contact.

    The first touch is set once and kept; the latest touch is replaced when this one is newer.
    Keys other than ``TOUCH_KEYS`` are ignored; a touch with no key at all is a no-op.
    """
    data = {k: str(touch[k])[:500] for k in TOUCH_KEYS if touch.get(k)}
    if not data:
        return
    data["at"] = at.astimezone(UTC).isoformat()  # comparable as text
    contact = Contact.objects.filter(pk=contact_id).only("first_touch", "latest_touch").first()
    if contact is None:
        return
    fields = []
    if not contact.first_touch:
        contact.first_touch = data
        fields.append("first_touch")
    if not contact.latest_touch or contact.latest_touch.get("at", "") <= data["at"]:
        contact.latest_touch = data
        fields.append("latest_touch")
    if fields:
        contact.save(update_fields=fields)
