"""A person's export: a person who came through every door finds each of those doors in their
one JSON document, in the documented shape, in Japan time, and nobody else's data in it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from sokyaku.core import clock
from sokyaku.core.models import DataAccessLog
from sokyaku.privacy import export
from sokyaku.privacy.export_schema import PersonExport
from tests.handoff.factories import webhook
from tests.privacy.people import (
    EMAIL,
    MARKS,
    OTHER,
    START,
    VISITOR,
    Seeded,
    person_seed,
    staff_addresses,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def seeded(api: Client, tmp_path: Path, settings: Any) -> Iterator[Seeded]:
    settings.CHAT_ALLOW_PRIVATE = True  # the chat receiver is a local server
    with clock.frozen(START), webhook() as hook:
        yield person_seed(api=api, tmp_path=tmp_path, hook_url=hook.url)


def _export(seeded: Seeded) -> dict[str, Any]:
    raw = b"".join(export.person_export(contact=seeded.contact))
    return json.loads(raw)  # type: ignore[no-any-return]


def _types(document: dict[str, Any]) -> list[str]:
    return [event["type"] for event in document["events"]]


def test_the_form_tracking_and_the_record_are_in_the_export(seeded: Seeded) -> None:
    # when the person's data is exported
    document = _export(seeded)
    contact = document["contact"]
    # then their record is there, the phone both as written and normalised
    assert (contact["family_name"], contact["given_name"], contact["email"]) == (
        "輸出", "花子", EMAIL)  # fmt: skip
    assert contact["phone"] == {
        "as_written": "03-5555-0101 内線12",
        "normalised": "+81355550101",
        "display": "03-5555-0101",
        "extension": "12",
        "needs_review": False,
    }
    assert document["company"]["name"] == "株式会社エクスポート"
    # the form submission with its campaign, question and the purpose text they were shown
    submission = document["form_submissions"][0]
    assert submission["utm"]["utm_campaign"] == MARKS["utm"]
    assert submission["data"]["question"] == MARKS["question"]
    assert "利用します" in submission["purpose_text"]["body"]
    assert contact["first_touch"]["campaign"] == MARKS["utm"]
    # and the tracked browser with its page view from before the form
    assert [v["id"] for v in document["visitors"]] == [VISITOR]
    views = [e for e in document["events"] if e["type"] == "page_view"]
    assert views[0]["properties"]["url"] == MARKS["page"]
    assert views[0]["visitor_id"] == VISITOR


def test_consent_comes_with_the_ledger_rows_and_purpose_texts(seeded: Seeded) -> None:
    document = _export(seeded)
    consent = document["consent"]
    # the form's opt-ins, each with the text shown, its version and its hash
    form_rows = [r for r in consent["records"] if r["source"] == "form"]
    assert {r["topic"] for r in form_rows} == {"newsletter", "seminars"}
    assert all(r["legal_basis"] == "opt_in" for r in form_rows)
    assert all(r["purpose_text"]["sha256"] == r["text_sha256"] for r in form_rows)
    assert all(r["purpose_text"]["version"] == r["text_version"] for r in form_rows)
    assert all(r["user_agent"].startswith("Mozilla/5.0") for r in form_rows)
    # and the state they add up to
    states = {t["topic"]: t["granted"] for t in consent["topics"]}
    assert (states["newsletter"], states["seminars"]) == (True, True)
    assert consent["suppressed"] is None


def test_the_import_the_api_and_the_messages_are_in_the_export(seeded: Seeded) -> None:
    document = _export(seeded)
    # the import's department and tag
    assert document["contact"]["department"] == MARKS["department"]
    assert MARKS["import_tag"] in document["contact"]["tags"]
    # the event sent through the API
    inquiry = [e for e in document["events"] if e["type"] == "inquiry"]
    assert inquiry[0]["properties"]["text"] == MARKS["api_inquiry"]
    assert inquiry[0]["source"] == "api"
    # the mail as it was sent, and the chat message
    mails = [m for m in document["messages"] if m["channel"] == "email" and m["status"] == "sent"]
    sent = [m for m in mails if MARKS["mail_subject"] in m["subject"]]
    assert sent[0]["subject"] == f"輸出様 {MARKS['mail_subject']}"
    assert "資料のご請求ありがとうございます" in sent[0]["body_text"]
    assert "資料のご請求ありがとうございます" in sent[0]["body_html"]
    assert sent[0]["to_address"] == EMAIL
    assert sent[0]["links"][0] == "https://sample.example/case"
    chats = [m for m in document["messages"] if m["channel"] == "chat"]
    assert chats[0]["body_text"] == MARKS["chat_text"]


def test_the_handoff_with_its_alert_and_notes_the_deal_and_the_order(seeded: Seeded) -> None:
    document = _export(seeded)
    handoff = document["handoffs"][0]
    assert handoff["action"] == "デモ申し込み"
    assert handoff["assignee"] == "営業 一郎"
    # the alert's content, without where it went
    alert = handoff["alerts"][0]
    assert "デモ申し込み" in alert["subject"]
    assert "輸出" in alert["text"]
    assert set(alert) == {"id", "channel", "status", "subject", "text", "created_at", "sent_at"}
    notes = [a for a in document["sales_activities"] if a["body"] == MARKS["activity_note"]]
    assert notes[0]["kind"] == "call"
    assert notes[0]["handoff"] == handoff["id"]
    deal = document["deals"][0]
    assert deal["name"] == MARKS["deal"]
    line = {"item": "勤怠管理 年間ライセンス", "quantity": 10, "unit_price": 12000}
    assert deal["lines"] == [line]
    assert document["lifecycle"]["bant"][0]["need"] == MARKS["bant_need"]
    assert [o["order_id"] for o in document["orders"]] == [MARKS["order"]]
    assert "purchase" in _types(document)


def test_referrals_scores_stages_lists_and_the_merged_duplicate(seeded: Seeded) -> None:
    document = _export(seeded)
    assert document["referral_code"]["code"] == seeded.referral_code
    assert [r["code"] for r in document["referrals_made"]] == [seeded.referral_code]
    assert document["referred_by"] is not None
    # the score with its breakdown: the form download and the demo request earned points
    assert document["score"]["engagement"] > 0
    assert document["score_entries"] and all(e["points"] for e in document["score_entries"])
    stages = [c["to_stage"] for c in document["lifecycle"]["history"]]
    assert "customer" in stages
    assert document["webinar_registrations"][0]["webinar"] == MARKS["webinar"]
    assert document["webinar_registrations"][0]["minutes_attended"] == 45
    assert [m["segment"] for m in document["segment_memberships"]] == [MARKS["segment"]]
    assert document["sequence_enrollments"][0]["sequence"] == MARKS["sequence"]
    assert document["pending_changes"][0]["values"] == {"title": MARKS["pending_title"]}
    # the old record merged into this one, and the mail it had received
    merged = document["merged_contacts"][0]
    assert merged["fields"]["email"] == MARKS["duplicate_email"]
    assert MARKS["duplicate_email"] in [m["to_address"] for m in document["messages"]]


def test_nobody_elses_data_and_no_staff_address_is_in_the_export(seeded: Seeded) -> None:
    # given the other people beside them (another lead, the referrer, the referred friend)
    # and the staff whose inboxes got the alerts
    text = b"".join(export.person_export(contact=seeded.contact)).decode()
    # then none of them appears in the document, not even by contact id
    assert OTHER not in text
    for address in ["jiro.other@other.example", "referrer@other.example", "friend@other.example"]:
        assert address not in text
    for address in staff_addresses():
        assert address not in text
    referral_events = [
        e for e in json.loads(text)["events"] if e["type"] in ("referred", "referral")
    ]
    assert referral_events
    assert all(
        "referrer" not in e["properties"] and "referred" not in e["properties"]
        for e in referral_events
    )


def test_the_document_has_the_documented_shape_in_japan_time(seeded: Seeded) -> None:
    raw = b"".join(export.person_export(contact=seeded.contact))
    # it is exactly the schema: every section, in order, no field more or less
    PersonExport.model_validate_json(raw)
    document = json.loads(raw)
    assert list(document) == list(PersonExport.model_fields)
    assert document["format_version"] == 1
    assert document["time_zone"] == "Asia/Tokyo"
    # times are written in Japan time
    assert document["generated_at"].endswith("+09:00")
    assert document["contact"]["created_at"].endswith("+09:00")
    assert all(e["occurred_at"].endswith("+09:00") for e in document["events"])


def test_an_export_is_written_to_the_data_access_log(seeded: Seeded) -> None:
    # when it is asked for (before a byte is read)
    export.person_export(contact=seeded.contact)
    # then the log has it, as the system's
    entry = DataAccessLog.objects.get(resource=export.RESOURCE)
    assert (entry.kind, entry.rows, entry.filters) == (
        "export", 1, {"contact_id": seeded.contact.pk})  # fmt: skip
    assert entry.user is None


def test_a_long_history_is_streamed_in_chunks(seeded: Seeded, monkeypatch: Any) -> None:
    # given a small chunk size, as if the history were long
    monkeypatch.setattr(export, "_CHUNK_BYTES", 1024)
    monkeypatch.setattr(export, "_ROWS", 2)
    # when it is exported
    chunks = list(export.person_export(contact=seeded.contact))
    # then it arrives in many pieces that make one document
    assert len(chunks) > 3
    assert json.loads(b"".join(chunks))["contact"]["email"] == EMAIL


def test_the_file_name_has_the_contact_id_and_the_day_in_japan(seeded: Seeded) -> None:
    with clock.frozen(START):
        name = export.export_filename(contact=seeded.contact)
    assert name == f"sokyaku-contact-{seeded.contact.pk}-20260401.json"
