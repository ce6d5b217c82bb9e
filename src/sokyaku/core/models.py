"""Cross-cutting tables: API keys and the worker heartbeat."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class ApiScope(models.TextChoices):
    CONTACTS_READ = "contacts:read", _("Read contacts")
    CONTACTS_WRITE = "contacts:write", _("Create and update contacts")
    EVENTS_READ = "events:read", _("Read events and timelines")
    EVENTS_WRITE = "events:write", _("Send events")
    FORMS_READ = "forms:read", _("Read forms and their submissions")
    FORMS_WRITE = "forms:write", _("Create, change and publish forms")
    COSTS_READ = "costs:read", _("Read channel costs")
    COSTS_WRITE = "costs:write", _("Record channel costs")
    SEQUENCES_READ = "sequences:read", _("Read sequences and enrolments")
    SEQUENCES_WRITE = "sequences:write", _("Enrol contacts in sequences")
    MESSAGES_READ = "messages:read", _("Read sent messages")
    MESSAGES_WRITE = "messages:write", _("Report bounces and complaints")


class ApiKey(models.Model):
    """A bearer key for the JSON API. Only a SHA-256 of the secret is stored; the key is shown
    once, when it is created."""

    name = models.CharField(_("name"), max_length=100)
    prefix = models.CharField(max_length=16, unique=True)
    secret_hash = models.CharField(max_length=64)
    scopes = models.JSONField(default=list)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField()
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("API key")
        verbose_name_plural = _("API keys")

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class WorkerHeartbeat(models.Model):
    """One row per worker host+pid, touched by a periodic task so the UI can tell whether
    background work is running."""

    worker = models.CharField(max_length=200, unique=True)
    beat_at = models.DateTimeField()

    def __str__(self) -> str:
        return self.worker
