"""Forms of the consent settings pages."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class TopicForm(forms.Form):
    key = forms.SlugField(
        label=_("Key"), max_length=50, help_text=_("Used by forms and the API; cannot change.")
    )
    name = forms.CharField(label=pgettext_lazy("object", "Name"), max_length=100)
    description = forms.CharField(
        label=_("Description"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    is_active = forms.BooleanField(label=_("Active"), required=False, initial=True)


class PurposeTextForm(forms.Form):
    key = forms.SlugField(label=_("Key"), max_length=50)
    title = forms.CharField(label=pgettext_lazy("document title", "Title"), max_length=200)
    body = forms.CharField(
        label=_("Text shown to people"), widget=forms.Textarea(attrs={"rows": 10})
    )
