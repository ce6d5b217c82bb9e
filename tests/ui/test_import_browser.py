"""A real Chromium imports a trade-show CSV: upload, see the mapping and its live preview,
start, and read the result with the rows that could not be imported."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from sokyaku.contacts import services
from sokyaku.contacts.models import Contact
from tests.contacts.import_files import sjis_csv
from tests.ui.test_contacts_browser import page  # noqa: F401 - the browser fixture

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCREENSHOTS = os.environ.get("SOKYAKU_SCREENSHOTS", "")
ROWS = [
    ["氏名", "会社名", "メールアドレス", "電話番号"],
    ["山田　太郎", "（株）サンプル", "TARO@SAMPLE.EXAMPLE", "０３－１２３４－５６７８"],
    ["鈴木 花子", "株式会社ニュー", "hanako@new.example", ""],
    ["田中 三郎", "株式会社ニュー", "saburo@", ""],
]


@pytest.fixture(autouse=True)
def _orm_beside_playwright(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


def _shot(browser_page, name: str) -> None:  # type: ignore[no-untyped-def]
    if SCREENSHOTS:
        browser_page.screenshot(path=str(Path(SCREENSHOTS) / f"{name}.png"), full_page=True)


def test_import_a_card_file_with_a_live_preview(page, live_server, marketer, tmp_path):  # type: ignore[no-untyped-def]  # noqa: F811
    from playwright.sync_api import expect

    # given a known contact and the file Excel wrote after the show
    services.contact_upsert(
        data=services.ContactInput(
            family_name="山田", given_name="太郎", email="taro@sample.example",
            company_name="株式会社サンプル",
        )
    )  # fmt: skip
    cards = tmp_path / "展示会名刺.csv"
    cards.write_bytes(sjis_csv(ROWS))
    page.goto(f"{live_server.url}/login/?next=/contacts/")
    page.fill("input[name=username]", "marketer")
    page.fill("input[name=password]", "x")
    page.click("button[type=submit].btn--primary")

    # when the marketer uploads it from the contact list
    page.get_by_role("link", name="取り込み").click()
    page.set_input_files("input[name=file]", str(cards))
    page.get_by_role("button", name="アップロードして次へ").click()
    # then each column has its field and the preview shows the rows as they will be stored
    expect(page.locator("h1")).to_have_text("列の割り当て")
    preview = page.locator("#import-preview")
    expect(preview).to_contain_text("山田 太郎")
    expect(preview).to_contain_text("03-1234-5678")
    expect(preview).to_contain_text("有効なメールアドレスを入力してください")
    _shot(page, "import-mapping")

    # when the email column is set not to be imported, the preview follows
    page.select_option("#id_col_2", "")
    expect(preview).not_to_contain_text("hanako@new.example")
    page.select_option("#id_col_2", "email")
    expect(preview).to_contain_text("hanako@new.example")

    # when the import starts with a legal basis
    page.select_option("#id_legal_basis", "business_card")
    page.fill("#id_source", "展示会 X 2026")
    page.get_by_role("button", name="取り込みを開始").click()
    # then the result shows the counts and the row that could not be imported
    expect(page.locator("#import-progress")).to_contain_text("取り込みが完了しました")
    expect(page.locator("#row-errors")).to_contain_text("saburo@")
    expect(page).to_have_url(re.compile(r"/contacts/imports/\d+/$"))
    _shot(page, "import-result")
    assert Contact.objects.count() == 2
