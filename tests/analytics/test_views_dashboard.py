"""The report pages a marketer uses: dashboard, funnel, channel table and the drill-down list —
who may open them, what they show for the seeds' channel example and for an empty period,
how refused input is shown, and what the exports contain."""

from __future__ import annotations

import io
import re
from datetime import date, datetime

import openpyxl
import pytest
from django.test import Client
from django.urls import reverse

from sokyaku.analytics.templatetags.analytics_ui import delta, delta_pt, percent, yen
from sokyaku.campaigns import services as campaign_services
from sokyaku.campaigns.models import Channel, ChannelKind
from sokyaku.core import clock
from sokyaku.core.models import AccessKind, DataAccessLog
from sokyaku.demo.example import example_channels_load

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 5, 14, 10, 0, tzinfo=clock.TOKYO)
APRIL = {"from": "2026-04-01", "to": "2026-04-30"}
# The drill-down page: session, user, permissions, the filter selects, count, the page of
# contacts, the access log — the same for 50 rows as for 5 (13 today, some room).
QUERIES = 15
PAGES = ("analytics:dashboard", "analytics:funnel", "analytics:channels", "analytics:contacts")


@pytest.fixture(autouse=True)
def _may_2026():  # type: ignore[no-untyped-def]
    with clock.frozen(NOW):
        yield


@pytest.fixture
def example(db):  # type: ignore[no-untyped-def]
    """The seeds' worked example in April 2026: SEO blog, paid social and webinar."""
    return example_channels_load(month=date(2026, 4, 1))


def _text(response) -> str:  # type: ignore[no-untyped-def]
    """The page's visible text, tags removed and whitespace folded."""
    html = response.content.decode()
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def _get(client: Client, name: str, **params: str):  # type: ignore[no-untyped-def]
    return client.get(reverse(name), params)


# --- who may look --------------------------------------------------------------------------


@pytest.mark.parametrize("name", PAGES)
def test_anonymous_visitors_are_sent_to_log_in(client: Client, name: str) -> None:
    response = _get(client, name)

    assert response.status_code == 302
    assert "/login/" in response["Location"]


@pytest.mark.parametrize("name", PAGES)
def test_a_sales_rep_may_not_see_reports(client: Client, sales_rep, name: str) -> None:  # type: ignore[no-untyped-def]
    client.force_login(sales_rep)

    assert _get(client, name).status_code == 403


@pytest.mark.parametrize("name", PAGES)
@pytest.mark.parametrize("role", ["marketer", "admin_user"])
def test_marketers_and_admins_see_reports(
    client: Client, request: pytest.FixtureRequest, role: str, name: str
) -> None:
    client.force_login(request.getfixturevalue(role))

    response = _get(client, name)

    assert response.status_code == 200
    assert 'menu__button--current">分析<' in response.content.decode()  # main nav: 分析


# --- the seeds' example --------------------------------------------------------------------


def test_channel_table_shows_the_seed_example_exactly(logged_in, english, example) -> None:  # type: ignore[no-untyped-def]
    seo, social, webinar = (c.name for c in example.channels)  # the installation's names

    response = _get(logged_in, "analytics:channels", **APRIL)

    text = _text(response)
    rows = {
        name: (int(rank), figures)
        for rank, name, figures in re.findall(
            rf"(\d) ({re.escape(seo)}|{re.escape(social)}|{re.escape(webinar)}) "
            r"((?:\S+ ){9})",
            text,
        )
    }
    # rank, leads, cost, CPL, MQLs, SQLs, opportunities, won, win rate, revenue
    assert rows[seo][1].split()[:3] == ["500", "¥1,000,000", "¥2,000"]
    assert rows[seo][1].split()[6:8] == ["25", "5%"]
    assert rows[social][1].split()[:3] == ["300", "¥600,000", "¥2,000"]
    assert rows[social][1].split()[6:8] == ["6", "2%"]
    assert rows[webinar][1].split()[:3] == ["100", "¥300,000", "¥3,000"]
    assert rows[webinar][1].split()[6:8] == ["8", "8%"]
    assert rows[social][0] > rows[seo][0]
    assert rows[social][0] > rows[webinar][0]
    assert "How channels are ranked" in text
    assert "cost per won deal" in text


def test_dashboard_cards_link_to_the_contacts_behind_them(logged_in, english, example) -> None:  # type: ignore[no-untyped-def]
    response = _get(logged_in, "analytics:dashboard", **APRIL)

    html = response.content.decode()
    card = re.search(r'data-kpi="leads".*?</article>', html, flags=re.S)
    assert card is not None
    assert ">900</a>" in card.group(0)
    link = re.search(r'href="([^"]+)" data-drill="leads"', card.group(0))
    assert link is not None
    drilled = logged_in.get(link.group(1).replace("&amp;", "&"))
    assert drilled.status_code == 200
    assert "900 contacts" in _text(drilled)
    assert html.count('class="chart"') == 4
    assert "plotly/plotly.min.js" in html
    assert 'class="nodata"' not in html


def test_dashboard_compares_with_the_previous_period_unless_asked_not_to(  # type: ignore[no-untyped-def]
    logged_in, english, example
) -> None:
    compared = _text(_get(logged_in, "analytics:dashboard", **APRIL))
    alone = _text(_get(logged_in, "analytics:dashboard", compare="0", **APRIL))

    assert "compared with 2026/03/01 – 2026/03/31" in compared
    assert "previous period 0" in compared
    assert "compared with" not in alone
    assert "previous period 0" not in alone


def test_b2c_view_shows_the_b2c_kpis(logged_in, english, example) -> None:  # type: ignore[no-untyped-def]
    b2b = _get(logged_in, "analytics:dashboard", **APRIL).content.decode()
    b2c = _get(logged_in, "analytics:dashboard", view="b2c", **APRIL).content.decode()

    assert 'data-kpi="hot_lead_ratio"' in b2b
    assert 'data-kpi="repeat_rate"' not in b2b
    assert 'data-kpi="repeat_rate"' in b2c
    assert 'data-kpi="open_rate"' in b2c
    assert 'data-kpi="hot_lead_ratio"' not in b2c


def test_funnel_counts_drill_into_the_stage(logged_in, english, example) -> None:  # type: ignore[no-untyped-def]
    response = _get(logged_in, "analytics:funnel", **APRIL)

    html = response.content.decode()
    link = re.search(r'<a href="([^"]+)" data-drill="customer">39</a>', html)
    assert link is not None
    assert "mode=cohort" in link.group(1)
    drilled = logged_in.get(link.group(1).replace("&amp;", "&"))
    assert "39 contacts" in _text(drilled)
    assert drilled.content.decode().count('data-contact="') == 39


# --- empty periods and refused input ---------------------------------------------------------


@pytest.mark.parametrize("name", PAGES[:3])
def test_an_empty_period_shows_zeros_and_says_so(logged_in, english, name: str) -> None:  # type: ignore[no-untyped-def]
    response = _get(logged_in, name, **{"from": "2020-01-01", "to": "2020-01-31"})

    assert response.status_code == 200
    assert "No data for this period." in _text(response)


def test_an_empty_dashboard_shows_zero_cards(logged_in, english) -> None:  # type: ignore[no-untyped-def]
    response = _get(logged_in, "analytics:dashboard", **{"from": "2020-01-01", "to": "2020-01-31"})

    html = response.content.decode()
    card = re.search(r'data-kpi="leads".*?</article>', html, flags=re.S)
    assert card is not None and ">0</a>" in card.group(0)
    assert re.search(r'data-kpi="win_rate".*?kpi__value num">—<', html, flags=re.S)


@pytest.mark.parametrize("name", PAGES)
def test_an_end_before_the_start_is_shown_on_the_form(logged_in, english, name: str) -> None:  # type: ignore[no-untyped-def]
    response = _get(logged_in, name, **{"from": "2026-04-30", "to": "2026-04-01"})

    assert response.status_code == 200
    text = _text(response)
    assert "The end date (2026-04-01) is before the start date (2026-04-30)." in text
    assert 'id="kpis"' not in response.content.decode()
    assert "Correct the period or filters above" in text


def test_a_malformed_date_is_shown_on_the_form(logged_in, english) -> None:  # type: ignore[no-untyped-def]
    response = _get(logged_in, "analytics:dashboard", **{"from": "2026-13-45"})

    assert response.status_code == 200
    assert "Enter a date as YYYY-MM-DD." in _text(response)
    assert 'id="report-from-error"' in response.content.decode()


@pytest.mark.parametrize("name", PAGES)
def test_a_deleted_channel_is_named_on_the_form(logged_in, english, name: str) -> None:  # type: ignore[no-untyped-def]
    channel = campaign_services.channel_create(
        key="gone", name="消えた広告", kind=ChannelKind.OTHER
    )
    Channel.objects.filter(pk=channel.pk).delete()  # removed outside the app (admin, SQL)

    response = _get(logged_in, name, channel=str(channel.pk), **APRIL)

    assert response.status_code == 200
    assert f"Channel {channel.pk} does not exist (it may have been deleted)." in _text(response)


def test_an_unknown_drill_metric_is_shown_not_raised(logged_in, english) -> None:  # type: ignore[no-untyped-def]
    response = _get(logged_in, "analytics:contacts", metric="nonsense", **APRIL)

    assert response.status_code == 200
    assert "Unknown metric: nonsense." in _text(response)


# --- exports ----------------------------------------------------------------------------------


def test_channel_csv_neutralises_formula_names_and_opens_in_excel(logged_in, english) -> None:  # type: ignore[no-untyped-def]
    channel = campaign_services.channel_create(
        key="evil", name='=HYPERLINK("http://x.example","click")', kind=ChannelKind.OTHER
    )
    campaign_services.channel_costs_upsert(
        rows=[
            campaign_services.CostRow(
                month=date(2026, 4, 1), channel_id=channel.pk, amount_jpy=50_000
            )
        ]
    )

    response = _get(logged_in, "analytics:channels", format="csv", **APRIL)

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    body = response.content
    assert body.startswith(b"\xef\xbb\xbf")
    text = body.decode("utf-8-sig")
    lines = text.splitlines()
    assert lines[0].startswith("Channel,Leads,Cost,CPL,")
    assert "'=HYPERLINK(" in text
    assert not any(line.startswith("=") or ",=" in line for line in lines)
    assert lines[-1].startswith("Total,")


def test_channel_xlsx_opens_with_the_seed_numbers(logged_in, english, example) -> None:  # type: ignore[no-untyped-def]
    response = _get(logged_in, "analytics:channels", format="xlsx", **APRIL)

    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    rows = [[c.value for c in row] for row in sheet.iter_rows()]
    assert rows[0][:4] == ["Channel", "Leads", "Cost", "CPL"]
    by_name = {row[0]: row for row in rows[1:]}
    assert by_name[example.channels[0].name][1:4] == ["500", "1000000", "2000"]
    assert by_name["Total"][1] == "900"


def test_kpi_export_is_a_table_of_kpi_value_and_previous(logged_in, english, example) -> None:  # type: ignore[no-untyped-def]
    response = _get(logged_in, "analytics:dashboard", format="csv", **APRIL)

    lines = response.content.decode("utf-8-sig").splitlines()
    assert lines[0] == "KPI,Value,Previous period (2026-03-01 – 2026-03-31)"
    assert "Leads,900,0" in lines
    assert "Cost,1900000,0" in lines  # the cost beside the revenue
    assert len(lines) == 1 + 13  # the B2B cards


def test_funnel_xlsx_opens(logged_in, english, example) -> None:  # type: ignore[no-untyped-def]
    response = _get(logged_in, "analytics:funnel", format="xlsx", **APRIL)

    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    rows = [[c.value for c in row] for row in sheet.iter_rows()]
    assert rows[0][0] == "Stage"
    assert [row[1] for row in rows[1:]][0] == "900"


def test_drill_down_export_lists_the_contacts_and_is_logged(  # type: ignore[no-untyped-def]
    logged_in, english, example, marketer
) -> None:
    response = _get(logged_in, "analytics:contacts", metric="won", format="csv", **APRIL)

    text = b"".join(response.streaming_content).decode("utf-8-sig")
    lines = text.splitlines()
    assert lines[0].startswith("ID,Name,")
    assert len(lines) == 1 + 39
    entry = DataAccessLog.objects.get(kind=AccessKind.EXPORT)
    assert entry.user == marketer
    assert entry.rows == 39
    assert entry.filters["metric"] == "won"


def test_drill_down_page_is_paged_and_logged(logged_in, english, example, marketer) -> None:  # type: ignore[no-untyped-def]
    response = _get(logged_in, "analytics:contacts", metric="leads", channel="", **APRIL)

    html = response.content.decode()
    assert html.count('data-contact="') == 50
    assert "Page 1 of 18" in _text(response)
    assert "/contacts/" in html
    entry = DataAccessLog.objects.get(kind=AccessKind.BULK_VIEW, resource="analytics.contacts")
    assert entry.rows == 50


def test_drill_down_page_runs_a_bounded_number_of_queries(  # type: ignore[no-untyped-def]
    logged_in, english, example, django_assert_max_num_queries
) -> None:
    with django_assert_max_num_queries(QUERIES) as captured:
        response = _get(logged_in, "analytics:contacts", metric="leads", **APRIL)

    assert response.content.decode().count('data-contact="') == 50
    assert len(captured.captured_queries) <= QUERIES


def test_funnel_in_period_mode_drills_with_that_mode(logged_in, english, example) -> None:  # type: ignore[no-untyped-def]
    response = _get(logged_in, "analytics:funnel", mode="period", **APRIL)

    html = response.content.decode()
    assert "Period: stage entries during the period" in _text(response)
    link = re.search(r'<a href="([^"]+)" data-drill="customer">39</a>', html)
    assert link is not None
    assert "mode=period" in link.group(1)


# --- how numbers read --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (0.05, "5%"),
        (0.125, "12.5%"),
        (1 / 3, "33.3%"),
        (0, "0%"),
        (None, "—"),
        (11.316, "1,131.6%"),
    ],
)
def test_percent(value: float | None, shown: str) -> None:
    assert percent(value) == shown


def test_yen_and_changes() -> None:
    assert yen(2000) == "¥2,000"
    assert yen(1_999.5) == "¥2,000"
    assert yen(None) == "—"
    assert delta(150, 100) == "▲ 50%"
    assert delta(90, 100) == "▼ 10%"
    assert delta(5, 0) == "—"  # nothing to compare with
    assert delta_pt(0.08, 0.05) == "▲ 3 pt"
    assert delta_pt(0.05, 0.0625) == "▼ 1.2 pt"
    assert delta_pt(0.05, None) == "—"


# --- like with like ------------------------------------------------------------------------------


def _leads_on(day: date, count: int) -> None:
    from tests.analytics import kpi_factories

    for _ in range(count):
        kpi_factories.contact(datetime(day.year, day.month, day.day, 11, 0, tzinfo=clock.TOKYO))


def test_this_month_so_far_is_compared_with_last_month_up_to_the_same_day(  # type: ignore[no-untyped-def]
    logged_in, english
) -> None:
    # given leads on April 3 and April 20, and on May 2 (the clock says May 14, 10:00)
    _leads_on(date(2026, 4, 3), 2)
    _leads_on(date(2026, 4, 20), 5)
    _leads_on(date(2026, 5, 2), 3)
    from sokyaku.analytics.rollups import rollups_rebuild

    rollups_rebuild()
    # when the dashboard shows this month (the default)
    html = _get(logged_in, "analytics:dashboard").content.decode()
    text = _text_of(html)
    # then May 1–14 is compared with April 1–14, not with the whole of April
    assert "2026/05/01 – 2026/05/14 (14 days)" in text
    assert "compared with 2026/04/01 – 2026/04/14" in text
    card = re.search(r'data-kpi="leads".*?</article>', html, flags=re.S)
    assert card is not None
    assert "previous period 2" in _text_of(card.group(0))  # April 20's five are not compared
    # and today's unfinished day is said to be still counted
    assert "today still being counted; the period runs to 2026/05/31" in text


def test_a_month_that_has_ended_is_compared_with_the_whole_month_before(  # type: ignore[no-untyped-def]
    logged_in, english
) -> None:
    text = _text(_get(logged_in, "analytics:dashboard", **APRIL))

    assert "compared with 2026/03/01 – 2026/03/31" in text
    assert "still being counted" not in text


def test_the_comparison_caps_at_the_end_of_a_shorter_month() -> None:
    from sokyaku.analytics.period import period_parse

    with clock.frozen(datetime(2026, 3, 31, 9, 0, tzinfo=clock.TOKYO)):
        march = period_parse(None, None)
        assert (march.so_far().first, march.so_far().last) == (date(2026, 3, 1), date(2026, 3, 31))
        before = march.comparison()
    assert (before.first, before.last) == (date(2026, 2, 1), date(2026, 2, 28))


def test_todays_bucket_is_marked_in_progress_not_drawn_as_a_fall(  # type: ignore[no-untyped-def]
    logged_in, english
) -> None:
    # given mail delivered today and not opened yet (the clock says May 14)
    html = _get(logged_in, "analytics:dashboard").content.decode()
    from sokyaku.analytics import charts

    figure = charts.email_rates(
        [date(2026, 5, 13), date(2026, 5, 14)],
        delivered=[10, 10],
        opened=[4, 0],
        clicked=[1, 0],
        converted=[0, 0],
        partial=date(2026, 5, 14),
    )
    # then today's rate is left out of the line (not plotted as 0 %) and the day is labelled
    opens = figure.data[0]
    assert list(opens.y) == [0.4, None]
    assert any(a.text == "In progress" for a in figure.layout.annotations)
    assert "data-partial" in html


def _text_of(html: str) -> str:
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))
