"""Background work of lead capture: thin wrappers that take ids and call a service."""

from huey.contrib.djhuey import db_task

from sokyaku.capture.services import confirmation
from sokyaku.core import lanes


@db_task(retries=5, retry_delay=60, priority=lanes.HOT)
def confirmation_mail_send_task(submission_id: int) -> None:
    """Send a double opt-in mail (safe to run twice: the service sends once)."""
    confirmation.confirmation_mail_send(submission_id=submission_id)


@db_task(retries=5, retry_delay=60, priority=lanes.HOT)
def asset_mail_send_task(submission_id: int, asset_id: int) -> None:
    """Mail a download link (safe to run twice: the service sends once)."""
    from sokyaku.capture.services import assets

    assets.asset_mail_send(submission_id=submission_id, asset_id=asset_id)


@db_task(retries=5, retry_delay=60, priority=lanes.HOT)
def webinar_mail_send_task(registration_id: int) -> None:
    """Mail a webinar registration's confirmation with its .ics (safe to run twice)."""
    from sokyaku.capture.services import webinars

    webinars.registration_mail_send(registration_id=registration_id)
