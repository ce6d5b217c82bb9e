"""Gated assets: a download form hands out a signed, expiring link on the thank-you page and by
mail; the link serves the file and records the download once; expired or forged links are
refused and record nothing. Mail goes through a real SMTP conversation."""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import unquote, urlsplit

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from sokyaku.activity.models import Event, EventType
from sokyaku.capture.models import Asset, Form, Submission
from sokyaku.capture.services import assets as asset_services
from sokyaku.capture.services import forms as form_services
from sokyaku.capture.services.forms import FormInput
from sokyaku.contacts.models import Contact
from sokyaku.core import clock
from sokyaku.core.errors import ValidationError
from tests.capture.conftest import lead_form

pytestmark = pytest.mark.django_db

LINK_RE = re.compile(r"(https?://[^\s\"<]+/a/[^\s\"<]+)")
PDF = b"%PDF-1.4\n% sokyaku test document\n"
TITLE = "2026年版 マーケティング白書"


def _asset(**overrides: object) -> Asset:
    data = asset_services.AssetInput(
        title=TITLE,
        kind="whitepaper",
        file=SimpleUploadedFile("whitepaper.pdf", PDF, content_type="application/pdf"),
    )
    for name, value in overrides.items():
        setattr(data, name, value)
    return asset_services.asset_create(data=data)


@pytest.fixture
def asset(now) -> Asset:
    return _asset()


@pytest.fixture
def download_form(topics, now, asset) -> Form:
    return lead_form(kind="asset_download", kind_options={"asset": asset.pk})


@pytest.fixture
def sent(download_form, submit, smtp_server, django_capture_on_commit_callbacks):
    """A submission of the download form, and the mail it sent."""
    with django_capture_on_commit_callbacks(execute=True):
        response = submit("whitepaper")
    (message,) = smtp_server.wait_for(1)
    return response, message


def _path(url: str) -> str:
    return urlsplit(url).path


def _downloads() -> int:
    return Event.objects.filter(type=EventType.ASSET_DOWNLOADED).count()


def test_the_thank_you_page_and_the_mail_carry_the_download_link(sent):
    response, message = sent
    # then the thank-you page shows a link to this site's download address
    page = response.content.decode()
    page_link = LINK_RE.search(page).group(1)
    assert page_link.startswith(settings.SITE_URL + "/a/")
    assert TITLE in page
    # and the mail, in UTF-8 and Japanese, to the address typed, has the same link
    assert message["To"] == "taro.yamada@example.co.jp"
    assert message["Subject"].strip() == f"【資料ダウンロード】{TITLE}"
    assert message.get_content_charset() == "utf-8"
    body = message.get_content()
    assert "山田 太郎 様" in body
    assert "リンクの有効期限：2026/04/08" in body  # 7 days after 2026/04/01
    assert LINK_RE.search(body).group(1) == page_link
    # and nothing is counted as downloaded yet
    assert _downloads() == 0


def test_opening_the_link_serves_the_file_and_records_the_download_once(sent, client: Client):
    response, _message = sent
    path = _path(LINK_RE.search(response.content.decode()).group(1))
    # when the person opens the link (twice)
    first = client.get(path)
    second = client.get(path)
    # then the file is served, with a filename that keeps the Japanese title
    assert first.status_code == 200
    assert b"".join(first.streaming_content) == PDF
    disposition = first["Content-Disposition"]
    assert "attachment" in disposition
    assert TITLE + ".pdf" in unquote(disposition)
    assert second.status_code == 200
    # and one download is on the contact's timeline, naming the asset and the submission
    event = Event.objects.get(type=EventType.ASSET_DOWNLOADED)
    assert event.contact == Contact.objects.get()
    assert event.properties["asset"] == TITLE
    assert event.properties["asset_id"] == Asset.objects.get().pk
    assert event.properties["submission_id"] == Submission.objects.get().pk


def test_an_external_asset_redirects_to_its_address(topics, now, submit, client: Client):
    trial = _asset(title="無料トライアル", kind="trial", file=None, url="https://trial.example.jp/")
    lead_form(kind="asset_download", kind_options={"asset": trial.pk})
    response = submit("whitepaper")
    path = _path(LINK_RE.search(response.content.decode()).group(1))
    opened = client.get(path)
    assert opened.status_code == 302
    assert opened["Location"] == "https://trial.example.jp/"
    assert _downloads() == 1


def test_the_link_expires_after_its_lifetime(sent, client: Client):
    response, _message = sent
    path = _path(LINK_RE.search(response.content.decode()).group(1))
    # given the link's lifetime has passed
    clock.advance(asset_services.link_max_age() + timedelta(minutes=1))
    # when it is opened
    opened = client.get(path)
    # then it is refused as gone, and nothing is recorded
    assert opened.status_code == 410
    assert "有効期限が切れています" in opened.content.decode()
    assert _downloads() == 0


def test_the_lifetime_is_a_setting(sent, client: Client, settings):
    response, _message = sent
    path = _path(LINK_RE.search(response.content.decode()).group(1))
    settings.ASSET_LINK_MAX_AGE = timedelta(days=30)
    clock.advance(timedelta(days=20))
    assert client.get(path).status_code == 200


def test_a_tampered_link_is_refused(sent, client: Client):
    response, _message = sent
    path = _path(LINK_RE.search(response.content.decode()).group(1))
    # a link for another submission, with the original signature
    token = path.rsplit("/", 1)[1]
    sub_id, rest = token.split(".", 1)
    forged = client.get(f"/a/{int(sub_id) + 1}.{rest}")
    garbage = client.get("/a/not-a-token")
    assert forged.status_code == 400
    assert garbage.status_code == 400
    assert _downloads() == 0


def test_a_rolled_back_submission_sends_no_mail(
    download_form, submit, smtp_server, django_capture_on_commit_callbacks, monkeypatch
):
    # given the pipeline fails after the download handler ran (the final save of the row)
    def broken_save(self: Submission, *args: object, **kwargs: object) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(Submission, "save", broken_save)
    # when the form is sent
    with pytest.raises(RuntimeError), django_capture_on_commit_callbacks(execute=True):
        submit("whitepaper")
    # then nothing is stored and no mail goes out
    monkeypatch.undo()
    assert Submission.objects.count() == 0
    assert smtp_server.messages == []


def test_the_form_needs_an_existing_asset(topics, now):
    with pytest.raises(ValidationError):
        form_services.form_create(
            data=FormInput(name="資料", kind="asset_download", kind_options={"asset": 999})
        )


def test_an_asset_needs_a_file_or_an_address_but_not_both(now):
    with pytest.raises(ValidationError) as neither:
        _asset(file=None)
    with pytest.raises(ValidationError) as both:
        _asset(url="https://example.jp/x.pdf")
    assert "file" in neither.value.field_errors
    assert "file" in both.value.field_errors
    assert Asset.objects.count() == 0


def test_marketers_upload_and_edit_assets(logged_in: Client, now):
    # when a marketer uploads a whitepaper
    created = logged_in.post(
        "/capture/assets/new/",
        {
            "title": "<script>alert(1)</script>導入事例",
            "kind": "case_study",
            "file": SimpleUploadedFile("case.pdf", PDF),
            "url": "",
        },
    )
    asset = Asset.objects.get()
    assert created.status_code == 302
    assert asset.file.read() == PDF
    assert asset.file.name.startswith("assets/")
    # then the list shows it, its title inert
    listing = logged_in.get("/capture/assets/").content.decode()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;導入事例" in listing
    assert "<script>alert(1)" not in listing
    # when they rename it and set up a download form for it
    logged_in.post(
        f"/capture/assets/{asset.pk}/",
        {"title": "導入事例 A社", "kind": "case_study", "url": ""},
    )
    made = logged_in.post(f"/capture/assets/{asset.pk}/form/")
    asset.refresh_from_db()
    form = Form.objects.get()
    assert asset.title == "導入事例 A社"
    assert made.status_code == 302
    assert form.kind == "asset_download"
    assert form.kind_options["asset"] == asset.pk
    assert form.name in logged_in.get(f"/capture/assets/{asset.pk}/").content.decode()


def test_a_file_gone_from_storage_answers_not_found_and_records_nothing(sent, client: Client):
    response, _message = sent
    path = _path(LINK_RE.search(response.content.decode()).group(1))
    asset = Asset.objects.get()
    asset.file.storage.delete(asset.file.name)
    opened = client.get(path)
    assert opened.status_code == 404
    assert "この資料は現在ご利用いただけません" in opened.content.decode()
    assert _downloads() == 0


def test_a_title_with_slashes_still_makes_a_safe_file_name(topics, now, submit, client: Client):
    odd = _asset(title="2026/04 料金表: 標準版")
    lead_form(kind="asset_download", kind_options={"asset": odd.pk})
    response = submit("whitepaper")
    opened = client.get(_path(LINK_RE.search(response.content.decode()).group(1)))
    assert "2026_04 料金表_ 標準版.pdf" in unquote(opened["Content-Disposition"])
