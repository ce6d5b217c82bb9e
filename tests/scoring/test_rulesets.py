"""Versions: publish, export/import round trip, restore, the preset."""

from __future__ import annotations

import pytest

from sokyaku.core.errors import ValidationError
from sokyaku.scoring.models import RecomputeRun, RuleSet
from sokyaku.scoring.selectors import ruleset_active
from sokyaku.scoring.services import (
    PRESET,
    preset_install_if_missing,
    preset_upgrade_if_untouched,
    ruleset_export,
    ruleset_publish,
    ruleset_restore,
)

pytestmark = pytest.mark.django_db


def test_publishing_makes_the_new_version_the_only_active_one_and_recomputes():
    first = ruleset_publish(definition=PRESET)
    second = ruleset_publish(definition={**PRESET, "hot_at": 60}, comment="stricter")
    first.refresh_from_db()
    assert (first.is_active, second.is_active, second.version) == (False, True, 2)
    assert ruleset_active() == second
    assert RecomputeRun.objects.filter(ruleset=second).count() == 1


def test_export_then_import_gives_an_equal_rule_set():
    original = ruleset_publish(definition=PRESET)
    exported = ruleset_export(ruleset=original)
    imported = ruleset_publish(definition=exported)
    assert ruleset_export(ruleset=imported) == exported
    assert exported["rules"][0]["conditions"] == [
        {"field": "url", "op": "contains", "value": "/product"}
    ]


def test_a_bad_import_changes_nothing():
    ruleset_publish(definition=PRESET)
    with pytest.raises(ValidationError):
        ruleset_publish(definition={**PRESET, "rules": [{"kind": "behaviour"}]})
    assert RuleSet.objects.count() == 1
    assert ruleset_active().version == 1


def test_restoring_publishes_the_old_definition_again():
    old = ruleset_publish(definition=PRESET)
    ruleset_publish(definition={**PRESET, "rules": []})
    restored = ruleset_restore(ruleset=old)
    assert restored.version == 3
    assert ruleset_export(ruleset=restored) == ruleset_export(ruleset=old)


def test_the_preset_is_installed_only_once():
    assert preset_install_if_missing() is not None
    assert preset_install_if_missing() is None
    assert RuleSet.objects.count() == 1


def _untouched_first_preset():  # type: ignore[no-untyped-def]
    from sokyaku.scoring.services.rulesets import _PRESET_2025

    return ruleset_publish(definition=_PRESET_2025, comment="preset")


def test_an_installation_on_the_untouched_first_preset_gets_the_current_one():
    _untouched_first_preset()
    upgraded = preset_upgrade_if_untouched()
    assert upgraded is not None and upgraded.version == 2
    assert ruleset_active() == upgraded
    names = [rule["name"] for rule in ruleset_export(ruleset=upgraded)["rules"]]
    assert {"デモ申し込み", "見積依頼", "トライアル開始", "料金ページ閲覧"} <= set(names)
    assert RecomputeRun.objects.filter(ruleset=upgraded).count() == 1
    # running migrate again changes nothing
    assert preset_upgrade_if_untouched() is None
    assert RuleSet.objects.count() == 2


def test_an_edited_preset_is_left_alone():
    first = _untouched_first_preset()
    edited = ruleset_export(ruleset=first)
    edited["rules"][3]["points"] = 40  # the inquiry is worth more here
    ruleset_publish(definition=edited, comment="ours")
    assert preset_upgrade_if_untouched() is None
    assert ruleset_active().version == 2


def test_the_first_preset_restored_on_purpose_after_the_upgrade_stays():
    old = _untouched_first_preset()
    preset_upgrade_if_untouched()
    ruleset_restore(ruleset=old)
    assert preset_upgrade_if_untouched() is None
    assert ruleset_active().version == 3


def test_a_new_installation_gets_the_current_preset_and_no_upgrade():
    preset_install_if_missing()
    assert preset_upgrade_if_untouched() is None
    assert RuleSet.objects.count() == 1
