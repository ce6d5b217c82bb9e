"""The sales inbox UI: who sees which handoff, the countdowns, the handoff page's actions
(reject, reassign, log an activity) with their errors, and the contact page's handoff panel."""

from __future__ import annotations

import itertools
import re
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.template import Context, Template
from django.test import Client, RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from sokyaku.contacts.models import Contact
from sokyaku.core import clock, roles
from sokyaku.core import services as core_services
from sokyaku.core.calendar import TOKYO
from sokyaku.core.models import DataAccessLog
from sokyaku.handoff import services
from sokyaku.handoff.models import Handoff, HandoffStatus, HandoffTrigger, SalesActivity
from sokyaku.handoff.templatetags.handoff_ui import countdown_text
from tests.lifecycle.factories import contact_make

pytestmark = pytest.mark.django_db

_names = itertools.count(1)


def tokyo(*args: int) -> datetime:
    return datetime(*args, tzinfo=TOKYO)  # type: ignore[arg-type,misc]


def trigger_make(**data: Any) -> HandoffTrigger:
    values: dict[str, Any] = {
        "name": f"デモ申し込み {next(_names)}",
        "kind": "event",
        "event_type": "demo_requested",
        "conditions": [],
        "action_label": "デモ申し込み",
        "next_action": "デモ希望内容を確認後、24時間以内にメールまたは電話でご連絡ください。",
        "sla_hours": 24,
        "business_days_only": False,
        "reminder_minutes": 120,
        "is_active": True,
        **data,
    }
    return services.trigger_save(trigger=None, data=values, actor=None)


def handoff_make(*, to: User | None, by: User, **contact: Any) -> Handoff:
    """A handoff of a new contact, given to ``to`` (``None``: left where routing put it)."""
    contact.setdefault("email", f"lead{next(_names)}@example.jp")
    handoff = services.handoff_create(contact=contact_make(**contact), trigger=trigger_make())
    if to is not None:
        handoff = services.handoff_reassign(handoff=handoff, to_user=to, reason="担当", actor=by)
    return handoff


def user_make(username: str, role: str = roles.SALES_REP) -> User:
    return core_services.user_create(
        username=username, password="x", role=role, check_password=False
    )


@pytest.fixture
def rep_client(client: Client, sales_rep: User) -> Client:
    client.force_login(sales_rep)
    return client


@pytest.fixture
def other_rep() -> User:
    return user_make("rep2")


# --- who sees what ----------------------------------------------------------------------------


def test_rep_sees_only_their_own_handoffs(
    rep_client: Client, sales_rep: User, other_rep: User, admin_user: User
) -> None:
    mine = handoff_make(to=sales_rep, by=admin_user, family_name="青木", given_name="一郎")
    theirs = handoff_make(to=other_rep, by=admin_user, family_name="黒田", given_name="二郎")

    page = rep_client.get(reverse("handoff:inbox")).content.decode()
    assert "青木 一郎" in page
    assert "黒田" not in page

    assert rep_client.get(reverse("handoff:detail", args=[mine.pk])).status_code == 200
    assert rep_client.get(reverse("handoff:detail", args=[theirs.pk])).status_code == 404
    response = rep_client.post(
        reverse("handoff:reject", args=[theirs.pk]),
        {"reason": "no_budget", "outcome": "recycled"},
    )
    assert response.status_code == 404
    response = rep_client.post(
        reverse("handoff:reassign", args=[theirs.pk]),
        {"to_user": sales_rep.pk, "reason": "引き取ります"},
    )
    assert response.status_code == 404
    theirs.refresh_from_db()
    assert theirs.status == HandoffStatus.OPEN
    assert theirs.assignee == other_rep


def test_marketer_sees_every_handoff_but_cannot_act(
    logged_in: Client, sales_rep: User, other_rep: User, admin_user: User
) -> None:
    first = handoff_make(to=sales_rep, by=admin_user, family_name="青木")
    handoff_make(to=other_rep, by=admin_user, family_name="黒田")

    page = logged_in.get(reverse("handoff:inbox")).content.decode()
    assert "青木" in page and "黒田" in page

    detail = logged_in.get(reverse("handoff:detail", args=[first.pk]))
    assert detail.status_code == 200
    assert reverse("handoff:reject", args=[first.pk]) not in detail.content.decode()
    response = logged_in.post(
        reverse("handoff:reject", args=[first.pk]), {"reason": "no_budget", "outcome": "recycled"}
    )
    assert response.status_code == 403


def test_inbox_filters_and_tabs(
    logged_in: Client, sales_rep: User, other_rep: User, admin_user: User, english: None
) -> None:
    handoff_make(to=sales_rep, by=admin_user, family_name="青木")
    rejected = handoff_make(to=other_rep, by=admin_user, family_name="黒田")
    services.handoff_reject(handoff=rejected, actor=other_rep, reason="no_budget", note="来期")

    by_rep = logged_in.get(reverse("handoff:inbox"), {"assignee": sales_rep.pk}).content.decode()
    assert "青木" in by_rep and "黒田" not in by_rep

    rejected_tab = logged_in.get(reverse("handoff:inbox"), {"status": "rejected"})
    html = rejected_tab.content.decode()
    assert "黒田" in html and "青木" not in html
    assert "No budget" in html
    assert re.search(r'data-tab="open"[^>]*>\s*Open <span class="badge">1</span>', html)
    assert re.search(r'data-tab="rejected"[^>]*>\s*Rejected <span class="badge">1</span>', html)


def test_inbox_queries_are_bounded_and_the_view_is_logged(
    logged_in: Client, sales_rep: User, admin_user: User, django_assert_max_num_queries: Any
) -> None:
    for i in range(8):
        handoff_make(to=sales_rep, by=admin_user, family_name=f"山本{i}")
    with django_assert_max_num_queries(16):
        response = logged_in.get(reverse("handoff:inbox"))
    assert response.status_code == 200
    entry = DataAccessLog.objects.get(resource="handoffs.inbox")
    assert entry.rows == 8
    assert entry.user is not None and entry.user.username == "marketer"


def test_filters_answer_htmx_with_the_results_only(
    logged_in: Client, sales_rep: User, admin_user: User
) -> None:
    handoff_make(to=sales_rep, by=admin_user, family_name="青木")
    response = logged_in.get(
        reverse("handoff:inbox"), {"status": "open"}, headers={"HX-Request": "true"}
    )
    html = response.content.decode()
    assert "<html" not in html
    assert "青木" in html


def test_handoff_page_queries_are_bounded(
    rep_client: Client, sales_rep: User, admin_user: User, django_assert_max_num_queries: Any
) -> None:
    handoff = handoff_make(to=sales_rep, by=admin_user)
    for i in range(15):
        services.activity_log(contact=handoff.contact, actor=sales_rep, kind="note", body=f"{i}")
    with django_assert_max_num_queries(22):
        response = rep_client.get(reverse("handoff:detail", args=[handoff.pk]))
    assert response.status_code == 200


def test_open_handoffs_are_sorted_by_deadline(
    logged_in: Client, sales_rep: User, admin_user: User
) -> None:
    with clock.frozen(tokyo(2026, 6, 1, 10, 0)):
        later = handoff_make(to=sales_rep, by=admin_user, family_name="後藤")
    with clock.frozen(tokyo(2026, 5, 29, 10, 0)):
        sooner = handoff_make(to=sales_rep, by=admin_user, family_name="先田")
    with clock.frozen(tokyo(2026, 6, 1, 12, 0)):
        html = logged_in.get(reverse("handoff:inbox")).content.decode()
    assert html.index(f'data-handoff="{sooner.pk}"') < html.index(f'data-handoff="{later.pk}"')


# --- countdowns -------------------------------------------------------------------------------


def test_countdown_in_japanese_by_default(
    rep_client: Client, sales_rep: User, admin_user: User
) -> None:
    with clock.frozen(tokyo(2026, 6, 2, 10, 0)):
        handoff = handoff_make(to=sales_rep, by=admin_user)
    with clock.frozen(handoff.sla_due_at - timedelta(hours=3, minutes=12, seconds=30)):
        html = rep_client.get(reverse("handoff:inbox")).content.decode()
    assert "残り 3時間12分" in html
    assert f'data-sla-due="{handoff.sla_due_at.isoformat()}"' in html
    with clock.frozen(handoff.sla_due_at + timedelta(hours=1, seconds=20)):
        html = rep_client.get(reverse("handoff:detail", args=[handoff.pk])).content.decode()
    assert "期限超過 1時間" in html


def test_countdown_in_english(
    rep_client: Client, sales_rep: User, admin_user: User, english: None
) -> None:
    with clock.frozen(tokyo(2026, 6, 2, 10, 0)):
        handoff = handoff_make(to=sales_rep, by=admin_user)
    with clock.frozen(handoff.sla_due_at - timedelta(hours=3, minutes=12)):
        html = rep_client.get(reverse("handoff:inbox")).content.decode()
    assert "3 h 12 min left" in html
    with clock.frozen(handoff.sla_due_at + timedelta(minutes=61)):
        html = rep_client.get(reverse("handoff:inbox")).content.decode()
    assert "Overdue by 1 h 1 min" in html


def test_countdown_text_spans(english: None) -> None:
    due = tokyo(2026, 6, 2, 10, 0)
    assert countdown_text(due, due - timedelta(days=1, hours=2)) == "1 d 2 h left"
    assert countdown_text(due, due - timedelta(seconds=30)) == "less than a minute left"
    assert countdown_text(due, due + timedelta(minutes=5)) == "Overdue by 5 min"


# --- reject, reassign, activities ---------------------------------------------------------------


def test_reject_without_reason_shows_the_error_and_keeps_the_handoff_open(
    rep_client: Client, sales_rep: User, admin_user: User, english: None
) -> None:
    handoff = handoff_make(to=sales_rep, by=admin_user)
    response = rep_client.post(
        reverse("handoff:reject", args=[handoff.pk]), {"reason": "", "outcome": "recycled"}
    )
    assert response.status_code == 422
    html = response.content.decode()
    assert 'role="alert"' in html
    assert re.search(r'field--invalid">\s*<label for="reject-reason">Reason', html)
    handoff.refresh_from_db()
    assert handoff.status == HandoffStatus.OPEN


def test_reject_with_reason_shows_the_outcome(
    rep_client: Client, sales_rep: User, admin_user: User, english: None
) -> None:
    handoff = handoff_make(to=sales_rep, by=admin_user)
    response = rep_client.post(
        reverse("handoff:reject", args=[handoff.pk]),
        {"reason": "bad_timing", "note": "来期に再検討", "outcome": "recycled"},
        follow=True,
    )
    html = response.content.decode()
    handoff.refresh_from_db()
    assert handoff.status == HandoffStatus.REJECTED
    assert handoff.reject_reason == "bad_timing"
    assert "Bad timing" in html and "来期に再検討" in html
    assert reverse("handoff:reject", args=[handoff.pk]) not in html

    again = rep_client.post(
        reverse("handoff:reject", args=[handoff.pk]), {"reason": "duplicate"}, follow=True
    )
    assert "This handoff is closed already." in again.content.decode()
    handoff.refresh_from_db()
    assert handoff.reject_reason == "bad_timing"


def test_reassign_to_an_inactive_user_shows_the_field_error(
    rep_client: Client, sales_rep: User, other_rep: User, admin_user: User
) -> None:
    handoff = handoff_make(to=sales_rep, by=admin_user)
    other_rep.is_active = False
    other_rep.save(update_fields=["is_active"])
    response = rep_client.post(
        reverse("handoff:reassign", args=[handoff.pk]),
        {"to_user": other_rep.pk, "reason": "休暇のため"},
    )
    assert response.status_code == 422
    field = re.search(
        r'<div class="field field--invalid">\s*<label for="reassign-to_user">.*?</div>',
        response.content.decode(),
        re.S,
    )
    assert field is not None and 'class="field__error"' in field.group(0)
    handoff.refresh_from_db()
    assert handoff.assignee == sales_rep


def test_reassign_moves_the_handoff_and_records_why(
    client: Client, sales_rep: User, other_rep: User, admin_user: User
) -> None:
    handoff = handoff_make(to=sales_rep, by=admin_user)
    client.force_login(admin_user)
    response = client.post(
        reverse("handoff:reassign", args=[handoff.pk]),
        {"to_user": other_rep.pk, "reason": "関西担当へ"},
        follow=True,
    )
    html = response.content.decode()
    handoff.refresh_from_db()
    assert handoff.assignee == other_rep
    assert "関西担当へ" in html


def test_a_rep_takes_a_handoff_from_the_team_queue(
    rep_client: Client, sales_rep: User, admin_user: User
) -> None:
    team = services.team_save(
        team=None,
        name="東日本チーム",
        manager=None,
        share_records=False,
        member_ids=[sales_rep.pk],
        actor=admin_user,
    )
    services.routing_rule_save(
        rule=None,
        data={"name": "東日本キュー", "kind": "queue", "team": team, "is_active": True},
        actor=admin_user,
    )
    handoff = handoff_make(to=None, by=admin_user, family_name="待田")
    assert handoff.assignee is None

    assert "待田" in rep_client.get(reverse("handoff:inbox")).content.decode()
    rep_client.post(
        reverse("handoff:reassign", args=[handoff.pk]),
        {"to_user": sales_rep.pk, "reason": "キューから引き取り"},
    )
    handoff.refresh_from_db()
    assert handoff.assignee == sales_rep


def test_logging_a_call_records_the_first_touch(
    rep_client: Client, sales_rep: User, admin_user: User, english: None
) -> None:
    with clock.frozen(tokyo(2026, 6, 2, 10, 0)):
        handoff = handoff_make(to=sales_rep, by=admin_user)
    with clock.frozen(tokyo(2026, 6, 2, 10, 25)):
        response = rep_client.post(
            reverse("handoff:activity", args=[handoff.pk]),
            {"kind": "call", "subject": "初回架電", "body": "デモ日程を調整"},
            follow=True,
        )
    html = response.content.decode()
    assert SalesActivity.objects.filter(contact=handoff.contact, kind="call").exists()
    assert "初回架電" in html
    assert "Speed to lead" in html
    handoff.refresh_from_db()
    assert handoff.first_touch_at is not None


def test_activity_form_errors_are_shown(
    rep_client: Client, sales_rep: User, admin_user: User
) -> None:
    handoff = handoff_make(to=sales_rep, by=admin_user)
    response = rep_client.post(
        reverse("handoff:activity", args=[handoff.pk]), {"kind": "fax", "subject": "x"}
    )
    assert response.status_code == 422
    assert "field--invalid" in response.content.decode()
    assert not SalesActivity.objects.filter(contact=handoff.contact).exists()


def test_the_alert_content_is_on_the_handoff_page(
    rep_client: Client, sales_rep: User, admin_user: User
) -> None:
    handoff = handoff_make(
        to=sales_rep,
        by=admin_user,
        family_name="鈴木",
        given_name="一郎",
        company_name="株式会社テスト工業",
        title="ITマネージャー",
    )
    html = rep_client.get(reverse("handoff:detail", args=[handoff.pk])).content.decode()
    assert "鈴木 一郎" in html
    assert "株式会社テスト工業" in html
    assert "ITマネージャー" in html
    assert "デモ申し込み" in html
    assert "24時間以内にメールまたは電話でご連絡ください" in html


# --- escaping -----------------------------------------------------------------------------------


def test_untrusted_text_is_escaped(rep_client: Client, sales_rep: User, admin_user: User) -> None:
    handoff = handoff_make(
        to=sales_rep,
        by=admin_user,
        family_name="<script>alert(1)</script>",
        company_name="<script>co</script>株式会社",
    )
    services.activity_log(
        contact=handoff.contact, actor=sales_rep, kind="note", body="<script>note()</script>"
    )
    for url in (reverse("handoff:inbox"), reverse("handoff:detail", args=[handoff.pk])):
        html = rep_client.get(url).content.decode()
        assert "<script>alert(1)" not in html
        assert "<script>co" not in html
        assert "<script>note()" not in html
        assert "&lt;script&gt;alert(1)" in html


# --- the contact panel ------------------------------------------------------------------------


def _panel(contact: Contact, user: User) -> str:
    request = RequestFactory().get("/")
    request.user = user
    return Template("{% load handoff_ui %}{% handoff_panel contact user %}").render(
        Context({"contact": contact, "user": user, "request": request})
    )


def test_panel_shows_the_open_handoff_in_few_queries(
    sales_rep: User, admin_user: User, english: None
) -> None:
    handoff = handoff_make(to=sales_rep, by=admin_user)
    services.activity_log(contact=handoff.contact, actor=sales_rep, kind="note", subject="架電予定")
    contact = Contact.objects.get(pk=handoff.contact_id)
    user = User.objects.get(pk=sales_rep.pk)
    user.has_perm("handoff.view_handoff")  # the contact page has loaded the permissions already
    with CaptureQueriesContext(connection) as queries:
        html = _panel(contact, user)
    assert len(queries) <= 3, [q["sql"] for q in queries]
    assert reverse("handoff:detail", args=[handoff.pk]) in html
    assert "data-sla-due" in html
    assert "架電予定" in html


def test_panel_shows_the_last_outcome(sales_rep: User, admin_user: User, english: None) -> None:
    handoff = handoff_make(to=sales_rep, by=admin_user)
    services.handoff_reject(handoff=handoff, actor=sales_rep, reason="duplicate")
    html = _panel(Contact.objects.get(pk=handoff.contact_id), sales_rep)
    assert "Duplicate" in html
    assert "data-sla-due" not in html


def test_panel_logs_an_activity_with_htmx(
    rep_client: Client, sales_rep: User, admin_user: User
) -> None:
    handoff = handoff_make(to=sales_rep, by=admin_user)
    url = reverse("handoff:contact_activity", args=[handoff.contact_id])
    response = rep_client.post(
        url, {"kind": "meeting", "subject": "<b>商談</b>"}, headers={"HX-Request": "true"}
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert 'id="handoff-panel"' in html
    assert "&lt;b&gt;商談&lt;/b&gt;" in html
    assert SalesActivity.objects.filter(contact_id=handoff.contact_id, kind="meeting").exists()

    response = rep_client.post(url, {"kind": ""}, headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert "field--invalid" in response.content.decode()
