"""The referral programme: a code and link per customer, the link's cookie and redirect, referred
leads attributed to their referrer (from a form on the landing page, or through the API), and
the reward that is earned when the referred lead buys."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.test import Client, RequestFactory

from sokyaku.activity.models import Event, EventType
from sokyaku.capture.models import Form
from sokyaku.capture.services import forms as form_services
from sokyaku.capture.services.forms import FormInput
from sokyaku.consent.models import ConsentRecord, ConsentTopic
from sokyaku.contacts.models import Contact
from sokyaku.contacts.services import ContactInput, contact_upsert
from sokyaku.core import clock
from sokyaku.deals import selectors_aftersale as selectors
from sokyaku.deals.models import Referral, RewardStatus
from sokyaku.deals.public_views import COOKIE, referral_cookie_code
from sokyaku.deals.services import (
    order_record,
    referral_attribute,
    referral_code_get_or_create,
)
from sokyaku.deals.services.referrals import CODE_ALPHABET
from sokyaku.lifecycle import services as lifecycle_services
from tests.capture.conftest import answers, lead_form

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 5, 11, 3, 0, tzinfo=UTC)
SITE = "https://mkt.sample.example"
HIDDEN_RE = re.compile(r"<input[^>]*type=\"hidden\"[^>]*>")
ATTR_RE = re.compile(r'(name|value)="([^"]*)"')


@pytest.fixture(autouse=True)
def site(settings: Any) -> Any:
    settings.SITE_URL = SITE
    with clock.frozen(NOW):
        yield settings


def person(email: str, **data: Any) -> Contact:
    data.setdefault("family_name", "佐藤")
    data.setdefault("given_name", "花子")
    return contact_upsert(data=ContactInput(email=email, **data)).contact


def customer_with_code(email: str = "referrer@example.jp") -> tuple[Contact, str]:
    contact = person(email, family_name="紹介")
    lifecycle_services.stage_change(contact=contact, to_stage="customer", source="system")
    return contact, referral_code_get_or_create(contact=contact).code


def attribute_api(api: Client, code: str, contact: Contact) -> Any:
    return api.post(
        "/api/v1/referrals",
        {"code": code, "contact_id": contact.pk},
        content_type="application/json",
    )


# --- codes and the link ------------------------------------------------------------------


def test_each_customer_gets_one_unambiguous_code_and_a_link() -> None:
    # given two customers
    first, code = customer_with_code()
    second, other = customer_with_code("second@example.jp")
    # then each code is 8 characters without look-alikes, stable and unique
    assert len(code) == 8 and set(code) <= set(CODE_ALPHABET)
    assert not set(code) & set("01OIL")
    assert referral_code_get_or_create(contact=first).code == code
    assert code != other
    # and the link to share is on the site
    summary = selectors.referral_summary(contact_id=first.pk)
    assert (summary.code, summary.url) == (code, f"{SITE}/r/{code}")


def test_the_api_hands_out_the_code_and_link(api: Client) -> None:
    contact = person("api@example.jp")
    response = api.post(f"/api/v1/contacts/{contact.pk}/referral-code")
    again = api.post(f"/api/v1/contacts/{contact.pk}/referral-code")
    assert response.status_code == 200
    code = response.json()["code"]
    assert response.json() == {"contact_id": contact.pk, "code": code, "url": f"{SITE}/r/{code}"}
    assert again.json()["code"] == code


def test_the_link_sets_a_signed_cookie_and_leads_to_the_landing_page(client: Client) -> None:
    # given a customer's code
    _referrer, code = customer_with_code()
    # when someone follows the link (typed in lower case)
    response = client.get(f"/r/{code.lower()}")
    # then they land on the referral form with the code and the referral channel in the URL
    assert response.status_code == 302
    assert response["Location"] == (
        f"{SITE}/f/referral?ref={code}&utm_source=referral&utm_medium=referral"
    )
    # and carry a first-party cookie: signed, 90 days, SameSite=Lax, not readable by scripts
    cookie = response.cookies[COOKIE]
    request = RequestFactory().get("/", HTTP_COOKIE=f"{COOKIE}={cookie.value}")
    assert referral_cookie_code(request) == code
    assert cookie.value != code
    assert (cookie["max-age"], cookie["samesite"], cookie["httponly"]) == (
        90 * 24 * 3600,
        "Lax",
        True,
    )
    assert "no-store" in response["Cache-Control"]


def test_the_landing_page_is_configurable_and_keeps_its_own_parameters(
    client: Client, site: Any
) -> None:
    site.SOKYAKU_REFERRAL_LANDING_URL = "https://shop.example/campaign?utm_source=friends"
    _referrer, code = customer_with_code()
    response = client.get(f"/r/{code}")
    assert response["Location"] == (
        f"https://shop.example/campaign?utm_source=friends&ref={code}&utm_medium=referral"
    )


def test_an_unknown_code_still_leads_to_the_landing_page_without_a_cookie(client: Client) -> None:
    response = client.get("/r/NOSUCH99")
    assert (response.status_code, response["Location"]) == (302, f"{SITE}/f/referral")
    assert COOKIE not in response.cookies


def test_by_default_the_link_leads_to_a_public_referral_form_not_the_staff_login(
    client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    # given a new installation's newsletter topic and a customer's code (no landing configured)
    ConsentTopic.objects.create(key="newsletter", name="メールマガジン")
    referrer, code = customer_with_code()
    # when a friend follows the link (with the slash a chat app may add)
    landing = client.get(f"/r/{code}/")["Location"]
    page = client.get(landing.removeprefix(SITE))
    # then a public page shows the referral form: name, email, company, the newsletter box and
    # the purpose of use with its "I agree" box, in Japanese, and no login form
    text = page.content.decode()
    assert page.status_code == 200
    assert "/accounts/login" not in landing and 'name="password"' not in text
    for shown in (
        "ご紹介を受けてお越しの方へ",
        "お名前",
        "メールアドレス",
        "会社名",
        "メールマガジン",
    ):
        assert shown in text
    assert "個人情報の取り扱いについて" in text and "今回のご紹介に関するご連絡" in text
    for name in ("family_name", "given_name", "email", "company", "_agree"):
        assert f'name="{name}"' in text
    # when they send it
    hidden = _fill_in(client, landing.removeprefix(SITE))
    clock.advance(timedelta(seconds=10))
    data = {k: v for k, v in answers().items() if k in {"family_name", "given_name", "email",
                                                          "company", "_agree"}}  # fmt: skip
    with django_capture_on_commit_callbacks(execute=True):
        sent = client.post("/f/referral", {**data, "_consent_newsletter": "1", **hidden})
    # then the new lead exists, attributed to the referrer, with the consent given on the form
    assert sent.status_code == 200
    lead = Contact.objects.get(email="taro.yamada@example.co.jp")
    assert (lead.family_name, lead.company.name) == ("山田", "株式会社サンプル")
    referral = Referral.objects.get()
    assert (referral.referrer_id, referral.referred_id) == (referrer.pk, lead.pk)
    assert ConsentRecord.objects.filter(contact=lead, topic__key="newsletter").exists()


def test_the_referral_form_is_set_up_once_and_the_marketers_changes_are_kept(
    client: Client,
) -> None:
    _referrer, code = customer_with_code()
    client.get(f"/r/{code}")
    form = Form.objects.get(kind="referral")
    form_services.form_update(form=form, data=FormInput(title="お友だち紹介キャンペーン"))
    # a later link leads to the same form, as the marketer left it
    assert client.get(f"/r/{code}")["Location"].startswith(f"{SITE}/f/referral?")
    assert Form.objects.filter(kind="referral").count() == 1
    assert "お友だち紹介キャンペーン" in client.get("/f/referral").content.decode()


def test_when_the_referral_form_is_unpublished_the_link_says_so_and_never_shows_the_login(
    client: Client,
) -> None:
    _referrer, code = customer_with_code()
    client.get(f"/r/{code}")
    form_services.form_unpublish(form=Form.objects.get(kind="referral"))
    response = client.get(f"/r/{code}")
    assert response.status_code == 404
    assert "この紹介ページは現在ご利用いただけません。" in response.content.decode()
    assert Form.objects.filter(kind="referral").count() == 1  # not set up again behind their back


# --- attribution -------------------------------------------------------------------------


def _fill_in(client: Client, url: str) -> dict[str, str]:
    """The hidden inputs of the form page at ``url``, as the browser would send them."""
    page = client.get(url)
    assert page.status_code == 200
    fields = {}
    for tag in HIDDEN_RE.findall(page.content.decode()):
        attrs = dict(ATTR_RE.findall(tag))
        fields[attrs["name"]] = html.unescape(attrs.get("value", ""))
    return fields


def test_a_lead_who_comes_through_the_link_and_fills_in_the_form_is_attributed(
    client: Client, site: Any, django_capture_on_commit_callbacks: Any
) -> None:
    # given a customer's link that leads to the hosted whitepaper form
    ConsentTopic.objects.create(key="newsletter", name="メールマガジン")
    ConsentTopic.objects.create(key="seminars", name="セミナー案内")
    lead_form()
    site.SOKYAKU_REFERRAL_LANDING_URL = f"{SITE}/f/whitepaper"
    referrer, code = customer_with_code()
    # when a friend follows it and submits the form
    landing = client.get(f"/r/{code}")["Location"]
    hidden = _fill_in(client, landing.removeprefix(SITE))
    clock.advance(timedelta(seconds=10))
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/f/whitepaper", {**answers(), **hidden})
    assert response.status_code == 200
    # then the new lead is attributed to the referrer
    lead = Contact.objects.get(email="taro.yamada@example.co.jp")
    referral = Referral.objects.get()
    assert (referral.referrer_id, referral.referred_id, referral.code) == (
        referrer.pk,
        lead.pk,
        code,
    )
    assert referral.reward_status == RewardStatus.PENDING
    # and both timelines say so
    referred = Event.objects.get(type=EventType.REFERRED)
    assert (referred.contact_id, referred.properties["referrer"]) == (lead.pk, referrer.pk)
    assert referred.properties["source"] == "form"
    made = Event.objects.get(type=EventType.REFERRAL)
    assert (made.contact_id, made.properties["referred"]) == (referrer.pk, lead.pk)
    # and the lead's first touch is the referral channel
    lead.refresh_from_db()
    assert lead.first_touch_channel is not None and lead.first_touch_channel.key == "referral"
    # and the contact pages show it
    assert [r.referred_id for r in selectors.referrals_of(contact_id=referrer.pk)] == [lead.pk]
    assert selectors.referral_summary(contact_id=lead.pk).referred_by == referral


def test_a_lead_who_wanders_off_the_landing_page_is_attributed_by_the_cookie(
    client: Client, site: Any, django_capture_on_commit_callbacks: Any
) -> None:
    # given a customer's link that leads to the front page
    ConsentTopic.objects.create(key="newsletter", name="メールマガジン")
    ConsentTopic.objects.create(key="seminars", name="セミナー案内")
    lead_form()
    referrer, code = customer_with_code()
    assert client.get(f"/r/{code}").status_code == 302
    # when the friend later opens the form directly (no ?ref= in its address) and submits
    hidden = _fill_in(client, "/f/whitepaper")
    clock.advance(timedelta(seconds=10))
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/f/whitepaper", {**answers(), **hidden})
    assert response.status_code == 200
    # then the referral cookie attributed the new lead all the same
    lead = Contact.objects.get(email="taro.yamada@example.co.jp")
    referral = Referral.objects.get()
    assert (referral.referrer_id, referral.referred_id) == (referrer.pk, lead.pk)


def test_attribution_through_the_api(api: Client) -> None:
    # given a customer's code and a new lead
    referrer, code = customer_with_code()
    lead = person("friend@example.jp")
    # when the shop attributes the lead, twice
    first = attribute_api(api, code, lead)
    again = attribute_api(api, code, lead)
    # then one referral exists, answered 201 then 200
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["referrer_id"] == referrer.pk
    assert first.json()["reward_status"] == "pending"
    assert Referral.objects.count() == 1


def test_a_contact_is_referred_only_once(api: Client) -> None:
    # given a lead referred by one customer
    _first, code = customer_with_code()
    _second, other_code = customer_with_code("second@example.jp")
    lead = person("friend@example.jp")
    attribute_api(api, code, lead)
    # when another customer's code is given for the same lead
    response = attribute_api(api, other_code, lead)
    # then it is refused and the first referrer keeps the lead
    assert response.status_code == 409
    assert list(Referral.objects.values_list("code", flat=True)) == [code]


def test_a_customer_cannot_refer_themselves(api: Client) -> None:
    referrer, code = customer_with_code()
    response = attribute_api(api, code, referrer)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "contact_id"]
    assert not Referral.objects.exists()


def test_an_unknown_code_is_refused(api: Client) -> None:
    response = attribute_api(api, "ZZZZ2222", person("friend@example.jp"))
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "code"]


def test_a_self_referral_through_the_form_is_ignored(
    client: Client, site: Any, django_capture_on_commit_callbacks: Any
) -> None:
    # given a customer who follows their own link and fills in the form
    ConsentTopic.objects.create(key="newsletter", name="メールマガジン")
    ConsentTopic.objects.create(key="seminars", name="セミナー案内")
    lead_form()
    site.SOKYAKU_REFERRAL_LANDING_URL = f"{SITE}/f/whitepaper"
    referrer, code = customer_with_code("taro.yamada@example.co.jp")
    hidden = _fill_in(client, client.get(f"/r/{code}")["Location"].removeprefix(SITE))
    clock.advance(timedelta(seconds=10))
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/f/whitepaper", {**answers(), **hidden})
    # then the submission is taken and no referral is made
    assert response.status_code == 200
    assert Contact.objects.filter(pk=referrer.pk).exists()
    assert not Referral.objects.exists()


# --- rewards -----------------------------------------------------------------------------


def test_the_reward_is_earned_when_the_referred_lead_buys(
    django_capture_on_commit_callbacks: Any,
) -> None:
    # given a referred lead
    _referrer, code = customer_with_code()
    lead = person("friend@example.jp")
    referral = referral_attribute(code=code, referred=lead, source="api")
    assert referral.reward_status == RewardStatus.PENDING
    # when the lead buys (and becomes a customer)
    with django_capture_on_commit_callbacks(execute=True):
        order_record(
            contact=lead, external_id="EC-1", ordered_at=NOW - timedelta(minutes=1), amount=3000
        )
    # then the reward is earned
    referral.refresh_from_db()
    assert (referral.reward_status, referral.reward_changed_at) == (RewardStatus.EARNED, NOW)


def test_a_lead_who_bought_before_being_attributed_earns_at_once() -> None:
    _referrer, code = customer_with_code()
    lead = person("friend@example.jp")
    order_record(contact=lead, external_id="EC-1", ordered_at=NOW, amount=3000)
    referral = referral_attribute(code=code, referred=lead, source="api")
    assert referral.reward_status == RewardStatus.EARNED


def test_rewards_are_paid_by_hand_and_a_paid_reward_is_final(api: Client) -> None:
    # given an earned reward
    _referrer, code = customer_with_code()
    lead = person("friend@example.jp")
    order_record(contact=lead, external_id="EC-1", ordered_at=NOW, amount=3000)
    referral = referral_attribute(code=code, referred=lead, source="api")
    url = f"/api/v1/referrals/{referral.pk}/reward"
    # when it is marked paid, then voided
    paid = api.post(url, {"status": "paid"}, content_type="application/json")
    void = api.post(url, {"status": "void"}, content_type="application/json")
    # then it stays paid
    assert (paid.status_code, paid.json()["reward_status"]) == (200, "paid")
    assert void.status_code == 409
    referral.refresh_from_db()
    assert referral.reward_status == RewardStatus.PAID
    assert api.post(url, {"status": "lost"}, content_type="application/json").status_code == 422
    assert (
        api.post(
            "/api/v1/referrals/999999/reward", {"status": "paid"}, content_type="application/json"
        ).status_code
        == 404
    )
