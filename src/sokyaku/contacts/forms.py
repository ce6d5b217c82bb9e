"""Forms of the contacts UI: list filters, the edit form, notes and merge confirmation.

Forms only parse and show input. The edit form turns its data into ``services.ContactInput``;
the service validates and writes, and its ``ValidationError.field_errors`` come back onto the
form's fields through ``add_service_errors`` (translated, see ``error_message``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

from django import forms
from django.apps import apps
from django.contrib.auth.models import User
from django.utils.functional import Promise
from django.utils.text import capfirst
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from sokyaku.contacts.models import Contact, FieldDefinition, FieldType, Industry
from sokyaku.contacts.prefectures import prefecture_choices
from sokyaku.contacts.services import ContactInput
from sokyaku.core.errors import Conflict, SokyakuError
from sokyaku.core.templatetags.sokyaku_ui import user_name

# The services' messages (English, as the API returns them) and what the UI shows for them.
_SERVICE_MESSAGES: dict[str, Promise] = {
    "Invalid contact data.": _("Please correct the errors below."),
    "Invalid custom fields.": _("Please correct the errors below."),
    "Invalid company data.": _("Please correct the errors below."),
    "Enter a valid phone number.": _("Enter a valid phone number."),
    "Enter a postal code like 100-0001.": _("Enter a postal code like 100-0001."),
    "Unknown prefecture.": _("Unknown prefecture."),
    "No such custom field.": _("No such custom field."),
    "Enter a company name.": _("Enter a company name."),
    "A contact needs at least an email, a phone number or a name.": _(
        "A contact needs at least an email, a phone number or a name."
    ),
    "Enter an email, a phone number or a name.": _("Enter an email, a phone number or a name."),
    "Another contact already has this email (or name and company, or phone). "
    "Merge the two contacts instead.": _(
        "Another contact already has this email (or name and company, or phone). "
        "Merge the two contacts instead."
    ),
    "A note cannot be empty.": _("A note cannot be empty."),
    "Line breaks and control characters are not allowed in a name.": _(
        "Line breaks and control characters are not allowed in a name."
    ),
    "required": _("This field is required."),
    "A contact cannot be merged with itself.": _("A contact cannot be merged with itself."),
    "One of these contacts was already merged.": _("One of these contacts was already merged."),
    "This merge was already undone.": _("This merge was already undone."),
    "Not a contact merge.": _("Not a contact merge."),
    "The merged-away contact's identity now belongs to another contact; it cannot be restored.": _(
        "The merged-away contact's identity now belongs to another contact; it cannot be restored."
    ),
    "This person was erased at their request; their contact cannot be changed.": _(
        "This person was erased at their request; their contact cannot be changed."
    ),
}

# For messages that carry details (``Enter a valid email address (reason).``): one per field.
_FIELD_MESSAGES: dict[str, Promise] = {
    "email": _("Enter a valid email address."),
    "phone": _("Enter a valid phone number."),
    "postal_code": _("Enter a postal code like 100-0001."),
    "prefecture": _("Unknown prefecture."),
    "company_name": _("Enter a company name."),
}


def error_message(message: str, *, field: str = "") -> str:
    """What the UI shows for a service message, in the active language."""
    known = _SERVICE_MESSAGES.get(message)
    if known is not None:
        return str(known)
    if field.startswith("custom_fields."):
        return gettext("Enter a valid value.")
    if field in _FIELD_MESSAGES:
        return str(_FIELD_MESSAGES[field])
    if message.startswith("At most "):
        return gettext("This value is too long.")
    return gettext("This value is not valid.")


def _label(name: str) -> Any:
    """The model's verbose name, capitalised (lazy, so it follows the active language)."""
    field = Contact._meta.get_field(name)
    return capfirst(getattr(field, "verbose_name", name))


_TAG_SPLIT_RE = re.compile(r"[,、，]")


def _stored_choices(app_label: str, model: str, field: str) -> list[tuple[Any, Any]]:
    """The choices of a higher app's field (temperature, lifecycle stage), read by app label:
    contacts sits below scoring and lifecycle and does not import them."""
    return list(apps.get_model(app_label, model)._meta.get_field(field).choices or ())


class ContactFilterForm(forms.Form):
    """The search box and filters of the contact list. A stale or bad value is ignored."""

    q = forms.CharField(required=False, max_length=200, label=_("Search"))
    prefecture = forms.TypedChoiceField(
        required=False, coerce=int, empty_value=None, label=_("Prefecture")
    )
    tag = forms.ChoiceField(required=False, label=_("Tag"))
    owner = forms.TypedChoiceField(required=False, coerce=int, empty_value=None, label=_("Owner"))
    industry = forms.ChoiceField(required=False, label=_("Industry"))
    temperature = forms.ChoiceField(required=False, label=_("Temperature"))
    stage = forms.ChoiceField(required=False, label=_("Lifecycle stage"))
    phone_review = forms.BooleanField(required=False, label=_("Phone number to check"))

    def __init__(
        self,
        data: Any,
        *,
        tags: Iterable[str],
        owners: Iterable[User],
    ) -> None:
        super().__init__(data)
        any_value = ("", _("All"))
        self.fields["prefecture"].choices = [any_value, *prefecture_choices()]  # type: ignore[attr-defined]
        self.fields["tag"].choices = [any_value, *((t, t) for t in tags)]  # type: ignore[attr-defined]
        self.fields["owner"].choices = [  # type: ignore[attr-defined]
            any_value,
            *((u.pk, user_name(u)) for u in owners),
        ]
        self.fields["industry"].choices = [any_value, *Industry.choices]  # type: ignore[attr-defined]
        temperatures = _stored_choices("scoring", "ScoreState", "temperature")
        stages = _stored_choices("lifecycle", "ContactStage", "stage")
        self.fields["temperature"].choices = [any_value, *temperatures]  # type: ignore[attr-defined]
        self.fields["stage"].choices = [any_value, *stages]  # type: ignore[attr-defined]

    def filters(self) -> dict[str, Any]:
        """Keyword arguments for ``selectors.contact_list``: the valid filters only."""
        self.is_valid()
        data = self.cleaned_data
        filters: dict[str, Any] = {
            "q": data.get("q") or "",
            "prefecture": data.get("prefecture"),
            "tag": data.get("tag") or "",
            "owner_id": data.get("owner"),
            "industry": data.get("industry") or "",
            "temperature": data.get("temperature") or "",
            "stage": data.get("stage") or "",
        }
        if data.get("phone_review"):
            filters["phone_needs_review"] = True
        return filters

    @property
    def is_filtered(self) -> bool:
        return any(self.filters().values())


class ContactForm(forms.Form):
    """Edit a contact. Blank text fields clear the value; custom fields are ``cf_<key>``."""

    family_name = forms.CharField(required=False, max_length=100, label=_label("family_name"))
    given_name = forms.CharField(required=False, max_length=100, label=_label("given_name"))
    family_name_kana = forms.CharField(
        required=False, max_length=100, label=_label("family_name_kana")
    )
    given_name_kana = forms.CharField(
        required=False, max_length=100, label=_label("given_name_kana")
    )
    email = forms.CharField(
        required=False,
        max_length=254,
        label=_label("email"),
        widget=forms.TextInput(attrs={"inputmode": "email", "autocomplete": "off"}),
    )
    phone = forms.CharField(
        required=False,
        max_length=100,
        label=_label("phone"),
        widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "off"}),
    )
    company_name = forms.CharField(required=False, max_length=200, label=_label("company"))
    department = forms.CharField(required=False, max_length=200, label=_label("department"))
    title = forms.CharField(required=False, max_length=200, label=_label("title"))
    postal_code = forms.CharField(required=False, max_length=10, label=_label("postal_code"))
    prefecture = forms.TypedChoiceField(
        required=False, coerce=int, empty_value=None, label=_label("prefecture")
    )
    address = forms.CharField(required=False, max_length=300, label=_label("address"))
    owner = forms.TypedChoiceField(
        required=False, coerce=int, empty_value=None, label=_label("owner")
    )
    tags = forms.CharField(
        required=False,
        max_length=1000,
        label=_label("tags"),
        help_text=_("Separate tags with commas."),
    )

    def __init__(
        self,
        data: Any = None,
        *,
        contact: Contact,
        tags: Sequence[str],
        owners: Iterable[User],
        definitions: Iterable[FieldDefinition],
    ) -> None:
        super().__init__(data, initial=self._initial(contact, tags))
        self.fields["prefecture"].choices = [("", "—"), *prefecture_choices()]  # type: ignore[attr-defined]
        self.fields["owner"].choices = [  # type: ignore[attr-defined]
            ("", "—"),
            *((u.pk, user_name(u)) for u in owners),
        ]
        self.definitions = list(definitions)
        for definition in self.definitions:
            name = f"cf_{definition.key}"
            self.fields[name] = self._custom_field(definition)
            self.initial[name] = self._custom_initial(
                definition, (contact.custom_fields or {}).get(definition.key)
            )

    @staticmethod
    def _initial(contact: Contact, tags: Sequence[str]) -> dict[str, Any]:
        names = (
            "family_name",
            "given_name",
            "family_name_kana",
            "given_name_kana",
            "email",
            "department",
            "title",
            "postal_code",
            "prefecture",
            "address",
        )
        initial: dict[str, Any] = {name: getattr(contact, name) for name in names}
        # As it was given (with 内線 or （代表）), so saving the form unchanged changes nothing.
        initial["phone"] = contact.phone_written or contact.phone
        initial["company_name"] = contact.company.name if contact.company else ""
        initial["owner"] = contact.owner_id
        initial["tags"] = ", ".join(tags)
        return initial

    @staticmethod
    def _custom_field(definition: FieldDefinition) -> forms.Field:
        label = definition.label
        if definition.type == FieldType.BOOLEAN:
            return forms.ChoiceField(
                required=False,
                label=label,
                choices=[("", "—"), ("true", _("Yes")), ("false", _("No"))],
            )
        if definition.type == FieldType.CHOICE:
            return forms.ChoiceField(
                required=False,
                label=label,
                choices=[("", "—"), *((str(c), str(c)) for c in definition.choices or [])],
            )
        if definition.type == FieldType.DATE:
            return forms.CharField(
                required=False, label=label, widget=forms.DateInput(attrs={"type": "date"})
            )
        if definition.type == FieldType.NUMBER:
            return forms.CharField(
                required=False, label=label, widget=forms.TextInput(attrs={"inputmode": "decimal"})
            )
        return forms.CharField(required=False, max_length=1000, label=label)

    @staticmethod
    def _custom_initial(definition: FieldDefinition, value: Any) -> str:
        if value is None:
            return ""
        if definition.type == FieldType.BOOLEAN:
            return "true" if value else "false"
        return str(value)

    def custom_field_names(self) -> list[str]:
        return [f"cf_{d.key}" for d in self.definitions]

    def to_input(self) -> ContactInput:
        """The cleaned data as the service's input (call after ``is_valid``)."""
        data = self.cleaned_data
        tags = [t.strip() for t in _TAG_SPLIT_RE.split(data["tags"]) if t.strip()]
        return ContactInput(
            family_name=data["family_name"],
            given_name=data["given_name"],
            family_name_kana=data["family_name_kana"],
            given_name_kana=data["given_name_kana"],
            email=data["email"],
            phone=data["phone"],
            company_name=data["company_name"],
            department=data["department"],
            title=data["title"],
            postal_code=data["postal_code"],
            prefecture=data["prefecture"],
            address=data["address"],
            owner_id=data["owner"],
            tags=tags,
            custom_fields={d.key: data[f"cf_{d.key}"] or None for d in self.definitions},
            clear=tuple(
                name
                for name, value in (("prefecture", data["prefecture"]), ("owner_id", data["owner"]))
                if value is None
            ),
        )

    def add_service_errors(self, exc: SokyakuError) -> None:
        """Show a service error: field errors on their fields, the rest above the form."""
        if isinstance(exc, Conflict) or not exc.field_errors:
            self.add_error(None, error_message(exc.message))
            return
        for key, message in exc.field_errors.items():
            field = (
                f"cf_{key.removeprefix('custom_fields.')}"
                if key.startswith("custom_fields.")
                else key
            )
            text = error_message(message, field=key)
            if field in self.fields:
                self.add_error(field, text)
            else:
                self.add_error(None, text)


class NoteForm(forms.Form):
    text = forms.CharField(
        label=_("Note"),
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": _("Write a note…")}),
    )


class MergeForm(forms.Form):
    """Confirm a merge: the other contact (the one merged away) by id."""

    other = forms.IntegerField(min_value=1, label=_("Contact ID"))
