"""Attribution of won revenue to channels and campaigns under five models, on paths built by
hand: the report, the API and the page."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta
from fractions import Fraction
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse_lazy

from sokyaku.activity import events
from sokyaku.activity import services as activity_services
from sokyaku.activity.models import EventSource, EventType
from sokyaku.analytics.period import Period
from sokyaku.analytics.selectors.attribution import (
    FIRST_TOUCH,
    LAST_TOUCH,
    LINEAR,
    MODELS,
    U_SHAPED,
    W_SHAPED,
    Attribution,
    Path,
    Touch,
    attribution,
    model_weights,
)
from sokyaku.campaigns import services as campaign_services
from sokyaku.campaigns.models import Channel
from sokyaku.contacts import services as contact_services
from sokyaku.contacts.models import Contact
from sokyaku.core import clock
from sokyaku.core import services as core_services
from sokyaku.core.models import ApiScope
from sokyaku.deals import services as deal_services
from sokyaku.deals.models import Deal
from sokyaku.lifecycle import services as lifecycle_services
from sokyaku.lifecycle.models import ChangeSource, Stage
from tests.deals.factories import contact_make, deal_make, tokyo

pytestmark = pytest.mark.django_db

MAY = Period(first=tokyo(2026, 5, 1).date(), last=tokyo(2026, 5, 31).date())
SITE = "https://www.sample.example"

SEO = {"referrer": "https://www.google.co.jp/search?q=ma"}
SOCIAL = {"utm_source": "facebook", "utm_medium": "paid_social", "utm_campaign": "spring_sns"}
WEBINAR = {"utm_source": "zoom", "utm_medium": "webinar", "utm_campaign": "webinar_0410"}
EMAIL = {"utm_source": "newsletter", "utm_medium": "email"}
SEARCH_AD = {"utm_source": "google", "utm_medium": "cpc", "utm_campaign": "brand"}


# --- helpers ---------------------------------------------------------------------------------


def visit(contact: Contact, at: datetime, touch: dict[str, str]) -> None:
    """A page view of ``contact`` that arrived with ``touch`` (UTM or referrer)."""
    utm = {k: v for k, v in touch.items() if k.startswith("utm_")}
    activity_services.event_ingest(
        event=events.page_view(
            occurred_at=at,
            url=f"{SITE}/lp",
            referrer=touch.get("referrer", ""),
            utm=utm,
            contact_id=contact.pk,
        )
    )


def form_sent(contact: Contact, at: datetime, touch: dict[str, str]) -> None:
    """A form submission carrying the touch it arrived with, as capture records it."""
    activity_services.event_ingest(
        event=events.event_build(
            type=EventType.FORM_SUBMITTED,
            occurred_at=at,
            source=EventSource.FORM,
            properties={"form": "webinar", "url": f"{SITE}/webinar", "referrer": "", **touch},
            contact_id=contact.pk,
        )
    )


def lead(at: datetime, **data: Any) -> Contact:
    with clock.frozen(at):
        return contact_make(**data)


def won(contact: Contact | None, *, opened: datetime, closed: datetime, amount: int) -> Deal:
    with clock.frozen(opened):
        deal = (
            deal_make(contact=contact, amount=amount)
            if contact is not None
            else deal_services.deal_create(actor=None, name="直販", amount=amount)
        )
    with clock.frozen(closed):
        return deal_services.deal_win(deal=deal, actor=None)


def by_key(result: Attribution) -> dict[str, dict[str, int]]:
    return {
        row.key or "-": {"deals": row.deals, **{m: row.credit(m) for m in MODELS}}
        for row in result.rows
    }


def assert_columns_sum_to_revenue(result: Attribution, revenue: int) -> None:
    for model in MODELS:
        assert sum(row.credit(model) for row in result.rows) == revenue, model
        assert result.total.credit(model) == revenue


@pytest.fixture
def journey() -> Contact:
    """One buyer's path in April–May 2026, ¥1,200,000 won on 5/10:

    4/1 organic search (SEO) → 4/5 Facebook ad (campaign spring_sns) → 4/10 webinar form
    (campaign webinar_0410), which creates the lead → 4/15 MQL → 4/20 newsletter mail →
    4/25 deal created (opportunity) → 5/2 search ad → 5/10 won → 5/20 another ad visit (after
    the win: not on the path).
    """
    campaign_services.campaign_save(
        data=campaign_services.CampaignInput(
            name="春のSNS広告",
            channel_id=Channel.objects.get(key="paid-social").pk,
            utm_campaign="spring_sns",
        )
    )
    campaign_services.campaign_save(
        data=campaign_services.CampaignInput(
            name="4月ウェビナー",
            channel_id=Channel.objects.get(key="webinar").pk,
            utm_campaign="webinar_0410",
        )
    )
    buyer = lead(tokyo(2026, 4, 10, 10, 0), family_name="佐藤", given_name="花子")
    visit(buyer, tokyo(2026, 4, 1, 9, 0), SEO)
    visit(buyer, tokyo(2026, 4, 5, 12, 0), SOCIAL)
    form_sent(buyer, tokyo(2026, 4, 10, 10, 0), WEBINAR)
    with clock.frozen(tokyo(2026, 4, 15, 9, 0)):
        lifecycle_services.stage_change(
            contact=buyer, to_stage=Stage.MQL, source=ChangeSource.SYSTEM
        )
    visit(buyer, tokyo(2026, 4, 20, 8, 0), EMAIL)
    visit(buyer, tokyo(2026, 5, 2, 15, 0), SEARCH_AD)
    won(buyer, opened=tokyo(2026, 4, 25, 14, 0), closed=tokyo(2026, 5, 10, 11, 0), amount=1_200_000)
    visit(buyer, tokyo(2026, 5, 20, 9, 0), SOCIAL)
    return buyer


# --- the models on a hand-built path ---------------------------------------------------------


def test_five_touch_path_is_credited_per_model_by_channel(journey: Contact) -> None:
    result = attribution(MAY, by="channel")

    assert by_key(result) == {
        # first touch, and 40 % / 30 % as the first touch
        "seo-blog": {
            "deals": 1,
            FIRST_TOUCH: 1_200_000,
            LAST_TOUCH: 0,
            LINEAR: 240_000,
            U_SHAPED: 480_000,
            W_SHAPED: 360_000,
        },
        # the lead-creation touch: 40 % (U), 30 % (W)
        "webinar": {
            "deals": 1,
            FIRST_TOUCH: 0,
            LAST_TOUCH: 0,
            LINEAR: 240_000,
            U_SHAPED: 480_000,
            W_SHAPED: 360_000,
        },
        # the last touch before the opportunity: 30 % (W); one of three others under U
        "email": {
            "deals": 1,
            FIRST_TOUCH: 0,
            LAST_TOUCH: 0,
            LINEAR: 240_000,
            U_SHAPED: 80_000,
            W_SHAPED: 360_000,
        },
        # last touch before the win
        "paid-search": {
            "deals": 1,
            FIRST_TOUCH: 0,
            LAST_TOUCH: 1_200_000,
            LINEAR: 240_000,
            U_SHAPED: 80_000,
            W_SHAPED: 60_000,
        },
        "paid-social": {
            "deals": 1,
            FIRST_TOUCH: 0,
            LAST_TOUCH: 0,
            LINEAR: 240_000,
            U_SHAPED: 80_000,
            W_SHAPED: 60_000,
        },
    }
    assert result.total.deals == 1
    assert_columns_sum_to_revenue(result, 1_200_000)
    assert not result.no_data


def test_by_campaign_touches_without_a_registered_campaign_go_to_no_campaign(
    journey: Contact, english: None
) -> None:
    result = attribution(MAY, by="campaign")

    rows = by_key(result)
    assert rows["spring_sns"] == {
        "deals": 1,
        FIRST_TOUCH: 0,
        LAST_TOUCH: 0,
        LINEAR: 240_000,
        U_SHAPED: 80_000,
        W_SHAPED: 60_000,
    }
    assert rows["webinar_0410"] == {
        "deals": 1,
        FIRST_TOUCH: 0,
        LAST_TOUCH: 0,
        LINEAR: 240_000,
        U_SHAPED: 480_000,
        W_SHAPED: 360_000,
    }
    # SEO, the newsletter and the unregistered "brand" campaign
    assert rows["-"] == {
        "deals": 1,
        FIRST_TOUCH: 1_200_000,
        LAST_TOUCH: 1_200_000,
        LINEAR: 720_000,
        U_SHAPED: 640_000,
        W_SHAPED: 780_000,
    }
    # equal linear credit: by name; the row of no campaign last
    assert [r.name for r in result.rows] == ["4月ウェビナー", "春のSNS広告", "No campaign"]
    assert_columns_sum_to_revenue(result, 1_200_000)


def test_a_repeated_visit_counts_once_and_the_stored_first_touch_leads_when_earlier() -> None:
    # given a contact imported from a trade show (channel set by the import, no touch event),
    # who later clicked the same ad twice within a few minutes
    buyer = lead(tokyo(2026, 4, 1, 10, 0))
    Contact.objects.filter(pk=buyer.pk).update(
        first_touch_channel=Channel.objects.get(key="trade-show")
    )
    visit(buyer, tokyo(2026, 4, 20, 10, 0), SEARCH_AD)
    visit(buyer, tokyo(2026, 4, 20, 10, 5), SEARCH_AD)
    # (and moved around the site: a link from our own pages is no touch)
    visit(buyer, tokyo(2026, 4, 21, 10, 0), {"referrer": f"{SITE}/blog"})
    won(buyer, opened=tokyo(2026, 4, 25), closed=tokyo(2026, 5, 10), amount=1_000_000)

    result = attribution(MAY)

    # then the path is trade show → search ad: two touches, not three
    rows = by_key(result)
    assert rows["trade-show"][FIRST_TOUCH] == 1_000_000
    assert rows["trade-show"][LINEAR] == 500_000
    assert rows["paid-search"][LAST_TOUCH] == 1_000_000
    # U: first = lead creation (80 %) + the search ad as the only other touch (20 %)
    assert (rows["trade-show"][U_SHAPED], rows["paid-search"][U_SHAPED]) == (800_000, 200_000)
    # W: first + lead creation (60 %) and the ad before the opportunity (30 %), no other touch
    # left: they share everything 2 : 1
    assert (rows["trade-show"][W_SHAPED], rows["paid-search"][W_SHAPED]) == (666_667, 333_333)


# --- 1- and 2-touch paths, rounding, sums ----------------------------------------------------


def _path(n: int, *, lead: int = 0, opportunity: int = 0) -> Path:
    at = tokyo(2026, 4, 1)
    touches = [Touch(at=at + timedelta(days=i), channel_id=i + 1, campaign_id=0) for i in range(n)]
    return Path(touches=touches, lead=lead, opportunity=opportunity)


@pytest.mark.parametrize("model", MODELS)
def test_a_single_touch_gets_everything(model: str) -> None:
    assert model_weights(model, _path(1)) == [1]


def test_two_touch_paths_collapse_the_milestones() -> None:
    lead_first = _path(2, lead=0, opportunity=1)
    lead_second = _path(2, lead=1, opportunity=1)

    # the first touch created the lead (40 % + 40 %); the other touch takes the 20 %
    assert model_weights(U_SHAPED, lead_first) == [Fraction(4, 5), Fraction(1, 5)]
    # first and lead creation on two touches, nothing else: half each
    assert model_weights(U_SHAPED, lead_second) == [Fraction(1, 2), Fraction(1, 2)]
    assert model_weights(W_SHAPED, lead_first) == [Fraction(2, 3), Fraction(1, 3)]
    assert model_weights(W_SHAPED, lead_second) == [Fraction(1, 3), Fraction(2, 3)]
    assert model_weights(LINEAR, lead_first) == [Fraction(1, 2), Fraction(1, 2)]
    assert model_weights(FIRST_TOUCH, lead_first) == [1, 0]
    assert model_weights(LAST_TOUCH, lead_first) == [0, 1]


def test_three_distinct_milestones_share_w_equally() -> None:
    assert model_weights(W_SHAPED, _path(3, lead=1, opportunity=2)) == [Fraction(1, 3)] * 3


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5, 7])
@pytest.mark.parametrize("model", MODELS)
def test_weights_always_sum_to_one(model: str, n: int) -> None:
    for lead in range(n):
        for opportunity in range(lead, n):
            assert sum(model_weights(model, _path(n, lead=lead, opportunity=opportunity))) == 1


def test_every_column_sums_to_the_won_revenue_to_the_yen() -> None:
    # given deals whose shares do not come out in whole yen: three touches of ¥1,000,000,
    # a one-touch deal, a contact without any touch and a deal without a contact
    three = lead(tokyo(2026, 4, 10, 10, 0))
    visit(three, tokyo(2026, 4, 1), SEO)
    visit(three, tokyo(2026, 4, 5), SOCIAL)
    form_sent(three, tokyo(2026, 4, 10, 10, 0), WEBINAR)
    won(three, opened=tokyo(2026, 4, 20), closed=tokyo(2026, 5, 1, 0, 30), amount=1_000_000)
    one = lead(tokyo(2026, 4, 2))
    visit(one, tokyo(2026, 4, 2), EMAIL)
    won(one, opened=tokyo(2026, 4, 3), closed=tokyo(2026, 5, 2), amount=333_333)
    untouched = lead(tokyo(2026, 4, 2))
    won(untouched, opened=tokyo(2026, 4, 3), closed=tokyo(2026, 5, 3), amount=100_001)
    won(None, opened=tokyo(2026, 4, 3), closed=tokyo(2026, 5, 31, 23, 59), amount=7)

    result = attribution(MAY)

    assert result.total.deals == 4
    assert_columns_sum_to_revenue(result, 1_000_000 + 333_333 + 100_001 + 7)
    rows = by_key(result)
    # a third of ¥1,000,000 each under linear: ¥333,333 or ¥333,334
    assert {rows[k][LINEAR] for k in ("seo-blog", "paid-social", "webinar")} <= {333_333, 333_334}
    # no touch (and no contact): every model credits "no channel"
    assert rows["-"]["deals"] == 2
    assert {rows["-"][m] for m in MODELS} == {100_008}


def test_deals_won_outside_the_period_and_lost_deals_are_left_out(journey: Contact) -> None:
    april = Period(first=tokyo(2026, 4, 1).date(), last=tokyo(2026, 4, 30).date())

    result = attribution(april)

    assert result.no_data
    assert result.rows == []
    assert result.total.deals == 0
    assert {result.total.credit(m) for m in MODELS} == {0}


def test_orders_count_when_asked() -> None:
    shopper = lead(tokyo(2026, 4, 28))
    visit(shopper, tokyo(2026, 4, 28), SOCIAL)
    visit(shopper, tokyo(2026, 5, 4), EMAIL)
    with clock.frozen(tokyo(2026, 5, 6)):
        deal_services.order_record(
            contact=shopper, external_id="EC-1", ordered_at=tokyo(2026, 5, 5), amount=9_800
        )

    without = attribution(MAY)
    with_orders = attribution(MAY, include_orders=True)

    assert without.no_data
    rows = by_key(with_orders)
    assert rows["paid-social"][FIRST_TOUCH] == 9_800
    assert rows["email"][LAST_TOUCH] == 9_800
    assert_columns_sum_to_revenue(with_orders, 9_800)


def test_a_deal_of_a_merged_contact_follows_the_touches_to_the_survivor() -> None:
    # given a deal on a contact later merged into another (the events move, the deal stays)
    loser = lead(tokyo(2026, 4, 10), email="old@example.jp")
    visit(loser, tokyo(2026, 4, 9), SOCIAL)
    won(loser, opened=tokyo(2026, 4, 20), closed=tokyo(2026, 5, 10), amount=500_000)
    survivor = lead(tokyo(2026, 4, 12), email="new@example.jp")
    with clock.frozen(tokyo(2026, 5, 12)):
        contact_services.contact_merge(winner=survivor, loser=loser)

    result = attribution(MAY)

    assert by_key(result)["paid-social"][LINEAR] == 500_000


def test_unknown_dimension_is_refused() -> None:
    from sokyaku.core.errors import ValidationError

    with pytest.raises(ValidationError) as caught:
        attribution(MAY, by="owner")
    assert "by" in caught.value.field_errors


# --- API -------------------------------------------------------------------------------------

URL = "/api/v1/analytics/attribution"


def test_api_answers_rows_per_channel_with_every_model(journey: Contact, api: Client) -> None:
    response = api.get(URL, {"from": "2026-05-01", "to": "2026-05-31", "by": "channel"})

    assert response.status_code == 200
    body = response.json()
    assert (body["from"], body["to"], body["by"]) == ("2026-05-01", "2026-05-31", "channel")
    assert body["models"] == list(MODELS)
    assert body["no_data"] is False
    rows = {row["key"]: row for row in body["rows"]}
    assert rows["seo-blog"] == {
        "id": Channel.objects.get(key="seo-blog").pk,
        "key": "seo-blog",
        "name": Channel.objects.get(key="seo-blog").name,
        "deals": 1,
        "first_touch": 1_200_000,
        "last_touch": 0,
        "linear": 240_000,
        "u_shaped": 480_000,
        "w_shaped": 360_000,
    }
    assert body["total"]["deals"] == 1
    assert {body["total"][m] for m in MODELS} == {1_200_000}


def test_api_by_campaign_and_empty_period(journey: Contact, api: Client) -> None:
    by_campaign = api.get(URL, {"from": "2026-05-01", "to": "2026-05-31", "by": "campaign"})
    empty = api.get(URL, {"from": "2025-01-01", "to": "2025-01-31"})

    assert {r["key"] for r in by_campaign.json()["rows"]} == {"spring_sns", "webinar_0410", ""}
    assert empty.status_code == 200
    assert empty.json()["rows"] == []
    assert empty.json()["no_data"] is True
    assert empty.json()["total"]["linear"] == 0


@pytest.mark.parametrize(
    "params",
    [
        {"from": "2026-05-31", "to": "2026-05-01"},
        {"from": "2026-13-01"},
        {"from": "2026-05-01", "to": "2026-05-31", "by": "owner"},
    ],
)
def test_api_refuses_a_bad_period_or_dimension(api: Client, params: dict[str, str]) -> None:
    response = api.get(URL, params)

    assert response.status_code == 422
    assert response.json()["detail"]


def test_api_needs_the_scope_and_a_reports_role(db: None, sales_rep: Any, marketer: Any) -> None:
    def client(scopes: list[str], user: Any = None) -> Client:
        token = core_services.apikey_create(
            name="k", scopes=scopes, created_by=user, system=user is None
        ).token
        return Client(headers={"Authorization": f"Bearer {token}"})

    assert client([ApiScope.DEALS_READ]).get(URL).status_code == 403
    assert client([ApiScope.ANALYTICS_READ], sales_rep).get(URL).status_code == 403
    assert client([ApiScope.ANALYTICS_READ], marketer).get(URL).status_code == 200
    assert Client().get(URL).status_code == 401


# --- page ------------------------------------------------------------------------------------

PAGE = reverse_lazy("analytics:attribution")


def test_page_shows_the_models_side_by_side(
    journey: Contact, logged_in: Client, english: None
) -> None:
    response = logged_in.get(PAGE, {"from": "2026-05-01", "to": "2026-05-31"})

    assert response.status_code == 200
    html = response.content.decode()
    for label in ("First touch", "Last touch", "Linear", "U-shaped", "W-shaped"):
        assert label in html
    assert "¥1,200,000" in html
    assert "¥480,000" in html
    assert 'data-figure="' in html


def test_page_by_campaign(journey: Contact, logged_in: Client) -> None:
    response = logged_in.get(PAGE, {"from": "2026-05-01", "to": "2026-05-31", "by": "campaign"})

    assert response.status_code == 200
    assert "春のSNS広告" in response.content.decode()


def test_page_says_no_data_for_an_empty_period(logged_in: Client, english: None) -> None:
    response = logged_in.get(PAGE, {"from": "2025-01-01", "to": "2025-01-31"})

    assert response.status_code == 200
    assert "No deals were won in this period" in response.content.decode()


def test_page_shows_a_period_error(logged_in: Client, english: None) -> None:
    response = logged_in.get(PAGE, {"from": "2026-05-31", "to": "2026-05-01"})

    assert response.status_code == 200
    assert "is before the start date" in response.content.decode()


def test_page_is_for_marketing_only(client: Client, sales_rep: Any) -> None:
    client.force_login(sales_rep)

    assert client.get(PAGE).status_code == 403


def test_page_exports_csv_and_xlsx(journey: Contact, logged_in: Client) -> None:
    params = {"from": "2026-05-01", "to": "2026-05-31", "by": "channel"}

    as_csv = logged_in.get(PAGE, {**params, "format": "csv"})
    as_xlsx = logged_in.get(PAGE, {**params, "format": "xlsx"})

    assert as_csv.status_code == 200
    assert as_csv["Content-Disposition"].startswith('attachment; filename="attribution-')
    table = list(csv.reader(io.StringIO(as_csv.content.decode("utf-8-sig"))))
    assert len(table[0]) == 8  # channel, key, deals, five models
    assert table[-1][-5:] == ["1200000"] * 5
    import openpyxl

    book = openpyxl.load_workbook(io.BytesIO(as_xlsx.content))
    assert book.active is not None and book.active.max_row == len(table)
