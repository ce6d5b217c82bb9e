"""Landing pages at /p/<slug>: ordered blocks, sanitised Markdown, an embedded form, publishing,
and the editor."""

from __future__ import annotations

import re

import pytest
from django.urls import NoReverseMatch, reverse

from sokyaku.capture.models import LandingPage
from sokyaku.capture.services import pages as page_services
from sokyaku.capture.services.pages import BlockSpec, PageInput
from sokyaku.contacts.models import Contact
from sokyaku.core.errors import ValidationError
from tests.capture.conftest import PURPOSE_BODY, answers

pytestmark = pytest.mark.django_db


def _page(form, **values) -> LandingPage:
    data = PageInput(
        title="クラウド会計で月次決算を3日短縮",
        slug="cloud-accounting",
        description="導入事例と資料ダウンロード",
        blocks=[
            BlockSpec(kind="heading", text="こんな課題はありませんか"),
            BlockSpec(
                kind="text", text="- **手作業**の仕訳\n- [詳しくはこちら](https://example.co.jp/)"
            ),
            BlockSpec(kind="image", url="https://img.example.co.jp/hero.png", text="画面イメージ"),
            BlockSpec(kind="button", text="資料を請求する", url="#form-whitepaper"),
            BlockSpec(kind="form", form_id=form.pk),
        ],
    )
    for name, value in values.items():
        setattr(data, name, value)
    return page_services.page_create(data=data)


def test_a_published_page_shows_its_blocks_in_order_with_the_form(client, form):
    # given a published page
    page_services.page_publish(page=_page(form))
    # when it is opened
    response = client.get("/p/cloud-accounting")
    # then the blocks are there, in order, the form with its purpose of use
    html = response.content.decode()
    assert response.status_code == 200
    positions = [
        html.index(text)
        for text in (
            "こんな課題はありませんか",
            "<strong>手作業</strong>",
            'src="https://img.example.co.jp/hero.png"',
            "資料を請求する",
            'name="_token"',
        )
    ]
    assert positions == sorted(positions)
    assert PURPOSE_BODY in html
    assert '<meta name="description" content="導入事例と資料ダウンロード">' in html
    assert 'rel="noopener noreferrer nofollow"' in html


def test_the_form_on_a_page_submits_with_the_page_as_its_url(client, form, now):
    from datetime import timedelta

    from sokyaku.core import clock

    page_services.page_publish(page=_page(form))
    html = client.get("/p/cloud-accounting?utm_source=newsletter").content.decode()
    hidden = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', html))
    clock.advance(timedelta(seconds=5))
    response = client.post("/f/whitepaper", {**answers(), **hidden})
    assert response.status_code == 200
    contact = Contact.objects.get()
    assert contact.first_touch["source"] == "newsletter"
    assert "/p/cloud-accounting" in contact.first_touch["url"]


@pytest.mark.parametrize(
    "source",
    [
        "<script>alert(1)</script>",
        '<img src=x onerror="alert(1)">',
        "[click](javascript:alert(1))",
        '<a href="javascript:alert(1)">x</a>',
        "<iframe src=https://evil.example></iframe>",
    ],
)
def test_markdown_cannot_carry_script(client, form, source):
    page = _page(form, blocks=[BlockSpec(kind="text", text=source)])
    page_services.page_publish(page=page)
    html = client.get("/p/cloud-accounting").content.decode()
    body = html.split('<article class="landing">')[1]
    # (the source may stay visible as text; it must never be markup)
    assert "<script" not in body
    assert "<iframe" not in body
    assert not re.search(r"<[a-z]+[^>]*\son\w+=", body)
    assert not re.search(r"<a[^>]*href=\"javascript:", body)


def test_unsafe_image_and_button_addresses_are_refused(form):
    for spec in (
        BlockSpec(kind="image", url="javascript:alert(1)"),
        BlockSpec(kind="button", text="Go", url="javascript:alert(1)"),
        BlockSpec(kind="button", text="Go", url="//evil.example.com"),
    ):
        with pytest.raises(ValidationError):
            _page(form, slug="x", blocks=[spec])


def test_unpublished_and_unknown_pages_answer_404(client, form):
    _page(form)
    assert client.get("/p/cloud-accounting").status_code == 404
    assert client.get("/p/unknown").status_code == 404


def test_a_page_with_an_unpublished_form_cannot_be_published(form, topics):
    from sokyaku.capture.services import forms as form_services

    form_services.form_unpublish(form=form)
    with pytest.raises(ValidationError) as caught:
        page_services.page_publish(page=_page(form))
    assert "blocks" in caught.value.field_errors


def test_the_tracking_snippet_is_included_only_when_tracking_exists(client, form):
    page_services.page_publish(page=_page(form))
    html = client.get("/p/cloud-accounting").content.decode()
    try:
        snippet = reverse("tracking:snippet")
    except NoReverseMatch:
        assert "snippet.js" not in html
    else:
        assert f'<script src="{snippet}" async></script>' in html


def test_editing_a_page_in_the_ui(logged_in, form):
    created = logged_in.post("/capture/pages/new/", {"title": "春のキャンペーン"})
    page = LandingPage.objects.get()
    assert created["Location"] == f"/capture/pages/{page.pk}/"
    logged_in.post(
        f"/capture/pages/{page.pk}/blocks/add/", {"new-kind": "heading", "new-text": "見出し"}
    )
    logged_in.post(
        f"/capture/pages/{page.pk}/blocks/add/", {"new-kind": "form", "new-form": str(form.pk)}
    )
    refused = logged_in.post(
        f"/capture/pages/{page.pk}/blocks/add/",
        {"new-kind": "image", "new-url": "javascript:alert(1)"},
    )
    assert refused.status_code == 422
    assert "画像の http(s) URLを入力してください。" in refused.content.decode()
    form_block = page.blocks.get(kind="form")
    logged_in.post(f"/capture/pages/{page.pk}/blocks/{form_block.pk}/move/", {"direction": "up"})
    assert list(page.blocks.values_list("kind", flat=True)) == ["form", "heading"]
    logged_in.post(f"/capture/pages/{page.pk}/publish/")
    page.refresh_from_db()
    assert page.is_published
    assert logged_in.get("/capture/pages/").status_code == 200
