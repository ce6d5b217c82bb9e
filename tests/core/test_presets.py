"""Presets are installed once: a later ``migrate`` never brings back, re-activates or renames
what the operator renamed, paused or deleted, and does not touch the contacts."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from sokyaku.campaigns.models import Channel, ChannelRule
from sokyaku.cli import _migrate, presets_install
from sokyaku.consent.models import ConsentTopic
from sokyaku.contacts.models import Contact
from sokyaku.core import clock
from sokyaku.core.models import InstalledPreset
from sokyaku.deals.models import Pipeline
from sokyaku.handoff.models import HandoffTrigger
from sokyaku.lifecycle.models import ContactStage, MqlRule, StageChange
from sokyaku.messaging.models import SenderProfile, Template
from sokyaku.scoring.models import RuleSet
from sokyaku.scoring.services import ruleset_export, ruleset_publish
from sokyaku.sequences.models import Sequence, SequenceStatus

pytestmark = pytest.mark.django_db


def _state() -> dict[str, Any]:
    """Everything a preset installed, as the operator sees it."""
    return {
        "topics": sorted(ConsentTopic.objects.values_list("key", "name", "is_active")),
        "rulesets": sorted(RuleSet.objects.values_list("version", "is_active")),
        "mql": sorted(MqlRule.objects.values_list("pk", "name", "is_active")),
        "senders": sorted(SenderProfile.objects.values_list("pk", "name")),
        "templates": sorted(Template.objects.values_list("pk", "name")),
        "sequences": sorted(Sequence.objects.values_list("pk", "name", "status")),
        "triggers": sorted(HandoffTrigger.objects.values_list("pk", "name", "is_active")),
        "pipelines": sorted(Pipeline.objects.values_list("pk", "name")),
        "channels": sorted(Channel.objects.values_list("pk", "name", "is_active")),
        "rules": sorted(ChannelRule.objects.values_list("pk", "name", "is_active")),
    }


def _operator_reworks_every_preset() -> None:
    """Rename, pause and delete something of each kind of preset."""
    ConsentTopic.objects.filter(key="newsletter").update(name="お知らせ（旧）", is_active=False)
    ConsentTopic.objects.filter(key="seminars").delete()
    active = RuleSet.objects.get(is_active=True)
    definition = ruleset_export(ruleset=active)
    ruleset_publish(definition={**definition, "rules": definition["rules"][1:]}, comment="edit")
    first, second = MqlRule.objects.order_by("pk")[:2]
    first.delete()
    MqlRule.objects.filter(pk=second.pk).update(name="自社MQL", is_active=False)
    Template.objects.filter(pk=Template.objects.order_by("pk").first().pk).delete()
    Template.objects.filter(pk=Template.objects.order_by("pk").first().pk).update(name="改名")
    SenderProfile.objects.filter(pk=SenderProfile.objects.order_by("pk").first().pk).update(
        name="自社の差出人"
    )
    sequences = list(Sequence.objects.order_by("pk"))
    Sequence.objects.filter(pk=sequences[0].pk).update(name="改名したシナリオ")
    Sequence.objects.filter(status=SequenceStatus.ACTIVE).update(status=SequenceStatus.PAUSED)
    sequences[1].delete()
    triggers = list(HandoffTrigger.objects.order_by("pk"))
    triggers[0].delete()
    HandoffTrigger.objects.filter(pk=triggers[1].pk).update(name="改名", is_active=False)
    Pipeline.objects.update(name="自社パイプライン")
    ChannelRule.objects.filter(pk=ChannelRule.objects.order_by("pk").first().pk).delete()
    Channel.objects.filter(pk=Channel.objects.order_by("pk").first().pk).update(
        name="改名", is_active=False
    )


def test_a_first_migrate_installs_every_preset_and_records_its_key() -> None:
    # given a new installation (the tables, the channel rules of post_migrate)
    # when the presets are installed
    installed = presets_install()
    # then each was installed under its key, and something of each kind exists
    assert installed == [
        "consent.topics",
        "scoring.preset",
        "scoring.preset.2026",
        "lifecycle.mql_rules",
        "lifecycle.initial_stages",
        "messaging.senders_templates",
        "sequences.presets",
        "handoff.triggers",
        "deals.pipeline",
    ]
    assert set(InstalledPreset.objects.values_list("key", flat=True)) == {
        *installed,
        "campaigns.channels",
    }
    assert all(rows for rows in _state().values())


def test_migrate_again_brings_back_nothing_the_operator_renamed_paused_or_deleted() -> None:
    # given every preset installed, then reworked by the operator
    presets_install()
    _operator_reworks_every_preset()
    before = _state()
    # when migrate runs again (an upgrade)
    _migrate(verbosity=0)
    # then nothing came back, was re-activated or renamed
    assert _state() == before


def test_an_installation_from_before_the_keys_keeps_its_reworked_presets() -> None:
    # given an installation that got its presets before they had keys, then reworked them
    presets_install()
    _operator_reworks_every_preset()
    InstalledPreset.objects.all().delete()
    before = _state()
    # when it upgrades to keyed presets
    installed = presets_install()
    # then its presets are recorded as installed, nothing is re-created; only the installers
    # that look at their own rows (the scoring upgrade, first stages) ran, and changed nothing
    assert installed == ["scoring.preset.2026", "lifecycle.initial_stages"]
    assert _state() == before
    assert InstalledPreset.objects.count() == 9


def test_a_populated_database_re_migrates_without_touching_the_contacts() -> None:
    # given an installation with a few thousand contacts, each with its first stage
    presets_install()
    now = clock.now()
    Contact.objects.bulk_create(
        [
            Contact(email=f"p{i}@example.jp", family_name="山田", created_at=now, updated_at=now)
            for i in range(3000)
        ]
    )
    from sokyaku.lifecycle.services import lifecycle_rebuild_initial

    assert lifecycle_rebuild_initial() == 3000
    stages, changes = ContactStage.objects.count(), StageChange.objects.count()
    # when migrate runs again
    with CaptureQueriesContext(connection) as queries:
        installed = presets_install()
    _migrate(verbosity=0)
    # then no preset ran, the presets cost one query, and no stage was written
    assert installed == []
    assert len(queries) == 1
    assert (ContactStage.objects.count(), StageChange.objects.count()) == (stages, changes)
