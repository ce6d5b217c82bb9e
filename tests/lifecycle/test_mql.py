"""MQL rules: validated definitions, evaluation on the change that completes a rule, presets."""

from __future__ import annotations

from typing import Any

import pytest

from sokyaku.activity.models import EventType
from sokyaku.core.errors import ValidationError
from sokyaku.lifecycle import selectors, services
from sokyaku.lifecycle.models import MqlRule, Stage, StageChange
from sokyaku.lifecycle.services.mql import COMPOSITE_RULE_NAME, SCORE_RULE_NAME
from tests.lifecycle.factories import contact_make, event_record

pytestmark = pytest.mark.django_db

COMPLETE: dict[str, Any] = {
    "company_name": "東洋システムズ株式会社",
    "employees": 120,
    "department": "情報システム部",
    "title": "課長",
}


@pytest.fixture
def presets() -> None:
    services.mql_presets_install_if_missing()
    # Only the composite rule here: the score rule has its own test with the scoring presets.
    MqlRule.objects.filter(name=SCORE_RULE_NAME).update(is_active=False)


def _downloads_trial(contact) -> None:  # type: ignore[no-untyped-def]
    event_record(contact, EventType.ASSET_DOWNLOADED, asset="無料トライアル", asset_kind="trial")


def _attends_webinar(contact) -> None:  # type: ignore[no-untyped-def]
    event_record(contact, EventType.WEBINAR_ATTENDED, webinar="製品紹介ウェビナー", minutes=45)


@pytest.mark.parametrize(
    ("missing", "attributes", "download", "webinar"),
    [
        ("employees", {**COMPLETE, "employees": 30}, True, True),
        ("department", {**COMPLETE, "department": "営業部"}, True, True),
        ("title", {**COMPLETE, "title": "主任"}, True, True),
        ("trial download", COMPLETE, False, True),
        ("webinar", COMPLETE, True, False),
    ],
)
def test_the_composite_rule_needs_every_part(
    presets, django_capture_on_commit_callbacks, missing, attributes, download, webinar
) -> None:  # type: ignore[no-untyped-def]
    # given a contact missing one part of the rule
    with django_capture_on_commit_callbacks(execute=True):
        contact = contact_make(**attributes)
        if download:
            _downloads_trial(contact)
        if webinar:
            _attends_webinar(contact)
    # then they are not an MQL
    assert selectors.stage_get(contact_id=contact.pk) == Stage.LEAD, missing


def test_the_composite_rule_fires_on_the_event_that_completes_it(
    presets, django_capture_on_commit_callbacks
) -> None:  # type: ignore[no-untyped-def]
    # given an IT manager at a 120-person company who downloaded the trial
    with django_capture_on_commit_callbacks(execute=True):
        contact = contact_make(**COMPLETE)
        _downloads_trial(contact)
    assert selectors.stage_get(contact_id=contact.pk) == Stage.LEAD
    # when they attend the product webinar
    with django_capture_on_commit_callbacks(execute=True):
        _attends_webinar(contact)
    # then they are an MQL at once, moved by the rule with its name as the reason
    assert selectors.stage_get(contact_id=contact.pk) == Stage.MQL
    change = StageChange.objects.filter(contact=contact).last()
    assert change is not None
    assert (change.source, change.rule.name, change.reason) == (  # type: ignore[union-attr]
        "rule",
        COMPOSITE_RULE_NAME,
        COMPOSITE_RULE_NAME,
    )


def test_nobody_becomes_mql_twice(presets, django_capture_on_commit_callbacks) -> None:  # type: ignore[no-untyped-def]
    # given an MQL
    with django_capture_on_commit_callbacks(execute=True):
        contact = contact_make(**COMPLETE)
        _downloads_trial(contact)
        _attends_webinar(contact)
    # when more matching events arrive and the rules are evaluated again
    with django_capture_on_commit_callbacks(execute=True):
        _attends_webinar(contact)
    again = services.mql_evaluate(contact_ids=[contact.pk])
    # then there is still one move to MQL
    assert again == []
    assert StageChange.objects.filter(contact=contact, to_stage="mql").count() == 1


@pytest.mark.parametrize("stage", [Stage.SQL, Stage.CUSTOMER, Stage.DISQUALIFIED])
def test_contacts_past_mql_or_disqualified_do_not_move(presets, stage: str) -> None:
    # given a matching contact a rep already moved on (or out)
    contact = contact_make(**COMPLETE)
    _downloads_trial(contact)
    _attends_webinar(contact)
    services.stage_change(contact=contact, to_stage=stage, source="user", reason="商談化")
    # when the rules are evaluated
    moved = services.mql_evaluate(contact_ids=[contact.pk])
    # then the contact stays where it is
    assert moved == []
    assert selectors.stage_get(contact_id=contact.pk) == stage


def test_a_recycled_contact_can_requalify(presets) -> None:  # type: ignore[no-untyped-def]
    # given a matching contact that was recycled
    contact = contact_make(**COMPLETE)
    _downloads_trial(contact)
    _attends_webinar(contact)
    services.contact_recycle(contact=contact, reason="時期尚早")
    # when the rules are evaluated
    moved = services.mql_evaluate(contact_ids=[contact.pk])
    # then it is an MQL again
    assert moved == [contact.pk]
    assert selectors.stage_get(contact_id=contact.pk) == Stage.MQL


def test_an_inactive_rule_moves_nobody(presets) -> None:  # type: ignore[no-untyped-def]
    # given the composite rule turned off
    rule = MqlRule.objects.get(name=COMPOSITE_RULE_NAME)
    services.mql_rule_activate(rule=rule, active=False)
    contact = contact_make(**COMPLETE)
    _downloads_trial(contact)
    _attends_webinar(contact)
    # when the rules are evaluated
    # then nobody moves
    assert services.mql_evaluate(contact_ids=[contact.pk]) == []


def test_a_bad_definition_names_the_condition() -> None:
    # when a rule is saved with an unknown field in its second condition
    with pytest.raises(ValidationError) as error:
        services.mql_rule_create(
            name="壊れたルール",
            definition={
                "op": "and",
                "conditions": [
                    {"field": "title_level", "op": "gte", "value": 3},
                    {"field": "shoe_size", "op": "eq", "value": 27},
                ],
            },
        )
    # then the error points at that condition and nothing is stored
    assert any(key.startswith("definition.conditions.1") for key in error.value.field_errors)
    assert not MqlRule.objects.exists()


def test_a_rule_needs_a_name() -> None:
    with pytest.raises(ValidationError) as error:
        services.mql_rule_create(name=" ", definition={"op": "and", "conditions": []})
    assert "name" in error.value.field_errors


def test_presets_install_once() -> None:
    # when the presets are installed twice
    first = services.mql_presets_install_if_missing()
    second = services.mql_presets_install_if_missing()
    # then the seed's two rules exist once, active
    assert {r.name for r in first} == {SCORE_RULE_NAME, COMPOSITE_RULE_NAME}
    assert second == []
    assert MqlRule.objects.filter(is_active=True).count() == 2


def test_evaluate_all_moves_everyone_who_matches_already(presets) -> None:  # type: ignore[no-untyped-def]
    # given two matching contacts and one that is not (no after-commit evaluation ran)
    matching = [contact_make(**COMPLETE, email=f"it{i}@example.jp") for i in range(2)]
    other = contact_make(**{**COMPLETE, "department": "総務部"}, email="soumu@example.jp")
    for contact in [*matching, other]:
        _downloads_trial(contact)
        _attends_webinar(contact)
    # when every contact is evaluated, set-based
    moved = services.mql_evaluate_all()
    # then the matching ones are MQLs and the other stays a lead
    assert moved == 2
    stages = selectors.stage_of(contact_ids=[c.pk for c in [*matching, other]])
    assert stages == {matching[0].pk: "mql", matching[1].pk: "mql", other.pk: "lead"}


def _scoring_presets() -> Any:
    try:
        from sokyaku.scoring import services as scoring_services
    except ImportError:
        return None
    return getattr(scoring_services, "preset_install_if_missing", None)


@pytest.mark.skipif(_scoring_presets() is None, reason="scoring presets not built yet")
def test_the_score_rule_fires_on_the_event_that_crosses_50(
    django_capture_on_commit_callbacks,
) -> None:  # type: ignore[no-untyped-def]
    # given the seed's scoring (download +10, webinar +15, inquiry +30 …) and MQL rules
    _scoring_presets()()
    services.mql_presets_install_if_missing()
    with django_capture_on_commit_callbacks(execute=True):
        contact = contact_make(company_name="大和商事株式会社", title="担当")
        event_record(contact, EventType.ASSET_DOWNLOADED, asset="MA導入チェックリスト")
        event_record(contact, EventType.WEBINAR_ATTENDED, webinar="MA入門", minutes=30)
    assert selectors.stage_get(contact_id=contact.pk) == Stage.LEAD
    # when an inquiry takes the score past 50
    with django_capture_on_commit_callbacks(execute=True):
        event_record(contact, EventType.INQUIRY, subject="料金について")
    # then the contact is an MQL through the score rule
    assert selectors.stage_get(contact_id=contact.pk) == Stage.MQL
    change = StageChange.objects.filter(contact=contact).last()
    assert change is not None and change.reason == SCORE_RULE_NAME
