"""The consent ledger: append-only, with the state per topic derived from it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import IntegrityError, InternalError, connection, transaction
from django.db.utils import DatabaseError

from sokyaku.consent import selectors, services
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
