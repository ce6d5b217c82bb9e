"""The Content-Security-Policy: every staff and public page carries it, every inline script
carries the page's nonce, and no template has an inline event handler (the policy allows none).
The browser side (no violation while the pages run) is ``tests/ui/test_csp_browser.py``."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse

import sokyaku
from sokyaku.consent.models import ConsentTopic
from tests.capture.conftest import lead_form

pytestmark = pytest.mark.django_db

TEMPLATES = sorted(Path(sokyaku.__file__).parent.glob("*/templates/**/*.html"))
INLINE_HANDLER = re.compile(r"""\s(on[a-z]+|hx-on[:\w-]*)\s*=\s*["']""", re.IGNORECASE)
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)([^>]*)>", re.IGNORECASE)


def _policy(response) -> dict[str, str]:  # type: ignore[no-untyped-def]
    header = response["Content-Security-Policy"]
    return {
        part.split()[0]: " ".join(part.split()[1:])
        for part in (p.strip() for p in header.split(";"))
        if part
    }


def _assert_strict(response) -> None:  # type: ignore[no-untyped-def]
    policy = _policy(response)
    assert policy["default-src"] == "'self'"
    assert policy["object-src"] == "'none'"
    assert policy["base-uri"] == "'self'"
    assert policy["frame-ancestors"] == "'none'"
    assert "'unsafe-inline'" not in policy["script-src"]
    assert "'unsafe-eval'" not in policy["script-src"]
    assert "http" not in policy["script-src"]


def test_staff_pages_carry_the_policy(logged_in: Client) -> None:
    for url in (reverse("contacts:list"), reverse("segments:create"), reverse("deals:board")):
        response = logged_in.get(url)
        assert response.status_code == 200, url
        _assert_strict(response)


def test_public_pages_carry_the_policy(client: Client) -> None:
    # given a published hosted form
    ConsentTopic.objects.create(key="newsletter", name="メールマガジン")
    ConsentTopic.objects.create(key="seminars", name="セミナー案内")
    form = lead_form()
    public = (
        reverse("login"),
        reverse("public:form", args=[form.slug]),
        reverse("tracking:notice"),
    )
    for url in public:
        response = client.get(url)
        assert response.status_code == 200, url
        _assert_strict(response)


def test_an_inline_script_carries_the_pages_nonce(logged_in: Client) -> None:
    # when a page with an inline script is opened
    response = logged_in.get(reverse("segments:create"))
    html = response.content.decode()
    nonce = re.search(r"'nonce-([^']+)'", _policy(response)["script-src"])
    # then its inline scripts carry the nonce of this response's policy
    assert nonce
    inline = [attrs for attrs in INLINE_SCRIPT.findall(html) if "application/json" not in attrs]
    assert inline
    assert all(f'nonce="{nonce[1]}"' in attrs for attrs in inline)


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda p: str(p.relative_to(p.parents[2])))
def test_no_template_has_an_inline_handler_or_a_script_without_nonce(template: Path) -> None:
    source = template.read_text()
    assert not INLINE_HANDLER.search(source), INLINE_HANDLER.search(source)
    for attrs in INLINE_SCRIPT.findall(source):
        # JSON data blocks are not run; every other inline script needs the nonce
        assert "application/json" in attrs or "nonce=" in attrs, template
