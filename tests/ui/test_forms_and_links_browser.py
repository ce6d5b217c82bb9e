"""In a real Chromium: a marketer sets up an asset download on *New form* (the asset picker
appears for that kind only), and a friend who follows a customer's referral link fills in the
public referral form with an email typed in full width, on a desktop and on a phone.

Set ``SOKYAKU_SCREENSHOTS=<dir>`` to keep screenshots of both pages at 1280 and 390 px."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from sokyaku.capture.models import Form
from sokyaku.capture.services import assets as asset_services
from sokyaku.consent.models import ConsentTopic
from sokyaku.contacts.models import Contact
from sokyaku.contacts.services import ContactInput, contact_upsert
from sokyaku.deals.models import Referral
from sokyaku.deals.services import referral_code_get_or_create

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
WIDTHS = {"desktop": (1280, 900), "phone": (390, 844)}

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _orm_beside_playwright(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture
def browser() -> Iterator[object]:
    if not CHROMIUM.exists():
        pytest.skip("Chromium not installed (make test installs it as root)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def _page(browser, size: str):  # type: ignore[no-untyped-def]
    width, height = WIDTHS[size]
    context = browser.new_context(locale="ja-JP", viewport={"width": width, "height": height})
    context.set_default_timeout(10_000)
    return context.new_page()


def _shot(page, name: str) -> None:  # type: ignore[no-untyped-def]
    folder = os.environ.get("SOKYAKU_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)


def _fits(page) -> bool:  # type: ignore[no-untyped-def]
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"))


@pytest.mark.parametrize("size", list(WIDTHS))
def test_a_marketer_sets_up_an_asset_download_on_new_form(
    browser, live_server, marketer, size: str
) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    asset_services.asset_create(
        data=asset_services.AssetInput(
            title="MA導入チェックリスト", url="https://www.example.co.jp/checklist.pdf"
        )
    )
    page = _page(browser, size)
    page.goto(f"{live_server.url}/capture/forms/new/")
    page.fill("input[name=username]", "marketer")
    page.fill("input[name=password]", "x")
    page.click("button[type=submit].btn--primary")
    expect(page.locator("h1")).to_have_text("フォームを作成")
    picker = page.locator("[data-kind-option=asset_download]")
    # the asset picker is hidden until the kind needs it
    expect(picker).to_be_hidden()
    page.fill("input[name=name]", "資料ダウンロード：チェックリスト")
    page.get_by_label("資料ダウンロード", exact=False).first.check()
    expect(picker).to_be_visible()
    page.select_option("select[name=option_asset_download]", label="MA導入チェックリスト")
    assert _fits(page)
    _shot(page, f"new-form-{size}")
    page.get_by_role("button", name="作成").click()
    expect(page).to_have_url(re.compile(r"/capture/forms/\d+/fields/$"))
    form = Form.objects.get()
    assert form.kind == "asset_download"
    assert form.kind_options["asset_title"] == "MA導入チェックリスト"


@pytest.mark.parametrize("size", list(WIDTHS))
def test_a_friend_follows_a_referral_link_and_sends_the_form_with_a_full_width_email(
    browser, live_server, settings, size: str
) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    settings.SITE_URL = live_server.url  # the address the link leads on to

    ConsentTopic.objects.create(key="newsletter", name="メールマガジン")
    referrer = contact_upsert(
        data=ContactInput(email="referrer@example.jp", family_name="紹介", given_name="一郎")
    ).contact
    code = referral_code_get_or_create(contact=referrer).code
    page = _page(browser, size)
    page.goto(f"{live_server.url}/r/{code}/")
    # a public page with the referral form, not the staff login
    expect(page.locator("h1")).to_contain_text("ご紹介を受けてお越しの方へ")
    expect(page.locator("input[name=password]")).to_have_count(0)
    assert _fits(page)
    _shot(page, f"referral-{size}")
    page.fill("input[name=family_name]", "山田")
    page.fill("input[name=given_name]", "太郎")
    page.fill("input[name=email]", "ｔａｒｏ＠ｅｘａｍｐｌｅ．ｃｏ．ｊｐ")
    page.fill("input[name=company]", "株式会社サンプル")
    page.check("input[name=_agree]")
    page.wait_for_timeout(3100)  # the form's minimum fill time
    page.get_by_role("button", name="送信する").click()
    expect(page.locator("body")).to_contain_text("ありがとうございます")
    lead = Contact.objects.get(email="taro@example.co.jp")
    assert Referral.objects.get(referred=lead).referrer_id == referrer.pk
