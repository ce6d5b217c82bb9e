"""Forms of the import UI: the upload, and the mapping step (a field per column, the options).

Forms only parse input; ``imports.run`` checks the mapping and options and raises
``ValidationError`` whose field errors come back onto the form.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from sokyaku.campaigns.models import Campaign, Channel
from sokyaku.consent.models import LegalBasis
from sokyaku.contacts.imports.mapping import CUSTOM_NEW, IGNORE, field_choices
from sokyaku.contacts.imports.run import ImportOptions
from sokyaku.contacts.models import FieldDefinition, UpdatePolicy

MAX_UPLOAD_BYTES = 50 * 1024 * 1024
_TAG_SPLIT_RE = re.compile(r"[,、，]")


class UploadForm(forms.Form):
    file = forms.FileField(
        label=_("File"),
        help_text=_(
            "CSV (UTF-8 or Shift_JIS) or Excel (.xlsx), up to 50 MB. "
            "The first row names the columns."
        ),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.txt,.tsv,.xlsx"}),
    )

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        if upload.size > MAX_UPLOAD_BYTES:
            raise forms.ValidationError(
                _("The file is larger than 50 MB. Split it into smaller files.")
            )
        return upload


class MappingForm(forms.Form):
    """One choice per column (``col_<n>``) and what it does to a known contact's stored value
    (``pol_<n>``: fill empty / overwrite / keep), then the options for the whole file."""

    source = forms.CharField(
        required=False,
        max_length=200,
        label=pgettext_lazy("contacts import", "Source"),
        help_text=_("Where these people were met, e.g. 展示会 X 2026. Kept with the legal basis."),
    )
    legal_basis = forms.ChoiceField(
        required=False,
        label=_("Legal basis for marketing mail"),
        help_text=_("Recorded for every contact in the file and every active consent topic."),
    )
    tags = forms.CharField(
        required=False,
        max_length=1000,
        label=_("Tags"),
        help_text=_("Added to every contact in the file. Separate tags with commas."),
    )
    channel = forms.TypedChoiceField(
        required=False,
        coerce=int,
        empty_value=None,
        label=_("Channel"),
        help_text=_("Set as the first-touch channel of contacts that have none."),
    )
    campaign = forms.TypedChoiceField(
        required=False,
        coerce=int,
        empty_value=None,
        label=_("Campaign"),
        help_text=_("Recorded as a touch of every contact in the file."),
    )

    def __init__(
        self,
        data: Any = None,
        *,
        headers: Sequence[str],
        mapping: dict[str, str],
        policies: dict[str, str] | None = None,
        definitions: Iterable[FieldDefinition],
        channels: Iterable[Channel],
        campaigns: Iterable[Campaign],
        initial: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(data, initial=initial)
        self.headers = list(headers)
        choices = field_choices(definitions)
        for number, header in enumerate(self.headers):
            name = f"col_{number}"
            self.fields[name] = forms.ChoiceField(required=False, choices=choices, label=header)
            self.initial.setdefault(name, mapping.get(header, IGNORE))
            self.fields[f"pol_{number}"] = forms.ChoiceField(
                required=False,
                choices=UpdatePolicy.choices,
                label=_("When the contact already has a value"),
            )
            target = mapping.get(header, IGNORE)
            self.initial.setdefault(
                f"pol_{number}", (policies or {}).get(target, UpdatePolicy.FILL)
            )
        self.fields["legal_basis"].choices = [  # type: ignore[attr-defined]
            ("", _("Do not record a legal basis")),
            *LegalBasis.choices,
        ]
        self.fields["channel"].choices = [  # type: ignore[attr-defined]
            ("", "—"),
            *((c.pk, c.name) for c in channels),
        ]
        self.fields["campaign"].choices = [  # type: ignore[attr-defined]
            ("", "—"),
            *((c.pk, f"{c.name} ({c.utm_campaign})") for c in campaigns),
        ]

    def column_fields(self) -> list[tuple[str, forms.BoundField, forms.BoundField]]:
        """(column name, its field, its update policy) in file order."""
        return [
            (header, self[f"col_{n}"], self[f"pol_{n}"]) for n, header in enumerate(self.headers)
        ]

    def policies(self) -> dict[str, str]:
        """The update policy by import field (by column for a new custom field)."""
        data = self.cleaned_data
        chosen: dict[str, str] = {}
        for n, header in enumerate(self.headers):
            target, policy = data.get(f"col_{n}"), data.get(f"pol_{n}") or UpdatePolicy.FILL
            if target and target not in ("tags", "note"):
                chosen[header if target == CUSTOM_NEW else target] = policy
        return chosen

    def mapping(self) -> dict[str, str]:
        """``{column: field}`` of the columns that are imported (call after ``is_valid``)."""
        data = self.cleaned_data
        return {
            header: data[f"col_{n}"]
            for n, header in enumerate(self.headers)
            if data.get(f"col_{n}")
        }

    def options(self) -> ImportOptions:
        data = self.cleaned_data
        return ImportOptions(
            source=data.get("source") or "",
            legal_basis=data.get("legal_basis") or "",
            tags=[t.strip() for t in _TAG_SPLIT_RE.split(data.get("tags") or "") if t.strip()],
            channel_id=data.get("channel"),
            campaign_id=data.get("campaign"),
            policies=self.policies(),
        )
