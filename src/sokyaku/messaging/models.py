"""Messaging: templates, sender profiles, broadcasts, the outbox, links, chat channels.

The outbox is the durable state of sending (DESIGN.md, "Sending that is exactly-once where it
can be"): one ``Message`` per unique ``dedupe_key`` — ``seq:<enrollment>:<step>`` for a sequence
step, ``bc:<broadcast>:<contact>`` for a broadcast — created in the same transaction as the state
change that causes it. Delivery moves it ``queued → sending → sent | failed | suppressed``; a
worker holds a ``sending`` row only until ``lease_until``, after which another worker may take it
again. The Message-ID is derived from the row, so a retry re-sends the same Message-ID.

System mail — the mails a person's own request causes (a download link, a double opt-in
confirmation, a webinar registration's confirmation) — is an outbox row too: transactional
stream, ``system_mail`` naming which one, its subject, text and attachments fixed when it is
queued (``services.system_mail``).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class Stream(models.TextChoices):
    MARKETING = "marketing", _("Marketing")
    TRANSACTIONAL = "transactional", _("Transactional / sales")


class SenderProfile(models.Model):
    """Who a mail is from, with the items 特定電子メール法 requires in every marketing mail."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    stream = models.CharField(_("stream"), max_length=14, choices=Stream.choices)
    from_name = models.CharField(_("from name"), max_length=100)
    from_email = models.EmailField(_("from address"))
    reply_to = models.EmailField(_("reply-to"), blank=True)
    # 特定電子メール法: 送信者の氏名又は名称, 住所, 苦情・問い合わせ先, 受信拒否の通知先と文言.
    sender_name = models.CharField(_("sender (legal name)"), max_length=200, blank=True)
    postal_address = models.CharField(_("postal address"), max_length=300, blank=True)
    complaints_contact = models.CharField(
        _("contact for complaints and questions"), max_length=300, blank=True
    )
    unsubscribe_wording = models.CharField(_("opt-out wording"), max_length=300, blank=True)
    is_default = models.BooleanField(_("default for its stream"), default=False)
    complaint_threshold = models.FloatField(_("pause at complaint rate"), default=0.003)
    paused_at = models.DateTimeField(null=True, blank=True)
    pause_reason = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["name"]
        verbose_name = _("sender profile")
        verbose_name_plural = _("sender profiles")
        constraints = [
            models.UniqueConstraint(
                fields=["stream"],
                condition=models.Q(is_default=True),
                name="messaging_one_default_sender_per_stream",
            )
        ]

    def __str__(self) -> str:
        return self.name


class Template(models.Model):
    """A mail template: merge fields and conditional blocks in Django template syntax."""

    name = models.CharField(_("name"), max_length=150, unique=True)
    subject = models.CharField(_("subject"), max_length=300)
    preheader = models.CharField(_("preheader"), max_length=300, blank=True)
    body_html = models.TextField(_("HTML body"))
    # Merge fields the last save could not resolve (shown as a warning; fallbacks are used).
    warnings = models.JSONField(default=list, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["name"]
        verbose_name = _("mail template")
        verbose_name_plural = _("mail templates")

    def __str__(self) -> str:
        return self.name


class ChatKind(models.TextChoices):
    GENERIC = "generic", _("JSON webhook")
    SLACK = "slack", _("Slack incoming webhook")
    LINE = "line", _("LINE Messaging API (push)")


class ChatChannel(models.Model):
    name = models.CharField(_("name"), max_length=100, unique=True)
    kind = models.CharField(_("kind"), max_length=8, choices=ChatKind.choices)
    url = models.URLField(_("URL"), max_length=500)
    # LINE channel access token, or a secret for signing generic webhooks.
    secret = models.CharField(_("token / secret"), max_length=500, blank=True)
    # LINE: the team's group (C…) or room (R…) id that internal notices for the team are pushed
    # to; Slack and JSON webhooks are fixed to their channel by the URL itself.
    team_to = models.CharField(_("team destination"), max_length=33, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["name"]
        verbose_name = _("chat channel")
        verbose_name_plural = _("chat channels")

    def __str__(self) -> str:
        return self.name


class BroadcastStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    SCHEDULED = "scheduled", _("Scheduled")
    SENDING = "sending", _("Sending")
    SENT = "sent", pgettext_lazy("status", "Sent")
    CANCELLED = "cancelled", _("Cancelled")


class Broadcast(models.Model):
    """A newsletter: one template to a segment's members, now or at ``scheduled_at``."""

    name = models.CharField(_("name"), max_length=150)
    template = models.ForeignKey(Template, on_delete=models.PROTECT, related_name="broadcasts")
    sender = models.ForeignKey(SenderProfile, on_delete=models.PROTECT, related_name="+")
    segment = models.ForeignKey(
        "segments.Segment", on_delete=models.PROTECT, related_name="broadcasts"
    )
    topic_key = models.SlugField(_("consent topic"), max_length=50)
    status = models.CharField(
        max_length=10, choices=BroadcastStatus.choices, default=BroadcastStatus.DRAFT
    )
    scheduled_at = models.DateTimeField(_("send at"), null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    recipients = models.PositiveIntegerField(default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("broadcast")
        verbose_name_plural = _("broadcasts")

    def __str__(self) -> str:
        return self.name


class MessageChannel(models.TextChoices):
    EMAIL = "email", _("Email")
    CHAT = "chat", _("Chat")


class RecipientKind(models.TextChoices):
    """Who a message is addressed to. Only ``contact`` messages ever use a contact's address or
    chat id; the other two are internal notices about a contact, for staff only."""

    CONTACT = "contact", _("Contact")
    STAFF_USER = "staff_user", _("Staff user")
    TEAM_CHANNEL = "team_channel", _("Team channel")


class SystemMail(models.TextChoices):
    """Which system mail a message is (empty for template mail and internal notices)."""

    ASSET_LINK = "asset_link", _("Download link")
    OPTIN_CONFIRMATION = "optin_confirmation", _("Opt-in confirmation request")
    WEBINAR_CONFIRMATION = "webinar_confirmation", _("Webinar registration confirmation")
    PREFERENCES_LINK = "preferences_link", _("Mail settings link")


class MessageStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    SENDING = "sending", _("Sending")
    SENT = "sent", pgettext_lazy("status", "Sent")
    FAILED = "failed", _("Failed")
    SUPPRESSED = "suppressed", _("Suppressed")


class Message(models.Model):
    dedupe_key = models.CharField(max_length=120, unique=True)
    channel = models.CharField(max_length=5, choices=MessageChannel.choices)
    stream = models.CharField(max_length=14, choices=Stream.choices)
    status = models.CharField(
        max_length=10, choices=MessageStatus.choices, default=MessageStatus.QUEUED
    )
    contact = models.ForeignKey(
        "contacts.Contact", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    to_address = models.CharField(max_length=254, blank=True)
    # ``contact``: the contact receives it. Otherwise an internal notice *about* ``contact``:
    # to ``staff_user`` (their mail, or their own chat id on ``chat_channel``) or to the team's
    # channel (``staff_user`` is then the one mentioned, if any).
    recipient_kind = models.CharField(
        max_length=12, choices=RecipientKind.choices, default=RecipientKind.CONTACT
    )
    staff_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    sender = models.ForeignKey(
        SenderProfile, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    template = models.ForeignKey(
        Template, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    chat_channel = models.ForeignKey(
        ChatChannel, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    topic_key = models.SlugField(max_length=50, blank=True)
    # Extra template context fixed when the message was queued (e.g. the asset link).
    context = models.JSONField(default=dict, blank=True)
    # A system mail: which one. Its subject and text are written when it is queued; no template.
    system_mail = models.CharField(
        _("kind"), max_length=24, choices=SystemMail.choices, blank=True, default=""
    )
    # Text attachments fixed when queued: [{"filename", "content_type", "params", "text"}].
    attachments = models.JSONField(default=list, blank=True)
    # Where it came from, for per-step and per-broadcast reports (plain ids: the sequences app
    # sits above this one).
    broadcast = models.ForeignKey(
        Broadcast, null=True, blank=True, on_delete=models.SET_NULL, related_name="messages"
    )
    sequence_id = models.PositiveIntegerField(null=True, blank=True)
    step_id = models.PositiveIntegerField(null=True, blank=True)
    enrollment_id = models.PositiveIntegerField(null=True, blank=True)
    # What was sent, rendered once (a retry sends the same bytes' content).
    subject = models.CharField(max_length=300, blank=True)
    body_html = models.TextField(blank=True)
    body_text = models.TextField(blank=True)
    headers = models.JSONField(default=dict, blank=True)
    suppressed_reason = models.CharField(max_length=300, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)
    # When it last became ``failed`` (empty on rows from before this column: their ``created_at``
    # stands in when failed mail is selected for a re-send).
    failed_at = models.DateTimeField(null=True, blank=True)
    opened_at = models.DateTimeField(null=True, blank=True)
    clicked_at = models.DateTimeField(null=True, blank=True)
    bounced_at = models.DateTimeField(null=True, blank=True)
    complained_at = models.DateTimeField(null=True, blank=True)
    unsubscribed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("message")
        verbose_name_plural = _("messages")
        indexes = [
            models.Index(
                fields=["status", "next_attempt_at"],
                name="message_due_idx",
                condition=models.Q(status__in=["queued", "sending"]),
            ),
            models.Index(fields=["contact", "created_at"], name="message_contact_idx"),
            models.Index(fields=["sequence_id", "step_id"], name="message_step_idx"),
            # "mails sent on a day" (analytics)
            models.Index(
                fields=["sent_at"],
                name="message_sent_idx",
                condition=models.Q(sent_at__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.dedupe_key} ({self.status})"


class MessageLink(models.Model):
    """A link in a sent message; clicks resolve only to these (no open redirect)."""

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="links")
    position = models.PositiveSmallIntegerField()
    url = models.URLField(max_length=2000)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["message", "position"], name="message_link_unique")
        ]

    def __str__(self) -> str:
        return self.url


class MailLinkRotation(models.Model):
    """When a contact's unsubscribe and preference-centre links were last invalidated: a link
    made before ``rotated_at`` no longer opens the person's settings
    (``selectors.mail_link_state``). One row per contact, written by
    ``services.links.mail_links_rotate``."""

    contact = models.OneToOneField(
        "contacts.Contact", primary_key=True, on_delete=models.CASCADE, related_name="+"
    )
    rotated_at = models.DateTimeField(_("links invalidated"))
    rotated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("mail link rotation")
        verbose_name_plural = _("mail link rotations")

    def __str__(self) -> str:
        return f"links of {self.contact_id} invalidated {self.rotated_at:%Y-%m-%d %H:%M}"


class FrequencyCap(models.Model):
    """How many marketing mails one contact may get a day (one row; defaults without it).

    Counted per contact and Asia/Tokyo calendar day over marketing-stream email (sequence
    steps and broadcasts together; queued, sending and sent ones). Transactional mail (alerts,
    receipts, test mails) is never capped and never counted. ``per_day`` 0 means no cap.
    Sequences: a capped mail step waits for the next free day inside its send window.
    Broadcasts: a contact at the cap is left out of the broadcast.
    """

    per_day = models.PositiveSmallIntegerField(_("marketing mails per contact per day"), default=1)
    sequences = models.BooleanField(_("applies to sequence mails"), default=True)
    broadcasts = models.BooleanField(_("applies to broadcasts"), default=True)
    updated_at = models.DateTimeField(null=True, blank=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("frequency cap")
        verbose_name_plural = _("frequency caps")

    def __str__(self) -> str:
        return f"{self.per_day}/day"


class SendingPause(models.Model):
    """One row: whether all marketing sending is paused (the operator's kill switch).

    While ``marketing_paused_at`` is set, delivery claims no marketing-stream message and holds
    back any already claimed one right before its batch goes on the wire; the messages stay
    ``queued`` and go out after the resume. Transactional mail (sales alerts, confirmations,
    download links) and internal notices are not held. A single sender profile is paused on the
    profile itself (``SenderProfile.paused_at``).
    """

    marketing_paused_at = models.DateTimeField(null=True, blank=True)
    reason = models.CharField(_("reason"), max_length=300, blank=True)
    paused_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("sending pause")
        verbose_name_plural = _("sending pauses")

    def __str__(self) -> str:
        return "paused" if self.marketing_paused_at else "sending"
