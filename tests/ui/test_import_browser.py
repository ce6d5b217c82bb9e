"""A real Chromium imports a trade-show CSV: upload, see the mapping and its live preview,
start, and read the result with the rows that could not be imported."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from sokyaku.contacts import services
from sokyaku.contacts.models import Contact
from tests.contacts.import_files import SHOW_ROWS, sjis_csv
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


def test_a_trade_show_file_with_update_policies_and_extra_columns(  # type: ignore[no-untyped-def]
    page,  # noqa: F811
    live_server,
    marketer,
    tmp_path,
):
    from playwright.sync_api import expect

    # given 佐々木 at 株式会社桜ノヴァデザイン with the title 課長
    services.company_upsert(name="株式会社桜ノヴァデザイン", domain="sakura-nova.example")
    sasaki = services.contact_upsert(
        data=services.ContactInput(
            family_name="佐々木", given_name="亮", email="ryo.sasaki@sakura-nova.example",
            company_name="株式会社桜ノヴァデザイン", title="課長",
        )
    ).contact  # fmt: skip
    show = tmp_path / "展示会Y.csv"
    show.write_bytes(sjis_csv(SHOW_ROWS))
    page.goto(f"{live_server.url}/login/?next=/contacts/imports/")
    page.fill("input[name=username]", "marketer")
    page.fill("input[name=password]", "x")
    page.click("button[type=submit].btn--primary")
    # when the marketer uploads the Shift_JIS file
    page.set_input_files("input[name=file]", str(show))
    page.get_by_role("button", name="アップロードして次へ").click()
    # then the mapping step counts what will change: 佐々木's title is kept by default
    plan = page.locator("[data-testid=import-plan-fields]")
    expect(plan.locator('tr[data-field="title"]')).to_contain_text("1")
    expect(page.locator("[data-testid=import-plan]")).to_contain_text("新規会社: 1")
    # when the title is set to overwrite and the extra columns get a place, the counts follow
    columns = SHOW_ROWS[0]
    page.select_option(f"#id_pol_{columns.index('役職')}", "overwrite")
    expect(plan.locator('tr[data-field="title"] td').nth(1)).to_have_text("1")
    page.select_option(f"#id_col_{columns.index('ブース')}", "custom_new")
    page.select_option(f"#id_col_{columns.index('アンケート')}", "note")
    expect(page.locator("#import-preview")).to_contain_text("ブース: A-12")
    _shot(page, "import-policies")
    page.get_by_role("button", name="取り込みを開始").click()
    expect(page.locator("#import-progress")).to_contain_text("取り込みが完了しました")
    # then 佐々木 has the new title, stays at his company, with the booth and the survey answer
    page.goto(f"{live_server.url}/contacts/{sasaki.pk}/")
    expect(page.locator("main")).to_contain_text("部長")
    expect(page.locator("main")).to_contain_text("株式会社桜ノヴァデザイン")
    expect(page.locator("main")).to_contain_text("A-12")
    expect(page.locator("main")).to_contain_text("アンケート: 導入を検討中")
    expect(page.locator("main")).to_contain_text("内線 123")
    _shot(page, "import-policies-contact")
