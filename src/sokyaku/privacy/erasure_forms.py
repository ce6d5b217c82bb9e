"""The forms of the erasure pages: confirming an erasure by typing what the page shows, and the
retention policy."""

from __future__ import annotations

import unicodedata
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from sokyaku.contacts.models import Contact
from sokyaku.privacy.services.retention import YEARS_MAX, YEARS_MIN

_REASON_HELP = _(
    "Why, for the erasure log (e.g. “request by email of 5 May”). Do not write the person's "
    "name or address: the log keeps nothing that says who they were."
)


def _same(typed: str, expected: str) -> bool:
    """Equal once widths and spaces are ignored (山田 太郎 / 山田　太郎 / 山田太郎)."""

    def fold(value: str) -> str:
        return "".join(unicodedata.normalize("NFKC", value).split()).casefold()

    return bool(expected) and fold(typed) == fold(expected)


def erasure_confirmation(contact: Contact) -> str:
    """What an admin types to confirm the erasure: the name as the page shows it, surname first
    (the email when there is no name)."""
    return contact.display_name or contact.email or str(contact.pk)


class ContactErasureForm(forms.Form):
    confirm = forms.CharField(label=_("Type the person's name to confirm"), max_length=300)
    reason = forms.CharField(
        label=_("Reason"), max_length=300, required=False, help_text=_REASON_HELP
    )

    def __init__(self, *args: Any, contact: Contact, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.expected = erasure_confirmation(contact)
        self.fields["confirm"].help_text = _("Surname first, as shown: %(name)s") % {
            "name": self.expected
        }

    def clean_confirm(self) -> str:
        typed = str(self.cleaned_data["confirm"])
        if not _same(typed, self.expected):
            raise forms.ValidationError(_("This is not the name shown on this page."))
        return typed


class SegmentErasureForm(forms.Form):
    confirm = forms.IntegerField(label=_("Type the number of people to confirm"), min_value=0)
    reason = forms.CharField(
        label=_("Reason"), max_length=300, required=False, help_text=_REASON_HELP
    )

    def __init__(self, *args: Any, count: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.count = count

    def clean_confirm(self) -> int:
        typed = int(self.cleaned_data["confirm"])
        if typed != self.count:
            raise forms.ValidationError(_("This is not the number of people shown."))
        return typed


class RetentionForm(forms.Form):
    enabled = forms.BooleanField(label=_("Anonymise contacts with no activity"), required=False)
    inactive_years = forms.IntegerField(
        label=_("Years without activity"),
        min_value=YEARS_MIN,
        max_value=YEARS_MAX,
        help_text=_(
            "A contact nobody has heard from or worked on for this many years is erased by the "
            "daily task (03:30), logged like any erasure."
        ),
    )
