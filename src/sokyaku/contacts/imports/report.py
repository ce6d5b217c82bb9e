"""The error report of an import: each refused row with its number, what was wrong (in the
active language) and its cells as they were in the file, so it can be fixed and imported again
(the importer ignores the row-number and error columns)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from django.utils.functional import Promise
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from sokyaku.contacts.forms import error_message
from sokyaku.contacts.imports.mapping import CUSTOM_PREFIX, FIELDS
from sokyaku.contacts.models import FieldDefinition, ImportJob, ImportRowError

# Messages of the import itself (the contact services' ones are in ``forms.error_message``).
_MESSAGES: dict[str, Promise] = {
    "Unknown user.": _("No user with this name, username or email."),
    "A row with neither email nor phone needs a company name.": _(
        "A row with neither email nor phone needs a company name, or it could not be "
        "recognised on the next import."
    ),
    "This row could not be imported.": _("This row could not be imported."),
    "This data would make the contact the same person as another contact. "
    "Merge the two contacts instead.": _(
        "This row matches two different contacts. Merge them first, then import again."
    ),
}
_LABELS: dict[str, Promise] = {**FIELDS, "custom_fields": _("Custom fields")}


@dataclass(frozen=True)
class RowProblem:
    field: str  # label of the field in the active language ("" for the row as a whole)
    message: str


def problems(errors: Mapping[str, str], *, labels: Mapping[str, str]) -> list[RowProblem]:
    """A row's errors (field → service message) as the user reads them."""
    found: list[RowProblem] = []
    for name, message in errors.items():
        known = _MESSAGES.get(message)
        text = str(known) if known is not None else error_message(message, field=name)
        if name.startswith("custom_fields."):
            label = labels.get(f"{CUSTOM_PREFIX}{name.removeprefix('custom_fields.')}", "")
        else:
            label = labels.get(name, "")
        found.append(RowProblem(field=label, message=text))
    return found


def field_labels() -> dict[str, str]:
    """Field → label (custom fields as ``cf:<key>``) in the active language."""
    labels = {name: str(label) for name, label in _LABELS.items()}
    labels.update({f"{CUSTOM_PREFIX}{d.key}": d.label for d in FieldDefinition.objects.all()})
    return labels


def problems_text(items: list[RowProblem]) -> str:
    return " / ".join(f"{p.field}: {p.message}" if p.field else p.message for p in items)


def error_report_rows(job: ImportJob, errors: Iterator[ImportRowError]) -> Iterator[list[str]]:
    """The report as rows of text: header, then one row per refused row."""
    from sokyaku.contacts.export import neutralise
    from sokyaku.contacts.imports.run import job_table

    labels = field_labels()
    headers = job_table(job, limit=0).headers
    yield [neutralise(h) for h in [gettext("Row"), gettext("Errors"), *headers]]
    for error in errors:
        text = problems_text(problems(error.errors, labels=labels))
        cells = [str(error.values.get(h, "")) for h in headers]
        yield [neutralise(v) for v in [str(error.row_number), text, *cells]]
