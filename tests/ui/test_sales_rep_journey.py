"""A sales rep's first week on the demo data, in Japanese, in a real Chromium.

A prospect requests a demo on the public form. Within the same request the lead is hot, handed
to a rep of the インサイドセールス team and alerted: the rep's mail arrives over real SMTP (with a
link to the handoff, tap-to-call and mail links) and the team's chat channel — a local Slack-style
receiver — gets the alert, addressed to staff and never to the lead. The rep opens the inbox on a
phone (390 × 844), sees the SLA, opens the handoff and accepts it with BANT, which makes the lead
an SQL with a deal; on the pipeline board the rep moves the deal to 受注 and the lead becomes a
customer.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
from django.contrib.auth import get_user_model

from sokyaku.contacts.models import Contact
from sokyaku.core import clock
from sokyaku.core import services as core_services
from sokyaku.deals.models import Deal
from sokyaku.demo.generator import demo_load
from sokyaku.handoff import services as handoff_services
from sokyaku.handoff.models import Handoff
from sokyaku.lifecycle.models import ContactStage
from sokyaku.messaging.models import ChatChannel, ChatKind
from tests.handoff.factories import webhook
from tests.ui.conftest import signed_in

# A Tuesday morning in Tokyo: business hours, so the SLA clock runs at once.
TUESDAY = datetime.fromisoformat("2026-12-08T10:00:00+09:00")
PROSPECT = "kenji.morita@morita-seiki.example.co.jp"
PHONE = {"width": 390, "height": 844}
OVERFLOW = "document.scrollingElement.scrollWidth - window.innerWidth"

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def demo(settings) -> Iterator[None]:  # type: ignore[no-untyped-def]
    """The demo data as of Tuesday morning (its team, routing, triggers and pipeline)."""
    settings.CHAT_ALLOW_PRIVATE = True  # the team's chat receiver listens on 127.0.0.1
    with clock.frozen(TUESDAY):
        demo_load(contacts=60, seed=11, months=2)
        yield


def test_hot_lead_alert_inbox_on_a_phone_bant_deal_won(  # type: ignore[no-untyped-def]
    browser, live_server, demo, smtp_server
):
    from playwright.sync_api import expect

    # given the team's Slack channel receives the sales alerts, and each rep set their member id
    slack_ids = {
        "kenta.tanaka": "U0TANAKA1",
        "yumi.suzuki": "U0SUZUKI1",
        "shota.takahashi": "U0TAKA01",
    }
    for username, member_id in slack_ids.items():
        core_services.staff_identity_save(
            user=get_user_model().objects.get(username=username),
            slack_member_id=member_id,
            line_user_id="",
            actor=None,
        )
    with webhook() as slack:
        channel = ChatChannel.objects.create(
            name="#営業アラート", kind=ChatKind.SLACK, url=slack.url, created_at=clock.now()
        )
        handoff_services.handoff_settings_save(
            alert_chat_channel=channel, queue_notify=None, actor=None
        )

        # when a prospect requests a demo on the public form
        visitor = browser.new_context(locale="ja-JP", viewport={"width": 1280, "height": 800})
        visitor.set_default_timeout(20_000)
        form = visitor.new_page()
        form.goto(f"{live_server.url}/f/demo-request")
        expect(form.locator("body")).to_contain_text("オンラインデモのお申し込み")
        form.fill("input[name=family_name]", "森田")
        form.fill("input[name=given_name]", "健二")
        form.fill("input[name=company]", "森田精機株式会社")
        form.fill("input[name=title]", "情報システム部 部長")
        form.fill("input[name=email]", PROSPECT)
        form.fill("input[name=phone]", "03-5016-9744（代表）")
        form.check("input[name=_agree]")
        clock.advance(timedelta(seconds=30))  # a person takes a while to fill a form
        form.locator("form button[type=submit]").click()
        expect(form.locator("body")).to_contain_text("ありがとうございます")
        visitor.close()

        # then the lead is hot and handed to a rep of the team with an SLA
        lead = Contact.objects.get(email=PROSPECT)
        handoff = Handoff.objects.get(contact=lead, status="open")
        rep = handoff.assignee
        assert rep is not None and rep.username in slack_ids
        assert handoff.sla_due_at > clock.now()

        # and the rep's alert mail has the seed's sections, a link to the handoff and tap links
        (mail,) = [m for m in smtp_server.wait_for(1) if rep.email in str(m["To"])]
        text = mail.get_body(("plain",)).get_content()
        for section in ("【顧客情報】", "【行動内容】", "【次のアクション】"):
            assert section in text
        assert "森田 健二" in text and "森田精機株式会社" in text
        assert "（ホット）" in text
        html = mail.get_body(("html",)).get_content()
        assert f"/handoffs/{handoff.pk}/" in html
        assert 'href="tel:+81350169744"' in html
        assert f'href="mailto:{PROSPECT}"' in html

        # and the team's channel got the alert, mentioning the rep (staff, never the lead)
        (post,) = slack.bodies
        alert = json.loads(post)["text"]
        assert alert.startswith(f"<@{slack_ids[rep.username]}> ")
        assert "森田 健二" in alert and "【次のアクション】" in alert

    # when the rep opens the inbox on a phone
    phone = signed_in(browser, live_server, rep, viewport=PHONE, is_mobile=True, has_touch=True)
    page = phone.new_page()
    page.goto(f"{live_server.url}/handoffs/")
    row = page.locator(f'[data-handoff="{handoff.pk}"]')
    # then the new handoff is there with its SLA on screen, and nothing scrolls sideways
    expect(row).to_contain_text("森田 健二")
    expect(row.locator("[data-sla-due]")).to_be_visible()
    assert page.evaluate(OVERFLOW) <= 0

    # when the rep opens it: call and mail are one tap away
    row.get_by_role("link", name="森田 健二").click()
    expect(page.locator("h1")).to_contain_text("森田 健二")
    expect(page.locator('a[href="tel:+81350169744"]').first).to_be_visible()
    expect(page.locator(f'a[href="mailto:{PROSPECT}"]').first).to_be_visible()
    assert page.evaluate(OVERFLOW) <= 0

    # when the rep accepts it with BANT and a deal
    page.locator("[data-action=accept]").click()
    page.fill("input[name='bant-budget_amount_jpy']", "3,000,000")
    page.select_option("select[name='bant-authority']", "decision_maker")
    page.fill("textarea[name='bant-need'], input[name='bant-need']", "営業と保守の情報共有")
    page.select_option("select[name='bant-timeline_band']", "3m")
    page.fill("input[name='deal-name']", "森田精機 MA導入")
    page.fill("input[name='deal-amount']", "3,000,000")
    page.locator("form button[type=submit].btn--primary").click()
    # then the lead is an SQL with an open deal owned by the rep
    expect(page.locator("body")).to_contain_text("森田精機 MA導入")
    deal = Deal.objects.get(contact=lead)
    assert (deal.owner_id, deal.status, deal.amount) == (rep.pk, "open", 3_000_000)
    handoff.refresh_from_db()
    assert handoff.status == "accepted"
    assert ContactStage.objects.get(contact=lead).stage in {"sql", "opportunity"}
    phone.close()

    # when the rep, back at the desk, moves the deal to 受注 on the board
    desk = signed_in(browser, live_server, rep, viewport={"width": 1280, "height": 800})
    board = desk.new_page()
    board.goto(f"{live_server.url}/deals/")
    card = board.locator(f'.deal-card[data-deal="{deal.pk}"]')
    expect(card).to_be_visible()
    won_column = board.locator(".board-col", has=board.locator("h2, h3", has_text="受注"))
    card.drag_to(won_column.locator("[data-cards]").first, source_position={"x": 4, "y": 4})
    # then the deal is won and the lead is a customer
    expect(board.locator(".board-notice--success")).to_be_visible()
    deal.refresh_from_db()
    assert deal.status == "won"
    assert ContactStage.objects.get(contact=lead).stage == "customer"
    assert re.search(r"¥3,000,000", won_column.first.inner_text())
    desk.close()
