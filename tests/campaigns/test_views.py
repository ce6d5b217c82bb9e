"""The channels UI through the Django test client: the channel table (pinned query count),
channel pages, rules (edit, reorder, try a link, re-apply), the cost grid, campaign costs, CSV
upload, campaigns, the tracking code page, permissions and escaping."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from sokyaku.campaigns import services
from sokyaku.campaigns.models import Channel, ChannelCost, ChannelRule, RuleOperator
from sokyaku.contacts import touches
from sokyaku.contacts.models import Contact
from sokyaku.core import clock
from tests.campaigns.factories import campaign, channel, contact

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 4, 15, 12, 0, tzinfo=clock.TOKYO)
APRIL, MARCH = date(2026, 4, 1), date(2026, 3, 1)
LIST = reverse("campaigns:channel_list")
RULES = reverse("campaigns:rule_list")
COSTS = reverse("campaigns:costs")
XSS = "<script>alert(1)</script>"


@pytest.fixture(autouse=True)
def _april() -> object:
    with clock.frozen(NOW):
        yield


def _leads(key: str, count: int, *, at: datetime) -> None:
    target = channel(key)
    for _i in range(count):
        person = contact(f"{key}-{Contact.objects.count()}@ex.jp", at=at)
        Contact.objects.filter(pk=person.pk).update(first_touch_channel=target)


def _cost(key: str, month: date, amount: int) -> None:
    services.channel_costs_upsert(rows=[services.CostRow(month, channel(key).pk, amount)])


def _row(html: str, name: str) -> str:
    """The table row of the channel called ``name``."""
    match = re.search(
        r"<tr[^>]*>\s*<td><a class=\"channel-link\"[^>]*>" + re.escape(name) + r"</a>.*?</tr>",
        html,
        re.S,
    )
    assert match, name
    return re.sub(r"\s+", " ", match.group(0))


# --- Channel table --------------------------------------------------------------------------


def test_the_channel_table_shows_cost_leads_and_cpl_of_two_months(logged_in: Client) -> None:
    # given the seeds' paid social figures in April (300 leads for ¥600,000 → a ¥2,000 CPL,
    # here 3 leads for ¥6,000) and some in March
    _leads("paid-social", 3, at=NOW - timedelta(days=2))
    _leads("paid-social", 1, at=datetime(2026, 3, 20, tzinfo=clock.TOKYO))
    _cost("paid-social", APRIL, 6000)
    _cost("paid-social", MARCH, 5000)
    # when the marketer opens the channel table
    html = logged_in.get(LIST).content.decode()
    # then the paid social row has both months
    row = _row(html, "SNS広告")
    cells = re.findall(r'<td class="num">([^<]*)</td>', row)
    assert cells == ["¥6,000", "3", "¥2,000", "¥5,000", "1", "¥5,000"]
    assert "2026年4月" in html and "2026年3月" in html


def test_leads_and_costs_count_in_their_calendar_month_in_tokyo(logged_in: Client) -> None:
    # a lead at 00:30 on 1 April in Tokyo (still 31 March in UTC) is an April lead
    _leads("webinar", 1, at=datetime(2026, 4, 1, 0, 30, tzinfo=clock.TOKYO))
    row = _row(logged_in.get(LIST).content.decode(), "ウェビナー")
    assert re.findall(r'<td class="num">([^<]*)</td>', row)[:2] == ["—", "1"]


def test_another_month_can_be_shown(logged_in: Client) -> None:
    _cost("email", date(2026, 1, 1), 800)
    html = logged_in.get(LIST, {"month": "2026-01"}).content.decode()
    assert re.findall(r'<td class="num">([^<]*)</td>', _row(html, "メールマガジン"))[0] == "¥800"


def test_the_channel_table_takes_the_same_queries_for_many_channels(
    logged_in: Client, django_assert_num_queries
) -> None:  # type: ignore[no-untyped-def]
    # given a few channels with costs and leads
    _leads("seo-blog", 2, at=NOW)
    _cost("seo-blog", APRIL, 1000)
    logged_in.get(LIST)  # warm the session
    with django_assert_num_queries(8):
        logged_in.get(LIST)
    # when there are many more channels, costs and leads
    for i in range(15):
        services.channel_create(key=f"extra-{i}", name=f"追加{i}", kind="other")
        _cost(f"extra-{i}", APRIL, 100 + i)
        _cost(f"extra-{i}", MARCH, 100 + i)
    _leads("paid-search", 5, at=NOW)
    # then the page still takes the same number of queries
    with django_assert_num_queries(8):
        response = logged_in.get(LIST)
    assert response.content.decode().count('class="channel-link"') == Channel.objects.count()


def test_a_sales_rep_may_look_but_not_change(client: Client, sales_rep) -> None:  # type: ignore[no-untyped-def]
    client.force_login(sales_rep)
    assert client.get(LIST).status_code == 200
    assert client.get(COSTS).status_code == 200
    assert client.post(COSTS, {f"cost_{channel('email').pk}_202604": "1"}).status_code == 403
    assert client.get(reverse("campaigns:rule_create")).status_code == 403
    assert not ChannelCost.objects.exists()


def test_a_user_without_campaign_rights_sees_nothing(client: Client) -> None:
    user = get_user_model().objects.create_user(username="nobody", password="x")
    client.force_login(user)
    assert client.get(LIST).status_code == 403


def test_pages_need_a_login(client: Client) -> None:
    assert client.get(LIST).status_code == 302


# --- Channels -------------------------------------------------------------------------------


def test_a_channel_is_created_and_edited(logged_in: Client) -> None:
    response = logged_in.post(
        reverse("campaigns:channel_create"),
        {"name": "パートナー経由", "key": "Partner", "kind": "partner", "is_active": "on"},
    )
    created = Channel.objects.get(key="partner")
    assert response.status_code == 302
    assert response["Location"] == reverse(
        "campaigns:channel_detail", kwargs={"channel_id": created.pk}
    )
    # a key taken by another channel is refused on its field
    again = logged_in.post(
        reverse("campaigns:channel_edit", kwargs={"channel_id": created.pk}),
        {"name": "パートナー経由", "key": "email", "kind": "partner"},
    )
    assert again.status_code == 200
    assert "Another channel has this key." not in again.content.decode()  # translated
    assert "このキーは別のチャネルで使われています。" in again.content.decode()
    created.refresh_from_db()
    assert (created.key, created.is_active) == ("partner", True)


def test_names_on_channel_pages_are_escaped(logged_in: Client) -> None:
    made = services.channel_create(key="x", name=XSS, kind="other")
    services.channel_rule_create(
        data=services.RuleInput(
            channel_id=made.pk, name=XSS, source_op=RuleOperator.EXACT, source_values=XSS
        )
    )
    campaign("c1", "x", name=XSS)
    for url in (
        LIST,
        RULES,
        COSTS,
        reverse("campaigns:campaign_list"),
        reverse("campaigns:channel_detail", kwargs={"channel_id": made.pk}),
    ):
        html = logged_in.get(url).content.decode()
        assert "<script>alert(1)" not in html, url
        assert "&lt;script&gt;alert(1)" in html, url


# --- Rules ----------------------------------------------------------------------------------


def test_a_rule_is_created_moved_up_and_deleted(logged_in: Client) -> None:
    partner = services.channel_create(key="partner", name="パートナー", kind="partner")
    response = logged_in.post(
        reverse("campaigns:rule_create"),
        {
            "name": "販売店サイト",
            "channel": partner.pk,
            "priority": "",
            "source_op": "any",
            "source_values": "",
            "medium_op": "any",
            "medium_values": "",
            "referrer_op": "exact",
            "referrer_values": "dealer.example, 販売店.example",
            "is_active": "on",
        },
    )
    assert response.status_code == 302
    rule = ChannelRule.objects.get(name="販売店サイト")
    assert rule.referrer_values == "dealer.example, 販売店.example"
    last = ChannelRule.objects.order_by("-priority").first()
    assert last == rule  # appended at the end
    # moved above the previous rule
    logged_in.post(reverse("campaigns:rule_move", kwargs={"rule_id": rule.pk}), {"to": "up"})
    order = list(ChannelRule.objects.order_by("priority").values_list("pk", flat=True))
    assert order[-2] == rule.pk
    # deleted
    logged_in.post(reverse("campaigns:rule_delete", kwargs={"rule_id": rule.pk}))
    assert not ChannelRule.objects.filter(pk=rule.pk).exists()


def test_a_value_condition_without_values_is_refused_on_its_field(logged_in: Client) -> None:
    response = logged_in.post(
        reverse("campaigns:rule_create"),
        {
            "channel": channel("email").pk,
            "source_op": "exact",
            "source_values": " , ",
            "medium_op": "any",
            "referrer_op": "any",
        },
    )
    assert response.status_code == 200
    assert "値を1つ以上入力してください。" in response.content.decode()


def test_try_a_link_names_the_rule_and_channel(logged_in: Client) -> None:
    html = logged_in.get(
        RULES, {"url": "https://ex.co.jp/lp?utm_source=facebook&utm_medium=cpc", "referrer": ""}
    ).content.decode()
    result = re.search(r'class="ruletest__result".*?</div>', html, re.S).group(0)  # type: ignore[union-attr]
    assert "SNS広告" in result


def test_reapplying_the_rules_updates_existing_contacts(
    logged_in: Client, django_capture_on_commit_callbacks
) -> None:  # type: ignore[no-untyped-def]
    person = contact("a@ex.jp", at=NOW)
    touches.contact_touch_record(
        contact_id=person.pk, touch={"source": "partner-news", "medium": "banner"}, at=NOW
    )
    assert Contact.objects.get(pk=person.pk).first_touch_channel is None
    services.channel_rule_create(
        data=services.RuleInput(
            channel_id=channel("referral").pk,
            source_op=RuleOperator.CONTAINS,
            source_values="partner",
        )
    )
    with django_capture_on_commit_callbacks(execute=True):
        response = logged_in.post(reverse("campaigns:rules_reapply"))
    assert response.status_code == 302
    assert Contact.objects.get(pk=person.pk).first_touch_channel == channel("referral")


# --- Costs ----------------------------------------------------------------------------------


def test_the_cost_grid_saves_what_people_type(logged_in: Client) -> None:
    social, seo = channel("paid-social"), channel("seo-blog")
    _cost("email", APRIL, 800)
    response = logged_in.post(
        f"{COSTS}?year=2026",
        {
            f"cost_{social.pk}_202604": "¥600,000",
            f"cost_{seo.pk}_202604": "１，０００，０００",
            f"cost_{seo.pk}_202605": "",
            f"cost_{channel('email').pk}_202604": "",  # cleared: removed
        },
    )
    assert response.status_code == 302
    assert dict(ChannelCost.objects.values_list("channel__key", "amount_jpy")) == {
        "paid-social": 600_000,
        "seo-blog": 1_000_000,
    }
    html = logged_in.get(f"{COSTS}?year=2026").content.decode()
    assert 'value="600,000"' in html


def test_a_bad_cell_saves_nothing_and_keeps_what_was_typed(logged_in: Client) -> None:
    social, seo = channel("paid-social"), channel("seo-blog")
    response = logged_in.post(
        f"{COSTS}?year=2026",
        {f"cost_{social.pk}_202604": "600000", f"cost_{seo.pk}_202604": "たくさん"},
    )
    assert response.status_code == 422
    assert not ChannelCost.objects.exists()
    html = response.content.decode()
    assert 'value="たくさん"' in html and 'aria-invalid="true"' in html


def test_a_campaign_cost_is_added_and_removed(logged_in: Client) -> None:
    wp = campaign("social_whitepaper", "paid-social", name="SNS広告：ホワイトペーパー訴求")
    response = logged_in.post(
        reverse("campaigns:campaign_cost_add"),
        {"month": "2026年4月", "campaign": wp.pk, "amount": "￥２５０，０００"},
    )
    assert response.status_code == 302
    cost = ChannelCost.objects.get()
    assert (cost.campaign_id, cost.channel.key, cost.month, cost.amount_jpy) == (
        wp.pk, "paid-social", APRIL, 250_000)  # fmt: skip
    # the channel's cost in the table includes its campaign
    row = _row(logged_in.get(LIST).content.decode(), "SNS広告")
    assert re.findall(r'<td class="num">([^<]*)</td>', row)[0] == "¥250,000"
    logged_in.post(reverse("campaigns:cost_delete", kwargs={"cost_id": cost.pk}))
    assert not ChannelCost.objects.exists()


def test_a_shift_jis_csv_is_uploaded(logged_in: Client) -> None:
    data = (
        "月,チャネル,キャンペーン,金額\r\n"
        '２０２６年４月,SNS広告,,"￥６００，０００"\r\n'
        "2026/4/1,seo-blog,,\\1000000\r\n"
    ).encode("cp932")
    response = logged_in.post(
        reverse("campaigns:cost_upload"),
        {"file": SimpleUploadedFile("costs.csv", data, content_type="text/csv")},
    )
    assert response.status_code == 302
    assert dict(ChannelCost.objects.values_list("channel__key", "amount_jpy")) == {
        "paid-social": 600_000,
        "seo-blog": 1_000_000,
    }


def test_a_csv_with_errors_lists_them_by_line_and_saves_nothing(logged_in: Client) -> None:
    data = "month,channel,amount\n2026-04,email,800\n2026-04,存在しない,1\n2026-99,email,1\n"
    response = logged_in.post(
        reverse("campaigns:cost_upload"),
        {"file": SimpleUploadedFile("costs.csv", data.encode(), content_type="text/csv")},
    )
    assert response.status_code == 422
    errors = re.search(r'id="upload-errors".*?</div>', response.content.decode(), re.S).group(0)  # type: ignore[union-attr]
    assert "3行目" in errors and "存在しない" in errors and "4行目" in errors
    assert not ChannelCost.objects.exists()


def test_the_sample_file_downloads(logged_in: Client) -> None:
    response = logged_in.get(reverse("campaigns:cost_template"))
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response.content.decode("utf-8-sig").startswith("month,channel,campaign,amount")


# --- Campaigns and tracking code ------------------------------------------------------------


def test_a_campaign_is_added_and_its_utm_must_be_unique(logged_in: Client) -> None:
    url = reverse("campaigns:campaign_list")
    data = {"name": "春のセミナー", "utm_campaign": "spring_2026", "channel": channel("webinar").pk}
    assert logged_in.post(url, data).status_code == 302
    again = logged_in.post(url, {**data, "utm_campaign": "SPRING_2026"})
    assert again.status_code == 200
    assert "このutm_campaignは別のキャンペーンで使われています。" in again.content.decode()


def test_the_tracking_page_shows_the_code_to_install(logged_in: Client, settings) -> None:  # type: ignore[no-untyped-def]
    settings.SITE_URL = "https://ma.sample.example"
    html = logged_in.get(reverse("campaigns:tracking")).content.decode()
    assert '&lt;script async src="https://ma.sample.example/t/snippet.js"&gt;' in html
    assert "https://ma.sample.example/t/notice" in html


def test_rules_and_costs_pages_take_the_same_queries_for_many_rows(
    logged_in: Client, django_assert_num_queries
) -> None:  # type: ignore[no-untyped-def]
    # given the default rules and a campaign cost
    wp = campaign("social_whitepaper", "paid-social")
    services.channel_costs_upsert(rows=[services.CostRow(APRIL, wp.channel_id, 1, wp.pk)])
    logged_in.get(RULES)
    counts = {}
    for url in (RULES, COSTS):
        with CaptureQueriesContext(connection) as captured:
            logged_in.get(url)
        counts[url] = len(captured.captured_queries)
    # when there are many more rules, channels, campaigns and costs
    for i in range(12):
        extra = services.channel_create(key=f"extra-{i}", name=f"追加{i}", kind="other")
        services.channel_rule_create(
            data=services.RuleInput(
                channel_id=extra.pk, source_op=RuleOperator.EXACT, source_values=f"s{i}"
            )
        )
        more = campaign(f"extra_{i}", f"extra-{i}")
        services.channel_costs_upsert(
            rows=[
                services.CostRow(APRIL, extra.pk, 100),
                services.CostRow(MARCH, extra.pk, 100, more.pk),
            ]
        )
    # then each page still takes the same number of queries
    for url, count in counts.items():
        with django_assert_num_queries(count):
            logged_in.get(url)
