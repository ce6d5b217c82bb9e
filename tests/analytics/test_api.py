"""``/api/v1/analytics/kpis``, ``/channels`` and ``/funnel``: the seeds' example through the API,
empty periods, bad periods and filters, and who may read reports."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from sokyaku.campaigns.models import Channel
from sokyaku.core import clock, roles
from sokyaku.core import services as core_services
from sokyaku.core.models import ApiScope
from sokyaku.demo.example import example_channels_load
from tests.analytics import kpi_factories as f

pytestmark = pytest.mark.django_db

NOW = f.tokyo(2026, 5, 14, 10, 0)
APRIL = "from=2026-04-01&to=2026-04-30"


@pytest.fixture(autouse=True)
def _frozen():  # type: ignore[no-untyped-def]
    with clock.frozen(NOW):
        yield


def _key_of(role: str, scopes: list[str] | None = None) -> Client:
    user = core_services.user_create(
        username=f"{role}-user", password="x", role=role, check_password=False
    )
    token = core_services.apikey_create(
        name=role, scopes=scopes or [ApiScope.ANALYTICS_READ], created_by=user
    ).token
    return Client(headers={"Authorization": f"Bearer {token}"})


def _get(client: Client, path: str) -> Any:
    response = client.get(f"/api/v1/analytics/{path}")
    return response.status_code, response.json()


def test_the_seeds_channel_example_through_the_api(api: Client) -> None:
    example_channels_load()

    status, rows = _get(api, f"channels?{APRIL}")

    assert status == 200
    by_key = {row["channel_key"]: row for row in rows}
    assert {
        k: (r["leads"], r["cost"], r["cpl"], r["won"], r["win_rate"]) for k, r in by_key.items()
    } == {
        "seo-blog": (500, 1_000_000, 2_000, 25, 0.05),
        "paid-social": (300, 600_000, 2_000, 6, 0.02),
        "webinar": (100, 300_000, 3_000, 8, 0.08),
    }
    assert [row["channel_key"] for row in rows] == ["webinar", "seo-blog", "paid-social"]
    assert [row["rank"] for row in rows] == [1, 2, 3]
    assert set(rows[0]) == {
        "channel", "channel_id", "channel_key", "leads", "cost", "cpl", "mqls", "sqls",
        "opportunities", "won", "win_rate", "revenue", "roi", "cac", "rank",
    }  # fmt: skip
    assert by_key["seo-blog"]["revenue"] == 15_000_000 and by_key["seo-blog"]["roi"] == 14.0


def test_kpis_of_one_channel_of_the_example(api: Client) -> None:
    example_channels_load()
    seo = Channel.objects.get(key="seo-blog")

    status, body = _get(api, f"kpis?{APRIL}&channel={seo.pk}")

    assert status == 200
    assert (body["from"], body["to"], body["no_data"]) == ("2026-04-01", "2026-04-30", False)
    assert (body["leads"], body["cost"], body["cpl"], body["won"]) == (500, 1_000_000, 2_000, 25)
    assert body["win_rate"] == 0.05
    assert body["previous"]["from"] == "2026-03-01" and body["previous"]["leads"] == 0


def test_every_kpi_by_its_english_name(api: Client) -> None:
    status, body = _get(api, f"kpis?{APRIL}")

    assert status == 200
    for name in (
        "leads", "cpl", "mqls", "sqls", "hot_lead_ratio", "opportunity_rate", "nurturing_rate",
        "lead_to_customer_rate", "open_rate", "ctr", "conversion_rate", "cac", "roi",
        "repeat_rate", "win_rate",
    ):  # fmt: skip
        assert name in body and name in body["previous"]


def test_an_empty_period_is_zeros_and_no_data(api: Client) -> None:
    status, body = _get(api, "kpis?from=2020-01-01&to=2020-01-31")

    assert status == 200
    assert body["no_data"] is True
    assert (body["leads"], body["cost"], body["won"]) == (0, 0, 0)
    assert body["cpl"] is None and body["win_rate"] is None and body["roi"] is None


def test_an_empty_period_has_no_channel_rows(api: Client) -> None:
    assert _get(api, "channels?from=2020-01-01&to=2020-01-31") == (200, [])


def test_an_end_before_the_start_is_refused_clearly(api: Client) -> None:
    status, body = _get(api, "kpis?from=2026-04-30&to=2026-04-01")

    assert status == 422
    (error,) = body["detail"]
    assert error["loc"] == ["query", "to"]
    assert error["msg"] == "終了日（2026-04-01）が開始日（2026-04-30）より前です。"


def test_a_date_that_does_not_exist_is_refused(api: Client) -> None:
    status, body = _get(api, "channels?from=2026-02-30&to=2026-03-01")

    assert status == 422
    assert body["detail"][0]["loc"] == ["query", "from"]


def test_a_malformed_date_is_refused_by_the_schema(api: Client) -> None:
    status, body = _get(api, "funnel?from=April")

    assert status == 422
    assert body["detail"][0]["loc"] == ["query", "from"]


def test_a_filter_on_a_deleted_channel_names_it(api: Client) -> None:
    gone = Channel.objects.create(key="old-fair", name="旧展示会", kind="trade_show")
    gone_id = gone.pk
    gone.delete()

    status, body = _get(api, f"channels?{APRIL}&channel={gone_id}")

    assert status == 422
    (error,) = body["detail"]
    assert error["loc"] == ["query", "channel"]
    assert error["msg"] == (
        f"チャネル {gone_id} は存在しません（削除された可能性があります）。"
        "別のチャネルを選んでください。"
    )


def test_the_funnel_of_the_example(api: Client) -> None:
    example_channels_load()

    status, body = _get(api, f"funnel?{APRIL}")

    assert status == 200
    assert body["mode"] == "cohort" and body["no_data"] is False
    assert [(s["stage"], s["count"]) for s in body["stages"]] == [
        ("lead", 900),
        ("mql", 39),
        ("sql", 39),
        ("opportunity", 39),
        ("customer", 39),
    ]
    assert body["stages"][1]["conversion"] == pytest.approx(39 / 900)


def test_the_funnel_by_period(api: Client) -> None:
    status, body = _get(api, f"funnel?{APRIL}&mode=period")

    assert status == 200 and body["mode"] == "period"


def test_a_marketers_key_reads_reports() -> None:
    client = _key_of(roles.MARKETER)

    assert _get(client, f"kpis?{APRIL}")[0] == 200


def test_a_sales_reps_key_is_refused() -> None:
    client = _key_of(roles.SALES_REP)

    for path in ("kpis", "channels", "funnel"):
        status, body = _get(client, f"{path}?{APRIL}")
        assert status == 403
        assert "analytics.view_reports" in body["detail"]


def test_a_key_without_the_scope_is_refused() -> None:
    client = _key_of(roles.MARKETER, scopes=[ApiScope.CONTACTS_READ])

    status, body = _get(client, f"channels?{APRIL}")

    assert status == 403 and "analytics:read" in body["detail"]


def test_no_key_is_401() -> None:
    assert Client().get("/api/v1/analytics/kpis").status_code == 401


def test_the_openapi_document_describes_the_operations(api: Client) -> None:
    document = api.get("/api/v1/openapi.json").json()

    kpis = document["paths"]["/api/v1/analytics/kpis"]["get"]
    assert {"200", "401", "403", "422"} <= set(kpis["responses"])
    names = {p["name"] for p in kpis["parameters"]}
    assert {"from", "to", "channel", "campaign", "segment", "owner", "team"} <= names
    schema = document["components"]["schemas"]["KpisOut"]
    assert "from" in schema["properties"] and "previous" in schema["properties"]
