"""The 47 prefectures with their JIS X 0401 codes, Japanese and English names."""

from __future__ import annotations

from django.utils.translation import get_language

PREFECTURES: tuple[tuple[int, str, str], ...] = (
    (1, "北海道", "Hokkaido"),
    (2, "青森県", "Aomori"),
    (3, "岩手県", "Iwate"),
    (4, "宮城県", "Miyagi"),
    (5, "秋田県", "Akita"),
    (6, "山形県", "Yamagata"),
    (7, "福島県", "Fukushima"),
    (8, "茨城県", "Ibaraki"),
    (9, "栃木県", "Tochigi"),
    (10, "群馬県", "Gunma"),
    (11, "埼玉県", "Saitama"),
    (12, "千葉県", "Chiba"),
    (13, "東京都", "Tokyo"),
    (14, "神奈川県", "Kanagawa"),
    (15, "新潟県", "Niigata"),
    (16, "富山県", "Toyama"),
    (17, "石川県", "Ishikawa"),
    (18, "福井県", "Fukui"),
    (19, "山梨県", "Yamanashi"),
    (20, "長野県", "Nagano"),
    (21, "岐阜県", "Gifu"),
    (22, "静岡県", "Shizuoka"),
    (23, "愛知県", "Aichi"),
    (24, "三重県", "Mie"),
    (25, "滋賀県", "Shiga"),
    (26, "京都府", "Kyoto"),
    (27, "大阪府", "Osaka"),
    (28, "兵庫県", "Hyogo"),
    (29, "奈良県", "Nara"),
    (30, "和歌山県", "Wakayama"),
    (31, "鳥取県", "Tottori"),
    (32, "島根県", "Shimane"),
    (33, "岡山県", "Okayama"),
    (34, "広島県", "Hiroshima"),
    (35, "山口県", "Yamaguchi"),
    (36, "徳島県", "Tokushima"),
    (37, "香川県", "Kagawa"),
    (38, "愛媛県", "Ehime"),
    (39, "高知県", "Kochi"),
    (40, "福岡県", "Fukuoka"),
    (41, "佐賀県", "Saga"),
    (42, "長崎県", "Nagasaki"),
    (43, "熊本県", "Kumamoto"),
    (44, "大分県", "Oita"),
    (45, "宮崎県", "Miyazaki"),
    (46, "鹿児島県", "Kagoshima"),
    (47, "沖縄県", "Okinawa"),
)

PREFECTURE_BY_CODE = {code: (ja, en) for code, ja, en in PREFECTURES}
_CODE_BY_NAME = {
    **{ja: code for code, ja, _en in PREFECTURES},
    **{ja[:-1]: code for code, ja, _en in PREFECTURES if ja[-1] in "都府県"},
    **{en.lower(): code for code, _ja, en in PREFECTURES},
}


def prefecture_name(code: int | None) -> str:
    """The prefecture's name in the active language ("" for none)."""
    if not code or code not in PREFECTURE_BY_CODE:
        return ""
    ja, en = PREFECTURE_BY_CODE[code]
    return en if (get_language() or "ja").startswith("en") else ja


def prefecture_code(name: str) -> int | None:
    """Find a prefecture by Japanese or English name (``東京都``, ``東京``, ``Tokyo``)."""
    key = name.strip().lower().removesuffix(" prefecture")
    return _CODE_BY_NAME.get(key)


def prefecture_choices() -> list[tuple[int, str]]:
    return [(code, prefecture_name(code)) for code, _ja, _en in PREFECTURES]


# The eight regions (地方) as sales territories are usually drawn, by prefecture code.
REGIONS: tuple[tuple[str, str, str, tuple[int, ...]], ...] = (
    ("hokkaido", "北海道", "Hokkaido", (1,)),
    ("tohoku", "東北", "Tohoku", (2, 3, 4, 5, 6, 7)),
    ("kanto", "関東", "Kanto", (8, 9, 10, 11, 12, 13, 14)),
    ("chubu", "中部", "Chubu", (15, 16, 17, 18, 19, 20, 21, 22, 23)),
    ("kinki", "近畿", "Kinki", (24, 25, 26, 27, 28, 29, 30)),
    ("chugoku", "中国", "Chugoku", (31, 32, 33, 34, 35)),
    ("shikoku", "四国", "Shikoku", (36, 37, 38, 39)),
    ("kyushu", "九州・沖縄", "Kyushu and Okinawa", (40, 41, 42, 43, 44, 45, 46, 47)),
)


def region_choices() -> list[tuple[str, str]]:
    """The regions for a select, named in the active language."""
    english = (get_language() or "ja").startswith("en")
    return [(key, en if english else ja) for key, ja, en, _codes in REGIONS]


def region_prefectures(keys: list[str] | tuple[str, ...]) -> set[int]:
    """The prefecture codes of the regions ``keys`` (unknown keys add nothing)."""
    wanted = set(keys)
    return {code for key, _ja, _en, codes in REGIONS if key in wanted for code in codes}
