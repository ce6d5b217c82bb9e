"""Analytics API: sequence, handoff and forecast reports, attribution (``/api/v1/analytics/…``)."""

from __future__ import annotations

from ninja import Router

router = Router(tags=["analytics"])
