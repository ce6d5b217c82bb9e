"""The consent ledger: append-only, with the state per topic derived from it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import IntegrityError, InternalError, connection, transaction
from django.db.utils import DatabaseError

from sokyaku.consent import selectors, services
from sokyaku.consent.keyed_hash import keyed_hash
from sokyaku.consent.models import (
    AppendOnlyError,
    ConsentRecord,
    ConsentSource,
    ConsentStatus,
    ConsentTopic,
    LegalBasis,
    PurposeText,
)
from sokyaku.contacts.services import ContactInput, contact_upsert
from sokyaku.core import clock
from sokyaku.core.redaction import Redactor

pytestmark = pytest.mark.django_db

FORM = services.Evidence(source=ConsentSource.FORM, ip="203.0.113.7", user_agent="Mozilla/5.0")


@pytest.fixture
def topic() -> ConsentTopic:
    return ConsentTopic.objects.create(key="newsletter", name="メールマガジン")


@pytest.fixture
def contact_id() -> int:
    return contact_upsert(data=ContactInput(email="consent@example.jp")).contact.pk


def _record(contact_id, topic, status, basis="", minutes=0, source=ConsentSource.FORM):
    return services.consent_record(
        contact_id=contact_id,
        topic=topic,
        status=status,
        legal_basis=basis,
        evidence=services.Evidence(source=source),
        at=clock.now() + timedelta(minutes=minutes),
    )


def test_a_record_keeps_the_exact_text_shown_with_its_version_and_hash(contact_id, topic):
    text = services.purpose_text_publish(
        key="form-notice", title="個人情報の取り扱い", body="ご提供いただいた情報は…"
    )
    evidence = services.Evidence(
        source=ConsentSource.FORM, purpose_text=text, ip="203.0.113.7", user_agent="UA"
    )
    record = services.consent_record(
        contact_id=contact_id, topic=topic, status=ConsentStatus.GRANTED,
        legal_basis=LegalBasis.OPT_IN, evidence=evidence,
    )  # fmt: skip
    assert (record.text_version, record.text_sha256) == (1, services.text_sha256(text.body))
    assert (record.ip, record.user_agent) == ("203.0.113.7", "UA")


def test_a_changed_text_is_a_new_version_and_the_old_one_stays(contact_id):
    v1 = services.purpose_text_publish(key="k", title="t", body="第1版")
    same = services.purpose_text_publish(key="k", title="t", body="第1版")
    v2 = services.purpose_text_publish(key="k", title="t", body="第2版")
    assert (v1.pk, v1.version, v2.version) == (same.pk, 1, 2)
    assert PurposeText.objects.get(pk=v1.pk).body == "第1版"


def test_records_cannot_be_updated_or_deleted_through_the_orm(contact_id, topic):
    record = _record(contact_id, topic, ConsentStatus.GRANTED, LegalBasis.OPT_IN)
    record.status = ConsentStatus.WITHDRAWN
    with pytest.raises(AppendOnlyError):
        record.save()
    with pytest.raises(AppendOnlyError):
        record.delete()
    with pytest.raises(AppendOnlyError):
        ConsentRecord.objects.filter(pk=record.pk).update(status=ConsentStatus.WITHDRAWN)
    with pytest.raises(AppendOnlyError):
        ConsentRecord.objects.filter(pk=record.pk).delete()
    assert ConsentRecord.objects.get(pk=record.pk).status == ConsentStatus.GRANTED


def test_the_database_itself_refuses_an_update(contact_id, topic):
    record = _record(contact_id, topic, ConsentStatus.GRANTED, LegalBasis.OPT_IN)
    refused = (IntegrityError, InternalError, DatabaseError)
    with pytest.raises(refused), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "UPDATE consent_consentrecord SET status = 'withdrawn' WHERE id = %s", [record.pk]
        )
    assert ConsentRecord.objects.get(pk=record.pk).status == ConsentStatus.GRANTED


def test_the_database_itself_refuses_a_delete(contact_id, topic):
    # given a consent record and a published purpose text
    record = _record(contact_id, topic, ConsentStatus.GRANTED, LegalBasis.OPT_IN)
    text = services.purpose_text_publish(key="k", title="t", body="第1版")
    refused = (IntegrityError, InternalError, DatabaseError)
    # when someone with a SQL prompt deletes them, then the database refuses
    for table, pk in (("consent_consentrecord", record.pk), ("consent_purposetext", text.pk)):
        with pytest.raises(refused), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {table} WHERE id = %s", [pk])  # noqa: S608
    assert ConsentRecord.objects.filter(pk=record.pk).exists()
    assert PurposeText.objects.filter(pk=text.pk).exists()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="TRUNCATE is PostgreSQL's")
def test_postgresql_refuses_to_truncate_the_ledger(contact_id, topic):
    record = _record(contact_id, topic, ConsentStatus.GRANTED, LegalBasis.OPT_IN)
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("TRUNCATE consent_consentrecord CASCADE")
    assert ConsentRecord.objects.filter(pk=record.pk).exists()


def test_only_the_erasure_door_lets_a_delete_through_and_closes_behind_it(contact_id, topic):
    # given two records of a person
    first = _record(contact_id, topic, ConsentStatus.GRANTED, LegalBasis.OPT_IN)
    second = _record(contact_id, topic, ConsentStatus.WITHDRAWN, minutes=1)
    # when the erasure path deletes one through the door
    with services.ledger_erasure(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM consent_consentrecord WHERE id = %s", [first.pk])
    # then it is gone, and the door is shut again for the other
    assert not ConsentRecord.objects.filter(pk=first.pk).exists()
    refused = (IntegrityError, InternalError, DatabaseError)
    with pytest.raises(refused), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM consent_consentrecord WHERE id = %s", [second.pk])
    assert ConsentRecord.objects.filter(pk=second.pk).exists()


@pytest.mark.django_db(transaction=True)
def test_the_test_flush_still_empties_a_database_with_consent_records():
    # given committed consent records (this test's database is flushed after it, not rolled
    # back: a flush refused by the ledger's guards would fail this test at teardown)
    contact = contact_upsert(data=ContactInput(email="flush@example.jp")).contact
    topic = ConsentTopic.objects.get_or_create(key="flush", defaults={"name": "flush"})[0]
    _record(contact.pk, topic, ConsentStatus.GRANTED, LegalBasis.OPT_IN)
    services.purpose_text_publish(key="flush", title="t", body="本文")
    # when the flush command empties the database (as between transactional tests)
    call_command("flush", verbosity=0, interactive=False)
    # then the ledger is empty and its guard is back on
    assert not ConsentRecord.objects.exists()
    contact = contact_upsert(data=ContactInput(email="again@example.jp")).contact
    topic = ConsentTopic.objects.get_or_create(key="flush", defaults={"name": "flush"})[0]
    record = _record(contact.pk, topic, ConsentStatus.GRANTED, LegalBasis.OPT_IN)
    refused = (IntegrityError, InternalError, DatabaseError)
    with pytest.raises(refused), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM consent_consentrecord WHERE id = %s", [record.pk])


def test_an_opt_out_overrides_every_other_basis(contact_id, topic):
    _record(contact_id, topic, ConsentStatus.GRANTED, LegalBasis.OPT_IN, minutes=0)
    _record(contact_id, None, ConsentStatus.WITHDRAWN, minutes=1)  # unsubscribe from all
    # a later business card or import does not bring the person back
    _record(contact_id, topic, ConsentStatus.GRANTED, LegalBasis.BUSINESS_CARD, minutes=2,
            source=ConsentSource.IMPORT)  # fmt: skip
    assert selectors.may_send(contact_id=contact_id, topic_key="newsletter") is False
    # only their own new opt-in does
    _record(contact_id, topic, ConsentStatus.GRANTED, LegalBasis.OPT_IN, minutes=3)
    state = selectors.consent_state(contact_id=contact_id)["newsletter"]
    assert (state.granted, state.legal_basis) == (True, LegalBasis.OPT_IN)


def test_a_pending_double_opt_in_does_not_count_until_confirmed(contact_id, topic):
    pending = _record(contact_id, topic, ConsentStatus.PENDING, LegalBasis.OPT_IN)
    assert selectors.may_send(contact_id=contact_id, topic_key="newsletter") is False
    services.consent_record(
        contact_id=contact_id, topic=topic, status=ConsentStatus.GRANTED,
        legal_basis=LegalBasis.OPT_IN, confirms=pending,
        evidence=services.Evidence(source=ConsentSource.CONFIRMATION),
    )  # fmt: skip
    assert selectors.may_send(contact_id=contact_id, topic_key="newsletter") is True


def test_a_grant_without_a_legal_basis_is_refused(contact_id, topic):
    from sokyaku.core.errors import ValidationError

    with pytest.raises(ValidationError):
        _record(contact_id, topic, ConsentStatus.GRANTED, "")


# --- Erasure: the proof kept under keyed hashes --------------------------------------------


def test_the_erasure_door_lets_an_update_through_and_closes_behind_it(contact_id, topic):
    # given a record
    record = services.consent_record(
        contact_id=contact_id, topic=topic, status=ConsentStatus.GRANTED,
        legal_basis=LegalBasis.OPT_IN, evidence=FORM,
    )  # fmt: skip
    # when the erasure path updates it through the door, then the database lets it
    with services.ledger_erasure(), connection.cursor() as cursor:
        cursor.execute(
            "UPDATE consent_consentrecord SET user_agent = '' WHERE id = %s", [record.pk]
        )
    assert ConsentRecord.objects.get(pk=record.pk).user_agent == ""
    # and refuses again once the door is shut
    refused = (IntegrityError, InternalError, DatabaseError)
    with pytest.raises(refused), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE consent_consentrecord SET source = 'ui' WHERE id = %s", [record.pk])
    assert ConsentRecord.objects.get(pk=record.pk).source == ConsentSource.FORM


def test_an_erased_persons_records_keep_the_decision_under_keyed_hashes(contact_id, topic):
    # given an opt-in and an opt-out of a person, from a form with an IP and a browser
    services.consent_record(
        contact_id=contact_id, topic=topic, status=ConsentStatus.GRANTED,
        legal_basis=LegalBasis.OPT_IN, evidence=FORM,
    )  # fmt: skip
    _record(contact_id, None, ConsentStatus.WITHDRAWN, minutes=1)
    # when their records are erased
    erased = services.consent_records_erase(
        contact_ids=[contact_id],
        email_hash=keyed_hash("consent@example.jp"),
        phone_hash="",
        redactor=Redactor(strong={"consent@example.jp"}),
    )
    # then the decisions, topics and times stay, the person's fields are keyed hashes
    assert erased == 2
    records = list(ConsentRecord.objects.filter(contact_id=contact_id).order_by("recorded_at"))
    assert [r.status for r in records] == [ConsentStatus.GRANTED, ConsentStatus.WITHDRAWN]
    assert {r.email_hash for r in records} == {keyed_hash("consent@example.jp")}
    assert (records[0].ip, records[0].user_agent) == (None, "")
    assert records[0].ip_hash == keyed_hash("203.0.113.7")
    assert records[0].user_agent_hash == keyed_hash("Mozilla/5.0")
    assert selectors.may_send(contact_id=contact_id, topic_key="newsletter") is False
    # and erasing again changes nothing
    assert (
        services.consent_records_erase(
            contact_ids=[contact_id], email_hash="x", phone_hash="", redactor=Redactor()
        )
        == 0
    )


def test_the_keyed_hash_needs_the_key(settings):
    # the same address gives another hash under another key: without the key, nobody can
    # tell whether an address is on the list
    first = keyed_hash("taro@example.jp")
    settings.SOKYAKU_ERASURE_KEY = "another key"
    assert keyed_hash("taro@example.jp") not in (first, "")
    assert len(first) == 64
