"""An admin edits a handoff trigger's conditions as rows in a real Chromium, in Japanese: the
script adds a row after the server-rendered ones and removes one, and what is saved is the
list the rows show (the same list the JSON input used to store)."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User

from sokyaku.handoff import services
from sokyaku.handoff.models import HandoffTrigger
from tests.ui.test_sequence_editor_browser import page  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_admin_adds_and_removes_condition_rows(page, live_server) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    from playwright.sync_api import expect

    User.objects.create_superuser("boss", "boss@example.invalid", "x")
    trigger = services.trigger_save(
        trigger=None,
        actor=None,
        data={
            "name": "ウェビナー視聴",
            "kind": "event",
            "event_type": "webinar_attended",
            "action_label": "ウェビナー視聴",
            "next_action": "24時間以内にご連絡ください。",
            "conditions": [{"property": "webinar", "op": "eq", "value": "2026春"}],
        },
    )
    page.goto(f"{live_server.url}/login/?next=/handoffs/settings/triggers/{trigger.pk}/")
    page.fill("input[name=username]", "boss")
    page.fill("input[name=password]", "x")
    page.click("button[type=submit].btn--primary")
    rows = page.locator("[data-condrows-row]")
    expect(rows).to_have_count(3)  # the stored row and two empty ones

    page.get_by_role("button", name="条件を追加").click()
    expect(rows).to_have_count(4)
    added = rows.nth(3)
    added.get_by_label("プロパティ").select_option(label="視聴時間（分）")
    added.get_by_label("比較").select_option(label="以上")
    added.get_by_label("値").fill("30")
    rows.nth(0).get_by_role("button", name="削除").click()
    expect(rows).to_have_count(3)
    rows.nth(0).get_by_label("プロパティ").select_option(label="シナリオ")
    rows.nth(0).get_by_label("比較").select_option(label="値がある")
    expect(rows.nth(0).get_by_label("値")).to_be_disabled()
    page.get_by_role("button", name="保存").click()
    page.wait_for_url(f"{live_server.url}/handoffs/settings/triggers/")

    trigger = HandoffTrigger.objects.get(pk=trigger.pk)
    assert trigger.conditions == [
        {"property": "sequence", "op": "exists"},
        {"property": "minutes", "op": "gte", "value": 30.0},
    ]
