"""Forms of core's settings pages: a staff user's own chat identities."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _


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
