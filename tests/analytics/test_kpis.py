"""The KPI table of DESIGN.md for a period and filters: counts, costs, ratios and the state KPIs
read at an instant (hot-lead ratio, nurturing rate, repeat rate)."""

from __future__ import annotations

from datetime import date

import pytest

from sokyaku.activity.models import EventType
from sokyaku.analytics.period import Filters, Period, filters_resolve
from sokyaku.analytics.selectors.kpis import B2B_KPIS, B2C_KPIS, KPI_LABELS, KPI_NAMES, kpis
from sokyaku.campaigns import services as campaign_services
from sokyaku.campaigns.models import Channel
from sokyaku.contacts.models import Contact
from sokyaku.core import clock, roles
from sokyaku.core import services as core_services
from sokyaku.demo.example import example_channels_load
from sokyaku.lifecycle.models import Stage
from sokyaku.scoring.services import preset_install_if_missing
from tests.analytics import kpi_factories as f

pytestmark = pytest.mark.django_db

NOW = f.tokyo(2026, 5, 14, 10, 0)
MARCH = Period(first=date(2026, 3, 1), last=date(2026, 3, 31))
APRIL = Period(first=date(2026, 4, 1), last=date(2026, 4, 30))
MAY = Period(first=date(2026, 5, 1), last=date(2026, 5, 31))


@pytest.fixture(autouse=True)
def _frozen():  # type: ignore[no-untyped-def]
    with clock.frozen(NOW):
        yield


# --- the seeds' example -----------------------------------------------------------------------


def test_the_seeds_example_month() -> None:
    example_channels_load()

    april = kpis(APRIL, Filters())

    assert (april.leads, april.cost, april.won, april.revenue) == (900, 1_900_000, 39, 23_400_000)
    assert april.cpl == 2_111  # ¥1,900,000 ÷ 900, rounded half up
    assert april.win_rate == pytest.approx(39 / 900)
    assert (april.mqls, april.sqls, april.opportunities, april.customers) == (39, 39, 39, 39)
    assert april.cac == 48_718  # ¥1,900,000 ÷ 39 new customers
    assert april.roi == pytest.approx((23_400_000 - 1_900_000) / 1_900_000)
    assert april.lead_to_customer_rate == pytest.approx(39 / 900)
    assert april.no_data is False


def test_one_channel_of_the_example() -> None:
    example_channels_load()
    seo = Channel.objects.get(key="seo-blog")

    figures = kpis(APRIL, filters_resolve(channel=seo.pk))

    assert (figures.leads, figures.cost, figures.cpl, figures.won) == (500, 1_000_000, 2_000, 25)
    assert figures.win_rate == 0.05
    assert figures.roi == 14.0


def test_an_empty_period_is_zeros_and_no_data() -> None:
    figures = kpis(MARCH, Filters())

    assert figures.no_data is True
    assert (figures.leads, figures.cost, figures.won, figures.revenue) == (0, 0, 0, 0)
    for name in ("cpl", "win_rate", "open_rate", "ctr", "cac", "roi", "hot_lead_ratio"):
        assert getattr(figures, name) is None
    assert figures.nurturing_rate is None and figures.repeat_rate is None


def test_every_kpi_has_a_label_and_both_views_name_real_kpis() -> None:
    assert set(KPI_LABELS) == set(KPI_NAMES)
    assert set(B2B_KPIS) <= set(KPI_NAMES) and set(B2C_KPIS) <= set(KPI_NAMES)
    assert set(kpis(MARCH, Filters()).as_dict()) == set(KPI_NAMES)


# --- costs --------------------------------------------------------------------------------------


def test_a_partial_month_gets_its_share_of_the_cost() -> None:
    f.cost("seo-blog", date(2026, 4, 1), 300_000)
    for day in range(1, 11):
        f.contact(f.tokyo(2026, 4, day, 12), channel_key="seo-blog")

    first_ten_days = kpis(Period(date(2026, 4, 1), date(2026, 4, 10)), Filters())

    assert first_ten_days.cost == 100_000  # 10 of April's 30 days
    assert first_ten_days.cpl == 10_000


def test_costs_of_a_period_over_two_months_are_prorated_in_each() -> None:
    f.cost("webinar", date(2026, 3, 1), 310_000)
    f.cost("webinar", date(2026, 4, 1), 300_000)

    figures = kpis(Period(date(2026, 3, 22), date(2026, 4, 5)), Filters())

    assert figures.cost == 100_000 + 50_000


def test_leads_without_a_recorded_cost_have_no_cpl() -> None:
    f.contact(f.tokyo(2026, 4, 3, 12), channel_key="seo-blog")

    figures = kpis(APRIL, Filters())

    assert figures.leads == 1 and figures.cost == 0
    assert figures.cpl is None and figures.roi is None


def test_a_reps_leads_are_not_divided_into_the_channels_cost() -> None:
    rep = core_services.user_create(
        username="rep", password="x", role=roles.SALES_REP, check_password=False
    )
    f.cost("seo-blog", date(2026, 4, 1), 300_000)
    f.contact(f.tokyo(2026, 4, 3, 12), channel_key="seo-blog", owner=rep)
    f.contact(f.tokyo(2026, 4, 4, 12), channel_key="seo-blog")

    mine = kpis(APRIL, filters_resolve(owner=rep.pk))

    assert mine.leads == 1
    assert mine.cpl is None and mine.cac is None and mine.roi is None


# --- ratios of counts ---------------------------------------------------------------------------


def test_opportunity_rate_is_handoffs_that_became_opportunities() -> None:
    people = [f.contact(f.tokyo(2026, 4, 1, 10)) for _ in range(4)]
    for person in people:
        f.handoff(person, f.tokyo(2026, 4, 2, 10))
    f.move(people[0], Stage.SQL, f.tokyo(2026, 4, 5, 10))
    f.move(people[0], Stage.OPPORTUNITY, f.tokyo(2026, 4, 9, 10))

    figures = kpis(APRIL, Filters())

    assert (figures.handoffs, figures.handoffs_converted) == (4, 1)
    assert figures.opportunity_rate == 0.25


def test_mail_rates_divide_by_delivered_mails() -> None:
    person = f.contact(f.tokyo(2026, 3, 1, 10))
    at = f.tokyo(2026, 4, 1, 10)  # more than a week before the demo request below
    f.mail(person, at, opened=True)
    f.mail(person, at, clicked=True)
    f.mail(person, at)
    f.mail(person, at)
    f.mail(person, at, bounced=True)
    f.mail(person, f.tokyo(2026, 4, 12, 10), clicked=True)  # clicked at 11:00
    f.event(person, EventType.DEMO_REQUESTED, f.tokyo(2026, 4, 12, 12))

    figures = kpis(APRIL, Filters())

    assert (figures.sent, figures.delivered) == (6, 5)
    assert figures.open_rate == 3 / 5
    assert figures.ctr == 2 / 5
    assert figures.conversion_rate == 1 / 5


# --- state KPIs ---------------------------------------------------------------------------------


def _april_people() -> dict[str, Contact]:
    """Leads as of the end of April:

    a: hot since Apr 10 → hot;  b: hot Apr 5, warm Apr 20 → warm;  c: never scored → cold;
    d: hot Apr 3, customer Apr 25 → not open;  e: hot only on May 3 → cold at the end;
    g: warm Mar 20, hot Apr 15 → hot, but not cold at the start;  h: created Apr 10, hot Apr 12.
    """
    march = f.tokyo(2026, 3, 10, 10)
    people = {k: f.contact(march) for k in "abcdeg"}
    f.band(people["a"], "cold", "hot", f.tokyo(2026, 4, 10, 10))
    f.band(people["b"], "cold", "hot", f.tokyo(2026, 4, 5, 10))
    f.band(people["b"], "hot", "warm", f.tokyo(2026, 4, 20, 10))
    f.band(people["d"], "cold", "hot", f.tokyo(2026, 4, 3, 10))
    f.won_deal(people["d"], f.tokyo(2026, 4, 25, 10))
    f.band(people["e"], "cold", "hot", f.tokyo(2026, 5, 3, 10))
    f.band(people["g"], "cold", "warm", f.tokyo(2026, 3, 20, 10))
    f.band(people["g"], "warm", "hot", f.tokyo(2026, 4, 15, 10))
    people["h"] = f.contact(f.tokyo(2026, 4, 10, 10))
    f.band(people["h"], "cold", "hot", f.tokyo(2026, 4, 12, 10))
    return people


def test_hot_lead_ratio_at_the_end_of_a_past_period() -> None:
    _april_people()

    figures = kpis(APRIL, Filters())

    # Open at the end: a, b, c, e, g, h; hot: a, g, h.
    assert (figures.hot_leads, figures.open_leads) == (3, 6)
    assert figures.hot_lead_ratio == 0.5


def test_hot_lead_ratio_of_a_period_ending_later_is_todays() -> None:
    preset_install_if_missing()
    hot = f.contact(f.tokyo(2026, 5, 2, 10))
    f.contact(f.tokyo(2026, 5, 2, 11))
    f.event(hot, EventType.INQUIRY, f.tokyo(2026, 5, 13, 10))
    f.event(hot, EventType.INQUIRY, f.tokyo(2026, 5, 13, 11))

    figures = kpis(MAY, Filters())

    assert (figures.hot_leads, figures.open_leads) == (1, 2)


def test_nurturing_rate_is_cold_open_leads_at_the_start_that_warmed_up() -> None:
    _april_people()

    figures = kpis(APRIL, Filters())

    # Cold open leads on Apr 1: a, b, c, d, e (g was warm, h did not exist); warmed: a, b, d.
    assert (figures.nurtured, figures.nurture_base) == (3, 5)
    assert figures.nurturing_rate == 0.6


def test_state_kpis_follow_the_channel_filter() -> None:
    people = [f.contact(f.tokyo(2026, 3, 10, 10), channel_key="webinar") for _ in range(2)]
    f.contact(f.tokyo(2026, 3, 10, 10), channel_key="seo-blog")
    f.band(people[0], "cold", "hot", f.tokyo(2026, 4, 10, 10))

    figures = kpis(APRIL, filters_resolve(channel=f.channel("webinar").pk))

    assert (figures.hot_leads, figures.open_leads) == (1, 2)
    assert (figures.nurtured, figures.nurture_base) == (1, 2)


def test_repeat_rate_counts_purchases_up_to_the_end_of_the_period() -> None:
    people = [f.contact(f.tokyo(2026, 3, 1, 10)) for _ in range(3)]
    f.event(people[0], EventType.PURCHASE, f.tokyo(2026, 3, 5, 10), amount_jpy=5_000)
    f.event(people[0], EventType.PURCHASE, f.tokyo(2026, 4, 5, 10), amount_jpy=5_000)
    f.event(people[1], EventType.PURCHASE, f.tokyo(2026, 4, 6, 10), amount_jpy=5_000)
    f.event(people[1], EventType.PURCHASE, f.tokyo(2026, 5, 6, 10), amount_jpy=5_000)
    f.event(people[2], EventType.PURCHASE, f.tokyo(2026, 4, 7, 10), amount_jpy=5_000)

    figures = kpis(APRIL, Filters())

    assert (figures.repeat_buyers, figures.buyers) == (1, 3)
    assert figures.repeat_rate == pytest.approx(1 / 3)


def test_a_state_kpi_never_divides_by_zero() -> None:
    f.contact(f.tokyo(2026, 4, 3, 10))  # a lead, but it did not exist on Apr 1

    figures = kpis(APRIL, Filters())

    assert figures.nurture_base == 0 and figures.nurturing_rate is None
    assert figures.hot_lead_ratio == 0.0


def test_a_campaign_filter_keeps_its_leads_and_its_own_costs() -> None:
    spring = campaign_services.campaign_save(
        data=campaign_services.CampaignInput(
            name="春のウェビナー", channel_id=f.channel("webinar").pk, utm_campaign="spring-webinar"
        )
    )
    campaign_services.channel_costs_upsert(
        rows=[
            campaign_services.CostRow(
                month=date(2026, 4, 1),
                channel_id=f.channel("webinar").pk,
                campaign_id=spring.pk,
                amount_jpy=120_000,
            ),
            campaign_services.CostRow(
                month=date(2026, 4, 1), channel_id=f.channel("webinar").pk, amount_jpy=300_000
            ),
        ]
    )
    touch = {"source": "webinar", "medium": "webinar", "campaign": "spring-webinar"}
    joined = [f.contact(f.tokyo(2026, 4, d, 10), touch=touch) for d in (2, 3)]
    f.contact(f.tokyo(2026, 4, 4, 10), channel_key="webinar")
    f.band(joined[0], "cold", "hot", f.tokyo(2026, 4, 5, 10))

    figures = kpis(APRIL, filters_resolve(campaign=spring.pk))

    assert (figures.leads, figures.cost, figures.cpl) == (2, 120_000, 60_000)
    assert (figures.hot_leads, figures.open_leads) == (1, 2)
    assert kpis(APRIL, Filters()).cost == 420_000
