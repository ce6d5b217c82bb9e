"""The event stream: everything a contact or an anonymous visitor did.

Events are the single source for the timeline, scoring and analytics. They are written by
``services.py`` through one factory per type (``events.py``) and never updated afterwards, except
that stitching attaches a visitor's anonymous events to the contact it turned out to be, and a
merge re-points a contact's events.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class EventType(models.TextChoices):
    PAGE_VIEW = "page_view", _("Viewed a page")
    FORM_SUBMITTED = "form_submitted", _("Submitted a form")
    ASSET_DOWNLOADED = "asset_downloaded", _("Downloaded a document")
    WEBINAR_REGISTERED = "webinar_registered", _("Registered for a webinar")
    WEBINAR_ATTENDED = "webinar_attended", _("Attended a webinar")
    WEBINAR_NO_SHOW = "webinar_no_show", _("Missed a webinar")
    EVENT_VISITED = "event_visited", _("Visited a trade-show booth")
    EMAIL_SENT = "email_sent", _("Email sent")
    EMAIL_DELIVERED = "email_delivered", _("Email delivered")
    EMAIL_OPENED = "email_opened", _("Opened an email")
    EMAIL_CLICKED = "email_clicked", _("Clicked a link in an email")
    EMAIL_BOUNCED = "email_bounced", _("Email bounced")
    EMAIL_UNSUBSCRIBED = "email_unsubscribed", _("Unsubscribed")
    EMAIL_COMPLAINED = "email_complained", _("Marked an email as spam")
    CHAT_SENT = "chat_sent", _("Chat message sent")
    DEMO_REQUESTED = "demo_requested", _("Requested a demo")
    TRIAL_STARTED = "trial_started", _("Started a trial")
    INQUIRY = "inquiry", _("Sent an inquiry")
    QUOTE_REQUESTED = "quote_requested", _("Requested a quote")
    CART_ABANDONED = "cart_abandoned", _("Abandoned a cart")
    PURCHASE = "purchase", _("Purchased")
    COUPON_USED = "coupon_used", _("Used a coupon")
    REFERRAL = "referral", _("Referred someone")
    MEETING = "meeting", _("Meeting")
    CALL = "call", _("Call")
    NOTE = "note", _("Note")
    CONSENT_GRANTED = "consent_granted", _("Gave consent")
    CONSENT_WITHDRAWN = "consent_withdrawn", _("Withdrew consent")
    IMPORTED = "imported", _("Imported")
    CONTACT_CREATED = "contact_created", _("Contact created")
    CONTACT_UPDATED = "contact_updated", _("Contact updated")
    CONTACT_MERGED = "contact_merged", _("Contacts merged")
    SCORE_BAND_CHANGED = "score_band_changed", _("Score temperature changed")
    LIFECYCLE_CHANGED = "lifecycle_changed", _("Lifecycle stage changed")
    BANT_RECORDED = "bant_recorded", _("BANT recorded")
    SEGMENT_ENTERED = "segment_entered", _("Entered a segment")
    SEGMENT_LEFT = "segment_left", _("Left a segment")
    SEQUENCE_ENROLLED = "sequence_enrolled", _("Enrolled in a sequence")
    SEQUENCE_EXITED = "sequence_exited", _("Left a sequence")
    SALES_EMAIL = "sales_email", _("Sales email")
    HANDOFF_CREATED = "handoff_created", _("Handed off to sales")
    HANDOFF_ASSIGNED = "handoff_assigned", _("Handoff reassigned")
    HANDOFF_ACCEPTED = "handoff_accepted", _("Handoff accepted")
    HANDOFF_REJECTED = "handoff_rejected", _("Handoff rejected")
    DEAL_CREATED = "deal_created", _("Deal created")
    DEAL_STAGE_CHANGED = "deal_stage_changed", _("Deal stage changed")
    DEAL_WON = "deal_won", _("Deal won")
    DEAL_LOST = "deal_lost", _("Deal lost")
    REFERRED = "referred", _("Was referred")


class EventSource(models.TextChoices):
    API = "api", _("API")
    FORM = "form", _("Form")
    TRACKING = "tracking", _("Website tracking")
    IMPORT = "import", _("Import")
    EMAIL = "email", _("Email")
    UI = "ui", _("User")
    SYSTEM = "system", _("System")
    DEMO = "demo", _("Demo data")


class Visitor(models.Model):
    """An anonymous browser (first-party cookie id) and, once it identified itself, its contact."""

    id = models.CharField(primary_key=True, max_length=64)
    contact = models.ForeignKey(
        "contacts.Contact",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="visitors",
    )
    first_seen_at = models.DateTimeField()
    identified_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return self.id


class Event(models.Model):
    contact = models.ForeignKey(
        "contacts.Contact", null=True, blank=True, on_delete=models.CASCADE, related_name="events"
    )
    visitor_id = models.CharField(max_length=64, blank=True)
    type = models.CharField(max_length=40, choices=EventType.choices)
    occurred_at = models.DateTimeField()
    received_at = models.DateTimeField()
    source = models.CharField(max_length=20, choices=EventSource.choices)
    properties = models.JSONField(default=dict, blank=True)
    # A client-chosen key that makes a retried delivery of the same event a no-op.
    idempotency_key = models.CharField(max_length=100, null=True, blank=True, unique=True)

    class Meta:
        indexes = [
            # "events of a contact by time" (timeline, scoring)
            models.Index(fields=["contact", "occurred_at"], name="event_contact_time_idx"),
            # "events of a type in a period" (analytics)
            models.Index(fields=["type", "occurred_at"], name="event_type_time_idx"),
            # stitching: a visitor's anonymous events
            models.Index(
                fields=["visitor_id", "occurred_at"],
                name="event_visitor_time_idx",
                condition=~models.Q(visitor_id=""),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.type} @ {self.occurred_at:%Y-%m-%d %H:%M}"


class PendingReaction(models.Model):
    """After-commit work a transaction owes: which of its events' reactions have not run yet.

    Written in the transaction that stores the events (one row per transaction), so the work is
    as durable as the events. The queue only says "run it now"; when its item is lost, the
    catch-up tick finds the row once ``due_at`` passed. A row disappears when every reaction it
    names has run; a reaction that failed stays named and is retried with back-off.
    """

    created_at = models.DateTimeField()
    # When the catch-up tick may take it (a grace period for the queued run, then back-off).
    due_at = models.DateTimeField()
    # A runner holds the row until then (a crashed runner's claim expires).
    claimed_until = models.DateTimeField(null=True, blank=True)
    event_ids = models.JSONField(default=list)
    contact_ids = models.JSONField(default=list)
    # The names (``sokyaku.reactions``) still to run, in table order.
    reactions = models.JSONField(default=list)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)

    class Meta:
        indexes = [models.Index(fields=["due_at"], name="pending_reaction_due_idx")]

    def __str__(self) -> str:
        return f"reactions {', '.join(self.reactions)} for {len(self.event_ids)} events"
