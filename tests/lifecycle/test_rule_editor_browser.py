"""A real Chromium: a marketer edits the composite MQL preset in the segments condition builder,
watches the live count, saves, and sees the changed rule; the presets save unchanged."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from sokyaku.activity.models import EventType
from sokyaku.lifecycle import services
from sokyaku.lifecycle.models import MqlRule
from sokyaku.lifecycle.services.mql import (
    COMPOSITE_RULE_NAME,
    SCORE_RULE_NAME,
    mql_preset_definitions,
)
from tests.lifecycle.factories import contact_make, event_record

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


def _open_as_marketer(page, live_server, rule: MqlRule) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    page.goto(f"{live_server.url}/lifecycle/rules/{rule.pk}/")
    page.fill("input[name=username]", "marketer")
    page.fill("input[name=password]", "x")
    page.click("button[type=submit].btn--primary")
    expect(page).to_have_url(re.compile(rf"/lifecycle/rules/{rule.pk}/$"))


def test_a_marketer_raises_the_employee_threshold_of_the_composite_preset(
    page, live_server, marketer
) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    # given the presets and an IT manager at a 60-person company who downloaded the trial and
    # attended the webinar (matches "employees ≥ 50", not "≥ 100")
    services.mql_presets_install_if_missing()
    rule = MqlRule.objects.get(name=COMPOSITE_RULE_NAME)
    contact = contact_make(
        company_name="東洋システムズ株式会社",
        employees=60,
        department="情報システム部",
        title="課長",
    )
    event_record(contact, EventType.ASSET_DOWNLOADED, asset="無料トライアル", asset_kind="trial")
    event_record(contact, EventType.WEBINAR_ATTENDED, webinar="製品紹介ウェビナー")
    count = page.locator("#mql-builder-count [data-count]")
    employees = page.locator("input[name='mql-conditions.0.value']")

    # when a marketer opens the rule
    _open_as_marketer(page, live_server, rule)
    # then the builder shows its conditions, the nested "any of" downloads, and the live count
    expect(employees).to_have_value("50")
    expect(page.locator("input[name='mql-conditions.1.value']")).to_have_value("情報システム")
    expect(page.locator("select[name='mql-conditions.2.value']")).to_have_value("3")
    expect(page.locator("select[name='mql-conditions.3.op']")).to_have_value("or")
    where = page.locator("input[name='mql-conditions.3.conditions.1.where.0.value']")
    expect(where).to_have_value("トライアル")
    expect(page.locator("input[name='mql-conditions.4.within_days']")).to_have_value("90")
    expect(count).to_have_attribute("data-count", "1")

    # when the value is emptied, the error shows next to that condition
    employees.fill("")
    expect(page.locator(".segbuilder__row.field--invalid .field__error")).to_be_visible()

    # when the threshold becomes 100
    employees.fill("100")
    # then the contact no longer matches
    expect(count).to_have_attribute("data-count", "0")
    expect(page.locator(".segbuilder__row.field--invalid")).to_have_count(0)

    # when it is saved
    page.click("form#mql-rule-form button[type=submit].btn--primary")
    # then the rules page lists it, and opening it again shows the new threshold
    expect(page).to_have_url(re.compile(r"/lifecycle/$"))
    page.click(f"a[href='/lifecycle/rules/{rule.pk}/']")
    expect(employees).to_have_value("100")
    expect(count).to_have_attribute("data-count", "0")
    expected = mql_preset_definitions()[COMPOSITE_RULE_NAME]
    expected["conditions"][0]["value"] = 100
    assert MqlRule.objects.get(pk=rule.pk).definition == expected


@pytest.mark.parametrize("name", [SCORE_RULE_NAME, COMPOSITE_RULE_NAME])
def test_a_preset_saved_unchanged_through_the_builder_stays_equal(
    page, live_server, marketer, name
) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    # given a preset opened in the builder
    services.mql_presets_install_if_missing()
    rule = MqlRule.objects.get(name=name)
    _open_as_marketer(page, live_server, rule)
    expect(page.locator("#mql-builder-count [data-count]")).to_have_count(1)
    # when it is saved without a change (the builder's inputs are what is posted)
    page.click("form#mql-rule-form button[type=submit].btn--primary")
    expect(page).to_have_url(re.compile(r"/lifecycle/$"))
    # then nothing about it changed
    saved = MqlRule.objects.get(pk=rule.pk)
    assert saved.definition == mql_preset_definitions()[name]
    assert (saved.name, saved.description, saved.is_active) == (name, rule.description, True)
