"""The sales alert (seed 002): received by a real SMTP server, with every labelled field; sent
on the transactional stream even to a lead who opted out of marketing; posted to the chat
channel; a later hot action on an open handoff is added to it with a follow-up alert."""

from __future__ import annotations

import json
import re

import pytest

from sokyaku.capture.services.assets import AssetInput, asset_create
from sokyaku.consent.models import ConsentStatus
from sokyaku.consent.services import Evidence, consent_record
from sokyaku.core import clock
from sokyaku.handoff import selectors, services
from sokyaku.handoff.models import RuleKind
from sokyaku.messaging.models import ChatChannel, ChatKind, Message, MessageStatus
from sokyaku.scoring.selectors import score_get
from sokyaku.scoring.services.rulesets import preset_install_if_missing
from tests.handoff.factories import (
    act,
    lead_make,
    open_handoff,
    rep_make,
    team_make,
    text_of,
    to,
    tokyo,
    transactional_sender,
    trigger_make,
    webhook,
)

pytestmark = pytest.mark.django_db

SEED_NEXT_ACTION = "デモ希望内容を確認後、24時間以内にメールまたは電話でご連絡ください。"


def _round_robin(*reps):  # type: ignore[no-untyped-def]
    services.routing_rule_save(
        rule=None,
        data={"name": "営業部", "kind": RuleKind.ROUND_ROBIN, "team": team_make(*reps)},
        actor=None,
    )


def test_the_alert_mail_has_every_field_of_the_seed(
    smtp_server,  # type: ignore[no-untyped-def]
    settings,  # type: ignore[no-untyped-def]
    django_capture_on_commit_callbacks,  # type: ignore[no-untyped-def]
) -> None:
    settings.SITE_URL = "https://sokyaku.sample.example"
    # given a rep, the seed's demo trigger, scoring, and a lead with some history
    with clock.frozen(tokyo(2026, 11, 20, 14, 2)):
        transactional_sender()
        preset_install_if_missing()
        rep = rep_make("田中", "健太", email="tanaka@sales.example")
        _round_robin(rep)
        trigger_make(next_action=SEED_NEXT_ACTION)
        guide = asset_create(
            data=AssetInput(title="ITインフラ更新ガイド", url="https://sample.example/wp.pdf")
        )
        lead = lead_make(
            family_name="山田",
            given_name="太郎",
            email="yamada@customer.example",
            company_name="株式会社サンプル製作所",
            department="情報システム部",
            title="情報システム部長",
            phone="03-1234-5678",
            prefecture=13,
            address="千代田区丸の内1-1-1",
        )
        act(lead, "asset_downloaded", asset=guide.pk)
    with clock.frozen(tokyo(2026, 11, 24, 9, 58)):
        act(lead, "page_view", url="https://sample.example/pricing", title="料金プラン")
    # when the lead requests a demo on Tuesday 11/24 at 10:05
    with (
        clock.frozen(tokyo(2026, 11, 24, 10, 5)),
        django_capture_on_commit_callbacks(execute=True),
    ):
        act(lead, "demo_requested", product="ITインフラ更新ソリューション")
    # then the rep's inbox holds the alert
    (mail,) = to(smtp_server.wait_for(1), "tanaka@sales.example")
    handoff = open_handoff(lead)
    assert mail["Subject"] == "【デモ申し込み通知】山田 太郎様がデモをお申し込みされました"
    text = text_of(mail)
    lines = [line.strip() for line in text.splitlines()]
    assert lines[0] == "山田 太郎様がデモ申し込みフォームを送信しました。"
    expected = [
        "【顧客情報】",
        "- 氏名: 山田 太郎",
        "- 会社名: 株式会社サンプル製作所",
        "- 部署: 情報システム部",
        "- 役職: 情報システム部長",
        "- 連絡先: yamada@customer.example / 03-1234-5678",
        "- 所在地: 東京都千代田区丸の内1-1-1",
        "【行動内容】",
        "- 行動: デモ申し込み",
        "- 日時: 2026年11月24日 10時05分",
        "- 関心内容: 「ITインフラ更新ソリューション」に関連するデモ申し込み",
        "【次のアクション】",
        SEED_NEXT_ACTION,
        "- 期限: 2026年11月25日 10時05分",
        "- 担当: 田中 健太",
        "【スコア内訳】",
        "【最近の主な行動】",
        "- 2026年11月24日 10時05分 デモ申し込み「ITインフラ更新ソリューション」",
        "- 2026年11月24日 9時58分 料金ページ閲覧「料金プラン」",
        "- 2026年11月20日 14時02分 資料ダウンロード「ITインフラ更新ガイド」",
        f"https://sokyaku.sample.example/handoffs/{handoff.pk}/"
        if "handoffs" in text
        else f"https://sokyaku.sample.example/contacts/{lead.pk}/",
    ]
    for line in expected:
        assert line in lines, line
    # the sections come in the seed's order
    order = [text.index(title) for title in ("【顧客情報】", "【行動内容】", "【次のアクション】")]
    assert order == sorted(order)
    # and the score section names the score, its temperature and its lines
    score = re.search(r"- スコア: (\d+)点（(コールド|ウォーム|ホット)）", text)
    now_score = score_get(contact_id=lead.pk, at=tokyo(2026, 11, 24, 10, 5))
    assert score is not None and score.group(1) == str(now_score.points)
    # a demo requester reaches the rep as hot: demo 60, pricing page 10, the download's 10
    # decayed a little, fit 10
    assert (int(score.group(1)), score.group(2)) == (89, "ホット")
    assert "- デモ申し込み: +60点" in text
    assert "- 料金ページ閲覧: +10点" in text
    assert "- 資料ダウンロード: +10点" in text
    assert "- 役職：部長以上: +10点（属性）" in text
    # and the handoff page shows the same alert
    assert selectors.alert_compose(handoff=handoff).subject == mail["Subject"]


def test_the_alert_goes_out_on_the_transactional_stream_despite_a_marketing_opt_out(
    smtp_server,  # type: ignore[no-untyped-def]
    django_capture_on_commit_callbacks,  # type: ignore[no-untyped-def]
) -> None:
    # given a lead who opted out of all marketing mail
    transactional_sender()
    _round_robin(rep_make(email="rep@sales.example"))
    trigger_make()
    lead = lead_make(email="optout@customer.example")
    consent_record(
        contact_id=lead.pk,
        topic=None,
        status=ConsentStatus.WITHDRAWN,
        evidence=Evidence(source="unsubscribe", source_detail="test"),
    )
    # when the lead requests a demo
    with django_capture_on_commit_callbacks(execute=True):
        act(lead, "demo_requested")
    # then the rep still gets the alert
    assert len(to(smtp_server.wait_for(1), "rep@sales.example")) == 1
    message = Message.objects.get(to_address="rep@sales.example")
    assert message.status == MessageStatus.SENT
    assert message.stream == "transactional"


def test_the_alert_is_posted_to_the_chat_channel(
    settings,  # type: ignore[no-untyped-def]
    django_capture_on_commit_callbacks,  # type: ignore[no-untyped-def]
) -> None:
    settings.CHAT_ALLOW_PRIVATE = True
    transactional_sender()
    _round_robin(rep_make("田中", "健太"))
    trigger_make()
    lead = lead_make(family_name="{{ contact.email }}", given_name="{% debug %}")
    with webhook() as hook:
        channel = ChatChannel.objects.create(
            name="営業アラート", kind=ChatKind.GENERIC, url=hook.url, created_at=clock.now()
        )
        services.handoff_settings_save(alert_chat_channel=channel, queue_notify=None, actor=None)
        # when
        with django_capture_on_commit_callbacks(execute=True):
            act(lead, "demo_requested", product="ITインフラ更新ソリューション")
        # then
        (body,) = hook.bodies
    text = json.loads(body)["text"]
    assert text.startswith(
        "{{ contact.email }} {% debug %}様がデモ申し込みフォームを送信しました。"
    )
    for title in ("【顧客情報】", "【行動内容】", "【次のアクション】", "- 担当: 田中 健太"):
        assert title in text


def test_an_unassigned_handoff_alerts_the_queue_recipient(
    smtp_server,  # type: ignore[no-untyped-def]
    django_capture_on_commit_callbacks,  # type: ignore[no-untyped-def]
) -> None:
    transactional_sender()
    watcher = rep_make("見張", "番", role="marketer", email="queue@sales.example")
    services.handoff_settings_save(alert_chat_channel=None, queue_notify=watcher, actor=None)
    trigger_make()
    lead = lead_make()
    with django_capture_on_commit_callbacks(execute=True):
        act(lead, "demo_requested")
    (mail,) = to(smtp_server.wait_for(1), "queue@sales.example")
    assert "- 担当: 未割り当て（キュー）" in text_of(mail)


def test_a_second_hot_action_joins_the_open_handoff_with_a_follow_up_alert(
    smtp_server,  # type: ignore[no-untyped-def]
    django_capture_on_commit_callbacks,  # type: ignore[no-untyped-def]
) -> None:
    # given an open handoff after a demo request
    transactional_sender()
    _round_robin(rep_make(email="rep@sales.example"))
    services.trigger_presets_install()
    lead = lead_make()
    with clock.frozen(tokyo(2026, 11, 24, 10, 5)):
        with django_capture_on_commit_callbacks(execute=True):
            act(lead, "demo_requested", product="ITインフラ更新ソリューション")
        # when the lead looks at the pricing page three times in the next minutes
        for minute in (10, 12, 14):
            clock.advance(clock.now().replace(minute=minute) - clock.now())
            with django_capture_on_commit_callbacks(execute=True):
                act(lead, "page_view", url="https://sample.example/pricing", title="料金プラン")
    # then there is one handoff with three moments, and one follow-up alert
    mails = to(smtp_server.wait_for(2), "rep@sales.example")
    handoff = open_handoff(lead)
    assert [m.action_label for m in handoff.moments.all()] == ["料金ページ閲覧"] * 3
    assert [m["Subject"] for m in mails] == [
        "【デモ申し込み通知】山田 太郎様がデモをお申し込みされました",
        "【料金ページ閲覧通知】対応中の山田 太郎様に新しい行動",
    ]
    assert "- 行動: 料金ページ閲覧" in text_of(mails[1])


def test_the_alert_mail_has_an_html_part_with_call_mail_and_handoff_links(
    smtp_server,  # type: ignore[no-untyped-def]
    settings,  # type: ignore[no-untyped-def]
    django_capture_on_commit_callbacks,  # type: ignore[no-untyped-def]
) -> None:
    # given the site's address, a rep, and a lead with a phone number written as on a card
    settings.SITE_URL = "https://sokyaku.sample.example"
    transactional_sender()
    _round_robin(rep_make(email="tanaka@sales.example"))
    trigger_make()
    lead = lead_make(
        family_name="<b>山田</b>",
        email="yamada@customer.example",
        phone="03-1234-5678",
    )
    # when the lead requests a demo
    with django_capture_on_commit_callbacks(execute=True):
        act(lead, "demo_requested")
    # then the rep's mail has a text part and an HTML part with the three links
    (mail,) = to(smtp_server.wait_for(1), "tanaka@sales.example")
    handoff = open_handoff(lead)
    html_part = mail.get_body(preferencelist=("html",))
    assert html_part is not None and html_part.get_content_type() == "text/html"
    html = html_part.get_content()
    assert f'href="https://sokyaku.sample.example/handoffs/{handoff.pk}/"' in html
    assert 'href="tel:+81312345678"' in html
    assert "03-1234-5678" in html
    assert 'href="mailto:yamada@customer.example"' in html
    assert "&lt;b&gt;山田&lt;/b&gt;" in html and "<b>山田</b>" not in html
    assert "【顧客情報】" in html and "【次のアクション】" in html
    assert f"https://sokyaku.sample.example/handoffs/{handoff.pk}/" in text_of(mail)
