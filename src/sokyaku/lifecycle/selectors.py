"""Reads of lifecycle state: a contact's stage and history, BANT, MQL rules, stage counts.

``stage_of`` / ``stage_get`` answer "lead" for a contact without a stage row (a contact created
before lifecycle existed, until ``lifecycle_rebuild_initial`` ran).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django.db.models import Count, QuerySet

from sokyaku.core.errors import NotFound
from sokyaku.lifecycle.models import (
    FUNNEL,
    BantRecord,
    ContactStage,
    MqlRule,
    Stage,
    StageChange,
)

DEFAULT_STAGE = Stage.LEAD


def stage_of(*, contact_ids: Iterable[int]) -> dict[int, str]:
    """Each contact's current stage, in one query ("lead" for a contact without a row)."""
    ids = list(contact_ids)
    found = dict(ContactStage.objects.filter(contact_id__in=ids).values_list("contact_id", "stage"))
    return {pk: found.get(pk, DEFAULT_STAGE) for pk in ids}


def stage_get(*, contact_id: int) -> str:
    """One contact's current stage ("lead" when it has no row)."""
    return stage_of(contact_ids=[contact_id])[contact_id]


def contact_stage_get(*, contact_id: int) -> ContactStage | None:
    """The contact's stage row (stage and since when), if it has one."""
    return ContactStage.objects.filter(contact_id=contact_id).first()


def stage_history(*, contact_id: int) -> QuerySet[StageChange]:
    """Every move of the contact, oldest first, with who or which rule made it."""
    return (
        StageChange.objects.filter(contact_id=contact_id)
        .select_related("actor", "rule")
        .order_by("changed_at", "id")
    )


def bant_latest(*, contact_id: int) -> BantRecord | None:
    """The contact's latest BANT record (the one that counts), if any."""
    return (
        BantRecord.objects.filter(contact_id=contact_id)
        .select_related("recorded_by")
        .order_by("-recorded_at", "-id")
        .first()
    )


def mql_rule_list() -> QuerySet[MqlRule]:
    """Every MQL rule in evaluation order."""
    return MqlRule.objects.order_by("position", "id")


def mql_rule_get(*, id: int) -> MqlRule:
    """One MQL rule. Raises ``NotFound``."""
    rule = MqlRule.objects.filter(pk=id).first()
    if rule is None:
        raise NotFound(f"No MQL rule with id {id}.")
    return rule


def mql_rule_match_count(*, definition: Mapping[str, Any]) -> int:
    """How many live contacts match ``definition`` now (the rules list and the editor's live
    count). Raises ``ValidationError`` (field errors at the bad condition) for a bad definition."""
    from sokyaku.lifecycle.services.mql import _conditions, definition_clean

    cleaned = definition_clean(definition)
    count: int = _conditions().definition_queryset(cleaned).count()
    return count


def stage_counts() -> list[tuple[str, str, int]]:
    """(stage, label, contacts in it) for the funnel and the side exits, in one query."""
    counts = dict(
        ContactStage.objects.filter(contact__merged_into__isnull=True)
        .values_list("stage")
        .annotate(n=Count("contact_id"))
        .values_list("stage", "n")
    )
    order = [*FUNNEL, Stage.DISQUALIFIED, Stage.RECYCLED]
    return [(str(s), str(s.label), counts.get(s.value, 0)) for s in order]
