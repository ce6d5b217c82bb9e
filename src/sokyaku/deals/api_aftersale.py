"""``/api/v1/orders`` and ``/api/v1/referrals``: purchases with amounts (B2C) and referrals."""

from __future__ import annotations

from ninja import Router

router = Router(tags=["orders"])
