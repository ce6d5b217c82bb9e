"""A real Chromium checks the top bar for each role, in Japanese and in English: at 1280 × 800 it
fits without sideways scrolling and every menu entry can be opened and followed; on a 390 × 844
phone one "Menu" button opens every entry; a sales rep's bar holds their own pages only."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.contrib.auth.models import User
from django.test import Client

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
REP_LINKS = ["inbox", "board", "contacts", "forecast"]
# Beside them, a rep's own reports and API keys (no marketing menu).
REP_GROUPS = {"analyse": ["handoffs_report", "forecast_report"], "settings": ["api_keys"]}
# Marketing setup a rep may look at by URL but does not meet in the menu.
MARKETING_ENTRIES = ["forms", "sequences", "segments", "scoring", "lifecycle", "consent"]

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

OVERFLOW = """() => {
  const bar = document.querySelector('.topbar__inner');
  const nav = document.querySelector('.mainnav');
  const doc = document.documentElement;
  return {
    bar: [bar.scrollWidth, bar.clientWidth],
    nav: [nav.scrollWidth, nav.clientWidth],
    doc: [doc.scrollWidth, doc.clientWidth],
  };
}"""


@pytest.fixture(autouse=True)
def _orm_beside_playwright(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip("Chromium not installed (make test installs it as root)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def _signed_in(browser: Any, live_server: Any, user: User, *, language: str, **options: Any) -> Any:
    """A page of a new browser context signed in as ``user`` with ``language`` chosen."""
    client = Client()
    client.force_login(user)
    context = browser.new_context(locale="ja-JP" if language == "ja" else "en-US", **options)
    context.set_default_timeout(10_000)
    context.add_cookies(
        [
            {
                "name": django_settings.SESSION_COOKIE_NAME,
                "value": client.cookies[django_settings.SESSION_COOKIE_NAME].value,
                "url": live_server.url,
            },
            {"name": "django_language", "value": language, "url": live_server.url},
        ]
    )
    return context.new_page()


def _named(user: User) -> User:
    # Names as long as real ones, so the bar is measured with them.
    user.last_name, user.first_name = "長谷川", "健太郎"
    user.save(update_fields=["last_name", "first_name"])
    return user


@pytest.mark.parametrize("language", ["ja", "en"])
@pytest.mark.parametrize("role", ["admin_user", "marketer"])
def test_marketing_bar_fits_at_1280_and_every_entry_opens(  # type: ignore[no-untyped-def]
    browser, live_server, request, role, language
):
    from playwright.sync_api import expect

    user = _named(request.getfixturevalue(role))
    page = _signed_in(browser, live_server, user, language=language, viewport=DESKTOP)
    page.goto(f"{live_server.url}/contacts/")
    bar = page.locator("[data-menu=bar]")
    expect(bar).to_be_visible()
    expect(page.locator("[data-menu=drawer]")).to_be_hidden()

    # the bar and the page fit the window: nothing scrolls sideways
    sizes = page.evaluate(OVERFLOW)
    assert sizes["bar"][0] <= sizes["bar"][1], sizes
    assert sizes["nav"][0] <= sizes["nav"][1], sizes
    assert sizes["doc"][0] <= sizes["doc"][1], sizes
    groups = bar.locator("[data-menu-group]")
    assert groups.evaluate_all("els => els.map(e => e.dataset.menuGroup)") == [
        "acquire",
        "nurture",
        "sales",
        "analyse",
        "settings",
    ]

    # every entry of every menu is shown inside the window when its menu is opened, and works
    hrefs = []
    for index in range(groups.count()):
        group = groups.nth(index)
        button = group.locator("summary")
        button.click()
        expect(button).to_have_attribute("aria-expanded", "true")
        links = group.locator("a[data-menu-entry]")
        assert links.count() > 0
        for link in links.all():
            expect(link).to_be_visible()
            box = link.bounding_box()
            assert box is not None and box["x"] >= 0
            assert box["x"] + box["width"] <= DESKTOP["width"], link.get_attribute("href")
            hrefs.append(link.get_attribute("href"))
        # one menu at a time: opening the next closes this one
        if index + 1 < groups.count():
            groups.nth(index + 1).locator("summary").click()
            expect(button).to_have_attribute("aria-expanded", "false")
            groups.nth(index + 1).locator("summary").click()
    for href in [*bar.locator(":scope > ul > li > a").evaluate_all("a => a.map(e => e.href)")]:
        hrefs.append(href)
    assert len(hrefs) == len(set(hrefs))
    for href in hrefs:
        response = page.request.get(href if href.startswith("http") else live_server.url + href)
        assert response.status == 200, href

    # following an entry opens its page, marked as the current one
    page.goto(f"{live_server.url}/contacts/")
    bar.locator("[data-menu-group=nurture] summary").click()
    bar.locator("[data-menu-entry=segments]").click()
    expect(page).to_have_url(f"{live_server.url}/segments/")
    expect(bar.locator("[data-menu-entry=segments]")).to_have_attribute("aria-current", "page")
    expect(bar.locator("[data-menu-group=nurture] summary")).to_have_class(
        "menu__button menu__button--current"
    )


def test_menus_work_by_keyboard_and_without_javascript(browser, live_server, marketer):  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    page = _signed_in(browser, live_server, marketer, language="ja", viewport=DESKTOP)
    page.goto(f"{live_server.url}/contacts/")
    button = page.locator("[data-menu=bar] [data-menu-group=analyse] summary")
    expect(button).to_have_text("分析")

    # the keyboard opens a menu, moves through its entries and closes it again
    button.focus()
    page.keyboard.press("Enter")
    expect(button).to_have_attribute("aria-expanded", "true")
    page.keyboard.press("ArrowDown")
    first = page.locator("[data-menu=bar] [data-menu-entry=dashboard]")
    expect(first).to_be_focused()
    page.keyboard.press("Escape")
    expect(button).to_have_attribute("aria-expanded", "false")
    expect(button).to_be_focused()
    expect(first).to_be_hidden()

    # without JavaScript the menus still open (they are <details>)
    plain = _signed_in(
        browser, live_server, marketer, language="ja", viewport=DESKTOP, java_script_enabled=False
    )
    plain.goto(f"{live_server.url}/contacts/")
    plain.locator("[data-menu=bar] [data-menu-group=settings] summary").click()
    entry = plain.locator("[data-menu=bar] [data-menu-entry=scoring]")
    expect(entry).to_be_visible()
    entry.click()
    expect(plain).to_have_url(f"{live_server.url}/scoring/")


@pytest.mark.parametrize("language", ["ja", "en"])
def test_a_sales_rep_sees_their_own_pages_first(browser, live_server, sales_rep, language):  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    page = _signed_in(browser, live_server, _named(sales_rep), language=language, viewport=DESKTOP)
    page.goto(f"{live_server.url}/handoffs/")
    bar = page.locator("[data-menu=bar]")
    entries = bar.locator(".mainnav__list > li > [data-menu-entry]")
    assert entries.evaluate_all("els => els.map(e => e.dataset.menuEntry)") == REP_LINKS
    groups = bar.locator("[data-menu-group]")
    assert groups.evaluate_all("els => els.map(e => e.dataset.menuGroup)") == list(REP_GROUPS)
    for group, keys in REP_GROUPS.items():
        inside = bar.locator(f"[data-menu-group={group}] [data-menu-entry]")
        assert inside.evaluate_all("els => els.map(e => e.dataset.menuEntry)") == keys
    for key in MARKETING_ENTRIES:
        expect(page.locator(f"[data-menu-entry={key}]")).to_have_count(0)
    expect(bar.locator("[data-menu-entry=inbox]")).to_have_attribute("aria-current", "page")
    labels = entries.all_inner_texts()
    expected = {
        "ja": ["受信箱", "商談ボード", "コンタクト", "売上予測"],
        "en": ["Sales inbox", "Deal board", "Contacts", "Forecast"],
    }
    assert labels == expected[language]
    sizes = page.evaluate(OVERFLOW)
    assert sizes["bar"][0] <= sizes["bar"][1], sizes
    assert sizes["nav"][0] <= sizes["nav"][1], sizes
    for href in entries.evaluate_all("a => a.map(e => e.href)"):
        assert page.request.get(href).status == 200, href


@pytest.mark.parametrize(
    ("role", "entry", "path"),
    [("admin_user", "access_log", "/settings/access-log/"), ("sales_rep", "board", "/deals/")],
)
@pytest.mark.parametrize("language", ["ja", "en"])
def test_on_a_phone_one_button_opens_every_entry(  # type: ignore[no-untyped-def]
    browser, live_server, request, role, entry, path, language
):
    from playwright.sync_api import expect

    user = _named(request.getfixturevalue(role))
    page = _signed_in(
        browser,
        live_server,
        user,
        language=language,
        viewport=PHONE,
        is_mobile=True,
        has_touch=True,
    )
    page.goto(f"{live_server.url}/contacts/")
    expect(page.locator("[data-menu=bar]")).to_be_hidden()
    button = page.locator("[data-menu=drawer] > summary")
    expect(button).to_be_visible()
    assert page.evaluate(OVERFLOW)["bar"][0] <= PHONE["width"]

    button.tap()
    expect(button).to_have_attribute("aria-expanded", "true")
    links = page.locator("[data-menu=drawer] a[data-menu-entry]")
    assert links.count() >= 4
    for link in links.all():
        link.scroll_into_view_if_needed()
        expect(link).to_be_visible()
        box = link.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
        assert box["height"] >= 44  # a finger's size
    target = page.locator(f"[data-menu=drawer] [data-menu-entry={entry}]")
    target.scroll_into_view_if_needed()
    target.tap()
    expect(page).to_have_url(f"{live_server.url}{path}")


@pytest.mark.parametrize("width", [1024, 1100])
def test_on_a_small_laptop_the_menu_button_replaces_the_bar(
    browser, live_server, admin_user, width
):  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    page = _signed_in(
        browser,
        live_server,
        _named(admin_user),
        language="en",
        viewport={"width": width, "height": 768},
    )
    page.goto(f"{live_server.url}/contacts/")

    # the English menu needs more room than this: one button holds it, nothing overlaps
    expect(page.locator("[data-menu=bar]")).to_be_hidden()
    button = page.locator("[data-menu=drawer] > summary")
    sizes = page.evaluate(OVERFLOW)
    assert sizes["bar"][0] <= sizes["bar"][1] and sizes["doc"][0] <= sizes["doc"][1], sizes
    end = page.locator(".topbar__end").bounding_box()
    menu = button.bounding_box()
    assert end is not None and menu is not None
    assert menu["x"] + menu["width"] <= end["x"] and menu["y"] < end["y"] + end["height"]
    button.click()
    expect(page.locator("[data-menu=drawer] [data-menu-entry=access_log]")).to_be_visible()
