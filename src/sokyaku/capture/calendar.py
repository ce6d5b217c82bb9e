"""The calendar file (.ics, RFC 5545) attached to a webinar registration's confirmation mail.

One ``VEVENT`` per registration: its ``UID`` is stable (``webinar-<id>-registration-<id>@<host>``)
so a mail sent again updates the entry instead of adding a second one; start and end carry the
Asia/Tokyo zone (with its ``VTIMEZONE``); a ``VALARM`` reminds one hour before.
"""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlsplit

from django.conf import settings
from icalendar import Alarm, Calendar, Event, Timezone

from sokyaku.capture.models import WebinarLocation, WebinarRegistration
from sokyaku.core import clock


def registration_uid(*, registration: WebinarRegistration) -> str:
    host = urlsplit(settings.SITE_URL).hostname or "sokyaku"
    return f"webinar-{registration.webinar_id}-registration-{registration.pk}@{host}"


def registration_ics(*, registration: WebinarRegistration) -> bytes:
    """The .ics of one registration (UTF-8 bytes)."""
    webinar = registration.webinar
    calendar = Calendar()
    calendar.add("prodid", "-//sokyaku//webinar//JA")
    calendar.add("version", "2.0")
    calendar.add("method", "PUBLISH")
    calendar.add_component(Timezone.from_tzid("Asia/Tokyo", first_date=webinar.starts_at.date()))
    event = Event()
    event.add("uid", registration_uid(registration=registration))
    event.add("dtstamp", clock.now())
    event.add("dtstart", webinar.starts_at.astimezone(clock.TOKYO))
    event.add("dtend", webinar.ends_at.astimezone(clock.TOKYO))
    event.add("summary", webinar.title)
    if webinar.description:
        event.add("description", webinar.description)
    if webinar.join_url:
        event.add("url", webinar.join_url)
    location = (
        webinar.venue
        if webinar.location_kind == WebinarLocation.VENUE and webinar.venue
        else webinar.join_url or webinar.venue
    )
    if location:
        event.add("location", location)
    alarm = Alarm()
    alarm.add("action", "DISPLAY")
    alarm.add("description", webinar.title)
    alarm.add("trigger", timedelta(hours=-1))
    event.add_component(alarm)
    calendar.add_component(event)
    return calendar.to_ical()
