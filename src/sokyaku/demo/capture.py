"""Demo lead-capture content: a whitepaper behind a download form, a demo-request form, an
upcoming webinar with its registration form, and a landing page — all published, so a new
user of ``sokyaku demo`` can open /f/… and /p/… and watch a submission arrive.

The demo people's history names the forms they sent (メルマガ登録, お問い合わせ, 資料ダウンロード,
デモ申込, ウェビナー申込): each of those is a published form here too, and ``submissions_attach``
stores a ``Submission`` for every such event and points the event at it, as a real submission
does — so a form's submission count on the forms page is what the timelines show.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sokyaku.activity.models import EventType
from sokyaku.capture.models import AssetKind, Form, Submission, WebinarLocation
from sokyaku.capture.services import assets, forms, pages, webinars
from sokyaku.capture.services.forms import ConsentSpec, FieldSpec, FormInput
from sokyaku.capture.services.submission import submission_bulk_record
from sokyaku.contacts.models import Contact
from sokyaku.demo import names

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
            extra_fields=[
                FieldSpec(
                    type="select",
                    label="ご検討中のプラン",
                    key="product",
                    options=[product for product, _amount in names.PRODUCTS],
                ),
                FieldSpec(type="textarea", label="ご要望・ご質問", key="request"),
            ],
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
    history = _history_forms_write()
    for form in (download, demo_request, registration, *history):
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
    return 3 + len(history)


def _history_forms_write() -> list[Form]:
    """The forms the demo people's history was sent from, besides the demo-request form."""
    return [
        forms.form_create(
            data=_form(
                name="メルマガ登録",
                slug="newsletter",
                title="メールマガジンのご登録",
                submit_label="登録する",
            )
        ),
        forms.form_create(
            data=_form(
                name="お問い合わせ",
                slug="contact",
                kind="inquiry",
                title="お問い合わせ",
                extra_fields=[
                    FieldSpec(
                        type="select",
                        label="お問い合わせ種別",
                        key="subject",
                        required=True,
                        options=list(names.INQUIRY_SUBJECTS),
                    ),
                ],
            )
        ),
        forms.form_create(
            data=_form(
                name="資料ダウンロード",
                slug="download",
                title="お役立ち資料のダウンロード",
                extra_fields=[
                    FieldSpec(
                        type="select",
                        label="ご希望の資料",
                        key="asset",
                        required=True,
                        options=list(names.WHITEPAPERS),
                    ),
                ],
            )
        ),
        forms.form_create(
            data=_form(
                name="ウェビナー申込",
                slug="webinar-entry",
                title="ウェビナーのお申し込み",
                # The webinar comes with the link of its announcement (?webinar=…).
                extra_fields=[FieldSpec(type="hidden", label="ウェビナー", key="webinar")],
            )
        ),
    ]


# The form each name in the demo history stands for (by address).
_HISTORY_SLUGS = {
    "メルマガ登録": "newsletter",
    "お問い合わせ": "contact",
    "資料ダウンロード": "download",
    "デモ申込": "demo-request",
    "ウェビナー申込": "webinar-entry",
}


@dataclass(frozen=True)
class SentForm:
    """A ``form_submitted`` draft of the demo history and its contact."""

    properties: dict[str, Any]  # the draft's own, changed in place
    at: datetime
    visitor_id: str
    contact: Contact


def submissions_attach(sent: Iterable[SentForm]) -> int:
    """Store a ``Submission`` for each sent form of the demo history (the contact's answers, at
    the time it was sent) and point the draft at its form and submission, as the submission
    pipeline does (``form``: the address, ``form_name``, ``kind``, ``submission_id``). Returns how
    many were stored. Drafts naming no demo form are left as they are."""
    by_slug: Mapping[str, Form] = {
        form.slug: form for form in Form.objects.filter(slug__in=_HISTORY_SLUGS.values())
    }
    pending: list[tuple[SentForm, Form]] = []
    rows: list[Submission] = []
    for item in sent:
        form = by_slug.get(_HISTORY_SLUGS.get(str(item.properties.get("form")), ""))
        if form is None:
            continue
        contact = item.contact
        answers = {
            "family_name": contact.family_name,
            "given_name": contact.given_name,
            "email": contact.email,
            "company": contact.company.name if contact.company_id and contact.company else "",
            **dict(item.properties.get("fields") or {}),
        }
        rows.append(
            Submission(
                form=form,
                contact=contact,
                token=f"demo-{contact.pk}-{len(rows)}-{int(item.at.timestamp())}",
                submitted_at=item.at,
                data={k: v for k, v in answers.items() if v},
                visitor_id=item.visitor_id,
                outcome={"demo": True},
            )
        )
        pending.append((item, form))
    stored = submission_bulk_record(submissions=rows)
    for (item, form), submission in zip(pending, stored, strict=True):
        item.properties.update(
            form=form.slug, form_name=form.name, kind=form.kind, submission_id=submission.pk
        )
    return len(stored)


def sent_forms(created: Iterable[tuple[Any, Contact]]) -> list[SentForm]:
    """The sent forms of newly written demo people (``(person, contact)`` pairs)."""
    return [
        SentForm(properties=d.properties, at=d.at, visitor_id=d.visitor_id, contact=contact)
        for person, contact in created
        for d in person.drafts
        if d.type == EventType.FORM_SUBMITTED and not d.anonymous
    ]
