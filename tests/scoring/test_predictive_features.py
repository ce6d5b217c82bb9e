"""Feature matrix of predictive scoring: outcomes, cut-off (no leakage), set-based reads.

Also holds the dataset factory the other predictive tests use (``outcome_dataset``): contacts
whose wins are driven by webinar attendance and title level, written with direct ORM factories
and ``event_ingest_batch`` under ``listeners.paused()``.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest

from sokyaku.activity import listeners
from sokyaku.activity.events import event_build
from sokyaku.activity.models import EventSource, EventType
from sokyaku.activity.services import event_ingest_batch
from sokyaku.contacts.models import Company, Contact, TitleLevel
from sokyaku.core import clock
from sokyaku.lifecycle.models import ChangeSource, ContactStage, Stage, StageChange
from sokyaku.scoring.predictive import features as F
from sokyaku.scoring.predictive.features import Outcome

# Assertions read the English UI text.
pytestmark = pytest.mark.usefixtures("english")

NOW = datetime(2025, 6, 1, 3, 0, tzinfo=UTC)


@dataclass
class Dataset:
    won: list[int] = field(default_factory=list)
    lost: list[int] = field(default_factory=list)
    open: list[int] = field(default_factory=list)
    # open contacts that look like winners / losers (senior webinar-goers vs staff who never came)
    likely: list[int] = field(default_factory=list)
    unlikely: list[int] = field(default_factory=list)


def make_contact(
    i: int, *, title_level: int, company: Company | None, created_at: datetime
) -> Contact:

    return Contact.objects.create(
        family_name=f"山田{i}",
        given_name="太郎",
        email=f"p{i}@example.co.jp" if company else f"p{i}@gmail.com",
        dedupe_key=f"e:p{i}",
        company=company,
        title_level=title_level,
        created_at=created_at,
        updated_at=created_at,
    )


def make_company(name: str, *, band: str, industry: str) -> Company:
    return Company.objects.create(
        name=name,
        match_key=name,
        employee_band=band,
        industry=industry,
        prefecture=13,
        created_at=NOW,
        updated_at=NOW,
    )


def set_stage(contact_id: int, stage: str, at: datetime) -> None:
    StageChange.objects.create(
        contact_id=contact_id,
        from_stage=Stage.LEAD,
        to_stage=stage,
        changed_at=at,
        source=ChangeSource.USER,
    )
    ContactStage.objects.update_or_create(
        contact_id=contact_id, defaults={"stage": stage, "entered_at": at}
    )


def event(contact_id: int, type_: str, at: datetime, **properties: object) -> object:
    defaults: dict[str, dict[str, object]] = {
        EventType.PAGE_VIEW: {"url": "https://example.co.jp/blog/"},
        EventType.WEBINAR_ATTENDED: {"webinar": "ma-basics"},
        EventType.ASSET_DOWNLOADED: {"asset": "whitepaper"},
        EventType.EMAIL_OPENED: {"message_id": "m1"},
        EventType.EMAIL_CLICKED: {"message_id": "m1", "url": "https://example.co.jp/"},
    }
    return event_build(
        type=type_,
        occurred_at=at,
        source=EventSource.API,
        properties={**defaults.get(type_, {}), **properties},
        contact_id=contact_id,
    )


def outcome_dataset(*, size: int = 320, seed: int = 7, size_effect: float = 0.8) -> Dataset:
    """``size`` contacts, 75 % with an outcome. Wins are driven by webinars, title level and
    (less, ``size_effect`` on the log-odds) working at a large company; everyone has noise
    behaviour (blog views, opens). Events lie before each outcome.

    The industry is independent of the company size, so the two are not confounded (a model
    cannot tell apart columns that always move together; it splits their weight). With the
    default seed the size effect happens to barely show in the outcomes drawn (about 48 % of the
    contacts at the large companies won against 46 % at the small ones): pass a larger
    ``size_effect`` to test that size is learned."""
    rng = random.Random(seed)
    companies = {
        (True, "G"): make_company("大手商事", band="1000-4999", industry="G"),
        (True, "E"): make_company("大手製作所", band="1000-4999", industry="E"),
        (False, "G"): make_company("小さな商店", band="1-9", industry="G"),
        (False, "E"): make_company("小さな工房", band="1-9", industry="E"),
    }
    data = Dataset()
    batch = []
    for i in range(size):
        is_open = i % 4 == 0
        # Each contact's story ends at its outcome (or today, if open); activity precedes it,
        # so recency looks alike for open and closed contacts.
        end = NOW if is_open else NOW - timedelta(days=rng.randint(10, 100))
        created = end - timedelta(days=rng.randint(90, 200))
        senior = rng.random() < 0.45
        level = rng.choice([TitleLevel.DIRECTOR, TitleLevel.EXECUTIVE]) if senior else 1
        webinars = rng.choice([1, 2, 3]) if rng.random() < (0.6 if senior else 0.3) else 0
        at_big = rng.random() < 0.5
        company = companies[at_big, "G" if i % 3 else "E"]
        contact = make_contact(i, title_level=level, company=company, created_at=created)

        def before_end() -> datetime:
            return end - timedelta(hours=rng.randint(24, 80 * 24))  # noqa: B023

        for _k in range(rng.randint(1, 6)):
            batch.append(event(contact.pk, EventType.PAGE_VIEW, before_end()))
            batch.append(event(contact.pk, EventType.EMAIL_OPENED, before_end()))
        for _k in range(webinars):
            batch.append(event(contact.pk, EventType.WEBINAR_ATTENDED, before_end()))
        z = -2.6 + 1.3 * webinars + (1.6 if senior else 0.0) + (size_effect if at_big else 0.0)
        if is_open:
            data.open.append(contact.pk)
            if senior and webinars >= 2 and at_big:
                data.likely.append(contact.pk)
            if not senior and webinars == 0:
                data.unlikely.append(contact.pk)
        elif rng.random() < 1 / (1 + math.exp(-z)):
            set_stage(contact.pk, Stage.CUSTOMER, end)
            data.won.append(contact.pk)
        else:
            set_stage(contact.pk, Stage.DISQUALIFIED, end)
            data.lost.append(contact.pk)
    with listeners.paused():
        event_ingest_batch(events=batch)  # type: ignore[arg-type]
    return data


def column(matrix: F.FeatureMatrix, contact_id: int, name: str) -> float:
    return float(matrix.x[matrix.contact_ids.index(contact_id), matrix.names.index(name)])


# --- outcomes --------------------------------------------------------------------------------


@pytest.mark.django_db
def test_customer_ever_is_won_and_disqualified_now_is_lost() -> None:
    # given a former customer now disqualified, a disqualified lead, a recycled one, a new lead
    small = make_company("小さな工房", band="1-9", industry="E")
    people = [make_contact(i, title_level=1, company=small, created_at=NOW) for i in range(4)]
    set_stage(people[0].pk, Stage.CUSTOMER, NOW + timedelta(days=1))
    set_stage(people[0].pk, Stage.DISQUALIFIED, NOW + timedelta(days=2))
    set_stage(people[1].pk, Stage.DISQUALIFIED, NOW + timedelta(days=1))
    set_stage(people[2].pk, Stage.DISQUALIFIED, NOW + timedelta(days=1))
    set_stage(people[2].pk, Stage.RECYCLED, NOW + timedelta(days=3))

    # when the matrix is built
    with clock.frozen(NOW + timedelta(days=5)):
        matrix = F.feature_matrix()

    # then won / lost / open follow the lifecycle
    assert dict(zip(matrix.contact_ids, matrix.outcomes, strict=True)) == {
        people[0].pk: Outcome.WON,
        people[1].pk: Outcome.LOST,
        people[2].pk: Outcome.OPEN,
        people[3].pk: Outcome.OPEN,
    }
    # and a win is dated at the first move to customer
    assert matrix.cutoffs[matrix.contact_ids.index(people[0].pk)] == NOW + timedelta(days=1)


# --- behaviour and leakage -------------------------------------------------------------------


@pytest.mark.django_db
def test_events_after_the_outcome_are_ignored() -> None:
    # given a customer who attended one webinar before winning and three after (as customers do)
    contact = make_contact(1, title_level=4, company=None, created_at=NOW - timedelta(days=90))
    won_at = NOW - timedelta(days=30)
    set_stage(contact.pk, Stage.CUSTOMER, won_at)
    before = [event(contact.pk, EventType.WEBINAR_ATTENDED, won_at - timedelta(days=5))]
    after = [
        event(contact.pk, EventType.WEBINAR_ATTENDED, won_at + timedelta(days=d)) for d in (0, 1, 9)
    ]
    with listeners.paused():
        event_ingest_batch(events=before + after)  # type: ignore[arg-type]

    # when features are built today
    with clock.frozen(NOW):
        matrix = F.feature_matrix()

    # then only the event strictly before the win counts, and recency is taken at the win
    assert column(matrix, contact.pk, "count:webinars") == pytest.approx(math.log1p(1))
    assert column(matrix, contact.pk, "recency:last_activity") == pytest.approx(math.log1p(5))
    assert column(matrix, contact.pk, "recency:age") == pytest.approx(math.log1p(60))


@pytest.mark.django_db
def test_counts_product_pages_and_leaves_out_machine_opens() -> None:
    # given a lead with two product-page views, a blog view, one human and two machine opens
    contact = make_contact(1, title_level=0, company=None, created_at=NOW - timedelta(days=10))
    at = NOW - timedelta(days=2)
    batch = [
        event(contact.pk, EventType.PAGE_VIEW, at, url="https://example.co.jp/product/scoring/"),
        event(contact.pk, EventType.PAGE_VIEW, at, url="https://example.co.jp/pricing"),
        event(contact.pk, EventType.PAGE_VIEW, at, url="https://example.co.jp/blog/"),
        event(contact.pk, EventType.EMAIL_OPENED, at),
        event(contact.pk, EventType.EMAIL_OPENED, at, machine=True),
        event(contact.pk, EventType.EMAIL_OPENED, at, machine=True),
    ]
    with listeners.paused():
        event_ingest_batch(events=batch)  # type: ignore[arg-type]

    # when
    with clock.frozen(NOW):
        matrix = F.feature_matrix()

    # then
    assert column(matrix, contact.pk, "count:page_views") == pytest.approx(math.log1p(3))
    assert column(matrix, contact.pk, "count:product_views") == pytest.approx(math.log1p(2))
    assert column(matrix, contact.pk, "count:email_opens") == pytest.approx(math.log1p(1))
    assert column(matrix, contact.pk, "free_mail") == 1.0
    assert column(matrix, contact.pk, "has_company") == 0.0


@pytest.mark.django_db
def test_fit_attributes_are_one_hot() -> None:
    # given a director at a large Tokyo IT company
    big = make_company("大手商事", band="1000-4999", industry="G")
    contact = make_contact(1, title_level=TitleLevel.DIRECTOR, company=big, created_at=NOW)

    # when
    with clock.frozen(NOW):
        matrix = F.feature_matrix()

    # then exactly its values are set, and the region comes from the prefecture (Tokyo → Kanto)
    row = matrix.x[0]
    set_names = {matrix.names[j] for j in range(len(row)) if row[j] == 1.0}
    assert set_names == {
        "title:4",
        "employees:1000-4999",
        "industry:G",
        "region:kanto",
        "revenue:unknown",
        "channel:unknown",
        "has_company",
    }
    assert contact.pk == matrix.contact_ids[0]


@pytest.mark.django_db
def test_matrix_takes_a_fixed_number_of_queries(django_assert_max_num_queries) -> None:  # type: ignore[no-untyped-def]
    # given a few hundred contacts with outcomes and events
    with clock.frozen(NOW):
        outcome_dataset(size=120)

        # when / then: no per-contact queries
        with django_assert_max_num_queries(2):
            matrix = F.feature_matrix()
    assert len(matrix.contact_ids) == 120


def test_labels_read_as_words() -> None:
    assert F.feature_label("count:webinars", math.log1p(2)) == "Webinars attended: 2"
    assert F.feature_label("title:4") == "Title level: Director (部長)"
    assert F.feature_label("region:kanto") == "Region: Kanto"
