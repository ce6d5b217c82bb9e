"""Messaging reads: the outbox (list, detail), per-step and per-broadcast metrics, and whether a
mail's unsubscribe or preference-centre link still works."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import AnonymousUser, User
from django.db.models import Case, Count, F, Min, Q, QuerySet, When
from django.db.models.functions import Coalesce

from sokyaku.contacts.selectors import contact_live_ids
from sokyaku.core import clock
from sokyaku.core.errors import NotFound, PermissionDenied
from sokyaku.messaging import tokens
from sokyaku.messaging.models import (
    Broadcast,
    ChatChannel,
    MailLinkRotation,
    Message,
    MessageStatus,
    SenderProfile,
    Stream,
    Template,
)

AnyUser = User | AnonymousUser

# --- Outbox ----------------------------------------------------------------------------------


def message_exists(*, message_id: int) -> bool:
    return Message.objects.filter(pk=message_id).exists()


# --- Mail links ------------------------------------------------------------------------------

VALID, EXPIRED, ROTATED = "valid", "expired", "rotated"


@dataclass(frozen=True)
class LinkState:
    """Whether a mail link still opens the person's settings (``state`` ``valid``), or not:
    ``expired`` (older than ``MAIL_LINK_MAX_AGE_DAYS``) or ``rotated`` (made under an older link
    key version, or before the contact's links were invalidated). ``issued_at`` is when the link
    was made (for a link from before links carried a time: when its message was sent)."""

    message_id: int
    contact_id: int | None
    issued_at: datetime
    state: str

    @property
    def valid(self) -> bool:
        return self.state == VALID


def mail_link_max_age() -> timedelta:
    return timedelta(days=settings.MAIL_LINK_MAX_AGE_DAYS)


def mail_link_state(*, link: tokens.MailLink, at: datetime | None = None) -> LinkState:
    """The state of an unsubscribe or preference-centre link at ``at`` (now). Raises
    ``NotFound`` for a link to a message that does not exist."""
    row = (
        Message.objects.filter(pk=link.message_id)
        .values("contact_id", "sent_at", "created_at")
        .first()
    )
    if row is None:
        raise NotFound("Unknown link.")
    issued = link.issued_at or row["sent_at"] or row["created_at"]
    at = at or clock.now()
    contact_id = row["contact_id"]
    if link.version != tokens.link_version():
        state = ROTATED
    elif at - issued > mail_link_max_age():
        state = EXPIRED
    elif contact_id is not None and _invalidated_since(contact_id, issued):
        state = ROTATED
    else:
        state = VALID
    return LinkState(
        message_id=link.message_id, contact_id=contact_id, issued_at=issued, state=state
    )


def _invalidated_since(contact_id: int, issued: datetime) -> bool:
    # The message's own contact, and the contact it was merged into (whose page has the
    # button). A link carries its time to the second: one made within the second of an
    # invalidation counts as made before it (when in doubt, the link is refused).
    ids = {contact_id, *contact_live_ids(ids=[contact_id]).values()}
    return MailLinkRotation.objects.filter(
        contact_id__in=ids, rotated_at__gt=issued.replace(microsecond=0)
    ).exists()


def mail_links_rotated_at(*, contact_id: int) -> datetime | None:
    """When the contact's mail links were last invalidated, if ever."""
    row = MailLinkRotation.objects.filter(contact_id=contact_id).first()
    return row.rotated_at if row else None


def message_list(*, status: str = "", query: str = "") -> QuerySet[Message]:
    """Outbox rows, newest first, with what the list shows (no body columns)."""
    rows = Message.objects.select_related("contact", "sender").defer(
        "body_html", "body_text", "context", "headers", "attachments"
    )
    if status:
        rows = rows.filter(status=status)
    if query:
        rows = rows.filter(Q(to_address__icontains=query) | Q(subject__icontains=query))
    return rows.order_by("-created_at", "-id")


def message_status_counts() -> dict[str, int]:
    counts = dict(Message.objects.values_list("status").annotate(n=Count("id")).order_by())
    return {status: counts.get(status, 0) for status in MessageStatus.values}


def message_get(*, message_id: int) -> Message:
    """One message with its links; ``NotFound`` when there is none."""
    message = (
        Message.objects.select_related("contact", "sender", "template", "chat_channel", "broadcast")
        .prefetch_related("links")
        .filter(pk=message_id)
        .first()
    )
    if message is None:
        raise NotFound("No such message.")
    return message


# --- Metrics ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Metrics:
    sent: int = 0
    delivered: int = 0
    unique_human_opens: int = 0
    clicks: int = 0
    unsubscribes: int = 0
    bounces: int = 0

    @property
    def open_rate(self) -> float:
        return self.unique_human_opens / self.delivered if self.delivered else 0.0

    @property
    def click_rate(self) -> float:
        return self.clicks / self.delivered if self.delivered else 0.0


def message_metrics(
    *,
    sequence_id: int | None = None,
    step_ids: Sequence[int] | None = None,
    broadcast_id: int | None = None,
) -> dict[int | None, Metrics]:
    """Counts per step (key ``step_id``; ``None`` for a broadcast's or unattributed rows).

    One grouped query. ``sent``: accepted by the server (sent, plus failed after a bounce that
    came back later); ``delivered``: sent minus bounced; ``unique_human_opens``: messages with
    a human open (machine opens never set ``opened_at``); ``clicks``: messages with a human
    click; ``unsubscribes`` and ``bounces``: messages that led to one.
    """
    rows = Message.objects.all()
    if sequence_id is not None:
        rows = rows.filter(sequence_id=sequence_id)
    if step_ids is not None:
        rows = rows.filter(step_id__in=list(step_ids))
    if broadcast_id is not None:
        rows = rows.filter(broadcast_id=broadcast_id)
    went_out = Q(sent_at__isnull=False)
    grouped = (
        rows.values("step_id")
        .annotate(
            sent=Count("id", filter=went_out),
            delivered=Count("id", filter=went_out & Q(bounced_at__isnull=True)),
            opens=Count("id", filter=Q(opened_at__isnull=False)),
            clicks=Count("id", filter=Q(clicked_at__isnull=False)),
            unsubscribes=Count("id", filter=Q(unsubscribed_at__isnull=False)),
            bounces=Count("id", filter=Q(bounced_at__isnull=False)),
        )
        .order_by()
    )
    return {
        row["step_id"]: Metrics(
            sent=row["sent"],
            delivered=row["delivered"],
            unique_human_opens=row["opens"],
            clicks=row["clicks"],
            unsubscribes=row["unsubscribes"],
            bounces=row["bounces"],
        )
        for row in grouped
    }


# --- Content: templates, sender profiles, chat channels, broadcasts ---------------------------
# Permission-checked for the user asking (``None`` is the system): every role may look,
# marketers and admins change (the views check the change permissions).


def _content_require(user: AnyUser | None, perm: str) -> None:
    if user is not None and not user.has_perm(perm):
        raise PermissionDenied("You do not have permission to see mail settings.")


def template_list(*, user: AnyUser | None) -> QuerySet[Template]:
    _content_require(user, "messaging.view_template")
    return Template.objects.select_related("created_by").order_by("name")


def template_get(*, user: AnyUser | None, id: int) -> Template:
    _content_require(user, "messaging.view_template")
    template = Template.objects.filter(pk=id).first()
    if template is None:
        raise NotFound(f"No template with id {id}.")
    return template


def sender_profile_list(*, user: AnyUser | None, stream: str = "") -> QuerySet[SenderProfile]:
    _content_require(user, "messaging.view_senderprofile")
    rows = SenderProfile.objects.all()
    if stream:
        rows = rows.filter(stream=stream)
    return rows.order_by("stream", "-is_default", "name")


def sender_profile_get(*, user: AnyUser | None, id: int) -> SenderProfile:
    _content_require(user, "messaging.view_senderprofile")
    profile = SenderProfile.objects.filter(pk=id).first()
    if profile is None:
        raise NotFound(f"No sender profile with id {id}.")
    return profile


def chat_channel_list(*, user: AnyUser | None) -> QuerySet[ChatChannel]:
    _content_require(user, "messaging.view_chatchannel")
    return ChatChannel.objects.order_by("name")


def chat_channel_get(*, user: AnyUser | None, id: int) -> ChatChannel:
    _content_require(user, "messaging.view_chatchannel")
    channel = ChatChannel.objects.filter(pk=id).first()
    if channel is None:
        raise NotFound(f"No chat channel with id {id}.")
    return channel


def broadcast_list(*, user: AnyUser | None) -> QuerySet[Broadcast]:
    _content_require(user, "messaging.view_broadcast")
    return Broadcast.objects.select_related("template", "sender", "segment").order_by(
        "-created_at", "-id"
    )


def broadcast_get(*, user: AnyUser | None, id: int) -> Broadcast:
    _content_require(user, "messaging.view_broadcast")
    broadcast = (
        Broadcast.objects.select_related("template", "sender", "segment").filter(pk=id).first()
    )
    if broadcast is None:
        raise NotFound(f"No broadcast with id {id}.")
    return broadcast


def broadcast_message_counts(*, broadcast: Broadcast) -> dict[str, int]:
    """How many of a broadcast's messages are in each status (one grouped query)."""
    counts = dict(
        Message.objects.filter(broadcast=broadcast)
        .values_list("status")
        .annotate(n=Count("id"))
        .order_by()
    )
    return {status: counts.get(status, 0) for status in MessageStatus.values}


def broadcast_first_recipient(*, broadcast: Broadcast) -> int | None:
    """The contact of a started broadcast's first message (the page's sample recipient)."""
    return (
        Message.objects.filter(broadcast=broadcast, contact__isnull=False)
        .order_by("pk")
        .values_list("contact_id", flat=True)
        .first()
    )


def outbox_oldest_due(*, at: datetime, marketing: bool = True) -> datetime | None:
    """When the longest-waiting due message became due, at ``at`` (``None``: nothing due).

    Due: ``queued`` with its next attempt empty or past (due since that attempt, else since it
    was queued), or ``sending`` with its lease run out (due since then). ``marketing=False``
    leaves marketing mail out (while all marketing sending is paused it waits on purpose).
    """
    queued = Q(status=MessageStatus.QUEUED) & (
        Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=at)
    )
    abandoned = Q(status=MessageStatus.SENDING, lease_until__lt=at)
    rows = Message.objects.filter(queued | abandoned)
    if not marketing:
        rows = rows.exclude(stream=Stream.MARKETING)
    due_since = Case(
        When(status=MessageStatus.SENDING, then=F("lease_until")),
        default=Coalesce("next_attempt_at", "created_at"),
    )
    return rows.aggregate(oldest=Min(due_since))["oldest"]


def sender_profiles_paused_count() -> int:
    """How many sender profiles are paused (by hand or for their complaint rate)."""
    return SenderProfile.objects.filter(paused_at__isnull=False).count()


def marketing_waiting_count() -> int:
    """Marketing messages still to go (queued or being sent): what a pause holds back."""
    return Message.objects.filter(
        stream=Stream.MARKETING, status__in=(MessageStatus.QUEUED, MessageStatus.SENDING)
    ).count()
