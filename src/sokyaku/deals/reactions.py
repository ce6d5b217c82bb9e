"""How the referral programme reacts to stored events (reaction "deals" in
``sokyaku.reactions``), after commit, in the worker:

- a ``form_submitted`` or ``contact_created`` event that carries a referral code (a ``ref``
  property, a form answer named ``ref``, or ``?ref=`` in the URL of the page the form was on —
  the referral link's landing page keeps it) attributes its contact to the code's owner
  (``referral_attribute``, source ``form``); an unknown code, a self-referral or a contact who
  was referred before is skipped, never an error for the submission;
- a ``lifecycle_changed`` event to customer (or advocate) earns the pending rewards of referrals
  that brought this contact (``referral_rewards_earn``).

Both read only the batch's rows until something applies, so the hot path pays nothing for them.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from sokyaku.activity.models import Event, EventType
from sokyaku.contacts.models import Contact
from sokyaku.core.errors import SokyakuError
from sokyaku.deals.services import referrals

logger = logging.getLogger(__name__)

CARRIERS = frozenset({EventType.FORM_SUBMITTED, EventType.CONTACT_CREATED})
TYPES = CARRIERS | {EventType.LIFECYCLE_CHANGED}
_BUYER_STAGES = frozenset(str(stage) for stage in referrals.BUYER_STAGES)


def _codes(rows: Sequence[Event]) -> dict[int, str]:
    """The first referral code each contact's events carry."""
    found: dict[int, str] = {}
    for row in rows:
        if row.type not in CARRIERS or row.contact_id is None or row.contact_id in found:
            continue
        code = referrals.ref_from_properties(row.properties or {})
        if code:
            found[row.contact_id] = code
    return found


def attribute_from_events(rows: Sequence[Event]) -> int:
    """Attribute the contacts whose events carry a referral code; returns how many were."""
    codes = _codes(rows)
    if not codes:
        return 0
    contacts = Contact.objects.filter(pk__in=list(codes), merged_into__isnull=True).in_bulk()
    attributed = 0
    for contact_id, code in codes.items():
        contact = contacts.get(contact_id)
        if contact is None:
            continue
        try:
            referrals.referral_attribute(code=code, referred=contact, source="form")
        except SokyakuError as exc:
            logger.info("referral.skipped", extra={"contact": contact_id, "why": exc.message})
            continue
        attributed += 1
    return attributed


def events_committed(rows: Sequence[Event], contact_ids: frozenset[int]) -> None:
    attribute_from_events(rows)
    buyers = {
        row.contact_id
        for row in rows
        if row.type == EventType.LIFECYCLE_CHANGED
        and row.contact_id is not None
        and str((row.properties or {}).get("to") or "") in _BUYER_STAGES
    }
    if buyers:
        referrals.referral_rewards_earn(contact_ids=buyers)
