"""Sign-in, sign-out, the start page and the language switch."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_the_login_page_renders_in_japanese(client: Client):
    # when
    response = client.get(reverse("login"))
    # then
    html = response.content.decode()
    assert response.status_code == 200
    assert '<html lang="ja">' in html
    assert "ログイン" in html
    assert 'name="username"' in html
    assert 'name="password"' in html
    assert "/static/core/sokyaku.css" in html


def test_the_page_loads_htmx_from_our_own_static_files(client: Client):
    # when
    html = client.get(reverse("login")).content.decode()
    # then
    assert '<script src="/static/django_htmx/htmx-2.min.js"' in html
    assert "https://" not in html.split("</head>")[0]
    assert client.get("/static/django_htmx/htmx-2.min.js").status_code == 200
    assert client.get("/static/core/sokyaku.css").status_code == 200


def test_logging_in_leads_marketing_to_the_dashboard(client: Client, marketer):
    # when
    response = client.post(reverse("login"), {"username": "marketer", "password": "x"}, follow=True)
    # then
    html = response.content.decode()
    assert response.redirect_chain[-1][0] == reverse("analytics:dashboard")
    assert "marketer" in html
    assert "マーケター" in html
    assert "ログアウト" in html


def test_a_wrong_password_shows_an_error(client: Client, marketer):
    # when
    response = client.post(reverse("login"), {"username": "marketer", "password": "wrong"})
    # then
    html = response.content.decode()
    assert response.status_code == 200
    assert 'class="form-errors"' in html
    assert "正しいユーザー名とパスワードを入力してください" in html


def test_logout_is_a_post_and_ends_the_session(logged_in: Client):
    # when
    response = logged_in.post(reverse("logout"))
    # then
    assert response.status_code == 302
    assert response["Location"] == reverse("login")
    assert logged_in.get(reverse("contacts:list")).status_code == 302


def test_the_start_page_is_the_dashboard_for_marketing(logged_in: Client):
    # when
    response = logged_in.get("/")
    # then
    assert response.status_code == 302
    assert response["Location"] == reverse("analytics:dashboard")


def test_the_start_page_is_the_contacts_list_for_a_sales_rep(client: Client, sales_rep):
    # given
    client.force_login(sales_rep)
    # when
    response = client.get("/")
    # then
    assert response.status_code == 302
    assert response["Location"] == reverse("contacts:list")


def test_the_header_shows_the_user_role_and_both_languages(client: Client, sales_rep):
    # given
    client.force_login(sales_rep)
    # when
    html = client.get(reverse("contacts:list")).content.decode()
    # then
    assert "営業担当" in html
    assert 'action="/i18n/setlang/"' in html
    assert 'value="en"' in html
    assert 'value="ja"' in html


def test_switching_to_english_changes_the_page_language(logged_in: Client):
    # when
    response = logged_in.post(
        reverse("set_language"), {"language": "en", "next": reverse("contacts:list")}, follow=True
    )
    # then
    html = response.content.decode()
    assert response.status_code == 200
    assert '<html lang="en">' in html
    assert "Log out" in html
    assert "ログアウト" not in html


def test_the_login_page_can_be_shown_in_english(client: Client):
    # given
    client.post(reverse("set_language"), {"language": "en", "next": reverse("login")})
    # when
    html = client.get(reverse("login")).content.decode()
    # then
    assert '<html lang="en">' in html
    assert "Log in to sokyaku" in html
