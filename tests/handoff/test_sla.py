"""The SLA clock: deadlines on business days (weekends, national holidays and 年末年始 add no
time), one reminder and one escalation as the clock moves, speed to lead from the first touch."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection, connections

from sokyaku.core import clock
from sokyaku.handoff import services
from sokyaku.handoff.models import RuleKind, SlaState
from sokyaku.handoff.services.sla import sla_deadline
from sokyaku.messaging.models import Message
from tests.conftest import skip_or_fail
from tests.handoff.factories import (
    act,
    lead_make,
    open_handoff,
    rep_make,
    team_make,
    to,
    tokyo,
    transactional_sender,
    trigger_make,
)


@pytest.mark.parametrize(
    ("start", "hours", "business", "deadline"),
    [
        # Friday + 24 h: the weekend and 勤労感謝の日 (Monday 11/23) add no time.
        (tokyo(2026, 11, 20, 10, 5), 24, True, tokyo(2026, 11, 24, 10, 5)),
        # Created on Saturday: counting starts at 0:00 of the next business day (Tuesday).
        (tokyo(2026, 11, 21, 15, 0), 24, True, tokyo(2026, 11, 25, 0, 0)),
        (tokyo(2026, 11, 24, 23, 0), 2, True, tokyo(2026, 11, 25, 1, 0)),
        # 年末年始 (12-29 – 01-03) is closed.
        (tokyo(2026, 12, 28, 10, 0), 24, True, tokyo(2027, 1, 4, 10, 0)),
        # Plain hours when business days are off.
        (tokyo(2026, 11, 20, 10, 5), 24, False, tokyo(2026, 11, 21, 10, 5)),
        (tokyo(2026, 11, 20, 10, 5), 48, True, tokyo(2026, 11, 25, 10, 5)),
    ],
)
def test_the_deadline_counts_business_days_only(start, hours, business, deadline) -> None:  # type: ignore[no-untyped-def]
    assert sla_deadline(start=start, hours=hours, business_days_only=business) == deadline


@pytest.fixture
def team_with_manager(db):  # type: ignore[no-untyped-def]
    transactional_sender()
    rep = rep_make("田中", "健太", email="tanaka@sales.example")
    manager = rep_make("部長", "一郎", email="boss@sales.example")
    team = team_make(rep, manager=manager)
    services.routing_rule_save(
        rule=None, data={"name": "営業部", "kind": RuleKind.ROUND_ROBIN, "team": team}, actor=None
    )
    trigger_make(reminder_minutes=120)
    return rep, manager


def _subjects(messages, address):  # type: ignore[no-untyped-def]
    return [m["Subject"] for m in to(messages, address)]


@pytest.mark.django_db
def test_reminder_and_escalation_fire_exactly_once_as_the_clock_moves(
    team_with_manager,  # type: ignore[no-untyped-def]
    smtp_server,  # type: ignore[no-untyped-def]
    django_capture_on_commit_callbacks,  # type: ignore[no-untyped-def]
) -> None:
    lead = lead_make(family_name="山田", given_name="太郎")
    with clock.frozen(tokyo(2026, 11, 20, 10, 5)):  # Friday
        with django_capture_on_commit_callbacks(execute=True):
            act(lead, "demo_requested")
        handoff = open_handoff(lead)
        assert handoff.sla_due_at == tokyo(2026, 11, 24, 10, 5)
        assert handoff.reminder_at == tokyo(2026, 11, 24, 8, 5)
        counts = []
        # when the clock runs to Tuesday noon, the tick every 30 minutes
        while clock.now() < tokyo(2026, 11, 24, 12, 0):
            clock.advance(timedelta(minutes=30))
            with django_capture_on_commit_callbacks(execute=True):
                counts.append(services.sla_tick())
    received = smtp_server.wait_for(3)
    # then one reminder to the rep before the deadline, one escalation to the manager after it
    assert sum(c["reminders"] for c in counts) == 1
    assert sum(c["escalations"] for c in counts) == 1
    assert _subjects(received, "tanaka@sales.example") == [
        "【デモ申し込み通知】山田 太郎様がデモをお申し込みされました",
        "【対応期限のリマインド】山田 太郎様（デモ申し込み）",
    ]
    assert _subjects(received, "boss@sales.example") == [
        "【SLA超過】山田 太郎様（デモ申し込み）への対応期限を過ぎました"
    ]
    handoff.refresh_from_db()
    assert handoff.sla_state == SlaState.BREACHED
    assert handoff.reminded_at == tokyo(2026, 11, 24, 8, 5)
    assert handoff.escalated_at == tokyo(2026, 11, 24, 10, 5)
    # and a call after the breach is the first touch but the SLA stays breached
    with clock.frozen(tokyo(2026, 11, 24, 13, 0)):
        services.activity_log(contact=lead, actor=team_with_manager[0], kind="call")
    handoff.refresh_from_db()
    assert handoff.first_touch_at == tokyo(2026, 11, 24, 13, 0)
    assert handoff.sla_state == SlaState.BREACHED


@pytest.mark.django_db
def test_a_call_within_the_deadline_records_speed_to_lead_and_stops_the_timers(
    team_with_manager,  # type: ignore[no-untyped-def]
) -> None:
    rep = team_with_manager[0]
    lead = lead_make()
    with clock.frozen(tokyo(2026, 11, 24, 10, 5)):
        act(lead, "demo_requested")
        clock.advance(timedelta(minutes=3))
        # a note is not a touch
        services.activity_log(contact=lead, actor=rep, kind="note", body="資料を確認")
        assert open_handoff(lead).first_touch_at is None
        clock.advance(timedelta(minutes=4))
        services.activity_log(contact=lead, actor=rep, kind="call", subject="初回架電")
        handoff = open_handoff(lead)
        # then
        assert handoff.first_touch_at is not None and handoff.alerted_at is not None
        assert handoff.first_touch_at - handoff.alerted_at == timedelta(minutes=7)
        assert handoff.sla_state == SlaState.MET
        clock.advance(timedelta(days=3))
        assert services.sla_tick() == {"reminders": 0, "escalations": 0}


@pytest.mark.django_db
def test_accepting_counts_as_the_response(team_with_manager) -> None:  # type: ignore[no-untyped-def]
    rep = team_with_manager[0]
    lead = lead_make()
    with clock.frozen(tokyo(2026, 11, 24, 10, 5)):
        act(lead, "demo_requested")
        clock.advance(timedelta(hours=1))
        accepted = services.handoff_accept(handoff=open_handoff(lead), actor=rep)
    assert accepted.status == "accepted" and accepted.outcome == "sql"
    assert accepted.sla_state == SlaState.MET
    assert accepted.first_touch_at == tokyo(2026, 11, 24, 11, 5)


@pytest.mark.django_db(transaction=True)
def test_two_workers_send_each_reminder_and_escalation_once(team_with_manager) -> None:  # type: ignore[no-untyped-def]
    if connection.vendor != "postgresql":
        skip_or_fail("needs PostgreSQL (set DATABASE_URL) for FOR UPDATE SKIP LOCKED")
    with clock.frozen(tokyo(2026, 11, 24, 10, 0)):
        leads = [lead_make() for _ in range(12)]
        for lead in leads[:6]:
            act(lead, "demo_requested")
        clock.advance(timedelta(hours=23))  # past the reminder of these six
        for lead in leads[6:]:
            act(lead, "demo_requested")
        clock.advance(timedelta(hours=22, minutes=30))  # first six breached, the rest reminded
        counts: list[dict[str, int]] = []
        barrier = threading.Barrier(3)

        def worker() -> None:
            try:
                barrier.wait()
                counts.append(services.sla_tick())
            finally:
                connections.close_all()

        threads = [threading.Thread(target=worker) for _ in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert sum(c["escalations"] for c in counts) == 6
    assert sum(c["reminders"] for c in counts) == 6
    assert Message.objects.filter(dedupe_key__endswith=":escalation").count() == 6
    assert Message.objects.filter(dedupe_key__endswith=":reminder").count() == 6
