"""The sequences API: list, read, enrol/remove, and the calendar preview."""

from __future__ import annotations

import pytest
from django.test import Client

from sokyaku.core import clock
from sokyaku.sequences.models import Enrollment
from tests.sequences.factories import contact_make, email, sequence_make, tokyo, wait

pytestmark = pytest.mark.django_db
BASE = "/api/v1/sequences"


def test_list_answers_id_name_status(api: Client, django_assert_max_num_queries) -> None:  # type: ignore[no-untyped-def]
    first = sequence_make(name="B2B 資料請求フォロー")
    sequence_make(name="下書き", active=False)
    with django_assert_max_num_queries(4):
        response = api.get(BASE)
    assert response.status_code == 200
    assert response.json()[0] == {
        "id": first.pk,
        "name": "B2B 資料請求フォロー",
        "status": "active",
        "trigger_kind": "manual",
    }
    assert [row["status"] for row in response.json()] == ["active", "draft"]


def test_enrol_by_email_then_409_when_already_active(api: Client) -> None:
    sequence = sequence_make(steps=[wait(1), email()])
    contact = contact_make(email="kimura@example.jp")
    url = f"{BASE}/{sequence.pk}/enrollments"
    created = api.post(url, {"email": "kimura@example.jp"}, content_type="application/json")
    again = api.post(url, {"contact_id": contact.pk}, content_type="application/json")
    assert created.status_code == 201
    assert created.json()["contact_id"] == contact.pk
    assert again.status_code == 409
    assert Enrollment.objects.filter(sequence=sequence).count() == 1


def test_enrolling_a_contact_without_email_is_422(api: Client) -> None:
    from sokyaku.contacts.services import ContactInput, contact_upsert

    sequence = sequence_make()
    phone_only = contact_upsert(data=ContactInput(family_name="田中", phone="0312345678")).contact
    response = api.post(
        f"{BASE}/{sequence.pk}/enrollments",
        {"contact_id": phone_only.pk},
        content_type="application/json",
    )
    assert response.status_code == 422
    assert not Enrollment.objects.exists()


def test_remove_exits_with_manual(api: Client) -> None:
    sequence = sequence_make(steps=[wait(1), email()])
    contact = contact_make()
    api.post(
        f"{BASE}/{sequence.pk}/enrollments",
        {"contact_id": contact.pk},
        content_type="application/json",
    )
    response = api.delete(f"{BASE}/{sequence.pk}/enrollments/{contact.pk}")
    assert response.status_code == 200
    assert (response.json()["status"], response.json()["exit_reason"]) == ("exited", "manual")
    assert api.delete(f"{BASE}/{sequence.pk}/enrollments/{contact.pk}").status_code == 404


def test_preview_applies_window_and_holidays(api: Client) -> None:
    with clock.frozen(tokyo(2026, 11, 1, 9, 0)):
        sequence = sequence_make(steps=[email(), wait(4), email(), wait(6), email()])
        contact = contact_make()
    response = api.get(
        f"{BASE}/{sequence.pk}/preview",
        {"contact": contact.pk, "start": "2026-11-20T19:30:00+09:00"},  # Friday evening
    )
    assert response.status_code == 200
    planned = [(row["position"], row["kind"], row["planned_at"]) for row in response.json()]
    assert planned == [
        (1, "email", "2026-11-24T09:00:00+09:00"),  # Mon 11/23 勤労感謝の日
        (2, "wait", "2026-11-24T09:00:00+09:00"),
        (3, "email", "2026-11-30T09:00:00+09:00"),  # Tue + 4 business days
        (4, "wait", "2026-11-30T09:00:00+09:00"),
        (5, "email", "2026-12-08T09:00:00+09:00"),
    ]


def test_preview_needs_a_zoned_start_and_a_known_contact(api: Client) -> None:
    sequence = sequence_make()
    contact = contact_make()
    naive = api.get(
        f"{BASE}/{sequence.pk}/preview", {"contact": contact.pk, "start": "2026-11-20T10:00"}
    )
    unknown = api.get(f"{BASE}/{sequence.pk}/preview", {"contact": 999999})
    assert (naive.status_code, unknown.status_code) == (422, 404)


def test_scopes_are_checked(api_token: str) -> None:
    from sokyaku.core import services
    from sokyaku.core.models import ApiScope

    key = services.apikey_create(name="read", scopes=[ApiScope.SEQUENCES_READ], system=True).token
    sequence = sequence_make()
    client = Client(headers={"Authorization": f"Bearer {key}"})
    assert client.get(BASE).status_code == 200
    response = client.post(
        f"{BASE}/{sequence.pk}/enrollments", {"contact_id": 1}, content_type="application/json"
    )
    assert response.status_code == 403
