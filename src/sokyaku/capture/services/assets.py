"""Gated assets: documents and trials placed behind an ``asset_download`` form.

A marketer creates an ``Asset`` (an uploaded file under ``MEDIA_ROOT/assets/`` or an external
address) and a form of kind ``asset_download`` whose options name it. After each submission the
kind's handler (``asset_after_submit``) puts a signed download link on the thank-you page and
queues the same link as a system mail in the outbox, in the submission's transaction (a
rolled-back submission sends nothing; one mail per submission and asset, keyed
``sys:asset:<submission>:<asset>``; see ``messaging.services.system_mail``).

The link carries the submission and the asset, signed with ``SECRET_KEY`` and stamped with the
time from ``core.clock``; it works for ``settings.ASSET_LINK_MAX_AGE`` (a ``timedelta``, default
7 days). Opening a valid link records one ``asset_downloaded`` event per submission (repeated
clicks do not add points twice); an expired or forged link records nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.core import signing
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.files.uploadedfile import UploadedFile
from django.core.validators import URLValidator
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext_noop

from sokyaku.activity import events as event_factories
from sokyaku.activity import services as activity_services
from sokyaku.activity.models import EventSource, EventType
from sokyaku.capture.kinds import AfterSubmit
from sokyaku.capture.models import Asset, AssetKind, Submission
from sokyaku.contacts.models import Contact
from sokyaku.core import clock
from sokyaku.core.errors import ValidationError
from sokyaku.messaging.models import SystemMail
from sokyaku.messaging.services.system_mail import system_mail_enqueue

logger = logging.getLogger(__name__)

KIND = "asset_download"
_SALT = "sokyaku.capture.asset"
MAX_FILE_BYTES = 200 * 1024 * 1024

MSG_REQUIRED = gettext_noop("This field is required.")
MSG_TOO_LONG = gettext_noop("This value is too long.")
MSG_SOURCE = gettext_noop("Upload a file or give an external address (one of the two).")
MSG_URL = gettext_noop("Enter an http(s) address.")
MSG_KIND = gettext_noop("Unknown asset kind.")
MSG_ASSET = gettext_noop("Choose an existing asset.")
MSG_FILE_TOO_BIG = gettext_noop("The file is too large (at most 200 MB).")
MSG_INVALID = gettext_noop("Please correct the errors below.")
MSG_THANKS = gettext_noop(
    "Thank you. Your download is ready below; we have also sent the link by email."
)
MSG_LINK_LABEL = gettext_noop("Download: %(title)s")


def link_max_age() -> timedelta:
    """How long a download link works (``settings.ASSET_LINK_MAX_AGE``, default 7 days)."""
    value = getattr(settings, "ASSET_LINK_MAX_AGE", None)
    return value if isinstance(value, timedelta) else timedelta(days=7)


# --- Marketer side ------------------------------------------------------------------------


@dataclass
class AssetInput:
    """What a marketer wants an asset to be; ``None`` means "leave as it is"."""

    title: str | None = None
    kind: str | None = None
    description: str | None = None
    url: str | None = None
    file: UploadedFile | None = None
    remove_file: bool = False


def _apply(asset: Asset, data: AssetInput) -> None:
    errors: dict[str, str] = {}
    if data.title is not None:
        asset.title = data.title.strip()
    if not asset.title:
        errors["title"] = MSG_REQUIRED
    elif len(asset.title) > 200:
        errors["title"] = MSG_TOO_LONG
    if data.kind is not None:
        if data.kind not in AssetKind.values:
            errors["kind"] = MSG_KIND
        asset.kind = data.kind
    if data.description is not None:
        asset.description = data.description.strip()
    if data.url is not None:
        asset.url = data.url.strip()
        if asset.url:
            try:
                URLValidator(schemes=["http", "https"])(asset.url)
            except DjangoValidationError:
                errors["url"] = MSG_URL
    if data.remove_file and not data.file:
        asset.file = None
    if data.file is not None:
        if data.file.size and data.file.size > MAX_FILE_BYTES:
            errors["file"] = MSG_FILE_TOO_BIG
        else:
            asset.file = data.file
    if bool(asset.file) == bool(asset.url):
        errors.setdefault("file", MSG_SOURCE)
    if errors:
        raise ValidationError(MSG_INVALID, field_errors=errors)


def asset_create(*, data: AssetInput, actor: User | None = None) -> Asset:
    """Create an asset (the uploaded file is stored under ``MEDIA_ROOT/assets/``). Raises
    ``ValidationError`` with field errors; nothing is stored then."""
    now = clock.now()
    asset = Asset(created_by=actor, created_at=now, updated_at=now)
    _apply(asset, data)
    asset.save()
    logger.info("capture.asset_created", extra={"asset": asset.pk})
    return asset


def asset_update(*, asset: Asset, data: AssetInput, actor: User | None = None) -> Asset:
    """Change an asset. Links already sent keep working and serve the new version."""
    _apply(asset, data)
    asset.updated_at = clock.now()
    asset.save(update_fields=["title", "kind", "description", "file", "url", "updated_at"])
    logger.info("capture.asset_updated", extra={"asset": asset.pk})
    return asset


# --- The form kind ------------------------------------------------------------------------


def asset_options_clean(options: Mapping[str, Any]) -> dict[str, Any]:
    """``{"asset": <id>}`` of an existing asset. Raises ``ValidationError``."""
    raw = options.get("asset")
    try:
        asset_id = int(raw)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ValidationError(MSG_ASSET, field_errors={"asset": MSG_ASSET}) from None
    asset = Asset.objects.filter(pk=asset_id).only("id", "title").first()
    if asset is None:
        raise ValidationError(MSG_ASSET, field_errors={"asset": MSG_ASSET})
    return {"asset": asset.pk, "asset_title": asset.title}


def download_token_issue(*, submission_id: int, asset_id: int) -> str:
    """A signed link token for one submission's asset, stamped with ``clock.now()``."""
    payload = f"{submission_id}.{asset_id}.{int(clock.now().timestamp())}"
    return signing.Signer(salt=_SALT).sign(payload)


def download_url(*, submission_id: int, asset_id: int) -> str:
    token = download_token_issue(submission_id=submission_id, asset_id=asset_id)
    return settings.SITE_URL + reverse("public:asset_download", kwargs={"token": token})


def asset_after_submit(context: AfterSubmit) -> Mapping[str, Any]:
    """The ``asset_download`` handler: a download link on the thank-you page, and the same link
    queued as a mail in this transaction (only when the person gave an address)."""
    asset_id = int(context.form.kind_options.get("asset") or 0)
    asset = Asset.objects.filter(pk=asset_id).first()
    if asset is None:
        # The asset was deleted after the form was set up: the person still gets thanked.
        logger.warning("capture.asset_missing", extra={"form": context.form.pk})
        return {}
    url = download_url(submission_id=context.submission.pk, asset_id=asset.pk)
    asset_mail_queue(
        submission=context.submission,
        contact=context.contact,
        asset=asset,
        url=url,
        language=context.form.language,
    )
    with translation.override(context.form.language):
        label = translation.gettext(MSG_LINK_LABEL) % {"title": asset.title}
        message = translation.gettext(MSG_THANKS)
    return {
        "message": context.form.thank_you_message or message,
        "links": [{"label": label, "url": url}],
        "asset_id": asset.pk,
    }


def asset_mail_queue(
    *, submission: Submission, contact: Contact | None, asset: Asset, url: str, language: str
) -> bool:
    """Queue the mail with a submission's download link ``url`` to the address typed into it,
    once per submission and asset, in the caller's transaction. Returns whether a mail was newly
    queued (not without an address, nor a second time)."""
    data = submission.data or {}
    address = str(data.get("email") or "").strip()
    if not address:
        return False
    context = {
        "name": " ".join(str(data[k]) for k in ("family_name", "given_name") if data.get(k)),
        "asset": asset,
        "url": url,
        "expires_at": clock.now() + link_max_age(),
    }
    with translation.override(language):
        subject = render_to_string("capture/assets/mail_subject.txt", context)
        body = render_to_string("capture/assets/mail_body.txt", context)
    _message, created = system_mail_enqueue(
        kind=SystemMail.ASSET_LINK,
        dedupe_key=f"sys:asset:{submission.pk}:{asset.pk}",
        contact=contact,
        to_address=address,
        subject=subject,
        text=body,
    )
    if created:
        logger.info(
            "capture.asset_mail_queued", extra={"submission": submission.pk, "asset": asset.pk}
        )
    return created


# --- The link -----------------------------------------------------------------------------

VALID, EXPIRED, INVALID, MISSING = "valid", "expired", "invalid", "missing"


@dataclass(frozen=True)
class Download:
    status: str  # VALID, EXPIRED, INVALID or MISSING (the uploaded file is gone)
    asset: Asset | None = None
    submission: Submission | None = None


def download_check(*, token: str) -> Download:
    """What a download link stands for, without recording anything."""
    try:
        payload = signing.Signer(salt=_SALT).unsign(token)
        submission_id, asset_id, stamp = (int(part) for part in payload.split("."))
        issued_at = datetime.fromtimestamp(stamp, tz=UTC)
    except (signing.BadSignature, ValueError, OverflowError, OSError):
        return Download(status=INVALID)
    submission = Submission.objects.filter(pk=submission_id).first()
    asset = Asset.objects.filter(pk=asset_id).first()
    if submission is None or asset is None:
        return Download(status=INVALID)
    if clock.now() - issued_at > link_max_age():
        return Download(status=EXPIRED, asset=asset, submission=submission)
    if asset.file and not asset.file.storage.exists(asset.file.name or ""):
        logger.error("capture.asset_file_missing", extra={"asset": asset.pk})
        return Download(status=MISSING, asset=asset, submission=submission)
    return Download(status=VALID, asset=asset, submission=submission)


def asset_download(*, token: str) -> Download:
    """Open a download link: when valid, record ``asset_downloaded`` for the submission's
    contact (once per submission and asset). Expired, forged or missing ones record nothing."""
    result = download_check(token=token)
    if result.status != VALID or result.asset is None or result.submission is None:
        logger.info("capture.asset_link_refused", extra={"status": result.status})
        return result
    asset, submission = result.asset, result.submission
    if submission.contact_id is not None:
        activity_services.event_ingest(
            event=event_factories.event_build(
                type=EventType.ASSET_DOWNLOADED,
                occurred_at=clock.now(),
                source=EventSource.FORM,
                properties={
                    "asset": asset.title,
                    "asset_id": asset.pk,
                    "asset_kind": asset.kind,
                    "submission_id": submission.pk,
                },
                contact_id=submission.contact_id,
                visitor_id=submission.visitor_id,
                idempotency_key=f"asset:{asset.pk}:download:{submission.pk}",
            )
        )
    logger.info("capture.asset_downloaded", extra={"asset": asset.pk, "submission": submission.pk})
    return result
