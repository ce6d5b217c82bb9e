"""Fixtures for lead capture: consent topics, a purpose-of-use text, published forms, a frozen
clock, and a way to fill in a hosted form the way a browser does (GET, wait, POST)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.http import HttpResponse
from django.test import Client

from sokyaku.capture.models import Form
from sokyaku.capture.services import forms as form_services
from sokyaku.capture.services.forms import ConsentSpec, FieldSpec, FormInput
from sokyaku.consent.models import ConsentTopic
from sokyaku.core import clock

START = datetime(2026, 4, 1, 1, 0, tzinfo=UTC)  # 10:00 in Tokyo

PURPOSE_BODY = (
    "ご入力いただいた個人情報は、資料の送付、セミナーのご案内、"
    "お問い合わせへの回答のために利用します。"
)

TOKEN_RE = re.compile(r'name="_token" value="([^"]+)"')


@pytest.fixture
def now() -> Iterator[datetime]:
    with clock.frozen(START):
        yield START


@pytest.fixture
def topics(db: None) -> list[ConsentTopic]:
    return [
        ConsentTopic.objects.create(key="newsletter", name="メールマガジン"),
        ConsentTopic.objects.create(key="seminars", name="セミナー案内"),
    ]


def lead_form(**overrides: Any) -> Form:
    """A published lead form: name, kana, email, company, title, phone, prefecture, a question;
    the newsletter and seminar checkboxes; its own purpose-of-use text."""
    data = FormInput(
        name="資料請求",
        slug="whitepaper",
        title="資料請求フォーム",
        purpose_title="個人情報の取り扱いについて",
        purpose_body=PURPOSE_BODY,
        fields=[
            FieldSpec(type="name", label="お名前", required=True),
            FieldSpec(type="name_kana", label="フリガナ"),
            FieldSpec(type="email", label="メールアドレス", required=True),
            FieldSpec(type="company", label="会社名"),
            FieldSpec(type="title", label="役職"),
            FieldSpec(type="phone", label="電話番号"),
            FieldSpec(type="prefecture", label="都道府県"),
            FieldSpec(type="textarea", label="ご質問", key="question"),
        ],
        consents=[ConsentSpec(topic="newsletter"), ConsentSpec(topic="seminars")],
    )
    for name, value in overrides.items():
        setattr(data, name, value)
    form = form_services.form_create(data=data)
    return form_services.form_publish(form=form)


@pytest.fixture
def form(topics: list[ConsentTopic], now: datetime) -> Form:
    return lead_form()


def answers(**overrides: str) -> dict[str, str]:
    """What a person types into ``lead_form``."""
    data = {
        "family_name": "山田",
        "given_name": "太郎",
        "family_name_kana": "やまだ",
        "given_name_kana": "たろう",
        "email": "taro.yamada@example.co.jp",
        "company": "株式会社サンプル",
        "title": "部長",
        "phone": "03-1234-5678",
        "prefecture": "13",
        "question": "料金を教えてください",
        "_consent_newsletter": "1",
        "_agree": "1",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def rendered_token(client: Client, slug: str, **headers: str) -> str:
    response = client.get(f"/f/{slug}", headers=headers)
    assert response.status_code == 200, response.status_code
    match = TOKEN_RE.search(response.content.decode())
    assert match is not None
    return match.group(1)


Submit = Callable[..., HttpResponse]


@pytest.fixture
def submit(client: Client, now: datetime) -> Submit:
    """Fill in a form like a person: render it, take a few seconds, post it."""

    def send(
        slug: str,
        data: Mapping[str, str] | None = None,
        *,
        token: str | None = None,
        wait: float = 5,
        using: Client | None = None,
        headers: Mapping[str, str] | None = None,
        **extra: Any,
    ) -> HttpResponse:
        browser = using or client
        token = token or rendered_token(browser, slug)
        clock.advance(timedelta(seconds=wait))
        return browser.post(
            f"/f/{slug}",
            {**(answers() if data is None else data), "_token": token},
            headers=dict(headers or {}),
            **extra,
        )

    return send
