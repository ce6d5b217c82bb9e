"""Building forms: settings, fields, consent checkboxes, purpose of use, publishing.

A form can only be published when the public would see everything the law and the product
promise: a purpose-of-use (利用目的) text, a required field that identifies the person (email,
phone or name), and for double opt-in a required email field. The same rules hold while it is
published: a change that would break them is refused, so a live form is never without its
purpose-of-use text.

Messages are English source strings marked for translation (``gettext_noop``): the API shows
them as they are, the UI translates them.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.utils.text import slugify
from django.utils.translation import gettext_noop

from sokyaku.capture import addresses, kinds, origins, selectors
from sokyaku.capture import fields as catalogue
from sokyaku.capture.models import FieldType, Form, FormConsent, FormField
from sokyaku.consent import services as consent_services
from sokyaku.consent.models import ConsentTopic
from sokyaku.contacts import selectors as contact_selectors
from sokyaku.core import clock
from sokyaku.core.errors import NotFound, ValidationError

logger = logging.getLogger(__name__)

MAX_FIELDS = 50
MAX_OPTIONS = 100
MAX_TAGS = 20
MAX_RATE_LIMIT = 10_000
MAX_FILL_SECONDS = 3600
DEFAULT_PURPOSE_TITLE = "個人情報の取り扱いについて"

MSG_INVALID = gettext_noop("Please correct the errors below.")
MSG_REQUIRED = gettext_noop("This field is required.")
MSG_TOO_LONG = gettext_noop("This value is too long.")
MSG_SLUG = gettext_noop("Use lower-case letters, digits and hyphens.")
MSG_SLUG_TAKEN = gettext_noop("Another form already uses this address.")
MSG_KIND = gettext_noop("Unknown form kind.")
MSG_LANGUAGE = gettext_noop("Unknown language.")
MSG_PURPOSE_UNKNOWN = gettext_noop("No purpose-of-use text has this key.")
MSG_PURPOSE_BOTH = gettext_noop("Choose a shared text or write one for this form, not both.")
MSG_PURPOSE_MISSING = gettext_noop(
    "A form needs a purpose-of-use text (利用目的) before it can be published."
)
MSG_IDENTITY_MISSING = gettext_noop("A published form needs a required email, phone or name field.")
MSG_DOI_EMAIL = gettext_noop("Double opt-in needs a required email field.")
MSG_NO_FIELDS = gettext_noop("Add at least one field.")
MSG_ORIGIN = gettext_noop("Enter a site like https://www.example.co.jp or *.example.co.jp.")
MSG_TOO_MANY = gettext_noop("Too many entries.")
MSG_REDIRECT = gettext_noop(
    "The redirect must be an http(s) address on this site or on a site allowed to embed the form."
)
MSG_RANGE = gettext_noop("Enter a number in the allowed range.")
MSG_FIELD_TYPE = gettext_noop("Unknown field type.")
MSG_FIELD_TWICE = gettext_noop("This field is already on the form.")
MSG_KEY = gettext_noop(
    "Use letters, digits, hyphens and underscores; this key is taken or reserved."
)
MSG_OPTIONS = gettext_noop("Give the list's options (at most 100, each once).")
MSG_CUSTOM_FIELD = gettext_noop("No custom field has this key.")
MSG_TOPIC = gettext_noop("Unknown consent topic.")
MSG_TOPIC_TWICE = gettext_noop("This topic is already on the form.")
MSG_PUBLISH = gettext_noop("This form cannot be published yet.")
MSG_STILL_PUBLISHED = gettext_noop(
    "This change would leave the published form incomplete; unpublish it first."
)


@dataclass
class FieldSpec:
    """One field as a caller describes it (see ``models.FormField``)."""

    type: str
    label: str
    key: str = ""
    required: bool = False
    help_text: str = ""
    options: list[str] = field(default_factory=list)
    default_value: str = ""
    custom_field_key: str = ""

    @classmethod
    def of(cls, form_field: FormField) -> FieldSpec:
        return cls(
            type=form_field.type,
            label=form_field.label,
            key=form_field.key,
            required=form_field.required,
            help_text=form_field.help_text,
            options=list(form_field.options or []),
            default_value=form_field.default_value,
            custom_field_key=form_field.custom_field_key,
        )


@dataclass
class ConsentSpec:
    """A consent checkbox: the topic's key, the text beside the box, whether it must be ticked."""

    topic: str
    label: str = ""
    required: bool = False


@dataclass
class FormInput:
    """What a caller wants a form to be; ``None`` means "leave as it is".

    Purpose of use: ``purpose_key`` picks a shared text by its key (its latest version is
    shown); ``purpose_body`` (with ``purpose_title``) writes the form's own text, published as a
    new version whenever it changes; ``purpose_key=""`` removes the text (drafts only).
    """

    name: str | None = None
    slug: str | None = None
    kind: str | None = None
    kind_options: dict[str, Any] | None = None
    language: str | None = None
    title: str | None = None
    introduction: str | None = None
    submit_label: str | None = None
    purpose_key: str | None = None
    purpose_title: str | None = None
    purpose_body: str | None = None
    require_agreement: bool | None = None
    double_opt_in: bool | None = None
    thank_you_message: str | None = None
    redirect_url: str | None = None
    allowed_origins: list[str] | None = None
    rate_limit: int | None = None
    min_fill_seconds: int | None = None
    tags: list[str] | None = None
    fields: list[FieldSpec] | None = None
    consents: list[ConsentSpec] | None = None


_TEXT_LIMITS = {
    "name": 200,
    "title": 200,
    "introduction": 5000,
    "submit_label": 50,
    "thank_you_message": 5000,
}


def _own_purpose_key(form: Form) -> str:
    return f"form-{form.pk}"


def _slug_clean(value: str, *, form: Form, errors: dict[str, str]) -> str:
    slug = value.strip().lower()
    if not addresses.address_valid(slug):
        errors["slug"] = MSG_SLUG
        return slug
    return addresses.address_free(model=Form, slug=slug, exclude_pk=form.pk)


def _settings_apply(form: Form, data: FormInput, errors: dict[str, str]) -> None:
    """Copy validated settings onto ``form`` (not saved); collect problems in ``errors``."""
    for name, limit in _TEXT_LIMITS.items():
        value = getattr(data, name)
        if value is None:
            continue
        value = value.strip()
        if len(value) > limit:
            errors[name] = MSG_TOO_LONG
        setattr(form, name, value)
    if data.name is not None and not form.name:
        errors["name"] = MSG_REQUIRED
    if data.slug is not None:
        form.slug = _slug_clean(data.slug, form=form, errors=errors)
    if data.kind is not None:
        if kinds.form_kind_get(data.kind) is None:
            errors["kind"] = MSG_KIND
        form.kind = data.kind
    if data.kind_options is not None or data.kind is not None:
        kind = kinds.form_kind_get(form.kind)
        options = data.kind_options if data.kind_options is not None else form.kind_options
        if kind is not None and kind.options_clean is not None:
            try:
                options = kind.options_clean(options or {})
            except ValidationError as exc:
                errors.update({f"kind_options.{k}": v for k, v in exc.field_errors.items()})
                if not exc.field_errors:
                    errors["kind_options"] = exc.message
        form.kind_options = dict(options or {})
    if data.language is not None:
        if data.language not in dict(settings.LANGUAGES):
            errors["language"] = MSG_LANGUAGE
        form.language = data.language
    for name in ("require_agreement", "double_opt_in"):
        if getattr(data, name) is not None:
            setattr(form, name, bool(getattr(data, name)))
    if data.allowed_origins is not None:
        cleaned: list[str] = []
        for index, entry in enumerate(data.allowed_origins):
            try:
                cleaned.append(origins.origin_entry_clean(entry))
            except origins.InvalidOrigin:
                errors[f"allowed_origins.{index}"] = MSG_ORIGIN
        if len(cleaned) > origins.MAX_ENTRIES:
            errors["allowed_origins"] = MSG_TOO_MANY
        form.allowed_origins = list(dict.fromkeys(cleaned))
    if data.redirect_url is not None:
        form.redirect_url = data.redirect_url.strip()
    if form.redirect_url and (
        len(form.redirect_url) > 500
        or not origins.redirect_allowed(url=form.redirect_url, allowed=form.allowed_origins)
    ):
        errors["redirect_url"] = MSG_REDIRECT
    for name, top in (("rate_limit", MAX_RATE_LIMIT), ("min_fill_seconds", MAX_FILL_SECONDS)):
        value = getattr(data, name)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= top:
            errors[name] = MSG_RANGE
            continue
        setattr(form, name, value)
    if data.tags is not None:
        tags = list(dict.fromkeys(t.strip() for t in data.tags if t and t.strip()))
        if len(tags) > MAX_TAGS or any(len(t) > 60 for t in tags):
            errors["tags"] = MSG_TOO_MANY
        form.tags = tags


def _purpose_apply(form: Form, data: FormInput, errors: dict[str, str]) -> None:
    """Point the form at its purpose-of-use text (publishing the form's own text if written).
    The form must be saved (its own text is keyed by its id)."""
    own = data.purpose_body is not None and data.purpose_body.strip() != ""
    if own and data.purpose_key:
        errors["purpose_key"] = MSG_PURPOSE_BOTH
        return
    if own:
        body = (data.purpose_body or "").strip()
        title = (data.purpose_title or "").strip() or DEFAULT_PURPOSE_TITLE
        if len(title) > 200:
            errors["purpose_title"] = MSG_TOO_LONG
            return
        text = consent_services.purpose_text_publish(
            key=_own_purpose_key(form), title=title, body=body
        )
        form.purpose_key = text.key
    elif data.purpose_key is not None:
        key = data.purpose_key.strip()
        if key and selectors.purpose_text_current(key=key) is None:
            errors["purpose_key"] = MSG_PURPOSE_UNKNOWN
            return
        form.purpose_key = key


# --- Fields ---------------------------------------------------------------------------------


@dataclass
class _Row:
    pk: int | None
    spec: FieldSpec


def _free_key(spec: FieldSpec, taken: set[str]) -> str:
    base = slugify(spec.label).replace("-", "_")[:40].strip("_")
    if not base or base in catalogue.RESERVED_NAMES or base.startswith("utm_"):
        base = "field"
    key, counter = base, 2
    while key in taken:
        key, counter = f"{base}_{counter}", counter + 1
    return key


_KEY_RE = re.compile(r"[a-z0-9][a-z0-9_-]{0,49}")


def _key_ok(key: str) -> bool:
    return (
        _KEY_RE.fullmatch(key) is not None
        and not key.startswith("utm_")
        and key not in catalogue.RESERVED_NAMES
    )


def _fields_clean(rows: Sequence[_Row]) -> list[FormField]:
    """Validate a whole field list; unsaved ``FormField`` rows (with their pk when kept)."""
    errors: dict[str, str] = {}
    if len(rows) > MAX_FIELDS:
        raise ValidationError(MSG_INVALID, field_errors={"fields": MSG_TOO_MANY})
    definitions = {d.key for d in contact_selectors.field_definition_list(user=None)}
    seen_types: set[str] = set()
    keys: set[str] = set()
    # Keys given first, so generated keys never take a key someone chose.
    for row in rows:
        if row.spec.type not in catalogue.CONTACT_TYPES and row.spec.key:
            keys.add(row.spec.key.strip())
    result: list[FormField] = []
    for index, row in enumerate(rows):
        spec, at = row.spec, f"fields.{index}"
        label = (spec.label or "").strip()
        if spec.type not in FieldType.values:
            errors[f"{at}.type"] = MSG_FIELD_TYPE
            continue
        if not label:
            errors[f"{at}.label"] = MSG_REQUIRED
        elif len(label) > 200:
            errors[f"{at}.label"] = MSG_TOO_LONG
        if len(spec.help_text or "") > 500 or len(spec.default_value or "") > 500:
            errors[f"{at}.help_text"] = MSG_TOO_LONG
        if spec.type in catalogue.CONTACT_TYPES:
            if spec.type in seen_types:
                errors[f"{at}.type"] = MSG_FIELD_TWICE
            seen_types.add(spec.type)
            key = spec.type
        else:
            key = (spec.key or "").strip()
            if not key:
                key = _free_key(spec, keys)
                keys.add(key)
            elif not _key_ok(key) or any(r.key == key for r in result):
                errors[f"{at}.key"] = MSG_KEY
        options = [str(o).strip() for o in spec.options or [] if str(o).strip()]
        if spec.type == FieldType.SELECT and not options:
            errors[f"{at}.options"] = MSG_OPTIONS
        if (
            len(options) > MAX_OPTIONS
            or len(set(options)) != len(options)
            or any(len(o) > 200 for o in options)
        ):
            errors[f"{at}.options"] = MSG_OPTIONS
        custom = (spec.custom_field_key or "").strip()
        if custom and (spec.type in catalogue.CONTACT_TYPES or custom not in definitions):
            errors[f"{at}.custom_field_key"] = MSG_CUSTOM_FIELD
        result.append(
            FormField(
                pk=row.pk,
                key=key,
                type=spec.type,
                label=label,
                required=bool(spec.required) and spec.type != FieldType.HIDDEN,
                help_text=(spec.help_text or "").strip(),
                options=options if spec.type in (FieldType.SELECT, FieldType.CHECKBOX) else [],
                default_value=(spec.default_value or "").strip(),
                custom_field_key=custom,
                order=(index + 1) * 10,
            )
        )
    if errors:
        raise ValidationError(MSG_INVALID, field_errors=errors)
    return result


def _fields_write(form: Form, cleaned: Sequence[FormField]) -> None:
    kept = [f.pk for f in cleaned if f.pk]
    FormField.objects.filter(form=form).exclude(pk__in=kept).delete()
    # Two passes: keys are unique per form, and a kept field may take a key another had.
    updates = [f for f in cleaned if f.pk]
    for item in updates:
        FormField.objects.filter(pk=item.pk).update(key=f"_tmp{item.pk}")
    for item in cleaned:
        item.form = form
        item.save()


def _rows(form: Form) -> list[_Row]:
    return [_Row(pk=f.pk, spec=FieldSpec.of(f)) for f in form.fields.order_by("order", "id")]


# --- Consent checkboxes ---------------------------------------------------------------------


def _consents_clean(specs: Sequence[ConsentSpec]) -> list[FormConsent]:
    errors: dict[str, str] = {}
    wanted = {s.topic for s in specs}
    topics = {t.key: t for t in ConsentTopic.objects.filter(key__in=wanted, is_active=True)}
    result: list[FormConsent] = []
    for index, spec in enumerate(specs):
        at = f"consents.{index}"
        topic = topics.get(spec.topic)
        if topic is None:
            errors[f"{at}.topic"] = MSG_TOPIC
            continue
        if any(c.topic_id == topic.pk for c in result):
            errors[f"{at}.topic"] = MSG_TOPIC_TWICE
            continue
        label = (spec.label or "").strip() or topic.name
        if len(label) > 300:
            errors[f"{at}.label"] = MSG_TOO_LONG
        result.append(
            FormConsent(
                topic=topic, label=label, required=bool(spec.required), order=(index + 1) * 10
            )
        )
    if errors:
        raise ValidationError(MSG_INVALID, field_errors=errors)
    return result


def _consents_write(form: Form, cleaned: Sequence[FormConsent]) -> None:
    FormConsent.objects.filter(form=form).delete()
    for item in cleaned:
        item.form = form
    FormConsent.objects.bulk_create(cleaned)


# --- Publishing rules -----------------------------------------------------------------------


def form_problems(*, form: Form) -> dict[str, str]:
    """What keeps ``form`` from being published, by the setting to fix (empty: nothing)."""
    problems: dict[str, str] = {}
    text = selectors.purpose_text_current(key=form.purpose_key)
    if text is None or not text.body.strip():
        problems["purpose_key"] = MSG_PURPOSE_MISSING
    form_fields = list(FormField.objects.filter(form=form))
    if not form_fields:
        problems["fields"] = MSG_NO_FIELDS
    elif not any(f.type in catalogue.IDENTITY_TYPES and f.required for f in form_fields):
        problems["fields"] = MSG_IDENTITY_MISSING
    if form.double_opt_in and not any(
        f.type == FieldType.EMAIL and f.required for f in form_fields
    ):
        problems["double_opt_in"] = MSG_DOI_EMAIL
    if form.redirect_url and not origins.redirect_allowed(
        url=form.redirect_url, allowed=form.allowed_origins
    ):
        problems["redirect_url"] = MSG_REDIRECT
    return problems


def _still_publishable(form: Form) -> None:
    if form.is_published:
        problems = form_problems(form=form)
        if problems:
            raise ValidationError(MSG_STILL_PUBLISHED, field_errors=problems)


# --- Services -------------------------------------------------------------------------------


def _save(form: Form, data: FormInput, *, creating: bool) -> Form:
    errors: dict[str, str] = {}
    _settings_apply(form, data, errors)
    cleaned_fields = None
    if data.fields is not None:
        try:
            cleaned_fields = _fields_clean([_Row(pk=None, spec=s) for s in data.fields])
        except ValidationError as exc:
            errors.update(exc.field_errors)
    cleaned_consents = None
    if data.consents is not None:
        try:
            cleaned_consents = _consents_clean(data.consents)
        except ValidationError as exc:
            errors.update(exc.field_errors)
    if errors:
        raise ValidationError(MSG_INVALID, field_errors=errors)
    now = clock.now()
    try:
        with transaction.atomic():
            form.updated_at = now
            if creating:
                form.created_at = now
            form.save()
            _purpose_apply(form, data, errors)
            if errors:
                raise ValidationError(MSG_INVALID, field_errors=errors)
            form.save(update_fields=["purpose_key"])
            if cleaned_fields is not None:
                _fields_write(form, cleaned_fields)
            if cleaned_consents is not None:
                _consents_write(form, cleaned_consents)
            _still_publishable(form)
    except IntegrityError as exc:
        # Another request took the address between our check and our write.
        raise ValidationError(MSG_INVALID, field_errors={"slug": MSG_SLUG_TAKEN}) from exc
    return form


def form_create(*, data: FormInput, actor: User | None = None) -> Form:
    """A new draft form. ``name`` is required; the address (slug) defaults to one made from the
    name. Raises ``ValidationError`` with field errors (nothing is written then)."""
    if not (data.name or "").strip():
        raise ValidationError(MSG_INVALID, field_errors={"name": MSG_REQUIRED})
    form = Form(
        created_by=actor,
        kind=kinds.STANDARD,
        language=settings.LANGUAGE_CODE,
        slug=(data.slug or "").strip().lower()
        or addresses.address_from(data.name or "", fallback="form"),
    )
    if data.slug is None:
        data.slug = form.slug
    form = _save(form, data, creating=True)
    logger.info("form.created", extra={"form": form.pk, "slug": form.slug})
    return form


def form_update(*, form: Form, data: FormInput, actor: User | None = None) -> Form:
    """Change a form's settings (and, when given, replace its fields or consent checkboxes as a
    whole). A published form must stay publishable. Raises ``ValidationError``."""
    try:
        _save(form, data, creating=False)
    except ValidationError:
        form.refresh_from_db()
        raise
    logger.info("form.updated", extra={"form": form.pk})
    return form


def _fields_change(form: Form, rows: list[_Row]) -> Form:
    cleaned = _fields_clean(rows)
    with transaction.atomic():
        _fields_write(form, cleaned)
        form.updated_at = clock.now()
        form.save(update_fields=["updated_at"])
        _still_publishable(form)
    return form


def form_field_add(*, form: Form, spec: FieldSpec, actor: User | None = None) -> Form:
    """Add a field at the end of the form. Raises ``ValidationError`` (keys ``fields.<n>.*``)."""
    return _fields_change(form, [*_rows(form), _Row(pk=None, spec=spec)])


def form_field_change(
    *, form: Form, field_id: int, spec: FieldSpec, actor: User | None = None
) -> Form:
    """Change one field in place. Raises ``ValidationError``, ``NotFound`` for a field of
    another form."""
    rows = _rows(form)
    for row in rows:
        if row.pk == field_id:
            row.spec = spec
            break
    else:
        raise NotFound(f"No field {field_id} on this form.")
    return _fields_change(form, rows)


def form_field_remove(*, form: Form, field_id: int, actor: User | None = None) -> Form:
    """Remove a field (refused while published if the form would lose its identity field)."""
    return _fields_change(form, [r for r in _rows(form) if r.pk != field_id])


def form_field_move(*, form: Form, field_id: int, offset: int, actor: User | None = None) -> Form:
    """Move a field up (``offset=-1``) or down (``+1``)."""
    rows = _rows(form)
    index = next((i for i, r in enumerate(rows) if r.pk == field_id), None)
    if index is None:
        return form
    target = max(0, min(len(rows) - 1, index + offset))
    rows.insert(target, rows.pop(index))
    return _fields_change(form, rows)


def form_publish(*, form: Form, actor: User | None = None) -> Form:
    """Publish a form at ``/f/<slug>``. Raises ``ValidationError`` whose field errors name
    everything still missing (a purpose-of-use text above all)."""
    problems = form_problems(form=form)
    if problems:
        raise ValidationError(MSG_PUBLISH, field_errors=problems)
    now = clock.now()
    form.is_published = True
    form.published_at = now
    form.updated_at = now
    form.save(update_fields=["is_published", "published_at", "updated_at"])
    logger.info("form.published", extra={"form": form.pk, "slug": form.slug})
    return form


def form_unpublish(*, form: Form, actor: User | None = None) -> Form:
    """Take a form off line: ``/f/<slug>`` answers 404, submissions stay."""
    form.is_published = False
    form.updated_at = clock.now()
    form.save(update_fields=["is_published", "updated_at"])
    logger.info("form.unpublished", extra={"form": form.pk})
    return form


def form_input_from_mapping(data: Mapping[str, Any]) -> FormInput:
    """A ``FormInput`` from plain data (the API's payload): nested fields and consents too."""
    values = dict(data)
    if values.get("fields") is not None:
        values["fields"] = [FieldSpec(**f) for f in values["fields"]]
    if values.get("consents") is not None:
        values["consents"] = [ConsentSpec(**c) for c in values["consents"]]
    return FormInput(**values)
