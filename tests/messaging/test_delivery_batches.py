"""The engine works per claimed batch: reads and writes are set-based, and a batch prepared while
the previous one was on the wire is checked again right before it goes."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from sokyaku.consent.models import ConsentStatus
from sokyaku.consent.services import Evidence, consent_record
from sokyaku.messaging.models import Message, MessageStatus
from sokyaku.messaging.services import delivery
from tests.messaging.engine_factories import (
    contact_make,
    message_make,
    sender_make,
    template_make,
)
from tests.messaging.smtp_sinks import ScriptedSink, free_port, sink_running, smtp_settings

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_buckets() -> Iterator[None]:
    delivery.domain_buckets.reset()
    yield
    delivery.domain_buckets.reset()


@pytest.fixture
def sink(settings) -> Iterator[ScriptedSink]:  # type: ignore[no-untyped-def]
    with sink_running(ScriptedSink(port=free_port())) as running:
        smtp_settings(settings, running.port)
        yield running


def _queries_to_deliver(count: int) -> int:
    sender, template = sender_make(), template_make()
    messages = [message_make(sender=sender, template=template) for _ in range(count)]
    with CaptureQueriesContext(connection) as queries:
        report = delivery.messages_deliver(message_ids=[m.pk for m in messages])
    assert report.sent == count
    return len(queries)


def test_the_queries_of_a_batch_do_not_grow_with_its_messages(sink: ScriptedSink) -> None:
    # given batches of 3 and of 12 consenting contacts (one sender, one template)
    # when each batch is delivered
    # then both take the same number of queries: nothing is read or written per message
    assert _queries_to_deliver(3) == _queries_to_deliver(12)
    assert len(sink.wait_for(15)) == 15


def test_statuses_of_a_mixed_batch_are_written_for_each_message(sink: ScriptedSink) -> None:
    sender, template = sender_make(), template_make()
    sent = [message_make(sender=sender, template=template) for _ in range(3)]
    no_consent = message_make(contact=contact_make(consent=False), template=template)
    no_topic = message_make(sender=sender, template=template, topic_key="")

    delivery.messages_deliver(message_ids=[m.pk for m in [*sent, no_consent, no_topic]])

    stored = {m.pk: m for m in Message.objects.all()}
    assert [stored[m.pk].status for m in sent] == [MessageStatus.SENT] * 3
    assert all(stored[m.pk].headers["Message-ID"] for m in sent)
    assert all(stored[m.pk].attempts == 1 for m in sent)
    assert "No consent or legal basis" in stored[no_consent.pk].suppressed_reason
    assert stored[no_topic.pk].suppressed_reason == "Marketing mail without a consent topic."
    assert {stored[m.pk].lease_until for m in stored.values()} == {None}


def test_an_opt_out_while_the_previous_batch_is_sent_stops_the_next(
    sink: ScriptedSink, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given two messages that go in two batches
    settings.MAIL_BATCH = 1
    first, second = message_make(), message_make()
    prepare = delivery._prepare

    def opt_out_after_second_is_prepared(ids: Any) -> delivery._Batch:
        batch = prepare(ids)
        if list(ids) == [second.pk]:  # checked and rendered, not yet on the wire
            consent_record(
                contact_id=second.contact_id,  # type: ignore[arg-type]
                topic=None,
                status=ConsentStatus.WITHDRAWN,
                evidence=Evidence(source="ui"),
            )
        return batch

    monkeypatch.setattr(delivery, "_prepare", opt_out_after_second_is_prepared)

    # when both are delivered
    report = delivery.messages_deliver(message_ids=[first.pk, second.pk])

    # then the opt-out stops the second one right before it would have gone
    assert (report.sent, report.suppressed) == (1, 1)
    assert Message.objects.get(pk=second.pk).status == MessageStatus.SUPPRESSED
    assert [mail["To"] for mail in sink.wait_for(1)] == [first.to_address]


def test_a_hard_bounce_in_one_batch_stops_mail_to_that_address_in_the_next(
    sink: ScriptedSink, settings: Any
) -> None:
    # given two mails to one address that does not exist, in two batches
    settings.MAIL_BATCH = 1
    contact = contact_make(email="nobody@example.jp")
    first, second = message_make(contact=contact), message_make(contact=contact)
    sink.reject.add("nobody@example.jp")

    # when both are delivered (the second is prepared while the first is on the wire)
    delivery.messages_deliver(message_ids=[first.pk, second.pk])

    # then the first bounces and the second is not attempted at all
    assert Message.objects.get(pk=first.pk).status == MessageStatus.FAILED
    stored = Message.objects.get(pk=second.pk)
    assert stored.status == MessageStatus.SUPPRESSED
    assert "suppression list" in stored.suppressed_reason
    assert stored.attempts == 0


def test_the_one_click_url_is_on_the_wire_as_a_plain_uri(sink: ScriptedSink, settings: Any) -> None:
    # given a site address long enough that the unsubscribe URL does not fit on a header line
    settings.SITE_URL = "https://mail.sokyaku-customer.example.co.jp"
    message = message_make()

    delivery.messages_deliver(message_ids=[message.pk])

    # then mail providers find the RFC 8058 URL as it is, not hidden in RFC 2047 encoded words
    sink.wait_for(1)
    head = sink.raw[0].split(b"\r\n\r\n", 1)[0].decode()
    url = Message.objects.get(pk=message.pk).headers["List-Unsubscribe"].split(">")[0][1:]
    assert len(url) > 78
    assert f"List-Unsubscribe: <{url}>,\r\n <mailto:unsubscribe+" in head
    assert "=?utf-8?" not in head.split("List-Unsubscribe:")[1].split("\r\nList-")[0]
