"""BANT entries: validation, and SQL when the entry meets the criteria."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from sokyaku.activity.models import Event, EventType
from sokyaku.core import clock
from sokyaku.core.errors import ValidationError
from sokyaku.lifecycle import selectors, services
from sokyaku.lifecycle.models import BantRecord, Stage, StageChange
from tests.lifecycle.factories import contact_make, in_months

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 4, 15, 10, 0, tzinfo=clock.TOKYO)


@pytest.fixture(autouse=True)
def _now():  # type: ignore[no-untyped-def]
    with clock.frozen(NOW):
        yield


def _full(**overrides: Any) -> dict[str, Any]:
    return {
        "budget_amount_jpy": 2_400_000,
        "authority": "decision_maker",
        "need": "展示会リードのフォローが属人化している",
        "need_tags": ["リード管理", "営業連携"],
        "timeline_date": in_months(3),
        **overrides,
    }


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"budget_amount_jpy": "二百万"}, "budget_amount_jpy"),
        ({"budget_amount_jpy": -1}, "budget_amount_jpy"),
        ({"timeline_date": (NOW - timedelta(days=1)).date()}, "timeline_date"),
        ({"timeline_date": "来年"}, "timeline_date"),
        ({"budget_band": "huge"}, "budget_band"),
        ({"authority": "ceo"}, "authority"),
        ({"timeline_band": "soon"}, "timeline_band"),
    ],
)
def test_bad_entries_are_refused_with_a_field_error(
    sales_rep, overrides: dict[str, Any], field: str
) -> None:  # type: ignore[no-untyped-def]
    # given an MQL
    contact = contact_make()
    services.stage_change(contact=contact, to_stage=Stage.MQL, source="system")
    # when a rep records a bad entry
    with pytest.raises(ValidationError) as error:
        services.bant_record(contact=contact, actor=sales_rep, **_full(**overrides))
    # then the field is named, nothing is stored and the stage is unchanged
    assert field in error.value.field_errors
    assert not BantRecord.objects.exists()
    assert selectors.stage_get(contact_id=contact.pk) == Stage.MQL


def test_budget_written_with_yen_and_commas_is_read_as_a_number(sales_rep) -> None:  # type: ignore[no-untyped-def]
    contact = contact_make()
    record = services.bant_record(
        contact=contact, actor=sales_rep, **_full(budget_amount_jpy="¥1,200,000")
    )
    assert record.budget_amount_jpy == 1_200_000


def test_a_complete_entry_makes_an_mql_an_sql(sales_rep) -> None:  # type: ignore[no-untyped-def]
    # given an MQL
    contact = contact_make()
    services.stage_change(contact=contact, to_stage=Stage.MQL, source="system")
    # when the rep records budget, authority, need and a timeline 3 months out
    record = services.bant_record(contact=contact, actor=sales_rep, **_full())
    # then the contact is an SQL, moved by the rep with reason BANT, and the entry is on record
    assert selectors.stage_get(contact_id=contact.pk) == Stage.SQL
    change = StageChange.objects.filter(contact=contact).last()
    assert change is not None
    assert (change.source, change.actor, change.reason) == ("user", sales_rep, "BANT")
    assert selectors.bant_latest(contact_id=contact.pk) == record
    assert Event.objects.get(type=EventType.BANT_RECORDED).properties == {"bant_id": record.pk}


def test_a_timeline_nine_months_out_is_not_an_sql(sales_rep) -> None:  # type: ignore[no-untyped-def]
    contact = contact_make()
    services.stage_change(contact=contact, to_stage=Stage.MQL, source="system")
    services.bant_record(contact=contact, actor=sales_rep, **_full(timeline_date=in_months(9)))
    assert selectors.stage_get(contact_id=contact.pk) == Stage.MQL


@pytest.mark.parametrize(("band", "stage"), [("6m", Stage.SQL), ("12m", Stage.MQL)])
def test_a_timeline_band_counts_by_its_upper_bound(sales_rep, band: str, stage: str) -> None:  # type: ignore[no-untyped-def]
    contact = contact_make()
    services.stage_change(contact=contact, to_stage=Stage.MQL, source="system")
    services.bant_record(
        contact=contact, actor=sales_rep, **_full(timeline_date=None, timeline_band=band)
    )
    assert selectors.stage_get(contact_id=contact.pk) == stage


@pytest.mark.parametrize("unknown", ["budget_amount_jpy", "authority", "need"])
def test_an_unknown_part_keeps_the_contact_before_sql(sales_rep, unknown: str) -> None:  # type: ignore[no-untyped-def]
    contact = contact_make()
    services.stage_change(contact=contact, to_stage=Stage.MQL, source="system")
    blank: dict[str, Any] = {unknown: None if unknown == "budget_amount_jpy" else ""}
    if unknown == "need":
        blank["need_tags"] = []
    services.bant_record(contact=contact, actor=sales_rep, **_full(**blank))
    assert selectors.stage_get(contact_id=contact.pk) == Stage.MQL


def test_wider_criteria_let_a_nine_month_timeline_qualify(sales_rep) -> None:  # type: ignore[no-untyped-def]
    # given criteria with a 12-month window
    services.sql_criteria_update(
        require_budget=True,
        require_authority=True,
        require_decision_maker=False,
        require_need=True,
        require_timeline=True,
        timeline_within_months=12,
    )
    contact = contact_make()
    # when a rep records a timeline 9 months out
    services.bant_record(contact=contact, actor=sales_rep, **_full(timeline_date=in_months(9)))
    # then the lead is an SQL
    assert selectors.stage_get(contact_id=contact.pk) == Stage.SQL


def test_requiring_the_decision_maker_refuses_an_influencer(sales_rep) -> None:  # type: ignore[no-untyped-def]
    services.sql_criteria_update(
        require_budget=True,
        require_authority=True,
        require_decision_maker=True,
        require_need=True,
        require_timeline=True,
        timeline_within_months=6,
    )
    contact = contact_make()
    services.bant_record(contact=contact, actor=sales_rep, **_full(authority="influencer"))
    assert selectors.stage_get(contact_id=contact.pk) == Stage.LEAD


def test_criteria_need_a_sensible_window() -> None:
    with pytest.raises(ValidationError) as error:
        services.sql_criteria_update(
            require_budget=True,
            require_authority=True,
            require_decision_maker=False,
            require_need=True,
            require_timeline=True,
            timeline_within_months=0,
        )
    assert "timeline_within_months" in error.value.field_errors
    assert services.sql_criteria_get().timeline_within_months == 6


def test_a_customer_stays_a_customer_when_bant_is_recorded(sales_rep) -> None:  # type: ignore[no-untyped-def]
    contact = contact_make()
    services.stage_change(contact=contact, to_stage=Stage.CUSTOMER, source="user")
    services.bant_record(contact=contact, actor=sales_rep, **_full())
    assert selectors.stage_get(contact_id=contact.pk) == Stage.CUSTOMER
