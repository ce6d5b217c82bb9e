"""A real Chromium: a sales rep records BANT on the contact page and sees the stage become SQL."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from sokyaku.lifecycle import selectors, services
from sokyaku.lifecycle.models import Stage
from tests.lifecycle.factories import contact_make, in_months

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _orm_beside_playwright(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


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


def test_a_rep_records_bant_and_sees_sql(page, live_server, sales_rep) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    # given an MQL and a signed-in sales rep on its page
    contact = contact_make(
        company_name="株式会社サンプル", title="情報システム部長", owner_id=sales_rep.pk
    )
    services.stage_change(contact=contact, to_stage=Stage.MQL, source="system")
    page.goto(f"{live_server.url}/contacts/{contact.pk}/")
    page.fill("input[name=username]", "rep")
    page.fill("input[name=password]", "x")
    page.click("button[type=submit].btn--primary")
    expect(page).to_have_url(re.compile(rf"/contacts/{contact.pk}/$"))
    panel = page.locator("#lifecycle")
    expect(panel.locator("[data-stage]")).to_have_attribute("data-stage", "mql")
    page.evaluate("window.__samePage = true")

    # when the rep first enters a budget that is not a number
    panel.locator("details.bant-form summary").click()
    panel.locator("input[name=budget_amount_jpy]").fill("未定")
    panel.get_by_role("button", name=re.compile("BANT")).click()
    # then the error is shown in the panel and the stage is unchanged
    expect(panel.locator(".field--invalid")).to_have_count(1)
    expect(panel.locator("[data-stage]")).to_have_attribute("data-stage", "mql")

    # when the rep records a complete BANT
    panel.locator("input[name=budget_amount_jpy]").fill("2,400,000")
    panel.locator("select[name=authority]").select_option("decision_maker")
    panel.locator("textarea[name=need]").fill("展示会リードのフォローを自動化したい")
    panel.locator("input[name=timeline_date]").fill(in_months(3).isoformat())
    panel.get_by_role("button", name=re.compile("BANT")).click()
    # then the panel shows SQL and the entry, without a page load
    expect(panel.locator("[data-stage]")).to_have_attribute("data-stage", "sql")
    expect(panel).to_contain_text("¥2,400,000")
    assert page.evaluate("window.__samePage") is True
    assert selectors.stage_get(contact_id=contact.pk) == Stage.SQL
