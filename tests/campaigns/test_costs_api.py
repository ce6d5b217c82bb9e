"""``/api/v1/costs`` through HTTP: list with filters, upsert one or many, scopes, one error
shape with the index of each bad item."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import pytest
from django.test import Client

from sokyaku.campaigns.models import ChannelCost
from tests.api.calls import post_json
from tests.campaigns.factories import campaign, channel

pytestmark = pytest.mark.django_db

URL = "/api/v1/costs"
ClientFactory = Callable[[Sequence[str]], Client]


@pytest.fixture
def channels() -> None:
    channel("paid-social")  # the defaults exist


def test_one_cost_is_recorded_and_listed(api: Client, channels: None) -> None:
    # when a cost is sent
    response = post_json(
        api, URL, {"month": "2026-04", "channel": "paid-social", "amount_jpy": 600000}
    )
    # then it is stored and listed
    assert response.status_code == 200
    assert response.json() == {"stored": 1, "created": 1, "updated": 0, "unchanged": 0}
    listed = api.get(URL).json()
    assert listed["count"] == 1
    assert listed["items"] == [
        {
            "month": "2026-04",
            "channel": "paid-social",
            "channel_name": "SNS広告",
            "campaign": None,
            "amount_jpy": 600000,
        }
    ]


def test_many_costs_by_channel_name_and_campaign_and_a_resend_updates(
    api: Client, channels: None
) -> None:
    campaign("social_whitepaper", "paid-social")
    batch = [
        {"month": "2026-04", "channel": "seo-blog", "amount_jpy": 1000000},
        {"month": "2026-04", "channel": "ウェビナー", "amount_jpy": 300000},
        {"month": "2026-04", "campaign": "social_whitepaper", "amount_jpy": 250000},
    ]
    assert post_json(api, URL, batch).json()["created"] == 3
    batch[0]["amount_jpy"] = 1100000
    assert post_json(api, URL, batch).json() == {
        "stored": 1, "created": 0, "updated": 1, "unchanged": 2}  # fmt: skip
    assert ChannelCost.objects.get(channel__key="seo-blog").amount_jpy == 1100000


def test_filters(api: Client, channels: None) -> None:
    campaign("social_webinar", "paid-social")
    post_json(
        api,
        URL,
        [
            {"month": "2026-03", "channel": "paid-social", "amount_jpy": 1},
            {"month": "2026-04", "channel": "paid-social", "amount_jpy": 2},
            {"month": "2026-04", "channel": "email", "amount_jpy": 3},
            {"month": "2026-04", "campaign": "social_webinar", "amount_jpy": 4},
        ],
    )

    def amounts(**params: str) -> list[int]:
        return [i["amount_jpy"] for i in api.get(URL, params).json()["items"]]

    assert sorted(amounts(month_from="2026-04")) == [2, 3, 4]
    assert amounts(month_to="2026-03") == [1]
    assert sorted(amounts(channel="paid-social", month_from="2026-04")) == [2, 4]
    assert amounts(campaign="social_webinar") == [4]
    assert sorted(amounts(campaign="-", month_from="2026-04")) == [2, 3]
    assert api.get(URL, {"page_size": 1, "page": 3}).json()["pages"] == 4


def test_a_bad_item_is_named_by_its_index_and_nothing_is_stored(
    api: Client, channels: None
) -> None:
    batch = [
        {"month": "2026-04", "channel": "paid-social", "amount_jpy": 1},
        {"month": "2026-04", "channel": "no-such-channel", "amount_jpy": 1},
        {"month": "2026-13", "channel": "email", "amount_jpy": 1},
    ]
    response = post_json(api, URL, batch)
    assert response.status_code == 422
    locs = [item["loc"] for item in response.json()["detail"]]
    assert locs == [["body", 1, "channel"], ["body", 2, "month"]]
    assert not ChannelCost.objects.exists()


@pytest.mark.parametrize(
    "body",
    [
        {"month": "2026-04", "channel": "email", "amount_jpy": "¥1,000"},  # strict: a number
        {"month": "2026-04", "channel": "email", "amount_jpy": -1},
        {"month": "April", "channel": "email", "amount_jpy": 1},
        {"month": "2026-04", "channel": "email", "amount_jpy": 1, "extra": 1},
        {"month": "2026-04", "amount_jpy": 1},  # neither channel nor campaign
        [],
    ],
)
def test_invalid_bodies_answer_422(api: Client, channels: None, body: object) -> None:
    response = post_json(api, URL, body)
    assert response.status_code == 422
    assert isinstance(response.json()["detail"], list)


def test_a_bad_month_filter_answers_422(api: Client) -> None:
    response = api.get(URL, {"month_from": "2026-13"})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["query", "month_from"]


def test_scopes(client_with_scopes: ClientFactory, channels: None) -> None:
    reader = client_with_scopes(["costs:read"])
    writer = client_with_scopes(["costs:write"])
    other = client_with_scopes(["contacts:read"])
    body = {"month": "2026-04", "channel": "email", "amount_jpy": 1}
    assert post_json(reader, URL, body).status_code == 403
    assert post_json(writer, URL, body).status_code == 200
    assert writer.get(URL).status_code == 403
    assert other.get(URL).status_code == 403
    assert reader.get(URL).status_code == 200
    assert Client().get(URL).status_code == 401
