"""The segments API: list with counts, members paged; contacts:read scope.

Runs once the router is mounted in ``sokyaku/api.py`` (``/api/v1/segments``)."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import NoReverseMatch, reverse

from sokyaku.core import services as core_services
from sokyaku.core.models import ApiScope
from sokyaku.segments import services


@pytest.fixture(autouse=True)
def _mounted() -> None:
    try:
        reverse("api:segment_list")
    except NoReverseMatch:
        pytest.skip("segments router not mounted in sokyaku/api.py yet")


@pytest.fixture
def lst(people):  # type: ignore[no-untyped-def]
    segment = services.segment_create(name="展示会", kind="static")
    services.segment_members_add(
        segment=segment, contact_ids=[people["yamada"].pk, people["suzuki"].pk]
    )
    return segment


def test_list_segments_with_counts(api: Client, lst, django_assert_max_num_queries) -> None:  # type: ignore[no-untyped-def]
    with django_assert_max_num_queries(6):
        body = api.get("/api/v1/segments").json()

    assert body["count"] == 1
    assert body["items"][0]["name"] == "展示会"
    assert body["items"][0]["member_count"] == 2


def test_members_paged(api: Client, lst, people) -> None:  # type: ignore[no-untyped-def]
    body = api.get(f"/api/v1/segments/{lst.pk}/contacts?page_size=1").json()

    assert body["count"] == 2 and body["pages"] == 2
    assert body["items"][0]["id"] in {people["yamada"].pk, people["suzuki"].pk}
    assert set(body["items"][0]) == {"id", "email", "family_name", "given_name", "entered_at"}


def test_unknown_segment_is_404(api: Client, db) -> None:  # type: ignore[no-untyped-def]
    assert api.get("/api/v1/segments/999999/contacts").status_code == 404


def test_needs_contacts_read(client: Client, db) -> None:  # type: ignore[no-untyped-def]
    token = core_services.apikey_create(name="w", scopes=[ApiScope.EVENTS_WRITE], system=True).token

    response = client.get("/api/v1/segments", headers={"Authorization": f"Bearer {token}"})

    assert response.status_code == 403
