"""Predictive outcomes from deals: a won deal is a win, lost deals a loss, one outcome per contact,
and features are still taken before the outcome."""

from __future__ import annotations

import math
from datetime import datetime, timedelta

import pytest

from sokyaku.activity import listeners
from sokyaku.activity.models import EventType
from sokyaku.activity.services import event_ingest_batch
from sokyaku.contacts.models import Contact
from sokyaku.core import clock
from sokyaku.deals.models import Deal, DealStage, DealStatus, Pipeline, StageKind
from sokyaku.lifecycle.models import Stage
from sokyaku.scoring.predictive import features as F
from sokyaku.scoring.predictive.features import Outcome
from tests.scoring.test_predictive_features import NOW, event, make_contact, set_stage

pytestmark = pytest.mark.django_db

DAY = timedelta(days=1)
LATER = NOW + 30 * DAY


def deal(contact: Contact, status: str, closed_at: datetime | None = None) -> Deal:
    pipeline, _ = Pipeline.objects.get_or_create(
        name="営業パイプライン", defaults={"is_default": True, "created_at": NOW}
    )
    kind = {DealStatus.OPEN: StageKind.OPEN, DealStatus.WON: StageKind.WON}.get(
        status, StageKind.LOST
    )
    stage, _ = DealStage.objects.get_or_create(
        pipeline=pipeline, name=str(kind), defaults={"kind": kind}
    )
    return Deal.objects.create(
        pipeline=pipeline,
        stage=stage,
        name="商談",
        contact=contact,
        amount=1_000_000,
        status=status,
        closed_at=closed_at,
        stage_entered_at=NOW,
        created_at=NOW - 60 * DAY,
        updated_at=NOW,
    )


def outcomes() -> dict[int, tuple[Outcome, datetime]]:
    with clock.frozen(LATER):
        rows = F.contact_outcome_rows()
    assert len(rows) == len({row["id"] for row in rows})  # one row per contact
    return {row["id"]: (F.outcome_of(row), row["cutoff"]) for row in rows}


def test_deals_decide_the_outcome_of_contacts_the_lifecycle_leaves_open() -> None:
    # given contacts whose deals ended in different ways (the lifecycle says nothing)
    people = [
        make_contact(i, title_level=1, company=None, created_at=NOW - 90 * DAY) for i in range(6)
    ]
    won, lost, reopened, turned, kept, twice = people
    deal(won, DealStatus.WON, NOW)
    deal(lost, DealStatus.LOST, NOW)
    deal(reopened, DealStatus.LOST, NOW)
    deal(reopened, DealStatus.OPEN)
    deal(turned, DealStatus.LOST, NOW)
    deal(turned, DealStatus.WON, NOW + 5 * DAY)
    deal(kept, DealStatus.WON, NOW)
    deal(kept, DealStatus.LOST, NOW + 5 * DAY)
    deal(twice, DealStatus.LOST, NOW)
    deal(twice, DealStatus.LOST, NOW + 9 * DAY)
    # when the outcomes are read
    result = outcomes()
    # then a won deal is a win at its close, lost deals a loss at the last one, and a contact
    # with an open deal is still open
    assert result == {
        won.pk: (Outcome.WON, NOW),
        lost.pk: (Outcome.LOST, NOW),
        reopened.pk: (Outcome.OPEN, LATER),
        turned.pk: (Outcome.WON, NOW + 5 * DAY),
        kept.pk: (Outcome.WON, NOW),
        twice.pk: (Outcome.LOST, NOW + 9 * DAY),
    }


def test_deals_and_the_lifecycle_together_give_one_outcome() -> None:
    # given a customer whose deal closed later, and a disqualified lead who lost a deal before
    customer = make_contact(1, title_level=1, company=None, created_at=NOW - 90 * DAY)
    set_stage(customer.pk, Stage.CUSTOMER, NOW)
    deal(customer, DealStatus.WON, NOW + 2 * DAY)
    dropped = make_contact(2, title_level=1, company=None, created_at=NOW - 90 * DAY)
    deal(dropped, DealStatus.LOST, NOW)
    set_stage(dropped.pk, Stage.DISQUALIFIED, NOW + 3 * DAY)
    # when the outcomes are read
    result = outcomes()
    # then the win is dated at its first moment, the loss at its latest
    assert result == {
        customer.pk: (Outcome.WON, NOW),
        dropped.pk: (Outcome.LOST, NOW + 3 * DAY),
    }
    with clock.frozen(LATER):
        assert F.outcome_counts() == {Outcome.WON: 1, Outcome.LOST: 1, Outcome.OPEN: 0}


def test_behaviour_after_a_won_deal_is_not_a_feature() -> None:
    # given a contact who attended one webinar before the deal was won and two after
    contact = make_contact(1, title_level=4, company=None, created_at=NOW - 90 * DAY)
    deal(contact, DealStatus.WON, NOW)
    with listeners.paused():
        event_ingest_batch(
            events=[
                event(contact.pk, EventType.WEBINAR_ATTENDED, NOW - 10 * DAY),
                event(contact.pk, EventType.WEBINAR_ATTENDED, NOW + 1 * DAY),
                event(contact.pk, EventType.WEBINAR_ATTENDED, NOW + 2 * DAY),
            ]  # type: ignore[list-item]
        )
    # when the feature matrix is built
    with clock.frozen(LATER):
        matrix = F.feature_matrix()
    # then it is a win at the close and only the webinar before it counts
    row = matrix.contact_ids.index(contact.pk)
    assert (matrix.outcomes[row], matrix.cutoffs[row]) == (Outcome.WON, NOW)
    webinars = matrix.x[row, matrix.names.index("count:webinars")]
    assert float(webinars) == pytest.approx(math.log1p(1))
