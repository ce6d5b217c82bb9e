"""The default pipeline a new installation starts with (seed 004's phases 商談開始 → 提案 →
交渉 → 受注, plus 失注), with a win probability per stage for the weighted forecast and a
two-week stagnation alert on the open stages."""

from __future__ import annotations

from dataclasses import dataclass

from sokyaku.deals.models import StageKind

DEFAULT_PIPELINE = "営業パイプライン"


@dataclass(frozen=True)
class StagePreset:
    name: str
    probability: int
    kind: str
    stagnation_days: int | None


DEFAULT_STAGES: tuple[StagePreset, ...] = (
    StagePreset("商談開始", 10, StageKind.OPEN, 14),
    StagePreset("提案", 30, StageKind.OPEN, 14),
    StagePreset("交渉", 60, StageKind.OPEN, 14),
    StagePreset("受注", 100, StageKind.WON, None),
    StagePreset("失注", 0, StageKind.LOST, None),
)
# A pipeline made in the settings page starts with these, so it always has its won and lost
# stage; the admin renames or adds open stages from there.
NEW_PIPELINE_STAGES = DEFAULT_STAGES
