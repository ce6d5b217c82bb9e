"""Training the win-probability model: refusal, cross-validated AUCs, reasons, the task path."""

from __future__ import annotations

import math
from datetime import timedelta

import numpy as np
import pytest

from sokyaku.activity import listeners
from sokyaku.activity.models import EventType
from sokyaku.activity.services import event_ingest_batch
from sokyaku.core import clock
from sokyaku.lifecycle.models import Stage
from sokyaku.scoring.models import ModelStatus, Prediction, PredictiveModel
from sokyaku.scoring.predictive import features as F
from sokyaku.scoring.predictive import training
from tests.scoring.test_predictive_features import (
    NOW,
    event,
    make_company,
    make_contact,
    outcome_dataset,
    set_stage,
)

pytestmark = pytest.mark.django_db


def test_refuses_with_too_few_outcomes_and_names_the_numbers(marketer) -> None:  # type: ignore[no-untyped-def]
    # given 40 contacts: about 30 with an outcome, far fewer than 30 won and 30 lost
    with clock.frozen(NOW):
        data = outcome_dataset(size=40)

        # when
        model = training.model_train(actor=marketer)

    # then nothing is activated and the message says what is needed and what exists
    assert model.status == ModelStatus.REFUSED
    assert not model.is_active
    assert model.message == (
        f"Predictive scoring needs at least 30 won and 30 lost contacts; "
        f"there are {len(data.won)} won and {len(data.lost)} lost."
    )
    assert (model.positives, model.negatives) == (len(data.won), len(data.lost))
    assert not Prediction.objects.exists()


def test_trains_both_models_and_scores_open_contacts_with_reasons(marketer) -> None:  # type: ignore[no-untyped-def]
    # given contacts whose wins are driven by webinar attendance and seniority
    with clock.frozen(NOW):
        data = outcome_dataset(size=320)

        # when
        model = training.model_train(actor=marketer, seed=0)

    # then both AUCs are the means of the same five stratified folds, the logistic one clearly
    # above chance, and the stored model is fitted on every outcome
    assert model.status == ModelStatus.READY
    assert model.is_active
    assert model.auc is not None
    assert model.baseline_auc is not None
    assert model.auc > 0.7
    assert 0.5 < model.baseline_auc <= 1.0
    assert (model.positives, model.negatives) == (len(data.won), len(data.lost))
    assert model.parameters["cv_folds"] == 5
    assert model.auc == pytest.approx(np.mean(model.parameters["fold_aucs"]), abs=1e-3)
    assert model.baseline_auc == pytest.approx(
        np.mean(model.parameters["baseline_fold_aucs"]), abs=1e-3
    )
    assert model.parameters["train_size"] == len(data.won) + len(data.lost)
    # and the drivers carry the largest positive weights
    weights = dict(zip(model.features, model.parameters["coef"], strict=True))
    assert weights["count:webinars"] > 0.3
    assert weights["title:1"] < 0
    # and exactly the open contacts are scored
    assert set(Prediction.objects.values_list("contact_id", flat=True)) == set(data.open)
    # and a senior webinar-goer is more likely to win than a staff member who never came
    likely = Prediction.objects.get(contact_id=data.likely[0])
    unlikely = Prediction.objects.get(contact_id=data.unlikely[0])
    assert likely.probability > 0.6 > unlikely.probability
    # and the reasons name the driving features, largest first
    features = [r["feature"] for r in likely.reasons]
    assert features[:2] == ["count:webinars", f"title:{likely.contact.title_level}"]
    assert len(features) <= 3
    contributions = [r["contribution"] for r in likely.reasons]
    assert contributions == sorted(contributions, reverse=True)
    assert all(c > 0 for c in contributions)


def test_company_size_is_learned_when_it_decides_wins(marketer) -> None:  # type: ignore[no-untyped-def]
    # given outcomes where working at a large company raises the odds of a win sharply
    with clock.frozen(NOW):
        outcome_dataset(size=320, size_effect=2.0)

        # when
        model = training.model_train(actor=marketer, seed=0)

    # then the large-company column pushes towards a win and the small-company one away from it
    weights = dict(zip(model.features, model.parameters["coef"], strict=True))
    assert weights["employees:1000-4999"] > 0.3
    assert weights["employees:1-9"] < -0.3


def test_a_category_seen_on_one_won_contact_does_not_decide_for_others(marketer) -> None:  # type: ignore[no-untyped-def]
    # given the usual outcomes, plus a staff member at a farm (a size and an industry nobody else
    # has) who won against the odds, and a colleague of theirs who is still open
    with clock.frozen(NOW):
        outcome_dataset(size=320)
        farm = make_company("北の農園", band="10-49", industry="A")
        created = NOW - timedelta(days=120)
        winner = make_contact(10_000, title_level=1, company=farm, created_at=created)
        colleague = make_contact(10_001, title_level=1, company=farm, created_at=created)
        set_stage(winner.pk, Stage.CUSTOMER, NOW - timedelta(days=20))
        visits = [
            event(c.pk, EventType.PAGE_VIEW, NOW - timedelta(days=30)) for c in (winner, colleague)
        ]
        with listeners.paused():
            event_ingest_batch(events=visits)  # type: ignore[arg-type]

        # when
        model = training.model_train(actor=marketer, seed=0)

    # then the farm gives the colleague a nudge, not a near-certain win: 0/1 columns keep unit
    # scale (standardised, the one farm contact became a value of about 15, and the colleague
    # came out 99 % likely to win)
    prediction = Prediction.objects.get(contact_id=colleague.pk)
    assert prediction.probability < 0.75
    assert max(r["contribution"] for r in prediction.reasons) < 1.0
    scales = dict(zip(model.features, model.parameters["scale"], strict=True))
    assert scales["industry:A"] == scales["employees:10-49"] == 1.0


def test_stored_parameters_reproduce_the_probability(marketer) -> None:  # type: ignore[no-untyped-def]
    # given a trained model
    with clock.frozen(NOW):
        data = outcome_dataset(size=200)
        model = training.model_train(actor=marketer)
        stored = Prediction.objects.get(contact_id=data.open[0])

        # when one contact is predicted from the JSON alone (pure numpy)
        x = F.feature_matrix(contact_ids=[data.open[0]]).x
        scored = training.predict(parameters=model.parameters, x=x)

    # then it is the same probability the batch wrote
    assert float(scored.probabilities[0]) == pytest.approx(stored.probability)
    assert float(np.sum(scored.contributions[0])) + model.parameters["intercept"] == pytest.approx(
        math.log(stored.probability / (1 - stored.probability))
    )


def test_retraining_replaces_the_active_model(marketer) -> None:  # type: ignore[no-untyped-def]
    # given a trained model
    with clock.frozen(NOW):
        outcome_dataset(size=200)
        first = training.model_train(actor=marketer)

        # when training again a day later
        clock.advance(timedelta(days=1))
        second = training.model_train(actor=marketer)

    # then one model is active and every prediction comes from it
    first.refresh_from_db()
    assert (first.is_active, second.is_active) == (False, True)
    assert set(Prediction.objects.values_list("model_id", flat=True)) == {second.pk}


def test_a_refusal_keeps_the_active_model(marketer) -> None:  # type: ignore[no-untyped-def]
    # given a trained model, then most outcomes disappear (contacts deleted)
    with clock.frozen(NOW):
        data = outcome_dataset(size=200)
        good = training.model_train(actor=marketer)
        from sokyaku.contacts.models import Contact

        Contact.objects.filter(pk__in=data.won[5:]).delete()

        # when
        refused = training.model_train(actor=marketer)

    # then the refusal is recorded, and the earlier model stays active
    good.refresh_from_db()
    assert refused.status == ModelStatus.REFUSED
    assert good.is_active


def test_start_enqueues_the_task_which_fills_the_same_row(  # type: ignore[no-untyped-def]
    marketer, django_capture_on_commit_callbacks
) -> None:
    # given enough outcomes (tasks run immediately in tests)
    with clock.frozen(NOW):
        outcome_dataset(size=200)

        # when training is started the way the page does
        with django_capture_on_commit_callbacks(execute=True):
            started = training.model_train_start(actor=marketer)

    # then the row it returned became the trained, active model
    started.refresh_from_db()
    assert started.status == ModelStatus.READY
    assert started.is_active
    assert started.trained_by == marketer
    assert PredictiveModel.objects.count() == 1


def test_running_the_task_twice_trains_once(marketer) -> None:  # type: ignore[no-untyped-def]
    # given a finished training row
    with clock.frozen(NOW):
        outcome_dataset(size=200)
        model = training.model_train(actor=marketer)

        # when the task is delivered again
        again = training.model_train_run(model_id=model.pk)

    # then nothing happens
    assert again is None
    assert PredictiveModel.objects.count() == 1


def test_refresh_one_contact_after_new_activity(marketer) -> None:  # type: ignore[no-untyped-def]
    # given a trained model and an unlikely open contact
    with clock.frozen(NOW):
        data = outcome_dataset(size=200)
        training.model_train(actor=marketer)
        contact_id = data.unlikely[0]
        before = Prediction.objects.get(contact_id=contact_id).probability

        # when they attend three webinars and the contact is refreshed
        batch = [
            event(contact_id, EventType.WEBINAR_ATTENDED, NOW - timedelta(hours=h))
            for h in (1, 2, 3)
        ]
        with listeners.paused():
            event_ingest_batch(events=batch)  # type: ignore[arg-type]
        after = training.prediction_refresh(contact_id=contact_id)

    # then the probability rose
    assert after is not None
    assert after.probability > before


def test_demo_train_runs_synchronously() -> None:
    # given the demo's outcomes
    with clock.frozen(NOW):
        outcome_dataset(size=200)

        # when
        model = training.predictive_demo_train()

    # then
    assert model.status == ModelStatus.READY
    assert model.trained_by is None
