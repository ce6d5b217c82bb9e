"""MQL rules and their evaluation.

An ``MqlRule`` is a condition tree in the segments condition language (``segments.conditions``:
attributes such as ``score.total``, ``company.employees``, ``title_level``, ``department`` and
behaviour such as "downloaded a trial within 30 days"). A contact in subscriber, lead or recycled
that matches ANY active rule becomes an MQL (source ``rule``, reason = the rule's name); the
``lifecycle_changed`` event with ``to: "mql"`` is what handoff acts on.

Evaluation is event-driven, never on a timer: the lifecycle listener enqueues ``mql_evaluate``
with the ids of the contacts a committed batch of events touched (a new event, a changed
attribute, a changed score). ``mql_evaluate_all`` does the same for every contact, set-based
(the demo, or a marketer applying a new rule to everyone who matches it already).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction

from sokyaku.core import clock
from sokyaku.core.errors import ValidationError
from sokyaku.lifecycle.models import ChangeSource, ContactStage, MqlRule, Stage
from sokyaku.lifecycle.services.initial import initial_stages_create, lifecycle_rebuild_initial
from sokyaku.lifecycle.services.moves import Move, moves_apply

logger = logging.getLogger(__name__)

# Stages an MQL rule may move from. Later stages and disqualified contacts stay where they are.
QUALIFIABLE = (Stage.SUBSCRIBER, Stage.LEAD, Stage.RECYCLED)
NAME_MAX = MqlRule._meta.get_field("name").max_length or 150
_CHUNK = 500

SCORE_RULE_NAME = "スコア50点以上"
COMPOSITE_RULE_NAME = (
    "従業員50名以上・情報システム部門の責任者・トライアル資料DL かつ 製品ウェビナー参加"
)


def _conditions() -> Any:
    # Imported late: segments is built alongside lifecycle and imports contacts/activity only.
    from sokyaku.segments import conditions

    return conditions


def definition_clean(definition: Any) -> dict[str, Any]:
    """The definition as ``segments`` validates it; errors point at the bad condition."""
    if not isinstance(definition, Mapping):
        raise ValidationError(
            "The conditions must be an object.", field_errors={"definition": "not an object"}
        )
    try:
        cleaned: dict[str, Any] = _conditions().definition_validate(dict(definition))
    except ValidationError as exc:
        raise ValidationError(
            exc.message,
            field_errors={
                (f"definition.{path}" if path else "definition"): msg
                for path, msg in exc.field_errors.items()
            }
            or {"definition": exc.message},
        ) from exc
    return cleaned


def _name_clean(name: str) -> str:
    name = (name or "").strip()
    if not name:
        raise ValidationError("Give the rule a name.", field_errors={"name": "required"})
    if len(name) > NAME_MAX:
        raise ValidationError(
            f"The name is longer than {NAME_MAX} characters.",
            field_errors={"name": f"at most {NAME_MAX} characters"},
        )
    return name


def mql_rule_create(
    *,
    name: str,
    definition: Mapping[str, Any],
    description: str = "",
    is_active: bool = True,
    actor: User | None = None,
) -> MqlRule:
    """Create an MQL rule (last in order). Raises ``ValidationError`` for a missing name or a bad
    definition (field errors keyed ``definition.<path of the condition>``).

    A new active rule applies from the next relevant change of each contact; ``mql_evaluate_all``
    applies it to everyone who matches already.
    """
    name = _name_clean(name)
    cleaned = definition_clean(definition)
    now = clock.now()
    last = MqlRule.objects.order_by("-position").values_list("position", flat=True).first()
    rule = MqlRule.objects.create(
        name=name,
        description=description.strip(),
        definition=cleaned,
        is_active=is_active,
        position=(last or 0) + 1,
        created_at=now,
        updated_at=now,
    )
    logger.info("lifecycle.mql_rule_created", extra={"rule": rule.pk})
    return rule


def mql_rule_update(
    *,
    rule: MqlRule,
    name: str | None = None,
    description: str | None = None,
    definition: Mapping[str, Any] | None = None,
    actor: User | None = None,
) -> MqlRule:
    """Change a rule's name, description or definition (``None`` leaves a value as it is).

    Raises ``ValidationError`` like ``mql_rule_create``; nothing is saved then. Moves already made
    by the rule stay in the history.
    """
    changed: list[str] = []
    if name is not None:
        rule.name = _name_clean(name)
        changed.append("name")
    if definition is not None:
        rule.definition = definition_clean(definition)
        changed.append("definition")
    if description is not None:
        rule.description = description.strip()
        changed.append("description")
    rule.updated_at = clock.now()
    rule.save(update_fields=[*changed, "updated_at"])
    return rule


def mql_rule_activate(*, rule: MqlRule, active: bool = True, actor: User | None = None) -> MqlRule:
    """Turn a rule on or off. An inactive rule moves nobody; its past moves stay in history."""
    if rule.is_active != active:
        rule.is_active = active
        rule.updated_at = clock.now()
        rule.save(update_fields=["is_active", "updated_at"])
    return rule


def mql_rule_delete(*, rule: MqlRule, actor: User | None = None) -> None:
    """Delete a rule. History rows keep their reason (the rule's name); their rule link empties."""
    rule_id = rule.pk
    rule.delete()
    logger.info("lifecycle.mql_rule_deleted", extra={"rule": rule_id})


def _moves_for(matches: Mapping[int, tuple[str, MqlRule]]) -> list[Move]:
    now = clock.now()
    return [
        Move(
            contact_id=contact_id,
            from_stage=from_stage,
            to_stage=Stage.MQL,
            at=now,
            source=ChangeSource.RULE,
            rule_id=rule.pk,
            rule_name=rule.name,
            reason=rule.name[:300],
        )
        for contact_id, (from_stage, rule) in sorted(matches.items())
    ]


def mql_evaluate(*, contact_ids: Iterable[int]) -> list[int]:
    """Move the contacts among ``contact_ids`` that are in subscriber, lead or recycled and match
    any active rule to MQL. Returns the ids moved.

    One ``definition_matches`` query per active rule (per chunk of ids). Contacts without a stage
    row get their first stage first. Writes through ``moves_apply``: ``StageChange`` rows with
    source ``rule`` and the rule, and ``lifecycle_changed`` events ``to: "mql"``. Safe to run
    twice: a contact already MQL is not eligible any more, so nobody becomes MQL twice.
    """
    ids = sorted(set(contact_ids))
    rules = list(MqlRule.objects.filter(is_active=True).order_by("position", "id"))
    if not ids or not rules:
        return []
    initial_stages_create(contact_ids=ids)
    conditions = _conditions()
    moved: list[int] = []
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        eligible = set(
            ContactStage.objects.filter(
                contact_id__in=chunk, stage__in=QUALIFIABLE, contact__merged_into__isnull=True
            ).values_list("contact_id", flat=True)
        )
        matched: dict[int, MqlRule] = {}
        for rule in rules:
            remaining = eligible - matched.keys()
            if not remaining:
                break
            hits = conditions.definition_matches(rule.definition, contact_ids=sorted(remaining))
            for contact_id in hits:
                matched.setdefault(contact_id, rule)
        if not matched:
            continue
        with transaction.atomic():
            # Re-read under lock: another worker may have moved some of them meanwhile.
            current = dict(
                ContactStage.objects.select_for_update()
                .filter(contact_id__in=sorted(matched), stage__in=QUALIFIABLE)
                .values_list("contact_id", "stage")
            )
            moves = _moves_for({pk: (stage, matched[pk]) for pk, stage in current.items()})
            moves_apply(moves=moves)
        moved += [m.contact_id for m in moves]
    if moved:
        logger.info("lifecycle.mql_qualified", extra={"count": len(moved)})
    return moved


def mql_evaluate_all(*, quiet: bool = False) -> int:
    """Evaluate every active rule against every live contact, set-based: one query per rule
    (the rule's queryset joined with the stage table), history rows in bulk. Returns how many
    contacts became MQL.

    Creates missing first stages first. ``quiet=True`` stores the events without listeners (the
    demo load). Contacts are assigned to the first rule (by position) that matches them.
    """
    lifecycle_rebuild_initial()
    conditions = _conditions()
    taken: set[int] = set()
    total = 0
    for rule in MqlRule.objects.filter(is_active=True).order_by("position", "id"):
        matching = conditions.definition_queryset(rule.definition)
        rows = list(
            ContactStage.objects.filter(
                contact_id__in=matching.values("pk"),
                stage__in=QUALIFIABLE,
                contact__merged_into__isnull=True,
            )
            .order_by("contact_id")
            .values_list("contact_id", "stage")
        )
        fresh = {pk: (stage, rule) for pk, stage in rows if pk not in taken}
        taken |= fresh.keys()
        total += moves_apply(moves=_moves_for(fresh), quiet=quiet)
    logger.info("lifecycle.mql_evaluated_all", extra={"count": total})
    return total


def _download(field: str, op: str, value: str) -> dict[str, Any]:
    return {
        "event": "asset_downloaded",
        "where": [{"field": field, "op": op, "value": value}],
        "min_count": 1,
        "within_days": 90,
        "negate": False,
    }


def mql_preset_definitions() -> dict[str, dict[str, Any]]:
    """The seeds' two MQL rules, in the segments condition language."""
    return {
        SCORE_RULE_NAME: {
            "op": "and",
            "conditions": [{"field": "score.total", "op": "gte", "value": 50}],
        },
        COMPOSITE_RULE_NAME: {
            "op": "and",
            "conditions": [
                {"field": "company.employees", "op": "gte", "value": 50},
                {"field": "department", "op": "contains", "value": "情報システム"},
                {"field": "title_level", "op": "gte", "value": 3},
                # Capture writes ``asset_kind`` ("trial") on downloads of its gated assets;
                # downloads recorded through the API may only name the asset.
                {
                    "op": "or",
                    "conditions": [
                        _download("asset_kind", "eq", "trial"),
                        _download("asset", "contains", "トライアル"),
                        _download("asset", "contains", "trial"),
                    ],
                },
                {
                    "event": "webinar_attended",
                    "where": [],
                    "min_count": 1,
                    "within_days": 90,
                    "negate": False,
                },
            ],
        },
    }


_PRESET_DESCRIPTIONS = {
    SCORE_RULE_NAME: "スコア（行動＋属性）の合計が50点以上になったリードをMQLとします。",
    COMPOSITE_RULE_NAME: (
        "従業員50名以上の企業の情報システム部門の課長以上が、無料トライアルをダウンロードし、"
        "さらに製品紹介ウェビナーに参加したらMQLとします（いずれも直近90日）。"
    ),
}


def mql_presets_install_if_missing() -> list[MqlRule]:
    """Install the seeds' MQL rules (score ≥ 50; the composite IT-manager rule), active, unless a
    rule with that name exists. Returns the rules created."""
    made: list[MqlRule] = []
    existing = set(MqlRule.objects.values_list("name", flat=True))
    for name, definition in mql_preset_definitions().items():
        if name in existing:
            continue
        made.append(
            mql_rule_create(
                name=name, definition=definition, description=_PRESET_DESCRIPTIONS[name]
            )
        )
    return made


__all__ = [
    "COMPOSITE_RULE_NAME",
    "QUALIFIABLE",
    "SCORE_RULE_NAME",
    "definition_clean",
    "mql_evaluate",
    "mql_evaluate_all",
    "mql_preset_definitions",
    "mql_presets_install_if_missing",
    "mql_rule_activate",
    "mql_rule_create",
    "mql_rule_delete",
    "mql_rule_update",
]
