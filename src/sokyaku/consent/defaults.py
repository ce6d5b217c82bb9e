"""The consent topics a new installation starts with (editable and deactivatable afterwards)."""

from __future__ import annotations

DEFAULT_TOPICS: tuple[tuple[str, str, str], ...] = (
    ("newsletter", "メールマガジン", "月2回、マーケティングと営業のヒントをお届けします。"),
    ("seminars", "セミナー・イベント案内", "ウェビナーや展示会のご案内をお送りします。"),
    ("product", "製品・サービス情報", "新機能や料金プランのお知らせをお送りします。"),
)
