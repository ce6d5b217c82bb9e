"""Cross-cutting tables: API keys, the worker heartbeat, teams, the data-access log, the
staff users' own chat identities (``StaffProfile``) and the presets ``migrate`` installed once
(``InstalledPreset``)."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _


class ApiScope(models.TextChoices):
    CONTACTS_READ = "contacts:read", _("Read contacts")
    CONTACTS_WRITE = "contacts:write", _("Create and update contacts")
    CONTACTS_EXPORT = "contacts:export", _("Export everything held on one person")
    CONTACTS_ERASE = "contacts:erase", _("Erase a person's data (delete contacts)")
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
    HANDOFFS_READ = "handoffs:read", _("Read handoffs and sales activities")
    HANDOFFS_WRITE = "handoffs:write", _("Accept, reject and reassign handoffs; log activities")
    DEALS_READ = "deals:read", _("Read pipelines, deals and the forecast")
    DEALS_WRITE = "deals:write", _("Create and move deals")
    ORDERS_WRITE = "orders:write", _("Record purchases and referrals")
    ANALYTICS_READ = "analytics:read", _("Read KPIs and reports")
    WEBHOOKS_MANAGE = "webhooks:manage", _("Manage webhooks, their deliveries and replays")


class ApiKey(models.Model):
    """A bearer key for the JSON API. Only a SHA-256 of the secret is stored; the key is shown
    once, when it is created.

    A key belongs to the user it was made for (``created_by``) and dies with them; or it is a
    system key (``is_system``), made as one on the command line, acting for the installation.
    A key with neither is refused.
    """

    name = models.CharField(_("name"), max_length=100)
    prefix = models.CharField(max_length=16, unique=True)
    secret_hash = models.CharField(max_length=64)
    scopes = models.JSONField(default=list)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    is_system = models.BooleanField(_("system key"), default=False)
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


class InstalledPreset(models.Model):
    """A preset ``sokyaku migrate`` installed (or found installed), by its stable key: it is
    never installed again, whatever the operator did with it since (``core.presets``)."""

    key = models.CharField(max_length=100, unique=True)
    installed_at = models.DateTimeField()

    def __str__(self) -> str:
        return self.key


class Team(models.Model):
    """A sales team: its members take handoffs in turn, its manager gets SLA escalations.

    With ``share_records`` a member sees the leads, handoffs and deals of every member of the
    team, not only their own.
    """

    name = models.CharField(_("name"), max_length=100, unique=True)
    manager = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="managed_teams",
        verbose_name=_("manager"),
    )
    share_records = models.BooleanField(_("members see each other's records"), default=False)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["name"]
        verbose_name = _("team")
        verbose_name_plural = _("teams")

    def __str__(self) -> str:
        return self.name


class TeamMember(models.Model):
    """A user in a team. ``is_away`` takes them out of round-robin until ``away_until`` (or until
    they come back, when it is empty); ``last_assigned_at`` orders the round-robin."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="members")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="team_memberships"
    )
    is_away = models.BooleanField(_("away"), default=False)
    away_until = models.DateTimeField(_("away until"), null=True, blank=True)
    last_assigned_at = models.DateTimeField(null=True, blank=True)
    joined_at = models.DateTimeField()

    class Meta:
        ordering = ["team", "id"]
        verbose_name = _("team member")
        verbose_name_plural = _("team members")
        constraints = [
            models.UniqueConstraint(fields=["team", "user"], name="team_member_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.team_id}:{self.user_id}"


class AccessKind(models.TextChoices):
    EXPORT = "export", _("Export")
    BULK_VIEW = "bulk_view", _("List view")


class DataAccessLog(models.Model):
    """Who exported or listed personal data: when, what, which fields and how many rows.
    Append-only; written by ``core.services.data_access_log``."""

    at = models.DateTimeField(db_index=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    api_key = models.ForeignKey(
        ApiKey, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    kind = models.CharField(_("kind"), max_length=10, choices=AccessKind.choices)
    resource = models.CharField(_("what"), max_length=100)
    fields = models.JSONField(_("fields"), default=list)
    rows = models.PositiveIntegerField(_("rows"))
    filters = models.JSONField(_("filters"), default=dict, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = _("data access")
        verbose_name_plural = _("data access log")

    def __str__(self) -> str:
        return f"{self.kind} {self.resource} {self.rows}"


class StaffProfile(models.Model):
    """A staff user's own chat identities, where internal notices (sales alerts, reminders,
    escalations, owner notices) may reach them personally: a Slack member id (mentioned in the
    team's Slack channel) and a LINE user id (pushed to by the team's LINE channel)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="staff_profile"
    )
    slack_member_id = models.CharField(
        _("Slack member ID"),
        max_length=32,
        blank=True,
        validators=[
            RegexValidator(r"^[UW][A-Z0-9]{2,30}$", _("A Slack member ID looks like U012AB3CD."))
        ],
    )
    line_user_id = models.CharField(
        _("LINE user ID"),
        max_length=33,
        blank=True,
        validators=[
            RegexValidator(
                r"^U[0-9a-f]{32}$", _("A LINE user ID is U followed by 32 hexadecimal digits.")
            )
        ],
    )
    updated_at = models.DateTimeField()

    class Meta:
        verbose_name = _("staff profile")
        verbose_name_plural = _("staff profiles")

    def __str__(self) -> str:
        return str(self.user_id)
