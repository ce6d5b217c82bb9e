"""In a real Chromium, in Japanese, on a desktop and on a phone: an admin creates a webhook for
handoffs (the secret is shown once), a delivery to the local receiver fails once and then goes
through, and the admin reads the delivery log and the delivery's attempts, then replays it.

Set ``SOKYAKU_SCREENSHOTS=<dir>`` to keep screenshots of the pages at 1280 and 390 px."""

from __future__ import annotations

import os
import re
from datetime import timedelta
from pathlib import Path

import pytest

from sokyaku.core import clock
from sokyaku.webhooks.models import Subscription
from sokyaku.webhooks.services.sending import webhooks_tick
from tests.sequences.factories import contact_make
from tests.ui.conftest import signed_in
from tests.webhooks.conftest import band_changed, receiver  # noqa: F401 - the fixture

WIDTHS = {"desktop": (1280, 900), "phone": (390, 844)}

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _shot(page, name: str) -> None:  # type: ignore[no-untyped-def]
    folder = os.environ.get("SOKYAKU_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)


def _fits(page) -> bool:  # type: ignore[no-untyped-def]
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"))


@pytest.mark.parametrize("size", list(WIDTHS))
def test_an_admin_sets_up_a_webhook_and_reads_its_delivery_log(
    browser,
    live_server,
    admin_user,
    receiver,  # noqa: F811
    size: str,
) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    width, height = WIDTHS[size]
    context = signed_in(
        browser, live_server, admin_user, viewport={"width": width, "height": height}
    )
    page = context.new_page()
    # the admin opens the settings page and creates a webhook for handoffs
    page.goto(f"{live_server.url}/webhooks/")
    expect(page.locator(".pagehead h1")).to_have_text("Webhook")
    expect(page.locator(".empty h1")).to_have_text("Webhookはまだありません")
    assert _fits(page)
    _shot(page, f"webhooks-empty-{size}")
    page.get_by_role("link", name="Webhookを追加").click()
    page.fill("input[name=url]", receiver.url + "/crm")
    page.fill("input[name=description]", "営業支援CRM")
    page.get_by_label("営業へ送客", exact=False).check()
    page.get_by_label("スコアの温度が変化", exact=False).check()
    assert _fits(page)
    _shot(page, f"webhook-new-{size}")
    page.get_by_role("button", name="Webhookを作成").click()
    # the secret is shown once
    subscription = Subscription.objects.get()
    expect(page.locator("[data-secret]")).to_have_text(subscription.secret)
    assert subscription.event_types == ["score.band_changed", "handoff.created"]
    assert _fits(page)
    _shot(page, f"webhook-secret-{size}")

    # a delivery is refused once, then accepted on its retry
    receiver.statuses = [503]
    contact = contact_make(family_name="山田")
    band_changed(contact.pk, "hot", score=80)
    with clock.frozen(clock.now() + timedelta(minutes=2)):
        webhooks_tick()
    page.get_by_role("link", name="コピーしました").click()
    expect(page).to_have_url(re.compile(rf"/webhooks/{subscription.pk}/$"))
    log = page.locator(".webhook-log")
    expect(log).to_contain_text("score.band_changed")
    expect(log).to_contain_text("配信済み")
    assert subscription.secret not in page.content()
    assert _fits(page)
    _shot(page, f"webhook-detail-{size}")
    # the delivery shows both attempts
    log.get_by_role("link").first.click()
    attempts = page.locator(".webhook-attempt")
    expect(attempts).to_have_count(2)
    expect(attempts.nth(0)).to_contain_text("HTTP 503")
    expect(attempts.nth(1)).to_contain_text("HTTP 200")
    assert _fits(page)
    _shot(page, f"webhook-delivery-{size}")
    # and the admin replays it
    page.get_by_role("button", name="再送").click()
    expect(page.locator(".flash")).to_contain_text("再送しています")
    expect(page.locator(".webhook-attempt")).to_have_count(3)
    assert len(receiver.requests) == 3
    context.close()
