"""A sales rep makes an API key on the keys page in a real Chromium (Japanese, desktop and
phone): the page offers only what a rep may do, shows the key once with a copy button, and the
key then reads the rep's own handoffs and nothing a rep may not do."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User

from sokyaku.core import clock, roles
from sokyaku.core import services as core_services
from sokyaku.handoff.models import Handoff
from tests.deals.factories import contact_make
from tests.ui.conftest import signed_in
from tests.ui.page_checks import foreign_text, sideways_overflow

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}


def _rep(username: str, family: str) -> User:
    user = core_services.user_create(
        username=username, password="x", role=roles.SALES_REP, check_password=False
    )
    User.objects.filter(pk=user.pk).update(last_name=family, first_name="太郎")
    user.refresh_from_db()
    return user


def _handoff(assignee: User) -> Handoff:
    contact = contact_make(family_name="見込", owner=assignee)
    now = clock.now()
    return Handoff.objects.create(
        contact=contact,
        trigger_kind="event",
        action_label="デモ申し込み",
        acted_at=now,
        assignee=assignee,
        created_at=now,
        sla_due_at=now,
    )


def _call(requests: Any, url: str, token: str, body: Any = None) -> tuple[int, Any]:
    """An API call with the key, as an integration makes it (no session cookie)."""
    headers = {"Authorization": f"Bearer {token}"}
    if body is None:
        answer = requests.get(url, headers=headers)
    else:
        answer = requests.post(url, headers=headers, data=body)
    return answer.status, answer.json()


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["1280", "390"])
def test_a_rep_makes_a_key_on_the_page_and_it_reaches_only_their_work(  # type: ignore[no-untyped-def]
    chromium, live_server, viewport
):
    from playwright.sync_api import expect

    playwright, browser = chromium
    # given a rep with a handoff, and another rep's handoff
    rep, other = _rep("rep.kato", "加藤"), _rep("rep.mori", "森")
    mine = _handoff(rep)
    _handoff(other)
    context = signed_in(browser, live_server, rep, viewport=viewport)
    page = context.new_page()
    page.goto(f"{live_server.url}/settings/profile/")
    # when the rep follows the tab to the keys page and makes a key for the inbox
    page.get_by_role("link", name="APIキー").first.click()
    expect(page.get_by_role("heading", name="APIキー", exact=True)).to_be_visible()
    assert sideways_overflow(page) == 0
    assert foreign_text(page) == []
    offered = page.locator("input[name=scopes]")
    assert "forms:write" not in offered.evaluate_all("els => els.map(e => e.value)")
    page.get_by_label("名前").fill("受信箱の集計")
    page.get_by_label("送客と営業活動の読み取り").check()
    page.get_by_role("button", name="キーを発行").click()
    # then the key is shown once, with a copy button
    token_field = page.locator("#new-key-token")
    expect(token_field).to_be_visible()
    token = token_field.input_value()
    page.get_by_role("button", name="コピー").click()
    expect(page.get_by_text("コピーしました")).to_be_visible()
    row = page.locator("#apikeys tbody tr", has_text="受信箱の集計")
    expect(row).to_contain_text("送客と営業活動の読み取り")
    expect(row).to_contain_text("有効")
    assert sideways_overflow(page) == 0
    assert foreign_text(page) == []
    # and the key reads the rep's own handoff, and may not build a form
    integration = playwright.request.new_context()
    status, listed = _call(integration, f"{live_server.url}/api/v1/handoffs", token)
    assert status == 200 and [item["id"] for item in listed["items"]] == [mine.pk]
    status, refused = _call(
        integration, f"{live_server.url}/api/v1/forms", token, {"name": "勝手なフォーム"}
    )
    assert status == 403 and "forms:write" in refused["detail"]
    # and once revoked on the page, it stops working at once
    page.once("dialog", lambda dialog: dialog.accept())
    row.get_by_role("button", name="失効させる").click()
    expect(page.locator("#apikeys tbody tr", has_text="受信箱の集計")).to_contain_text("失効")
    assert _call(integration, f"{live_server.url}/api/v1/handoffs", token)[0] == 401
    integration.dispose()
    context.close()
