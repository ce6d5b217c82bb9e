"""Django forms of the webhooks UI: they parse and show input; the services validate and write,
and their field errors come back onto the fields."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django import forms
from django.utils.translation import gettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from sokyaku.core import clock
from sokyaku.core.errors import SokyakuError
from sokyaku.webhooks import catalogue


class SubscriptionForm(forms.Form):
    url = forms.CharField(
        label=_("URL"),
        max_length=2000,
        help_text=_("https:// address of the receiving system (not a private network address)."),
        widget=forms.URLInput(attrs={"placeholder": "https://crm.example.co.jp/hooks/sokyaku"}),
    )
    description = forms.CharField(label=_("Description"), max_length=200, required=False)
    events = forms.MultipleChoiceField(
        label=_("Events"),
        choices=catalogue.choices,
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": _("Choose at least one event.")},
    )

    _FIELDS = {"url": "url", "events": "events", "description": "description"}

    def add_service_errors(self, exc: SokyakuError) -> None:
        """Put the service's field errors on the fields (translated where we have them)."""
        placed = False
        for name, message in exc.field_errors.items():
            field = self._FIELDS.get(name)
            if field is not None:
                self.add_error(field, gettext(message))
                placed = True
        if not placed:
            self.add_error(None, gettext(exc.message))


class ReplayForm(forms.Form):
    since = forms.DateTimeField(
        label=pgettext_lazy("period", "From"),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"],
    )
    until = forms.DateTimeField(
        label=pgettext_lazy("period", "Until"),
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"],
    )
    include_delivered = forms.BooleanField(
        label=_("Also those that were delivered"), required=False
    )

    def period(self) -> tuple[datetime, datetime | None]:
        data: dict[str, Any] = self.cleaned_data
        since = data["since"].astimezone(clock.TOKYO)
        until = data["until"].astimezone(clock.TOKYO) if data.get("until") else None
        return since, until
