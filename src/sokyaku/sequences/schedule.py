"""When a step happens: waits, date references and the send window of one sequence.

Shared by the tick (which writes ``next_run_at``) and the calendar preview (which only shows it),
so what a marketer previews is what runs. Waits themselves ignore the window; the moment a send
step (email, chat) runs is snapped into it (``SendWindow.next_time``).

Wait configs (``Step.config``):

- ``{"amount": 3, "unit": "minutes" | "hours" | "days" | "business_days"}``;
- ``{"until": "anchor", "offset_minutes": -60}`` — relative to the enrolment's ``anchor_at``
  (the date a date-relative trigger found: webinar start, trial end …);
- ``{"until": "field:custom.trial_end" | "event:webinar_registered.starts_at",
  "offset_minutes": -4320}`` — relative to a date on the contact or its latest event of a type.

A date reference that cannot be resolved makes an ``until`` wait end at once (the step after it
runs) rather than hold the contact forever; the StepRun records why.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, time, timedelta
from typing import Any

from django.utils.dateparse import parse_date, parse_datetime

from sokyaku.activity.models import Event
from sokyaku.contacts.models import Contact
from sokyaku.core.calendar import (
    TOKYO,
    SendWindow,
    add_business_days,
    closures_parse,
    window_validate,
)
from sokyaku.sequences.models import Sequence, StepKind

SEND_KINDS = frozenset({StepKind.EMAIL, StepKind.CHAT})
WAIT_UNITS = ("minutes", "hours", "days", "business_days")
ANCHOR = "anchor"


def window_of(sequence: Sequence) -> SendWindow:
    """The sequence's send window (defaults: weekdays 9:00–18:00, holidays skipped)."""
    days, start, end = window_validate(
        days=sequence.window_days or (), start=sequence.window_start, end=sequence.window_end
    )
    return SendWindow(
        days=days,
        start=start,
        end=end,
        skip_holidays=sequence.skip_holidays,
        closures=closures_parse(sequence.closures),
    )


def _aware(value: Any) -> datetime | None:
    """A datetime from a stored value: ISO datetime (naive → Tokyo) or date (→ 9:00 Tokyo)."""
    if isinstance(value, datetime):
        parsed: datetime | None = value
    elif isinstance(value, date):
        return datetime.combine(value, time(9, 0), tzinfo=TOKYO)
    elif isinstance(value, str) and value.strip():
        text = value.strip()
        try:
            parsed = parse_datetime(text)
        except ValueError:
            parsed = None
        if parsed is None:
            try:
                day = parse_date(text)
            except ValueError:
                day = None
            return datetime.combine(day, time(9, 0), tzinfo=TOKYO) if day else None
    else:
        return None
    if parsed is None:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=TOKYO)


def date_ref_parse(ref: str) -> tuple[str, str, str]:
    """``("event", type, property)`` or ``("field", "custom"|"", name)``; ``ValueError`` else."""
    kind, _sep, rest = ref.partition(":")
    if kind == "event":
        event_type, dot, prop = rest.partition(".")
        if event_type and dot and prop:
            return "event", event_type, prop
    elif kind == "field":
        group, dot, name = rest.partition(".")
        if dot and group == "custom" and name:
            return "field", "custom", name
        if not dot and group:
            return "field", "", group
    raise ValueError(ref)


def date_ref_value(ref: str, *, contact: Contact, event: Event | None = None) -> datetime | None:
    """The date ``ref`` names for ``contact``: from ``event`` when it is of the named type, else
    from the contact's latest such event; or a contact field. ``None`` when absent/not a date."""
    try:
        kind, group, name = date_ref_parse(ref)
    except ValueError:
        return None
    if kind == "event":
        source = event if event is not None and event.type == group else None
        if source is None:
            source = (
                Event.objects.filter(contact_id=contact.pk, type=group)
                .order_by("-occurred_at", "-id")
                .first()
            )
        return _aware((source.properties or {}).get(name)) if source else None
    if group == "custom":
        return _aware((contact.custom_fields or {}).get(name))
    return _aware(getattr(contact, name, None))


def wait_until(
    *,
    config: Mapping[str, Any],
    base: datetime,
    anchor_at: datetime | None,
    window: SendWindow,
    contact: Contact | None = None,
) -> datetime | None:
    """When a wait that starts at ``base`` ends; ``None`` when its date cannot be resolved."""
    until = config.get("until")
    if until:
        offset = timedelta(minutes=int(config.get("offset_minutes") or 0))
        if until == ANCHOR:
            target = anchor_at
        elif contact is not None:
            target = date_ref_value(str(until), contact=contact)
        else:
            target = None
        return target + offset if target is not None else None
    amount = int(config.get("amount") or 0)
    unit = str(config.get("unit") or "days")
    if unit == "business_days":
        return add_business_days(
            base, amount, closures=window.closures, skip_holidays=window.skip_holidays
        )
    if unit == "minutes":
        return base + timedelta(minutes=amount)
    if unit == "hours":
        return base + timedelta(hours=amount)
    # Calendar days keep the Tokyo time of day across the (absent) DST: plain 24 h steps.
    return base + timedelta(days=amount)
