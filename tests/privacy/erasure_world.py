"""One person who reached sokyaku through every path, for the erasure tests.

鳥羽根 葵衣 (トバネ アオイ) of 有限会社ツバメ測量 reads the site anonymously (UTM, and a link
that carries their address), fills in the whitepaper form, is imported from a trade-show file
(with a bad row of theirs in the error report), updated and sent an event through the API, gets
a marketing mail (stored as ``.eml`` by the local sink) that they open and click, registers for
and attends a webinar, requests a demo (a handoff with a mail and a chat alert to the rep),
is called and noted about, qualified with BANT into a deal that is won, orders through the API,
refers a friend, sends a second submission that proposes changes, turns up a second time under
a private address (merged into them), is put on a static list and looked up in the contact list.
Colleagues and other people are there too, so counts have something else to count.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from sokyaku.activity.models import Event
from sokyaku.campaigns.models import Campaign, Channel
from sokyaku.capture.services.webinars import WebinarInput, attendance_import, webinar_create
from sokyaku.consent.models import ConsentTopic
from sokyaku.contacts import services as contact_services
from sokyaku.contacts.imports import run as imports
from sokyaku.contacts.models import Contact
from sokyaku.core import clock, roles
from sokyaku.core import services as core_services
from sokyaku.core.models import ApiScope
from sokyaku.deals.models import DealStage
from sokyaku.deals.services import deal_win, pipeline_presets_install
from sokyaku.deals.services.qualify import handoff_qualify
from sokyaku.deals.services.referrals import referral_code_get_or_create
from sokyaku.handoff import services as handoff_services
from sokyaku.handoff.models import HandoffSettings
from sokyaku.handoff.services.activities import activity_log
from sokyaku.messaging import tokens
from sokyaku.messaging.models import ChatChannel, ChatKind
from sokyaku.messaging.services import delivery
from sokyaku.messaging.services.outbox import message_enqueue
from sokyaku.segments import services as segment_services
from tests.capture.conftest import answers, lead_form, rendered_token
from tests.handoff.factories import (
    Webhook,
    act,
    open_handoff,
    rep_make,
    team_make,
    tokyo,
    transactional_sender,
    trigger_make,
)
from tests.messaging.engine_factories import sender_make, template_make

EMAIL = "aoi.tobane@tsubame-sokuryo.example"
PRIVATE_EMAIL = "aoi.tobane.home@gmail.com"
MOBILE = "090-4321-8765"
OTHER_MOBILE = "080-9876-5432"  # only ever proposed by an anonymous submission
# What must not be found anywhere once the person is erased, in every form it was stored.
NEEDLES = (
    EMAIL,
    PRIVATE_EMAIL,
    "鳥羽根",
    "葵衣",
    "トバネ",
    "アオイ",
    "とばね",
    "あおい",
    "tobane",
    MOBILE,
    "09043218765",
    "+819043218765",
    OTHER_MOBILE,
    "08098765432",
    "+818098765432",
    "有限会社ツバメ測量",
    "ツバメ測量",
    "量子物流推進室",
    "白金台九丁目",
    "配送ルートの最適化",
)
CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)
VISITOR = "7e1d2c3b4a5f60718293a4b5c6d7e8f9"
LANDING = (
    "https://www.sample.example/lp/whitepaper?utm_source=google&utm_medium=cpc"
    f"&utm_campaign=autumn2026&email={EMAIL.replace('@', '%40')}"
)
START = tokyo(2026, 11, 24, 10, 0)  # a Tuesday


@dataclass
class World:
    person: Contact
    admin: User
    rep: User
    marketer: User
    api: Client
    webhook: Webhook
    others: list[Contact] = field(default_factory=list)


def _beacon(browser: Client, **view: str) -> None:
    response = browser.post(
        reverse("tracking:collect"),
        json.dumps({"visitor_id": VISITOR, **view}),
        content_type="text/plain;charset=UTF-8",
    )
    assert response.status_code == 204


def _form_post(browser: Client, data: dict[str, str]) -> None:
    token = rendered_token(browser, "whitepaper")
    clock.advance(timedelta(seconds=20))
    response = browser.post("/f/whitepaper", {**data, "_token": token})
    assert response.status_code == 200, response.content[:500]


def _import_csv() -> bytes:
    rows = [
        "姓,名,メールアドレス,携帯電話,会社名,部署,住所,メモ",
        f"鳥羽根,葵衣,{EMAIL},{MOBILE},有限会社ツバメ測量,量子物流推進室,"
        "東京都港区白金台九丁目9-9,展示会で鳥羽根様と名刺交換",
        "大森,健,ken.omori@other.example,03-5555-0101,株式会社オオモリ,営業部,東京都大田区1-1,",
        f"鳥羽根,葵衣,aoi.tobane@@broken,{MOBILE},有限会社ツバメ測量,量子物流推進室,,",
    ]
    return ("\r\n".join(rows) + "\r\n").encode("cp932")


IMPORT_MAPPING = {
    "姓": "family_name",
    "名": "given_name",
    "メールアドレス": "email",
    "携帯電話": "mobile",
    "会社名": "company_name",
    "部署": "department",
    "住所": "address",
    "メモ": "note",
}


def world_build(*, capture: Callable[..., Any], settings: Any, webhook: Webhook) -> World:
    """Seed the person through every path (module docstring). ``capture`` is pytest-django's
    ``django_capture_on_commit_callbacks``; the clock must not be frozen by the caller."""
    settings.CHAT_ALLOW_PRIVATE = True
    with clock.frozen(START):
        ConsentTopic.objects.create(key="newsletter", name="メールマガジン")
        ConsentTopic.objects.create(key="seminars", name="セミナー案内")
        admin = core_services.user_create(
            username="admin", password="x", role=roles.ADMIN, check_password=False
        )
        marketer = core_services.user_create(
            username="marketer", password="x", role=roles.MARKETER, check_password=False
        )
        token = core_services.apikey_create(
            name="crm", scopes=list(ApiScope.values), system=True
        ).token
        api = Client(headers={"Authorization": f"Bearer {token}"})
        marketing = sender_make()
        transactional_sender()
        template = template_make()
        trigger_make()
        pipeline = pipeline_presets_install()
        rep = rep_make("鈴木", "由美", email="yumi@sales.example")
        team = team_make(rep, name="インサイドセールス")
        handoff_services.routing_rule_save(
            rule=None, data={"name": "順番に", "kind": "round_robin", "team": team}, actor=None
        )
        slack = ChatChannel.objects.create(
            name="営業アラート", kind=ChatKind.SLACK, url=webhook.url, created_at=clock.now()
        )
        HandoffSettings.objects.create(alert_chat_channel=slack)
        Campaign.objects.create(
            name="秋のキャンペーン",
            channel=Channel.objects.get(key="paid-search"),
            utm_campaign="autumn2026",
        )
        lead_form()
        others = [
            contact_services.contact_upsert(
                data=contact_services.ContactInput(
                    family_name="佐藤", given_name="一郎", email="ichiro@other.example"
                )
            ).contact
        ]

        # Anonymous visits: a Google ad (with the address in the link), then the pricing page.
        browser = Client(headers={"User-Agent": CHROME})
        browser.cookies["sk_vid"] = VISITOR
        _beacon(
            browser, url=LANDING, title="資料ダウンロード", referrer="https://www.google.co.jp/"
        )
        clock.advance(timedelta(minutes=2))
        _beacon(browser, url="https://www.sample.example/pricing", title="料金", referrer="")

        # The whitepaper form, from the ad: the visitor becomes the contact.
        with capture(execute=True):
            _form_post(
                browser,
                {
                    **answers(
                        family_name="鳥羽根",
                        given_name="葵衣",
                        family_name_kana="とばね",
                        given_name_kana="あおい",
                        email=EMAIL,
                        company="有限会社ツバメ測量",
                        title="室長",
                        phone=MOBILE,
                        question="鳥羽根です。配送ルートの最適化について相談したい",
                    ),
                    "utm_source": "google",
                    "utm_medium": "cpc",
                    "utm_campaign": "autumn2026",
                    "_page_url": LANDING,
                    "_referrer": "https://www.google.co.jp/",
                },
            )
        person = Contact.objects.get(email=EMAIL)

        # The trade-show file: their row (department, address, a note), a colleague's, and a
        # row of theirs that cannot be imported.
        clock.advance(timedelta(hours=1))
        with capture(execute=True):
            job = imports.import_file(
                data=_import_csv(),
                filename="展示会2026.csv",
                mapping=IMPORT_MAPPING,
                options=imports.ImportOptions(source="物流展 2026", legal_basis="business_card"),
                user=marketer,
            )
        assert (job.updated_count, job.created_count, job.error_count) == (1, 1, 1)
        others.append(Contact.objects.get(email="ken.omori@other.example"))

        # The API: an update and an event with a free-text message.
        clock.advance(timedelta(minutes=30))
        with capture(execute=True):
            response = api.post(
                "/api/v1/contacts",
                {"email": EMAIL, "title": "室長", "postal_code": "108-0071"},
                content_type="application/json",
            )
            assert response.status_code in (200, 201), response.content
            response = api.post(
                "/api/v1/events",
                {
                    "type": "inquiry",
                    "email": EMAIL,
                    "idempotency_key": f"inquiry-{EMAIL}",
                    "properties": {"message": f"鳥羽根です。{MOBILE} に折り返しください"},
                },
                content_type="application/json",
            )
            assert response.status_code in (200, 201, 202), response.content

        # A marketing mail with their name, written by the local sink, opened and clicked.
        clock.advance(timedelta(minutes=30))
        message, _created = message_enqueue(
            dedupe_key="test:autumn-mail",
            contact=person,
            sender=marketing,
            template=template,
            topic_key="newsletter",
        )
        with capture(execute=True):
            delivery.messages_deliver(message_ids=[message.pk])
        reader = Client(headers={"User-Agent": CHROME})
        clock.advance(timedelta(minutes=10))
        with capture(execute=True):
            assert reader.get(_path(tokens.open_url(message.pk))).status_code == 200
            assert reader.get(_path(tokens.click_url(message.pk, 0))).status_code == 302

        # A webinar they attended (an attendance report names them).
        webinar = webinar_create(
            data=WebinarInput(
                title="物流DXセミナー",
                starts_at=clock.now() - timedelta(hours=2),
                ends_at=clock.now() - timedelta(hours=1),
            )
        )
        report = (
            "Name (Original Name),User Email,Join Time,Leave Time,Duration (Minutes),Guest\n"
            f"鳥羽根 葵衣,{EMAIL},11/24/2026 01:00:00 PM,11/24/2026 01:50:00 PM,50,Yes\n"
        )
        with capture(execute=True):
            attendance_import(webinar=webinar, data=report.encode("utf-8"))

        # A demo request: a handoff, alerted by mail and on the team's chat.
        clock.advance(timedelta(minutes=10))
        with capture(execute=True):
            act(person, product="配送最適化クラウド")
        handoff = open_handoff(person)
        assert webhook.bodies, "the chat alert was not delivered"

        # The rep calls and notes; an admin notes too.
        clock.advance(timedelta(hours=1))
        with capture(execute=True):
            activity_log(
                contact=person,
                actor=rep,
                kind="call",
                subject="鳥羽根様 初回架電",
                body=f"鳥羽根様と通話。携帯 {MOBILE}。配送ルートの最適化に関心",
            )
            contact_services.contact_note_add(
                contact=person, text="鳥羽根様は量子物流推進室の室長", author=admin
            )

        # Qualified with BANT into a deal, which is won; then an order and a referral.
        first_stage = DealStage.objects.get(pipeline=pipeline, name="商談開始")
        with capture(execute=True):
            deal = handoff_qualify(
                handoff=handoff,
                actor=rep,
                bant={
                    "budget_amount_jpy": 3_000_000,
                    "authority": "decision_maker",
                    "need": "鳥羽根様の部署で配送ルートの最適化",
                    "timeline_date": "2027-03-31",
                },
                deal={"amount": 2_400_000, "stage": first_stage},
            )
        clock.advance(timedelta(days=2))
        with capture(execute=True):
            deal_win(deal=deal, actor=rep, note="鳥羽根様の決裁で受注")
            response = api.post(
                "/api/v1/orders",
                {
                    "contact_id": person.pk,
                    "external_id": "ORD-TOBANE-0001",
                    "ordered_at": clock.now().isoformat(),
                    "amount": 55_000,
                    "lines": [{"sku": "OPT-1", "name": "最適化オプション", "unit_price": 55_000}],
                },
                content_type="application/json",
            )
            assert response.status_code == 201, response.content
        code = referral_code_get_or_create(contact=person).code
        friend = Client(headers={"User-Agent": CHROME})
        assert friend.get(f"/r/{code}").status_code == 302
        with capture(execute=True):
            _form_post(friend, answers(email="friend@another.example", family_name="友田"))
        others.append(Contact.objects.get(email="friend@another.example"))

        # A second submission with the same address proposes other values (a pending change).
        clock.advance(timedelta(days=1))
        with capture(execute=True):
            _form_post(
                Client(),
                answers(
                    family_name="鳥羽根",
                    given_name="葵衣",
                    email=EMAIL,
                    title="代表取締役",
                    phone=OTHER_MOBILE,
                    company="",
                    question="",
                ),
            )

        # They turn up again under a private address, and are merged.
        duplicate = contact_services.contact_upsert(
            data=contact_services.ContactInput(
                family_name="鳥羽根",
                given_name="葵衣",
                email=PRIVATE_EMAIL,
                phone=MOBILE,
                address="東京都港区白金台九丁目9-9",
            )
        ).contact
        person.refresh_from_db()
        contact_services.contact_merge(winner=person, loser=duplicate, actor=admin)

        # A static list; a marketer looks them up by address.
        vip = segment_services.segment_create(name="展示会フォロー", kind="static", actor=marketer)
        segment_services.segment_members_add(segment=vip, contact_ids=[person.pk, others[1].pk])
        looker = Client()
        looker.force_login(marketer)
        assert looker.get(reverse("contacts:list"), {"q": EMAIL}).status_code == 200

    person.refresh_from_db()
    assert Event.objects.filter(contact=person).count() > 10
    return World(
        person=person,
        admin=admin,
        rep=rep,
        marketer=marketer,
        api=api,
        webhook=webhook,
        others=others,
    )


def _path(url: str) -> str:
    return "/" + url.split("://", 1)[1].split("/", 1)[1]
