"""Which active sequences start on the same trigger (one event would enrol a contact in both).

Two such sequences send two "mail 1" to the same person in the same minute unless one excludes
the other (``Sequence.exclusions``, which keeps the two apart in both directions) or the
frequency cap holds the second back. The sequence list and each sequence's page warn about every
pair where neither excludes the other.

A trigger is reduced to keys, and two sequences overlap when a key of one meets a key of the
other: a form (``("form", id)``; a download form also gives its asset's key, as its submission
records the asset's download), an asset download (``("asset", id)``; the ``asset_downloaded``
event without conditions is every asset, ``"*"``), an event type with its property conditions,
a segment, a lifecycle stage, a date. Manual sequences never overlap.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sokyaku.activity.models import EventType
from sokyaku.sequences.models import Sequence, SequenceStatus, TriggerKind

Key = tuple[str, ...]
ANY = "*"


@dataclass(frozen=True)
class Overlap:
    first: Sequence
    second: Sequence


def _download_assets(form_ids: Iterable[int]) -> dict[int, str]:
    from sokyaku.capture.models import Form
    from sokyaku.capture.services.assets import KIND as DOWNLOAD_KIND

    rows = Form.objects.filter(pk__in=list(form_ids), kind=DOWNLOAD_KIND).values_list(
        "pk", "kind_options"
    )
    return {
        pk: str(options.get("asset"))
        for pk, options in rows
        if isinstance(options, dict) and options.get("asset") not in (None, "")
    }


def _where(config: dict[str, Any]) -> str:
    return json.dumps(config.get("where") or [], sort_keys=True, ensure_ascii=False)


def trigger_keys(sequence: Sequence, *, download_assets: dict[int, str]) -> set[Key]:
    """The keys of ``sequence``'s trigger (see the module docstring)."""
    config = sequence.trigger_config or {}
    kind = sequence.trigger_kind
    if kind == TriggerKind.FORM_SUBMITTED:
        if config.get("asset") not in (None, ""):
            return {("asset", str(config["asset"]))}
        form = str(config.get("form") or "")
        keys: set[Key] = {("form", form)}
        if form.isdigit() and int(form) in download_assets:
            keys.add(("asset", download_assets[int(form)]))
        return keys
    if kind in (TriggerKind.EVENT, TriggerKind.DEAL_WON):
        event_type = "deal_won" if kind == TriggerKind.DEAL_WON else str(config.get("event_type"))
        where = _where(config)
        if where == "[]" and event_type == EventType.ASSET_DOWNLOADED:
            return {("asset", ANY)}
        if where == "[]" and event_type == EventType.FORM_SUBMITTED:
            return {("form", ANY)}
        return {("event", event_type, where)}
    if kind == TriggerKind.SEGMENT_ENTERED:
        return {("segment", str(config.get("segment")))}
    if kind == TriggerKind.STAGE_ENTERED:
        return {("stage", str(config.get("stage")))}
    if kind == TriggerKind.DATE_RELATIVE:
        return {("date", str(config.get("date")), _where(config))}
    return set()


def _meet(a: Key, b: Key) -> bool:
    if a == b:
        return True
    if len(a) == 2 and len(b) == 2 and a[0] == b[0] in ("asset", "form"):
        return ANY in (a[1], b[1])
    return False


def overlaps_list(*, sequence: Sequence | None = None) -> list[Overlap]:
    """Pairs of active sequences sharing a trigger where neither excludes the other (only
    the pairs with ``sequence`` when given; nothing when it is not active)."""
    active = list(
        Sequence.objects.filter(status=SequenceStatus.ACTIVE)
        .exclude(trigger_kind=TriggerKind.MANUAL)
        .prefetch_related("exclusions")
        .order_by("-priority", "name")
    )
    if sequence is not None and all(s.pk != sequence.pk for s in active):
        return []
    form_ids = [
        int(s.trigger_config["form"])
        for s in active
        if s.trigger_kind == TriggerKind.FORM_SUBMITTED
        and str((s.trigger_config or {}).get("form") or "").isdigit()
    ]
    assets = _download_assets(form_ids) if form_ids else {}
    keys = {s.pk: trigger_keys(s, download_assets=assets) for s in active}
    excluded = {s.pk: {x.pk for x in s.exclusions.all()} for s in active}
    found = []
    for i, first in enumerate(active):
        for second in active[i + 1 :]:
            if sequence is not None and sequence.pk not in (first.pk, second.pk):
                continue
            if second.pk in excluded[first.pk] or first.pk in excluded[second.pk]:
                continue
            if any(_meet(a, b) for a in keys[first.pk] for b in keys[second.pk]):
                found.append(Overlap(first=first, second=second))
    return found
