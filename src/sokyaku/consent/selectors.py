"""The current consent state, derived from the ledger.

Rules: the newest record per topic decides, except that an opt-out (of the topic or of every
topic) is only lifted by a later *opt-in* (a granted record whose basis is ``opt_in``): a
business card or an import never overrides a person's "no". A pending double opt-in does not
count until it is confirmed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from django.db.models import Q, QuerySet

from sokyaku.consent.models import (
    ConsentRecord,
    ConsentStatus,
    ConsentTopic,
    HashedSuppression,
    LegalBasis,
    PurposeText,
)


@dataclass(frozen=True)
class TopicState:
    topic: ConsentTopic
    granted: bool
    legal_basis: str
    since: datetime | None
    record: ConsentRecord | None


def consent_records(*, contact_id: int) -> QuerySet[ConsentRecord]:
    """Every record of a contact, newest first."""
    return ConsentRecord.objects.filter(contact_id=contact_id).select_related(
        "topic", "purpose_text"
    )


def consent_state(*, contact_id: int) -> dict[str, TopicState]:
    """The state of every active topic for one contact, by topic key."""
    return consent_overview(contact_id=contact_id)[0]


def consent_overview(*, contact_id: int) -> tuple[dict[str, TopicState], list[ConsentRecord]]:
    """The state per active topic and every record (newest first), in two queries."""
    newest_first = list(consent_records(contact_id=contact_id))
    oldest_first = newest_first[::-1]
    topics = list(ConsentTopic.objects.filter(is_active=True))
    return {t.key: _state(t, oldest_first) for t in topics}, newest_first


def _state(topic: ConsentTopic, records: list[ConsentRecord]) -> TopicState:
    granted: ConsentRecord | None = None
    opted_out = False
    for record in records:  # oldest first
        if record.topic_id not in (None, topic.pk):
            continue
        if record.status == ConsentStatus.WITHDRAWN:
            opted_out, granted = True, None
        elif record.status == ConsentStatus.GRANTED and record.topic_id == topic.pk:
            if opted_out and record.legal_basis != LegalBasis.OPT_IN:
                continue  # a "no" stands until the person says yes again themselves
            opted_out, granted = False, record
    if granted is None:
        return TopicState(topic=topic, granted=False, legal_basis="", since=None, record=None)
    return TopicState(
        topic=topic,
        granted=True,
        legal_basis=granted.legal_basis,
        since=granted.recorded_at,
        record=granted,
    )


def may_send(*, contact_id: int, topic_key: str) -> bool:
    """Whether marketing mail of this topic may go to the contact now."""
    state = consent_state(contact_id=contact_id).get(topic_key)
    return bool(state and state.granted)


def may_send_many(*, pairs: Iterable[tuple[int, str]]) -> dict[tuple[int, str], bool]:
    """``may_send`` for many ``(contact_id, topic_key)`` pairs at once: the same answer for each.

    Reads the active topics asked about and the contacts' records of those topics and of every
    topic (NULL: an opt-out of all), oldest first, in one query per 500 contacts; the rules are
    ``_state``'s, so a pair is ``True`` exactly when ``may_send`` would say so.
    """
    wanted = set(pairs)
    answer = dict.fromkeys(wanted, False)
    if not wanted:
        return answer
    keys = {key for _contact_id, key in wanted}
    topics = {t.key: t for t in ConsentTopic.objects.filter(is_active=True, key__in=keys)}
    asked = [(contact_id, key) for contact_id, key in wanted if key in topics]
    if not asked:
        return answer
    topic_ids = [t.pk for t in topics.values()]
    ids = sorted({contact_id for contact_id, _key in asked})
    histories: dict[int, list[ConsentRecord]] = {}
    for start in range(0, len(ids), 500):
        part = ids[start : start + 500]
        records = ConsentRecord.objects.filter(
            Q(topic__isnull=True) | Q(topic_id__in=topic_ids), contact_id__in=part
        ).only("contact_id", "topic_id", "status", "legal_basis", "recorded_at")
        for record in records.order_by("recorded_at", "id"):  # oldest first, as ``_state`` reads
            histories.setdefault(record.contact_id, []).append(record)
    for contact_id, key in asked:
        answer[(contact_id, key)] = _state(topics[key], histories.get(contact_id, [])).granted
    return answer


def topic_list() -> QuerySet[ConsentTopic]:
    return ConsentTopic.objects.order_by("-is_active", "name")


def purpose_text_latest() -> list[PurposeText]:
    """The newest version of every purpose-of-use text."""
    latest: dict[str, PurposeText] = {}
    for text in PurposeText.objects.order_by("key", "-version"):
        latest.setdefault(text.key, text)
    return list(latest.values())


def purpose_text_versions(*, key: str) -> QuerySet[PurposeText]:
    return PurposeText.objects.filter(key=key).order_by("-version")


def consent_histories(*, contact_ids: Iterable[int]) -> dict[int, list[ConsentRecord]]:
    """Every record of each contact, oldest first, for many contacts at once (imports)."""
    ids = sorted(set(contact_ids))
    histories: dict[int, list[ConsentRecord]] = {}
    for start in range(0, len(ids), 500):
        part = ids[start : start + 500]
        records = ConsentRecord.objects.filter(contact_id__in=part).only(
            "contact_id", "topic_id", "status", "legal_basis", "source", "source_detail",
            "recorded_at",
        )  # fmt: skip
        for record in records.order_by("recorded_at", "id"):
            histories.setdefault(record.contact_id, []).append(record)
    return histories


def hashed_suppressed(
    *, email_hashes: Iterable[str] = (), phone_hashes: Iterable[str] = ()
) -> tuple[set[str], set[str]]:
    """Which of the given keyed hashes (``keyed_hash``) of emails and of phones are on the hashed
    suppression list: erased people who have not opted in again. One query per 500 of each."""
    emails = sorted({h for h in email_hashes if h})
    phones = sorted({h for h in phone_hashes if h})
    found_emails: set[str] = set()
    found_phones: set[str] = set()
    for start in range(0, max(len(emails), len(phones)), 500):
        part_emails, part_phones = emails[start : start + 500], phones[start : start + 500]
        rows = HashedSuppression.objects.filter(
            Q(email_hash__in=part_emails) | Q(phone_hash__in=part_phones)
        ).values_list("email_hash", "phone_hash")
        for email_hash, phone_hash in rows:
            found_emails.add(email_hash)
            found_phones.add(phone_hash)
    return found_emails & set(emails), found_phones & set(phones)
