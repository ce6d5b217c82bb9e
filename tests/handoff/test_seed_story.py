"""Seed 002's story up to the hand-off, end to end with a real SMTP server.

Given the B2B step mail of the seed (presets), a team with a manager and a territory rule for
Tokyo, and the default triggers: a lead downloads the whitepaper on Thursday 2026-11-19 and gets
mails 1–3 (the last on Friday 12/04). When the lead then requests the demo (``demo_requested``
through ``POST /api/v1/events``, as the demo form's site would), the Tokyo rep's inbox holds the
alert with every field the seed lists, within the test. Nobody calls: the reminder reaches the
rep two hours before the deadline (Monday 12/07 10:05, the weekend not counted) and the
escalation reaches the manager at it. The rep finally rejects the lead for bad timing: it is
recycled into nurture with the reason in its stage history.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client

from sokyaku.activity import services as activity_services
from sokyaku.activity.events import event_build
from sokyaku.activity.models import EventSource
from sokyaku.capture.services.assets import AssetInput, asset_create
from sokyaku.core import clock
from sokyaku.handoff import services
from sokyaku.handoff.models import RuleKind, SlaState
from sokyaku.lifecycle.models import StageChange
from sokyaku.sequences.models import Enrollment
from sokyaku.sequences.presets import b2b_sequence, sequences_presets_install_if_missing
from sokyaku.sequences.services.editing import sequence_activate
from sokyaku.sequences.services.tick import sequences_tick
from tests.handoff.factories import (
    open_handoff,
    rep_make,
    team_make,
    text_of,
    to,
    tokyo,
    transactional_sender,
)
from tests.sequences.factories import contact_make, sender_make, sequence_make

pytestmark = pytest.mark.django_db

LEAD = "yamada@customer.example"
REP = "tanaka@sales.example"
MANAGER = "boss@sales.example"


def test_seed_story_demo_request_after_mail_3_reaches_the_rep_with_the_sla(
    smtp_server,  # type: ignore[no-untyped-def]
    settings,  # type: ignore[no-untyped-def]
    api: Client,
    django_capture_on_commit_callbacks,  # type: ignore[no-untyped-def]
) -> None:
    settings.SITE_URL = "https://sokyaku.sample.example"
    with clock.frozen(tokyo(2026, 11, 19, 10, 0)):  # Thursday
        # given the seed's step mail, a Tokyo team and the default triggers
        sender_make()
        transactional_sender()
        guide = asset_create(
            data=AssetInput(
                title="ITインフラ更新ガイド", kind="whitepaper", url="https://sample.example/wp.pdf"
            )
        )
        sequences_presets_install_if_missing()
        sequence = b2b_sequence()
        assert sequence is not None
        sequence_activate(sequence=sequence)
        rep = rep_make("田中", "健太", email=REP)
        manager = rep_make("佐々木", "部長", email=MANAGER)
        team = team_make(rep, manager=manager, name="東日本営業部")
        services.routing_rule_save(
            rule=None,
            data={
                "name": "関東テリトリー",
                "kind": RuleKind.TERRITORY,
                "prefectures": [13, 14],
                "team": team,
            },
            actor=None,
        )
        services.trigger_presets_install()
        lead = contact_make(
            email=LEAD,
            family_name="山田",
            given_name="太郎",
            company_name="株式会社サンプル製作所",
            title="ITマネージャー",
            phone="03-1234-5678",
            prefecture=13,
            address="千代田区丸の内1-1-1",
        )
        # and the lead downloads the whitepaper: mails 1–3 follow over two weeks
        with django_capture_on_commit_callbacks(execute=True):
            activity_services.event_ingest(
                event=event_build(
                    type="asset_downloaded",
                    occurred_at=clock.now(),
                    source=EventSource.FORM,
                    properties={"asset": guide.pk, "asset_kind": "whitepaper"},
                    contact_id=lead.pk,
                )
            )
        while clock.now() < tokyo(2026, 12, 4, 10, 0):
            clock.advance(timedelta(hours=1))
            with django_capture_on_commit_callbacks(execute=True):
                sequences_tick()
    mails = to(smtp_server.wait_for(3), LEAD)
    assert len(mails) == 3
    assert "デモ" in mails[2]["Subject"]

    # when the lead requests the demo (the demo form's site posts the event)
    with (
        clock.frozen(tokyo(2026, 12, 4, 10, 5)),
        django_capture_on_commit_callbacks(execute=True),
    ):
        response = api.post(
            "/api/v1/events",
            {
                "type": "demo_requested",
                "contact_id": lead.pk,
                "properties": {"product": "ITインフラ更新ソリューション"},
            },
            content_type="application/json",
        )
    assert response.status_code == 200

    # then, within the test, the Tokyo rep holds the alert with every field of the seed
    (alert,) = to(smtp_server.wait_for(4), REP)
    assert alert["Subject"] == "【デモ申し込み通知】山田 太郎様がデモをお申し込みされました"
    handoff = open_handoff(lead)
    lines = [line.strip() for line in text_of(alert).splitlines()]
    for line in (
        "山田 太郎様がデモ申し込みフォームを送信しました。",
        "【顧客情報】",
        "- 氏名: 山田 太郎",
        "- 会社名: 株式会社サンプル製作所",
        "- 役職: ITマネージャー",
        f"- 連絡先: {LEAD} / 03-1234-5678",
        "- 所在地: 東京都千代田区丸の内1-1-1",
        "【行動内容】",
        "- 行動: デモ申し込み",
        "- 日時: 2026年12月4日 10時05分",
        "- 関心内容: 「ITインフラ更新ソリューション」に関連するデモ申し込み",
        "【次のアクション】",
        "デモ希望内容を確認後、24時間以内にメールまたは電話でご連絡ください。",
        "- 期限: 2026年12月7日 10時05分",
        "- 担当: 田中 健太",
        "【スコア内訳】",
        "【最近の主な行動】",
        "- 2026年11月19日 10時00分 資料ダウンロード「ITインフラ更新ガイド」",
        f"https://sokyaku.sample.example/handoffs/{handoff.pk}/",
    ):
        assert line in lines, line
    assert handoff.routing_note.startswith(("テリトリー: 東京都 → ", "Territory: 東京都 → "))
    assert handoff.routing_note.endswith(" → 田中 健太")
    # and the demo request reached the sequence's goal
    assert Enrollment.objects.get(contact=lead, sequence=sequence).status == "completed"

    # when nobody calls until Monday noon (the SLA tick every 15 minutes)
    with clock.frozen(tokyo(2026, 12, 4, 10, 5)):
        while clock.now() < tokyo(2026, 12, 7, 12, 0):
            clock.advance(timedelta(minutes=15))
            with django_capture_on_commit_callbacks(execute=True):
                services.sla_tick()
    received = smtp_server.wait_for(6)
    # then the rep got one reminder before the deadline and the manager one escalation at it
    assert [m["Subject"] for m in to(received, REP)] == [
        "【デモ申し込み通知】山田 太郎様がデモをお申し込みされました",
        "【対応期限のリマインド】山田 太郎様（デモ申し込み）",
    ]
    (escalation,) = to(received, MANAGER)
    assert escalation["Subject"] == "【SLA超過】山田 太郎様（デモ申し込み）への対応期限を過ぎました"
    assert "担当: 田中 健太" in text_of(escalation)
    handoff.refresh_from_db()
    assert handoff.reminded_at == tokyo(2026, 12, 7, 8, 5)
    assert handoff.escalated_at == tokyo(2026, 12, 7, 10, 5)
    assert handoff.sla_state == SlaState.BREACHED

    # when the rep finally rejects the lead for bad timing, into a nurture sequence
    nurture = sequence_make(name="再育成（半年後にご提案）")
    with clock.frozen(tokyo(2026, 12, 7, 13, 0)):
        services.handoff_reject(
            handoff=handoff,
            actor=rep,
            reason="bad_timing",
            note="来年度の予算で再検討とのこと",
            sequence=nurture,
        )
    # then the lead is recycled with the reason marketing reads back
    change = StageChange.objects.filter(contact=lead).latest("id")
    assert change.to_stage == "recycled"
    assert change.reason == "時期が合わない: 来年度の予算で再検討とのこと"
    assert Enrollment.objects.filter(contact=lead, sequence=nurture, status="active").exists()
