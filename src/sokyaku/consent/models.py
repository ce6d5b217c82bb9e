"""The consent ledger: topics, versioned purpose-of-use texts and append-only consent records.

A ``ConsentRecord`` is written once and never changed or deleted: the ORM refuses (``save`` of
an existing row, ``delete``, queryset ``update``/``delete``) and so does the database (triggers,
see the migration). The current state per topic is derived from the records (``selectors``).
A ``PurposeText`` version is likewise never edited: a changed text is a new version.
"""

from __future__ import annotations

from typing import Any

from django.db import models
from django.utils.translation import gettext_lazy as _


class AppendOnlyError(Exception):
    """Raised on any attempt to change or delete an append-only row."""


class ConsentTopic(models.Model):
    """What a person may agree to receive (メールマガジン, セミナー案内 …)."""

    key = models.SlugField(_("key"), max_length=50, unique=True)
    name = models.CharField(_("name"), max_length=100)
    description = models.TextField(_("description"), blank=True)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("consent topic")
        verbose_name_plural = _("consent topics")

    def __str__(self) -> str:
        return self.name


class PurposeText(models.Model):
    """One version of a purpose-of-use (利用目的) text, exactly as shown to people."""

    key = models.SlugField(_("key"), max_length=50)
    version = models.PositiveIntegerField(_("version"))
    title = models.CharField(_("title"), max_length=200)
    body = models.TextField(_("text"))
    sha256 = models.CharField(max_length=64, editable=False)
    created_at = models.DateTimeField(_("created"))

    class Meta:
        ordering = ["key", "-version"]
        verbose_name = _("purpose-of-use text")
        verbose_name_plural = _("purpose-of-use texts")
        constraints = [
            models.UniqueConstraint(fields=["key", "version"], name="purposetext_one_per_version")
        ]

    def __str__(self) -> str:
        return f"{self.title} v{self.version}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise AppendOnlyError("A purpose-of-use text version is never edited.")
        super().save(*args, **kwargs)


class LegalBasis(models.TextChoices):
    """Why marketing mail may go to an address (特定電子メール法)."""

    OPT_IN = "opt_in", _("Opt-in consent")
    BUSINESS_CARD = "business_card", _("Business card exchanged")
    TRANSACTION = "transaction", _("Existing business relationship")
    PUBLISHED_ADDRESS = "published_address", _("Publicly published address")


class ConsentStatus(models.TextChoices):
    GRANTED = "granted", _("Granted")
    PENDING = "pending", _("Awaiting confirmation")
    WITHDRAWN = "withdrawn", _("Withdrawn (opt-out)")


class ConsentSource(models.TextChoices):
    FORM = "form", _("Form")
    IMPORT = "import", _("Import")
    API = "api", _("API")
    UI = "ui", _("User")
    CONFIRMATION = "confirmation", _("Confirmation link")
    UNSUBSCRIBE = "unsubscribe", _("Unsubscribe link")
    PREFERENCES = "preferences", _("Preference centre")


class ConsentRecordQuerySet(models.QuerySet["ConsentRecord"]):
    def update(self, **kwargs: Any) -> int:
        raise AppendOnlyError("Consent records are never updated.")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise AppendOnlyError("Consent records are never deleted.")


class ConsentRecord(models.Model):
    """One opt-in, opt-out or pending double opt-in, as it happened. Never changed."""

    contact = models.ForeignKey(
        "contacts.Contact", on_delete=models.PROTECT, related_name="consent_records"
    )
    # NULL topic: every topic (an opt-out of all marketing mail).
    topic = models.ForeignKey(
        ConsentTopic, null=True, blank=True, on_delete=models.PROTECT, related_name="records"
    )
    status = models.CharField(_("status"), max_length=10, choices=ConsentStatus.choices)
    legal_basis = models.CharField(
        _("legal basis"), max_length=20, choices=LegalBasis.choices, blank=True
    )
    source = models.CharField(_("source"), max_length=20, choices=ConsentSource.choices)
    source_detail = models.CharField(_("source detail"), max_length=200, blank=True)
    recorded_at = models.DateTimeField(_("recorded"))
    purpose_text = models.ForeignKey(
        PurposeText, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    text_version = models.PositiveIntegerField(null=True, blank=True)
    text_sha256 = models.CharField(max_length=64, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=500, blank=True)
    # For a double opt-in: the pending record that a confirmation completes.
    confirms = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # Set once, when the person was erased: their email and phone, IP and user agent are then
    # kept only as keyed hashes (``keyed_hash``), ``ip`` and ``user_agent`` emptied.
    erased_at = models.DateTimeField(null=True, blank=True)
    email_hash = models.CharField(max_length=64, blank=True)
    phone_hash = models.CharField(max_length=64, blank=True)
    ip_hash = models.CharField(max_length=64, blank=True)
    user_agent_hash = models.CharField(max_length=64, blank=True)

    objects = ConsentRecordQuerySet.as_manager()

    class Meta:
        ordering = ["-recorded_at", "-id"]
        verbose_name = _("consent record")
        verbose_name_plural = _("consent records")
        indexes = [models.Index(fields=["contact", "recorded_at"], name="consent_contact_time_idx")]

    def __str__(self) -> str:
        return f"{self.contact_id} {self.topic_id or '*'} {self.status}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise AppendOnlyError("Consent records are never updated.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise AppendOnlyError("Consent records are never deleted.")


class SuppressionReason(models.TextChoices):
    HARD_BOUNCE = "hard_bounce", _("Address does not exist (hard bounce)")
    COMPLAINT = "complaint", _("Marked as spam (complaint)")
    ERASURE = "erasure", _("Erased at the person's request")
    MANUAL = "manual", _("Added by a user")


class Suppression(models.Model):
    """An address no marketing mail may go to, whoever asks. Stored as the SHA-256 of the
    normalised address, so it survives the erasure of the person it belonged to."""

    email_sha256 = models.CharField(max_length=64, unique=True)
    reason = models.CharField(_("reason"), max_length=12, choices=SuppressionReason.choices)
    detail = models.CharField(_("detail"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("created"))

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("suppressed address")
        verbose_name_plural = _("suppressed addresses")

    def __str__(self) -> str:
        return f"{self.email_sha256[:12]}… ({self.reason})"


class HashedSuppression(models.Model):
    """A person erased at their request, kept only as keyed hashes (``keyed_hash``) of their
    normalised email and phone. Marketing mail to that address, or to a contact with that phone,
    is refused — whoever re-enters the person (an import, the API, a form) — until the person
    opts in again themselves: a form's opt-in or a confirmed double opt-in removes the row."""

    email_hash = models.CharField(max_length=64, blank=True, db_index=True)
    phone_hash = models.CharField(max_length=64, blank=True, db_index=True)
    created_at = models.DateTimeField(_("created"))

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("erased person")
        verbose_name_plural = _("erased people")

    def __str__(self) -> str:
        return f"{(self.email_hash or self.phone_hash)[:12]}…"
