"""Reads of predictive scoring, permission-checked for the user asking (``None`` = the system)."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import QuerySet

from sokyaku.core.errors import PermissionDenied
from sokyaku.scoring.models import ModelStatus, Prediction, PredictiveModel
from sokyaku.scoring.predictive.features import feature_label

AnyUser = User | AnonymousUser
VIEW = "scoring.view_predictivemodel"
TRAIN = "scoring.add_predictivemodel"


def _require(user: AnyUser | None, perm: str = VIEW) -> None:
    if user is not None and not user.has_perm(perm):
        raise PermissionDenied("You do not have permission to see predictive scoring.")


def model_active_get(*, user: AnyUser | None) -> PredictiveModel | None:
    _require(user)
    return PredictiveModel.objects.filter(is_active=True).select_related("trained_by").first()


def model_training_get(*, user: AnyUser | None) -> PredictiveModel | None:
    """The training still running, if any."""
    _require(user)
    return PredictiveModel.objects.filter(status=ModelStatus.TRAINING).first()


def model_list(*, user: AnyUser | None, limit: int = 20) -> list[PredictiveModel]:
    """The latest trainings (ready, refused, failed, running), newest first."""
    _require(user)
    return list(PredictiveModel.objects.select_related("trained_by")[:limit])


@dataclass(frozen=True)
class Weight:
    feature: str
    label: str
    coefficient: float


def model_top_features(*, model: PredictiveModel, limit: int = 10) -> list[Weight]:
    """The features with the largest coefficients (per standard deviation), either sign."""
    coef = model.parameters.get("coef", [])
    pairs = sorted(zip(model.features, coef, strict=False), key=lambda p: -abs(p[1]))
    return [Weight(f, feature_label(f), c) for f, c in pairs[:limit] if c != 0]


def prediction_top_list(*, user: AnyUser | None, limit: int = 20) -> QuerySet[Prediction]:
    """Open contacts most likely to win, with their contact (one query)."""
    _require(user)
    return (
        Prediction.objects.filter(contact__merged_into__isnull=True)
        .select_related("contact", "contact__company", "model")
        .order_by("-probability", "contact_id")[:limit]
    )


def prediction_get(*, user: AnyUser | None, contact_id: int) -> Prediction | None:
    _require(user)
    return Prediction.objects.filter(contact_id=contact_id).select_related("model").first()
