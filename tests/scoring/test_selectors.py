"""Reads: scores decayed on read, in Python and in SQL (what segments filter on)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from sokyaku.contacts.models import Contact
from sokyaku.core import clock
from sokyaku.scoring.selectors import (
    engagement_expression,
    score_breakdown,
    score_get,
    scores_for,
    total_expression,
)
from sokyaku.scoring.services import PRESET, ruleset_publish
from tests.scoring.factories import START, event, make_contact

pytestmark = pytest.mark.django_db


@pytest.fixture
def scored():
    with clock.frozen(START):
        ruleset_publish(definition=PRESET)
        hot = make_contact(1, title="部長", company="情報株式会社", industry="G", employees=300)
        event(hot, "inquiry", START)
        event(hot, "webinar_attended", START, webinar="w")
        warm = make_contact(2)
        event(warm, "inquiry", START)
        quiet = make_contact(3)
    return hot, warm, quiet


def test_a_contact_without_a_score_reads_as_zero_and_cold(scored):
    *_rest, quiet = scored
    assert score_get(contact_id=quiet.pk) == score_get(contact_id=10**9)
    assert score_get(contact_id=quiet.pk).temperature == "cold"


def test_scores_for_many_contacts_in_one_go(scored, django_assert_max_num_queries):
    hot, warm, quiet = scored
    with django_assert_max_num_queries(2):
        scores = scores_for(contact_ids=[hot.pk, warm.pk, quiet.pk], at=START)
    assert [scores[c.pk].total for c in scored] == [pytest.approx(68), pytest.approx(30), 0]
    assert [scores[c.pk].temperature for c in scored] == ["hot", "warm", "cold"]


def test_sql_expressions_decay_like_python(scored):
    hot, warm, quiet = scored
    at = START + timedelta(days=30)
    rows = dict(
        Contact.objects.filter(pk__in=[c.pk for c in scored])
        .annotate(total=total_expression(at=at))
        .values_list("pk", "total")
    )
    assert rows[hot.pk] == pytest.approx(22.5 + 23)
    assert rows[warm.pk] == pytest.approx(15)
    assert rows[quiet.pk] == 0
    over_twenty = Contact.objects.annotate(e=engagement_expression(at=at)).filter(e__gte=20)
    assert list(over_twenty.values_list("pk", flat=True)) == [hot.pk]


def test_breakdown_lists_entries_newest_first_and_fit_rules(scored):
    hot, *_rest = scored
    with clock.frozen(START + timedelta(days=30)):
        breakdown = score_breakdown(contact_id=hot.pk)
    assert [(e.rule, e.points) for e in breakdown.entries] == [
        ("ウェビナー参加", 15),
        ("問い合わせ", 30),
    ]
    assert breakdown.entries[1].worth_now == pytest.approx(15)
    assert sum(line.points for line in breakdown.fit) == 23
    assert breakdown.score.total == pytest.approx(45.5)
