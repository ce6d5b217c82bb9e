"""A person who reached sokyaku through every door, and another person beside them.

``person_seed`` builds, through the product's own paths (hosted form, tracking endpoint, the
import command, the JSON API, the sending engine, chat delivery, the handoff trigger, the
services of deals, orders and referrals), everything a real lead accumulates. Every value that
is theirs carries a marker the export test looks for; everything of the other people carries
``OTHER`` so the test can prove none of it leaks.
"""

from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from django.contrib.auth.models import User
from django.test import Client

from sokyaku.capture.models import Webinar
from sokyaku.capture.services import webinars as webinar_services
from sokyaku.cli import main as cli_main
from sokyaku.consent.models import ConsentTopic
from sokyaku.contacts import pending
from sokyaku.contacts.models import Contact
from sokyaku.contacts.services import ContactInput, contact_merge, contact_upsert
from sokyaku.core import clock
from sokyaku.deals.services import deals as deal_services
from sokyaku.deals.services import pipeline_presets_install
from sokyaku.deals.services.orders import order_record
from sokyaku.deals.services.referrals import referral_attribute, referral_code_get_or_create
from sokyaku.handoff import services as handoff_services
from sokyaku.handoff.models import Handoff, RuleKind
from sokyaku.lifecycle.services import bant as bant_services
from sokyaku.messaging.models import ChatChannel, ChatKind, MessageChannel, Stream
from sokyaku.messaging.services import delivery
from sokyaku.messaging.services.outbox import message_enqueue
from sokyaku.scoring.services.rulesets import preset_install_if_missing
from sokyaku.segments import services as segment_services
from sokyaku.sequences.models import Sequence
from sokyaku.sequences.services import enrollment as enrollment_services
from tests.capture.conftest import answers, lead_form
from tests.contacts.import_files import utf8_csv
from tests.handoff.factories import rep_make, team_make, transactional_sender, trigger_make
from tests.messaging.engine_factories import message_make, sender_make, template_make
from tests.sequences.factories import sequence_make, wait

START = datetime(2026, 4, 1, 1, 0, tzinfo=UTC)  # 10:00 in Tokyo
EMAIL = "hanako.export@sample.example"
VISITOR = "4a1b2c3d4e5f60718293a4b5c6d7e8f9"
CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)
# Every other person's values carry this: it must never appear in the export.
OTHER = "他人"

MARKS = {
    "utm": "spring-campaign",
    "page": "https://www.sample.example/pricing",
    "question": "見積もりの前提を教えてください",
    "department": "情報システム部",
    "import_tag": "展示会2026春",
    "import_source": "展示会 東京 2026",
    "api_inquiry": "APIで届いた問い合わせ本文",
    "mail_subject": "資料ダウンロードのお礼",
    "chat_text": "ご登録ありがとうございます（チャット）",
    "activity_note": "来週火曜にデモの日程を調整",
    "deal": "勤怠管理クラウド 導入",
    "order": "ORD-EXPORT-1",
    "duplicate_email": "h.export.old@sample.example",
    "bant_need": "紙の勤怠表をなくしたい",
    "pending_title": "取締役",
    "segment": "展示会フォロー",
    "sequence": "資料請求フォロー",
    "webinar": "MA活用セミナー 2026",
}


@dataclass
class Seeded:
    contact: Contact
    other: Contact
    rep: User
    referral_code: str


def _beacon(client: Client, visitor: str, url: str) -> None:
    response = client.post(
        "/t/collect",
        json.dumps({"visitor_id": visitor, "url": url, "title": "料金"}),
        content_type="text/plain;charset=UTF-8",
    )
    assert response.status_code == 204, response.content


def _form_submit(browser: Client) -> None:
    """The whitepaper form, opened from a campaign link by the tracked browser."""
    page = browser.get(
        f"/f/whitepaper?utm_source=google&utm_medium=cpc&utm_campaign={MARKS['utm']}"
    ).content.decode()
    token = re.search(r'name="_token" value="([^"]+)"', page)
    assert token is not None
    hidden = re.findall(r'<input type="hidden" name="(utm_\w+|_page_url)" value="([^"]*)"', page)
    clock.advance(timedelta(seconds=8))
    data = {
        **answers(
            family_name="輸出",
            given_name="花子",
            family_name_kana="ゆしゅつ",
            given_name_kana="はなこ",
            email=EMAIL,
            company="株式会社エクスポート",
            phone="03-5555-0101 内線12",
            question=MARKS["question"],
            _consent_seminars="1",
        ),
        **{key: html.unescape(value) for key, value in hidden},
        "_token": token.group(1),
    }
    response = browser.post("/f/whitepaper", data)
    assert response.status_code == 200, response.content[:300]


def _import(tmp_path: Path) -> None:
    """The trade show's business cards, through the import command."""
    path = tmp_path / "cards.csv"
    path.write_bytes(
        utf8_csv(
            [
                ["氏名", "会社名", "メールアドレス", "部署"],
                ["輸出 花子", "株式会社エクスポート", EMAIL, MARKS["department"]],
            ]
        )
    )
    argv = ["import", "contacts", str(path), "--source", MARKS["import_source"],
            "--legal-basis", "business_card", "--tag", MARKS["import_tag"]]  # fmt: skip
    assert cli_main(argv) == 0


def _api(api: Client, contact: Contact) -> None:
    response = api.post(
        "/api/v1/events",
        {"type": "inquiry", "contact_id": contact.pk, "properties": {"text": MARKS["api_inquiry"]}},
        content_type="application/json",
    )
    assert response.status_code in (200, 201, 202), response.content


def _mail(contact: Contact) -> None:
    template = template_make(
        subject=f"{{{{ contact.family_name }}}}様 {MARKS['mail_subject']}",
        body_html="<p>{{ contact.family_name }}様</p><p>資料のご請求ありがとうございます。</p>"
        '<p><a href="https://sample.example/case">導入事例</a></p>',
    )
    message = message_make(contact=contact, template=template, sender=sender_make())
    report = delivery.messages_deliver(message_ids=[message.pk])
    assert report.sent == 1


def _chat(contact: Contact, hook_url: str) -> None:
    channel = ChatChannel.objects.create(
        name="LINE風 webhook", kind=ChatKind.GENERIC, url=hook_url, created_at=clock.now()
    )
    message, _created = message_enqueue(
        dedupe_key=f"chat:{channel.pk}:{contact.pk}",
        contact=contact,
        channel=MessageChannel.CHAT,
        stream=Stream.TRANSACTIONAL,
        chat_channel=channel,
        context={"text": MARKS["chat_text"]},
    )
    assert delivery.messages_deliver(message_ids=[message.pk]).sent == 1


def _handoff(contact: Contact, api: Client) -> tuple[User, Handoff]:
    """A demo request over the API hands the lead to a rep, who calls and notes it."""
    transactional_sender()
    rep = rep_make("営業", "一郎", email="rep.export@sales.example")
    handoff_services.routing_rule_save(
        rule=None,
        data={"name": "営業部", "kind": RuleKind.ROUND_ROBIN, "team": team_make(rep)},
        actor=None,
    )
    trigger_make()
    response = api.post(
        "/api/v1/events",
        {"type": "demo_requested", "contact_id": contact.pk, "properties": {"product": "勤怠"}},
        content_type="application/json",
    )
    assert response.status_code in (200, 201, 202), response.content
    handoff = Handoff.objects.get(contact=contact)
    handoff_services.activity_log(
        contact=contact, actor=rep, kind="call", subject="初回架電", body=MARKS["activity_note"]
    )
    return rep, handoff


def _deal(contact: Contact, rep: User, handoff: Handoff) -> None:
    pipeline_presets_install()
    deal_services.deal_create(
        actor=rep,
        name=MARKS["deal"],
        contact=contact,
        owner=rep,
        lines=[{"name": "勤怠管理 年間ライセンス", "quantity": 10, "unit_price": 12_000}],
        handoff=handoff,
    )
    bant_services.bant_record(
        contact=contact,
        budget_amount_jpy=1_200_000,
        authority="decision_maker",
        need=MARKS["bant_need"],
        actor=rep,
    )


def _webinar(contact: Contact) -> None:
    webinar = webinar_services.webinar_create(
        data=webinar_services.WebinarInput(
            title=MARKS["webinar"],
            starts_at=clock.now() + timedelta(days=1),
            ends_at=clock.now() + timedelta(days=1, hours=1),
            capacity=0,
            location_kind="online",
            join_url="https://zoom.example.jp/j/1",
        )
    )
    report = (
        "Name (Original Name),User Email,Join Time,Leave Time,Duration (Minutes),Guest\n"
        f"輸出 花子,{EMAIL},04/02/2026 10:00:00 AM,04/02/2026 10:45:00 AM,45,Yes\n"
    )
    webinar_services.attendance_import(webinar=webinar, data=report.encode())
    assert Webinar.objects.filter(registrations__contact=contact).exists()


def person_seed(*, api: Client, tmp_path: Path, hook_url: str) -> Seeded:
    """The person (and others around them), at START in a frozen clock the caller holds."""
    ConsentTopic.objects.create(key="newsletter", name="メールマガジン")
    ConsentTopic.objects.create(key="seminars", name="セミナー案内")
    preset_install_if_missing()
    lead_form()
    # someone else first, with their own history and mail
    other = contact_upsert(
        data=ContactInput(family_name=OTHER, given_name="次郎", email="jiro.other@other.example")
    ).contact
    message_make(contact=other, sender=sender_make(), template=template_make(subject=f"{OTHER}様"))

    # an anonymous browser reads the pricing page, then fills in the form from a campaign link
    browser = Client(headers={"User-Agent": CHROME})
    browser.cookies["sk_vid"] = VISITOR
    _beacon(browser, VISITOR, MARKS["page"])
    _form_submit(browser)
    contact = Contact.objects.get(email=EMAIL)
    _import(tmp_path)
    _api(api, contact)
    _mail(contact)
    _chat(contact, hook_url)
    rep, handoff = _handoff(contact, api)
    _deal(contact, rep, handoff)
    order_record(
        contact=contact,
        external_id=MARKS["order"],
        ordered_at=clock.now(),
        amount=12_000,
        lines=[{"sku": "KINTAI-1", "name": "勤怠管理", "quantity": 1, "unit_price": 12_000}],
    )
    # they were referred by one customer and refer another person in turn
    referrer = contact_upsert(
        data=ContactInput(family_name=OTHER, given_name="紹介者", email="referrer@other.example")
    ).contact
    referral_attribute(
        code=referral_code_get_or_create(contact=referrer).code, referred=contact, source="api"
    )
    code = referral_code_get_or_create(contact=contact).code
    friend = contact_upsert(
        data=ContactInput(family_name=OTHER, given_name="友人", email="friend@other.example")
    ).contact
    referral_attribute(code=code, referred=friend, source="api")
    _webinar(contact)
    segment = segment_services.segment_create(name=MARKS["segment"], kind="static")
    segment_services.segment_members_add(segment=segment, contact_ids=[contact.pk, other.pk])
    sequence = sequence_make(name=MARKS["sequence"], steps=[wait(1)])
    enrollment_services.sequence_enroll(
        sequence=Sequence.objects.get(pk=sequence.pk), contact=contact
    )
    pending.pending_change_propose(
        contact=contact, data=ContactInput(title=MARKS["pending_title"]), source="form"
    )
    # an old record of the same person, merged into this one, with its own mail
    duplicate = contact_upsert(
        data=ContactInput(family_name="輸出", email=MARKS["duplicate_email"])
    ).contact
    message_make(
        contact=duplicate, sender=sender_make(), template=template_make(subject="旧住所宛")
    )
    contact_merge(winner=Contact.objects.get(pk=contact.pk), loser=duplicate)
    contact = Contact.objects.get(pk=contact.pk)
    return Seeded(contact=contact, other=other, rep=rep, referral_code=code)


def staff_addresses() -> list[str]:
    """Every staff user's email address (none may appear in an export)."""
    return [address for address in User.objects.values_list("email", flat=True) if address]
