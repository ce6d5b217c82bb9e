"""Every write of the handoff app, one module per workflow:

- ``triggers``: handoff triggers (MQL, hot actions) and their presets;
- ``setup``: routing rules, teams and away status, the alert settings;
- ``handoffs``: a handoff's life — created (routed, owner set, SLA started, alerted), reassigned,
  accepted, rejected (recycled or disqualified);
- ``activities``: calls, mails, meetings and notes reps log (first touch → speed to lead);
- ``sla``: deadlines on business days, first touch, the reminder/escalation tick;
- ``alerting``: queueing the alert, reminder and escalation messages.

Import from here: ``from sokyaku.handoff import services``.
"""

from sokyaku.handoff.services.activities import activity_log
from sokyaku.handoff.services.handoffs import (
    handoff_accept,
    handoff_create,
    handoff_reassign,
    handoff_reject,
)
from sokyaku.handoff.services.setup import (
    handoff_settings_get,
    handoff_settings_save,
    member_away_set,
    routing_rule_delete,
    routing_rule_move,
    routing_rule_save,
    team_delete,
    team_save,
)
from sokyaku.handoff.services.sla import sla_deadline, sla_tick
from sokyaku.handoff.services.triggers import (
    trigger_delete,
    trigger_presets_install,
    trigger_save,
)

__all__ = [
    "activity_log",
    "handoff_accept",
    "handoff_create",
    "handoff_reassign",
    "handoff_reject",
    "handoff_settings_get",
    "handoff_settings_save",
    "member_away_set",
    "routing_rule_delete",
    "routing_rule_move",
    "routing_rule_save",
    "sla_deadline",
    "sla_tick",
    "team_delete",
    "team_save",
    "trigger_delete",
    "trigger_presets_install",
    "trigger_save",
]
