"""Triggers (MQL, hot actions with conditions, a CTA click in a sequence mail), who is handed
off (contacts only, not disqualified ones; customers go to their owner), and the inbox
services: reject → recycled into a nurture sequence or disqualified, with the reason visible."""

from __future__ import annotations

import pytest

from sokyaku.activity import services as activity_services
from sokyaku.activity.events import event_build
from sokyaku.activity.models import Event, EventSource, EventType
from sokyaku.core import clock
from sokyaku.core.errors import Conflict, ValidationError
from sokyaku.handoff import selectors, services
from sokyaku.handoff.models import Handoff, HandoffStatus, HandoffTrigger, RuleKind, TriggerKind
from sokyaku.lifecycle import selectors as lifecycle_selectors
from sokyaku.lifecycle import services as lifecycle_services
from sokyaku.lifecycle.models import StageChange
from sokyaku.messaging.models import Stream
from sokyaku.messaging.services.outbox import message_enqueue
from sokyaku.sequences.models import Enrollment
from tests.handoff.factories import (
    act,
    lead_make,
    open_handoff,
    rep_make,
    team_make,
    transactional_sender,
    trigger_make,
)
from tests.sequences.factories import sequence_make

pytestmark = pytest.mark.django_db


@pytest.fixture
def rep():  # type: ignore[no-untyped-def]
    transactional_sender()
    user = rep_make("田中", "健太")
    services.routing_rule_save(
        rule=None,
        data={"name": "営業部", "kind": RuleKind.ROUND_ROBIN, "team": team_make(user)},
        actor=None,
    )
    return user


def _handoffs(contact) -> int:  # type: ignore[no-untyped-def]
    return Handoff.objects.filter(contact=contact).count()


def test_presets_are_installed_once_and_each_one_hands_off(rep) -> None:  # type: ignore[no-untyped-def]
    # given
    first = services.trigger_presets_install()
    again = services.trigger_presets_install()
    assert [t.pk for t in first] == [t.pk for t in again]
    assert HandoffTrigger.objects.filter(is_active=True).count() == 5
    demo, inquiry, pricing, other_page = lead_make(), lead_make(), lead_make(), lead_make()
    # when
    act(demo, "demo_requested")
    act(inquiry, "inquiry", subject="導入費用について")
    act(pricing, "page_view", url="https://sample.example/pricing?plan=pro")
    act(other_page, "page_view", url="https://sample.example/blog/it-infra")
    # then
    assert open_handoff(demo).action_label == "デモ申し込み"
    assert open_handoff(inquiry).interest == "導入費用について"
    assert open_handoff(pricing).action_label == "料金ページ閲覧"
    assert _handoffs(other_page) == 0


def test_entering_mql_hands_the_lead_off(rep) -> None:  # type: ignore[no-untyped-def]
    services.trigger_presets_install()
    lead = lead_make()
    # when an MQL rule (here: a person) moves the lead to MQL
    lifecycle_services.stage_change(contact=lead, to_stage="mql", source="rule")
    # then
    handoff = open_handoff(lead)
    assert handoff.trigger_kind == TriggerKind.MQL
    assert handoff.assignee == rep


def test_a_cta_click_in_a_sequence_mail_hands_off_but_a_click_elsewhere_does_not(rep) -> None:  # type: ignore[no-untyped-def]
    services.trigger_presets_install()
    in_sequence, broadcast = lead_make(), lead_make()
    step_mail, _ = message_enqueue(
        dedupe_key="seq-mail", contact=in_sequence, stream=Stream.MARKETING, sequence_id=7
    )
    other_mail, _ = message_enqueue(dedupe_key="news", contact=broadcast, stream=Stream.MARKETING)
    step_mail.subject = "【無料デモのご案内】ITインフラ更新の効果を体感しませんか？"
    step_mail.save(update_fields=["subject"])
    # when both click a link
    act(in_sequence, "email_clicked", message_id=step_mail.pk, url="https://sample.example/demo")
    act(broadcast, "email_clicked", message_id=other_mail.pk, url="https://sample.example/demo")
    # then
    handoff = open_handoff(in_sequence)
    assert handoff.action_label == "メールCTAクリック"
    assert handoff.interest == "【無料デモのご案内】ITインフラ更新の効果を体感しませんか？"
    assert _handoffs(broadcast) == 0


def test_conditions_compare_numbers_and_words(rep) -> None:  # type: ignore[no-untyped-def]
    trigger_make(
        event_type="cart_abandoned",
        action_label="高額カート放棄",
        conditions=[
            {"property": "amount_jpy", "op": "gte", "value": 100000},
            {"property": "fields.plan", "op": "eq", "value": "enterprise"},
        ],
    )
    big, small = lead_make(), lead_make()
    act(big, "cart_abandoned", amount_jpy=120000, fields={"plan": "enterprise"})
    act(small, "cart_abandoned", amount_jpy=99000, fields={"plan": "enterprise"})
    assert _handoffs(big) == 1 and _handoffs(small) == 0


@pytest.mark.parametrize("wanted", [5, "5"])
def test_amount_5_and_amount_text_5_hand_off_the_same_leads(rep, wanted) -> None:  # type: ignore[no-untyped-def]
    # given a trigger on "amount = 5", the 5 written as a number or as text
    trigger_make(
        event_type="cart_abandoned",
        action_label="カート放棄",
        conditions=[{"property": "amount", "op": "eq", "value": wanted}],
    )
    number, text, wide, other = lead_make(), lead_make(), lead_make(), lead_make()
    # when carts carry the amount as a number, as text, in full width, or another amount
    act(number, "cart_abandoned", amount=5)
    act(text, "cart_abandoned", amount="5")
    act(wide, "cart_abandoned", amount="５")
    act(other, "cart_abandoned", amount=50)
    # then the same three leads go to sales either way
    assert [_handoffs(c) for c in (number, text, wide, other)] == [1, 1, 1, 0]


def test_words_compare_without_case_or_width(rep) -> None:  # type: ignore[no-untyped-def]
    trigger_make(
        event_type="cart_abandoned",
        action_label="エンタープライズ",
        conditions=[{"property": "fields.plan", "op": "eq", "value": "Enterprise"}],
    )
    upper, wide, other = lead_make(), lead_make(), lead_make()
    act(upper, "cart_abandoned", fields={"plan": "ENTERPRISE"})
    act(wide, "cart_abandoned", fields={"plan": "ｅｎｔｅｒｐｒｉｓｅ"})
    act(other, "cart_abandoned", fields={"plan": "enterprises"})
    assert [_handoffs(c) for c in (upper, wide, other)] == [1, 1, 0]


def test_anonymous_events_hand_off_once_the_visitor_is_known(rep) -> None:  # type: ignore[no-untyped-def]
    services.trigger_presets_install()
    lead = lead_make()
    # when a visitor (not known yet) looks at the pricing page
    activity_services.event_ingest(
        event=event_build(
            type=EventType.PAGE_VIEW,
            occurred_at=clock.now(),
            source=EventSource.TRACKING,
            properties={"url": "https://sample.example/pricing"},
            visitor_id="v-1",
        )
    )
    assert Handoff.objects.count() == 0
    # and then identifies through a form
    activity_services.visitor_identify(visitor_id="v-1", contact_id=lead.pk)
    # then
    assert open_handoff(lead).action_label == "料金ページ閲覧"


def test_disqualified_contacts_are_not_handed_off_and_customers_go_to_their_owner(rep) -> None:  # type: ignore[no-untyped-def]
    trigger_make()
    owner = rep_make("顧客", "担当")
    rejected = lead_make()
    lifecycle_services.contact_disqualify(contact=rejected, reason="競合")
    customer = lead_make(owner_id=owner.pk)
    lifecycle_services.stage_change(contact=customer, to_stage="customer", source="user")
    # when both request a demo
    act(rejected, "demo_requested")
    act(customer, "demo_requested")
    # then
    assert _handoffs(rejected) == 0
    assert open_handoff(customer).assignee == owner


def test_inactive_triggers_do_nothing(rep) -> None:  # type: ignore[no-untyped-def]
    trigger = trigger_make()
    services.trigger_save(trigger=trigger, data={"is_active": False}, actor=None)
    lead = lead_make()
    act(lead, "demo_requested")
    assert _handoffs(lead) == 0


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"event_type": "handoff_created"}, "event_type"),
        ({"event_type": "email_sent"}, "event_type"),
        ({"event_type": ""}, "event_type"),
        ({"conditions": [{"property": "url", "op": "like", "value": "x"}]}, "conditions.0.op"),
        (
            {"conditions": [{"property": "amount", "op": "gte", "value": "many"}]},
            "conditions.0.value",
        ),
        ({"conditions": [{"op": "eq", "value": "x"}]}, "conditions.0.property"),
        ({"action_label": ""}, "action_label"),
        ({"sla_hours": 0}, "sla_hours"),
    ],
)
def test_trigger_input_is_checked(data: dict, field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        trigger_make(**data)
    assert field in caught.value.field_errors


def test_reject_recycles_into_a_nurture_sequence_with_the_reason_visible(rep) -> None:  # type: ignore[no-untyped-def]
    # given
    trigger_make()
    nurture = sequence_make(name="ナーチャリング（再育成）")
    lead = lead_make()
    act(lead, "demo_requested")
    handoff = open_handoff(lead)
    # when
    rejected = services.handoff_reject(
        handoff=handoff,
        actor=rep,
        reason="no_budget",
        note="来期の予算で再検討",
        outcome="recycled",
        sequence=nurture,
    )
    # then
    assert rejected.status == HandoffStatus.REJECTED
    assert (rejected.reject_reason, rejected.outcome) == ("no_budget", "recycled")
    assert lifecycle_selectors.stage_get(contact_id=lead.pk) == "recycled"
    change = StageChange.objects.filter(contact=lead).latest("id")
    assert change.reason == "予算なし: 来期の予算で再検討"
    assert change.actor == rep
    assert Enrollment.objects.filter(contact=lead, sequence=nurture, status="active").exists()
    event = Event.objects.filter(contact=lead, type=EventType.HANDOFF_REJECTED).get()
    assert event.properties["reason"] == "no_budget"
    assert event.properties["note"] == "来期の予算で再検討"
    # and a closed handoff cannot be rejected or accepted again
    with pytest.raises(Conflict):
        services.handoff_accept(handoff=rejected, actor=rep)
    # and a new hot action opens a new handoff
    act(lead, "demo_requested")
    assert _handoffs(lead) == 2


def test_reject_can_disqualify_but_not_into_a_sequence(rep) -> None:  # type: ignore[no-untyped-def]
    trigger_make()
    lead = lead_make()
    act(lead, "demo_requested")
    handoff = open_handoff(lead)
    with pytest.raises(ValidationError) as caught:
        services.handoff_reject(
            handoff=handoff,
            actor=rep,
            reason="not_fit",
            outcome="disqualified",
            sequence=sequence_make(),
        )
    assert "sequence" in caught.value.field_errors
    with pytest.raises(ValidationError) as caught:
        services.handoff_reject(handoff=handoff, actor=rep, reason="because")
    assert "reason" in caught.value.field_errors
    services.handoff_reject(handoff=handoff, actor=rep, reason="competitor", outcome="disqualified")
    assert lifecycle_selectors.stage_get(contact_id=lead.pk) == "disqualified"


def test_activities_are_on_the_timeline_and_listed_for_the_rep(rep) -> None:  # type: ignore[no-untyped-def]
    trigger_make()
    lead = lead_make()
    act(lead, "demo_requested")
    services.activity_log(contact=lead, actor=rep, kind="mail", subject="デモ日程のご相談")
    services.activity_log(contact=lead, actor=rep, kind="meeting", subject="オンラインデモ")
    types = set(Event.objects.filter(contact=lead).values_list("type", flat=True))
    assert {"sales_email", "meeting", "handoff_created"} <= types
    listed = selectors.activity_list(user=rep, contact_id=lead.pk)
    assert [a.kind for a in listed] == ["meeting", "mail"]
    with pytest.raises(ValidationError) as caught:
        services.activity_log(contact=lead, actor=rep, kind="note")
    assert "body" in caught.value.field_errors


def test_a_rejected_lead_re_entering_mql_is_not_handed_back_at_once(rep) -> None:  # type: ignore[no-untyped-def]
    services.trigger_presets_install()
    lead = lead_make()
    lifecycle_services.stage_change(contact=lead, to_stage="mql", source="rule")
    services.handoff_reject(handoff=open_handoff(lead), actor=rep, reason="bad_timing")
    # when an MQL rule moves the recycled lead back to MQL
    lifecycle_services.stage_change(contact=lead, to_stage="mql", source="rule")
    # then sales is not paged again; a demo request still is
    assert _handoffs(lead) == 1
    act(lead, "demo_requested")
    assert _handoffs(lead) == 2
