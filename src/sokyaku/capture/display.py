"""How a form looks to the public: one ``ShownForm`` for the hosted page, a landing page's form
block and the embed fragment, so the three never drift apart.

Everything the public typed comes back as plain values that the templates escape. Error
messages are the services' English source strings, translated here in the active language (the
public views activate the form's language).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from django.conf import settings
from django.urls import reverse
from django.utils.translation import gettext

from sokyaku.capture import fields as catalogue
from sokyaku.capture.models import FieldType, Form, FormConsent, FormField
from sokyaku.consent.models import PurposeText
from sokyaku.contacts.prefectures import prefecture_choices

# An email field is a text input with the email keyboard, not type=email: the browser's own
# check refuses addresses typed with a Japanese IME in full width (ｔａｒｏ＠ｅｘａｍｐｌｅ．ｊｐ),
# which the server normalises and accepts (``contacts.normalize.email_normalize``).
_INPUT_TYPES: dict[str, str] = {FieldType.PHONE: "tel"}
_INPUT_MODES: dict[str, str] = {
    FieldType.POSTAL_CODE: "numeric",
    FieldType.PHONE: "tel",
    FieldType.EMAIL: "email",
}


@dataclass(frozen=True)
class ShownInput:
    name: str
    id: str
    label: str  # a part's own label (姓 / 名); empty for one-input fields
    value: str
    error: str
    autocomplete: str
    max_length: int
    input_type: str = "text"
    input_mode: str = ""


@dataclass(frozen=True)
class ShownOption:
    value: str
    label: str
    selected: bool


@dataclass(frozen=True)
class ShownField:
    field: FormField
    id: str
    inputs: list[ShownInput]
    options: list[ShownOption] = dataclasses.field(default_factory=list)
    checked: bool = False
    error: str = ""

    @property
    def errors(self) -> list[str]:
        return [e for e in [self.error, *(i.error for i in self.inputs)] if e]


@dataclass(frozen=True)
class ShownConsent:
    consent: FormConsent
    name: str
    id: str
    checked: bool
    error: str


@dataclass(frozen=True)
class ShownForm:
    form: Form
    action_url: str
    token: str
    fields: list[ShownField]
    hidden_fields: list[ShownField]
    consents: list[ShownConsent]
    purpose_text: PurposeText | None
    hidden: dict[str, str]
    agreed: bool
    agree_error: str
    errors: list[str]
    honeypot: str = catalogue.HONEYPOT
    agree_name: str = catalogue.AGREE

    @property
    def submit_label(self) -> str:
        return self.form.submit_label or gettext("Submit")


def embed_code(*, form: Form) -> str:
    """The HTML a site pastes to show the form (a container and our script)."""
    script = settings.SITE_URL + reverse("public:form_embed_script", kwargs={"slug": form.slug})
    return f'<div data-sokyaku-form="{form.slug}"></div>\n<script src="{script}" async></script>'


def _translated(message: str | None) -> str:
    return gettext(message) if message else ""


def form_shown(
    *,
    form: Form,
    action_url: str,
    token: str,
    purpose_text: PurposeText | None,
    hidden: Mapping[str, str],
    values: Mapping[str, Sequence[str]] | None = None,
    errors: Mapping[str, str] | None = None,
    message: str = "",
    query: Mapping[str, str] | None = None,
    prefix: str = "skf",
) -> ShownForm:
    """A form ready for ``capture/_form.html``: fields with the values and errors of a refused
    submission (if any), consent checkboxes, the purpose-of-use text and the hidden inputs.
    ``query`` (the page's URL parameters) fills hidden fields of the same name. ``prefix``
    keeps element ids unique when several forms share a page."""
    values = values or {}
    errors = errors or {}
    query = query or {}

    def value(name: str) -> str:
        posted = values.get(name) or []
        return str(posted[-1]) if posted else ""

    shown: list[ShownField] = []
    hidden_fields: list[ShownField] = []
    for form_field in form.fields.all():
        field_id = f"{prefix}-{form.pk}-{form_field.key}"
        inputs = [
            ShownInput(
                name=item.name,
                id=f"{prefix}-{form.pk}-{item.name}",
                label=gettext(item.sublabel) if item.sublabel else "",
                value=value(item.name)
                or (
                    str(query.get(item.name) or form_field.default_value)[: item.max_length]
                    if form_field.type == FieldType.HIDDEN
                    else ""
                ),
                error=_translated(errors.get(item.name)) if item.name != form_field.key else "",
                autocomplete=item.autocomplete,
                max_length=item.max_length,
                input_type=_INPUT_TYPES.get(form_field.type, "text"),
                input_mode=_INPUT_MODES.get(form_field.type, ""),
            )
            for item in catalogue.inputs_of(form_field)
        ]
        chosen = set(values.get(form_field.key) or [])
        if form_field.type == FieldType.PREFECTURE:
            options = [
                ShownOption(value=str(code), label=name, selected=value("prefecture") == str(code))
                for code, name in prefecture_choices()
            ]
        else:
            options = [
                ShownOption(value=str(o), label=str(o), selected=str(o) in chosen)
                for o in form_field.options or []
            ]
        item = ShownField(
            field=form_field,
            id=field_id,
            inputs=inputs,
            options=options,
            checked=value(form_field.key).lower() in {"1", "on", "true", "yes"},
            error=_translated(errors.get(form_field.key)),
        )
        (hidden_fields if form_field.type == FieldType.HIDDEN else shown).append(item)
    consents = [
        ShownConsent(
            consent=consent,
            name=catalogue.consent_input(consent),
            id=f"{prefix}-{form.pk}-{catalogue.consent_input(consent)}",
            checked=bool(values.get(catalogue.consent_input(consent))),
            error=_translated(errors.get(catalogue.consent_input(consent))),
        )
        for consent in form.consents.all()
    ]
    general = [_translated(errors.get("__all__"))] if errors.get("__all__") else []
    if message:
        general.insert(0, _translated(message))
    return ShownForm(
        form=form,
        action_url=action_url,
        token=token,
        fields=shown,
        hidden_fields=hidden_fields,
        consents=consents,
        purpose_text=purpose_text,
        hidden={k: v for k, v in hidden.items() if v},
        agreed=bool(values.get(catalogue.AGREE)),
        agree_error=_translated(errors.get(catalogue.AGREE)),
        errors=general,
    )
