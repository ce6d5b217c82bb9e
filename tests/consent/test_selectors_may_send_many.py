"""``may_send_many`` gives, for many (contact, topic) pairs at once, exactly ``may_send``'s answer.

Each case is one contact's ledger, oldest record first: ``(topic, status, legal basis)`` where the
topic ``None`` is an opt-out of every topic. The cases are asked about the topic they are about,
another active topic, an inactive topic and a key no topic has.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from sokyaku.consent import selectors, services
from sokyaku.consent.models import ConsentSource, ConsentStatus, ConsentTopic, LegalBasis
from sokyaku.contacts.services import ContactInput, contact_upsert
from sokyaku.core import clock

pytestmark = pytest.mark.django_db

GRANTED, WITHDRAWN, PENDING = ConsentStatus.GRANTED, ConsentStatus.WITHDRAWN, ConsentStatus.PENDING
OPT_IN, CARD = LegalBasis.OPT_IN, LegalBasis.BUSINESS_CARD
TRANSACTION, PUBLISHED = LegalBasis.TRANSACTION, LegalBasis.PUBLISHED_ADDRESS

# name → (ledger, may newsletter mail go?)
CASES: dict[str, tuple[list[tuple[str | None, str, str]], bool]] = {
    "no record": ([], False),
    "opt-in": ([("newsletter", GRANTED, OPT_IN)], True),
    "business card": ([("newsletter", GRANTED, CARD)], True),
    "existing customer": ([("newsletter", GRANTED, TRANSACTION)], True),
    "published address": ([("newsletter", GRANTED, PUBLISHED)], True),
    "opt-in, then opt-out of the topic": (
        [("newsletter", GRANTED, OPT_IN), ("newsletter", WITHDRAWN, "")],
        False,
    ),
    "opt-in, then opt-out of everything": (
        [("newsletter", GRANTED, OPT_IN), (None, WITHDRAWN, "")],
        False,
    ),
    "opt-out of everything, then a business card": (
        [(None, WITHDRAWN, ""), ("newsletter", GRANTED, CARD)],
        False,
    ),
    "opt-out of the topic, then an import as customer": (
        [("newsletter", WITHDRAWN, ""), ("newsletter", GRANTED, TRANSACTION)],
        False,
    ),
    "opt-out of everything, then their own opt-in": (
        [(None, WITHDRAWN, ""), ("newsletter", GRANTED, OPT_IN)],
        True,
    ),
    "opt-out of the topic, then their own opt-in": (
        [
            ("newsletter", GRANTED, CARD),
            ("newsletter", WITHDRAWN, ""),
            ("newsletter", GRANTED, OPT_IN),
        ],
        True,
    ),
    "pending double opt-in only": ([("newsletter", PENDING, OPT_IN)], False),
    "granted, then a pending one": (
        [("newsletter", GRANTED, CARD), ("newsletter", PENDING, OPT_IN)],
        True,
    ),
    "opt-in to another topic only": ([("seminars", GRANTED, OPT_IN)], False),
    "opt-out of another topic": (
        [("newsletter", GRANTED, OPT_IN), ("seminars", WITHDRAWN, "")],
        True,
    ),
    "opt-out of everything, then opt-in to another topic": (
        [("newsletter", GRANTED, OPT_IN), (None, WITHDRAWN, ""), ("seminars", GRANTED, OPT_IN)],
        False,
    ),
    "opt-in to an inactive topic": ([("archived", GRANTED, OPT_IN)], False),
    "a card after the opt-in": (
        [("newsletter", GRANTED, OPT_IN), ("newsletter", GRANTED, CARD)],
        True,
    ),
}
ASKED = ("newsletter", "seminars", "archived", "no-such-topic")


@pytest.fixture
def topics() -> dict[str, ConsentTopic]:
    return {
        "newsletter": ConsentTopic.objects.create(key="newsletter", name="メールマガジン"),
        "seminars": ConsentTopic.objects.create(key="seminars", name="セミナー案内"),
        "archived": ConsentTopic.objects.create(key="archived", name="旧案内", is_active=False),
    }


def _ledger(index: int, steps: list[tuple[str | None, str, str]], topics: Any) -> int:
    contact_id = contact_upsert(data=ContactInput(email=f"ledger{index}@example.jp")).contact.pk
    start = clock.now()
    for minutes, (key, status, basis) in enumerate(steps):
        services.consent_record(
            contact_id=contact_id,
            topic=topics[key] if key else None,
            status=status,
            legal_basis=basis,
            evidence=services.Evidence(source=ConsentSource.IMPORT),
            at=start + timedelta(minutes=minutes),
        )
    return contact_id


@pytest.mark.parametrize("name", list(CASES))
def test_each_ledger_gets_the_answer_may_send_gives(name: str, topics: Any) -> None:
    steps, newsletter_allowed = CASES[name]
    contact_id = _ledger(list(CASES).index(name), steps, topics)

    many = selectors.may_send_many(pairs=[(contact_id, key) for key in ASKED])

    one_by_one = {
        (contact_id, key): selectors.may_send(contact_id=contact_id, topic_key=key) for key in ASKED
    }
    assert many == one_by_one
    assert many[(contact_id, "newsletter")] is newsletter_allowed


def test_every_ledger_at_once_in_two_queries(topics: Any, django_assert_num_queries: Any) -> None:
    contact_ids = [_ledger(i, steps, topics) for i, (steps, _allowed) in enumerate(CASES.values())]
    pairs = [(contact_id, key) for contact_id in contact_ids for key in ASKED]

    with django_assert_num_queries(2):  # the topics, the records
        many = selectors.may_send_many(pairs=pairs)

    assert many == {
        (contact_id, key): selectors.may_send(contact_id=contact_id, topic_key=key)
        for contact_id, key in pairs
    }
    assert [many[(contact_id, "newsletter")] for contact_id in contact_ids] == [
        allowed for _steps, allowed in CASES.values()
    ]


def test_records_at_the_same_moment_are_read_in_the_order_they_were_written(
    topics: Any,
) -> None:
    contact_id = contact_upsert(data=ContactInput(email="same-time@example.jp")).contact.pk
    at = clock.now()
    for status, basis in ((GRANTED, OPT_IN), (WITHDRAWN, "")):
        services.consent_record(
            contact_id=contact_id, topic=topics["newsletter"], status=status, legal_basis=basis,
            evidence=services.Evidence(source=ConsentSource.FORM), at=at,
        )  # fmt: skip

    many = selectors.may_send_many(pairs=[(contact_id, "newsletter")])

    assert many == {(contact_id, "newsletter"): False}
    assert selectors.may_send(contact_id=contact_id, topic_key="newsletter") is False


def test_no_pairs_no_queries(django_assert_num_queries: Any) -> None:
    with django_assert_num_queries(0):
        assert selectors.may_send_many(pairs=[]) == {}
