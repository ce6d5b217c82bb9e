"""``/api/v1/deals`` and ``/api/v1/pipelines``: pipelines and stages, deals (create, move,
win, lose), the weighted forecast; accepting a handoff with BANT into a deal."""

from __future__ import annotations

from ninja import Router

router = Router(tags=["deals"])
