"""Scoring writes: rule set versions, incremental scoring, band drops, set-based recompute.

One module per workflow (``rulesets``, ``engine``, ``recompute``); import from here.
"""

from sokyaku.scoring.services.engine import band_drops_process, events_score, fit_points_for
from sokyaku.scoring.services.recompute import (
    recompute_execute,
    recompute_start,
    scores_recompute_contacts,
)
from sokyaku.scoring.services.rulesets import (
    PRESET,
    TARGET_INDUSTRIES,
    preset_install_if_missing,
    preset_upgrade_if_untouched,
    ruleset_export,
    ruleset_publish,
    ruleset_restore,
    scoring_demo_rebuild,
)

__all__ = [
    "PRESET",
    "TARGET_INDUSTRIES",
    "band_drops_process",
    "events_score",
    "fit_points_for",
    "preset_install_if_missing",
    "preset_upgrade_if_untouched",
    "recompute_execute",
    "recompute_start",
    "ruleset_export",
    "ruleset_publish",
    "ruleset_restore",
    "scores_recompute_contacts",
    "scoring_demo_rebuild",
]
