"""Template helpers of the sales inbox: the SLA countdown and the contact page's handoff panel.

``{% sla_countdown handoff %}`` renders the time left (残り 3時間12分) or overdue (期限超過 1時間)
computed on the server, with the deadline in a data attribute; ``{% countdown_setup %}`` adds
the translated formats and our small script that keeps every countdown on the page current.
``|tel_href`` and ``|phone_shown`` turn a stored phone number into a ``tel:`` link (E.164) and
the way Japanese write it (03-1234-5678). ``{% handoff_panel contact user %}`` shows the
contact's open handoff (or the last outcome), a compact activity form and the last sales
activities.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django import template
from django.contrib.auth.models import AnonymousUser, User
from django.templatetags.static import static
from django.utils.html import format_html, json_script
from django.utils.safestring import SafeString
from django.utils.translation import gettext, pgettext

from sokyaku.contacts.models import Contact
from sokyaku.core import clock
from sokyaku.handoff import alerts, selectors
from sokyaku.handoff.forms import ActivityForm
from sokyaku.handoff.models import Handoff, HandoffStatus, SlaState

register = template.Library()

PANEL_ACTIVITIES = 5


def _formats() -> dict[str, str]:
    """The duration formats in the active language (the script uses the same ones)."""
    return {
        "dh": gettext("%(d)s d %(h)s h"),
        "d": gettext("%(d)s d"),
        "hm": gettext("%(h)s h %(m)s min"),
        "h": gettext("%(h)s h"),
        "m": gettext("%(m)s min"),
        "lt": gettext("less than a minute"),
        "left": gettext("%(time)s left"),
        "over": gettext("Overdue by %(time)s"),
    }


def duration_text(seconds: float) -> str:
    """A span of time for people: ``3時間12分``, ``1日 4時間``, ``25分`` (whole minutes, cut)."""
    formats = _formats()
    minutes = int(max(seconds, 0) // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        return (formats["dh"] if hours else formats["d"]) % {"d": days, "h": hours}
    if hours:
        return (formats["hm"] if mins else formats["h"]) % {"h": hours, "m": mins}
    if mins:
        return formats["m"] % {"m": mins}
    return formats["lt"]


def countdown_text(due: datetime, now: datetime | None = None) -> str:
    """``残り 3時間12分`` before ``due``, ``期限超過 1時間`` after it."""
    seconds = (due - (now or clock.now())).total_seconds()
    formats = _formats()
    if seconds >= 0:
        return formats["left"] % {"time": duration_text(seconds)}
    return formats["over"] % {"time": duration_text(-seconds)}


def countdown_running(handoff: Handoff) -> bool:
    """Whether the handoff's SLA clock still runs (open, not yet touched)."""
    return handoff.status == HandoffStatus.OPEN and handoff.sla_state != SlaState.MET


@register.simple_tag
def sla_countdown(handoff: Handoff) -> SafeString:
    """The SLA state of a handoff: a live countdown while it runs, else met / breached."""
    if countdown_running(handoff):
        now = clock.now()
        overdue = handoff.sla_due_at < now
        return format_html(
            '<span class="sla sla--{}" data-sla-due="{}">{}</span>',
            "overdue" if overdue else "running",
            handoff.sla_due_at.isoformat(),
            countdown_text(handoff.sla_due_at, now),
        )
    return format_html(
        '<span class="sla sla--{}">{}</span>', handoff.sla_state, handoff.get_sla_state_display()
    )


@register.filter
def tel_href(phone: str) -> str:
    """``tel:+81312345678`` for tap-to-call, ``""`` when the number has no digits to dial."""
    return alerts.phone_dial(phone or "")


@register.filter
def phone_shown(phone: str) -> str:
    """A stored number as Japanese write it (03-1234-5678)."""
    return alerts.phone_text(phone or "")


@register.simple_tag
def countdown_setup() -> SafeString:
    """The countdown formats (translated) and the script that refreshes the countdowns."""
    config = {"now": clock.now().isoformat(), "formats": _formats()}
    return format_html(
        '{}<script src="{}" defer></script>',
        json_script(config, "handoff-countdown-config"),
        static("handoff/countdown.js"),
    )


@register.filter
def speed_to_lead(handoff: Handoff) -> str:
    """From the alert (else the handoff) to the rep's first touch, for people; "" untouched."""
    if handoff.first_touch_at is None:
        return ""
    start = handoff.alerted_at or handoff.created_at
    return duration_text((handoff.first_touch_at - start).total_seconds())


def panel_context(
    *, contact: Contact, user: User | AnonymousUser, activity_form: ActivityForm | None = None
) -> dict[str, Any]:
    """What the contact page's handoff panel shows (also re-rendered after logging).

    The contact page has checked that ``user`` sees the contact, so the contact's handoffs and
    activities are read as the system (``user=None``): three queries, whoever asks.
    """
    handoffs = list(selectors.handoff_list(user=None).filter(contact_id=contact.pk))
    current = next((h for h in handoffs if h.status == HandoffStatus.OPEN), None)
    return {
        "contact": contact,
        "current": current,
        "last": None if current else (handoffs[0] if handoffs else None),
        "activities": list(
            selectors.activity_list(user=None, contact_id=contact.pk)[:PANEL_ACTIVITIES]
        ),
        "activity_form": activity_form or ActivityForm(auto_id="handoff-activity-%s"),
        "can_log": user.has_perm("handoff.add_salesactivity"),
    }


@register.inclusion_tag("handoff/_panel.html", takes_context=True)
def handoff_panel(
    context: template.Context, contact: Contact, user: User | AnonymousUser | None = None
) -> dict[str, Any]:
    request = context.get("request")
    user = user or getattr(request, "user", None) or AnonymousUser()
    values = panel_context(contact=contact, user=user)
    values["csrf_token"] = context.get("csrf_token")
    values["request"] = request
    return values


# A trigger condition in words: the event property as a reader calls it and the operator.
_CONDITION_PROPERTIES = {
    "url": ("event property", "URL"),
    "form": ("event property", "Form"),
    "kind": ("event property", "Kind"),
    "asset": ("event property", "Asset"),
    "webinar": ("event property", "Webinar"),
    "minutes": ("event property", "Minutes watched"),
    "sequence": ("event property", "Sequence"),
}
_CONDITION_OPS = {
    "eq": "is",
    "contains": "contains",
    "gte": "is at least",
    "lte": "is at most",
}


@register.filter
def trigger_condition(condition: dict[str, Any]) -> str:
    """A condition in words: ``{"property": "url", "op": "contains", "value": "/pricing"}``
    reads URL が次を含む “/pricing”."""
    name = str(condition.get("property") or "")
    context = _CONDITION_PROPERTIES.get(name)
    label = pgettext(*context) if context else name
    op = str(condition.get("op") or "")
    if op == "exists":
        return f"{label} {gettext('is set')}"
    return f"{label} {gettext(_CONDITION_OPS.get(op, op))} “{condition.get('value', '')}”"
