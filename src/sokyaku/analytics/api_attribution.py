"""Attribution API: won revenue credited to channels and campaigns under five models."""

from __future__ import annotations

from ninja import Router

router = Router(tags=["analytics"])
