"""Demo lead-capture content: a whitepaper behind a download form, a demo-request form, an
upcoming webinar with its registration form, and a landing page — all published, so a new
user of ``sokyaku demo`` can open /f/… and /p/… and watch a submission arrive."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sokyaku.capture.models import AssetKind, WebinarLocation
from sokyaku.capture.services import assets, forms, pages, webinars
from sokyaku.capture.services.forms import ConsentSpec, FieldSpec, FormInput

_CONTACT_FIELDS = [
    FieldSpec(type="name", label="お名前", required=True),
    FieldSpec(type="name_kana", label="フリガナ"),
    FieldSpec(type="company", label="会社名", required=True),
    FieldSpec(type="department", label="部署名"),
    FieldSpec(type="title", label="役職"),
    FieldSpec(type="email", label="メールアドレス", required=True),
    FieldSpec(type="phone", label="電話番号"),
]
_CONSENTS = [
    ConsentSpec(topic="newsletter", label="メールマガジンを受け取る"),
    ConsentSpec(topic="seminars", label="セミナー・イベントの案内を受け取る"),
]


def _form(*, extra_fields: Sequence[FieldSpec] = (), **values: Any) -> FormInput:
    return FormInput(
        purpose_key="default-form",
        fields=[*_CONTACT_FIELDS, *extra_fields],
        consents=list(_CONSENTS),
        **values,
    )


def capture_demo_write(*, now: datetime) -> int:
    """Write and publish the demo forms, asset, webinar and landing page; returns the number of
    forms. Needs the demo consent topics and purpose text (``demo.consent``)."""
    checklist = assets.asset_create(
        data=assets.AssetInput(
            title="MA導入チェックリスト",
            kind=AssetKind.WHITEPAPER,
            description="マーケティングオートメーション導入前に確認したい30項目。",
            url="https://www.demo-ma.example/assets/ma-checklist.pdf",
        )
    )
    download = forms.form_create(
        data=_form(
            name="資料ダウンロード：MA導入チェックリスト",
            slug="ma-checklist",
            kind="asset_download",
            kind_options={"asset": checklist.pk},
            title="MA導入チェックリストを無料でダウンロード",
            submit_label="ダウンロードする",
        )
    )
    demo_request = forms.form_create(
        data=_form(
            name="デモのお申し込み",
            slug="demo-request",
            kind="demo_request",
            title="オンラインデモのお申し込み",
            submit_label="申し込む",
            extra_fields=[FieldSpec(type="textarea", label="ご要望・ご質問", key="request")],
        )
    )
    starts = (now + timedelta(days=14)).replace(hour=14, minute=0, second=0, microsecond=0)
    webinar = webinars.webinar_create(
        data=webinars.WebinarInput(
            title="【ウェビナー】はじめてのリードナーチャリング",
            description="ステップメールとスコアリングで商談化率を上げる方法を45分で解説します。",
            starts_at=starts,
            ends_at=starts + timedelta(minutes=45),
            capacity=100,
            location_kind=WebinarLocation.ONLINE,
            join_url="https://meet.demo-ma.example/webinar/nurturing",
        )
    )
    registration = forms.form_create(
        data=_form(
            name="ウェビナー申込：はじめてのリードナーチャリング",
            slug="webinar-nurturing",
            kind="webinar_registration",
            kind_options={"webinar": webinar.pk},
            title="ウェビナーに申し込む",
            submit_label="申し込む",
        )
    )
    for form in (download, demo_request, registration):
        forms.form_publish(form=form)
    page = pages.page_create(
        data=pages.PageInput(
            title="MA導入チェックリスト",
            slug="ma-checklist",
            blocks=[
                pages.BlockSpec(kind="heading", text="MA導入で失敗しないための30のチェック項目"),
                pages.BlockSpec(
                    kind="text",
                    text=(
                        "- 目的とKPIは決まっていますか？\n"
                        "- リードの定義（MQL / SQL）は営業と合意できていますか？\n"
                        "- 配信停止と同意の管理はできていますか？"
                    ),
                ),
                pages.BlockSpec(kind="form", form_id=download.pk),
            ],
        )
    )
    pages.page_publish(page=page)
    return 3
