"""Predictive scoring UI: the model page (both AUCs, top contacts), training, the contact panel,
permissions."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from sokyaku.core import clock
from sokyaku.scoring.models import ModelStatus, Prediction, PredictiveModel
from sokyaku.scoring.predictive import training
from tests.scoring.test_predictive_features import NOW, outcome_dataset

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]


def login(client: Client, user) -> Client:  # type: ignore[no-untyped-def]
    client.force_login(user)
    return client


def test_page_shows_both_aucs_and_top_contacts(client, marketer) -> None:  # type: ignore[no-untyped-def]
    # given a trained model
    with clock.frozen(NOW):
        outcome_dataset(size=200)
        model = training.model_train(actor=marketer)
    best = Prediction.objects.select_related("contact").order_by("-probability").first()
    assert best is not None

    # when the marketer opens the page
    response = login(client, marketer).get(reverse("scoring:predictive"))

    # then both AUCs stand side by side, with the best open contact linked, surname first
    html = response.content.decode()
    assert response.status_code == 200
    assert f'<strong data-auc="model">{model.auc:.3f}</strong>' in html
    assert f'<span data-auc="baseline">{model.baseline_auc:.3f}</span>' in html
    assert reverse("contacts:detail", args=[best.contact_id]) in html
    assert best.contact.display_name in html
    assert "Webinars attended" in html
    assert "Train now" in html


def test_page_lists_open_contacts_in_fixed_queries(  # type: ignore[no-untyped-def]
    client, marketer, django_assert_max_num_queries
) -> None:
    with clock.frozen(NOW):
        outcome_dataset(size=200)
        training.model_train(actor=marketer)
    login(client, marketer)
    with django_assert_max_num_queries(14):
        response = client.get(reverse("scoring:predictive"))
    assert response.status_code == 200


def test_refused_training_shows_its_message(client, marketer) -> None:  # type: ignore[no-untyped-def]
    # given a refused training
    with clock.frozen(NOW):
        data = outcome_dataset(size=20)
        training.model_train(actor=marketer)

    # when
    html = login(client, marketer).get(reverse("scoring:predictive")).content.decode()

    # then it says what is missing
    assert "No model yet." in html
    assert (
        f"Needs at least 30 won and 30 lost contacts; there were {len(data.won)} won and "
        f"{len(data.lost)} lost." in html
    )


def test_train_now_runs_the_task_and_reloads(  # type: ignore[no-untyped-def]
    client, marketer, django_capture_on_commit_callbacks
) -> None:
    # given enough outcomes
    with clock.frozen(NOW):
        outcome_dataset(size=200)

        # when the marketer presses "train now" (htmx; tasks run immediately in tests)
        with django_capture_on_commit_callbacks(execute=True):
            response = login(client, marketer).post(
                reverse("scoring:predictive_train"), headers={"HX-Request": "true"}
            )

    # then the answer polls the status, the task trains the model after commit
    assert 'hx-trigger="every 2s"' in response.content.decode()
    model = PredictiveModel.objects.get()
    assert (model.status, model.trained_by) == (ModelStatus.READY, marketer)
    # and the next poll tells the page to reload
    poll = client.get(
        reverse("scoring:predictive_status") + "?was=training", headers={"HX-Request": "true"}
    )
    assert poll["HX-Refresh"] == "true"


def test_status_polls_while_training(client, marketer) -> None:  # type: ignore[no-untyped-def]
    # given a training still running
    PredictiveModel.objects.create(status=ModelStatus.TRAINING, trained_at=NOW)

    # when the page is shown
    html = login(client, marketer).get(reverse("scoring:predictive")).content.decode()

    # then the status card polls
    assert 'hx-trigger="every 2s"' in html
    assert "Training… this page updates when it is done." in html


def test_sales_rep_can_view_but_not_train(client, sales_rep) -> None:  # type: ignore[no-untyped-def]
    login(client, sales_rep)
    page = client.get(reverse("scoring:predictive"))
    train = client.post(reverse("scoring:predictive_train"))
    assert page.status_code == 200
    assert "Train now" not in page.content.decode()
    assert train.status_code == 403
    assert not PredictiveModel.objects.exists()


def test_panel_shows_probability_and_reasons(client, marketer) -> None:  # type: ignore[no-untyped-def]
    # given a trained model and a likely open contact
    with clock.frozen(NOW):
        data = outcome_dataset(size=200)
        training.model_train(actor=marketer)
    prediction = Prediction.objects.get(contact_id=data.likely[0])

    # when their contact page is opened
    html = login(client, marketer).get(reverse("contacts:detail", args=[data.likely[0]]))
    text = html.content.decode()

    # then the win probability and the reasons are shown
    assert f"{round(prediction.probability * 100)}%" in text
    assert prediction.reasons
    for reason in prediction.reasons:
        assert f"<li>{reason['label']}</li>" in text
    assert "Model of 2025/06/01" in text


def test_panel_without_model_links_to_training(client, marketer) -> None:  # type: ignore[no-untyped-def]
    with clock.frozen(NOW):
        data = outcome_dataset(size=8)
    text = login(client, marketer).get(reverse("contacts:detail", args=[data.open[0]]))
    assert "No model yet." in text.content.decode()
    assert "Train a model" in text.content.decode()
