"""The import workflow: upload → mapping and options → run (in the worker) → result.

- ``import_create`` reads the uploaded file (refusing what cannot be read, storing nothing),
  keeps it with the job and proposes a mapping from its header.
- ``import_configure`` checks and keeps the mapping and the options (source, legal basis, tags,
  channel, campaign, the update policy per field), creating the custom fields the mapping asks
  for; ``import_preview`` shows what the first rows would become and ``import_plan`` what the
  whole file would change (a dry run: every row is imported and rolled back).
- ``import_start`` queues the job; the worker's ``contacts.tasks.import_run_task`` calls
  ``import_run``, which takes the rows in chunks of ``CHUNK``, one transaction per chunk:
  contacts through ``contacts.bulk.contact_bulk_upsert`` (the set-based twin of
  ``contact_upsert``: same normalisation, dedupe and update rules), a consent record per
  contact and active topic for the legal basis, the campaign touch, the row errors, and the
  job's progress and counts. A chunk commits with the progress that says it is done, so a run
  that stops resumes after the last committed chunk, and two runs of the same job never take
  the same chunk: running a job twice is safe.

A row never makes a known contact worse: a stored value is replaced only where the field's
policy says ``overwrite`` (``fill``, the default, only fills empty fields; ``keep`` never
touches them), kana readings are stored as forms store them, and a company written another
way (ｻｸﾗﾉｳﾞｧﾃﾞｻﾞｲﾝ株式会社) is the company the person's email domain belongs to.

Re-importing a file changes nothing: rows update contacts only where a value differs, tags are
only added, a note is added once, a legal basis is recorded once per contact, topic, basis and
source, and an import never lifts an opt-out.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import PurePath
from typing import Any

from django.contrib.auth.models import User
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils.translation import gettext

from sokyaku.activity import events as event_factories
from sokyaku.activity import listeners
from sokyaku.activity import services as activity_services
from sokyaku.activity.models import EventSource, EventType
from sokyaku.campaigns import selectors as campaign_selectors
from sokyaku.consent import selectors as consent_selectors
from sokyaku.consent import services as consent_services
from sokyaku.consent.models import (
    ConsentRecord,
    ConsentSource,
    ConsentStatus,
    ConsentTopic,
    LegalBasis,
)
from sokyaku.contacts import bulk, normalize, touches
from sokyaku.contacts import selectors as contact_selectors
from sokyaku.contacts import services as contact_services
from sokyaku.contacts.imports import reader
from sokyaku.contacts.imports.mapping import (
    CUSTOM_NEW,
    CUSTOM_PREFIX,
    FIELDS,
    RowInput,
    mapping_check,
    mapping_infer,
    name_split,
    policies_clean,
    policy_targets,
)
from sokyaku.contacts.imports.mapping import row_input as mapping_row_input
from sokyaku.contacts.models import (
    Company,
    Contact,
    FieldDefinition,
    ImportJob,
    ImportRowError,
)
from sokyaku.core import clock
from sokyaku.core import selectors as core_selectors
from sokyaku.core.errors import ValidationError

logger = logging.getLogger(__name__)

CHUNK = 500
PREVIEW_ROWS = 5
SWEEP_AFTER = timedelta(minutes=5)
_SOURCE_MAX = 200
_TAG_MAX = 60


@dataclass(frozen=True)
class ImportOptions:
    """What applies to every row of the file."""

    source: str = ""  # where the people were met: "展示会 X 2026" (the consent's source detail)
    legal_basis: str = ""  # a consent.LegalBasis, or "" to record none
    tags: Sequence[str] = ()
    channel_id: int | None = None  # first-touch channel of contacts that have none
    campaign_id: int | None = None  # a touch with this campaign's utm_campaign
    # Import field → "fill" | "overwrite" | "keep" (``mapping.policies_clean``); unnamed: fill.
    policies: Mapping[str, str] = field(default_factory=dict)


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def job_table(job: ImportJob, *, limit: int | None = None) -> reader.Table:
    """The job's file read again (the first ``limit`` rows only, when given)."""
    with job.file.open("rb") as handle:
        data = handle.read()
    return reader.read_table(data, filename=job.filename, limit=limit)


def import_create(*, data: bytes, filename: str, user: User | None) -> ImportJob:
    """Keep an uploaded file as a new import job, with a mapping proposed from its header.

    Raises ``reader.FileUnreadable`` (a ``ValidationError``) when the file is not a CSV or XLSX
    that can be read; nothing is stored then.
    """
    name = PurePath(filename.replace("\\", "/")).name[:255] or "contacts.csv"
    table = reader.read_table(data, filename=name)
    definitions = list(FieldDefinition.objects.all())
    digest = _sha256(data)
    job = ImportJob(
        created_by=user,
        created_at=clock.now(),
        filename=name,
        file_sha256=digest,
        file_format=table.file_format,
        encoding=table.encoding,
        mapping=mapping_infer(table.headers, definitions=definitions),
        total_rows=len(table.rows),
    )
    with transaction.atomic():
        job.file.save(f"{digest[:20]}.{table.file_format}", ContentFile(data), save=False)
        job.save()
    logger.info(
        "import.created",
        extra={"job": job.pk, "rows": job.total_rows, "file_format": job.file_format},
    )
    return job


def _options_clean(options: ImportOptions) -> dict[str, Any]:
    errors: dict[str, str] = {}
    source = options.source.strip()
    if len(source) > _SOURCE_MAX:
        errors["source"] = f"At most {_SOURCE_MAX} characters."
    if options.legal_basis and options.legal_basis not in LegalBasis.values:
        errors["legal_basis"] = "Unknown legal basis."
    tags = list(dict.fromkeys(t.strip() for t in options.tags if t.strip()))
    if any(len(t) > _TAG_MAX for t in tags):
        errors["tags"] = f"At most {_TAG_MAX} characters."
    channel = campaign = None
    if options.campaign_id is not None:
        campaign = (
            campaign_selectors.campaign_list(user=None)
            .select_related("channel")
            .filter(pk=options.campaign_id)
            .first()
        )
        if campaign is None:
            errors["campaign"] = "Unknown campaign."
    if options.channel_id is not None:
        channel = campaign_selectors.channel_list(user=None).filter(pk=options.channel_id).first()
        if channel is None:
            errors["channel"] = "Unknown channel."
    if errors:
        raise ValidationError(gettext("Please correct the options."), field_errors=errors)
    if channel is None and campaign is not None:
        channel = campaign.channel
    return {
        "source": source,
        "legal_basis": options.legal_basis,
        "tags": tags,
        "channel": channel,
        "campaign": campaign,
    }


def import_configure(
    *, job: ImportJob, mapping: Mapping[str, str], options: ImportOptions
) -> ImportJob:
    """Keep the mapping (``{column: field}``) and options of a job that has not started.

    Raises ``ValidationError`` for a job already started, a column the file does not have, an
    unknown field, no identity column (see ``mapping.mapping_check``) or bad options.
    """
    if job.status != ImportJob.Status.UPLOADED:
        raise ValidationError(gettext("This import has already started."))
    table = job_table(job, limit=0)
    checked = mapping_check(
        mapping, headers=table.headers, definitions=FieldDefinition.objects.all()
    )
    values = _options_clean(options)
    policies = policies_clean(options.policies, mapping=checked)
    with transaction.atomic():
        for column, target in checked.items():
            if target == CUSTOM_NEW:
                definition = contact_services.field_definition_create(label=column)
                checked[column] = f"{CUSTOM_PREFIX}{definition.key}"
                if column in options.policies:
                    policies[checked[column]] = options.policies[column]
        for name, value in {"mapping": checked, "policies": policies, **values}.items():
            setattr(job, name, value)
        job.save(
            update_fields=[
                "mapping",
                "policies",
                "source",
                "legal_basis",
                "tags",
                "channel",
                "campaign",
            ]
        )
    return job


def import_start(*, job: ImportJob, in_worker: bool = True) -> ImportJob:
    """Queue a configured job. With ``in_worker`` (the UI), the worker runs it once this
    transaction commits; the CLI passes ``False`` and calls ``import_run`` itself.

    Raises ``ValidationError`` when the job was started already.
    """
    with transaction.atomic():
        updated = ImportJob.objects.filter(pk=job.pk, status=ImportJob.Status.UPLOADED).update(
            status=ImportJob.Status.QUEUED
        )
        if not updated:
            raise ValidationError(gettext("This import has already started."))
        job.status = ImportJob.Status.QUEUED
        if in_worker:
            from sokyaku.contacts.tasks import import_run_task

            job_id = job.pk
            transaction.on_commit(lambda: import_run_task(job_id))
    return job


# --- running --------------------------------------------------------------------------------


@dataclass
class _Counts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: int = 0


@dataclass
class _Run:
    """What every chunk of one run needs, read once."""

    job: ImportJob
    headers: list[str]
    mapping: dict[str, str]
    topics: list[ConsentTopic]
    owners: dict[str, int] = field(default_factory=dict)


def _owner_keys(users: Iterable[User]) -> dict[str, int]:
    """Users by every way a file may name them: username, email, name (surname first)."""
    keys: dict[str, int] = {}
    ambiguous: set[str] = set()
    for user in users:
        names = {
            user.get_username(),
            user.email,
            f"{user.last_name}{user.first_name}",
            f"{user.last_name} {user.first_name}",
        }
        for name in names:
            key = normalize.search_key(name)
            if not key:
                continue
            if key in keys and keys[key] != user.pk:
                ambiguous.add(key)
            keys[key] = user.pk
    return {k: v for k, v in keys.items() if k not in ambiguous}


def import_unfinished_ids(*, older_than: timedelta = SWEEP_AFTER) -> list[int]:
    """Jobs queued or running for longer than ``older_than`` (the worker's sweep runs them
    again; a run that is still going on keeps its chunks, see ``import_run``)."""
    since = clock.now() - older_than
    return list(
        ImportJob.objects.filter(
            status__in=(ImportJob.Status.QUEUED, ImportJob.Status.RUNNING), created_at__lt=since
        )
        .order_by("created_at")
        .values_list("pk", flat=True)
    )


def _fail(job: ImportJob, message: str) -> ImportJob:
    ImportJob.objects.filter(pk=job.pk).update(
        status=ImportJob.Status.FAILED, message=message[:2000], finished_at=clock.now()
    )
    job.refresh_from_db()
    logger.warning("import.failed", extra={"job": job.pk, "reason": message})
    return job


def import_run(*, job_id: int) -> ImportJob | None:
    """Run a queued job to its end (see the module docstring); safe to call twice.

    A job that is done, failed or not started yet is left as it is. A file that cannot be read
    or a mapping that no longer fits (a custom field was deleted) fails the job with a message.
    Returns the job as it ended, ``None`` for an unknown id.
    """
    job = ImportJob.objects.filter(pk=job_id).first()
    if job is None or job.status not in (ImportJob.Status.QUEUED, ImportJob.Status.RUNNING):
        return job
    try:
        table = job_table(job)
        mapping = mapping_check(
            job.mapping, headers=table.headers, definitions=FieldDefinition.objects.all()
        )
    except ValidationError as exc:
        return _fail(job, exc.message)
    except OSError:
        logger.exception("import.file_missing", extra={"job": job.pk})
        return _fail(job, gettext("The uploaded file is no longer there."))
    now = clock.now()
    ImportJob.objects.filter(pk=job.pk, status=ImportJob.Status.QUEUED).update(
        status=ImportJob.Status.RUNNING, started_at=now
    )
    ImportJob.objects.filter(pk=job.pk).update(total_rows=len(table.rows))
    job.refresh_from_db()
    run = _Run(
        job=job,
        headers=table.headers,
        mapping=mapping,
        topics=list(ConsentTopic.objects.filter(is_active=True).order_by("key"))
        if job.legal_basis
        else [],
    )
    if "owner" in mapping.values():
        run.owners = _owner_keys(core_selectors.user_list(active_only=False))
    rows = table.rows
    done = job.processed_rows
    try:
        while done < len(rows):
            chunk = rows[done : done + CHUNK]
            with transaction.atomic():
                locked = ImportJob.objects.select_for_update().get(pk=job.pk)
                if locked.status != ImportJob.Status.RUNNING or locked.processed_rows != done:
                    # Another run of this job took this chunk (or the job ended): leave it.
                    return locked
                counts = _chunk_import(run, chunk)
                locked.processed_rows = done + len(chunk)
                locked.created_count += counts.created
                locked.updated_count += counts.updated
                locked.unchanged_count += counts.unchanged
                locked.error_count += counts.errors
                locked.save(
                    update_fields=[
                        "processed_rows",
                        "created_count",
                        "updated_count",
                        "unchanged_count",
                        "error_count",
                    ]
                )
            done += len(chunk)
    except Exception:
        logger.exception("import.crashed", extra={"job": job.pk, "row": done})
        return _fail(
            job,
            gettext("The import stopped at row %(row)d because of an internal error.")
            % {"row": rows[done].number if done < len(rows) else done},
        )
    ImportJob.objects.filter(pk=job.pk, status=ImportJob.Status.RUNNING).update(
        status=ImportJob.Status.DONE, finished_at=clock.now()
    )
    job.refresh_from_db()
    logger.info(
        "import.done",
        extra={
            "job": job.pk,
            "new": job.created_count,
            "updated": job.updated_count,
            "unchanged": job.unchanged_count,
            "errors": job.error_count,
        },
    )
    return job


def _inputs(
    run: _Run, chunk: Sequence[reader.Row], *, tags: Sequence[str] | None = None
) -> list[RowInput]:
    """Each row as contact input (with the job's tags, or ``tags``); owners resolved, unspaced
    names split as stored ones are."""
    tags = run.job.tags if tags is None else tags
    inputs = [
        mapping_row_input(row.cells, headers=run.headers, mapping=run.mapping, tags=tags)
        for row in chunk
    ]
    for item in inputs:
        if item.data is not None and item.owner:
            owner_id = run.owners.get(normalize.search_key(item.owner))
            if owner_id is None:
                item.errors = {"owner": "Unknown user."}
                item.data = None
            else:
                item.data.owner_id = owner_id
    unsplit = [i for i in inputs if i.data is not None and (i.unsplit_name or i.unsplit_kana)]
    if unsplit:
        keys = {normalize.name_key(i.unsplit_name) for i in unsplit if i.unsplit_name}
        keys |= {
            normalize.name_key(i.data.family_name or "", i.data.given_name or "")
            for i in unsplit
            if i.data is not None
        }
        stored: dict[str, list[Contact]] = {}
        for contact in Contact.objects.filter(
            merged_into__isnull=True, name_key__in=sorted(k for k in keys if k)
        ).only("name_key", "family_name", "given_name", "family_name_kana", "given_name_kana"):
            stored.setdefault(contact.name_key, []).append(contact)
        for item in unsplit:
            data = item.data
            assert data is not None
            if item.unsplit_name:
                namesakes = stored.get(normalize.name_key(item.unsplit_name), [])
                data.family_name, given = name_split(item.unsplit_name, stored=namesakes)
                data.given_name = given or None
            if item.unsplit_kana:
                namesakes = stored.get(
                    normalize.name_key(data.family_name or "", data.given_name or ""), []
                )
                data.family_name_kana, given = name_split(
                    item.unsplit_kana, stored=namesakes, kana=True
                )
                data.given_name_kana = given or None
    return inputs


def _chunk_import(run: _Run, chunk: Sequence[reader.Row]) -> _Counts:
    """Import one chunk (inside the caller's transaction); returns its counts."""
    job = run.job
    inputs = _inputs(run, chunk)
    valid = [(row, item) for row, item in zip(chunk, inputs, strict=True) if item.data]
    results = bulk.contact_bulk_upsert(
        rows=[item.data for _row, item in valid if item.data is not None],
        source=EventSource.IMPORT,
        first_touch_channel_id=job.channel_id,
        policies=job.policies or {},
    )
    outcome = {row.number: result for (row, _item), result in zip(valid, results, strict=True)}
    counts = _Counts()
    errors: list[ImportRowError] = []
    contacts: dict[int, Contact] = {}
    for row, item in zip(chunk, inputs, strict=True):
        result = outcome.get(row.number)
        problems = item.errors or (result.errors if result is not None else {})
        if problems or result is None or result.contact is None:
            counts.errors += 1
            errors.append(
                ImportRowError(
                    job=job,
                    row_number=row.number,
                    values=dict(zip(run.headers, row.cells, strict=True)),
                    errors=problems or {"row": "This row could not be imported."},
                )
            )
            continue
        contacts.setdefault(result.contact.pk, result.contact)
        if result.created:
            counts.created += 1
        elif result.changed:
            counts.updated += 1
        else:
            counts.unchanged += 1
    ImportRowError.objects.bulk_create(errors)
    notes = {
        result.contact.pk: item.note
        for row, item in zip(chunk, inputs, strict=True)
        if item.note
        and (result := outcome.get(row.number)) is not None
        and result.contact is not None
        and result.contact.pk is not None
    }
    if notes:
        _notes_add(job, notes)
    if job.legal_basis and run.topics and contacts:
        _consent_record(run, list(contacts))
    if job.campaign_id and contacts:
        _campaign_touch(job, list(contacts.values()))
    return counts


def _notes_add(job: ImportJob, notes: Mapping[int, str]) -> None:
    """A timeline note per contact with the row's note columns; the same note is added once
    however often the file is imported (its idempotency key is the contact and the text)."""
    author = (job.source or job.filename)[:_SOURCE_MAX]
    at = clock.now()
    activity_services.event_ingest_batch(
        events=[
            event_factories.event_build(
                type=EventType.NOTE,
                occurred_at=at,
                source=EventSource.IMPORT,
                properties={"text": text, "author": author},
                contact_id=pk,
                idempotency_key=f"import-note:{pk}:{_sha256(text.encode())[:32]}",
            )
            for pk, text in notes.items()
        ]
    )


def _consent_wanted(
    history: Sequence[ConsentRecord], topic: ConsentTopic, *, basis: str, detail: str
) -> bool:
    """Whether the legal basis of this import should be appended for one topic.

    Not when the same basis from the same source is already recorded (a re-import), when the
    person's last word on the topic is an opt-out (an import never lifts a "no"), or when they
    opted in themselves and this basis is a weaker one.
    """
    last: ConsentRecord | None = None
    for record in history:  # oldest first
        if record.topic_id not in (None, topic.pk):
            continue
        if (
            record.topic_id == topic.pk
            and record.status == ConsentStatus.GRANTED
            and record.legal_basis == basis
            and record.source == ConsentSource.IMPORT
            and record.source_detail == detail
        ):
            return False
        if record.status != ConsentStatus.PENDING:
            last = record
    if last is None:
        return True
    if last.status == ConsentStatus.WITHDRAWN:
        return False
    return not (last.legal_basis == LegalBasis.OPT_IN and basis != LegalBasis.OPT_IN)


def consent_source_detail(job: ImportJob) -> str:
    """The source detail a job's consent records carry: its source, else the file name."""
    return (job.source or job.filename)[:_SOURCE_MAX]


def _consent_record(run: _Run, contact_ids: Sequence[int]) -> None:
    job = run.job
    detail = consent_source_detail(job)
    histories = consent_selectors.consent_histories(contact_ids=contact_ids)
    at = clock.now()
    evidence = consent_services.Evidence(source=ConsentSource.IMPORT, source_detail=detail)
    new = [
        consent_services.NewConsent(
            contact_id=contact_id,
            topic=topic,
            status=ConsentStatus.GRANTED,
            legal_basis=job.legal_basis,
            evidence=evidence,
            at=at,
        )
        for contact_id in contact_ids
        for topic in run.topics
        if _consent_wanted(
            histories.get(contact_id, []), topic, basis=job.legal_basis, detail=detail
        )
    ]
    if new:
        consent_services.consent_bulk_record(records=new)


def _campaign_touch(job: ImportJob, contacts: Sequence[Contact]) -> None:
    campaign = job.campaign
    if campaign is None:
        return
    utm = campaign.utm_campaign
    for contact in contacts:
        seen = {
            (contact.first_touch or {}).get("campaign"),
            (contact.latest_touch or {}).get("campaign"),
        }
        if utm in seen:
            continue
        touches.contact_touch_record(
            contact_id=contact.pk, touch={"campaign": utm}, at=job.created_at
        )


# --- preview --------------------------------------------------------------------------------


@dataclass(frozen=True)
class PreviewRow:
    number: int
    values: dict[str, Any]  # contact field → value as it would be stored
    errors: dict[str, str]


def import_preview(
    *,
    job: ImportJob,
    mapping: Mapping[str, str],
    options: ImportOptions | None = None,
    limit: int = PREVIEW_ROWS,
) -> list[PreviewRow]:
    """What the first ``limit`` rows would become with ``mapping``, normalised and checked as
    the import will, without writing anything. Raises ``ValidationError`` for a bad mapping."""
    from sokyaku.contacts import services

    table = job_table(job, limit=limit)
    checked = mapping_check(
        mapping, headers=table.headers, definitions=FieldDefinition.objects.all()
    )
    tags = list((options or ImportOptions()).tags)
    preview: list[PreviewRow] = []
    # Companies the rows name that exist already are shown as stored ((株)X → 株式会社X).
    columns = [table.headers.index(h) for h, target in checked.items() if target == "company_name"]
    names = {row.cells[index] for index in columns for row in table.rows}
    keys = {normalize.company_key(n): n for n in names if n}
    stored = dict(
        Company.objects.filter(match_key__in=list(keys), merged_into__isnull=True).values_list(
            "match_key", "name"
        )
    )
    # …and one written another way is shown as the company its reading names.
    stored.update(
        (key, company.name)
        for key, company in contact_selectors.company_by_kana(
            keys=[k for k in keys if k not in stored]
        ).items()
    )
    items = [
        (row, mapping_row_input(row.cells, headers=table.headers, mapping=checked, tags=tags))
        for row in table.rows
    ]
    emails = [normalize.nfkc(i.data.email or "").lower() for _r, i in items if i.data is not None]
    by_domain = contact_selectors.company_by_email_domain(emails=[e for e in emails if "@" in e])
    for row, item in items:
        values: dict[str, Any] = dict(item.given)
        errors = dict(item.errors)
        note = item.note
        if item.data is not None:
            try:
                clean = services._clean(item.data)
            except ValidationError as exc:
                errors.update(exc.field_errors)
            else:
                company = clean.company_name or ""
                key = normalize.company_key(company)
                known = by_domain.get(clean.values.get("email", ""))
                if company and key not in stored and known is not None:
                    company = known.name
                company = stored.get(key, company) if company else ""
                values = {**clean.values, "company_name": company}
                values["tags"] = clean.tags or []
                if "custom_new" in item.given:
                    values["custom_new"] = item.given["custom_new"]
                if item.owner:
                    values["owner"] = item.owner
        if note:
            values["note"] = note
        preview.append(PreviewRow(number=row.number, values=values, errors=errors))
    return preview


# --- what the whole file would change -----------------------------------------------------

PLAN_MAX_ROWS = 5000


@dataclass(frozen=True)
class FieldPlan:
    """For one field: how many known contacts would get it filled (it was empty), overwritten,
    or kept as stored although the file says otherwise."""

    field: str
    label: str
    filled: int = 0
    overwritten: int = 0
    kept: int = 0


@dataclass(frozen=True)
class ImportPlan:
    rows: int  # rows looked at (the first ``PLAN_MAX_ROWS``)
    created: int
    updated: int
    unchanged: int
    errors: int
    new_companies: int
    fields: list[FieldPlan]
    partial: bool  # the file has more rows than were looked at
    new_custom_fields: list[str] = field(default_factory=list)  # columns that will make one


def import_plan(
    *, job: ImportJob, mapping: Mapping[str, str], options: ImportOptions | None = None
) -> ImportPlan:
    """What importing the file with ``mapping`` and ``options`` (their update policies) would
    do, counted row by row: a dry run of the import itself on the first ``PLAN_MAX_ROWS`` rows,
    rolled back. Nothing is written (timeline listeners are paused; no consent, touch or note
    is recorded). Raises ``ValidationError`` for a bad mapping or policy."""
    options = options or ImportOptions()
    table = job_table(job, limit=PLAN_MAX_ROWS)
    definitions = list(FieldDefinition.objects.all())
    checked = mapping_check(mapping, headers=table.headers, definitions=definitions)
    policies = policies_clean(options.policies, mapping=checked)
    labels = {f"{CUSTOM_PREFIX}{d.key}": d.label for d in definitions}
    run = _Run(
        job=job,
        headers=table.headers,
        mapping={c: t for c, t in checked.items() if t != CUSTOM_NEW},
        topics=[],
    )
    if "owner" in checked.values():
        run.owners = _owner_keys(core_selectors.user_list(active_only=False))
    counts = _Counts()
    tally: dict[str, dict[str, int]] = {}
    with transaction.atomic(), listeners.paused():
        companies_before = Company.objects.filter(merged_into__isnull=True).count()
        inputs = _inputs(run, table.rows, tags=list(options.tags))
        valid = [item.data for item in inputs if item.data is not None]
        results = iter(
            bulk.contact_bulk_upsert(rows=valid, source=EventSource.IMPORT, policies=policies)
        )
        for item in inputs:
            result = next(results) if item.data is not None else None
            if item.errors or result is None or result.contact is None:
                counts.errors += 1
                continue
            if result.created:
                counts.created += 1
            elif result.changed:
                counts.updated += 1
            else:
                counts.unchanged += 1
            for kind in ("filled", "overwritten", "kept"):
                for name in getattr(result, kind):
                    counts_of = tally.setdefault(name, {})
                    counts_of[kind] = counts_of.get(kind, 0) + 1
        new_companies = Company.objects.filter(merged_into__isnull=True).count() - companies_before
        transaction.set_rollback(True)
    order = [*policy_targets(checked), *tally]
    return ImportPlan(
        rows=len(table.rows),
        created=counts.created,
        updated=counts.updated,
        unchanged=counts.unchanged,
        errors=counts.errors,
        new_companies=new_companies,
        fields=[
            FieldPlan(
                field=name, label=str(FIELDS.get(name) or labels.get(name, name)), **tally[name]
            )
            for name in dict.fromkeys(order)
            if name in tally
        ],
        partial=job.total_rows > len(table.rows),
        new_custom_fields=[c for c, t in checked.items() if t == CUSTOM_NEW],
    )


# --- one call -------------------------------------------------------------------------------


def import_file(
    *,
    data: bytes,
    filename: str,
    mapping: Mapping[str, str] | None = None,
    options: ImportOptions | None = None,
    user: User | None = None,
) -> ImportJob:
    """Import a whole file now, in this process (the CLI, benchmarks): create, configure with
    ``mapping`` (proposed from the header when ``None``), run. Returns the finished job.

    Raises ``ValidationError`` when the file cannot be read or the mapping or options are bad;
    nothing is imported then. Row errors do not raise: they are on the job.
    """
    job = import_create(data=data, filename=filename, user=user)
    try:
        import_configure(
            job=job,
            mapping=job.mapping if mapping is None else mapping,
            options=options or ImportOptions(),
        )
    except ValidationError:
        job.file.delete(save=False)
        job.delete()
        raise
    import_start(job=job, in_worker=False)
    finished = import_run(job_id=job.pk)
    assert finished is not None
    return finished
