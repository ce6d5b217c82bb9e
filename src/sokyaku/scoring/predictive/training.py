"""Training and applying the win-probability model (services: every write of predictive scoring).

- ``model_train`` fits a class-balanced logistic regression (counts and recency standardised,
  0/1 indicators left at unit scale) and a naive-Bayes baseline (Odoo-style frequency tables over
  categorical values) on contacts with a known outcome (``features.contact_outcome_rows``),
  measures both by ROC AUC with stratified 5-fold cross-validation on the same folds, then fits
  the stored model on every known outcome, stores its parameters as JSON (no pickles), activates
  it and scores every open contact. With too few outcomes it refuses, saying how many it needs.
- ``model_train_start`` records a "training" row and enqueues the worker task after commit; the
  task fills that same row.
- ``predict`` is pure numpy over the stored JSON; ``predictions_refresh`` rescores open contacts
  (all, or some) with the active model.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from django.contrib.auth.models import User
from django.db import transaction

from sokyaku.core import clock
from sokyaku.scoring.models import ModelStatus, Prediction, PredictiveModel
from sokyaku.scoring.predictive import features as F
from sokyaku.scoring.predictive.features import Outcome

logger = logging.getLogger(__name__)

# Fewer outcomes than this per class give an AUC measured on a handful of contacts: noise.
MIN_PER_CLASS = 30
# Outcomes are few (a held-out quarter of 60 wins is 15 contacts, and its AUC moves by ±0.07
# from one split to the next), so both models are measured on every outcome by k-fold.
CV_FOLDS = 5
# Inverse L2 strength. With indicators at unit scale, 1.0 did as well as a cross-validated
# choice on the demo data; a rare category can no longer be fitted for free (see ``_scaling``).
C = 1.0
CHUNK = 1000
REASONS = 3


# --- pure prediction -----------------------------------------------------------------------


@dataclass(frozen=True)
class Scored:
    probabilities: np.ndarray
    contributions: np.ndarray  # coef · x_scaled, one row per contact


def predict(*, parameters: dict[str, Any], x: np.ndarray) -> Scored:
    """Win probabilities for raw feature rows ``x`` under a stored model's ``parameters``."""
    mean = np.asarray(parameters["mean"], dtype=float)
    scale = np.asarray(parameters["scale"], dtype=float)
    coef = np.asarray(parameters["coef"], dtype=float)
    contributions = ((x - mean) / scale) * coef
    z = contributions.sum(axis=1) + float(parameters["intercept"])
    return Scored(probabilities=1.0 / (1.0 + np.exp(-z)), contributions=contributions)


def reasons_for(
    *, names: Sequence[str], raw: np.ndarray, contributions: np.ndarray
) -> list[dict[str, Any]]:
    """The three largest pushes towards a win among what the contact actually has or did.

    An absent attribute ("not in Hokkaido") is no reason a person can act on, so one-hot and
    count features count only when present; recency always counts.
    """
    candidates = [
        j
        for j, name in enumerate(names)
        if contributions[j] > 0 and (raw[j] > 0 or name.startswith("recency:"))
    ]
    candidates.sort(key=lambda j: -contributions[j])
    return [
        {
            "feature": names[j],
            "value": round(float(raw[j]), 4),
            "label": F.feature_label(names[j], float(raw[j])),
            "contribution": round(float(contributions[j]), 4),
        }
        for j in candidates[:REASONS]
    ]


# --- training ------------------------------------------------------------------------------


def _refusal(won: int, lost: int) -> str:
    return (
        f"Predictive scoring needs at least {MIN_PER_CLASS} won and {MIN_PER_CLASS} lost "
        f"contacts; there are {won} won and {lost} lost."
    )


def _scaling(names: Sequence[str], x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Column means and scales: counts and recency are divided by their standard deviation,
    0/1 indicators keep unit scale (and constant columns too).

    Standardising an indicator divides it by sqrt(p(1 − p)): a category seen on 1 of 100 contacts
    becomes a value of about 10, so the L2 penalty lets the model fit that one contact for almost
    nothing and then pushes every open contact of that category as hard. With some 60 one-hot
    columns, most of them rare values, that is how the regression overfitted.
    """
    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    indicator = np.array([F.is_indicator(name) for name in names], dtype=bool)
    scale[indicator | (scale == 0)] = 1.0
    return mean, scale


def _logistic(names: Sequence[str], x: np.ndarray, y: np.ndarray) -> dict[str, Any]:
    """Fit the logistic regression; returns the parameters ``predict`` reads."""
    # scikit-learn is imported where a model is fitted: loading it costs the web processes
    # about a second, and they only ever predict (with the stored parameters and numpy).
    from sklearn.linear_model import LogisticRegression

    mean, scale = _scaling(names, x)
    logistic = LogisticRegression(C=C, class_weight="balanced", max_iter=2000)
    logistic.fit((x - mean) / scale, y)
    return {
        "coef": [float(c) for c in logistic.coef_[0]],
        "intercept": float(logistic.intercept_[0]),
        "mean": [float(m) for m in mean],
        "scale": [float(s) for s in scale],
    }


def _fit(matrix: F.FeatureMatrix, *, seed: int) -> dict[str, Any]:
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedKFold
    from sklearn.naive_bayes import CategoricalNB

    known = matrix.rows(Outcome.WON) | matrix.rows(Outcome.LOST)
    x, cats = matrix.x[known], matrix.categories[known]
    y = matrix.rows(Outcome.WON)[known].astype(int)
    # Every category seen anywhere, so a value missing from a training fold is not an error.
    min_categories = matrix.categories.max(axis=0) + 1
    aucs: list[float] = []
    baseline_aucs: list[float] = []
    folds = StratifiedKFold(n_splits=CV_FOLDS, shuffle=True, random_state=seed)
    for train, test in folds.split(x, y):
        fold = _logistic(matrix.names, x[train], y[train])
        scored = predict(parameters=fold, x=x[test])
        aucs.append(float(roc_auc_score(y[test], scored.probabilities)))
        baseline = CategoricalNB(alpha=1.0, min_categories=min_categories)
        baseline.fit(cats[train], y[train])
        baseline_aucs.append(
            float(roc_auc_score(y[test], baseline.predict_proba(cats[test])[:, 1]))
        )
    return {
        "auc": float(np.mean(aucs)),
        "baseline_auc": float(np.mean(baseline_aucs)),
        "parameters": {
            # The model in use is fitted on every outcome; the AUCs above measure that recipe.
            **_logistic(matrix.names, x, y),
            "C": C,
            "seed": seed,
            "evaluation": f"stratified {CV_FOLDS}-fold cross-validation",
            "cv_folds": CV_FOLDS,
            "fold_aucs": [round(a, 4) for a in aucs],
            "baseline_fold_aucs": [round(a, 4) for a in baseline_aucs],
            "train_size": int(len(y)),
            "baseline": "CategoricalNB(alpha=1)",
        },
    }


def model_train(
    *, actor: User | None = None, seed: int = 0, model: PredictiveModel | None = None
) -> PredictiveModel:
    """Train, evaluate, activate and apply a model; returns the model row.

    Fills ``model`` (a "training" row from ``model_train_start``) or creates a row. Side effects:
    with enough outcomes the row becomes ready and active (the previous model is deactivated)
    and every open contact's ``Prediction`` is rewritten; with too few it is "refused" with a
    message naming the numbers needed and found; if fitting fails it is "failed" with the error.
    The active model changes only on success. Raises nothing for data problems.
    """
    now = clock.now()
    if model is None:
        model = PredictiveModel.objects.create(
            status=ModelStatus.TRAINING, trained_at=now, trained_by=actor
        )
    matrix = F.feature_matrix(now=now)
    won, lost = int(matrix.rows(Outcome.WON).sum()), int(matrix.rows(Outcome.LOST).sum())
    model.positives, model.negatives, model.trained_at = won, lost, now
    model.features = matrix.names
    if won < MIN_PER_CLASS or lost < MIN_PER_CLASS:
        model.status, model.message = ModelStatus.REFUSED, _refusal(won, lost)
        model.parameters = {"min_per_class": MIN_PER_CLASS}
        model.save(
            update_fields=[
                *("status", "message", "positives", "negatives", "trained_at"),
                *("features", "parameters"),
            ]
        )
        logger.info("predictive.refused", extra={"won": won, "lost": lost})
        return model
    try:
        fitted = _fit(matrix, seed=seed)
    except Exception as exc:  # a failed fit must leave a visible row, not a stuck "training"
        logger.exception("predictive.failed", extra={"model_id": model.pk})
        model.status, model.message = ModelStatus.FAILED, str(exc)[:2000]
        model.save(update_fields=["status", "message", "positives", "negatives", "trained_at"])
        return model
    with transaction.atomic():
        PredictiveModel.objects.filter(is_active=True).exclude(pk=model.pk).update(is_active=False)
        model.status, model.message, model.is_active = ModelStatus.READY, "", True
        model.auc, model.baseline_auc = fitted["auc"], fitted["baseline_auc"]
        model.parameters = fitted["parameters"]
        model.save()
        _write_predictions(model=model, matrix=matrix, now=now)
        # Contacts that are won, lost or gone now keep no stale probability.
        Prediction.objects.exclude(model=model).delete()
    logger.info(
        "predictive.trained",
        extra={"model_id": model.pk, "auc": model.auc, "baseline_auc": model.baseline_auc},
    )
    return model


def model_train_start(*, actor: User | None = None) -> PredictiveModel:
    """Record a "training" row and enqueue the worker task after commit; returns the row.

    Side effect: the task (``predictive_train_task``) fills this row via ``model_train``.
    """
    from sokyaku.scoring.predictive.tasks import predictive_train_task

    model = PredictiveModel.objects.create(
        status=ModelStatus.TRAINING, trained_at=clock.now(), trained_by=actor
    )
    transaction.on_commit(lambda: predictive_train_task(model.pk))
    return model


def model_train_run(*, model_id: int) -> PredictiveModel | None:
    """Fill a "training" row (the task's body); a row already finished is left alone, so
    running it twice is harmless."""
    model = PredictiveModel.objects.filter(pk=model_id, status=ModelStatus.TRAINING).first()
    if model is None:
        return None
    return model_train(model=model, actor=model.trained_by)


def predictive_demo_train() -> PredictiveModel:
    """Train synchronously (the demo loader calls this after lifecycle demo setup)."""
    return model_train(actor=None, seed=0)


# --- scoring open contacts -----------------------------------------------------------------


def _write_predictions(*, model: PredictiveModel, matrix: F.FeatureMatrix, now: Any) -> int:
    open_rows = np.flatnonzero(matrix.rows(Outcome.OPEN))
    written = 0
    for start in range(0, len(open_rows), CHUNK):
        rows = open_rows[start : start + CHUNK]
        scored = predict(parameters=model.parameters, x=matrix.x[rows])
        batch = [
            Prediction(
                contact_id=matrix.contact_ids[i],
                model=model,
                probability=float(scored.probabilities[k]),
                reasons=reasons_for(
                    names=model.features, raw=matrix.x[i], contributions=scored.contributions[k]
                ),
                computed_at=now,
            )
            for k, i in enumerate(rows)
        ]
        Prediction.objects.bulk_create(
            batch,
            update_conflicts=True,
            unique_fields=["contact"],
            update_fields=["model", "probability", "reasons", "computed_at"],
        )
        written += len(batch)
    return written


def predictions_refresh(*, contact_ids: Sequence[int] | None = None) -> int:
    """Rescore open contacts (all, or ``contact_ids``) with the active model; returns how many.

    Side effects: upserts their ``Prediction`` rows and deletes those of contacts among them
    that are no longer open. Without an active model it does nothing and returns 0.
    """
    model = PredictiveModel.objects.filter(is_active=True).first()
    if model is None:
        return 0
    now = clock.now()
    matrix = F.feature_matrix(contact_ids=contact_ids, now=now)
    if matrix.names != model.features:
        # The feature vocabulary changed since training (an upgrade): retrain first.
        logger.warning("predictive.stale_features", extra={"model_id": model.pk})
        return 0
    with transaction.atomic():
        written = _write_predictions(model=model, matrix=matrix, now=now)
        closed = [
            c for c, o in zip(matrix.contact_ids, matrix.outcomes, strict=True) if o != Outcome.OPEN
        ]
        if closed:
            Prediction.objects.filter(contact_id__in=closed).delete()
    return written


def prediction_refresh(*, contact_id: int) -> Prediction | None:
    """Rescore one contact with the active model (e.g. after new activity); returns its
    prediction, or None without a model or when the contact is won/lost."""
    predictions_refresh(contact_ids=[contact_id])
    return Prediction.objects.filter(contact_id=contact_id).first()
