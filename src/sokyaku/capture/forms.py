"""Django forms of the capture UI: form settings, the field builder, landing pages and blocks.

They only parse and show input. Each turns its data into the services' input
(``FormInput``, ``FieldSpec``, ``PageInput``, ``BlockSpec``); the services validate and write,
and their field errors (English source strings) come back onto the fields translated
(``add_service_errors``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from django import forms
from django.conf import settings
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from sokyaku.capture import kinds
from sokyaku.capture.models import BlockKind, FieldType, LandingPage, PageBlock
from sokyaku.capture.models import Form as CaptureForm
from sokyaku.capture.services.forms import ConsentSpec, FieldSpec, FormInput
from sokyaku.capture.services.pages import BlockSpec, PageInput
from sokyaku.consent.models import ConsentTopic, PurposeText
from sokyaku.contacts.models import FieldDefinition
from sokyaku.core.errors import SokyakuError

_SPLIT_RE = re.compile(r"[,、，]")


def _lines(text: str) -> list[str]:
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


class ServiceErrors:
    """Put a service's ``ValidationError`` onto a Django form, translated."""

    # Service field name → form field name, where they differ.
    field_map: Mapping[str, str] = {}

    def add_service_errors(self, exc: SokyakuError) -> None:
        form: forms.Form = self  # type: ignore[assignment]
        if not exc.field_errors:
            form.add_error(None, gettext(exc.message))
            return
        for key, message in exc.field_errors.items():
            name = self.field_map.get(key) or self.field_map.get(key.split(".")[0]) or key
            name = name.split(".")[-1] if name not in form.fields else name
            if name in form.fields:
                form.add_error(name, gettext(message))
            else:
                form.add_error(None, gettext(message))


def kind_choices() -> list[tuple[str, str]]:
    return [(k.key, str(k.label)) for k in kinds.form_kinds()]


def _option_field_name(kind: kinds.FormKind) -> str:
    return f"option_{kind.key}"


class KindOptionFields:
    """The pickers of the kinds that point at something (which asset, which webinar): one
    select per such kind, ``option_<kind>``, shown by the template for the chosen kind only."""

    def kind_options_add(self, *, kind: str, options: Mapping[str, Any]) -> None:
        form: forms.Form = self  # type: ignore[assignment]
        self.option_rows: list[dict[str, Any]] = []
        for item in kinds.form_kinds():
            if item.option is None:
                continue
            name = _option_field_name(item)
            choices = item.option.choices()
            form.fields[name] = forms.TypedChoiceField(
                label=str(item.option.label),
                required=False,
                coerce=int,
                empty_value=None,
                choices=[("", gettext("Please choose")), *choices],
                initial=options.get(item.option.key) if kind == item.key else None,
            )
            self.option_rows.append(
                {"kind": item, "field": name, "empty": not choices, "option": item.option}
            )

    def option_bound_rows(self) -> list[dict[str, Any]]:
        form: forms.Form = self  # type: ignore[assignment]
        return [{**row, "bound": form[row["field"]]} for row in self.option_rows]

    def kind_options_clean(self) -> None:
        """A kind that points at something needs its pick (the service checks it exists)."""
        form: forms.Form = self  # type: ignore[assignment]
        kind = kinds.form_kind_get(form.cleaned_data.get("kind") or "")
        if kind is not None and kind.option is not None:
            name = _option_field_name(kind)
            if form.cleaned_data.get(name) is None:
                form.add_error(name, gettext("Choose one."))

    def kind_options(self) -> dict[str, Any]:
        """The chosen kind's options, as the services take them (``{"asset": 3}``)."""
        form: forms.Form = self  # type: ignore[assignment]
        kind = kinds.form_kind_get(form.cleaned_data.get("kind") or "")
        if kind is None or kind.option is None:
            return {}
        return {kind.option.key: form.cleaned_data.get(_option_field_name(kind))}

    def kind_option_errors(self, exc: SokyakuError) -> bool:
        """Put the service's ``kind_options.*`` errors on the chosen kind's picker."""
        form: forms.Form = self  # type: ignore[assignment]
        kind = kinds.form_kind_get(form.cleaned_data.get("kind") or "")
        found = {k: v for k, v in exc.field_errors.items() if k.startswith("kind_options")}
        if kind is None or kind.option is None or not found:
            return False
        for message in found.values():
            form.add_error(_option_field_name(kind), gettext(message))
        exc.field_errors = {k: v for k, v in exc.field_errors.items() if k not in found}
        return True


class FormCreateForm(KindOptionFields, forms.Form):
    name = forms.CharField(
        label=_("Form name"), max_length=200, help_text=_("Shown only to your team.")
    )
    kind = forms.ChoiceField(label=_("Kind"), widget=forms.RadioSelect, initial=kinds.STANDARD)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = kind_choices()  # type: ignore[attr-defined]
        self.kind_options_add(kind="", options={})

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        self.kind_options_clean()
        return cleaned

    def kind_rows(self) -> list[dict[str, Any]]:
        """Each kind as a choice with its description (the page shows them as cards)."""
        descriptions = {k.key: k.description for k in kinds.form_kinds()}
        return [
            {"radio": radio, "description": descriptions.get(str(radio.data["value"]), "")}
            for radio in self["kind"]
        ]


class FormSettingsForm(KindOptionFields, ServiceErrors, forms.Form):
    """Everything about a form except its fields (the builder has those)."""

    field_map = {"consents": "__all__"}

    name = forms.CharField(label=_("Form name"), max_length=200)
    slug = forms.CharField(
        label=_("Web address"), max_length=80, help_text=_("The form is at /f/<address>.")
    )
    kind = forms.ChoiceField(label=_("Kind"))
    language = forms.ChoiceField(label=_("Language"), choices=settings.LANGUAGES)
    title = forms.CharField(label=_("Heading"), max_length=200, required=False)
    introduction = forms.CharField(
        label=_("Introduction"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    submit_label = forms.CharField(
        label=_("Submit button"), max_length=50, required=False, help_text=_("Default: Submit")
    )
    purpose_key = forms.ChoiceField(label=_("Purpose-of-use text (利用目的)"), required=False)
    purpose_title = forms.CharField(label=_("Heading of the text"), max_length=200, required=False)
    purpose_body = forms.CharField(
        label=_("Body text"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text=_("Every change is kept as a new version; consents record the version shown."),
    )
    require_agreement = forms.BooleanField(
        label=_("Ask people to tick “I agree” to the purpose of use"), required=False
    )
    double_opt_in = forms.BooleanField(
        label=_("Double opt-in: consents count only after the emailed link is confirmed"),
        required=False,
    )
    thank_you_message = forms.CharField(
        label=_("Thank-you message"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    redirect_url = forms.CharField(
        label=_("Redirect after submit"),
        max_length=500,
        required=False,
        help_text=_("Optional. Must be on this site or on a site allowed below."),
    )
    allowed_origins = forms.CharField(
        label=_("Sites allowed to embed this form"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": "https://www.example.co.jp"}),
        help_text=_(
            "One per line: https://www.example.co.jp, www.example.co.jp or *.example.co.jp."
        ),
    )
    rate_limit = forms.IntegerField(
        label=_("Submissions per IP address per hour"),
        min_value=0,
        max_value=10_000,
        help_text=_("0 switches the limit off."),
    )
    min_fill_seconds = forms.IntegerField(
        label=_("Minimum fill time (seconds)"),
        min_value=0,
        max_value=3600,
        help_text=_("Faster submissions are treated as bots."),
    )
    tags = forms.CharField(
        label=_("Tags for new and returning contacts"),
        required=False,
        max_length=1000,
        help_text=_("Separate tags with commas."),
    )

    def __init__(
        self,
        data: Any = None,
        *,
        form: CaptureForm,
        texts: Sequence[PurposeText],
        topics: Sequence[ConsentTopic],
    ) -> None:
        own_key = f"form-{form.pk}"
        own = next((t for t in texts if t.key == own_key), None)
        shared = [t for t in texts if t.key != own_key]
        initial = {
            "name": form.name,
            "slug": form.slug,
            "kind": form.kind,
            "language": form.language,
            "title": form.title,
            "introduction": form.introduction,
            "submit_label": form.submit_label,
            "purpose_key": form.purpose_key if form.purpose_key != own_key else "",
            "purpose_title": own.title if own else "",
            "purpose_body": own.body if own else "",
            "require_agreement": form.require_agreement,
            "double_opt_in": form.double_opt_in,
            "thank_you_message": form.thank_you_message,
            "redirect_url": form.redirect_url,
            "allowed_origins": "\n".join(form.allowed_origins or []),
            "rate_limit": form.rate_limit,
            "min_fill_seconds": form.min_fill_seconds,
            "tags": ", ".join(form.tags or []),
        }
        super().__init__(data, initial=initial)
        self.fields["kind"].choices = kind_choices()  # type: ignore[attr-defined]
        self.kind_options_add(kind=form.kind, options=form.kind_options or {})
        self.current_kind = form.kind
        self.fields["purpose_key"].choices = [  # type: ignore[attr-defined]
            ("", gettext("Write a text for this form (below)")),
            *(
                (
                    t.key,
                    gettext("%(title)s (version %(version)d)")
                    % {
                        "title": t.title,
                        "version": t.version,
                    },
                )
                for t in shared
            ),
        ]
        self.topics = list(topics)
        chosen = {c.topic_id: c for c in form.consents.all()}
        for topic in self.topics:
            current = chosen.get(topic.pk)
            self.fields[f"consent_{topic.pk}"] = forms.BooleanField(
                label=topic.name, required=False, initial=current is not None
            )
            self.fields[f"consent_{topic.pk}_label"] = forms.CharField(
                label=_("Text beside the checkbox"),
                max_length=300,
                required=False,
                initial=current.label if current else topic.name,
            )
            self.fields[f"consent_{topic.pk}_required"] = forms.BooleanField(
                label=_("Must be ticked"),
                required=False,
                initial=current.required if current else False,
            )

    def consent_rows(self) -> list[dict[str, Any]]:
        return [
            {
                "topic": topic,
                "offer": self[f"consent_{topic.pk}"],
                "label": self[f"consent_{topic.pk}_label"],
                "required": self[f"consent_{topic.pk}_required"],
            }
            for topic in self.topics
        ]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        self.kind_options_clean()
        return cleaned

    def to_input(self) -> FormInput:
        data = self.cleaned_data
        own = not data["purpose_key"]
        return FormInput(
            name=data["name"],
            slug=data["slug"],
            kind=data["kind"],
            kind_options=self._kind_options_input(),
            language=data["language"],
            title=data["title"],
            introduction=data["introduction"],
            submit_label=data["submit_label"],
            purpose_key=None if own and data["purpose_body"].strip() else data["purpose_key"],
            purpose_title=data["purpose_title"] if own else None,
            purpose_body=data["purpose_body"] if own else None,
            require_agreement=data["require_agreement"],
            double_opt_in=data["double_opt_in"],
            thank_you_message=data["thank_you_message"],
            redirect_url=data["redirect_url"],
            allowed_origins=_lines(data["allowed_origins"]),
            rate_limit=data["rate_limit"],
            min_fill_seconds=data["min_fill_seconds"],
            tags=[t.strip() for t in _SPLIT_RE.split(data["tags"]) if t.strip()],
            consents=[
                ConsentSpec(
                    topic=topic.key,
                    label=data.get(f"consent_{topic.pk}_label") or topic.name,
                    required=bool(data.get(f"consent_{topic.pk}_required")),
                )
                for topic in self.topics
                if data.get(f"consent_{topic.pk}")
            ],
        )

    def _kind_options_input(self) -> dict[str, Any] | None:
        """The picked option; for a kind without a picker, options set through the API stay
        while the kind stays, and go when it changes."""
        kind = kinds.form_kind_get(self.cleaned_data["kind"])
        if kind is not None and kind.option is not None:
            return self.kind_options()
        return None if self.cleaned_data["kind"] == self.current_kind else {}

    def add_service_errors(self, exc: SokyakuError) -> None:
        if self.kind_option_errors(exc) and not exc.field_errors:
            return
        if any(k.startswith("allowed_origins.") for k in exc.field_errors):
            exc.field_errors = {
                ("allowed_origins" if k.startswith("allowed_origins.") else k): v
                for k, v in exc.field_errors.items()
            }
        super().add_service_errors(exc)


class FieldForm(ServiceErrors, forms.Form):
    """One field of the builder (adding or changing)."""

    type = forms.ChoiceField(label=_("Type"), choices=FieldType.choices)
    label = forms.CharField(label=_("Label"), max_length=200)
    required = forms.BooleanField(label=_("Required"), required=False)
    help_text = forms.CharField(label=_("Help text"), max_length=500, required=False)
    options = forms.CharField(
        label=_("Options (one per line)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("For drop-down lists and checkboxes. Without options, a checkbox is yes/no."),
    )
    default_value = forms.CharField(
        label=_("Value (hidden fields)"),
        max_length=500,
        required=False,
        help_text=_("A URL parameter of the same name replaces it."),
    )
    key = forms.CharField(
        label=_("Key"),
        max_length=50,
        required=False,
        help_text=_(
            "Name in exports and the API (letters, digits, _). Made from the label if empty."
        ),
    )
    custom_field_key = forms.ChoiceField(label=_("Save to custom field"), required=False)

    def __init__(
        self,
        data: Any = None,
        *,
        definitions: Iterable[FieldDefinition],
        initial: Mapping[str, Any] | None = None,
        prefix: str | None = None,
    ) -> None:
        super().__init__(data, initial=dict(initial or {}), prefix=prefix)
        self.fields["custom_field_key"].choices = [  # type: ignore[attr-defined]
            ("", "—"),
            *((d.key, d.label) for d in definitions),
        ]

    @staticmethod
    def initial_of(spec: FieldSpec) -> dict[str, Any]:
        return {
            "type": spec.type,
            "label": spec.label,
            "required": spec.required,
            "help_text": spec.help_text,
            "options": "\n".join(spec.options),
            "default_value": spec.default_value,
            "key": spec.key,
            "custom_field_key": spec.custom_field_key,
        }

    def to_spec(self) -> FieldSpec:
        data = self.cleaned_data
        return FieldSpec(
            type=data["type"],
            label=data["label"],
            key=data["key"].strip(),
            required=data["required"],
            help_text=data["help_text"],
            options=_lines(data["options"]),
            default_value=data["default_value"],
            custom_field_key=data["custom_field_key"],
        )


class PageSettingsForm(ServiceErrors, forms.Form):
    title = forms.CharField(label=_("Page title"), max_length=200)
    slug = forms.CharField(
        label=_("Web address"), max_length=80, help_text=_("The page is at /p/<address>.")
    )
    description = forms.CharField(
        label=_("Description (for search engines and shares)"), max_length=300, required=False
    )
    language = forms.ChoiceField(label=_("Language"), choices=settings.LANGUAGES)

    def __init__(self, data: Any = None, *, page: LandingPage) -> None:
        super().__init__(
            data,
            initial={
                "title": page.title,
                "slug": page.slug,
                "description": page.description,
                "language": page.language,
            },
        )

    def to_input(self) -> PageInput:
        data = self.cleaned_data
        return PageInput(
            title=data["title"],
            slug=data["slug"],
            description=data["description"],
            language=data["language"],
        )


class PageCreateForm(forms.Form):
    title = forms.CharField(label=_("Page title"), max_length=200)


class BlockForm(ServiceErrors, forms.Form):
    kind = forms.ChoiceField(label=_("Kind"), choices=BlockKind.choices)
    text = forms.CharField(
        label=_("Text"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_(
            "Heading text, Markdown (**bold**, lists, [links](https://…)), the image's "
            "description, or the button label."
        ),
    )
    url = forms.CharField(
        label=_("URL"),
        max_length=1000,
        required=False,
        help_text=_("The image's address, or where the button leads."),
    )
    form = forms.TypedChoiceField(label=_("Form"), required=False, coerce=int, empty_value=None)

    def __init__(
        self,
        data: Any = None,
        *,
        forms_available: Iterable[CaptureForm],
        block: PageBlock | None = None,
        prefix: str | None = None,
    ) -> None:
        initial = (
            {"kind": block.kind, "text": block.text, "url": block.url, "form": block.form_id}
            if block
            else None
        )
        super().__init__(data, initial=initial, prefix=prefix)
        self.fields["form"].choices = [  # type: ignore[attr-defined]
            ("", "—"),
            *((f.pk, f.name) for f in forms_available),
        ]

    def to_spec(self) -> BlockSpec:
        data = self.cleaned_data
        return BlockSpec(
            kind=data["kind"], text=data["text"], url=data["url"].strip(), form_id=data["form"]
        )
