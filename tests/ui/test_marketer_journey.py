"""A marketer's first week on the demo data, in Japanese, in a real Chromium.

The demo marketer (佐藤 美咲) makes a download form for the demo's MA導入チェックリスト and
publishes it, then builds a three-mail follow-up with a branch, started by that form, in the flow
editor and switches it on. A visitor sends the form and opens the checklist: she becomes a scored
contact with consent, enrolled in the follow-up, whose first mail names the checklist. The
marketer then builds a three-condition segment whose live count is the real number of matching
contacts, drafts a newsletter to it whose recipient count is the number sending really mails
(consent and suppression applied), previews it, gets the [TEST] mail over real SMTP and sends
it. She imports the Shift_JIS list from a trade show with a policy per field, and ends the week
on the dashboard, opened from the 分析 menu.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import get_user_model

from sokyaku.capture.models import Form
from sokyaku.consent.models import ConsentRecord
from sokyaku.contacts.models import Company, Contact
from sokyaku.core import clock
from sokyaku.demo.generator import demo_load
from sokyaku.messaging.models import Broadcast, Message
from sokyaku.messaging.services import broadcasts as broadcast_services
from sokyaku.scoring import selectors as scoring_selectors
from sokyaku.segments.models import Segment
from sokyaku.sequences.models import Enrollment, Sequence, Step
from tests.contacts.import_files import sjis_csv
from tests.ui.conftest import signed_in

# A Monday morning in Tokyo, inside the B2B sending window (weekdays 9:00–18:00).
MONDAY = datetime.fromisoformat("2026-12-07T10:00:00+09:00")
MARKETER = "misaki.sato"
VISITOR = "aya.fujimoto@fujimoto-denki.example.co.jp"
SCREENSHOTS = Path(tempfile.gettempdir())
# The list from the booth: half-width kana, a company written its own way, extension numbers,
# columns a contact has no field for. 千葉 is a demo contact (部長, no phone yet); 新田 is new
# at a demo company, known by his address's domain.
SHOW = [
    ["会社名", "氏名", "フリガナ", "役職", "メール", "電話", "ブース", "アンケート"],
    ["九州ソフト㈱", "千葉 学", "ﾁﾊﾞ ﾏﾅﾌﾞ", "課長", "chiba.manabu@kyushu-soft.example.co.jp",
     "092-555-0134 内線 201", "A-12", "導入を検討中"],
    ["ｾｲﾜｱｰｸﾃｸﾉ", "新田 翔", "ﾆｯﾀ ｼｮｳ", "主任", "nitta.sho@seiwa-arc-techno.example.com",
     "03-5555-0198（内線 12）", "B-3", "資料希望"],
]  # fmt: skip
RAW_TOKENS = ("None", "form_submitted", "asset_download", "business_days", "{'")

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def demo() -> Iterator[None]:
    """The demo data as of Monday morning (its forms, asset, sequences, consent and team)."""
    with clock.frozen(MONDAY):
        demo_load(contacts=60, seed=13, months=2)
        yield


def _shot(page: Any, name: str) -> None:
    page.screenshot(path=str(SCREENSHOTS / f"mj_{name}.png"), full_page=True)


def _menu(page: Any, group: str, entry: str) -> None:
    """Open a page the way a person does: the top-bar menu, then the entry."""
    page.locator(f"[data-menu=bar] [data-menu-group={group}] summary").click()
    page.locator(f"[data-menu=bar] [data-menu-entry={entry}]").click()


def _no_raw_values(page: Any) -> None:
    text = page.locator("main").inner_text()
    for raw in RAW_TOKENS:
        assert raw not in text, (raw, page.url)


def test_a_marketers_first_week(browser, live_server, demo, smtp_server, settings, tmp_path):  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    settings.SITE_URL = live_server.url  # where the download link leads

    marketer = get_user_model().objects.get(username=MARKETER)
    staff = signed_in(browser, live_server, marketer, viewport={"width": 1280, "height": 900})
    page = staff.new_page()
    page.goto(f"{live_server.url}/contacts/")

    # --- 1. a download form for the demo's checklist -------------------------------------
    # when she opens 集客 › フォーム, "new form", picks the asset download and the checklist
    _menu(page, "acquire", "forms")
    page.get_by_role("link", name="フォームを作成").first.click()
    expect(page.locator("h1")).to_have_text("フォームを作成")
    page.fill("input[name=name]", "資料DL：MA導入チェックリスト（展示会後）")
    page.get_by_label("資料ダウンロード", exact=False).first.check()
    page.select_option("select[name=option_asset_download]", label="MA導入チェックリスト")
    _shot(page, "1_new_form")
    page.get_by_role("button", name="作成").click()
    expect(page).to_have_url(re.compile(r"/capture/forms/\d+/fields/$"))
    form = Form.objects.get(name="資料DL：MA導入チェックリスト（展示会後）")
    # and, on its settings, gives it an address, the purpose-of-use text and a consent to ask
    page.locator("nav.tabs").get_by_role("link", name="設定").click()
    page.fill("input[name=slug]", "ma-checklist-expo")
    purpose = page.locator("select[name=purpose_key] option").nth(1)
    page.select_option("select[name=purpose_key]", purpose.get_attribute("value"))
    page.get_by_label("製品・サービス情報").check()
    _shot(page, "1_settings")
    page.locator("form.editform button[type=submit].btn--primary").last.click()
    # and publishes it
    page.locator('form[action$="/publish/"] button[type=submit]').click()
    _shot(page, "1_published")
    expect(page.locator("h1 .badge")).to_have_text("公開中")
    form.refresh_from_db()
    assert form.is_published and form.kind_options["asset_title"] == "MA導入チェックリスト"

    # --- 3. a three-mail follow-up with a branch, started by that form ---------------------
    # when she opens 育成 › ステップメール, "new sequence", and sets it to start on the new form
    _menu(page, "nurture", "sequences")
    page.get_by_role("link", name="新規ステップメール").first.click()
    page.fill("input[name=name]", "展示会後 資料DLフォロー")
    page.select_option("select[name=trigger_kind]", label="フォーム送信")
    page.select_option("select[name=trigger_form]", label=form.name)
    page.select_option("select[name=sender]", label="マーケティング配信（株式会社サンプル）")
    page.select_option("select[name=topic_key]", label="製品・サービス情報")
    # the demo's own follow-up also starts on the checklist: the two never run together
    page.get_by_label("B2B 資料請求フォロー").check()
    _shot(page, "3_settings")
    page.locator("form button[type=submit].btn--primary").last.click()
    sequence = Sequence.objects.get(name="展示会後 資料DLフォロー")
    expect(page).to_have_url(re.compile(rf"/sequences/{sequence.pk}/$"))
    flow = page.locator("#seq-flow")

    def append(kind: str) -> None:
        flow.locator(".seq-insert").last.get_by_role("link", name=kind, exact=True).click()
        expect(flow.locator(".seq-insert--open form")).to_be_visible()

    def add() -> None:
        count = flow.locator(".seq-step").count()
        flow.get_by_role("button", name="追加", exact=True).click()
        expect(flow.locator(".seq-step")).to_have_count(count + 1)

    # and adds mail 1, a wait of 3 business days, a branch and mails 2 and 3
    mails = (
        "B2B 資料請求 1通目 お礼",
        "B2B 資料請求 2通目 事例紹介",
        "B2B 資料請求 3通目 デモのご案内",
    )
    append("メールを送信")
    page.select_option(".seq-insert--open select[name=template]", label=mails[0])
    add()
    append("待機")
    expect(flow.locator(".seq-insert--open [name=amount]")).to_have_value("3")
    add()
    for template in mails[1:]:
        append("メールを送信")
        page.select_option(".seq-insert--open select[name=template]", label=template)
        add()
    # the branch goes between the wait and mail 2: opened mail 1? yes → mail 2, no → mail 3
    flow.locator("#insert-3 summary").click()
    flow.locator("#insert-3").get_by_role("link", name="分岐", exact=True).click()
    branch_form = flow.locator(".seq-insert--open form")
    expect(branch_form.locator("select[name=condition]")).to_have_value("opened")
    branch_form.locator("select[name=yes]").select_option(label=f"3. メール「{mails[1]}」")
    branch_form.locator("select[name=no]").select_option(label=f"4. メール「{mails[2]}」")
    add()
    # then the flow reads in order, in words, with the branch's targets
    titles = [t.strip() for t in flow.locator(".seq-step__title").all_inner_texts()]
    assert titles == [
        f"メール「{mails[0]}」",
        "3営業日後",
        "直前のメールを開封した",
        f"メール「{mails[1]}」",
        f"メール「{mails[2]}」",
    ]
    expect(flow.locator('[data-answer="yes"]')).to_contain_text("はい")
    expect(flow.locator('[data-answer="yes"]')).to_contain_text(f"4. メール「{mails[1]}」")
    expect(flow.locator('[data-answer="no"]')).to_contain_text("いいえ")
    expect(flow.locator('[data-answer="no"]')).to_contain_text(f"5. メール「{mails[2]}」")
    expect(flow.locator(".seq-trigger")).to_contain_text(f"フォーム「{form.name}」の送信")
    _no_raw_values(page)
    # when she switches it on
    page.locator('form[action$="/activate/"] button[type=submit]').click()
    _shot(page, "3_active")
    # then it is active with its five steps
    sequence.refresh_from_db()
    assert sequence.status == "active"
    assert list(
        Step.objects.filter(sequence=sequence).order_by("position").values_list("kind", flat=True)
    ) == ["email", "wait", "branch", "email", "email"]

    # --- 2. a visitor downloads the checklist -----------------------------------------------
    # when a visitor fills in the public page and agrees to the product information
    visitor = browser.new_context(locale="ja-JP", viewport={"width": 390, "height": 844})
    visitor.set_default_timeout(20_000)
    public = visitor.new_page()
    public.goto(f"{live_server.url}/f/ma-checklist-expo")
    expect(public.locator("body")).to_contain_text("MA導入チェックリスト")
    public.fill("input[name=family_name]", "藤本")
    public.fill("input[name=given_name]", "彩")
    public.fill("input[name=email]", VISITOR)
    public.fill("input[name=company]", "藤本電機株式会社")
    public.check("input[name=_agree]")
    public.check("input[name=_consent_product]")
    clock.advance(timedelta(seconds=40))  # a person takes a while to fill a form
    _shot(public, "2_public_form")
    public.locator("form button[type=submit]").click()
    expect(public.locator("body")).to_contain_text("ありがとうございます")
    _shot(public, "2_thanks")
    # and opens the checklist from the thank-you page (the document's own site answers here)
    visitor.route(
        "https://www.demo-ma.example/**",
        lambda route: route.fulfill(status=200, content_type="application/pdf", body=b"%PDF-1.4"),
    )
    with public.expect_response(re.compile(r"ma-checklist\.pdf$")):
        public.get_by_role("link", name=re.compile("MA導入チェックリスト")).click()
    visitor.close()
    # then she is a contact who agreed to product information, enrolled in a follow-up
    aya = Contact.objects.get(email=VISITOR)
    assert aya.display_name == "藤本 彩"
    assert ConsentRecord.objects.filter(contact=aya, topic__key="product").exists()
    # she entered the new follow-up when she sent the form, and the demo's own one, which starts
    # on the download a moment later, kept out
    assert [e.sequence for e in Enrollment.objects.filter(contact=aya)] == [sequence]
    # and its first mail thanks her for the document she asked for
    mails_to_her = [m for m in smtp_server.wait_for(2) if VISITOR in str(m["To"])]
    subjects = [str(m["Subject"]) for m in mails_to_her]
    assert "「MA導入チェックリスト」資料のご請求ありがとうございました" in subjects, subjects
    # and her page shows a score above zero with the band that number belongs to
    ruleset = scoring_selectors.ruleset_active()
    assert ruleset is not None
    page.goto(f"{live_server.url}/contacts/{aya.pk}/")
    panel = page.locator("#score-panel")
    shown = int(panel.locator(".score-panel__total").inner_text().replace(",", ""))
    assert shown > 0
    band = (
        "ホット"
        if shown >= ruleset.hot_at
        else "ウォーム"
        if shown >= ruleset.warm_at
        else "コールド"
    )
    expect(panel.locator(".card__title .badge")).to_have_text(band)
    expect(page.locator("main")).to_contain_text("展示会後 資料DLフォロー")
    _shot(page, "2_contact")

    # --- 4. a three-condition segment -------------------------------------------------------
    # when she opens 育成 › セグメント, a new segment, and asks for managers and above in Tokyo
    # who are still leads
    _menu(page, "nurture", "segments")
    page.get_by_role("link", name="新規セグメント").first.click()
    count = page.locator(".segbuilder__count [data-count]")
    expect(count).to_be_visible()
    page.select_option("select[name='conditions.0.field']", "title_level")
    page.select_option("select[name='conditions.0.op']", "gte")
    page.select_option("select[name='conditions.0.value']", "3")
    page.click("[data-add=condition]")
    page.select_option("select[name='conditions.1.field']", "prefecture")
    page.select_option("select[name='conditions.1.op']", "eq")
    page.select_option("select[name='conditions.1.value']", "13")
    page.click("[data-add=condition]")
    page.select_option("select[name='conditions.2.field']", "lifecycle.stage")
    page.select_option("select[name='conditions.2.op']", "eq")
    page.select_option("select[name='conditions.2.value']", "lead")
    # then the live count is the number of such contacts
    expected = Contact.objects.filter(
        merged_into__isnull=True, title_level__gte=3, prefecture=13, lifecycle__stage="lead"
    ).count()
    assert expected > 0
    expect(count).to_have_attribute("data-count", str(expected))
    expect(page.locator(".segbuilder__count")).to_contain_text(f"{expected}")
    _shot(page, "4_segment")
    page.fill("#id_name", "東京の課長以上のリード")
    page.click("form#segment-form button[type=submit].btn--primary")
    expect(page.locator("h1")).to_contain_text("東京の課長以上のリード")
    segment = Segment.objects.get(name="東京の課長以上のリード")

    # --- 5. a newsletter to that segment ----------------------------------------------------
    # when she drafts a broadcast to the segment from 育成 › 一斉配信
    _menu(page, "nurture", "broadcasts")
    page.get_by_role("link", name="新しい一斉配信").first.click()
    page.fill("input[name=name]", "12月 事例紹介メール（東京）")
    page.select_option("select[name=segment]", str(segment.pk))
    page.select_option("select[name=template]", label="B2B 資料請求 2通目 事例紹介")
    page.select_option("select[name=sender]", label="マーケティング配信（株式会社サンプル）")
    page.select_option("select[name=topic_key]", label="製品・サービス情報")
    page.get_by_role("button", name="下書き保存").click()
    broadcast = Broadcast.objects.get(name="12月 事例紹介メール（東京）")
    expect(page).to_have_url(re.compile(rf"/broadcasts/{broadcast.pk}/$"))
    # then the count shown is the number sending would really mail (consent and suppression)
    audience = broadcast_services.broadcast_audience(broadcast=broadcast)
    assert audience.members == expected
    expect(page.locator(".mail-estimate")).to_have_text(f"実際に届く人数 {audience.count} 人")
    # some of them never agreed to product information: they are counted out, and said so
    assert audience.refused > 0
    assert audience.count == expected - audience.refused - audience.no_email - audience.capped
    expect(page.locator(".mail-audience")).to_contain_text(f"セグメントのメンバー {expected} 人")
    expect(page.locator(".mail-audience")).to_contain_text(f"{audience.refused} 人")
    expect(page.locator(".props").first).to_contain_text("製品・サービス情報")
    # and the mail is previewed for one of them
    preview = page.locator(".broadcast-preview")
    expect(preview).to_contain_text("事例")
    _shot(page, "5_broadcast")
    _no_raw_values(page)
    # when she sends herself a test
    before = len(smtp_server.messages)
    page.get_by_role("button", name="自分にテスト送信").click()
    # then it arrives over SMTP, marked as a test
    test_mail = smtp_server.wait_for(before + 1)[-1]
    assert test_mail["To"].addresses[0].addr_spec == marketer.email
    assert str(test_mail["Subject"]).startswith("[TEST]")
    # when she sends it now
    page.get_by_role("button", name="今すぐ配信").click()
    # then exactly the people counted are queued to get it
    expect(page.locator("h1 .badge")).not_to_have_text("下書き")
    queued = Message.objects.filter(broadcast=broadcast)
    assert sorted(queued.values_list("contact_id", flat=True)) == sorted(
        contact_id for contact_id, _email in audience.recipients
    )

    # --- 6. the trade-show list, exported by Excel in Shift_JIS --------------------------------
    chiba = Contact.objects.get(email="chiba.manabu@kyushu-soft.example.co.jp")
    assert (chiba.title, chiba.phone) == ("部長", "")
    show = tmp_path / "展示会リスト_1207.csv"
    show.write_bytes(sjis_csv(SHOW))
    # when she uploads it from 集客 › 取り込み
    _menu(page, "acquire", "imports")
    page.set_input_files("input[name=file]", str(show))
    page.get_by_role("button", name="アップロードして次へ").click()
    expect(page.locator("h1")).to_have_text("列の割り当て")
    header = SHOW[0]
    # and chooses, per field, what happens to a contact already known: keep the stored title,
    # fill the phone only where there is none; the booth becomes a field, the survey a note
    page.select_option(f"#id_pol_{header.index('役職')}", "keep")
    page.select_option(f"#id_pol_{header.index('電話')}", "fill")
    page.select_option(f"#id_col_{header.index('ブース')}", "custom_new")
    page.select_option(f"#id_col_{header.index('アンケート')}", "note")
    page.select_option("#id_legal_basis", "business_card")
    page.fill("#id_source", "展示会 2026/12 ブース")
    # then the step counts what the import will change, as the policies say
    plan = page.locator("[data-testid=import-plan]")
    expect(plan).to_contain_text("新規コンタクト: 1")
    expect(plan).to_contain_text("更新したコンタクト: 1")
    expect(plan).to_contain_text("新規会社: 0")
    fields = page.locator("[data-testid=import-plan-fields]")
    expect(fields.locator('tr[data-field="title"] td')).to_have_text(["0", "0", "1"])
    expect(fields.locator('tr[data-field="phone"] td')).to_have_text(["1", "0", "0"])
    preview = page.locator("#import-preview")
    expect(preview).to_contain_text("ブース: B-3")
    _shot(page, "6_mapping")
    # when she starts it
    page.get_by_role("button", name="取り込みを開始").click()
    expect(page.locator("#import-progress")).to_contain_text("取り込みが完了しました")
    _shot(page, "6_result")
    # then 千葉 kept his title and got the phone with its extension, kana in full width
    chiba.refresh_from_db()
    assert chiba.title == "部長"
    assert (chiba.phone, chiba.phone_extension) == ("+81925550134", "201")
    assert (chiba.family_name_kana, chiba.given_name_kana) == ("チバ", "マナブ")
    # and 新田 is new, at the company his address's domain names, with the booth and survey
    nitta = Contact.objects.get(email="nitta.sho@seiwa-arc-techno.example.com")
    assert (nitta.family_name_kana, nitta.given_name_kana) == ("ニッタ", "ショウ")
    assert nitta.company is not None and nitta.company.name == "株式会社誠和アークテクノ"
    assert Company.objects.filter(domain="seiwa-arc-techno.example.com").count() == 1
    assert "B-3" in nitta.custom_fields.values()
    page.goto(f"{live_server.url}/contacts/{nitta.pk}/")
    main = page.locator("main")
    expect(main).to_contain_text("新田 翔")
    expect(main).to_contain_text("株式会社誠和アークテクノ")
    expect(main).to_contain_text("B-3")
    expect(main).to_contain_text("アンケート: 資料希望")
    expect(main).to_contain_text("内線 12")
    _shot(page, "6_contact")

    # --- 7. the week on the dashboard --------------------------------------------------------
    # when she opens 分析 › ダッシュボード
    _menu(page, "analyse", "dashboard")
    # then the KPIs have figures, with this week's leads among them
    leads = page.locator('[data-kpi="leads"] .kpi__value')
    expect(leads).to_be_visible()
    assert int(leads.inner_text().replace(",", "")) > 0
    expect(page.locator(".kpi")).not_to_have_count(0)
    expect(page.locator("main")).not_to_contain_text("エラー")
    _no_raw_values(page)
    _shot(page, "7_dashboard")
