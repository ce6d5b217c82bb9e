"""Internal notices — sales alerts, SLA reminders, escalations, stalled-deal and owner notices —
go to staff only, by construction.

``notice_enqueue`` takes a ``StaffRecipient``: a staff user's mail (``StaffMail``), a staff
user's own chat identity on a channel (``StaffChat``: their LINE user id, pushed by the
channel's token) or the team's channel (``TeamChat``: the Slack or JSON webhook's fixed channel,
the LINE channel's team group id, optionally mentioning a staff user). There is no way to pass a
contact: the contact a notice is *about* is ``about``, and the row's ``recipient_kind`` makes
delivery take every address from the staff user or the channel, never from the contact (see
``chat.chat_request``). Nothing is recorded on the contact's timeline as a mail or chat message
the contact received.

The contact-facing chat (a sequence's LINE message to a contact with consent) stays on
``outbox.message_enqueue`` with ``recipient_kind = contact``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import User

from sokyaku.contacts.models import Contact
from sokyaku.core import selectors as core_selectors
from sokyaku.messaging.models import (
    ChatChannel,
    ChatKind,
    Message,
    MessageChannel,
    RecipientKind,
    Stream,
    Template,
)
from sokyaku.messaging.services.outbox import message_enqueue


@dataclass(frozen=True)
class StaffMail:
    """The staff user's own mail address."""

    user: User


@dataclass(frozen=True)
class StaffChat:
    """The staff user's own chat identity on ``channel`` (LINE: their LINE user id)."""

    channel: ChatChannel
    user: User


@dataclass(frozen=True)
class TeamChat:
    """The team's channel: where ``channel``'s webhook posts (Slack, JSON) or its team group id
    (LINE); ``mention`` is the staff user the notice is for, mentioned where the channel can."""

    channel: ChatChannel
    mention: User | None = None


StaffRecipient = StaffMail | StaffChat | TeamChat


@dataclass(frozen=True)
class Notice:
    """What an internal notice says. ``html`` is an optional HTML part built by the caller
    from escaped values; without it the mail's HTML part is the text in paragraphs."""

    subject: str
    text: str
    url: str = ""
    html: str = ""


def chat_recipient(*, channel: ChatChannel, user: User | None) -> StaffRecipient:
    """Where a notice for ``user`` goes on ``channel``: their own LINE user id when the channel
    is LINE and they set one, else the team's channel mentioning them."""
    if user is not None and channel.kind == ChatKind.LINE:
        profile = core_selectors.staff_identity(user=user)
        if profile is not None and profile.line_user_id:
            return StaffChat(channel=channel, user=user)
    return TeamChat(channel=channel, mention=user)


def notice_enqueue(
    *,
    dedupe_key: str,
    recipient: StaffRecipient,
    notice: Notice,
    about: Contact | None,
    context: Mapping[str, Any] | None = None,
    template: Template | None = None,
    sequence_id: int | None = None,
    step_id: int | None = None,
    enrollment_id: int | None = None,
) -> Message:
    """Queue ``notice`` to ``recipient`` on the transactional stream (see the module). A mail
    with a ``template`` is rendered from it with ``about``'s merge data instead of ``notice``.

    Raises ``TypeError`` for anything but a ``StaffRecipient`` (a contact cannot be one).
    """
    notification: dict[str, Any] = {
        "subject": notice.subject,
        "text": notice.text,
        "url": notice.url,
    }
    if notice.html:
        notification["html"] = notice.html
    if about is not None:
        notification["contact_id"] = about.pk
        notification["contact_name"] = about.display_name or about.email
    data = {**dict(context or {}), "notification": notification}
    common: dict[str, Any] = {
        "dedupe_key": dedupe_key,
        "contact": about,
        "stream": Stream.TRANSACTIONAL,
        "template": template,
        "context": data,
        "sequence_id": sequence_id,
        "step_id": step_id,
        "enrollment_id": enrollment_id,
    }
    if isinstance(recipient, StaffMail):
        message, _created = message_enqueue(
            channel=MessageChannel.EMAIL,
            to_address=recipient.user.email,
            recipient_kind=RecipientKind.STAFF_USER,
            staff_user=recipient.user,
            **common,
        )
    elif isinstance(recipient, StaffChat):
        common["template"] = None
        message, _created = message_enqueue(
            channel=MessageChannel.CHAT,
            to_address="",
            chat_channel=recipient.channel,
            recipient_kind=RecipientKind.STAFF_USER,
            staff_user=recipient.user,
            **common,
        )
    elif isinstance(recipient, TeamChat):
        common["template"] = None
        message, _created = message_enqueue(
            channel=MessageChannel.CHAT,
            to_address="",
            chat_channel=recipient.channel,
            recipient_kind=RecipientKind.TEAM_CHANNEL,
            staff_user=recipient.mention,
            **common,
        )
    else:
        raise TypeError(f"An internal notice goes to staff, not to {type(recipient).__name__}.")
    return message
