"""The sequences UI: list, sequence page (flow, metrics, preview), step editing with errors,
pause/resume, and the contact panel's manual enrol/remove (marketers; reps for their own)."""

from __future__ import annotations

import pytest
from django.template import Context, Template
from django.test import Client, RequestFactory
from django.urls import reverse

from sokyaku.contacts.services import ContactInput, contact_update
from sokyaku.core import clock
from sokyaku.sequences.models import Enrollment, SequenceStatus, Step
from sokyaku.sequences.services.enrollment import sequence_enroll
from sokyaku.sequences.services.tick import sequences_tick
from tests.sequences.factories import contact_make, email, sequence_make, tokyo, wait

pytestmark = pytest.mark.django_db


def test_list_shows_numbers_in_few_queries(
    logged_in: Client, django_assert_max_num_queries
) -> None:  # type: ignore[no-untyped-def]
    for i in range(5):
        sequence = sequence_make(name=f"ナーチャリング {i}")
        sequence_enroll(sequence=sequence, contact=contact_make())
    with django_assert_max_num_queries(12):
        response = logged_in.get(reverse("sequences:list"))
    assert response.status_code == 200
    assert "ナーチャリング 4" in response.content.decode()


def test_sequence_page_shows_flow_enrolments_and_preview(
    logged_in: Client,
    django_assert_max_num_queries,  # type: ignore[no-untyped-def]
) -> None:
    with clock.frozen(tokyo(2026, 11, 19, 10, 0)):
        sequence = sequence_make(steps=[email(), wait(4), email()])
        contacts = [contact_make(family_name=f"山本{i}") for i in range(10)]
        for contact in contacts:
            sequence_enroll(sequence=sequence, contact=contact)
        sequences_tick()
    url = reverse("sequences:detail", args=[sequence.pk])
    with django_assert_max_num_queries(20):
        response = logged_in.get(url, {"contact": contacts[0].pk, "start": "2026-11-20T19:30"})
    html = response.content.decode()
    assert response.status_code == 200
    assert "山本0" in html
    assert "2026-11-24" in html  # the preview skipped 勤労感謝の日


def test_step_form_shows_validation_errors_and_keeps_steps(logged_in: Client) -> None:
    sequence = sequence_make(active=False)
    url = reverse("sequences:step_add", args=[sequence.pk])
    logged_in.post(url, {"kind": "wait", "amount": "", "unit": "fortnights"})
    page = logged_in.get(reverse("sequences:detail", args=[sequence.pk])).content.decode()
    assert "unit" in page and 'role="alert"' in page
    assert Step.objects.filter(sequence=sequence).count() == 1


def test_add_move_remove_steps(logged_in: Client) -> None:
    sequence = sequence_make(active=False)
    logged_in.post(
        reverse("sequences:step_add", args=[sequence.pk]),
        {"kind": "wait", "amount": "3", "unit": "days"},
    )
    wait_step = Step.objects.get(sequence=sequence, kind="wait")
    logged_in.post(reverse("sequences:step_change", args=[sequence.pk, wait_step.pk, "up"]))
    assert list(Step.objects.filter(sequence=sequence).values_list("kind", flat=True)) == [
        "wait",
        "email",
    ]
    logged_in.post(reverse("sequences:step_change", args=[sequence.pk, wait_step.pk, "remove"]))
    assert list(Step.objects.filter(sequence=sequence).values_list("kind", "position")) == [
        ("email", 1)
    ]


def test_pause_and_resume(logged_in: Client) -> None:
    sequence = sequence_make()
    logged_in.post(reverse("sequences:status", args=[sequence.pk, "pause"]))
    sequence.refresh_from_db()
    assert sequence.status == SequenceStatus.PAUSED
    logged_in.post(reverse("sequences:status", args=[sequence.pk, "resume"]))
    sequence.refresh_from_db()
    assert sequence.status == SequenceStatus.ACTIVE


def test_a_rep_enrols_own_contact_but_not_others(client: Client, sales_rep) -> None:  # type: ignore[no-untyped-def]
    sequence = sequence_make(steps=[wait(1), email()])
    own, other = contact_make(), contact_make()
    contact_update(contact=own, data=ContactInput(owner_id=sales_rep.pk))
    client.force_login(sales_rep)
    ok = client.post(reverse("sequences:contact_enroll", args=[own.pk]), {"sequence": sequence.pk})
    refused = client.post(
        reverse("sequences:contact_enroll", args=[other.pk]), {"sequence": sequence.pk}
    )
    assert ok.status_code == 302 and refused.status_code == 404  # another's contact: not there
    assert list(Enrollment.objects.values_list("contact_id", flat=True)) == [own.pk]
    assert (
        client.post(reverse("sequences:step_add", args=[sequence.pk]), {"kind": "goal"}).status_code
        == 403
    )


def test_contact_panel_shows_next_step_and_run_time(marketer) -> None:  # type: ignore[no-untyped-def]
    with clock.frozen(tokyo(2026, 11, 19, 10, 0)):
        sequence = sequence_make(
            name="B2B 資料請求フォロー", steps=[email(name="お礼"), wait(4), email(name="事例")]
        )
        contact = contact_make()
        sequence_enroll(sequence=sequence, contact=contact)
        sequences_tick()
    request = RequestFactory().get("/")
    request.user = marketer
    html = Template("{% load sequences_ui %}{% sequences_panel contact %}").render(
        Context({"contact": contact, "request": request, "csrf_token": "t"})
    )
    assert "B2B 資料請求フォロー" in html
    assert "3. 事例" in html
    assert "2026-11-26 10:00" in html
