"""Mail content writes: templates, sender profiles, chat channels, test sends.

- A template is checked at save (``rendering.template_check``): a broken tag raises
  ``ValidationError`` with the part and line and nothing is written; unknown merge fields are
  stored as ``warnings`` and the template is saved.
- Sender profiles hold From/Reply-To and the 特定電子メール法 items. A marketing profile may be
  saved incomplete (the UI lists what is missing) but cannot send until complete: the engine asks
  ``rendering.sender_profile_check``. One default profile per stream.
- Chat channel URLs must be https; whether the host is private is checked at send time by the
  engine (DNS can change between save and send).
- ``template_test_send`` queues a transactional "[TEST]" message to the user's own address.
"""

from __future__ import annotations

import logging
import re
import uuid
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.apps import apps
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction

from sokyaku.contacts.models import Contact
from sokyaku.core import clock
from sokyaku.core.errors import Conflict, ValidationError
from sokyaku.messaging import rendering
from sokyaku.messaging.models import (
    ChatChannel,
    ChatKind,
    Message,
    SenderProfile,
    Stream,
    Template,
)
from sokyaku.messaging.services.outbox import message_enqueue

logger = logging.getLogger(__name__)

LINE_PUSH_URL = "https://api.line.me/v2/bot/message/push"


# --- templates ------------------------------------------------------------------------------


@dataclass(frozen=True)
class TemplateInput:
    name: str
    subject: str
    body_html: str
    preheader: str = ""


def _template_validate(
    data: TemplateInput, *, instance: Template | None = None
) -> tuple[TemplateInput, list[str]]:
    clean = TemplateInput(
        name=data.name.strip(),
        subject=data.subject.strip(),
        preheader=data.preheader.strip(),
        body_html=data.body_html,
    )
    errors: dict[str, str] = {}
    if not clean.name:
        errors["name"] = "A template needs a name."
    elif (
        Template.objects.filter(name=clean.name).exclude(pk=instance.pk if instance else 0).exists()
    ):
        errors["name"] = "A template with this name already exists."
    if len(clean.subject) > 300:
        errors["subject"] = "The subject is too long (300 characters at most)."
    if len(clean.preheader) > 300:
        errors["preheader"] = "The preheader is too long (300 characters at most)."
    try:
        warnings = rendering.template_check(
            subject=clean.subject, preheader=clean.preheader, body_html=clean.body_html
        )
    except ValidationError as exc:
        errors = {**exc.field_errors, **errors}
        warnings = []
    if errors:
        raise ValidationError(next(iter(errors.values())), field_errors=errors)
    return clean, warnings


def template_create(*, data: TemplateInput, actor: User | None) -> Template:
    """Check and store a new template (warnings kept on it).

    Raises ``ValidationError`` (field and line) for a broken tag, a missing subject/body or a
    name in use; nothing is written then.
    """
    clean, warnings = _template_validate(data)
    now = clock.now()
    try:
        with transaction.atomic():
            template = Template.objects.create(
                name=clean.name,
                subject=clean.subject,
                preheader=clean.preheader,
                body_html=clean.body_html,
                warnings=warnings,
                created_by=actor,
                created_at=now,
                updated_at=now,
            )
    except IntegrityError as exc:  # a concurrent save took the name
        raise ValidationError(
            "A template with this name already exists.",
            field_errors={"name": "A template with this name already exists."},
        ) from exc
    logger.info("template.created", extra={"template_id": template.pk})
    return template


def template_update(*, template: Template, data: TemplateInput, actor: User | None) -> Template:
    """Check and store new content; the stored template is unchanged when the check fails.

    Messages already queued keep their own rendering; those not yet rendered use the new content.
    Raises ``ValidationError`` like ``template_create``.
    """
    clean, warnings = _template_validate(data, instance=template)
    template.name = clean.name
    template.subject = clean.subject
    template.preheader = clean.preheader
    template.body_html = clean.body_html
    template.warnings = warnings
    template.updated_at = clock.now()
    try:
        with transaction.atomic():
            template.save(
                update_fields=[
                    "name",
                    "subject",
                    "preheader",
                    "body_html",
                    "warnings",
                    "updated_at",
                ]
            )
    except IntegrityError as exc:
        template.refresh_from_db()
        raise ValidationError(
            "A template with this name already exists.",
            field_errors={"name": "A template with this name already exists."},
        ) from exc
    logger.info("template.updated", extra={"template_id": template.pk, "actor": _actor_id(actor)})
    return template


def _template_in_use(template: Template) -> str:
    if template.broadcasts.exists():
        return "A broadcast uses this template."
    # Sequence steps name their template in their config ({"template": id}); the sequences app
    # sits above this one, so it is looked up by model name rather than imported.
    try:
        step_model = apps.get_model("sequences", "Step")
    except LookupError:  # pragma: no cover - the app is always installed
        return ""
    if step_model.objects.filter(config__template=template.pk).exists():
        return "A sequence step sends this template."
    return ""


def template_delete(*, template: Template, actor: User | None) -> None:
    """Delete a template no broadcast or sequence step uses (sent messages keep their copy).

    Raises ``Conflict`` when it is in use.
    """
    reason = _template_in_use(template)
    if reason:
        raise Conflict(reason)
    pk = template.pk
    template.delete()
    logger.info("template.deleted", extra={"template_id": pk, "actor": _actor_id(actor)})


def template_test_send(
    *,
    template: Template,
    contact: Contact | None,
    to_address: str,
    actor: User | None,
    sender: SenderProfile | None = None,
) -> Message:
    """Queue the template, rendered as ``contact`` would get it, to ``to_address``.

    A transactional message without a contact (so no consent check, no timeline event, no
    tracking), subject prefixed "[TEST]", the footer of ``sender``'s stream (the default
    marketing profile if none) with inert opt-out links. Each call queues a new message.
    Raises ``ValidationError`` for a bad address.
    """
    address = (to_address or "").strip()
    try:
        validate_email(address)
    except DjangoValidationError as exc:
        raise ValidationError(
            "Enter a valid email address for the test.",
            field_errors={"to_address": "Enter a valid email address for the test."},
        ) from exc
    profile = (
        sender or SenderProfile.objects.filter(stream=Stream.MARKETING, is_default=True).first()
    )
    stream = profile.stream if profile else Stream.MARKETING
    message, _created = message_enqueue(
        dedupe_key=f"test:{template.pk}:{uuid.uuid4().hex}",
        contact=None,
        stream=Stream.TRANSACTIONAL,
        to_address=address,
        sender=profile,
        template=template,
        context={"test_send": {"contact_id": contact.pk if contact else None, "stream": stream}},
    )
    logger.info(
        "template.test_sent",
        extra={"template_id": template.pk, "message_id": message.pk, "actor": _actor_id(actor)},
    )
    return message


# --- sender profiles ------------------------------------------------------------------------


@dataclass(frozen=True)
class SenderProfileInput:
    name: str
    stream: str
    from_name: str
    from_email: str
    reply_to: str = ""
    sender_name: str = ""
    postal_address: str = ""
    complaints_contact: str = ""
    unsubscribe_wording: str = ""
    is_default: bool = False
    complaint_threshold: float = 0.003


def _email_ok(value: str) -> bool:
    try:
        validate_email(value)
    except DjangoValidationError:
        return False
    return True


def _sender_validate(
    data: SenderProfileInput, *, instance: SenderProfile | None = None
) -> SenderProfileInput:
    clean = SenderProfileInput(
        name=data.name.strip(),
        stream=data.stream,
        from_name=data.from_name.strip(),
        from_email=data.from_email.strip().lower(),
        reply_to=data.reply_to.strip().lower(),
        sender_name=data.sender_name.strip(),
        postal_address=data.postal_address.strip(),
        complaints_contact=data.complaints_contact.strip(),
        unsubscribe_wording=data.unsubscribe_wording.strip(),
        is_default=data.is_default,
        complaint_threshold=data.complaint_threshold,
    )
    errors: dict[str, str] = {}
    if not clean.name:
        errors["name"] = "A sender profile needs a name."
    elif (
        SenderProfile.objects.filter(name=clean.name)
        .exclude(pk=instance.pk if instance else 0)
        .exists()
    ):
        errors["name"] = "A sender profile with this name already exists."
    if clean.stream not in Stream.values:
        errors["stream"] = "Choose marketing or transactional."
    elif instance is not None and instance.stream != clean.stream:
        # Sequences and broadcasts chose this profile for its stream; moving it would send
        # marketing mail without the opt-out footer or the other way round.
        errors["stream"] = "The stream of a sender profile cannot be changed; create a new one."
    if not clean.from_name:
        errors["from_name"] = "Enter the name shown as the sender."
    if not _email_ok(clean.from_email):
        errors["from_email"] = "Enter a valid From address."
    if clean.reply_to and not _email_ok(clean.reply_to):
        errors["reply_to"] = "Enter a valid reply-to address."
    if not 0 < clean.complaint_threshold <= 0.1:
        errors["complaint_threshold"] = "Use a complaint rate between 0 and 10 %."
    if errors:
        raise ValidationError(next(iter(errors.values())), field_errors=errors)
    return clean


def _apply_default(profile: SenderProfile) -> None:
    """Make ``profile`` the only default of its stream (called inside the transaction)."""
    if profile.is_default:
        SenderProfile.objects.filter(stream=profile.stream, is_default=True).exclude(
            pk=profile.pk
        ).update(is_default=False)


def sender_profile_create(*, data: SenderProfileInput, actor: User | None) -> SenderProfile:
    """Store a sender profile; ``is_default`` takes the default role from its stream's other one.

    A stream's first profile becomes its default. Raises ``ValidationError`` with field errors.
    """
    clean = _sender_validate(data)
    now = clock.now()
    with transaction.atomic():
        is_default = (
            clean.is_default
            or not SenderProfile.objects.filter(stream=clean.stream, is_default=True).exists()
        )
        if is_default:
            SenderProfile.objects.filter(stream=clean.stream, is_default=True).update(
                is_default=False
            )
        profile = SenderProfile.objects.create(
            name=clean.name,
            stream=clean.stream,
            from_name=clean.from_name,
            from_email=clean.from_email,
            reply_to=clean.reply_to,
            sender_name=clean.sender_name,
            postal_address=clean.postal_address,
            complaints_contact=clean.complaints_contact,
            unsubscribe_wording=clean.unsubscribe_wording,
            is_default=is_default,
            complaint_threshold=clean.complaint_threshold,
            created_at=now,
            updated_at=now,
        )
    logger.info(
        "sender_profile.created", extra={"profile_id": profile.pk, "actor": _actor_id(actor)}
    )
    return profile


def sender_profile_update(
    *, profile: SenderProfile, data: SenderProfileInput, actor: User | None
) -> SenderProfile:
    """Change a sender profile (not its stream). Unsetting the default leaves the stream
    without one only if asked; raises ``ValidationError`` with field errors."""
    clean = _sender_validate(data, instance=profile)
    for field in (
        "name",
        "from_name",
        "from_email",
        "reply_to",
        "sender_name",
        "postal_address",
        "complaints_contact",
        "unsubscribe_wording",
        "is_default",
        "complaint_threshold",
    ):
        setattr(profile, field, getattr(clean, field))
    profile.updated_at = clock.now()
    with transaction.atomic():
        _apply_default(profile)
        profile.save(
            update_fields=[
                "name",
                "from_name",
                "from_email",
                "reply_to",
                "sender_name",
                "postal_address",
                "complaints_contact",
                "unsubscribe_wording",
                "is_default",
                "complaint_threshold",
                "updated_at",
            ]
        )
    logger.info(
        "sender_profile.updated", extra={"profile_id": profile.pk, "actor": _actor_id(actor)}
    )
    return profile


# --- chat channels --------------------------------------------------------------------------


@dataclass(frozen=True)
class ChatChannelInput:
    name: str
    kind: str
    url: str = ""
    secret: str = ""
    is_active: bool = True
    team_to: str = ""


def _chat_validate(
    data: ChatChannelInput, *, instance: ChatChannel | None = None
) -> ChatChannelInput:
    url = data.url.strip() or (LINE_PUSH_URL if data.kind == ChatKind.LINE else "")
    clean = ChatChannelInput(
        name=data.name.strip(),
        kind=data.kind,
        url=url,
        secret=data.secret.strip(),
        is_active=data.is_active,
        team_to=data.team_to.strip() if data.kind == ChatKind.LINE else "",
    )
    errors: dict[str, str] = {}
    if not clean.name:
        errors["name"] = "A chat channel needs a name."
    elif (
        ChatChannel.objects.filter(name=clean.name)
        .exclude(pk=instance.pk if instance else 0)
        .exists()
    ):
        errors["name"] = "A chat channel with this name already exists."
    if clean.kind not in ChatKind.values:
        errors["kind"] = "Choose a kind of channel."
    parts = urlsplit(clean.url)
    if parts.scheme != "https" or not parts.hostname:
        errors["url"] = "Enter an https:// address."
    elif parts.username or parts.password:
        errors["url"] = "Put credentials in the token field, not in the address."
    elif len(clean.url) > 500:
        errors["url"] = "The address is too long."
    if clean.kind == ChatKind.LINE and not clean.secret:
        errors["secret"] = "LINE needs the channel access token."  # noqa: S105 - a message
    if clean.team_to and not re.fullmatch(r"[CR][0-9a-f]{32}", clean.team_to):
        errors["team_to"] = "A LINE group ID is C (a room ID R) followed by 32 hexadecimal digits."
    if errors:
        raise ValidationError(next(iter(errors.values())), field_errors=errors)
    return clean


def chat_channel_create(*, data: ChatChannelInput, actor: User | None) -> ChatChannel:
    """Store a chat channel (LINE defaults to the push endpoint). Raises ``ValidationError``."""
    clean = _chat_validate(data)
    channel = ChatChannel.objects.create(
        name=clean.name,
        kind=clean.kind,
        url=clean.url,
        secret=clean.secret,
        team_to=clean.team_to,
        is_active=clean.is_active,
        created_at=clock.now(),
    )
    logger.info("chat_channel.created", extra={"channel_id": channel.pk, "actor": _actor_id(actor)})
    return channel


def chat_channel_update(
    *, channel: ChatChannel, data: ChatChannelInput, actor: User | None
) -> ChatChannel:
    """Change a chat channel; an empty ``secret`` keeps the stored one (it is never shown
    again). Raises ``ValidationError``."""
    merged = ChatChannelInput(
        name=data.name,
        kind=data.kind,
        url=data.url,
        secret=data.secret or channel.secret,
        is_active=data.is_active,
        team_to=data.team_to,
    )
    clean = _chat_validate(merged, instance=channel)
    channel.name = clean.name
    channel.kind = clean.kind
    channel.url = clean.url
    channel.secret = clean.secret
    channel.is_active = clean.is_active
    channel.team_to = clean.team_to
    channel.save(update_fields=["name", "kind", "url", "secret", "team_to", "is_active"])
    logger.info("chat_channel.updated", extra={"channel_id": channel.pk, "actor": _actor_id(actor)})
    return channel


def _actor_id(actor: User | None) -> int | None:
    return actor.pk if actor is not None else None
