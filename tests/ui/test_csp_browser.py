"""In a real Chromium, on the demo data: the staff pages, the admin, the API docs, the login page
and the public hosted form and landing page run under the Content-Security-Policy without a
single violation (no ``securitypolicyviolation`` event, no CSP message on the console), with
their scripts working: the charts draw, the menus open, the form's kind options switch."""

from __future__ import annotations

from typing import Any

import pytest
from django.conf import settings as django_settings
from django.contrib.auth.models import User
from django.urls import reverse

from sokyaku.capture.models import Form, LandingPage
from sokyaku.contacts.models import Contact
from sokyaku.demo.generator import demo_load
from sokyaku.lifecycle.models import MqlRule
from sokyaku.messaging.models import Template
from sokyaku.segments.models import Segment
from sokyaku.sequences.models import Sequence
from tests.ui.conftest import signed_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Registered before any page script runs (init scripts are not subject to the page's policy).
WATCH = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__csp.push(e.violatedDirective + " blocked " + (e.blockedURI || "inline") +
    " at " + (e.sourceFile || location.pathname) + ":" + e.lineNumber);
});
"""


def _staff_urls() -> list[str]:
    form = Form.objects.order_by("pk").first()
    assert form is not None
    urls = [
        reverse("home"),
        reverse("contacts:list"),
        reverse("contacts:detail", args=[Contact.objects.order_by("pk").first().pk]),  # type: ignore[union-attr]
        reverse("deals:board"),
        reverse("segments:create"),
        reverse("segments:detail", args=[Segment.objects.order_by("pk").first().pk]),  # type: ignore[union-attr]
        reverse("sequences:settings", args=[Sequence.objects.order_by("pk").first().pk]),  # type: ignore[union-attr]
        reverse("capture:form_create"),
        reverse("capture:form_detail", args=[form.pk]),
        reverse("capture:form_edit", args=[form.pk]),
        reverse("messaging:template_edit", args=[Template.objects.order_by("pk").first().pk]),  # type: ignore[union-attr]
        reverse("handoff:triggers"),
        reverse("lifecycle:rules"),
        reverse("analytics:dashboard"),
        reverse("admin:index"),
        "/api/v1/docs",
    ]
    return urls


def _public_urls() -> list[str]:
    urls = [reverse("login"), reverse("tracking:notice")]
    form = Form.objects.filter(is_published=True).order_by("pk").first()
    assert form is not None
    urls.append(reverse("public:form", args=[form.slug]))
    page = LandingPage.objects.filter(is_published=True).order_by("pk").first()
    if page is not None:
        urls.append(reverse("public:page", args=[page.slug]))
    return urls


def _visit(context: Any, base: str, urls: list[str]) -> dict[str, list[str]]:
    """Open each URL; return the violations each one reported (pages without any left out)."""
    context.add_init_script(WATCH)
    page = context.new_page()
    console: list[str] = []
    page.on(
        "console",
        lambda message: (
            console.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    found: dict[str, list[str]] = {}
    for url in urls:
        console.clear()
        response = page.goto(base + url)
        assert response is not None and response.status < 400, url
        assert "Content-Security-Policy" in {k.title(): v for k, v in response.headers.items()}
        page.wait_for_load_state("networkidle")
        reported = list(page.evaluate("window.__csp")) + console
        if reported:
            found[url] = reported
    return found


@pytest.fixture
def demo(admin_user: User) -> User:
    """The demo data; returns an administrator (who may open every page, the admin's too)."""
    demo_load(contacts=40, seed=7, months=1)
    return admin_user


def test_staff_pages_run_without_a_policy_violation(browser, live_server, demo) -> None:  # type: ignore[no-untyped-def]
    context = signed_in(browser, live_server, demo)
    assert _visit(context, live_server.url, _staff_urls()) == {}
    # and the scripts work under the policy: the dashboard's charts are drawn
    page = context.pages[0]
    page.goto(live_server.url + reverse("analytics:dashboard"))
    page.wait_for_selector(".js-plotly-plot .main-svg")
    # and the form editor's kind options switch with the kind
    page.goto(live_server.url + reverse("capture:form_create"))
    hidden = page.eval_on_selector_all(
        "[data-kind-option]", "els => els.filter(e => e.hidden).length"
    )
    assert hidden >= 1
    # and a delete asks first, from the static script that replaced the inline handlers
    rules = MqlRule.objects.count()
    asked: list[str] = []
    page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.dismiss()))
    page.goto(live_server.url + reverse("lifecycle:rules"))
    page.locator("form[data-confirm] button").first.click()
    assert asked and "削除" in asked[0]
    assert MqlRule.objects.count() == rules > 0
    context.close()


def test_public_pages_run_without_a_policy_violation(browser, live_server, demo) -> None:  # type: ignore[no-untyped-def]
    context = browser.new_context(locale="ja-JP")
    context.set_default_timeout(20_000)
    assert _visit(context, live_server.url, _public_urls()) == {}
    assert django_settings.CONTENT_SECURITY_POLICY["DIRECTIVES"]["frame-ancestors"] == ["'none'"]
    context.close()
