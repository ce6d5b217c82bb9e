"""The erasure service (``privacy.services.erasure``) beyond the whole-database scan: who it
takes with the person, what it leaves to others, and how an erased person stays unmailable."""

from __future__ import annotations

from typing import Any

import pytest

from sokyaku.activity.models import Event
from sokyaku.consent.models import ConsentStatus, HashedSuppression, LegalBasis
from sokyaku.consent.services import Evidence, consent_record
from sokyaku.contacts import identity
from sokyaku.contacts.models import Company, Contact
from sokyaku.contacts.services import (
    ContactInput,
    contact_merge,
    contact_note_add,
    contact_update,
    contact_upsert,
)
from sokyaku.core.errors import ValidationError
from sokyaku.handoff.models import SalesActivity
from sokyaku.handoff.services.activities import activity_log
from sokyaku.messaging.models import Message, MessageStatus
from sokyaku.messaging.services import delivery
from sokyaku.privacy.models import ErasureLog
from sokyaku.privacy.services.erasure import erase_contact
from sokyaku.segments import services as segment_services
from sokyaku.segments.models import SegmentMembership
from tests.messaging.engine_factories import contact_make, message_make, sender_make, topic_make

pytestmark = pytest.mark.django_db


def _person(email: str = "aoi@tsubame.example", **fields: Any) -> Contact:
    data = {"family_name": "鳥羽根", "given_name": "葵衣", "company_name": "ツバメ測量", **fields}
    return contact_upsert(data=ContactInput(email=email, **data)).contact


def test_the_rows_merged_into_a_person_go_with_them_whichever_id_is_given() -> None:
    # given a person and a duplicate of theirs merged into them
    person = _person()
    duplicate = _person(email="aoi.home@gmail.example", company_name="")
    contact_merge(winner=person, loser=duplicate)
    # when the merged-away id is erased
    log = erase_contact(Contact.objects.get(pk=duplicate.pk), by=None, reason="")
    # then both rows are anonymous, the log names the live one, and both addresses are hashed
    assert log.contact_id == person.pk
    assert set(Contact.objects.filter(erased_at__isnull=False).values_list("pk", flat=True)) == {
        person.pk,
        duplicate.pk,
    }
    assert (
        HashedSuppression.objects.filter(
            email_hash__in=[identity.email_hash(person.email), identity.email_hash(duplicate.email)]
        ).count()
        == 2
    )


def test_a_company_others_belong_to_stays_one_only_theirs_goes() -> None:
    # given a person at a company with a colleague, who also runs a one-person business
    person = _person(company_name="株式会社オオモリ")
    colleague = contact_upsert(
        data=ContactInput(email="ken@omori.example", family_name="大森", company_name="オオモリ")
    ).contact
    assert colleague.company_id == person.company_id
    other_self = _person(email="aoi@shop.example", company_name="鳥羽根商店")
    contact_merge(winner=person, loser=other_self)
    # when the person is erased
    erase_contact(person, by=None, reason="")
    # then the shared company stays, with the colleague; the one-person business is gone
    assert Company.objects.filter(pk=colleague.company_id).exists()
    assert not Company.objects.filter(name="鳥羽根商店").exists()


def test_mail_waiting_for_the_person_is_suppressed_and_nothing_reaches_the_erased_row() -> None:
    # given a marketing mail queued for a person who consented
    person = contact_make(email="aoi@tsubame.example")
    waiting = message_make(contact=person)
    # when they are erased before it goes
    erase_contact(person, by=None, reason="")
    delivery.messages_deliver(message_ids=[waiting.pk])
    # then it was never sent, and says why
    stored = Message.objects.get(pk=waiting.pk)
    assert (stored.status, stored.to_address, stored.subject) == (MessageStatus.SUPPRESSED, "", "")
    assert stored.suppressed_reason == "The person was erased at their request."


def test_an_erased_row_is_never_edited_merged_or_segmented_again() -> None:
    person = _person()
    other = _person(email="someone@else.example", family_name="大森")
    everyone = segment_services.segment_create(
        name="ツバメ測量",
        kind="dynamic",
        definition={
            "op": "and",
            "conditions": [{"field": "email", "op": "contains", "value": "example"}],
        },
    )
    erase_contact(person, by=None, reason="")
    with pytest.raises(ValidationError):
        contact_update(contact=person, data=ContactInput(email="back@example.jp"))
    with pytest.raises(ValidationError):
        contact_merge(winner=other, loser=Contact.objects.get(pk=person.pk))
    segment_services.segment_refresh(segment=everyone)
    assert set(SegmentMembership.objects.values_list("contact_id", flat=True)) == {other.pk}


def test_no_note_or_sales_activity_is_written_about_an_erased_person(admin_user) -> None:  # type: ignore[no-untyped-def]
    # given an erased person
    person = _person()
    erase_contact(person, by=None, reason="")
    person = Contact.objects.get(pk=person.pk)
    # when staff try to note something about them, on the timeline or as a call
    with pytest.raises(ValidationError):
        contact_note_add(contact=person, text="加藤さんに電話", author=admin_user)
    with pytest.raises(ValidationError):
        activity_log(contact=person, actor=admin_user, kind="call", body="加藤さんと話した")
    # then nothing was stored about them
    assert not Event.objects.filter(contact_id=person.pk, type="note").exists()
    assert not SalesActivity.objects.filter(contact_id=person.pk).exists()


def test_an_office_phone_does_not_make_colleagues_unmailable_a_mobile_does() -> None:
    # given a person with the office's main line, erased
    topic_make()
    office = _person(phone="03-5555-0100")
    erase_contact(office, by=None, reason="")
    # when a colleague with the same main line, and someone with the erased mobile, get mail
    colleague = contact_make(email="ken@tsubame.example", phone="03-5555-0100")
    mobile_person = _person(email="aoi2@tsubame.example", phone="090-4321-8765")
    erase_contact(mobile_person, by=None, reason="")
    came_back = contact_make(email="new-address@example.jp", phone="090-4321-8765")
    sender = sender_make()
    refused = delivery.marketing_refusals(
        recipients=[(colleague.pk, colleague.email), (came_back.pk, came_back.email)],
        topic_key="newsletter",
    )
    # then the colleague may be mailed; the person with the erased mobile may not
    assert refused == {came_back.pk: delivery.ERASED_REFUSAL}
    assert sender.pk


def test_an_opt_in_the_person_did_not_give_does_not_lift_the_hashed_entry() -> None:
    # given an erased person who is re-created through the API with an opt-in recorded by a
    # user (not the person's own form or confirmation)
    topic = topic_make()
    erase_contact(_person(), by=None, reason="")
    again = _person()
    consent_record(
        contact_id=again.pk, topic=topic, status=ConsentStatus.GRANTED,
        legal_basis=LegalBasis.OPT_IN, evidence=Evidence(source="api"),
    )  # fmt: skip
    # then marketing mail is still refused
    mail = message_make(contact=again, sender=sender_make())
    delivery.messages_deliver(message_ids=[mail.pk])
    assert Message.objects.get(pk=mail.pk).suppressed_reason == delivery.ERASED_REFUSAL
    assert ErasureLog.objects.count() == 1
