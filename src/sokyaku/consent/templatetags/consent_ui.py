"""``{% consent_panel contact %}``: a contact's consent state per topic and recent records,
for the contact page (the ledger is read through the consent selectors)."""

from __future__ import annotations

from typing import Any

from django import template

from sokyaku.consent import selectors
from sokyaku.contacts.models import Contact

register = template.Library()

RECENT_RECORDS = 10


@register.inclusion_tag("consent/_panel.html")
def consent_panel(contact: Contact) -> dict[str, Any]:
    states, records = selectors.consent_overview(contact_id=contact.pk)
    return {"states": list(states.values()), "records": records[:RECENT_RECORDS]}
