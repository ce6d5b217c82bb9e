"""The unsubscribe and preference-centre links' life: invalidating a contact's links, and
mailing a fresh link to a person whose link expired.

- ``mail_links_rotate``: every such link made until now stops opening the contact's settings
  (``selectors.mail_link_state`` refuses it); links in mail sent afterwards work. For a leaked
  or forwarded mail. All links of every contact at once: raise ``SOKYAKU_MAIL_LINK_VERSION``.
- ``preferences_link_send``: the button of the expired-link page. A system mail (transactional,
  untracked) with a new preference-centre link goes to the contact the expired link was made
  for — to their address now, never to one the visitor gives — at most once an hour per
  contact, so the button cannot be used to flood anyone. Whether anything was sent is not
  shown to the visitor.

An expired or invalidated link still unsubscribes (``public_views``): an opt-out only ever
removes mail, and refusing one would keep mailing a person who asked to stop.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import translation

from sokyaku.contacts import selectors as contact_selectors
from sokyaku.contacts.models import Contact
from sokyaku.core import clock
from sokyaku.core.errors import NotFound
from sokyaku.messaging import tokens
from sokyaku.messaging.models import MailLinkRotation, Message, SystemMail
from sokyaku.messaging.selectors import mail_link_max_age
from sokyaku.messaging.services.system_mail import system_mail_enqueue

logger = logging.getLogger(__name__)

# One fresh link per contact per this many seconds (the system mail's key carries the window).
FRESH_LINK_WINDOW_SECONDS = 3600


def mail_links_rotate(*, contact: Contact, actor: User | None) -> MailLinkRotation:
    """Invalidate every unsubscribe and preference-centre link of ``contact`` made until now.

    Writes (or moves forward) the contact's ``MailLinkRotation`` row and logs who did it.
    """
    now = clock.now()
    with transaction.atomic():
        row, _created = MailLinkRotation.objects.update_or_create(
            contact_id=contact.pk, defaults={"rotated_at": now, "rotated_by": actor}
        )
    logger.info(
        "mail_links.rotated",
        extra={"contact": contact.pk, "actor": actor.pk if actor is not None else None},
    )
    return row


def preferences_link_send(*, message_id: int) -> bool:
    """Queue a mail with a fresh preference-centre link for the person ``message_id`` went to.

    Returns whether a mail was newly queued: not for a message without a contact, a contact
    without an address, or when one was queued for them in the last hour. Raises ``NotFound``
    for an unknown message.
    """
    message = Message.objects.filter(pk=message_id).only("pk", "contact_id").first()
    if message is None:
        raise NotFound("Unknown link.")
    if message.contact_id is None:
        return False
    try:
        contact = contact_selectors.contact_get(user=None, id=message.contact_id)
    except NotFound:
        return False
    if not contact.email:
        return False
    now = clock.now()
    window = int(now.timestamp()) // FRESH_LINK_WINDOW_SECONDS
    context = {
        "url": tokens.preferences_url(message.pk, issued_at=now),
        "until": now + mail_link_max_age(),
    }
    with translation.override(settings.LANGUAGE_CODE):
        subject = render_to_string("messaging/mail/preferences_link_subject.txt", context)
        text = render_to_string("messaging/mail/preferences_link_body.txt", context)
    _message, created = system_mail_enqueue(
        kind=SystemMail.PREFERENCES_LINK,
        dedupe_key=f"sys:prefs:{contact.pk}:{window}",
        contact=contact,
        to_address=contact.email,
        subject=subject.strip(),
        text=text,
    )
    logger.info(
        "mail_links.fresh_link",
        extra={"contact": contact.pk, "message_id": message.pk, "queued": created},
    )
    return created
