"""``/api/v1/handoffs``: the handoffs (open, accepted, rejected) with assignee, trigger and SLA
deadline; reassign, reject; sales activities on a contact."""

from __future__ import annotations

from ninja import Router

router = Router(tags=["handoffs"])
