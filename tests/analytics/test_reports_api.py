"""``GET /api/v1/analytics/sequences|handoffs|forecast``: the reports as JSON, who may read
them, and bad periods and filters answered with 422."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from sokyaku.core import services
from sokyaku.core.models import ApiScope
from sokyaku.sequences.models import Sequence, Step
from tests.analytics import reports_stories
from tests.analytics.reports_stories import SalesWeek

pytestmark = pytest.mark.django_db

ab_test = reports_stories.ab_test
sales_week = reports_stories.sales_week
two_reps = reports_stories.two_reps

BASE = "/api/v1/analytics"
JUNE: dict[str, str | int] = {"from": "2026-06-01", "to": "2026-06-30"}


def _key_client(*, scopes: list[str], user: User | None = None) -> Client:
    token = services.apikey_create(
        name="report key", scopes=scopes, created_by=user, system=user is None
    ).token
    return Client(headers={"Authorization": f"Bearer {token}"})


def _locs(response: Any) -> list[list[str]]:
    return [item["loc"] for item in response.json()["detail"]]


def test_sequences_per_step_and_variant(api: Client, ab_test: tuple[Sequence, list[Step]]) -> None:
    sequence, steps = ab_test

    response = api.get(f"{BASE}/sequences", JUNE)

    assert response.status_code == 200
    body = response.json()
    assert (body["from"], body["to"], body["no_data"]) == ("2026-06-01", "2026-06-30", False)
    assert body["total"]["sent"] == 6 and body["total"]["converted"] == 1
    [row] = body["rows"]
    assert (row["kind"], row["id"], row["name"]) == ("sequence", sequence.pk, "ウェビナー案内")
    first, second = row["steps"]
    assert first["step_id"] == steps[0].pk and first["position"] == 1
    assert [(v["variant"], v["sent"], v["opened"], v["clicked"]) for v in first["variants"]] == [
        ("A", 3, 2, 1),
        ("B", 2, 2, 0),
    ]
    assert first["variants"][1]["open_rate"] == 1.0
    assert second["variants"] == [
        {
            "variant": "",
            "sent": 1,
            "delivered": 1,
            "opened": 1,
            "clicked": 0,
            "converted": 0,
            "unsubscribed": 0,
            "bounced": 0,
            "open_rate": 1.0,
            "ctr": 0.0,
            "conversion_rate": 0.0,
        }
    ]


def test_sequences_of_one_sequence_and_of_an_empty_period(
    api: Client, ab_test: tuple[Sequence, list[Step]]
) -> None:
    sequence, _ = ab_test

    one = api.get(f"{BASE}/sequences", {**JUNE, "sequence": sequence.pk}).json()
    empty = api.get(f"{BASE}/sequences", {"from": "2026-05-01", "to": "2026-05-31"}).json()

    assert [r["id"] for r in one["rows"]] == [sequence.pk]
    assert empty["no_data"] is True and empty["rows"] == []
    assert empty["total"]["sent"] == 0 and empty["total"]["open_rate"] is None


def test_handoffs_with_reasons_reps_and_an_owner(api: Client, sales_week: SalesWeek) -> None:
    response = api.get(f"{BASE}/handoffs", JUNE)
    narrowed = api.get(f"{BASE}/handoffs", {**JUNE, "owner": sales_week.tanaka.pk}).json()

    assert response.status_code == 200
    body = response.json()
    assert body["total"]["handoffs"] == 4 and body["total"]["opportunity_rate"] == 0.25
    assert body["total"]["sla_met_rate"] == pytest.approx(2 / 3)
    assert body["total"]["median_speed_to_lead_minutes"] == 120
    assert [(r["reason"], r["count"]) for r in body["reject_reasons"]] == [("no_budget", 2)]
    assert [r["name"] for r in body["by_rep"]] == ["田中 健太", "鈴木 花子"]
    assert {t["id"] for t in body["by_trigger"]} == {sales_week.demo.pk, sales_week.pricing.pk}
    assert [r["id"] for r in narrowed["by_rep"]] == [sales_week.tanaka.pk]
    assert narrowed["total"]["median_speed_to_lead_minutes"] == 75


def test_forecast_per_month_and_rep(api: Client, two_reps: tuple[User, User]) -> None:
    sato, suzuki = two_reps

    response = api.get(f"{BASE}/forecast", {"from": "2026-05-10", "to": "2026-06-20"})

    assert response.status_code == 200
    body = response.json()
    assert body["months"] == ["2026-05", "2026-06"]
    assert [(m["month"], m["weighted"], m["won"]) for m in body["month_totals"]] == [
        ("2026-05", 300_000, 800_000),
        ("2026-06", 300_000, 400_000),
    ]
    assert body["total"]["attainment"] == 2.0 and body["total"]["created"] == 4
    rows = {r["owner_id"]: r for r in body["rows"]}
    assert [m["won"] for m in rows[suzuki.pk]["months"]] == [800_000, 400_000]
    assert rows[sato.pk]["total"]["weighted"] == 600_000


@pytest.mark.parametrize("path", ["sequences", "handoffs", "forecast"])
def test_an_end_before_the_start_is_422_naming_to(api: Client, path: str) -> None:
    response = api.get(f"{BASE}/{path}", {"from": "2026-06-30", "to": "2026-06-01"})

    assert response.status_code == 422
    assert _locs(response) == [["query", "to"]]
    assert "開始日（2026-06-30）より前" in response.json()["detail"][0]["msg"]


@pytest.mark.parametrize(
    ("path", "params", "loc"),
    [
        ("sequences", {"from": "2026-13-01"}, ["query", "from"]),
        ("sequences", {"sequence": "999999"}, ["query", "sequence"]),
        ("sequences", {"sequence": "abc"}, ["query", "sequence"]),
        ("handoffs", {"owner": "999999"}, ["query", "owner"]),
        ("handoffs", {"team": "-1"}, ["query", "team"]),
        ("forecast", {"to": "yesterday"}, ["query", "to"]),
    ],
)
def test_bad_input_is_422_naming_the_parameter(
    api: Client, path: str, params: dict[str, str], loc: list[str]
) -> None:
    response = api.get(f"{BASE}/{path}", params)

    assert response.status_code == 422
    assert _locs(response) == [loc]


@pytest.mark.parametrize(
    ("path", "rep_status"),
    # a rep's key reads their own handoffs and forecast (tests/analytics/test_team_reports.py)
    [("sequences", 403), ("handoffs", 200), ("forecast", 200)],
)
def test_who_may_read_reports(
    client: Client, path: str, rep_status: int, marketer: User, sales_rep: User
) -> None:
    url = f"{BASE}/{path}"
    read = [ApiScope.ANALYTICS_READ.value]

    assert client.get(url).status_code == 401
    assert _key_client(scopes=[ApiScope.CONTACTS_READ.value]).get(url).status_code == 403
    assert _key_client(scopes=read, user=sales_rep).get(url).status_code == rep_status
    assert _key_client(scopes=read, user=marketer).get(url).status_code == 200
    assert _key_client(scopes=read).get(url).status_code == 200
