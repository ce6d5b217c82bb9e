"""A real Chromium drives the contacts UI: log in, live search by romaji and kana, open a
contact, add a note and see it on the timeline."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from sokyaku.activity import events
from sokyaku.activity import services as activity_services
from sokyaku.contacts import services
from sokyaku.contacts.models import Contact
from sokyaku.core import clock

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _orm_beside_playwright(monkeypatch: pytest.MonkeyPatch) -> None:
    # Playwright's sync API runs an event loop in this thread; the ORM calls made here (test
    # data, assertions) are still plain synchronous code.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture
def contacts(marketer) -> list[Contact]:  # type: ignore[no-untyped-def]
    people = [
        dict(
            family_name="山田",
            given_name="太郎",
            family_name_kana="ヤマダ",
            given_name_kana="タロウ",
            email="taro@sample.example",
            company_name="株式会社サンプル",
        ),
        dict(
            family_name="鈴木",
            given_name="花子",
            family_name_kana="スズキ",
            given_name_kana="ハナコ",
            email="hanako@other.example",
            company_name="鈴木商事",
        ),
    ]
    return [services.contact_upsert(data=services.ContactInput(**p)).contact for p in people]


@pytest.fixture
def page(live_server) -> Iterator[object]:  # type: ignore[no-untyped-def]
    if not CHROMIUM.exists():
        pytest.skip("Chromium not installed (make test installs it as root)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        context = browser.new_context(locale="ja-JP")
        context.set_default_timeout(10_000)
        yield context.new_page()
        context.close()
        browser.close()


def test_log_in_search_open_a_contact_and_add_a_note(page, live_server, contacts):  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    results = page.locator("#contact-results")

    # given a signed-in marketer on the contact list
    page.goto(f"{live_server.url}/contacts/")
    expect(page).to_have_url(re.compile(r"/login/"))
    page.fill("input[name=username]", "marketer")
    page.fill("input[name=password]", "x")
    page.click("button[type=submit].btn--primary")
    expect(page).to_have_url(re.compile(r"/contacts/$"))
    expect(results).to_contain_text("山田 太郎")
    expect(results).to_contain_text("鈴木 花子")
    page.evaluate("window.__samePage = true")

    # when searching by romaji, the results update as one types (no page load)
    page.locator("input[name=q]").press_sequentially("yamada", delay=30)
    # then
    expect(results).not_to_contain_text("鈴木 花子")
    expect(results).to_contain_text("山田 太郎")

    # when searching by kana
    page.locator("input[name=q]").fill("すずき")
    # then
    expect(results).not_to_contain_text("山田 太郎")
    expect(results).to_contain_text("鈴木 花子")
    assert page.evaluate("window.__samePage") is True
    expect(page).to_have_url(re.compile(r"q=%E3%81%99%E3%81%9A%E3%81%8D"))

    # when opening the contact
    page.get_by_role("link", name="鈴木 花子").click()
    # then
    expect(page.locator("h1")).to_have_text("鈴木 花子")
    expect(page.locator("#timeline")).to_contain_text("コンタクト作成")

    # when adding a note
    page.fill("textarea[name=text]", "展示会で名刺交換。来週フォロー")
    page.get_by_role("button", name="メモを追加").click()
    # then it is on the timeline at once, and still there after a reload
    expect(page.locator("#timeline .timeline__note")).to_have_text("展示会で名刺交換。来週フォロー")
    expect(page.locator("textarea[name=text]")).to_have_value("")
    page.reload()
    expect(page.locator("#timeline")).to_contain_text("展示会で名刺交換。来週フォロー")


def test_older_activity_loads_in_place(page, live_server, contacts, marketer):  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    # given a contact with 30 page views and a signed-in session
    yamada = contacts[0]
    start = clock.now() - timedelta(days=1)
    activity_services.event_ingest_batch(
        events=[
            events.page_view(
                occurred_at=start + timedelta(minutes=i),
                url=f"https://example.jp/p{i}",
                contact_id=yamada.pk,
            )
            for i in range(30)
        ]
    )
    page.goto(f"{live_server.url}/login/")
    page.fill("input[name=username]", "marketer")
    page.fill("input[name=password]", "x")
    page.click("button[type=submit].btn--primary")
    page.goto(f"{live_server.url}/contacts/{yamada.pk}/")
    items = page.locator("#timeline .timeline__item")
    expect(items).to_have_count(20)
    page.evaluate("window.__samePage = true")

    # when
    page.get_by_role("link", name="さらに表示").click()

    # then the older events are appended, without a page load, and nothing more is offered
    expect(items).to_have_count(31)
    expect(page.get_by_role("link", name="さらに表示")).to_have_count(0)
    assert page.evaluate("window.__samePage") is True
