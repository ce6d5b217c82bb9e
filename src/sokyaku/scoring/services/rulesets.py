"""Versioned rule sets: publish (a new immutable version), export, the preset, restore.

Every change publishes the whole definition as the next version, makes it the only active one and
starts a recompute; restoring an old version publishes its definition again. The preset is the
seed articles' example (demo, quote and trial requests, inquiries, pricing and contact page
views, product page views, downloads, webinars; 部長 and up, 100+ employees, target industries);
an installation still running the first shipped preset unchanged is moved to the current one by
``preset_upgrade_if_untouched``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Max

from sokyaku.activity.models import EventType
from sokyaku.contacts.models import Industry, TitleLevel
from sokyaku.core import clock
from sokyaku.scoring.models import RecomputeRun, Rule, RuleKind, RuleSet
from sokyaku.scoring.rules import definition_clean
from sokyaku.scoring.services.recompute import recompute_execute, recompute_start

logger = logging.getLogger(__name__)

TARGET_INDUSTRIES = [str(Industry.INFORMATION), str(Industry.MANUFACTURING)]

PRESET: dict[str, Any] = {
    "half_life_days": 30,
    "warm_at": 20,
    "hot_at": 50,
    "score_machine_opens": False,
    "rules": [
        {
            "kind": "behaviour",
            "name": "製品ページ閲覧",
            "event_type": str(EventType.PAGE_VIEW),
            "conditions": [{"field": "url", "op": "contains", "value": "/product"}],
            "points": 5,
            "cap": 5,
            "cap_period": "day",
        },
        {
            "kind": "behaviour",
            "name": "資料ダウンロード",
            "event_type": str(EventType.ASSET_DOWNLOADED),
            "conditions": [],
            "points": 10,
            "cap": None,
            "cap_period": "",
        },
        {
            "kind": "behaviour",
            "name": "ウェビナー参加",
            "event_type": str(EventType.WEBINAR_ATTENDED),
            "conditions": [],
            "points": 15,
            "cap": None,
            "cap_period": "",
        },
        {
            # An inquiry-kind form records form_submitted (properties.kind = "inquiry") *and* an
            # inquiry event for the same submission (capture.kinds), so scoring the inquiry
            # event covers inquiry forms, API inquiries and imports without counting one twice.
            "kind": "behaviour",
            "name": "問い合わせ",
            "event_type": str(EventType.INQUIRY),
            "conditions": [],
            "points": 30,
            "cap": None,
            "cap_period": "",
        },
        {
            # The strongest signals (seed 003): someone who asks for a demo or a quote is hot
            # on the spot, whatever their fit, and stays hot for about a week (60 decays to the
            # hot edge 50 in 30 · log2(60/50) ≈ 8 days); a trial is close behind.
            "kind": "behaviour",
            "name": "デモ申し込み",
            "event_type": str(EventType.DEMO_REQUESTED),
            "conditions": [],
            "points": 60,
            "cap": None,
            "cap_period": "",
        },
        {
            "kind": "behaviour",
            "name": "見積依頼",
            "event_type": str(EventType.QUOTE_REQUESTED),
            "conditions": [],
            "points": 60,
            "cap": None,
            "cap_period": "",
        },
        {
            "kind": "behaviour",
            "name": "トライアル開始",
            "event_type": str(EventType.TRIAL_STARTED),
            "conditions": [],
            "points": 40,
            "cap": None,
            "cap_period": "",
        },
        {
            # 費用 and 問い合わせ先: a look at the price and at how to reach the company is a need
            # (seed 003). Once a day each, so reloading does not make a lead hot.
            "kind": "behaviour",
            "name": "料金ページ閲覧",
            "event_type": str(EventType.PAGE_VIEW),
            "conditions": [{"field": "url", "op": "contains", "value": "/pric"}],
            "points": 10,
            "cap": 1,
            "cap_period": "day",
        },
        {
            "kind": "behaviour",
            "name": "問い合わせページ閲覧",
            "event_type": str(EventType.PAGE_VIEW),
            "conditions": [{"field": "url", "op": "contains", "value": "/contact"}],
            "points": 10,
            "cap": 1,
            "cap_period": "day",
        },
        {
            "kind": "fit",
            "name": "役職：部長以上",
            "event_type": "",
            "conditions": [
                {"field": "title_level", "op": "gte", "value": int(TitleLevel.DIRECTOR)}
            ],
            "points": 10,
            "cap": None,
            "cap_period": "",
        },
        {
            "kind": "fit",
            "name": "従業員100名以上",
            "event_type": "",
            "conditions": [{"field": "employees_min", "op": "gte", "value": 100}],
            "points": 5,
            "cap": None,
            "cap_period": "",
        },
        {
            "kind": "fit",
            "name": "ターゲット業種（情報通信・製造）",
            "event_type": "",
            "conditions": [{"field": "industry", "op": "in", "value": TARGET_INDUSTRIES}],
            "points": 8,
            "cap": None,
            "cap_period": "",
        },
    ],
}

# The preset as it was first shipped: an installation still running it unchanged is moved to
# ``PRESET`` by ``preset_upgrade_if_untouched`` (``sokyaku migrate``).
_PRESET_2025: dict[str, Any] = {
    "half_life_days": 30,
    "warm_at": 20,
    "hot_at": 50,
    "score_machine_opens": False,
    "rules": [
        {
            "kind": "behaviour",
            "name": "製品ページ閲覧",
            "event_type": str(EventType.PAGE_VIEW),
            "conditions": [{"field": "url", "op": "contains", "value": "/product"}],
            "points": 5,
            "cap": 5,
            "cap_period": "day",
        },
        {
            "kind": "behaviour",
            "name": "資料ダウンロード",
            "event_type": str(EventType.ASSET_DOWNLOADED),
            "conditions": [],
            "points": 10,
            "cap": None,
            "cap_period": "",
        },
        {
            "kind": "behaviour",
            "name": "ウェビナー参加",
            "event_type": str(EventType.WEBINAR_ATTENDED),
            "conditions": [],
            "points": 15,
            "cap": None,
            "cap_period": "",
        },
        {
            # An inquiry-kind form records form_submitted (properties.kind = "inquiry") *and* an
            # inquiry event for the same submission (capture.kinds), so scoring the inquiry
            # event covers inquiry forms, API inquiries and imports without counting one twice.
            "kind": "behaviour",
            "name": "問い合わせ",
            "event_type": str(EventType.INQUIRY),
            "conditions": [],
            "points": 30,
            "cap": None,
            "cap_period": "",
        },
        {
            "kind": "fit",
            "name": "役職：部長以上",
            "event_type": "",
            "conditions": [
                {"field": "title_level", "op": "gte", "value": int(TitleLevel.DIRECTOR)}
            ],
            "points": 10,
            "cap": None,
            "cap_period": "",
        },
        {
            "kind": "fit",
            "name": "従業員100名以上",
            "event_type": "",
            "conditions": [{"field": "employees_min", "op": "gte", "value": 100}],
            "points": 5,
            "cap": None,
            "cap_period": "",
        },
        {
            "kind": "fit",
            "name": "ターゲット業種（情報通信・製造）",
            "event_type": "",
            "conditions": [{"field": "industry", "op": "in", "value": TARGET_INDUSTRIES}],
            "points": 8,
            "cap": None,
            "cap_period": "",
        },
    ],
}


def ruleset_publish(
    *, definition: Mapping[str, Any], actor: User | None = None, comment: str = ""
) -> RuleSet:
    """Validate ``definition`` whole and publish it as the next, only active version.

    Side effects: the previous version is deactivated (kept for history), a ``RecomputeRun``
    is recorded and its task enqueued after commit. Raises ``ValidationError`` (with
    ``rules.N.…`` field errors) and changes nothing when the definition is bad.
    """
    clean = definition_clean(definition)
    with transaction.atomic():
        # Lock the active row so two publishers cannot both take the next version number.
        list(RuleSet.objects.select_for_update().filter(is_active=True))
        version = (RuleSet.objects.aggregate(v=Max("version"))["v"] or 0) + 1
        RuleSet.objects.filter(is_active=True).update(is_active=False)
        ruleset = RuleSet.objects.create(
            version=version,
            half_life_days=clean.half_life_days,
            warm_at=clean.warm_at,
            hot_at=clean.hot_at,
            score_machine_opens=clean.score_machine_opens,
            is_active=True,
            comment=comment[:200],
            created_at=clock.now(),
            created_by=actor,
        )
        Rule.objects.bulk_create(
            [
                Rule(
                    ruleset=ruleset,
                    position=position,
                    kind=rule.kind,
                    name=rule.name,
                    event_type=rule.event_type,
                    conditions=[dict(c) for c in rule.conditions],
                    points=rule.points,
                    cap=rule.cap,
                    cap_period=rule.cap_period,
                )
                for position, rule in enumerate(clean.rules)
            ]
        )
        recompute_start(ruleset=ruleset, actor=actor)
    logger.info(
        "scoring.ruleset_published",
        extra={"version": version, "actor": getattr(actor, "pk", None), "rules": len(clean.rules)},
    )
    return ruleset


def ruleset_export(*, ruleset: RuleSet) -> dict[str, Any]:
    """The definition of ``ruleset`` in the format ``ruleset_publish`` takes."""
    return {
        "half_life_days": ruleset.half_life_days,
        "warm_at": ruleset.warm_at,
        "hot_at": ruleset.hot_at,
        "score_machine_opens": ruleset.score_machine_opens,
        "rules": [
            {
                "kind": rule.kind,
                "name": rule.name,
                "event_type": rule.event_type if rule.kind == RuleKind.BEHAVIOUR else "",
                "conditions": list(rule.conditions or []),
                "points": rule.points,
                "cap": rule.cap,
                "cap_period": rule.cap_period,
            }
            for rule in ruleset.rules.order_by("position", "id")
        ],
    }


def ruleset_restore(*, ruleset: RuleSet, actor: User | None = None) -> RuleSet:
    """Publish an old version's definition again as a new version."""
    return ruleset_publish(
        definition=ruleset_export(ruleset=ruleset),
        actor=actor,
        comment=f"v{ruleset.version} restored",
    )


def _same_definition(ruleset: RuleSet, definition: Mapping[str, Any]) -> bool:
    return definition_clean(ruleset_export(ruleset=ruleset)) == definition_clean(definition)


def preset_upgrade_if_untouched() -> RuleSet | None:
    """Publish the current ``PRESET`` where the active rule set is an older preset, unchanged.

    Run by ``sokyaku migrate`` after ``preset_install_if_missing``. A rule set someone edited
    (any rule, point, cap or band differs from a shipped preset) is left alone, and so is an
    installation that already ran the current preset once: restoring the old preset on purpose
    is not undone by the next upgrade. Returns the new version, or None when nothing changed.
    """
    active = RuleSet.objects.filter(is_active=True).first()
    if active is None or not _same_definition(active, _PRESET_2025):
        return None
    if any(_same_definition(ruleset, PRESET) for ruleset in RuleSet.objects.all()):
        return None
    ruleset = ruleset_publish(definition=PRESET, comment="preset updated")
    logger.info("scoring.preset_upgraded", extra={"version": ruleset.version})
    return ruleset


def preset_install_if_missing() -> RuleSet | None:
    """Publish the preset when no rule set exists yet; return it, or None when one existed."""
    if RuleSet.objects.exists():
        return None
    return ruleset_publish(definition=PRESET, comment="preset")


def scoring_demo_rebuild() -> None:
    """After a bulk load with listeners paused: install the preset if missing, recompute now.

    Runs the recompute in this process (the demo loader waits for it); the queued task that
    publishing or starting enqueued finds the run done and does nothing.
    """
    installed = preset_install_if_missing()
    ruleset = installed or RuleSet.objects.get(is_active=True)
    run = RecomputeRun.objects.filter(ruleset=ruleset).first() if installed else None
    if run is None:
        run = recompute_start(ruleset=ruleset)
    recompute_execute(run_id=run.pk)
