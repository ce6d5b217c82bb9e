"""``{% prediction_panel contact %}`` for the contact page: win probability, top three reasons,
the model's date, or "no model yet" with a link to train."""

from __future__ import annotations

from typing import Any

from django import template
from django.template.loader import render_to_string
from django.utils.safestring import SafeString

from sokyaku.contacts.models import Contact
from sokyaku.scoring.models import Prediction, PredictiveModel
from sokyaku.scoring.predictive import selectors
from sokyaku.scoring.predictive.features import (
    Outcome,
    contact_outcome_rows,
    feature_label,
    outcome_of,
)

register = template.Library()


def reason_labels(prediction: Prediction) -> list[str]:
    """Reasons in the active language (the stored English label is for exports and the API)."""
    return [
        feature_label(r["feature"], r.get("value")) if "feature" in r else str(r.get("label", ""))
        for r in prediction.reasons
    ]


@register.simple_tag(takes_context=True)
def prediction_panel(context: template.Context, contact: Contact) -> SafeString:
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not user.has_perm(selectors.VIEW):
        return SafeString("")
    prediction = selectors.prediction_get(user=user, contact_id=contact.pk)
    data: dict[str, Any] = {
        "prediction": prediction,
        "reasons": reason_labels(prediction) if prediction else [],
        "has_model": PredictiveModel.objects.filter(is_active=True).exists(),
        "can_view": True,
        "can_train": user.has_perm(selectors.TRAIN),
        "outcome": "",
    }
    if prediction is None and data["has_model"]:
        row = contact_outcome_rows(contact_ids=[contact.pk])
        outcome = outcome_of(row[0]) if row else Outcome.OPEN
        data["outcome"] = "" if outcome == Outcome.OPEN else outcome.value
    return render_to_string("scoring/predictive/panel.html", data, request=request)
