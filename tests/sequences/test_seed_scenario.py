"""The issue's end-to-end test: seed 002's B2B step mail through a real SMTP server.

Given the presets (mail 1 at once, 4 business days, mail 2, 6 business days, mail 3), a complete
marketing sender and two consenting leads who download the whitepaper on Thursday 2026-11-19,
when the clock runs for three weeks (across 勤労感謝の日, Monday 11/23) with the tick every half
hour, then the first lead receives three mails on 11/19, 11/26 and 12/04 inside 9:00–18:00, each
with the legal footer, the RFC 8058 one-click headers and click links that redirect to the stored
URL; the second lead, who unsubscribes with one click after mail 1, receives nothing more.
"""

from __future__ import annotations

import re
from datetime import timedelta
from email.message import EmailMessage
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

import jpholiday
import pytest
from django.test import Client

from sokyaku.activity import services as activity_services
from sokyaku.activity.events import event_build
from sokyaku.activity.models import EventSource
from sokyaku.capture.services.assets import AssetInput, asset_create
from sokyaku.core import clock
from sokyaku.core.calendar import TOKYO
from sokyaku.messaging.models import Message
from sokyaku.sequences.presets import b2b_sequence, sequences_presets_install_if_missing
from sokyaku.sequences.services.editing import sequence_activate
from sokyaku.sequences.services.tick import sequences_tick
from tests.sequences.factories import contact_make, sender_make, tokyo

pytestmark = pytest.mark.django_db


def _to(messages: list[EmailMessage], address: str) -> list[EmailMessage]:
    return [m for m in messages if m["To"] and address in m["To"]]


def _text(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    return part.get_content()  # type: ignore[no-any-return]


def _html(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("html",))
    assert part is not None
    return part.get_content()  # type: ignore[no-any-return]


def test_seed_b2b_scenario_over_a_week_with_a_national_holiday(
    smtp_server,  # type: ignore[no-untyped-def]
    django_capture_on_commit_callbacks,  # type: ignore[no-untyped-def]
    settings,  # type: ignore[no-untyped-def]
) -> None:
    settings.SITE_URL = "https://mail.sample.example"
    client = Client()
    with clock.frozen(tokyo(2026, 11, 19, 10, 0)):  # Thursday
        # given
        sender = sender_make()
        whitepaper = asset_create(
            data=AssetInput(
                title="ITインフラ更新ガイド", kind="whitepaper", url="https://sample.example/wp.pdf"
            )
        )
        sequences_presets_install_if_missing()
        sequence = b2b_sequence()
        assert sequence is not None and sequence.sender_id == sender.pk
        sequence_activate(sequence=sequence)
        reader = contact_make(email="reader@example.jp", family_name="鈴木")
        leaver = contact_make(email="leaver@example.jp", family_name="高橋")
        # when both download the whitepaper (mail 1 goes at once, through the worker)
        for contact in (reader, leaver):
            with django_capture_on_commit_callbacks(execute=True):
                activity_services.event_ingest(
                    event=event_build(
                        type="asset_downloaded",
                        occurred_at=clock.now(),
                        source=EventSource.FORM,
                        properties={"asset": whitepaper.pk, "asset_kind": "whitepaper"},
                        contact_id=contact.pk,
                    )
                )
        first = smtp_server.wait_for(2)
        assert len(_to(first, "reader@example.jp")) == 1
        # and the second lead unsubscribes with one click (RFC 8058 POST, no session)
        (mail_1_leaver,) = _to(first, "leaver@example.jp")
        https = re.search(r"<(https?://[^>]+)>", mail_1_leaver["List-Unsubscribe"])
        assert https is not None
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(urlsplit(https.group(1)).path, {"List-Unsubscribe": "One-Click"})
        assert response.status_code == 200
        # and the clock runs for three weeks, the tick every half hour
        for _ in range(21 * 48):
            clock.advance(timedelta(minutes=30))
            with django_capture_on_commit_callbacks(execute=True):
                sequences_tick()
    received = smtp_server.wait_for(4)

    # then: three mails to the reader, on the right days, inside the window
    mails = _to(received, "reader@example.jp")
    assert len(mails) == 3
    sent = [parsedate_to_datetime(m["Date"]).astimezone(TOKYO) for m in mails]
    assert [d.strftime("%m-%d") for d in sent] == ["11-19", "11-26", "12-04"]
    for moment in sent:
        assert moment.isoweekday() <= 5 and not jpholiday.is_holiday(moment.date())
        assert 9 <= moment.hour < 18
    for mail in mails:
        # the legal footer (特定電子メール法) and the one-click headers
        text = _text(mail)
        for item in (sender.sender_name, sender.postal_address, sender.unsubscribe_wording):
            assert item in text
        assert "List-Unsubscribe=One-Click" in mail["List-Unsubscribe-Post"]
        assert "mailto:" in mail["List-Unsubscribe"] and "https://" in mail["List-Unsubscribe"]
        # and a working tracking link: it redirects to the URL stored for it
        link = re.search(r'href="(https?://[^"]+/m/c/[^"]+)"', _html(mail))
        assert link is not None
        response = client.get(urlsplit(link.group(1)).path)
        assert response.status_code == 302
        assert response["Location"].startswith("https://")
    # and the unsubscribed lead got mail 1 only
    assert len(_to(received, "leaver@example.jp")) == 1
    assert Message.objects.filter(contact=leaver).count() == 1
