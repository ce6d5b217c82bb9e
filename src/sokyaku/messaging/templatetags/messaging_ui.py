"""``{% mail_links_panel contact user %}``: on the contact page, for those who may (admins),
when the contact's mail links were last invalidated and the button that invalidates them."""

from __future__ import annotations

from typing import Any

from django import template
from django.contrib.auth.models import AnonymousUser, User

from sokyaku.contacts.models import Contact
from sokyaku.messaging import selectors

register = template.Library()

ROTATE = "messaging.add_maillinkrotation"


@register.inclusion_tag("messaging/_links_panel.html")
def mail_links_panel(contact: Contact, user: User | AnonymousUser) -> dict[str, Any]:
    if not user.has_perm(ROTATE):
        return {"shown": False}
    return {
        "shown": True,
        "contact": contact,
        "rotated_at": selectors.mail_links_rotated_at(contact_id=contact.pk),
        "days": selectors.mail_link_max_age().days,
    }
