"""Webinars: setting them up, registration through a form, the confirmation mail with its
calendar file, and attendance import.

- A form of kind ``webinar_registration`` (options: ``{"webinar": <id>}``) registers the person
  through ``registration_after_submit``: one registration per webinar and contact (registering
  again changes nothing), a ``webinar_registered`` event, and one confirmation mail with an
  .ics attachment queued in the outbox in the same transaction (a system mail,
  ``sys:webinar:<registration>``: one per registration). A full webinar refuses with
  ``ValidationError(MSG_FULL)``, which rolls the whole submission back (nothing stored) and
  shows the message on the form.
- ``attendance_import`` reads a Zoom or Teams report (``capture.attendance``): registrants in the
  file get ``webinar_attended`` with their minutes, registrants absent get ``webinar_no_show``,
  attendees who never registered are added as contacts and registrations. Event idempotency
  keys (``webinar:<id>:attended:<contact>``) make importing the same file twice change nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import URLValidator
from django.db import transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import gettext_noop

from sokyaku.activity import events as event_factories
from sokyaku.activity import services as activity_services
from sokyaku.activity.models import EventSource, EventType
from sokyaku.capture import attendance, calendar
from sokyaku.capture.kinds import AfterSubmit
from sokyaku.capture.models import Webinar, WebinarLocation, WebinarRegistration
from sokyaku.contacts import selectors as contact_selectors
from sokyaku.contacts import services as contact_services
from sokyaku.core import clock
from sokyaku.core.errors import SokyakuError, ValidationError
from sokyaku.messaging.models import SystemMail
from sokyaku.messaging.services.system_mail import TextAttachment, system_mail_enqueue

logger = logging.getLogger(__name__)

KIND = "webinar_registration"
MAX_CAPACITY = 1_000_000

MSG_REQUIRED = gettext_noop("This field is required.")
MSG_TOO_LONG = gettext_noop("This value is too long.")
MSG_INVALID = gettext_noop("Please correct the errors below.")
MSG_URL = gettext_noop("Enter an http(s) address.")
MSG_ENDS = gettext_noop("The end must be after the start.")
MSG_RANGE = gettext_noop("Enter a number in the allowed range.")
MSG_LOCATION = gettext_noop("Unknown location.")
MSG_WEBINAR = gettext_noop("Choose an existing webinar.")
MSG_FULL = gettext_noop(
    "We are sorry: this event is full and no more registrations can be accepted."
)
MSG_REGISTERED = gettext_noop(
    "Thank you for registering. We have sent you a confirmation email with a calendar file."
)
MSG_ALREADY = gettext_noop("You are already registered for this event. We look forward to it.")


# --- Marketer side ------------------------------------------------------------------------

_FIELDS = (
    "title", "description", "starts_at", "ends_at", "capacity", "location_kind", "join_url",
    "venue",
)  # fmt: skip


@dataclass
class WebinarInput:
    """What a marketer wants a webinar to be; ``None`` means "leave as it is"."""

    title: str | None = None
    description: str | None = None
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    capacity: int | None = None
    location_kind: str | None = None
    join_url: str | None = None
    venue: str | None = None


def _apply(webinar: Webinar, data: WebinarInput) -> None:
    errors: dict[str, str] = {}
    for name, limit in (("title", 200), ("description", 10_000), ("venue", 300)):
        value = getattr(data, name)
        if value is not None:
            setattr(webinar, name, value.strip())
            if len(getattr(webinar, name)) > limit:
                errors[name] = MSG_TOO_LONG
    if not webinar.title:
        errors["title"] = MSG_REQUIRED
    if data.starts_at is not None:
        webinar.starts_at = data.starts_at
    if data.ends_at is not None:
        webinar.ends_at = data.ends_at
    if webinar.starts_at is None:
        errors["starts_at"] = MSG_REQUIRED
    if webinar.ends_at is None:
        errors["ends_at"] = MSG_REQUIRED
    elif webinar.starts_at is not None and webinar.ends_at <= webinar.starts_at:
        errors["ends_at"] = MSG_ENDS
    if data.capacity is not None:
        if isinstance(data.capacity, bool) or not 0 <= data.capacity <= MAX_CAPACITY:
            errors["capacity"] = MSG_RANGE
        else:
            webinar.capacity = data.capacity
    if data.location_kind is not None:
        if data.location_kind not in WebinarLocation.values:
            errors["location_kind"] = MSG_LOCATION
        webinar.location_kind = data.location_kind
    if data.join_url is not None:
        webinar.join_url = data.join_url.strip()
        if webinar.join_url:
            try:
                URLValidator(schemes=["http", "https"])(webinar.join_url)
            except DjangoValidationError:
                errors["join_url"] = MSG_URL
    if errors:
        raise ValidationError(MSG_INVALID, field_errors=errors)


def webinar_create(*, data: WebinarInput, actor: User | None = None) -> Webinar:
    """Create a webinar. Raises ``ValidationError`` with field errors."""
    now = clock.now()
    webinar = Webinar(created_by=actor, created_at=now, updated_at=now)
    _apply(webinar, data)
    webinar.save()
    logger.info("capture.webinar_created", extra={"webinar": webinar.pk})
    return webinar


def webinar_update(*, webinar: Webinar, data: WebinarInput, actor: User | None = None) -> Webinar:
    """Change a webinar. Lowering the capacity below the registrations keeps them all."""
    _apply(webinar, data)
    webinar.updated_at = clock.now()
    webinar.save(update_fields=[*_FIELDS, "updated_at"])
    logger.info("capture.webinar_updated", extra={"webinar": webinar.pk})
    return webinar


# --- The form kind ------------------------------------------------------------------------


def webinar_options_clean(options: Mapping[str, Any]) -> dict[str, Any]:
    """``{"webinar": <id>}`` of an existing webinar. Raises ``ValidationError``."""
    try:
        webinar_id = int(options.get("webinar"))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ValidationError(MSG_WEBINAR, field_errors={"webinar": MSG_WEBINAR}) from None
    webinar = Webinar.objects.filter(pk=webinar_id).only("id", "title").first()
    if webinar is None:
        raise ValidationError(MSG_WEBINAR, field_errors={"webinar": MSG_WEBINAR})
    return {"webinar": webinar.pk, "webinar_title": webinar.title}


def _event(
    *, type: str, webinar: Webinar, contact_id: int, key: str, source: str, **extra: Any
) -> None:
    activity_services.event_ingest(
        event=event_factories.event_build(
            type=type,
            occurred_at=clock.now(),
            source=source,
            properties={"webinar": webinar.title, "webinar_id": webinar.pk, **extra},
            contact_id=contact_id,
            idempotency_key=f"webinar:{webinar.pk}:{key}:{contact_id}",
        )
    )


def registration_after_submit(context: AfterSubmit) -> Mapping[str, Any]:
    """The ``webinar_registration`` handler (inside the submission's transaction). Raises
    ``ValidationError(MSG_FULL)`` when the webinar is full: the submission rolls back."""
    webinar_id = int(context.form.kind_options.get("webinar") or 0)
    # Locked: two registrations for the last seat are decided one after the other.
    webinar = Webinar.objects.select_for_update().filter(pk=webinar_id).first()
    if webinar is None:
        logger.warning("capture.webinar_missing", extra={"form": context.form.pk})
        return {}
    with translation.override(context.form.language):
        # One level of merge is enough here: the form's contact is live, a registration may
        # still point at a contact merged into it.
        existing = (
            WebinarRegistration.objects.filter(webinar=webinar)
            .filter(Q(contact=context.contact) | Q(contact__merged_into=context.contact))
            .first()
        )
        if existing is not None:
            return {
                "message": translation.gettext(MSG_ALREADY),
                "webinar_registration_id": existing.pk,
            }
        if webinar.capacity and webinar.registrations.count() >= webinar.capacity:
            logger.info("capture.webinar_full", extra={"webinar": webinar.pk})
            raise ValidationError(MSG_FULL)
        registration = WebinarRegistration.objects.create(
            webinar=webinar,
            contact=context.contact,
            submission=context.submission,
            source="form",
            registered_at=context.occurred_at,
        )
        _event(
            type=EventType.WEBINAR_REGISTERED,
            webinar=webinar,
            contact_id=context.contact.pk,
            key="registered",
            source=EventSource.FORM,
            submission_id=context.submission.pk,
            starts_at=webinar.starts_at.isoformat(),
        )
        registration_mail_queue(registration=registration, language=context.form.language)
        return {
            "message": context.form.thank_you_message or translation.gettext(MSG_REGISTERED),
            "webinar_registration_id": registration.pk,
        }


def registration_mail_queue(*, registration: WebinarRegistration, language: str) -> bool:
    """Queue a registration's confirmation mail with its .ics in the caller's transaction, once.
    Returns whether a mail was newly queued (not without an address, nor a second time).
    Marks ``mail_sent_at`` (when the mail was handed to the outbox)."""
    contact, webinar = registration.contact, registration.webinar
    if registration.mail_sent_at or not contact.email:
        return False
    context = {
        "name": " ".join(n for n in (contact.family_name, contact.given_name) if n),
        "webinar": webinar,
        "starts_at": webinar.starts_at.astimezone(clock.TOKYO),
        "ends_at": webinar.ends_at.astimezone(clock.TOKYO),
        "is_venue": webinar.location_kind == WebinarLocation.VENUE,
    }
    with translation.override(language):
        subject = render_to_string("capture/webinars/mail_subject.txt", context)
        body = render_to_string("capture/webinars/mail_body.txt", context)
    invite = TextAttachment(
        filename="invite.ics",
        content_type="text/calendar",
        text=calendar.registration_ics(registration=registration).decode("utf-8"),
        params={"method": "PUBLISH"},
    )
    _message, created = system_mail_enqueue(
        kind=SystemMail.WEBINAR_CONFIRMATION,
        dedupe_key=f"sys:webinar:{registration.pk}",
        contact=contact,
        to_address=contact.email,
        subject=subject,
        text=body,
        attachments=[invite],
    )
    registration.mail_sent_at = clock.now()
    registration.save(update_fields=["mail_sent_at"])
    logger.info("capture.webinar_mail_queued", extra={"registration": registration.pk})
    return created


# --- Attendance -----------------------------------------------------------------------------


@dataclass
class AttendanceResult:
    encoding: str
    rows_read: int
    attended: int = 0
    no_shows: int = 0
    added: list[str] = field(default_factory=list)  # attendees who had not registered
    problems: list[attendance.RowProblem] = field(default_factory=list)


def _name_parts(name: str) -> tuple[str, str]:
    """Family name first, as Japanese names are written ("山田 太郎")."""
    parts = name.replace("\u3000", " ").split()
    if not parts:
        return "", ""
    return parts[0], " ".join(parts[1:])


def _attendee_contact(
    attendee: attendance.Attendee, actor: User | None, result: AttendanceResult
) -> int | None:
    """A new contact for an attendee nobody knew (``None``, reported, when that fails)."""
    family, given = _name_parts(attendee.name)
    try:
        upsert = contact_services.contact_upsert(
            data=contact_services.ContactInput(
                email=attendee.email, family_name=family or None, given_name=given or None
            ),
            source=EventSource.IMPORT,
            actor=actor,
            overwrite=False,
        )
    except SokyakuError as exc:
        result.problems.append(
            attendance.RowProblem(line=attendee.rows[0], message=exc.message, text=attendee.email)
        )
        return None
    return upsert.contact.pk


def attendance_import(
    *, webinar: Webinar, data: bytes, actor: User | None = None
) -> AttendanceResult:
    """Import a Zoom or Teams attendance report for ``webinar`` (see the module docstring).
    Raises ``ValidationError`` (field ``file``) when the file cannot be read; nothing is
    written then. Safe to run twice with the same file."""
    try:
        report = attendance.report_read(data)
    except attendance.ReportUnreadable as exc:
        raise ValidationError(exc.message, field_errors={"file": exc.message}) from exc
    result = AttendanceResult(
        encoding=report.encoding, rows_read=report.rows_read, problems=list(report.problems)
    )
    now = clock.now()
    with transaction.atomic():
        Webinar.objects.select_for_update().filter(pk=webinar.pk).first()
        by_email = contact_selectors.contact_ids_by_email(emails=list(report.attendees))
        rows = list(WebinarRegistration.objects.filter(webinar=webinar))
        # A registrant merged into another contact since is that contact now.
        live = contact_selectors.contact_live_ids(ids=[r.contact_id for r in rows])
        registrations = {live.get(r.contact_id, r.contact_id): r for r in rows}
        present: set[int] = set()
        for email, attendee in report.attendees.items():
            contact_id = by_email.get(email) or _attendee_contact(attendee, actor, result)
            if contact_id is None:
                continue
            registration = registrations.get(contact_id)
            if registration is None:
                registration = WebinarRegistration.objects.create(
                    webinar=webinar, contact_id=contact_id, source="import", registered_at=now
                )
                registrations[contact_id] = registration
                result.added.append(f"{attendee.name} <{email}>" if attendee.name else email)
            present.add(contact_id)
            minutes = attendee.minutes
            if registration.attended is not True or registration.minutes_attended != minutes:
                registration.attended = True
                registration.minutes_attended = minutes
                registration.save(update_fields=["attended", "minutes_attended"])
            _event(
                type=EventType.WEBINAR_ATTENDED,
                webinar=webinar,
                contact_id=contact_id,
                key="attended",
                source=EventSource.IMPORT,
                minutes=minutes,
            )
            result.attended += 1
        for contact_id, registration in registrations.items():
            if contact_id in present or registration.attended is True:
                continue
            if registration.attended is None:
                registration.attended = False
                registration.save(update_fields=["attended"])
            _event(
                type=EventType.WEBINAR_NO_SHOW,
                webinar=webinar,
                contact_id=contact_id,
                key="no_show",
                source=EventSource.IMPORT,
            )
            result.no_shows += 1
    logger.info(
        "capture.attendance_imported",
        extra={
            "webinar": webinar.pk,
            "attended": result.attended,
            "no_shows": result.no_shows,
            "added": len(result.added),
        },
    )
    return result
