"""The website tracking endpoints through HTTP: snippet, collector, pixel, CORS, bots and
prefetches, stitching to contacts, escaping, and the notice generated from the same fields."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta

import pytest
from django.test import Client
from django.urls import reverse

from sokyaku.activity import services as activity_services
from sokyaku.activity import tracking
from sokyaku.activity.models import Event, EventSource, EventType, Visitor
from sokyaku.contacts import touches
from sokyaku.contacts.models import Contact
from sokyaku.contacts.services import ContactInput, contact_upsert
from sokyaku.core import clock

pytestmark = pytest.mark.django_db

SNIPPET = reverse("tracking:snippet")
COLLECT = reverse("tracking:collect")
PIXEL = reverse("tracking:pixel")
NOTICE = reverse("tracking:notice")
CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)
GOOGLEBOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
T0 = datetime(2026, 4, 1, 10, 0, tzinfo=clock.TOKYO)
VID = "3f9c2a7e0b1d4c5e8f7a6b5c4d3e2f10"
XSS = "<script>alert(1)</script>"


@pytest.fixture
def browser() -> Client:
    """A client that looks like a person's browser."""
    return Client(headers={"User-Agent": CHROME})


def _beacon(client: Client, data: object, **headers: str):  # type: ignore[no-untyped-def]
    """What navigator.sendBeacon sends: JSON as text/plain."""
    return client.post(
        COLLECT, json.dumps(data), content_type="text/plain;charset=UTF-8", headers=headers
    )


def _view(**extra: str) -> dict[str, str]:
    return {
        "visitor_id": VID,
        "url": "https://www.example.co.jp/products/ma?utm_source=google&utm_medium=cpc",
        "title": "製品紹介",
        "referrer": "https://www.google.co.jp/",
        **extra,
    }


# --- Snippet --------------------------------------------------------------------------------


def test_the_snippet_is_javascript_from_this_server_only(browser: Client) -> None:
    response = browser.get(SNIPPET)
    body = response.content.decode()
    assert response.status_code == 200
    assert response["Content-Type"] == "text/javascript; charset=utf-8"
    assert "max-age=" in response["Cache-Control"]
    # no other site's address: no CDN, no third-party code
    assert not re.search(r"(?i)https?://|//[a-z0-9.-]+\.[a-z]{2,}/", body)
    # the cookie, the public API and this server's paths
    assert '"cookie":"sk_vid"' in body
    assert "api.visitorId = visitorId" in body
    assert f'"collect":"{COLLECT}"' in body
    assert "window" in body and "sendBeacon" in body


def test_the_snippet_sends_exactly_the_collected_fields(browser: Client) -> None:
    body = browser.get(SNIPPET).content.decode()
    config = json.loads(re.search(r"var C = (\{.*?\});", body).group(1))  # type: ignore[union-attr]
    assert [f["key"] for f in config["fields"]] == [f.key for f in tracking.COLLECTED_FIELDS]


def test_the_snippet_is_revalidated_with_its_etag(browser: Client) -> None:
    etag = browser.get(SNIPPET)["ETag"]
    again = browser.get(SNIPPET, headers={"If-None-Match": etag})
    assert again.status_code == 304


# --- Collector ------------------------------------------------------------------------------


def test_a_page_view_is_stored_with_utm_and_visitor(browser: Client) -> None:
    # when a browser reports a page view reached through a Google ad
    with clock.frozen(T0):
        response = _beacon(browser, _view(utm_campaign="search_brand"))
    # then it is stored as an anonymous page view of that visitor, received now
    assert response.status_code == 204
    assert response["Access-Control-Allow-Origin"] == "*"
    event = Event.objects.get()
    assert (event.type, event.source, event.visitor_id) == (
        EventType.PAGE_VIEW, EventSource.TRACKING, VID)  # fmt: skip
    assert event.contact_id is None
    assert event.occurred_at == T0
    assert event.properties == {
        "url": "https://www.example.co.jp/products/ma?utm_source=google&utm_medium=cpc",
        "title": "製品紹介",
        "referrer": "https://www.google.co.jp/",
        "utm_source": "google",
        "utm_medium": "cpc",
        "utm_campaign": "search_brand",
    }
    assert Visitor.objects.get(id=VID).first_seen_at == T0


def test_utm_parameters_are_read_from_the_url_when_not_sent(browser: Client) -> None:
    _beacon(
        browser, {"visitor_id": VID, "url": "https://ex.jp/?utm_source=newsletter&utm_medium=email"}
    )
    props = Event.objects.get().properties
    assert (props["utm_source"], props["utm_medium"]) == ("newsletter", "email")


def test_only_the_collected_fields_are_stored(browser: Client) -> None:
    # given a page that sends more than the snippet does
    _beacon(browser, _view(email="taro@example.jp", ip="203.0.113.1", utm_id="x"))
    # then nothing outside the collected fields is stored
    stored = set(Event.objects.get().properties)
    assert stored <= {f.key for f in tracking.COLLECTED_FIELDS} - {"visitor_id"}
    assert "email" not in stored


def test_a_batch_of_queued_views_is_stored_whole(browser: Client) -> None:
    views = [_view(url=f"https://ex.jp/p{i}") for i in range(3)]
    assert _beacon(browser, views).status_code == 204
    assert Event.objects.count() == 3


def test_json_sent_by_fetch_with_a_preflight_is_accepted_too(browser: Client) -> None:
    response = browser.post(COLLECT, json.dumps(_view()), content_type="application/json")
    assert response.status_code == 204
    assert Event.objects.count() == 1


def test_the_preflight_allows_any_origin() -> None:
    response = Client().options(
        COLLECT,
        headers={
            "Origin": "https://www.customer.example",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
    )
    assert response.status_code == 204
    assert response["Access-Control-Allow-Origin"] == "*"
    assert "POST" in response["Access-Control-Allow-Methods"]
    assert response["Access-Control-Allow-Headers"].lower() == "content-type"
    assert not Event.objects.exists()


@pytest.mark.parametrize(
    "headers",
    [
        {"User-Agent": GOOGLEBOT},
        {"User-Agent": "curl/8.5.0"},
        {"User-Agent": ""},
        {"User-Agent": CHROME, "Sec-Purpose": "prefetch"},
        {"User-Agent": CHROME, "Sec-Purpose": "prefetch;prerender"},
        {"User-Agent": CHROME, "Purpose": "prefetch"},
        {"User-Agent": CHROME, "X-Moz": "prefetch"},
    ],
)
def test_bots_and_prefetches_are_answered_but_not_stored(headers: dict[str, str]) -> None:
    client = Client(headers=headers)
    assert _beacon(client, _view()).status_code == 204
    assert client.get(PIXEL, {"url": "https://ex.jp/"}).status_code == 200
    assert not Event.objects.exists()
    assert not Visitor.objects.exists()


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ("not json", 400),
        (json.dumps({"url": "https://ex.jp/"}), 400),  # no visitor id
        (json.dumps({"visitor_id": "short", "url": "https://ex.jp/"}), 400),
        (json.dumps(_view(url="javascript:alert(1)")), 400),
        (json.dumps(_view(url="")), 400),
        (json.dumps([]), 400),
        (json.dumps([_view()] * 21), 400),
        (json.dumps(["x"]), 400),
        (json.dumps(_view(title="x" * 40_000)), 413),
    ],
)
def test_bad_hits_are_refused_and_nothing_is_stored(
    browser: Client, body: str, status: int
) -> None:
    response = browser.post(COLLECT, body, content_type="text/plain")
    assert response.status_code == status
    assert response["Access-Control-Allow-Origin"] == "*"
    assert "detail" in response.json()
    assert not Event.objects.exists()


def test_long_and_unstorable_values_are_cut_and_cleaned(browser: Client) -> None:
    long_url = "https://ex.jp/" + "a" * 5000
    _beacon(browser, _view(url=long_url, title="タイトル\x00\ud800" + "あ" * 400))
    props = Event.objects.get().properties
    assert len(props["url"]) == 2048
    assert "\x00" not in props["title"] and len(props["title"]) == 300


def test_only_post_and_options_reach_the_collector(browser: Client) -> None:
    assert browser.get(COLLECT).status_code == 405


# --- Pixel ----------------------------------------------------------------------------------


def test_the_pixel_stores_the_referring_page_and_remembers_the_browser(browser: Client) -> None:
    # when a page without JavaScript shows the pixel
    page = "https://www.example.co.jp/seminar?utm_source=webinar&utm_medium=event"
    with clock.frozen(T0):
        first = browser.get(PIXEL, headers={"Referer": page})
    # then a 1×1 GIF comes back, the view is stored and the browser gets an id cookie
    assert first.status_code == 200
    assert first["Content-Type"] == "image/gif"
    assert first.content.startswith(b"GIF89a")
    assert "no-store" in first["Cache-Control"]
    cookie = first.cookies[tracking.COOKIE_NAME]
    assert tracking.VISITOR_ID_RE.fullmatch(cookie.value)
    event = Event.objects.get()
    assert (event.visitor_id, event.properties["url"], event.properties["utm_source"]) == (
        cookie.value, page, "webinar")  # fmt: skip
    # and the next view from the same browser is the same visitor
    browser.get(PIXEL, {"url": "https://www.example.co.jp/pricing"})
    assert set(Event.objects.values_list("visitor_id", flat=True)) == {cookie.value}


def test_the_pixel_as_the_snippets_fallback_uses_the_sent_visitor(browser: Client) -> None:
    response = browser.get(PIXEL, _view())
    assert tracking.COOKIE_NAME not in response.cookies
    assert Event.objects.get().visitor_id == VID


def test_the_pixel_answers_an_image_even_for_nonsense(browser: Client) -> None:
    response = browser.get(PIXEL, {"url": "ftp://x", "visitor_id": "!"})
    assert response.status_code == 200 and response["Content-Type"] == "image/gif"
    assert not Event.objects.exists()


# --- Stitching and touches ------------------------------------------------------------------


def test_anonymous_views_join_the_contact_when_the_visitor_identifies(
    browser: Client, logged_in: Client
) -> None:
    # given a visitor who read two pages anonymously
    with clock.frozen(T0):
        _beacon(browser, _view(url="https://ex.jp/blog/ma", title="MAとは"))
    with clock.frozen(T0 + timedelta(minutes=3)):
        _beacon(browser, _view(url="https://ex.jp/pricing", title="料金", referrer=""))
    # when the visitor sends a form and is identified
    person = contact_upsert(data=ContactInput(email="taro@example.jp")).contact
    activity_services.visitor_identify(visitor_id=VID, contact_id=person.pk)
    # then both views are on the contact's timeline page
    page = logged_in.get(reverse("contacts:detail", kwargs={"contact_id": person.pk}))
    html = page.content.decode()
    assert "MAとは" in html and "料金" in html
    # and the anonymous touch (from Google search) becomes the contact's first touch
    assert touches.visitor_touches_record(visitor_id=VID, contact_id=person.pk) == 1
    person.refresh_from_db()
    assert person.first_touch["referrer"] == "https://www.google.co.jp/"
    assert person.first_touch_channel is not None
    assert person.first_touch_channel.key == "seo-blog"


def test_a_known_visitors_campaign_visit_updates_the_latest_touch(browser: Client) -> None:
    # given an identified visitor whose first touch was organic search
    person = contact_upsert(data=ContactInput(email="hanako@example.jp")).contact
    activity_services.visitor_identify(visitor_id=VID, contact_id=person.pk)
    with clock.frozen(T0):
        _beacon(browser, _view(url="https://ex.jp/blog", referrer="https://www.google.co.jp/"))
    # when they come back through the newsletter, then browse on
    with clock.frozen(T0 + timedelta(days=3)):
        _beacon(browser, _view(url="https://ex.jp/case?utm_source=newsletter&utm_medium=email"))
    with clock.frozen(T0 + timedelta(days=3, minutes=1)):
        _beacon(browser, _view(url="https://ex.jp/pricing", referrer="https://ex.jp/case"))
    # then the views are the contact's, the first touch stays, the latest is the newsletter
    person = Contact.objects.get(pk=person.pk)
    assert Event.objects.filter(contact=person, type=EventType.PAGE_VIEW).count() == 3
    assert person.first_touch_channel and person.first_touch_channel.key == "seo-blog"
    assert person.latest_touch_channel and person.latest_touch_channel.key == "email"
    assert person.latest_touch["source"] == "newsletter"


# --- Escaping -------------------------------------------------------------------------------


def test_script_in_every_field_is_stored_as_text_and_shown_inert(
    browser: Client, logged_in: Client
) -> None:
    # given a page view whose every field carries markup (an email link, by its medium)
    hostile = _view(
        url=f"https://ex.jp/?q={XSS}&utm_source={XSS}&utm_campaign={XSS}&utm_medium=email",
        title=XSS,
        referrer=f"https://evil.example/{XSS}",
        utm_term=XSS,
        utm_content=XSS,
    )
    _beacon(browser, hostile)
    person = contact_upsert(data=ContactInput(email="x@example.jp")).contact
    activity_services.visitor_identify(visitor_id=VID, contact_id=person.pk)
    touches.visitor_touches_record(visitor_id=VID, contact_id=person.pk)
    # then it is stored exactly as text
    assert Event.objects.get(type=EventType.PAGE_VIEW).properties["title"] == XSS
    # and no page shows it as markup
    person.refresh_from_db()
    pages = [reverse("contacts:detail", kwargs={"contact_id": person.pk})]
    if person.first_touch_channel_id:
        pages.append(
            reverse(
                "campaigns:channel_detail", kwargs={"channel_id": person.first_touch_channel_id}
            )
        )
    assert len(pages) == 2
    for url in pages:
        html = logged_in.get(url).content.decode()
        assert "<script>alert(1)" not in html
        assert "&lt;script&gt;alert(1)" in html


# --- Notice ---------------------------------------------------------------------------------


def test_the_notice_lists_exactly_the_collected_fields(settings) -> None:  # type: ignore[no-untyped-def]
    # given an installation run by a named company
    settings.OPERATOR_NAME = "株式会社サンプル"
    settings.SITE_URL = "https://ma.sample.example"
    # when anyone opens the notice
    response = Client().get(NOTICE)
    html = response.content.decode()
    # then it is public, in Japanese, names the recipient and its server
    assert response.status_code == 200
    assert '<html lang="ja">' in html
    assert "株式会社サンプル" in html and "ma.sample.example" in html
    assert "https://ma.sample.example/t/collect" in html
    # and lists each collected item, no more and no less, with its purpose
    listed = re.findall(r'<tr data-field="([a-z_]+)">', html)
    assert listed == [f.key for f in tracking.COLLECTED_FIELDS]
    assert "sk_vid" in html


def test_the_notice_is_available_in_english() -> None:
    html = Client().get(NOTICE, {"lang": "en"}).content.decode()
    assert '<html lang="en">' in html
    assert "Address (URL) of the page viewed" in html
    assert "The operator of this sokyaku installation" in html  # no operator name configured


def test_an_ad_click_before_identifying_becomes_the_first_touch(browser: Client, api: Client):
    # given an anonymous visit from a Google ad a week before the person identifies
    with clock.frozen(T0):
        _beacon(browser, _view())
    # when an integration creates the contact naming that browser
    with clock.frozen(T0 + timedelta(days=7)):
        response = api.post(
            "/api/v1/contacts",
            {"email": "ad-click@example.co.jp", "visitor_id": VID},
            content_type="application/json",
        )
    # then the ad is the contact's first touch and its channel
    contact = Contact.objects.get(pk=response.json()["id"])
    assert contact.first_touch["source"] == "google"
    assert contact.first_touch_channel is not None
    assert contact.first_touch_channel.key == "paid-search"
