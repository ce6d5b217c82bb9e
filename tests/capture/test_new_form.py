"""*New form* sets up a form of every kind, including those that point at something (an asset
download picks its asset, a webinar registration its webinar), and each kind works once
published."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client

from sokyaku.activity.models import Event
from sokyaku.capture import kinds
from sokyaku.capture.models import Asset, Form, Submission, Webinar, WebinarLocation
from sokyaku.capture.services import assets as asset_services
from sokyaku.capture.services import webinars as webinar_services
from sokyaku.core import clock
from tests.capture.conftest import PURPOSE_BODY, answers

pytestmark = pytest.mark.django_db

EVERY_KIND = [kind.key for kind in kinds.form_kinds()]


@pytest.fixture
def asset(now) -> Asset:  # type: ignore[no-untyped-def]
    return asset_services.asset_create(
        data=asset_services.AssetInput(
            title="MA導入チェックリスト", kind="whitepaper", url="https://www.example.co.jp/a.pdf"
        )
    )


@pytest.fixture
def webinar(now) -> Webinar:  # type: ignore[no-untyped-def]
    starts = clock.now() + timedelta(days=10)
    return webinar_services.webinar_create(
        data=webinar_services.WebinarInput(
            title="はじめてのリードナーチャリング",
            starts_at=starts,
            ends_at=starts + timedelta(hours=1),
            capacity=0,
            location_kind=WebinarLocation.ONLINE,
            join_url="https://meet.example.co.jp/w/1",
        )
    )


def _pick(kind: str, *, asset: Asset, webinar: Webinar) -> dict[str, str]:
    """What a marketer picks for the kind on the New form page (nothing for most kinds)."""
    option = kinds.form_kind_get(kind).option  # type: ignore[union-attr]
    if option is None:
        return {}
    target = {"asset": asset.pk, "webinar": webinar.pk}[option.key]
    return {f"option_{kind}": str(target)}


def _publish(logged_in: Client, form: Form) -> None:
    """Write the purpose of use on the settings page (keeping what the form points at), then
    publish."""
    option = kinds.form_kind_get(form.kind).option  # type: ignore[union-attr]
    picked = {f"option_{form.kind}": str(form.kind_options[option.key])} if option else {}
    saved = logged_in.post(
        f"/capture/forms/{form.pk}/edit/",
        {
            "name": form.name,
            "slug": form.slug,
            "kind": form.kind,
            **picked,
            "language": "ja",
            "purpose_key": "",
            "purpose_title": "個人情報の取り扱い",
            "purpose_body": PURPOSE_BODY,
            "rate_limit": "10",
            "min_fill_seconds": "3",
        },
    )
    assert saved.status_code == 302, saved.content.decode()
    assert logged_in.post(f"/capture/forms/{form.pk}/publish/").status_code == 302
    form.refresh_from_db()
    assert form.is_published


@pytest.mark.parametrize("kind", EVERY_KIND)
def test_new_form_creates_every_kind_and_it_works_once_published(
    logged_in: Client, topics, asset: Asset, webinar: Webinar, submit, kind: str
) -> None:
    # when a marketer creates a form of this kind on the New form page
    created = logged_in.post(
        "/capture/forms/new/",
        {"name": "テストフォーム", "kind": kind, **_pick(kind, asset=asset, webinar=webinar)},
    )
    # then it exists with that kind (and what it points at), and they go on to its fields
    form = Form.objects.get()
    assert created.status_code == 302
    assert created["Location"] == f"/capture/forms/{form.pk}/fields/"
    assert form.kind == kind
    option = kinds.form_kind_get(kind).option  # type: ignore[union-attr]
    if option is not None:
        assert (
            form.kind_options[option.key] == {"asset": asset.pk, "webinar": webinar.pk}[option.key]
        )
    # and once published, a person's submission goes through the kind's own step
    _publish(logged_in, form)
    response = submit(form.slug, answers(family_name_kana=None, given_name_kana=None))
    assert response.status_code == 200, response.content.decode()
    submission = Submission.objects.get()
    event_type = kinds.form_kind_get(kind).event_type  # type: ignore[union-attr]
    if event_type:
        assert Event.objects.filter(type=event_type, contact=submission.contact).exists()
    if kind == asset_services.KIND:
        assert "/a/" in response.content.decode()  # the download link on the thank-you page
    if kind == webinar_services.KIND:
        assert webinar.registrations.filter(contact=submission.contact).exists()


def test_the_new_form_page_offers_every_kind_with_what_it_does_and_the_asset_picker(
    logged_in: Client, asset: Asset
) -> None:
    html = logged_in.get("/capture/forms/new/").content.decode()
    for kind in kinds.form_kinds():
        assert f'value="{kind.key}"' in html
    assert "資料ダウンロード" in html
    assert 'data-kind-option="asset_download"' in html
    assert f'<option value="{asset.pk}">MA導入チェックリスト</option>' in html


def test_an_asset_download_needs_its_asset_and_nothing_is_created_without_it(
    logged_in: Client, asset: Asset
) -> None:
    response = logged_in.post("/capture/forms/new/", {"name": "資料DL", "kind": "asset_download"})
    assert response.status_code == 200
    assert "選択してください。" in response.content.decode()
    assert not Form.objects.exists()


def test_without_assets_the_page_says_where_to_make_one(logged_in: Client) -> None:
    html = logged_in.get("/capture/forms/new/").content.decode()
    assert "資料がまだありません。" in html
    assert 'href="/capture/assets/new/"' in html


def test_the_settings_page_changes_the_asset_a_download_form_hands_out(
    logged_in: Client, topics, asset: Asset
) -> None:
    # given a download form of one asset
    logged_in.post(
        "/capture/forms/new/",
        {"name": "資料DL", "kind": "asset_download", "option_asset_download": str(asset.pk)},
    )
    form = Form.objects.get()
    other = asset_services.asset_create(
        data=asset_services.AssetInput(title="事例集", url="https://www.example.co.jp/b.pdf")
    )
    # when the settings pick another asset
    page = logged_in.get(f"/capture/forms/{form.pk}/edit/").content.decode()
    assert f'<option value="{asset.pk}" selected>MA導入チェックリスト</option>' in page
    form.kind_options = {"asset": other.pk}
    _publish(logged_in, form)
    # then the form hands out that one
    form.refresh_from_db()
    assert form.kind_options == {"asset": other.pk, "asset_title": "事例集"}


def test_the_forms_list_heads_the_count_column_as_a_count(logged_in: Client) -> None:
    logged_in.post("/capture/forms/new/", {"name": "セミナー申込", "kind": "standard"})
    html = logged_in.get("/capture/forms/").content.decode()
    assert '<th class="num">送信数</th>' in html


def test_saving_the_settings_keeps_options_set_through_the_api(logged_in: Client, topics) -> None:
    # given a demo-request form whose options (put on its events) were set through the API
    from sokyaku.capture.services import forms as form_services
    from sokyaku.capture.services.forms import FieldSpec, FormInput

    form = form_services.form_create(
        data=FormInput(
            name="デモ申込",
            kind="demo_request",
            kind_options={"product": "ST"},
            fields=[FieldSpec(type="email", label="メール", required=True)],
        )
    )
    # when the marketer saves the settings page without changing the kind
    _publish(logged_in, form)
    # then the options are still there
    form.refresh_from_db()
    assert form.kind_options == {"product": "ST"}
