"""The submission pipeline: the one way a public form's data enters sokyaku.

``submission_process`` first checks what needs no writing: the render token (a form we
rendered, not expired), a retry of a submission already stored (answered with the same
thank-you, nothing stored), the honeypot (a bot gets a thank-you, nothing stored), the minimum
fill time, the per-IP rate limit (counted from stored submissions, so every process agrees) and
the answers themselves. Then, in ONE transaction:

1. the ``Submission`` row (its token is unique: a concurrent retry waits here, then is told it
   is a duplicate);
2. ``contacts.services.contact_upsert`` with ``overwrite=False`` (anonymous input fills blanks,
   never replaces), and a ``PendingChange`` for the values that differ from a known contact's;
3. the ``form_submitted`` event (idempotency key ``form:<token>``) and the form kind's event;
4. a consent record per ticked topic: opt-in, the exact purpose-of-use version shown, IP and
   user agent; *pending* for a double opt-in form, with its confirmation mail queued in the
   outbox (``confirmation.confirmation_mail_queue``; sent after commit);
5. the marketing touch (UTM, referrer, page) and visitor stitching (``sk_vid`` / ``_vid``);
6. the form kind's after-submit handler (``capture.kinds``).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.utils.translation import gettext_noop

from sokyaku.activity import events as event_factories
from sokyaku.activity import services as activity_services
from sokyaku.activity.models import EventSource, EventType
from sokyaku.capture import fields as catalogue
from sokyaku.capture import kinds, selectors, tokens
from sokyaku.capture.models import Form, Submission
from sokyaku.capture.services import confirmation
from sokyaku.consent import services as consent_services
from sokyaku.consent.models import ConsentSource, ConsentStatus, LegalBasis, PurposeText
from sokyaku.contacts import identity, pending, touches
from sokyaku.contacts import services as contact_services
from sokyaku.core import clock
from sokyaku.core.errors import TooManyRequests, ValidationError
from sokyaku.core.redaction import Redactor

logger = logging.getLogger(__name__)

# A rendered form stays good this long (a tab left open over a weekend still works).
TOKEN_MAX_AGE = timedelta(days=3)

CREATED, DUPLICATE, IGNORED = "created", "duplicate", "ignored"

MSG_EXPIRED = gettext_noop("This form has expired. Please send it again.")
MSG_TOO_FAST = gettext_noop(
    "That was faster than we can accept. Please check your answers and send the form again."
)
MSG_RATE = gettext_noop("Too many submissions from your network. Please try again later.")

# ContactInput names (as contact_upsert reports errors) → the form's input names.
_CONTACT_TO_INPUT = {
    i.contact_attr: i.name for inputs in catalogue.CONTACT_INPUTS.values() for i in inputs
}


@dataclass(frozen=True)
class Arrival:
    """How a submission reached us: what the web layer knows about the request."""

    ip: str | None = None
    user_agent: str = ""
    page_url: str = ""
    referrer: str = ""
    visitor_id: str = ""
    utm: Mapping[str, str] = field(default_factory=dict)
    # The referral code of the visitor's ``sk_ref`` cookie (set by a customer's referral link).
    ref: str = ""


@dataclass(frozen=True)
class ThankYou:
    """What the person sees after submitting. Empty ``message``: the standard thanks."""

    message: str = ""
    redirect_url: str = ""
    links: list[dict[str, str]] = field(default_factory=list)
    needs_confirmation: bool = False


@dataclass(frozen=True)
class SubmissionResult:
    status: str  # CREATED, DUPLICATE (a retry: nothing new stored) or IGNORED (a bot)
    thank_you: ThankYou
    submission: Submission | None = None
    contact_created: bool = False


def _thank_you(form: Form, outcome: Mapping[str, Any]) -> ThankYou:
    links = [
        {"label": str(link.get("label", "")), "url": str(link.get("url", ""))}
        for link in outcome.get("links") or []
        if isinstance(link, Mapping) and link.get("url")
    ]
    return ThankYou(
        message=str(outcome.get("message") or form.thank_you_message or ""),
        redirect_url=str(outcome.get("redirect_url") or form.redirect_url or ""),
        links=links,
        needs_confirmation=bool(outcome.get("pending_consent_ids")),
    )


def _rate_check(form: Form, ip: str | None) -> None:
    if not form.rate_limit or not ip:
        return
    now = clock.now()
    count, first = selectors.submissions_recent(form=form, ip=ip, since=now - selectors.RATE_WINDOW)
    if count >= form.rate_limit:
        free_at = (first or now) + selectors.RATE_WINDOW
        retry_after = max(1, math.ceil((free_at - now).total_seconds()))
        logger.info("capture.rate_limited", extra={"form": form.pk, "count": count})
        raise TooManyRequests(MSG_RATE, retry_after=retry_after)


def _shown_text(form: Form, token: tokens.RenderToken) -> PurposeText | None:
    """The purpose-of-use version the person saw (carried in the render token)."""
    if token.purpose_text_id is not None:
        text = selectors.purpose_text_get(id=token.purpose_text_id)
        if text is not None:
            return text
    return selectors.purpose_text_current(key=form.purpose_key)


def _input_errors(exc: ValidationError, form: Form) -> ValidationError:
    """contact_upsert's field names → the form's input names (what the person can fix)."""
    custom = {f.custom_field_key: f.key for f in form.fields.all() if f.custom_field_key}
    errors: dict[str, str] = {}
    for name in exc.field_errors:
        if name.startswith("custom_fields."):
            errors[custom.get(name.removeprefix("custom_fields."), "__all__")] = (
                catalogue.MSG_INVALID
            )
        else:
            errors[_CONTACT_TO_INPUT.get(name, "__all__")] = catalogue.MSG_INVALID
    return ValidationError(catalogue.MSG_INVALID_FORM, field_errors=errors)


def submission_process(
    *, form: Form, posted: Mapping[str, Sequence[str]], arrival: Arrival
) -> SubmissionResult:
    """Take one submission of a published ``form`` (see the module docstring).

    ``posted`` is every posted value by input name (a ``QueryDict``'s lists). Raises
    ``ValidationError`` (an expired or forged form, too fast, or answers with field errors keyed
    by input name; nothing is stored) and ``TooManyRequests`` (the form's per-IP limit; its
    ``retry_after`` says when). A double opt-in form's confirmation mail is queued after commit.
    """
    raw_token = (posted.get(catalogue.TOKEN) or [""])[-1]
    try:
        token = tokens.render_token_read(value=raw_token, form_id=form.pk, max_age=TOKEN_MAX_AGE)
    except tokens.InvalidToken as exc:
        raise ValidationError(MSG_EXPIRED) from exc

    stored = selectors.submission_by_token(token=token.submission_token)
    if stored is not None:
        return SubmissionResult(
            status=DUPLICATE, thank_you=_thank_you(form, stored.outcome), submission=stored
        )
    if (posted.get(catalogue.HONEYPOT) or [""])[-1].strip():
        logger.info("capture.honeypot", extra={"form": form.pk})
        return SubmissionResult(status=IGNORED, thank_you=_thank_you(form, {}))
    if clock.now() - token.issued_at < timedelta(seconds=form.min_fill_seconds):
        logger.info("capture.too_fast", extra={"form": form.pk})
        raise ValidationError(MSG_TOO_FAST)
    _rate_check(form, arrival.ip)

    form_fields = list(form.fields.all())
    answers = catalogue.answers_clean(
        fields=form_fields,
        consents=list(form.consents.all()),
        require_agreement=form.require_agreement,
        raw=posted,
    )
    answers.contact.tags = list(form.tags) or None
    text = _shown_text(form, token)
    try:
        result = _store(form, token, answers, text, arrival)
    except IntegrityError:
        # The same submission, sent twice at once: the other request stored it.
        stored = selectors.submission_by_token(token=token.submission_token)
        if stored is None:
            raise
        return SubmissionResult(
            status=DUPLICATE, thank_you=_thank_you(form, stored.outcome), submission=stored
        )
    logger.info(
        "capture.submitted",
        extra={
            "form": form.pk,
            "submission": result.submission.pk if result.submission else None,
            "contact_created": result.contact_created,
        },
    )
    return result


def _store(
    form: Form,
    token: tokens.RenderToken,
    answers: catalogue.Answers,
    text: PurposeText | None,
    arrival: Arrival,
) -> SubmissionResult:
    now = clock.now()
    source = f"form:{form.slug}"
    utm = {k: v for k, v in arrival.utm.items() if k in catalogue.UTM_KEYS and v}
    with transaction.atomic():
        submission = Submission.objects.create(
            form=form,
            token=token.submission_token,
            ip=arrival.ip or None,
            user_agent=arrival.user_agent[:500],
            submitted_at=now,
            data=answers.values,
            utm=utm,
            page_url=arrival.page_url[:1000],
            referrer=arrival.referrer[:1000],
            visitor_id=arrival.visitor_id,
            purpose_text=text,
        )
        try:
            upsert = contact_services.contact_upsert(
                data=answers.contact, source=EventSource.FORM, overwrite=False
            )
        except ValidationError as exc:
            raise _input_errors(exc, form) from exc
        contact = upsert.contact
        outcome: dict[str, Any] = {"contact_created": upsert.created}
        if not upsert.created:
            change = pending.pending_change_propose(
                contact=contact, data=answers.contact, source=source, at=now
            )
            if change is not None:
                outcome["pending_change_id"] = change.pk

        properties: dict[str, Any] = {
            "form": form.slug,
            "form_name": form.name,
            "kind": form.kind,
            "submission_id": submission.pk,
            "fields": answers.values,
            "url": submission.page_url,
            "referrer": submission.referrer,
            **utm,
            **({"ref": arrival.ref} if arrival.ref else {}),
        }
        activity_services.event_ingest(
            event=event_factories.event_build(
                type=EventType.FORM_SUBMITTED,
                occurred_at=now,
                source=EventSource.FORM,
                properties=properties,
                contact_id=contact.pk,
                visitor_id=arrival.visitor_id,
                idempotency_key=f"form:{token.submission_token}",
            )
        )
        kind = kinds.form_kind_get(form.kind)
        if kind is not None and kind.event_type:
            activity_services.event_ingest(
                event=event_factories.event_build(
                    type=kind.event_type,
                    occurred_at=now,
                    source=EventSource.FORM,
                    # The kind's options (which asset, which webinar) describe what happened.
                    properties={
                        **form.kind_options,
                        "form": form.slug,
                        "submission_id": submission.pk,
                    },
                    contact_id=contact.pk,
                    visitor_id=arrival.visitor_id,
                    idempotency_key=f"form:{token.submission_token}:kind",
                )
            )

        evidence = consent_services.Evidence(
            source=ConsentSource.FORM,
            source_detail=source,
            purpose_text=text,
            ip=arrival.ip,
            user_agent=arrival.user_agent,
        )
        status = ConsentStatus.PENDING if form.double_opt_in else ConsentStatus.GRANTED
        record_ids = [
            consent_services.consent_record(
                contact_id=contact.pk,
                topic=consent.topic,
                status=status,
                legal_basis=LegalBasis.OPT_IN,
                evidence=evidence,
                at=now,
            ).pk
            for consent in answers.consents
        ]
        outcome["pending_consent_ids" if form.double_opt_in else "consent_ids"] = record_ids
        if record_ids and not form.double_opt_in:
            # The person's own opt-in: an erased person who came back may be mailed again.
            identity.hashed_suppression_lift(contact=contact)

        touches.contact_touch_record(
            contact_id=contact.pk,
            touch={
                "source": utm.get("utm_source", ""),
                "medium": utm.get("utm_medium", ""),
                "campaign": utm.get("utm_campaign", ""),
                "term": utm.get("utm_term", ""),
                "content": utm.get("utm_content", ""),
                "referrer": submission.referrer,
                "url": submission.page_url,
            },
            at=now,
        )
        if arrival.visitor_id:
            touches.visitor_stitch(visitor_id=arrival.visitor_id, contact_id=contact.pk)

        if kind is not None and kind.after_submit is not None:
            extra = kind.after_submit(
                kinds.AfterSubmit(
                    form=form,
                    submission=submission,
                    contact=contact,
                    contact_created=upsert.created,
                    values=answers.values,
                    occurred_at=now,
                    visitor_id=arrival.visitor_id,
                )
            )
            outcome.update(extra or {})

        submission.contact = contact
        submission.outcome = outcome
        submission.save(update_fields=["contact", "outcome"])
        if form.double_opt_in and record_ids:
            confirmation.confirmation_mail_queue(submission=submission)
    return SubmissionResult(
        status=CREATED,
        thank_you=_thank_you(form, outcome),
        submission=submission,
        contact_created=upsert.created,
    )


def submissions_erase(*, contact_ids: Sequence[int], redactor: Redactor) -> int:
    """Blank what a person sent in their submissions (a data-subject erasure): the answers, IP
    address, user agent and visitor id go; the page, referrer and UTM parameters stay where they
    hold nothing of the person, and so does the outcome. The rows stay with their (anonymous)
    contact, so counts per form stay right. Idempotent; returns how many rows changed."""
    changed: list[Submission] = []
    rows = Submission.objects.filter(contact_id__in=contact_ids).only(
        "pk", "data", "utm", "ip", "user_agent", "page_url", "referrer", "visitor_id", "outcome"
    )
    for row in rows:
        new = {
            "data": {},
            "utm": redactor.json(row.utm or {}),
            "ip": None,
            "user_agent": "",
            "page_url": redactor.url(row.page_url),
            "referrer": redactor.url(row.referrer),
            "visitor_id": "",
            "outcome": redactor.json(row.outcome or {}),
        }
        if any(getattr(row, name) != value for name, value in new.items()):
            for name, value in new.items():
                setattr(row, name, value)
            changed.append(row)
    Submission.objects.bulk_update(changed, list(_ERASED_COLUMNS), batch_size=500)
    return len(changed)


_ERASED_COLUMNS = (
    "data", "utm", "ip", "user_agent", "page_url", "referrer", "visitor_id", "outcome"
)  # fmt: skip


def submission_bulk_record(*, submissions: Sequence[Submission]) -> list[Submission]:
    """Store submissions that happened elsewhere, as they are (an import of a form's history, the
    demo's past): no contact, event or consent is written here, the caller brings those. Each
    needs its form, contact, unique token and time. Returns them with their ids."""
    stored = Submission.objects.bulk_create(list(submissions))
    logger.info("capture.submissions_recorded", extra={"count": len(stored)})
    return stored
