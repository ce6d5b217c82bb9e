"""Double opt-in: the confirmation mail and the link that completes the consent.

A double opt-in form records each ticked topic as *pending* and, in the same transaction,
``confirmation_mail_queue`` queues one mail in the outbox (a system mail keyed
``sys:optin:<submission>``: one per submission, whatever retries) with a signed link to
``/f/confirm/<token>``. Opening the link shows a page with a confirm button (mail scanners that
open every link cannot confirm on a person's behalf); pressing it appends a *granted* record per
pending one, each pointing at it with ``confirms``. The link expires after ``CONFIRM_MAX_AGE``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation

from sokyaku.capture import selectors, tokens
from sokyaku.capture.models import Submission
from sokyaku.consent import selectors as consent_selectors
from sokyaku.consent import services as consent_services
from sokyaku.consent.models import ConsentSource, ConsentStatus, LegalBasis
from sokyaku.contacts import identity
from sokyaku.core import clock
from sokyaku.messaging.models import SystemMail
from sokyaku.messaging.services.system_mail import system_mail_enqueue

logger = logging.getLogger(__name__)

CONFIRM_MAX_AGE = timedelta(days=7)

CONFIRMED, ALREADY, EXPIRED, INVALID = "confirmed", "already", "expired", "invalid"


def confirmation_url(*, submission: Submission) -> str:
    """The absolute confirmation link of a submission (``SITE_URL`` + path)."""
    token = tokens.confirmation_token_issue(submission_id=submission.pk)
    return settings.SITE_URL + reverse("public:confirm", kwargs={"token": token})


def _name(submission: Submission) -> str:
    data = submission.data or {}
    # Surname first, as Japanese names are written.
    return " ".join(str(data[k]) for k in ("family_name", "given_name") if data.get(k))


def _topic_labels(submission: Submission, ids: set[int]) -> list[str]:
    """What the person asked for, in the words of the form's checkboxes."""
    if not submission.contact_id:
        return []
    by_topic = {c.topic_id: c.label for c in submission.form.consents.all()}
    return [
        by_topic.get(r.topic_id or 0) or (r.topic.name if r.topic else "")
        for r in consent_selectors.consent_records(contact_id=submission.contact_id)
        if r.pk in ids
    ]


def confirmation_mail_queue(*, submission: Submission) -> bool:
    """Queue a submission's confirmation mail in the caller's transaction (the one that stores
    the submission and its pending records), once. Returns whether a mail was newly queued (not
    when already queued or confirmed, nothing is pending, or there is no address).

    Marks ``confirmation_sent_at`` (when the mail was handed to the outbox).
    """
    if submission.confirmation_sent_at or submission.confirmed_at:
        return False
    pending_ids = list((submission.outcome or {}).get("pending_consent_ids") or [])
    address = str((submission.data or {}).get("email") or "").strip()
    if not pending_ids or not address:
        return False
    form = submission.form
    labels = _topic_labels(submission, set(pending_ids))
    now = clock.now()
    context = {
        "name": _name(submission),
        "form": form,
        "topics": labels,
        "url": confirmation_url(submission=submission),
        "expires_at": now + CONFIRM_MAX_AGE,
    }
    with translation.override(form.language):
        subject = render_to_string("capture/mail/confirm_subject.txt", context).strip()
        body = render_to_string("capture/mail/confirm_body.txt", context)
    _message, created = system_mail_enqueue(
        kind=SystemMail.OPTIN_CONFIRMATION,
        dedupe_key=f"sys:optin:{submission.pk}",
        contact=submission.contact,
        to_address=address,
        subject=subject,
        text=body,
    )
    submission.confirmation_sent_at = now
    submission.save(update_fields=["confirmation_sent_at"])
    logger.info("capture.confirmation_queued", extra={"submission": submission.pk})
    return created


@dataclass(frozen=True)
class Confirmation:
    status: str  # CONFIRMED, ALREADY, EXPIRED or INVALID
    submission: Submission | None = None


def confirmation_check(*, token: str) -> Confirmation:
    """What a confirmation link stands for, without changing anything (the page before the
    button)."""
    try:
        read = tokens.confirmation_token_read(value=token, max_age=CONFIRM_MAX_AGE)
    except tokens.InvalidToken:
        return Confirmation(status=INVALID)
    submission = selectors.submission_get(id=read.submission_id)
    if submission is None or not (submission.outcome or {}).get("pending_consent_ids"):
        return Confirmation(status=INVALID)
    if submission.confirmed_at:
        return Confirmation(status=ALREADY, submission=submission)
    if read.expired:
        return Confirmation(status=EXPIRED, submission=submission)
    return Confirmation(status=CONFIRMED, submission=submission)


def confirmation_confirm(*, token: str, ip: str | None, user_agent: str) -> Confirmation:
    """Complete a double opt-in: append a granted record per pending one (``confirms`` = the
    pending record; source: the confirmation link; the same purpose-of-use version; this
    request's IP and user agent). Twice is harmless (``ALREADY``); an expired or forged link
    changes nothing (``EXPIRED`` / ``INVALID``)."""
    check = confirmation_check(token=token)
    if check.status != CONFIRMED or check.submission is None:
        return check
    with transaction.atomic():
        submission = Submission.objects.select_for_update().get(pk=check.submission.pk)
        if submission.confirmed_at:
            return Confirmation(status=ALREADY, submission=submission)
        ids = set((submission.outcome or {}).get("pending_consent_ids") or [])
        contact_id = submission.contact_id
        records = (
            [
                r
                for r in consent_selectors.consent_records(contact_id=contact_id)
                if r.pk in ids and r.status == ConsentStatus.PENDING
            ]
            if contact_id
            else []
        )
        now = clock.now()
        for record in records:
            consent_services.consent_record(
                contact_id=record.contact_id,
                topic=record.topic,
                status=ConsentStatus.GRANTED,
                legal_basis=LegalBasis.OPT_IN,
                evidence=consent_services.Evidence(
                    source=ConsentSource.CONFIRMATION,
                    source_detail=record.source_detail,
                    purpose_text=record.purpose_text,
                    ip=ip,
                    user_agent=user_agent,
                ),
                confirms=record,
                at=now,
            )
        submission.confirmed_at = now
        submission.save(update_fields=["confirmed_at"])
        if records and submission.contact is not None:
            # A confirmed opt-in is the person's own: an erased person may be mailed again.
            identity.hashed_suppression_lift(contact=submission.contact)
    logger.info("capture.confirmed", extra={"submission": submission.pk, "records": len(records)})
    return Confirmation(status=CONFIRMED, submission=submission)
