"""Routing: rules in order (account owner, territory, industry, round-robin skipping reps who are
away, queue), the general queue when nothing matches, rules that can match nobody refused at
save, and reassigning with a reason."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import timedelta

import pytest
from django.db import connection, connections

from sokyaku.core import clock
from sokyaku.core.errors import ValidationError
from sokyaku.core.models import TeamMember
from sokyaku.handoff import selectors, services
from sokyaku.handoff.models import Handoff, HandoffAssignment, RuleKind
from tests.conftest import skip_or_fail
from tests.handoff.factories import (
    act,
    company_owner_set,
    lead_make,
    rep_make,
    team_make,
    tokyo,
    transactional_sender,
    trigger_make,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _setup() -> None:
    transactional_sender()
    trigger_make()


def _rule(kind: str, **data: object):  # type: ignore[no-untyped-def]
    return services.routing_rule_save(
        rule=None, data={"name": f"{kind} rule", "kind": kind, **data}, actor=None
    )


def _hand_off(contact):  # type: ignore[no-untyped-def]
    act(contact, "demo_requested", product="ITインフラ更新ソリューション")
    return selectors.handoff_open_for(contact_id=contact.pk)


def test_account_owner_comes_first_and_the_company_owner_before_the_contact_owner() -> None:
    # given
    company_rep, contact_rep, territory_rep = rep_make("佐藤"), rep_make("鈴木"), rep_make("高橋")
    _rule(RuleKind.ACCOUNT_OWNER)
    _rule(RuleKind.TERRITORY, prefectures=[13], assignee=territory_rep)
    owned = lead_make(prefecture=13, owner_id=contact_rep.pk)
    company_owned = lead_make(prefecture=13, owner_id=contact_rep.pk)
    company_owner_set(company_owned, company_rep)
    # when
    first, second = _hand_off(owned), _hand_off(company_owned)
    # then
    assert first.assignee == contact_rep
    assert first.routing_rule.kind == RuleKind.ACCOUNT_OWNER
    assert second.assignee == company_rep
    assert "佐藤 健太" in second.routing_note


def test_territory_matches_the_contact_prefecture_else_the_company_prefecture() -> None:
    # given
    tokyo_rep, osaka_rep = rep_make("東"), rep_make("西")
    _rule(RuleKind.TERRITORY, prefectures=[13, 14], assignee=tokyo_rep)
    _rule(RuleKind.TERRITORY, prefectures=[27], assignee=osaka_rep)
    in_tokyo = lead_make(prefecture=13)
    company_in_osaka = lead_make(company_prefecture=27)
    # when
    first, second = _hand_off(in_tokyo), _hand_off(company_in_osaka)
    # then
    assert first.assignee == tokyo_rep
    assert "東京都 → 東 健太" in first.routing_note
    assert second.assignee == osaka_rep
    # and the rep became the contact's owner, with the assignment recorded
    in_tokyo.refresh_from_db()
    assert in_tokyo.owner == tokyo_rep
    assert HandoffAssignment.objects.filter(handoff=first, to_user=tokyo_rep).exists()


def test_industry_rule_takes_turns_in_its_team() -> None:
    # given
    a, b = rep_make("青木"), rep_make("石井")
    team = team_make(a, b)
    _rule(RuleKind.INDUSTRY, industries=["G"], team=team)
    leads = [lead_make(industry="G") for _ in range(3)]
    other = lead_make(industry="E")
    # when
    with clock.frozen(tokyo(2026, 11, 24, 10, 0)):
        assignees = []
        for lead in leads:
            assignees.append(_hand_off(lead).assignee)
            clock.advance(timedelta(minutes=1))
        unmatched = _hand_off(other)
    # then
    assert assignees == [a, b, a]
    assert unmatched.assignee is None
    assert unmatched.routing_rule is None


def test_round_robin_alternates_and_skips_reps_who_are_away() -> None:
    # given three reps, one of them away until tomorrow
    a, b, c = rep_make("青木"), rep_make("石井"), rep_make("上田")
    team = team_make(a, b, c)
    _rule(RuleKind.ROUND_ROBIN, team=team)
    with clock.frozen(tokyo(2026, 11, 24, 10, 0)):
        services.member_away_set(
            member=TeamMember.objects.get(team=team, user=b),
            is_away=True,
            away_until=clock.now() + timedelta(days=1),
            actor=None,
        )
        # when four leads come in
        today = []
        for _ in range(4):
            today.append(_hand_off(lead_make()).assignee)
            clock.advance(timedelta(minutes=1))
        # and the next day, when b is back
        clock.advance(timedelta(days=1))
        tomorrow = _hand_off(lead_make()).assignee
    # then
    assert today == [a, c, a, c]
    assert tomorrow == b


def test_no_matching_rule_leaves_the_handoff_in_the_general_queue() -> None:
    # given a territory rule for Osaka only
    _rule(RuleKind.TERRITORY, prefectures=[27], assignee=rep_make())
    lead = lead_make(prefecture=13)
    # when
    handoff = _hand_off(lead)
    # then
    assert handoff.assignee is None and handoff.team is None
    assert handoff.routing_rule is None and handoff.routing_note
    lead.refresh_from_db()
    assert lead.owner is None


def test_a_queue_rule_parks_the_handoff_in_its_team_and_rule_order_decides() -> None:
    # given
    rep = rep_make()
    team = team_make(rep)
    queue = _rule(RuleKind.QUEUE, team=team)
    _rule(RuleKind.ROUND_ROBIN, team=team)
    # when the queue comes first
    parked = _hand_off(lead_make())
    # and after moving the round-robin above it
    services.routing_rule_move(rule=queue, up=False, actor=None)
    assigned = _hand_off(lead_make())
    # then
    assert parked.assignee is None and parked.team == team
    assert assigned.assignee == rep


def test_inactive_reps_are_skipped_and_the_preview_explains_the_choice() -> None:
    # given
    gone, here = rep_make("退職"), rep_make("在籍")
    team = team_make(gone, here)
    _rule(RuleKind.ROUND_ROBIN, team=team)
    gone.is_active = False
    gone.save(update_fields=["is_active"])
    lead = lead_make()
    # when
    preview = selectors.routing_preview(contact=lead)
    # then
    assert preview.assignee == here
    assert "在籍 健太" in preview.note
    assert selectors.handoff_open_for(contact_id=lead.pk) is None


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"kind": RuleKind.TERRITORY, "prefectures": []}, "prefectures"),
        ({"kind": RuleKind.INDUSTRY, "industries": []}, "industries"),
        ({"kind": RuleKind.TERRITORY, "prefectures": [13]}, "team"),
        ({"kind": RuleKind.ROUND_ROBIN}, "team"),
        ({"kind": RuleKind.TERRITORY, "prefectures": [99]}, "prefectures"),
        ({"kind": RuleKind.INDUSTRY, "industries": ["ZZ"]}, "industries"),
    ],
)
def test_a_rule_that_can_match_nobody_is_refused_at_save(data: dict, field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        services.routing_rule_save(rule=None, data={"name": "ルール", **data}, actor=None)
    assert field in caught.value.field_errors


def test_rules_whose_people_are_inactive_are_refused_at_save() -> None:
    # given
    inactive = rep_make(active=False)
    empty_team = team_make()
    leaver = rep_make()
    team_of_inactive = team_make(leaver)
    leaver.is_active = False
    leaver.save(update_fields=["is_active"])
    # then
    cases = [
        ({"kind": RuleKind.TERRITORY, "prefectures": [13], "assignee": inactive}, "assignee"),
        ({"kind": RuleKind.ROUND_ROBIN, "team": empty_team}, "team"),
        ({"kind": RuleKind.ROUND_ROBIN, "team": team_of_inactive.pk}, "team"),
    ]
    for data, field in cases:
        with pytest.raises(ValidationError) as caught:
            services.routing_rule_save(rule=None, data={"name": "ルール", **data}, actor=None)
        assert caught.value.field_errors.keys() == {field}


def test_reassign_moves_the_lead_with_a_reason_and_refuses_an_inactive_user() -> None:
    # given
    first, second, gone = rep_make("一"), rep_make("二"), rep_make("三", active=False)
    admin = rep_make("管理", role="admin")
    _rule(RuleKind.ROUND_ROBIN, team=team_make(first))
    lead = lead_make()
    handoff = _hand_off(lead)
    # when / then: an inactive user is refused
    with pytest.raises(ValidationError) as caught:
        services.handoff_reassign(handoff=handoff, to_user=gone, reason="休暇中", actor=admin)
    assert "assignee" in caught.value.field_errors
    # and a reason is required
    with pytest.raises(ValidationError) as caught:
        services.handoff_reassign(handoff=handoff, to_user=second, reason=" ", actor=admin)
    assert "reason" in caught.value.field_errors
    # when reassigned properly
    moved = services.handoff_reassign(
        handoff=handoff, to_user=second, reason="担当業界が違うため", actor=admin
    )
    # then
    lead.refresh_from_db()
    assert moved.assignee == second and lead.owner == second
    last = HandoffAssignment.objects.filter(handoff=handoff).last()
    assert last is not None
    assert (last.from_user, last.to_user, last.by, last.reason) == (
        first,
        second,
        admin,
        "担当業界が違うため",
    )


def test_round_robin_alternates_within_the_same_instant() -> None:
    a, b = rep_make("青木"), rep_make("石井")
    _rule(RuleKind.ROUND_ROBIN, team=team_make(a, b))
    with clock.frozen(tokyo(2026, 11, 24, 10, 0)):
        assignees = [_hand_off(lead_make()).assignee for _ in range(4)]
    assert assignees == [a, b, a, b]


@pytest.mark.django_db(transaction=True)
def test_concurrent_handoffs_take_turns_in_the_team() -> None:
    if connection.vendor != "postgresql":
        skip_or_fail("needs PostgreSQL (set DATABASE_URL) for row locks between transactions")
    # given two reps taking turns, and eight leads requesting a demo at the same moment
    a, b = rep_make("青木"), rep_make("石井")
    _rule(RuleKind.ROUND_ROBIN, team=team_make(a, b))
    leads = [lead_make() for _ in range(8)]
    barrier = threading.Barrier(len(leads))

    def request(lead) -> None:  # type: ignore[no-untyped-def]
        try:
            barrier.wait()
            act(lead, "demo_requested")
        finally:
            connections.close_all()

    threads = [threading.Thread(target=request, args=(lead,)) for lead in leads]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # then each rep got half of them
    handoffs = list(Handoff.objects.all())
    assert len(handoffs) == len(leads)
    assert sorted(Counter(h.assignee_id for h in handoffs).values()) == [4, 4]
