"""A real Chromium drives the reports on the demo data: the dashboard draws its charts, a new
period changes the numbers, a funnel stage's count opens the list of its contacts, and that
list downloads as a CSV."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from sokyaku.analytics.rollups import rollups_rebuild
from sokyaku.core import clock
from sokyaku.demo.generator import DemoSummary, demo_load

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DEMO_CONTACTS = 150
DEMO_MONTHS = 3

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _orm_beside_playwright(monkeypatch: pytest.MonkeyPatch) -> None:
    # Playwright's sync API runs an event loop in this thread; the ORM calls made here (test
    # data, assertions) are still plain synchronous code.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture
def demo() -> DemoSummary:
    summary = demo_load(contacts=DEMO_CONTACTS, seed=7, months=DEMO_MONTHS)
    # The demo stores its events with the listeners paused; the rollups are built afterwards,
    # as after any bulk load.
    rollups_rebuild()
    return summary


@pytest.fixture
def page(live_server) -> Iterator[object]:  # type: ignore[no-untyped-def]
    if not CHROMIUM.exists():
        pytest.skip("Chromium not installed (make test installs it as root)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        context = browser.new_context(locale="ja-JP", accept_downloads=True)
        context.set_default_timeout(20_000)
        yield context.new_page()
        context.close()
        browser.close()


def _number(text: str) -> int:
    return int(re.sub(r"[^\d]", "", text))


def test_dashboard_period_funnel_drill_down_and_csv(page, live_server, demo, marketer):  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    leads = page.locator('[data-kpi="leads"] .kpi__value')
    today = clock.local_now().date()
    first = today - timedelta(days=31 * DEMO_MONTHS + 7)  # before the demo's first lead

    # given a signed-in marketer on the dashboard (this month, the default)
    page.goto(f"{live_server.url}/analytics/")
    expect(page).to_have_url(re.compile(r"/login/"))
    page.fill("input[name=username]", "marketer")
    page.fill("input[name=password]", "x")
    page.click("button[type=submit].btn--primary")
    expect(page).to_have_url(re.compile(r"/analytics/$"))
    # then the four charts are drawn by plotly.js (served by us, not a CDN)
    expect(page.locator(".chart.js-plotly-plot")).to_have_count(4)
    expect(page.locator(".chart[data-figure] .main-svg").first).to_be_visible()
    this_month = _number(leads.inner_text())

    # when choosing a period covering all the demo's months in the date inputs
    page.fill("#report-from", first.isoformat())
    page.fill("#report-to", today.isoformat())
    page.locator("#report-form button[type=submit]").click()
    # then the numbers are those of the new period, compared with the one before
    expect(page).to_have_url(re.compile(rf"from={first.isoformat()}"))
    expect(leads).to_have_text(str(DEMO_CONTACTS))
    assert this_month != DEMO_CONTACTS
    expect(page.locator('[data-kpi="leads"] .kpi__previous')).to_contain_text("0")
    expect(page.locator(".chart.js-plotly-plot")).to_have_count(4)

    # when picking the "last 30 days" preset
    page.locator('[data-preset="last_30_days"]').click()
    # then the preset is the period shown
    expect(page.locator('[data-preset="last_30_days"]')).to_have_attribute("aria-current", "true")
    expect(page.locator("#report-from")).to_have_value((today - timedelta(days=29)).isoformat())
    expect(leads).not_to_have_text(str(DEMO_CONTACTS))

    # when opening the funnel of the whole demo as a cohort, and its MQL count
    page.goto(f"{live_server.url}/analytics/funnel/?from={first}&to={today}&mode=cohort")
    expect(page.locator(".chart.js-plotly-plot")).to_have_count(1)
    stage = page.locator('#funnel-table a[data-drill="mql"]')
    mqls = _number(stage.inner_text())
    assert mqls > 0
    stage.click()
    # then the drill-down lists those contacts, names linking to their pages
    expect(page).to_have_url(re.compile(r"/analytics/contacts/\?.*metric=mql"))
    rows = page.locator("#drill-table tbody tr")
    expect(rows).to_have_count(min(mqls, 50))  # 50 a page
    expect(page.locator("#drill-summary")).to_contain_text(str(mqls))
    expect(rows.first.locator("a.contact-link")).to_have_attribute(
        "href", re.compile(r"^/contacts/\d+/$")
    )
    shown = rows.first.locator("a.contact-link").inner_text()

    # when downloading the list as CSV
    with page.expect_download() as download_info:
        page.locator('[data-export="csv"]').click()
    data = Path(download_info.value.path()).read_bytes()
    # then it is Excel's CSV (UTF-8 with BOM) with the contact columns and a row per contact
    # of the whole list, not only of the page
    assert data.startswith(b"\xef\xbb\xbf")
    table = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert table[0][:2] == ["ID", "氏名"] or table[0][:2] == ["ID", "Name"]
    assert len(table) == 1 + mqls
    assert shown in {row[1] for row in table[1:]}
