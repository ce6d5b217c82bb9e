"""The import UI through the Django test client: upload → mapping with preview → run →
progress → result and error report; escaping; permissions."""

from __future__ import annotations

import csv
import io
import re

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import translation

from sokyaku.consent import services as consent_services
from sokyaku.consent.models import ConsentRecord
from sokyaku.contacts.imports import run
from sokyaku.contacts.models import Contact, FieldDefinition, ImportJob
from sokyaku.contacts.services import ContactInput, company_upsert, contact_upsert
from tests.contacts.import_files import SHOW_ROWS, sjis_csv, utf8_csv

pytestmark = pytest.mark.django_db

INDEX = reverse("contacts:import_index")
HTMX = {"HX-Request": "true"}
XSS = "<script>alert('x')</script>"
ROWS = [
    ["氏名", "会社名", "メールアドレス", "電話番号"],
    ["山田　太郎", "（株）サンプル", "taro@sample.example", "０３－１２３４－５６７８"],
    ["鈴木 花子", "株式会社ニュー", "hanako@", ""],
    [f"{XSS} 次郎", "株式会社ニュー", "jiro@new.example", ""],
    ["田中 三郎", "株式会社ニュー", XSS, ""],
]


def _url(name: str, job: ImportJob) -> str:
    return reverse(f"contacts:{name}", kwargs={"job_id": job.pk})


def _upload(client: Client, data: bytes, name: str = "cards.csv"):
    return client.post(INDEX, {"file": SimpleUploadedFile(name, data, "text/csv")})


def _mapping_post(job: ImportJob, **options: str) -> dict[str, str]:
    table = run.job_table(job, limit=0)
    data = {f"col_{n}": job.mapping.get(h, "") for n, h in enumerate(table.headers)}
    return {"legal_basis": "", "source": "", "tags": "", "channel": "", "campaign": "", **data,
            **options}  # fmt: skip


@pytest.fixture
def known() -> Contact:
    return contact_upsert(
        data=ContactInput(
            family_name="山田", given_name="太郎", email="taro@sample.example",
            company_name="株式会社サンプル",
        )
    ).contact  # fmt: skip


def test_upload_map_run_and_see_the_result(
    logged_in: Client, known, django_capture_on_commit_callbacks
):
    consent_services.topic_save(key="newsletter", name="メールマガジン")
    # when a marketer uploads the Shift_JIS file Excel wrote
    response = _upload(logged_in, sjis_csv(ROWS))
    job = ImportJob.objects.get()
    # then the mapping step shows each column with its guess and a preview of the first rows
    assert response.status_code == 302 and response["Location"] == _url("import_mapping", job)
    page = logged_in.get(_url("import_mapping", job)).content.decode()
    assert 'value="full_name" selected' in page
    assert "山田 太郎" in page and "03-1234-5678" in page
    assert "<td>株式会社サンプル</td>" in page  # （株）サンプル is the stored company
    # when the import starts with a legal basis and a tag
    post = _mapping_post(job, legal_basis="business_card", source="展示会 X", tags="展示会X, 名刺")
    with django_capture_on_commit_callbacks(execute=True):
        started = logged_in.post(_url("import_mapping", job), post)
    # then the worker ran it and the job page shows the counts
    assert started.status_code == 302 and started["Location"] == _url("import_detail", job)
    job.refresh_from_db()
    assert (job.status, job.created_count, job.updated_count, job.error_count) == ("done", 1, 1, 2)
    assert (job.source, job.legal_basis, job.tags) == (
        "展示会 X",
        "business_card",
        ["展示会X", "名刺"],
    )
    page = logged_in.get(_url("import_detail", job)).content.decode()
    assert "import-progress" in page and 'hx-trigger="every 1s"' not in page
    assert ConsentRecord.objects.filter(source_detail="展示会 X").count() == 2
    assert Contact.objects.count() == 2


def test_the_preview_follows_the_mapping_being_edited(logged_in: Client):
    _upload(logged_in, utf8_csv(ROWS))
    job = ImportJob.objects.get()
    post = _mapping_post(job)
    post["col_2"] = ""  # the email column is not imported
    fragment = logged_in.post(_url("import_preview", job), post, headers=HTMX).content.decode()
    assert "taro@sample.example" not in fragment
    assert "山田 太郎" in fragment


def test_a_mapping_without_any_identity_column_is_refused(logged_in: Client):
    _upload(logged_in, utf8_csv(ROWS))
    job = ImportJob.objects.get()
    post = {**_mapping_post(job), "col_0": "", "col_2": "", "col_3": ""}
    response = logged_in.post(_url("import_mapping", job), post)
    assert response.status_code == 200
    assert "form-errors" in response.content.decode()
    job.refresh_from_db()
    assert job.status == "uploaded"


def test_progress_is_polled_while_the_import_runs_and_reloads_when_it_ends(logged_in: Client):
    # given a started job the worker has half done
    _upload(logged_in, utf8_csv(ROWS))
    job = ImportJob.objects.get()
    run.import_start(job=job, in_worker=False)
    ImportJob.objects.filter(pk=job.pk).update(status="running", processed_rows=2)
    # then its page polls the progress fragment, which shows how far it is
    page = logged_in.get(_url("import_detail", job)).content.decode()
    assert 'hx-trigger="every 1s"' in page
    fragment = logged_in.get(_url("import_progress", job), headers=HTMX)
    assert re.search(r'<progress[^>]*max="4"[^>]*value="2"', fragment.content.decode())
    assert "HX-Refresh" not in fragment
    # when it has finished, the next poll reloads the page to show the result
    run.import_run(job_id=job.pk)
    done = logged_in.get(_url("import_progress", job), headers=HTMX)
    assert done["HX-Refresh"] == "true"


def test_markup_in_cells_is_inert_in_the_list_and_on_the_error_page(logged_in: Client):
    job = run.import_file(data=utf8_csv(ROWS), filename="cards.csv")
    list_page = logged_in.get(reverse("contacts:list")).content.decode()
    error_page = logged_in.get(_url("import_detail", job)).content.decode()
    for page in (list_page, error_page):
        assert XSS not in page
        assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in page


def test_the_error_report_downloads_as_csv(logged_in: Client):
    job = run.import_file(data=utf8_csv(ROWS), filename="cards.csv")
    with translation.override("ja"):
        response = logged_in.get(_url("import_errors", job))
    assert response.status_code == 200
    assert "attachment" in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert [row[0] for row in rows[1:]] == ["3", "5"]
    assert rows[1][2:] == ROWS[2]


def test_the_list_offers_import_to_those_who_may(logged_in: Client, client: Client, sales_rep):
    assert INDEX in logged_in.get(reverse("contacts:list")).content.decode()
    client.force_login(sales_rep)
    assert INDEX not in client.get(reverse("contacts:list")).content.decode()


def test_sales_reps_and_viewers_may_not_import(client: Client, sales_rep):
    job = run.import_file(data=utf8_csv(ROWS), filename="cards.csv")
    viewer = get_user_model().objects.create_user(username="viewer", password="x")
    viewer.user_permissions.add(Permission.objects.get(codename="view_contact"))
    for user in (sales_rep, viewer):
        client.force_login(user)
        assert client.get(INDEX).status_code == 403
        assert _upload(client, utf8_csv(ROWS)).status_code == 403
        assert client.get(_url("import_detail", job)).status_code == 403
        assert client.get(_url("import_errors", job)).status_code == 403
    assert ImportJob.objects.count() == 1


def test_admins_may_import(client: Client, admin_user):
    client.force_login(admin_user)
    assert client.get(INDEX).status_code == 200


def test_an_unreadable_upload_is_refused_with_a_message_and_nothing_is_kept(logged_in: Client):
    response = _upload(logged_in, b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", name="photo.png")
    assert response.status_code == 200
    assert "field__error" in response.content.decode()
    assert ImportJob.objects.count() == 0


def test_the_mapping_step_warns_when_the_same_file_was_imported_before(logged_in: Client):
    data = utf8_csv(ROWS)
    run.import_file(data=data, filename="cards.csv")
    _upload(logged_in, data)
    job = ImportJob.objects.filter(status="uploaded").get()
    page = logged_in.get(_url("import_mapping", job)).content.decode()
    assert "flash__item--warning" in page


def test_a_started_job_cannot_be_mapped_again(logged_in: Client):
    job = run.import_file(data=utf8_csv(ROWS), filename="cards.csv")
    response = logged_in.post(_url("import_mapping", job), _mapping_post(job))
    assert response.status_code == 302 and response["Location"] == _url("import_detail", job)


def test_the_import_pages_answer_in_a_fixed_number_of_queries(
    logged_in: Client, django_assert_max_num_queries
):
    job = run.import_file(data=utf8_csv(ROWS * 30), filename="cards.csv")
    with django_assert_max_num_queries(15):
        logged_in.get(_url("import_detail", job))
    with django_assert_max_num_queries(15):
        logged_in.get(INDEX)


def _plan_counts(html: str) -> dict[str, tuple[int, int, int]]:
    """The per-field counts of the preview: data-field → (filled, overwritten, kept)."""
    rows = re.findall(
        r'<tr data-field="([^"]+)">\s*<th scope="row">[^<]*</th>\s*'
        r'<td class="num">(\d+)</td>\s*<td class="num">(\d+)</td>\s*<td class="num">(\d+)</td>',
        html,
    )
    return {name: (int(a), int(b), int(c)) for name, a, b, c in rows}


def test_a_shift_jis_trade_show_file_with_update_policies_chosen_in_the_mapping_step(
    logged_in: Client, django_capture_on_commit_callbacks
):
    # given 佐々木 at 株式会社桜ノヴァデザイン, with the title 課長 and no department
    company = company_upsert(name="株式会社桜ノヴァデザイン", domain="sakura-nova.example").company
    contact_upsert(
        data=ContactInput(
            family_name="佐々木", given_name="亮", email="ryo.sasaki@sakura-nova.example",
            company_name="株式会社桜ノヴァデザイン", title="課長",
        )
    )  # fmt: skip
    # when the trade-show file (Shift_JIS, half-width kana) is uploaded
    _upload(logged_in, sjis_csv(SHOW_ROWS), name="show.csv")
    job = ImportJob.objects.get()
    headers = run.job_table(job, limit=0).headers
    col = {header: n for n, header in enumerate(headers)}
    # then the mapping step offers a policy per column and counts what will change
    page = logged_in.get(_url("import_mapping", job)).content.decode()
    assert "既存コンタクトに値があるとき" in page and "空欄のみ埋める" in page
    assert "取り込みで変わる内容" in page
    assert _plan_counts(page) == {
        "family_name_kana": (1, 0, 0),
        "given_name_kana": (1, 0, 0),
        "department": (1, 0, 0),
        "title": (0, 0, 1),
        "phone": (1, 0, 0),
    }
    # when the marketer chooses overwrite for the title and a custom field and a note for the
    # extra columns, the preview counts follow
    post = _mapping_post(job, source="展示会 Y")
    post |= {f"pol_{n}": "fill" for n in range(len(headers))}
    post |= {
        f"pol_{col['役職']}": "overwrite",
        f"col_{col['ブース']}": "custom_new",
        f"col_{col['アンケート']}": "note",
    }
    fragment = logged_in.post(_url("import_preview", job), post, headers=HTMX).content.decode()
    assert _plan_counts(fragment)["title"] == (0, 1, 0)
    assert "新しいカスタム項目:" in fragment and "ブース" in fragment
    # and starts the import
    with django_capture_on_commit_callbacks(execute=True):
        logged_in.post(_url("import_mapping", job), post)
    job.refresh_from_db()
    assert (job.status, job.created_count, job.updated_count, job.error_count) == ("done", 2, 1, 0)
    assert job.policies["title"] == "overwrite" and job.policies["department"] == "fill"
    sasaki = Contact.objects.get(email="ryo.sasaki@sakura-nova.example")
    assert (sasaki.title, sasaki.department, sasaki.company_id) == (
        "部長",
        "デザイン部",
        company.pk,
    )
    assert (
        Contact.objects.get(email="t.ishikawa@minato-logi.example").family_name_kana == "イシカワ"
    )
    assert sasaki.custom_fields == {FieldDefinition.objects.get(label="ブース").key: "A-12"}
    # and the contact page shows the custom field and the note
    detail = logged_in.get(reverse("contacts:detail", args=[sasaki.pk])).content.decode()
    assert "<dt>ブース</dt>" in detail and "A-12" in detail
    assert "アンケート: 導入を検討中" in detail
