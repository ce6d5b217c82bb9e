"""Importing contacts from files (``contacts.imports``): encodings, header inference, dedupe
into existing contacts, the error report, legal basis, re-import, and safe re-runs."""

from __future__ import annotations

import csv
import io
from dataclasses import replace
from datetime import timedelta

import pytest

from sokyaku.activity.models import Event, EventType
from sokyaku.campaigns.models import Campaign, Channel, ChannelKind
from sokyaku.consent import services as consent_services
from sokyaku.consent.models import ConsentRecord, ConsentSource, ConsentStatus, LegalBasis
from sokyaku.contacts.export import CSV, rows_to_bytes
from sokyaku.contacts.imports import reader, report, run
from sokyaku.contacts.imports.mapping import mapping_infer
from sokyaku.contacts.models import Company, Contact, ImportJob, ImportRowError
from sokyaku.contacts.services import ContactInput, contact_upsert
from sokyaku.contacts.tasks import import_sweep
from sokyaku.core import clock
from sokyaku.core.errors import ValidationError
from tests.contacts.import_files import CARD_HEADER, sjis_csv, utf8_csv, xlsx, xlsx_with_member

pytestmark = pytest.mark.django_db

SHOW = "展示会 X 2026"
CARDS = run.ImportOptions(source=SHOW, legal_basis=LegalBasis.BUSINESS_CARD, tags=["展示会X2026"])


def _import(data: bytes, filename: str = "cards.csv", options=CARDS, mapping=None) -> ImportJob:
    return run.import_file(data=data, filename=filename, mapping=mapping, options=options)


def _state() -> list[dict]:
    """Everything an import may change, comparable across imports."""
    contacts = Contact.objects.order_by("pk").values(
        "pk", "family_name", "given_name", "family_name_kana", "given_name_kana", "email",
        "phone", "company_id", "department", "title", "postal_code", "prefecture", "address",
        "first_touch_channel_id", "first_touch", "latest_touch", "updated_at", "dedupe_key",
    )  # fmt: skip
    return [
        {**c, "tags": sorted(Contact.objects.get(pk=c["pk"]).tags.values_list("name", flat=True))}
        for c in contacts
    ]


@pytest.fixture
def topics():
    return [
        consent_services.topic_save(key="newsletter", name="メールマガジン"),
        consent_services.topic_save(key="seminars", name="セミナー案内"),
    ]


@pytest.fixture
def known() -> dict[str, Contact]:
    """People already in sokyaku before the trade show."""
    yamada = contact_upsert(
        data=ContactInput(
            family_name="山田", given_name="太郎", email="taro.yamada@sample.example",
            company_name="株式会社サンプル", title="課長",
        )
    ).contact  # fmt: skip
    sato = contact_upsert(
        data=ContactInput(family_name="佐藤", given_name="健", company_name="テスト工業株式会社")
    ).contact
    return {"yamada": yamada, "sato": sato}


# What Excel in Japan writes after a trade show: full-width digits, （株）/㈱, CRLF, Shift_JIS.
CARD_ROWS = [
    CARD_HEADER,
    # row 2: a known person: (株) for 株式会社, full-width phone, a new title
    ["山田　太郎", "ヤマダ タロウ", "（株）サンプル", "情報システム部", "部長",
     "TARO.YAMADA@SAMPLE.EXAMPLE", "０３－１２３４－５６７８", "", "１００－０００１",
     "東京都千代田区千代田１－１"],
    # row 3: known by name + company only (no email before), ㈱ on the other side
    ["佐藤 健", "サトウ ケン", "テスト工業㈱", "", "", "ken.sato@test-kogyo.example", "",
     "０９０－１１１１－２２２２", "", ""],
    # row 4: new
    ["鈴木 花子", "スズキ ハナコ", "株式会社ニュー", "営業部", "", "hanako@new.example", "", "",
     "530-0001", "大阪府大阪市北区梅田1-1"],
    # row 5: bad email
    ["高橋 一郎", "", "株式会社ニュー", "", "", "takahashi@", "", "", "", ""],
    # row 6: bad postal code (a phone number that cannot be read is kept, see test_import_merge)
    ["田中 次郎", "", "株式会社ニュー", "", "", "", "03-1111-2222", "", "12345", ""],
    # row 7: nothing to recognise the person by
    ["", "", "", "総務部", "", "", "", "", "", ""],
    # an empty row, as Excel leaves at the end
    ["", "", "", "", "", "", "", "", "", ""],
]  # fmt: skip


def test_a_shift_jis_card_file_merges_into_existing_contacts(known, topics):
    # when the trade-show file Excel wrote is imported, the titles on the cards overwriting
    job = _import(sjis_csv(CARD_ROWS), options=replace(CARDS, policies={"title": "overwrite"}))
    # then it was read as Shift_JIS and every column was recognised
    assert (job.status, job.encoding, job.file_format) == ("done", "cp932", "csv")
    assert set(job.mapping) == set(CARD_HEADER)
    # and the two known people were updated, not duplicated; one person is new
    assert (job.created_count, job.updated_count, job.unchanged_count, job.error_count) == (
        1, 2, 0, 3,
    )  # fmt: skip
    assert Contact.objects.count() == 3
    assert Company.objects.count() == 3  # （株）サンプル and テスト工業㈱ are the known companies
    yamada = Contact.objects.get(pk=known["yamada"].pk)
    assert (yamada.title, yamada.phone, yamada.postal_code, yamada.prefecture) == (
        "部長", "+81312345678", "100-0001", 13,
    )  # fmt: skip
    assert yamada.address == "千代田区千代田１－１"
    assert yamada.company.name == "株式会社サンプル"
    sato = Contact.objects.get(pk=known["sato"].pk)
    assert (sato.email, sato.phone, sato.family_name_kana) == (
        "ken.sato@test-kogyo.example", "+819011112222", "サトウ",
    )  # fmt: skip
    suzuki = Contact.objects.get(email="hanako@new.example")
    assert (suzuki.family_name, suzuki.given_name, suzuki.prefecture) == ("鈴木", "花子", 27)
    assert sorted(suzuki.tags.values_list("name", flat=True)) == ["展示会X2026"]


def test_bad_rows_are_listed_with_their_row_numbers_and_do_not_stop_the_others(known, topics):
    job = _import(sjis_csv(CARD_ROWS))
    errors = {e.row_number: e.errors for e in ImportRowError.objects.filter(job=job)}
    assert sorted(errors) == [5, 6, 7]
    assert list(errors[5]) == ["email"]
    assert list(errors[6]) == ["postal_code"]
    assert list(errors[7]) == ["email"]
    assert (
        ImportRowError.objects.get(job=job, row_number=5).values["メールアドレス"] == "takahashi@"
    )


def test_the_error_report_csv_has_the_row_number_the_problem_and_the_cells(known, topics):
    # given an import with bad rows
    job = _import(sjis_csv(CARD_ROWS))
    # when the report is written (English UI)
    from django.utils import translation

    with translation.override("en"):
        data = rows_to_bytes(
            report.error_report_rows(job, ImportRowError.objects.filter(job=job).iterator()),
            file_format=CSV,
        )
    # then it is a UTF-8 CSV with a BOM, one line per bad row, with the original cells
    assert data.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows[0] == ["Row", "Errors", *CARD_HEADER]
    assert [r[0] for r in rows[1:]] == ["5", "6", "7"]
    assert rows[1][1] == "Email: Enter a valid email address."
    assert rows[2][1] == "Postal code: Enter a postal code like 100-0001."
    assert rows[1][2:] == CARD_ROWS[4]  # file row 5


def test_the_error_report_imports_back_once_fixed(known, topics):
    # given the error report of an import, with the bad email fixed
    job = _import(sjis_csv(CARD_ROWS))
    rows = list(report.error_report_rows(job, ImportRowError.objects.filter(job=job).iterator()))
    rows[1][rows[0].index("メールアドレス")] = "takahashi@new.example"
    # when it is imported (its row-number and error columns are ignored)
    again = _import(rows_to_bytes(rows, file_format=CSV), filename="errors.csv")
    # then the fixed row is created and the others are refused again
    assert (again.created_count, again.error_count) == (1, 2)
    assert "行" not in again.mapping and "エラー" not in again.mapping


def test_reimporting_the_same_file_changes_nothing(known, topics):
    # given a file imported once
    data = sjis_csv(CARD_ROWS)
    _import(data)
    before = _state()
    events = Event.objects.count()
    consents = ConsentRecord.objects.count()
    # when it is imported again
    again = _import(data)
    # then no contact, field, tag, event or consent record changed or was added
    assert (again.created_count, again.updated_count, again.unchanged_count) == (0, 0, 3)
    assert _state() == before
    assert Event.objects.count() == events
    assert ConsentRecord.objects.count() == consents


def test_utf8_with_bom_as_excel_writes_it():
    job = _import(utf8_csv([["姓", "名", "Eメール"], ["山田", "太郎", "taro@example.jp"]]))
    assert (job.encoding, job.created_count) == ("utf-8-sig", 1)
    assert Contact.objects.get().family_name == "山田"


def test_utf8_without_bom_and_english_headers():
    rows = [
        ["First Name", "Last Name", "Email Address", "Company Name", "Job Title", "Phone Number"],
        ["Taro", "Yamada", "taro@example.jp", "Sample Co., Ltd.", "CTO", "+81 3-1234-5678"],
    ]
    job = _import(utf8_csv(rows, bom=False))
    contact = Contact.objects.get()
    assert job.encoding == "utf-8"
    assert (contact.family_name, contact.given_name, contact.title) == ("Yamada", "Taro", "CTO")
    assert (contact.company.name, contact.phone) == ("Sample Co., Ltd.", "+81312345678")


def test_xlsx_with_numbers_where_excel_dropped_the_leading_zero():
    # given a workbook whose phone and postal code cells hold numbers
    data = xlsx(
        [
            ["会社名", "氏名", "メール", "携帯", "〒", "都道府県", "住所1", "住所2"],
            [
                "㈱サンプル",
                "山﨑 優子",
                "yuko@sample.example",
                9012345678,
                600001,
                "北海道",
                "札幌市中央区北一条西",
                "1-1 サンプルビル3F",
            ],
        ]  # fmt: skip
    )
    # when it is imported
    job = _import(data, filename="cards.xlsx")
    # then the numbers are read as the phone and postal code they were
    contact = Contact.objects.get()
    assert (job.file_format, job.encoding, job.created_count) == ("xlsx", "", 1)
    assert (contact.phone, contact.postal_code, contact.prefecture) == (
        "+819012345678", "060-0001", 1,
    )  # fmt: skip
    assert contact.address == "札幌市中央区北一条西 1-1 サンプルビル3F"
    assert contact.family_name == "山﨑"


@pytest.mark.parametrize(
    ("data", "filename", "message"),
    [
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n", "cards.pdf", "Only CSV and Excel"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "cards.csv", "not a CSV or Excel"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, "cards.xls", "Old Excel"),
        (b"name,email\r\n\x82\xa0\xff\xfe\xfd\x80\x85\r\n", "cards.csv", "encoding"),
        (b"", "cards.csv", "empty"),
        (b"taro@example.jp,090-1234-5678\r\n", "cards.csv", "looks like data"),
        (b"PK\x03\x04 not really a zip", "cards.xlsx", "not a valid Excel"),
    ],
)
def test_a_file_that_cannot_be_read_is_refused_and_nothing_is_imported(data, filename, message):
    from django.utils import translation

    with translation.override("en"), pytest.raises(reader.FileUnreadable) as refused:
        _import(data, filename=filename)
    assert message in refused.value.message
    assert ImportJob.objects.count() == 0
    assert Contact.objects.count() == 0


_SHEET = "xl/worksheets/sheet1.xml"


@pytest.mark.parametrize(
    ("member", "content"),
    [
        (_SHEET, b"<worksheet><sheetData><row><c t='inlineStr'><is><t>broken"),
        (_SHEET, b"\x00\x01 not xml at all"),
        ("xl/workbook.xml", b"<workbook><sheets><sheet name='x' "),
    ],
)
def test_a_workbook_with_broken_xml_is_refused_with_a_message(member, content):
    # given an .xlsx whose XML inside is malformed
    data = xlsx_with_member([["氏名", "メール"], ["山田", "a@example.jp"]], member, content)
    # when it is imported, then it is refused with the user's message, and nothing is kept
    with pytest.raises(reader.FileUnreadable) as refused:
        _import(data, filename="cards.xlsx")
    assert refused.value.message == "正しい Excel（.xlsx）ファイルではありません。"
    assert ImportJob.objects.count() == 0


def test_a_workbook_that_expands_far_beyond_its_size_is_refused_before_it_is_read():
    # given an .xlsx of a few hundred kilobytes whose sheet inflates to hundreds of megabytes
    bomb = b"<worksheet><sheetData>" + b" " * 400_000_000 + b"</sheetData></worksheet>"
    data = xlsx_with_member([["氏名"], ["山田"]], _SHEET, bomb)
    assert len(data) < 2_000_000
    # when it is imported, then it is refused as such
    with pytest.raises(reader.FileUnreadable) as refused:
        _import(data, filename="cards.xlsx")
    assert "展開すると大きすぎる" in refused.value.message
    assert ImportJob.objects.count() == 0


def test_a_row_with_a_control_character_in_a_name_is_an_error_row(topics):
    # given a file whose second person has a line break inside their name
    data = xlsx(
        [
            ["氏名", "会社名", "メールアドレス"],
            ["山田 太郎", "株式会社A", "taro@example.jp"],
            ["佐藤\n花子", "株式会社B", "hanako@example.jp"],
            ["鈴木 一郎", "株式会社C\u202e", "ichiro@example.jp"],
        ]
    )
    # when it is imported
    job = _import(data, filename="cards.xlsx", mapping=None)
    # then the first is imported, the others are error rows naming the field
    errors = {e.row_number: sorted(e.errors) for e in ImportRowError.objects.filter(job=job)}
    assert sorted(errors) == [3, 4]
    assert Contact.objects.filter(email="taro@example.jp").exists()
    assert not Contact.objects.filter(email__in=["hanako@example.jp", "ichiro@example.jp"]).exists()


def test_a_mapping_naming_a_column_the_file_lacks_is_refused():
    data = utf8_csv([["メール"], ["a@example.jp"]])
    with pytest.raises(ValidationError):
        _import(data, mapping={"E-mail": "email"})
    assert Contact.objects.count() == 0


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        # Sansan-like
        (["会社名", "部署名", "役職", "姓", "名", "セイ", "メイ", "メールアドレス", "郵便番号",
          "都道府県", "住所1", "住所2", "電話番号", "FAX番号", "携帯電話番号", "名刺交換日"],
         {"会社名": "company_name", "部署名": "department", "役職": "title", "姓": "family_name",
          "名": "given_name", "セイ": "family_name_kana", "メイ": "given_name_kana",
          "メールアドレス": "email", "郵便番号": "postal_code", "都道府県": "prefecture",
          "住所1": "address", "住所2": "address", "電話番号": "phone", "携帯電話番号": "mobile"}),
        # Eight-like
        (["会社名", "部署名", "役職", "氏名", "e-mail", "郵便番号", "住所", "TEL会社", "TEL部門",
          "TEL直通", "Fax", "携帯電話", "URL"],
         {"会社名": "company_name", "部署名": "department", "役職": "title", "氏名": "full_name",
          "e-mail": "email", "郵便番号": "postal_code", "住所": "address", "TEL会社": "phone",
          "TEL部門": "phone", "TEL直通": "phone", "携帯電話": "mobile"}),
        # a web form's export
        (["お名前（必須）", "ふりがな", "貴社名", "メールアドレス（会社）", "〒", "ご住所"],
         {"お名前（必須）": "full_name", "ふりがな": "full_name_kana", "貴社名": "company_name",
          "メールアドレス（会社）": "email", "〒": "postal_code", "ご住所": "address"}),
        # HubSpot / Salesforce
        (["First Name", "Last Name", "Email", "Mobile Phone Number", "Account Name", "Title",
          "Mailing Zip/Postal Code", "Contact owner"],
         {"First Name": "given_name", "Last Name": "family_name", "Email": "email",
          "Mobile Phone Number": "mobile", "Account Name": "company_name", "Title": "title",
          "Mailing Zip/Postal Code": "postal_code", "Contact owner": "owner"}),
    ],
)  # fmt: skip
def test_headers_are_recognised(headers, expected):
    assert mapping_infer(headers) == expected


def test_a_direct_line_is_kept_before_a_switchboard_and_a_mobile_before_both():
    header = ["氏名", "会社名", "TEL会社", "TEL直通", "携帯電話"]
    _import(utf8_csv([header, ["山田 太郎", "サンプル", "03-1111-1111", "03-2222-2222", ""],
                      ["鈴木 花子", "サンプル", "03-1111-1111", "", "090-3333-3333"]]))  # fmt: skip
    phones = dict(Contact.objects.values_list("family_name", "phone"))
    assert phones == {"山田": "+81322222222", "鈴木": "+819033333333"}


def test_a_full_name_without_a_space_is_split_as_the_stored_contact_is():
    # given a known contact
    known = contact_upsert(
        data=ContactInput(family_name="長谷川", given_name="真理子", company_name="サンプル")
    ).contact
    # when a file writes the name without a space
    job = _import(
        utf8_csv([["氏名", "会社名"], ["長谷川真理子", "（株）サンプル"]]),
        options=run.ImportOptions(),
    )
    # then the row is the same person, unchanged
    known.refresh_from_db()
    assert (job.unchanged_count, Contact.objects.count()) == (1, 1)
    assert (known.family_name, known.given_name) == ("長谷川", "真理子")


def test_a_name_alone_is_refused_as_it_could_never_be_recognised_again():
    job = _import(utf8_csv([["氏名", "部署"], ["山田 太郎", "営業部"]]))
    assert job.error_count == 1
    assert list(ImportRowError.objects.get().errors) == ["company_name"]


def test_the_legal_basis_is_recorded_once_per_contact_and_active_topic(known, topics):
    # given an inactive topic besides the two active ones
    consent_services.topic_save(key="old", name="旧メルマガ", is_active=False)
    # when the cards are imported with "business card" as the legal basis
    _import(sjis_csv(CARD_ROWS))
    # then each imported contact has it for each active topic, with the show as its source
    records = ConsentRecord.objects.filter(legal_basis=LegalBasis.BUSINESS_CARD)
    assert records.count() == 3 * 2
    assert set(records.values_list("source", "source_detail", "status")) == {
        (ConsentSource.IMPORT, SHOW, ConsentStatus.GRANTED)
    }
    assert set(records.values_list("topic__key", flat=True)) == {"newsletter", "seminars"}
    assert Event.objects.filter(type=EventType.CONSENT_GRANTED).count() == 6


def test_an_import_never_lifts_an_opt_out_nor_replaces_an_opt_in(known, topics):
    # given Yamada opted out of everything, and Sato opted in to the newsletter himself
    newsletter, _seminars = topics
    form = consent_services.Evidence(source=ConsentSource.FORM)
    consent_services.consent_record(
        contact_id=known["yamada"].pk, topic=None, status=ConsentStatus.WITHDRAWN, evidence=form
    )
    consent_services.consent_record(
        contact_id=known["sato"].pk, topic=newsletter, status=ConsentStatus.GRANTED,
        legal_basis=LegalBasis.OPT_IN, evidence=form,
    )  # fmt: skip
    # when the cards are imported
    _import(sjis_csv(CARD_ROWS))
    # then nothing is added for Yamada, and Sato's newsletter stays on his own opt-in
    imported = ConsentRecord.objects.filter(source=ConsentSource.IMPORT)
    assert not imported.filter(contact=known["yamada"]).exists()
    assert list(imported.filter(contact=known["sato"]).values_list("topic__key", flat=True)) == [
        "seminars"
    ]


def test_another_show_adds_its_own_evidence():
    consent_services.topic_save(key="newsletter", name="メールマガジン")
    data = utf8_csv([["メール"], ["a@example.jp"]])
    _import(data)
    _import(data, options=run.ImportOptions(source="展示会 Y", legal_basis="business_card"))
    assert sorted(ConsentRecord.objects.values_list("source_detail", flat=True)) == [
        SHOW, "展示会 Y"
    ]  # fmt: skip


def test_no_topic_means_no_consent_record():
    job = _import(utf8_csv([["メール"], ["a@example.jp"]]))
    assert job.created_count == 1
    assert ConsentRecord.objects.count() == 0


def test_channel_fills_an_empty_first_touch_and_campaign_records_a_touch(known):
    # given a trade-show channel and campaign, and a contact who came through another channel
    show = Channel.objects.create(key="show-x", name="展示会", kind=ChannelKind.TRADE_SHOW)
    web = Channel.objects.create(key="web", name="Web", kind=ChannelKind.ORGANIC_SEARCH)
    campaign = Campaign.objects.create(name="展示会 X", channel=show, utm_campaign="show_x_2026")
    Contact.objects.filter(pk=known["sato"].pk).update(first_touch_channel=web)
    options = run.ImportOptions(source=SHOW, channel_id=show.pk, campaign_id=campaign.pk)
    # when the cards are imported with them
    _import(sjis_csv(CARD_ROWS), options=options)
    # then the channel is the first touch of those without one, and every one has the touch
    channels = dict(Contact.objects.values_list("family_name", "first_touch_channel__key"))
    assert channels == {"山田": "show-x", "佐藤": "web", "鈴木": "show-x"}
    assert {c.latest_touch.get("campaign") for c in Contact.objects.all()} == {"show_x_2026"}
    # and a second import of the file changes nothing
    before = _state()
    _import(sjis_csv(CARD_ROWS), options=options)
    assert _state() == before


def test_a_cell_with_markup_is_stored_as_text():
    _import(utf8_csv([["氏名", "会社名"], ["<script>alert(1)</script> 太郎", "<b>株式会社</b>"]]))
    contact = Contact.objects.get()
    assert contact.family_name == "<script>alert(1)</script>"
    assert contact.company.name == "<b>株式会社</b>"


def test_an_owner_column_assigns_known_users_and_refuses_unknown_names(marketer, sales_rep):
    data = utf8_csv([["メール", "担当営業"], ["a@example.jp", "rep"], ["b@example.jp", "nobody"]])
    job = _import(data)
    assert Contact.objects.get(email="a@example.jp").owner == sales_rep
    assert (job.created_count, job.error_count) == (1, 1)
    assert ImportRowError.objects.get().errors == {"owner": "Unknown user."}


def test_running_a_job_twice_is_safe():
    # given a started job
    job = run.import_create(
        data=utf8_csv([["メール"], ["a@example.jp"], ["b@example.jp"]]), filename="a.csv", user=None
    )
    run.import_configure(job=job, mapping=job.mapping, options=run.ImportOptions())
    run.import_start(job=job, in_worker=False)
    # when the worker runs it twice
    first = run.import_run(job_id=job.pk)
    second = run.import_run(job_id=job.pk)
    # then the second run does nothing
    assert first is not None and second is not None
    assert (second.status, second.created_count, second.processed_rows) == ("done", 2, 2)
    assert Contact.objects.count() == 2


def test_a_run_that_stopped_resumes_after_the_last_committed_chunk(monkeypatch):
    # given a job whose worker died after committing the first chunk of two rows
    monkeypatch.setattr(run, "CHUNK", 2)
    rows = [["メール"], *([f"p{n}@example.jp"] for n in range(5))]
    job = run.import_create(data=utf8_csv(rows), filename="a.csv", user=None)
    run.import_configure(job=job, mapping=job.mapping, options=run.ImportOptions())
    run.import_start(job=job, in_worker=False)
    ImportJob.objects.filter(pk=job.pk).update(status="running", processed_rows=2)
    # when the job is run again
    done = run.import_run(job_id=job.pk)
    # then it takes the rows after the committed chunk only
    assert done is not None
    assert (done.status, done.processed_rows, done.created_count) == ("done", 5, 3)
    assert sorted(Contact.objects.values_list("email", flat=True)) == [
        "p2@example.jp", "p3@example.jp", "p4@example.jp",
    ]  # fmt: skip


def test_the_worker_task_runs_a_started_job(django_capture_on_commit_callbacks):
    job = run.import_create(
        data=utf8_csv([["メール"], ["a@example.jp"]]), filename="a.csv", user=None
    )
    run.import_configure(job=job, mapping=job.mapping, options=run.ImportOptions())
    with django_capture_on_commit_callbacks(execute=True):
        run.import_start(job=job)
    job.refresh_from_db()
    assert (job.status, job.created_count) == ("done", 1)


def test_a_configured_job_cannot_be_started_twice():
    job = run.import_create(
        data=utf8_csv([["メール"], ["a@example.jp"]]), filename="a.csv", user=None
    )
    run.import_start(job=job, in_worker=False)
    with pytest.raises(ValidationError):
        run.import_start(job=job, in_worker=False)


def test_a_person_in_charge_column_is_the_customer_when_there_is_no_other_name():
    assert mapping_infer(["会社名", "担当者", "メール"])["担当者"] == "full_name"
    assert mapping_infer(["氏名", "会社名", "担当者"])["担当者"] == "owner"


def test_the_worker_sweep_runs_imports_whose_queue_item_was_lost():
    # given a job queued (its queue item lost) ten minutes ago, and one queued just now
    old = run.import_create(
        data=utf8_csv([["メール"], ["a@example.jp"]]), filename="a.csv", user=None
    )
    run.import_start(job=old, in_worker=False)
    ImportJob.objects.filter(pk=old.pk).update(created_at=clock.now() - timedelta(minutes=10))
    new = run.import_create(
        data=utf8_csv([["メール"], ["b@example.jp"]]), filename="b.csv", user=None
    )
    run.import_start(job=new, in_worker=False)
    # when the worker's sweep runs
    import_sweep.call_local()
    # then the lost one was imported, and the fresh one is left to its own queue item
    assert ImportJob.objects.get(pk=old.pk).status == "done"
    assert ImportJob.objects.get(pk=new.pk).status == "queued"
    assert list(Contact.objects.values_list("email", flat=True)) == ["a@example.jp"]
