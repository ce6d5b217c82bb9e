"""Monthly costs: what people type (¥, commas, full-width digits, 2026年4月), the set-based
upsert, and CSV files as Excel saves them (Shift_JIS or UTF-8 with BOM), all or nothing."""

from __future__ import annotations

from datetime import date

import pytest

from sokyaku.campaigns import costs, services
from sokyaku.campaigns.models import ChannelCost
from tests.campaigns.factories import campaign, channel

pytestmark = pytest.mark.django_db

APRIL = date(2026, 4, 1)


def _stored() -> set[tuple[str, str | None, str, int]]:
    return {
        (
            c.channel.key,
            c.campaign.utm_campaign if c.campaign else None,
            f"{c.month:%Y-%m}",
            c.amount_jpy,
        )
        for c in ChannelCost.objects.select_related("channel", "campaign")
    }


@pytest.mark.parametrize(
    ("text", "amount"),
    [
        ("1000000", 1_000_000),
        ("¥1,000,000", 1_000_000),
        ("￥１，０００，０００", 1_000_000),
        ("１０００円", 1000),
        ("\\300,000", 300_000),
        (" 600,000 円 ", 600_000),
        ("2000.0", 2000),
        (0, 0),
    ],
)
def test_amounts_as_people_write_them(text: str, amount: int) -> None:
    assert costs.amount_parse(text) == amount


@pytest.mark.parametrize(
    ("text", "code"),
    [("", "required"), ("12.5", "bad_amount"), ("-100", "negative_amount"), ("abc", "bad_amount")],
)
def test_amounts_that_are_refused(text: str, code: str) -> None:
    with pytest.raises(costs.ParseError) as caught:
        costs.amount_parse(text)
    assert caught.value.code == code


@pytest.mark.parametrize(
    "text",
    ["2026-04", "2026/4", "2026年4月", "２０２６年４月", "202604", "2026/4/1", "2026-04-01 0:00"],
)
def test_months_as_people_write_them(text: str) -> None:
    assert costs.month_parse(text) == APRIL


def test_upsert_creates_updates_and_removes_in_one_go() -> None:
    # given April costs for two channels
    social, seo = channel("paid-social"), channel("seo-blog")
    saved = services.channel_costs_upsert(
        rows=[
            services.CostRow(APRIL, social.pk, 600_000),
            services.CostRow(APRIL, seo.pk, 1_000_000),
        ]
    )
    assert (saved.created, saved.updated) == (2, 0)
    # when one changes, one is cleared and a campaign cost is added
    wp = campaign("social_whitepaper", "paid-social")
    saved = services.channel_costs_upsert(
        rows=[
            services.CostRow(APRIL, social.pk, 650_000),
            services.CostRow(APRIL, seo.pk, None),
            services.CostRow(APRIL, social.pk, 200_000, wp.pk),
        ]
    )
    # then the stored costs are exactly the new ones
    assert (saved.created, saved.updated, saved.deleted) == (1, 1, 1)
    assert _stored() == {
        ("paid-social", None, "2026-04", 650_000),
        ("paid-social", "social_whitepaper", "2026-04", 200_000),
    }


def test_items_resolve_channels_by_key_or_name_and_campaigns_by_utm() -> None:
    campaign("search_brand", "paid-search", name="リスティング：指名キーワード")
    rows = services.cost_items_resolve(
        [
            costs.CostItem("2026-04", "SNS広告", "", "¥600,000"),
            costs.CostItem("2026-04", "seo-blog", "", "1000000"),
            costs.CostItem("2026-04", "", "search_brand", "50,000"),
            costs.CostItem("2026-05", "paid-search", "リスティング：指名キーワード", "10"),
        ]
    )
    assert [(r.channel_id, r.amount_jpy) for r in rows] == [
        (channel("paid-social").pk, 600_000),
        (channel("seo-blog").pk, 1_000_000),
        (channel("paid-search").pk, 50_000),
        (channel("paid-search").pk, 10),
    ]
    assert rows[2].campaign_id == rows[3].campaign_id is not None


def test_every_bad_item_is_reported_and_nothing_is_stored() -> None:
    campaign("webinar_202604", "webinar")
    items = [
        costs.CostItem("2026-04", "paid-social", "", "600000"),
        costs.CostItem("2026-13", "nope", "", "-5"),
        costs.CostItem("2026-04", "email", "webinar_202604", "1"),
        costs.CostItem("2026-04", "paid-social", "", "1"),
    ]
    with pytest.raises(services.CostInputError) as caught:
        services.cost_items_resolve(items)
    assert [(p.index, p.field, p.code) for p in caught.value.problems] == [
        (1, "month", "bad_month"),
        (1, "amount", "negative_amount"),
        (1, "channel", "unknown_channel"),
        (2, "campaign", "campaign_channel"),
        (3, "month", "duplicate"),
    ]
    assert not ChannelCost.objects.exists()


SJIS_CSV = (
    "月,チャネル,キャンペーン,金額\r\n"
    '２０２６年４月,SNS広告,,"￥６００，０００"\r\n'
    "2026/4/1,seo-blog,,\\1000000\r\n"
    "2026-04,ウェビナー,,３０万\r\n"
)


def test_a_shift_jis_csv_from_excel_is_imported() -> None:
    # given a Shift_JIS file with Japanese headers, yen signs and full-width digits
    data = SJIS_CSV.replace("３０万", "３００，０００円").encode("cp932")
    # when it is imported
    saved = services.channel_costs_import_csv(data=data)
    # then every row is stored
    assert saved.created == 3
    assert _stored() == {
        ("paid-social", None, "2026-04", 600_000),
        ("seo-blog", None, "2026-04", 1_000_000),
        ("webinar", None, "2026-04", 300_000),
    }


def test_a_utf8_csv_with_bom_and_campaigns_is_imported_and_reimport_updates() -> None:
    campaign("social_webinar", "paid-social")
    text = 'month,channel,campaign,amount\n2026-04,paid-social,social_webinar,"¥250,000"\n'
    services.channel_costs_import_csv(data=("\ufeff" + text).encode("utf-8"))
    saved = services.channel_costs_import_csv(data=text.replace("250", "260").encode("utf-8"))
    assert (saved.created, saved.updated) == (0, 1)
    assert _stored() == {("paid-social", "social_webinar", "2026-04", 260_000)}


def test_a_csv_with_a_bad_row_stores_nothing_and_names_the_line() -> None:
    # given a file whose third line has an amount no one can read
    data = SJIS_CSV.encode("cp932")
    # when it is imported
    with pytest.raises(services.CostInputError) as caught:
        services.channel_costs_import_csv(data=data)
    # then the error names line 4 and its amount, and nothing was stored
    assert [(p.line, p.field, p.code) for p in caught.value.problems] == [
        (4, "amount", "bad_amount")
    ]
    assert not ChannelCost.objects.exists()


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"", "empty"),
        (b"month,amount\n2026-04,1\n", "missing_columns"),
        (b"month,channel,amount\n", "empty"),
        (b"x" * (costs.MAX_CSV_BYTES + 1), "too_large"),
    ],
)
def test_files_that_are_not_cost_csvs(data: bytes, code: str) -> None:
    with pytest.raises(services.CostInputError) as caught:
        services.channel_costs_import_csv(data=data)
    assert [p.code for p in caught.value.problems] == [code]
