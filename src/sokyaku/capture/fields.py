"""The field catalogue of public forms: which inputs each field type posts, how answers are
validated, and which contact fields they fill.

``answers_clean`` is the one validation of a submission. It raises
``core.errors.ValidationError`` whose ``field_errors`` are keyed by input name and whose
messages are English source strings marked for translation: the public views show them with
``gettext`` in the form's language, the API as they are.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import jaconv
from django.utils.translation import gettext_noop

from sokyaku.capture.models import FieldType, FormConsent, FormField
from sokyaku.contacts import normalize
from sokyaku.contacts.prefectures import PREFECTURE_BY_CODE
from sokyaku.contacts.services import ContactInput, custom_fields_clean
from sokyaku.core.errors import ValidationError


@dataclass(frozen=True)
class Input:
    """One input a field posts: its name, the ContactInput attribute it fills, its limit."""

    name: str
    contact_attr: str = ""
    max_length: int = 500
    sublabel: str = ""  # under a two-part field (姓 / 名)
    autocomplete: str = ""


_FAMILY, _GIVEN = gettext_noop("Family name"), gettext_noop("Given name")
_FAMILY_KANA, _GIVEN_KANA = gettext_noop("Family name (kana)"), gettext_noop("Given name (kana)")

CONTACT_INPUTS: dict[str, tuple[Input, ...]] = {
    FieldType.NAME: (
        Input("family_name", "family_name", 100, _FAMILY, "family-name"),
        Input("given_name", "given_name", 100, _GIVEN, "given-name"),
    ),
    FieldType.NAME_KANA: (
        Input("family_name_kana", "family_name_kana", 100, _FAMILY_KANA),
        Input("given_name_kana", "given_name_kana", 100, _GIVEN_KANA),
    ),
    FieldType.EMAIL: (Input("email", "email", 254, autocomplete="email"),),
    FieldType.PHONE: (Input("phone", "phone", 40, autocomplete="tel"),),
    FieldType.COMPANY: (Input("company", "company_name", 200, autocomplete="organization"),),
    FieldType.DEPARTMENT: (Input("department", "department", 200),),
    FieldType.TITLE: (Input("title", "title", 200, autocomplete="organization-title"),),
    FieldType.POSTAL_CODE: (Input("postal_code", "postal_code", 10, autocomplete="postal-code"),),
    FieldType.PREFECTURE: (Input("prefecture", "prefecture", 2, autocomplete="address-level1"),),
    FieldType.ADDRESS: (Input("address", "address", 300, autocomplete="street-address"),),
}
CONTACT_TYPES = frozenset(CONTACT_INPUTS)
# The contact field types a person can be found by (a published form needs one, required).
IDENTITY_TYPES = frozenset({FieldType.EMAIL, FieldType.PHONE, FieldType.NAME})

FREE_LIMITS: dict[str, int] = {
    FieldType.TEXT: 500,
    FieldType.TEXTAREA: 5000,
    FieldType.SELECT: 200,
    FieldType.CHECKBOX: 200,
    FieldType.HIDDEN: 500,
}

# Inputs every rendered form posts besides its fields.
TOKEN = "_token"  # noqa: S105 - an input name, not a secret
VISITOR = "_vid"
PAGE_URL = "_page_url"
REFERRER = "_referrer"
AGREE = "_agree"
CONSENT_PREFIX = "_consent_"
HONEYPOT = "website"
UTM_KEYS = ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content")
RESERVED_NAMES = frozenset(
    {HONEYPOT, *UTM_KEYS, *(i.name for inputs in CONTACT_INPUTS.values() for i in inputs)}
)

_TRUE = {"1", "on", "true", "yes"}
_KANA_RE = re.compile(r"^[\u30a0-\u30ff\u3000 ・ー]*$")
# As the tracking snippet makes them (``activity.tracking``).
_VISITOR_RE = re.compile(r"^[A-Za-z0-9_-]{8,64}$")

MSG_REQUIRED = gettext_noop("This field is required.")
MSG_TOO_LONG = gettext_noop("This value is too long.")
MSG_BAD_CHARS = gettext_noop("This value contains characters that are not allowed.")
MSG_EMAIL = gettext_noop("Enter a valid email address.")
MSG_PHONE = gettext_noop("Enter a valid phone number.")
MSG_POSTAL = gettext_noop("Enter a postal code like 100-0001.")
MSG_PREFECTURE = gettext_noop("Choose a prefecture.")
MSG_KANA = gettext_noop("Enter the reading in katakana.")
MSG_CHOICE = gettext_noop("Choose one of the options.")
MSG_INVALID = gettext_noop("Enter a valid value.")
MSG_AGREE = gettext_noop("Please agree to the handling of personal information.")
MSG_CONSENT = gettext_noop("Please tick this box to continue.")
MSG_INVALID_FORM = gettext_noop("Please correct the errors below.")
_INVALID_MESSAGES: dict[str, str] = {
    FieldType.EMAIL: MSG_EMAIL,
    FieldType.PHONE: MSG_PHONE,
    FieldType.POSTAL_CODE: MSG_POSTAL,
}


def inputs_of(form_field: FormField) -> tuple[Input, ...]:
    """The inputs a field posts (two for a name, one otherwise)."""
    if form_field.type in CONTACT_INPUTS:
        return CONTACT_INPUTS[form_field.type]
    limit = FREE_LIMITS.get(form_field.type, 500)
    return (Input(form_field.key, "", limit),)


def consent_input(consent: FormConsent) -> str:
    return f"{CONSENT_PREFIX}{consent.topic.key}"


def visitor_id_clean(value: str) -> str:
    """A first-party visitor id as the tracking snippet makes it, or ``""``."""
    value = (value or "").strip()
    return value if _VISITOR_RE.match(value) else ""


@dataclass
class Answers:
    """A validated submission."""

    values: dict[str, Any] = field(default_factory=dict)  # by input name, as stored
    contact: ContactInput = field(default_factory=ContactInput)
    consents: list[FormConsent] = field(default_factory=list)  # ticked
    agreed: bool = False


def _last(raw: Mapping[str, Sequence[str]], name: str) -> str:
    values = raw.get(name) or []
    return str(values[-1]) if values else ""


def _has_bad_chars(value: str) -> bool:
    # NUL cannot be stored (PostgreSQL); other control characters have no business in a form.
    return any(unicodedata.category(c) == "Cc" and c not in "\t\n\r" for c in value)


def _kana(value: str) -> str:
    return jaconv.hira2kata(unicodedata.normalize("NFKC", value)).strip()


def answers_clean(
    *,
    fields: Sequence[FormField],
    consents: Sequence[FormConsent],
    require_agreement: bool,
    raw: Mapping[str, Sequence[str]],
) -> Answers:
    """Validate posted values against a form's fields; returns ``Answers`` or raises
    ``ValidationError`` listing every bad input (see the module docstring)."""
    errors: dict[str, str] = {}
    answers = Answers()
    custom: dict[str, tuple[str, Any]] = {}  # custom field key -> (input name, value)
    for form_field in fields:
        if form_field.type in CONTACT_INPUTS:
            _contact_field(form_field, raw, answers, errors)
        else:
            value = _free_field(form_field, raw, errors)
            if form_field.key in errors:
                continue
            answers.values[form_field.key] = value
            if form_field.custom_field_key and value not in ("", None, []):
                stored = ", ".join(value) if isinstance(value, list) else value
                custom[form_field.custom_field_key] = (form_field.key, stored)
    if custom:
        try:
            cleaned = custom_fields_clean(values={k: v for k, (_n, v) in custom.items()})
        except ValidationError as exc:
            for key in exc.field_errors:
                name = custom[key.removeprefix("custom_fields.")][0]
                errors[name] = MSG_INVALID
        else:
            answers.contact.custom_fields = cleaned
    for consent in consents:
        ticked = _last(raw, consent_input(consent)).lower() in _TRUE
        if ticked:
            answers.consents.append(consent)
        elif consent.required:
            errors[consent_input(consent)] = MSG_CONSENT
    answers.agreed = _last(raw, AGREE).lower() in _TRUE
    if require_agreement and not answers.agreed:
        errors[AGREE] = MSG_AGREE
    if errors:
        raise ValidationError(MSG_INVALID_FORM, field_errors=errors)
    return answers


def _contact_field(
    form_field: FormField,
    raw: Mapping[str, Sequence[str]],
    answers: Answers,
    errors: dict[str, str],
) -> None:
    for item in inputs_of(form_field):
        value = _last(raw, item.name).strip()
        if not value:
            if form_field.required:
                errors[item.name] = MSG_REQUIRED
            continue
        if len(value) > item.max_length:
            errors[item.name] = MSG_TOO_LONG
            continue
        if _has_bad_chars(value):
            errors[item.name] = MSG_BAD_CHARS
            continue
        stored: Any = value
        try:
            if form_field.type == FieldType.EMAIL:
                stored = normalize.email_normalize(value)
            elif form_field.type == FieldType.PHONE:
                normalize.phone_normalize(value)
            elif form_field.type == FieldType.POSTAL_CODE:
                stored = normalize.postal_code_normalize(value)
        except normalize.InvalidValue:
            errors[item.name] = _INVALID_MESSAGES[form_field.type]
            continue
        if form_field.type == FieldType.NAME_KANA:
            stored = _kana(value)
            if not _KANA_RE.match(stored):
                errors[item.name] = MSG_KANA
                continue
        if form_field.type == FieldType.PREFECTURE:
            if not value.isdecimal() or int(value) not in PREFECTURE_BY_CODE:
                errors[item.name] = MSG_PREFECTURE
                continue
            stored = int(value)
        answers.values[item.name] = stored
        setattr(answers.contact, item.contact_attr, stored)


def _free_field(
    form_field: FormField, raw: Mapping[str, Sequence[str]], errors: dict[str, str]
) -> Any:
    key, limit = form_field.key, FREE_LIMITS.get(form_field.type, 500)
    options = [str(o) for o in form_field.options or []]
    if form_field.type == FieldType.CHECKBOX and options:
        chosen = [str(v) for v in raw.get(key) or [] if str(v)]
        if any(v not in options for v in chosen):
            errors[key] = MSG_CHOICE
        elif form_field.required and not chosen:
            errors[key] = MSG_REQUIRED
        return [o for o in options if o in chosen]  # in the form's order, once each
    if form_field.type == FieldType.CHECKBOX:
        ticked = _last(raw, key).lower() in _TRUE
        if form_field.required and not ticked:
            errors[key] = MSG_REQUIRED
        return ticked
    value = _last(raw, key)
    if form_field.type == FieldType.HIDDEN and key not in raw:
        value = form_field.default_value
    value = value.strip() if form_field.type != FieldType.TEXTAREA else value.strip("\r\n ")
    if not value:
        if form_field.required and form_field.type != FieldType.HIDDEN:
            errors[key] = MSG_REQUIRED
        return ""
    if len(value) > limit:
        errors[key] = MSG_TOO_LONG
    elif _has_bad_chars(value):
        errors[key] = MSG_BAD_CHARS
    elif form_field.type == FieldType.SELECT and value not in options:
        errors[key] = MSG_CHOICE
    return value
