"""Forms of the lifecycle pages: MQL rule editor (name, description, active — the conditions are
the segments condition builder's), SQL criteria, stage move, BANT entry.

The forms only parse; services validate the domain (unknown stage, past timeline …) and their
field errors are put back on the form by the views.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from sokyaku.lifecycle.models import Authority, BudgetBand, Stage, TimelineBand


class RuleForm(forms.Form):
    """The rule's own fields; its conditions come from the condition builder's inputs."""

    name = forms.CharField(label=pgettext_lazy("object", "Name"), max_length=150)
    description = forms.CharField(
        label=_("Description"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    is_active = forms.BooleanField(label=_("Active"), required=False, initial=True)


class SqlCriteriaForm(forms.Form):
    require_budget = forms.BooleanField(label=_("Budget known"), required=False)
    require_authority = forms.BooleanField(label=_("Authority known"), required=False)
    require_decision_maker = forms.BooleanField(
        label=_("Authority is the decision maker"), required=False
    )
    require_need = forms.BooleanField(label=_("Need known"), required=False)
    require_timeline = forms.BooleanField(label=_("Timeline known"), required=False)
    timeline_within_months = forms.IntegerField(
        label=_("Timeline within (months)"), min_value=1, max_value=60
    )


def _stage_choices() -> list[tuple[str, Any]]:
    return [("", _("Choose a stage")), *Stage.choices]


class MoveForm(forms.Form):
    to_stage = forms.ChoiceField(label=_("Move to"), choices=_stage_choices)
    reason = forms.CharField(
        label=_("Reason"),
        max_length=300,
        required=False,
        help_text=_("Required for recycled and disqualified."),
    )


class BantForm(forms.Form):
    # Text, not a number field: "¥1,200,000" is what reps type; the service reads it.
    budget_amount_jpy = forms.CharField(
        label=_("Budget (JPY)"),
        required=False,
        max_length=30,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "placeholder": "2,400,000"}),
    )
    budget_band = forms.ChoiceField(
        label=_("or budget band"), choices=BudgetBand.choices, required=False
    )
    authority = forms.ChoiceField(label=_("Authority"), choices=Authority.choices, required=False)
    need = forms.CharField(
        label=_("Need"), required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )
    need_tags = forms.CharField(
        label=_("Need tags"),
        required=False,
        max_length=500,
        help_text=_("Separated by commas."),
    )
    # Text, so a bad date reaches the service and gets its field error there.
    timeline_date = forms.CharField(
        label=_("Timeline"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    timeline_band = forms.ChoiceField(
        label=_("or timeline band"), choices=TimelineBand.choices, required=False
    )
