"""Links the product hands out lead to the address it serves on: with the site address the
settings derive for ``sokyaku serve --port 8123`` (see ``tests/core/test_site_url.py``), the
form's link and embed code, the tracking code and notice and the mailed links use port 8123."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from django.test import Client

from sokyaku import cli
from tests.capture.conftest import lead_form
from tests.core.test_site_url import site_url_in_new_process

LINK_RE = re.compile(r"(https?://\S+/f/confirm/\S+)")


@pytest.fixture
def no_site_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOKYAKU_SITE_URL", "unset")
    monkeypatch.delenv("SOKYAKU_SITE_URL")


@pytest.mark.django_db
def test_form_links_mail_links_and_the_tracking_code_use_the_served_address(
    no_site_url: None,
    settings,  # type: ignore[no-untyped-def]
    marketer,  # type: ignore[no-untyped-def]
    topics,  # type: ignore[no-untyped-def]
    now,  # type: ignore[no-untyped-def]
    submit,  # type: ignore[no-untyped-def]
    smtp_server,  # type: ignore[no-untyped-def]
    django_capture_on_commit_callbacks,  # type: ignore[no-untyped-def]
    tmp_path: Path,
) -> None:
    # given the site address the settings derive for `serve --port 8123`
    os.environ["SOKYAKU_SITE_URL"] = cli.site_url(host="127.0.0.1", port=8123)
    settings.SITE_URL = site_url_in_new_process(dict(os.environ), tmp_path)
    site = "http://127.0.0.1:8123"
    form = lead_form(double_opt_in=True)
    staff = Client()
    staff.force_login(marketer)
    # then the form's link and embed code, the tracking code and the notice name that address
    overview = staff.get(f"/capture/forms/{form.pk}/").content.decode()
    assert f"{site}/f/whitepaper" in overview
    assert f"{site}/f/whitepaper/embed.js" in overview
    assert f"{site}/t/snippet.js" in staff.get("/campaigns/tracking/").content.decode()
    assert f"{site}/t/collect" in Client().get("/t/notice").content.decode()
    assert ":8000" not in overview
    # and a mailed link (the double opt-in confirmation) leads there too
    with django_capture_on_commit_callbacks(execute=True):
        submit("whitepaper")
    (message,) = smtp_server.wait_for(1)
    assert LINK_RE.search(message.get_content()).group(1).startswith(f"{site}/f/confirm/")  # type: ignore[union-attr]
