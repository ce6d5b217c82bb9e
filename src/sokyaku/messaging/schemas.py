"""API shapes of the sending engine's endpoints."""

from __future__ import annotations

from ninja import Field, Schema


class BounceOut(Schema):
    kind: str = Field(description="hard, soft, complaint, unsubscribe or ignored")
    message_id: int | None = Field(description="The message it concerned, when found.")
    addresses: list[str] = Field(description="Failed recipient addresses (DSNs).")
