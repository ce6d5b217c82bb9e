"""``sokyaku loadexample channels``: the seeds' worked example as data, in an empty database."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from sokyaku.analytics.period import Filters, Period
from sokyaku.analytics.selectors.channels import channel_table
from sokyaku.campaigns.models import Channel, ChannelCost
from sokyaku.campaigns.services import channel_defaults_install
from sokyaku.cli import main
from sokyaku.contacts.models import Contact
from sokyaku.core import clock
from sokyaku.core.errors import Conflict
from sokyaku.deals.models import Deal, DealStatus
from sokyaku.demo.example import DEAL_AMOUNT, example_channels_load
from sokyaku.lifecycle.models import ContactStage, Stage

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 5, 14, 10, 0, tzinfo=clock.TOKYO)
APRIL = Period(first=date(2026, 4, 1), last=date(2026, 4, 30))


@pytest.fixture(autouse=True)
def _may_2026():  # type: ignore[no-untyped-def]
    channel_defaults_install()
    with clock.frozen(NOW):
        yield


def test_loads_the_previous_month_with_the_default_channels() -> None:
    channels_before = Channel.objects.count()

    result = example_channels_load()

    assert result.period == APRIL
    assert Channel.objects.count() == channels_before  # the defaults are reused
    assert [(c.key, c.leads, c.cost, c.won) for c in result.channels] == [
        ("seo-blog", 500, 1_000_000, 25),
        ("paid-social", 300, 600_000, 6),
        ("webinar", 100, 300_000, 8),
    ]
    assert not any(c.created for c in result.channels)
    assert Contact.objects.count() == 900
    start, end = APRIL.bounds()
    assert Contact.objects.filter(created_at__gte=start, created_at__lt=end).count() == 900
    won = Deal.objects.filter(status=DealStatus.WON)
    assert won.count() == 39
    assert won.filter(closed_at__gte=start, closed_at__lt=end).count() == 39
    assert {d.amount for d in won} == {DEAL_AMOUNT}
    assert ContactStage.objects.filter(stage=Stage.CUSTOMER).count() == 39
    assert ContactStage.objects.filter(stage=Stage.LEAD).count() == 861
    assert set(ChannelCost.objects.values_list("month", flat=True)) == {date(2026, 4, 1)}


def test_people_have_japanese_names_surname_first_and_example_addresses() -> None:
    example_channels_load()

    contact = Contact.objects.order_by("pk").first()
    assert contact is not None
    assert contact.family_name and contact.given_name and contact.family_name_kana
    assert contact.display_name == f"{contact.family_name} {contact.given_name}"
    assert contact.email.endswith("@example.jp")


def test_the_channel_table_of_the_month_is_the_seeds_example() -> None:
    example_channels_load()

    table = channel_table(APRIL, Filters())

    assert [(r.key, r.leads, r.cost, r.cpl, r.won, r.win_rate) for r in table.rows] == [
        ("webinar", 100, 300_000, 3_000, 8, 0.08),
        ("seo-blog", 500, 1_000_000, 2_000, 25, 0.05),
        ("paid-social", 300, 600_000, 2_000, 6, 0.02),
    ]


def test_a_missing_channel_is_created_under_the_examples_name() -> None:
    Channel.objects.filter(key="webinar").delete()

    result = example_channels_load()

    webinar = Channel.objects.get(key="webinar")
    assert webinar.name == "ウェビナー"
    assert [c.created for c in result.channels] == [False, False, True]


def test_refuses_a_database_with_contacts() -> None:
    example_channels_load()

    with pytest.raises(Conflict, match="already has contacts"):
        example_channels_load()
    assert Contact.objects.count() == 900


def test_the_command_prints_the_period_and_refuses_a_second_time(capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["loadexample", "channels"]) == 0
    out = capsys.readouterr().out
    assert "2026-04-01" in out and "2026-04-30" in out
    assert "500 leads" in out and "¥1,000,000" in out

    assert main(["loadexample", "channels"]) == 2
    assert "already has contacts" in capsys.readouterr().err
