"""The small stories the report tests play through the real services: a nurture sequence
(enrolment, tick, delivery, opens, clicks, a conversion, an opt-out, a bounce), an A/B-tested
step, a week of handoffs to two reps, and two reps' deals over May and June 2026."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pytest
from django.contrib.auth.models import User

from sokyaku.contacts.models import Contact
from sokyaku.core import clock
from sokyaku.deals import services as deal_services
from sokyaku.handoff import services as handoff_services
from sokyaku.handoff.models import HandoffTrigger, RejectReason
from sokyaku.messaging.models import Message
from sokyaku.sequences.models import Enrollment, Sequence, Step
from sokyaku.sequences.services.enrollment import GOAL, enrollment_finish, sequence_enroll
from sokyaku.sequences.services.tick import sequences_tick
from tests.analytics.reports_factories import (
    call,
    click_mail,
    deliver,
    goal_action,
    handoff_to,
    hard_bounce,
    mail,
    open_mail,
    unsubscribe,
)
from tests.deals.factories import deal_make, user_make
from tests.handoff.factories import lead_make, rep_make, transactional_sender
from tests.handoff.factories import trigger_make as handoff_trigger_make
from tests.sequences.factories import (
    contact_make,
    email,
    sender_make,
    sequence_make,
    template_make,
    tokyo,
    wait,
)


def mail_steps(sequence: Sequence) -> list[Step]:
    """The sequence's mail steps in order."""
    return list(Step.objects.filter(sequence=sequence, kind="email").order_by("position"))


@dataclass
class Nurture:
    sequence: Sequence
    steps: list[Step]
    contacts: list[Contact]


@pytest.fixture
def nurture() -> Nurture:
    """「資料請求フォロー」: mail 1 at once, a day's wait, mail 2. Four leads enrol on Monday
    2026-06-01 10:00 and get mail 1; then

    - 佐藤 opens, clicks and books a demo 20 minutes later (a conversion), and reaches the goal;
    - 鈴木 opens;
    - 高橋 unsubscribes through the mail;
    - 田中's address bounces.

    Mail 2 goes on Tuesday (outside a Monday-only period).
    """
    with clock.frozen(tokyo(2026, 6, 1, 10, 0)):
        sequence = sequence_make(
            name="資料請求フォロー", steps=[email(name="お礼"), wait(1, "days"), email(name="事例")]
        )
        contacts = [
            contact_make(family_name=name, email=f"{slug}@example.jp")
            for name, slug in (("佐藤", "sato"), ("鈴木", "suzuki"), ("高橋", "takahashi"),
                               ("田中", "tanaka"))
        ]  # fmt: skip
        for contact in contacts:
            sequence_enroll(sequence=sequence, contact=contact)
        sequences_tick()
        for message in Message.objects.filter(sequence_id=sequence.pk):
            deliver(message)
    sato, suzuki, takahashi, tanaka = contacts
    first = {m.contact_id: m for m in Message.objects.filter(sequence_id=sequence.pk)}
    with clock.frozen(tokyo(2026, 6, 1, 10, 5)):
        click_mail(first[sato.pk])
        open_mail(first[suzuki.pk])
        unsubscribe(first[takahashi.pk])
        hard_bounce(first[tanaka.pk])
    with clock.frozen(tokyo(2026, 6, 1, 10, 25)):
        goal_action(sato, "demo_requested")
        enrollment_finish(
            enrollment=Enrollment.objects.get(sequence=sequence, contact=sato), reason=GOAL
        )
    with clock.frozen(tokyo(2026, 6, 2, 10, 0)):
        sequences_tick()
        for message in Message.objects.filter(sequence_id=sequence.pk, sent_at__isnull=True):
            deliver(message)
    return Nurture(sequence=sequence, steps=mail_steps(sequence), contacts=contacts)


@pytest.fixture
def ab_test() -> tuple[Sequence, list[Step]]:
    """Step 1 of 「ウェビナー案内」 tested with two subjects: A to three leads (one opens, one
    clicks and registers for the webinar), B to two (both open). Step 2 has no variants."""
    sender, template = sender_make(), template_make()
    with clock.frozen(tokyo(2026, 6, 3, 10, 0)):
        sequence = sequence_make(name="ウェビナー案内", steps=[email(), email()])
        step_1, step_2 = mail_steps(sequence)
        a = [mail(contact=contact_make(), sender=sender, template=template, step=step_1,
                  variant="A") for _ in range(3)]  # fmt: skip
        b = [mail(contact=contact_make(), sender=sender, template=template, step=step_1,
                  variant="B") for _ in range(2)]  # fmt: skip
        plain = mail(contact=contact_make(), sender=sender, template=template, step=step_2)
    with clock.frozen(tokyo(2026, 6, 3, 12, 0)):
        open_mail(a[0])
        click_mail(a[1])
        for message in b:
            open_mail(message)
        open_mail(plain)
    with clock.frozen(tokyo(2026, 6, 4, 9, 0)):
        assert a[1].contact is not None
        goal_action(a[1].contact, "webinar_registered", webinar="6月ウェビナー")
    return sequence, [step_1, step_2]


@dataclass
class SalesWeek:
    tanaka: User
    suzuki: User
    demo: HandoffTrigger
    pricing: HandoffTrigger


@pytest.fixture
def sales_week() -> SalesWeek:
    """Four leads handed to sales on Monday 2026-06-01 10:00 (SLA: 24 business hours, so
    Tuesday 10:00), and one on the Sunday before:

    - 田中 calls lead 1 at 10:30, accepts it and opens a deal (it becomes an opportunity);
    - 田中 rejects lead 2 at 12:00: no budget;
    - 鈴木 calls lead 3 on Wednesday 11:00 (SLA breached), then rejects it: no budget;
    - lead 4 (鈴木) is still open, untouched.
    """
    transactional_sender()
    tanaka, suzuki = rep_make("田中", "健太"), rep_make("鈴木", "花子")
    demo = handoff_trigger_make(name="デモ申し込み", action_label="デモ申し込み")
    pricing = handoff_trigger_make(
        name="料金ページ閲覧", event_type="page_view", action_label="料金ページ閲覧"
    )
    leads = [lead_make() for _ in range(5)]
    with clock.frozen(tokyo(2026, 5, 31, 10, 0)):
        handoff_to(leads[4], demo, tanaka)
    with clock.frozen(tokyo(2026, 6, 1, 10, 0)):
        h1 = handoff_to(leads[0], demo, tanaka)
        h2 = handoff_to(leads[1], demo, tanaka)
        h3 = handoff_to(leads[2], pricing, suzuki)
        handoff_to(leads[3], pricing, suzuki)
    with clock.frozen(tokyo(2026, 6, 1, 10, 30)):
        call(leads[0], tanaka)
        handoff_services.handoff_accept(handoff=h1, actor=tanaka)
        deal_make(owner=tanaka, contact=leads[0], amount=1_200_000)
    with clock.frozen(tokyo(2026, 6, 1, 12, 0)):
        handoff_services.handoff_reject(
            handoff=h2, actor=tanaka, reason=RejectReason.NO_BUDGET, note="来期に再検討"
        )
    with clock.frozen(tokyo(2026, 6, 3, 11, 0)):
        call(leads[2], suzuki)
        handoff_services.handoff_reject(handoff=h3, actor=suzuki, reason=RejectReason.NO_BUDGET)
    return SalesWeek(tanaka=tanaka, suzuki=suzuki, demo=demo, pricing=pricing)


@pytest.fixture
def two_reps() -> tuple[User, User]:
    """佐藤: ¥1,000,000 in 提案 (30 %) closing 5/20, ¥500,000 in 交渉 (60 %) closing 6/10.
    鈴木: wins ¥800,000 on 5/15 and ¥400,000 on 6/1 00:30 JST. All opened on 5/1; a deal
    opened and won on 4/30 falls outside."""
    sato, suzuki = user_make(name="sato"), user_make(name="suzuki")
    User.objects.filter(pk=sato.pk).update(last_name="佐藤", first_name="一郎")
    User.objects.filter(pk=suzuki.pk).update(last_name="鈴木", first_name="次郎")
    with clock.frozen(tokyo(2026, 4, 30, 23, 30)):
        early = deal_make(owner=suzuki, amount=999)
        deal_services.deal_win(deal=early, actor=suzuki)
    with clock.frozen(tokyo(2026, 5, 1, 10, 0)):
        deal_make(owner=sato, amount=1_000_000, stage_name="提案", expected_close=date(2026, 5, 20))
        deal_make(owner=sato, amount=500_000, stage_name="交渉", expected_close=date(2026, 6, 10))
        may_win = deal_make(owner=suzuki, amount=800_000)
        june_win = deal_make(owner=suzuki, amount=400_000)
    with clock.frozen(tokyo(2026, 5, 15, 10, 0)):
        deal_services.deal_win(deal=may_win, actor=suzuki)
    with clock.frozen(tokyo(2026, 6, 1, 0, 30)):
        deal_services.deal_win(deal=june_win, actor=suzuki)
    return sato, suzuki
