"""Every write of the lifecycle app, one module per workflow:

- ``moves``: ``stage_change`` (the one writer of ContactStage + StageChange), recycle, disqualify,
  and the set-based ``moves_apply``;
- ``initial``: a contact's first stage (lead or subscriber), subscriber → lead on conversion;
- ``mql``: MQL rules, their evaluation and the seeds' presets;
- ``bant``: BANT records and the SQL criteria.
"""

from sokyaku.lifecycle.services.bant import (
    bant_bulk_create,
    bant_record,
    sql_criteria_get,
    sql_criteria_unmet,
    sql_criteria_update,
)
from sokyaku.lifecycle.services.initial import (
    initial_stages_create,
    lifecycle_rebuild_initial,
    subscribers_promote,
)
from sokyaku.lifecycle.services.moves import (
    Move,
    contact_disqualify,
    contact_recycle,
    moves_apply,
    stage_change,
)
from sokyaku.lifecycle.services.mql import (
    mql_evaluate,
    mql_evaluate_all,
    mql_presets_install_if_missing,
    mql_rule_activate,
    mql_rule_create,
    mql_rule_delete,
    mql_rule_update,
)

__all__ = [
    "Move",
    "bant_bulk_create",
    "bant_record",
    "contact_disqualify",
    "contact_recycle",
    "initial_stages_create",
    "lifecycle_rebuild_initial",
    "moves_apply",
    "mql_evaluate",
    "mql_evaluate_all",
    "mql_presets_install_if_missing",
    "mql_rule_activate",
    "mql_rule_create",
    "mql_rule_delete",
    "mql_rule_update",
    "sql_criteria_get",
    "sql_criteria_unmet",
    "sql_criteria_update",
    "stage_change",
    "subscribers_promote",
]
