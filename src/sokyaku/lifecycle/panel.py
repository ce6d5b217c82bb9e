"""What the contact page's lifecycle panel shows (shared by the template tag and the views
that re-render the panel after an action)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.contrib.auth.models import AnonymousUser, User

from sokyaku.contacts.models import Contact
from sokyaku.lifecycle import selectors
from sokyaku.lifecycle.forms import BantForm, MoveForm
from sokyaku.lifecycle.models import FUNNEL, Stage

HISTORY_SHOWN = 20


def panel_context(
    *,
    contact: Contact,
    user: User | AnonymousUser,
    move_form: MoveForm | None = None,
    bant_form: BantForm | None = None,
) -> dict[str, Any]:
    history = list(selectors.stage_history(contact_id=contact.pk))
    # The last move is the current stage (stage_change writes both together): one query less.
    entered_at: datetime | None = None
    if history:
        stage, entered_at = history[-1].to_stage, history[-1].changed_at
    else:
        row = selectors.contact_stage_get(contact_id=contact.pk)
        stage = row.stage if row else selectors.DEFAULT_STAGE
        entered_at = row.entered_at if row else None
    history.reverse()
    funnel_index = FUNNEL.index(Stage(stage)) if stage in FUNNEL else -1
    return {
        "contact": contact,
        "stage": Stage(stage),
        "entered_at": entered_at,
        "funnel": [
            {"stage": s, "current": s == stage, "passed": 0 <= i < funnel_index}
            for i, s in enumerate(FUNNEL)
        ],
        "side_exit": stage not in FUNNEL,
        "history": history[:HISTORY_SHOWN],
        "history_more": max(0, len(history) - HISTORY_SHOWN),
        "bant": selectors.bant_latest(contact_id=contact.pk),
        "move_form": move_form or MoveForm(),
        "bant_form": bant_form or BantForm(),
        "can_move": user.has_perm("lifecycle.change_contactstage"),
        "can_bant": user.has_perm("lifecycle.add_bantrecord"),
    }
