"""Forms of core's settings pages: a staff user's own chat identities and a new API key."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class StaffIdentityForm(forms.Form):
    slack_member_id = forms.CharField(
        label=_("Slack member ID"),
        max_length=32,
        required=False,
        help_text=_(
            "In Slack: your profile → ⋮ → Copy member ID (U012AB3CD). Alerts in the team's "
            "Slack channel then mention you."
        ),
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    line_user_id = forms.CharField(
        label=_("LINE user ID"),
        max_length=33,
        required=False,
        help_text=_(
            "Your own LINE user ID for the team's LINE official account (U and 32 characters). "
            "Alerts for you are then pushed to your LINE."
        ),
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )

    def add_service_errors(self, field_errors: dict[str, str]) -> None:
        for name, message in field_errors.items():
            self.add_error(name if name in self.fields else None, message)


class ApiKeyForm(forms.Form):
    """A new API key: its name, the scopes offered to the user (only those they may give), and
    for admins whether it is a system key (acting for the installation)."""

    name = forms.CharField(
        label=pgettext_lazy("api key", "Name"),
        max_length=100,
        help_text=_("What the key is for, e.g. “CRM sync” or “web form relay”."),
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    scopes = forms.MultipleChoiceField(
        label=_("What the key may do"),
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": _("Choose at least one thing the key may do.")},
    )
    system = forms.BooleanField(
        label=_("System key"),
        required=False,
        help_text=_(
            "Acts for the installation and sees every record its scopes allow, whoever leaves "
            "the team. For integrations such as a CRM sync; otherwise the key acts as you."
        ),
    )

    def __init__(
        self, *args: Any, scopes: Sequence[tuple[str, Any]], may_system: bool, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["scopes"]
        assert isinstance(field, forms.MultipleChoiceField)
        field.choices = list(scopes)
        if not may_system:
            del self.fields["system"]

    def add_service_errors(self, field_errors: dict[str, str]) -> None:
        for name, message in field_errors.items():
            self.add_error(name if name in self.fields else None, message)
