"""Embedding a form on another site: the allow-list decides who may show and send it, the
answer carries CORS headers for allowed sites, and a redirect only goes to allowed hosts."""

from __future__ import annotations

import pytest

from sokyaku.capture.models import Submission
from sokyaku.capture.services import forms as form_services
from sokyaku.capture.services.forms import FormInput
from sokyaku.contacts.models import Contact
from tests.capture.conftest import answers, lead_form

pytestmark = pytest.mark.django_db

PARTNER = "https://www.partner.example.jp"
JSON = {"Accept": "application/json"}


@pytest.fixture
def embedded(topics, now):
    return lead_form(allowed_origins=[PARTNER, "*.group.example.jp"])


def test_a_post_from_a_site_not_on_the_allow_list_is_refused_and_nothing_stored(embedded, submit):
    # when another site posts the form
    response = submit("whitepaper", headers={"Origin": "https://evil.example.com", **JSON})
    # then it is refused, without CORS headers, and nothing is stored
    assert response.status_code == 403
    assert "Access-Control-Allow-Origin" not in response
    assert not Contact.objects.exists()
    assert not Submission.objects.exists()


def test_a_referer_from_a_site_not_on_the_allow_list_is_refused_too(embedded, submit):
    response = submit("whitepaper", headers={"Referer": "https://evil.example.com/page"})
    assert response.status_code == 403
    assert not Contact.objects.exists()


def test_a_null_origin_is_refused(embedded, submit):
    response = submit("whitepaper", headers={"Origin": "null"})
    assert response.status_code == 403
    assert not Contact.objects.exists()


def test_an_allowed_site_posts_and_reads_the_answer(embedded, submit):
    # when the partner site's page sends the form with fetch
    response = submit("whitepaper", headers={"Origin": PARTNER, **JSON})
    # then the submission is taken and the site may read the answer
    assert response.status_code == 201
    assert response["Access-Control-Allow-Origin"] == PARTNER
    assert "Origin" in response["Vary"]
    assert response.json()["ok"] is True
    assert Contact.objects.count() == 1


def test_a_wildcard_entry_allows_subdomains(embedded, submit):
    origin = "https://lp.group.example.jp"
    response = submit("whitepaper", headers={"Origin": origin, **JSON})
    assert response.status_code == 201
    assert response["Access-Control-Allow-Origin"] == origin


def test_the_same_site_is_always_allowed(embedded, submit):
    response = submit("whitepaper", headers={"Origin": "http://testserver"})
    assert response.status_code == 200
    assert "Access-Control-Allow-Origin" not in response


def test_field_errors_reach_an_allowed_site(embedded, submit):
    response = submit("whitepaper", answers(email=""), headers={"Origin": PARTNER, **JSON})
    assert response.status_code == 422
    assert response["Access-Control-Allow-Origin"] == PARTNER
    assert "email" in response.json()["errors"]


def test_a_preflight_from_an_allowed_site_is_answered(client, embedded):
    response = client.options(
        "/f/whitepaper",
        headers={"Origin": PARTNER, "Access-Control-Request-Method": "POST"},
    )
    assert response.status_code == 204
    assert response["Access-Control-Allow-Origin"] == PARTNER
    assert "POST" in response["Access-Control-Allow-Methods"]


def test_the_embed_script_and_fragment(client, embedded):
    # the script is served by us, for this form
    script = client.get("/f/whitepaper/embed.js")
    assert script.status_code == 200
    assert script["Content-Type"].startswith("text/javascript")
    body = script.content.decode()
    assert '"whitepaper"' in body and "sk_vid" in body and "fetch(" in body
    # the fragment is readable by the partner site only
    fragment = client.get("/f/whitepaper/embed", headers={"Origin": PARTNER})
    assert fragment.status_code == 200
    assert fragment["Access-Control-Allow-Origin"] == PARTNER
    assert 'name="_token"' in fragment.content.decode()
    assert "<html" not in fragment.content.decode()
    refused = client.get("/f/whitepaper/embed", headers={"Origin": "https://evil.example.com"})
    assert refused.status_code == 403
    assert client.get("/f/unknown/embed.js").status_code == 404


def test_after_submit_the_form_redirects_to_an_allowed_host(embedded, submit):
    # given a thank-you page on the partner site
    form_services.form_update(form=embedded, data=FormInput(redirect_url=f"{PARTNER}/thanks"))
    # when the form is sent from the hosted page
    response = submit("whitepaper")
    # then the person lands there
    assert response.status_code == 303
    assert response["Location"] == f"{PARTNER}/thanks"
    # and a JSON caller is told where to go
    json_answer = submit("whitepaper", answers(email="b@example.jp"), headers=JSON)
    assert json_answer.json()["redirect"] == f"{PARTNER}/thanks"


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example.com/thanks",
        "javascript:alert(1)",
        "//evil.example.com/",
        "https://www.partner.example.jp.evil.com/",
        "https://evil.example.com\\@www.partner.example.jp/",
    ],
)
def test_a_redirect_to_another_host_is_refused_when_the_form_is_saved(embedded, target):
    with pytest.raises(form_services.ValidationError) as caught:
        form_services.form_update(form=embedded, data=FormInput(redirect_url=target))
    assert "redirect_url" in caught.value.field_errors
    embedded.refresh_from_db()
    assert embedded.redirect_url == ""


def test_removing_the_redirect_host_from_the_allow_list_is_refused(embedded, submit):
    # given a redirect to the partner, then the partner is removed from the list
    form_services.form_update(form=embedded, data=FormInput(redirect_url=f"{PARTNER}/thanks"))
    with pytest.raises(form_services.ValidationError):
        form_services.form_update(form=embedded, data=FormInput(allowed_origins=[]))
    # then the form keeps its list: the redirect would otherwise point outside it
    embedded.refresh_from_db()
    assert PARTNER in embedded.allowed_origins


def test_allow_list_entries_are_checked_and_normalised(topics, now):
    form = lead_form(allowed_origins=["HTTPS://WWW.Partner.Example.jp/contact/", "*.Group.jp"])
    assert form.allowed_origins == [PARTNER, "*.group.jp"]
    for bad in ("*.com", "ftp://example.jp", "https://", "exa mple.jp"):
        with pytest.raises(form_services.ValidationError):
            form_services.form_update(form=form, data=FormInput(allowed_origins=[bad]))
