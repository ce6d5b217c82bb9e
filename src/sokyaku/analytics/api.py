"""Analytics API: KPIs, the channel table and the funnel (``/api/v1/analytics/…``)."""

from __future__ import annotations

from ninja import Router

router = Router(tags=["analytics"])
