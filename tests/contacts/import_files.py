"""Contacts files as people bring them to an import: Excel-in-Japan CSV (Shift_JIS, CRLF),
UTF-8 with and without BOM, XLSX built with openpyxl."""

from __future__ import annotations

import io
from collections.abc import Sequence

CARD_HEADER = ["氏名", "フリガナ", "会社名", "部署名", "役職", "メールアドレス", "電話番号",
               "携帯電話", "郵便番号", "住所"]  # fmt: skip

SHOW_HEADER = ["氏名", "フリガナ", "会社名", "部署名", "役職", "メールアドレス", "電話番号",
               "ブース", "アンケート"]  # fmt: skip
# A trade-show export as Excel in Japan writes it: half-width kana, the company written another
# way than it is stored, extra columns the contact has no field for.
SHOW_ROWS = [
    SHOW_HEADER,
    ["佐々木 亮", "ｻｻｷ ﾘｮｳ", "ｻｸﾗﾉｳﾞｧﾃﾞｻﾞｲﾝ株式会社", "デザイン部", "部長",
     "ryo.sasaki@sakura-nova.example", "03-5016-9744 内線123", "A-12", "導入を検討中"],
    ["木下 葵", "きのした あおい", "ｻｸﾗﾉｳﾞｧﾃﾞｻﾞｲﾝ株式会社", "", "",
     "aoi.kinoshita@sakura-nova.example", "", "A-12", "資料希望"],
    ["石川 翼", "ｲｼｶﾜ ﾂﾊﾞｻ", "株式会社ミナトロジ", "", "", "t.ishikawa@minato-logi.example",
     "不明", "B-3", ""],
]  # fmt: skip


def csv_text(rows: Sequence[Sequence[str]]) -> str:
    """Rows as Excel writes a CSV: every row on its own CRLF line, quotes only where needed."""
    lines = []
    for row in rows:
        cells = []
        for cell in row:
            needs_quotes = any(ch in cell for ch in ',"\r\n')
            cells.append('"' + cell.replace('"', '""') + '"' if needs_quotes else cell)
        lines.append(",".join(cells))
    return "\r\n".join(lines) + "\r\n"


def sjis_csv(rows: Sequence[Sequence[str]]) -> bytes:
    """What Excel in Japan saves as "CSV (カンマ区切り)": CP932 (Shift_JIS), CRLF."""
    return csv_text(rows).encode("cp932")


def utf8_csv(rows: Sequence[Sequence[str]], *, bom: bool = True) -> bytes:
    """ "CSV UTF-8 (コンマ区切り)" (with a BOM), or a UTF-8 CSV from another tool (without)."""
    return ("\ufeff" if bom else "").encode() + csv_text(rows).encode("utf-8")


def xlsx(rows: Sequence[Sequence[object]]) -> bytes:
    import openpyxl

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    for row in rows:
        sheet.append(list(row))
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def xlsx_with_member(rows: Sequence[Sequence[object]], name: str, content: bytes) -> bytes:
    """A workbook of ``rows`` with the archive member ``name`` replaced (or added)."""
    import zipfile

    original = zipfile.ZipFile(io.BytesIO(xlsx(rows)))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for info in original.infolist():
            if info.filename != name:
                archive.writestr(info, original.read(info.filename))
        archive.writestr(name, content)
    return out.getvalue()
