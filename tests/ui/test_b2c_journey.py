"""A B2C marketer's first week on the demo data, in Japanese, in a real Chromium.

The marketer switches on the カート放棄リマインド sequence. A shopper signs up for the newsletter
on the public form (with consent), then leaves a cart in the shop, which reports it through the
event API. An hour later (the clock is moved, nothing sleeps) the reminder reaches the shopper by
real SMTP. The shop records the order through ``POST /api/v1/orders`` — the purchase ends the
reminder sequence — and later a second order; the B2C dashboard's リピート率 counts the shopper
as a repeat buyer.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
from django.db.models import Count

from sokyaku.activity.models import Event, EventType
from sokyaku.analytics.rollups import rollups_rebuild
from sokyaku.capture.services import forms as form_services
from sokyaku.capture.services.forms import ConsentSpec, FieldSpec, FormInput
from sokyaku.consent.models import ConsentRecord
from sokyaku.contacts.models import Contact
from sokyaku.core import clock
from sokyaku.demo.generator import demo_load
from sokyaku.lifecycle.models import ContactStage
from sokyaku.sequences.models import Enrollment, Sequence
from sokyaku.sequences.presets import B2C_CART_NAME
from sokyaku.sequences.services.tick import sequences_tick
from tests.ui.conftest import signed_in

# A Monday morning in Tokyo, inside the B2C sending window (every day 9:00–21:00).
MONDAY = datetime.fromisoformat("2026-12-07T10:00:00+09:00")
SHOPPER = "haruka.kobayashi@example.jp"

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def monday() -> Iterator[None]:
    with clock.frozen(MONDAY):
        yield


@pytest.fixture
def demo(monday) -> str:  # type: ignore[no-untyped-def]
    """The demo data as of Monday; returns the demo marketer's username."""
    summary = demo_load(contacts=60, seed=7, months=2)
    rollups_rebuild()
    return next(user.username for user in summary.users if user.role == "marketer")


def _newsletter_form() -> None:
    """The shop's newsletter sign-up, as a marketer builds it: name, email, the newsletter."""
    form = form_services.form_create(
        data=FormInput(
            name="メルマガ登録",
            slug="mailmag",
            title="メールマガジン登録",
            purpose_title="個人情報の取り扱いについて",
            purpose_body="ご登録のメールアドレスには、新商品やセールのお知らせをお送りします。",
            fields=[
                FieldSpec(type="name", label="お名前", required=True),
                FieldSpec(type="email", label="メールアドレス", required=True),
            ],
            consents=[ConsentSpec(topic="newsletter")],
            min_fill_seconds=0,
        )
    )
    form_services.form_publish(form=form)


def _repeat_rate_text(*, new_buyers: int, new_repeaters: int) -> str:
    """The リピート率 the dashboard should show: repeat buyers ÷ buyers, as "12.5%"."""
    per_buyer = (
        Event.objects.filter(type=EventType.PURCHASE, contact__isnull=False)
        .values("contact")
        .annotate(n=Count("id"))
    )
    buyers = sum(1 for _ in per_buyer) + new_buyers
    repeaters = sum(1 for row in per_buyer if row["n"] >= 2) + new_repeaters
    text = f"{repeaters / buyers * 100:.1f}".rstrip("0").rstrip(".")
    return f"{text}%"


def test_signup_cart_reminder_order_and_repeat_rate(  # type: ignore[no-untyped-def]
    chromium, live_server, demo, api_token, smtp_server
):
    from playwright.sync_api import expect

    playwright, browser = chromium
    marketer = Contact._meta.apps.get_model("auth", "User").objects.get(username=demo)
    staff = signed_in(browser, live_server, marketer, viewport={"width": 1280, "height": 800})
    shop = playwright.request.new_context(
        base_url=live_server.url,
        extra_http_headers={"Authorization": f"Bearer {api_token}"},
    )

    # given the marketer switches the cart reminder on, found through the 育成 menu
    page = staff.new_page()
    page.goto(f"{live_server.url}/contacts/")
    page.locator("[data-menu=bar] [data-menu-group=nurture] summary").click()
    page.locator("[data-menu=bar] [data-menu-entry=sequences]").click()
    page.get_by_role("link", name=B2C_CART_NAME).click()
    expect(page.locator("h1")).to_contain_text(B2C_CART_NAME)
    page.locator('form[action$="/activate/"] button[type=submit]').click()
    cart_sequence = Sequence.objects.get(name=B2C_CART_NAME)
    assert cart_sequence.status == "active"
    _newsletter_form()

    # when a shopper signs up for the newsletter on the public form, agreeing to it
    shopper = browser.new_context(locale="ja-JP", viewport={"width": 390, "height": 844})
    shopper.set_default_timeout(20_000)
    signup = shopper.new_page()
    signup.goto(f"{live_server.url}/f/mailmag")
    expect(signup.locator("h1, .skf-title").first).to_contain_text("メールマガジン登録")
    signup.fill("input[name=family_name]", "小林")
    signup.fill("input[name=given_name]", "遥")
    signup.fill("input[name=email]", SHOPPER)
    signup.check("input[name=_agree]")
    signup.check("input[name=_consent_newsletter]")
    signup.locator("form button[type=submit]").click()
    expect(signup.locator("body")).to_contain_text("ありがとうございます")
    # then she is a contact who agreed to the newsletter
    haruka = Contact.objects.get(email=SHOPPER)
    assert haruka.display_name == "小林 遥"
    assert ConsentRecord.objects.filter(contact=haruka, topic__key="newsletter").exists()

    # when the shop reports her abandoned cart five minutes later
    clock.advance(timedelta(minutes=5))
    response = shop.post(
        "/api/v1/events",
        data=json.dumps(
            {
                "type": "cart_abandoned",
                "email": SHOPPER,
                "properties": {"amount_jpy": 12800, "items": 2},
                "idempotency_key": "cart-20261207-0001",
            }
        ),
        headers={"Content-Type": "application/json"},
    )
    assert (response.status, response.json()) == (200, {"stored": 1}), response.text()
    # then she is in the reminder sequence, and nothing is mailed yet
    enrollment = Enrollment.objects.get(contact=haruka, sequence=cart_sequence)
    sequences_tick()
    assert smtp_server.messages == []

    # when an hour has passed
    clock.advance(timedelta(hours=1, minutes=1))
    sequences_tick()
    # then the reminder reaches her by SMTP, in Japanese, with her name and a tracked link
    (mail,) = smtp_server.wait_for(1)
    assert mail["To"].addresses[0].addr_spec == SHOPPER
    assert mail["Subject"] == "お買い物カゴに商品が残っています"
    html = mail.get_body(("html",)).get_content()
    assert "小林" in html
    assert re.search(r'href="http://[^"]+/m/c/[^"]+"', html), html
    assert mail["List-Unsubscribe"]

    # when the shop records her order the next day
    clock.advance(timedelta(days=1))
    expected_first = _repeat_rate_text(new_buyers=1, new_repeaters=0)
    first = shop.post(
        "/api/v1/orders",
        data=json.dumps(
            {
                "email": SHOPPER,
                "external_id": "EC-100231",
                "ordered_at": clock.local_now().isoformat(),
                "amount": 12800,
                "lines": [
                    {"sku": "TEA-01", "name": "緑茶ギフトセット", "quantity": 2, "unit_price": 6400}
                ],
            }
        ),
        headers={"Content-Type": "application/json"},
    )
    # then she is a customer and the purchase ends the reminder sequence
    assert first.status == 201, first.text()
    assert first.json()["contact_id"] == haruka.pk
    assert ContactStage.objects.get(contact=haruka).stage == "customer"
    enrollment.refresh_from_db()
    assert enrollment.status == "completed"
    dashboard = f"{live_server.url}/analytics/?view=b2c"
    page.goto(dashboard)
    rate = page.locator('[data-kpi="repeat_rate"] .kpi__value')
    expect(rate).to_have_text(expected_first)

    # when she orders again a week later
    clock.advance(timedelta(days=7))
    expected_second = _repeat_rate_text(new_buyers=0, new_repeaters=1)
    second = shop.post(
        "/api/v1/orders",
        data=json.dumps(
            {
                "email": SHOPPER,
                "external_id": "EC-100587",
                "ordered_at": clock.local_now().isoformat(),
                "amount": 6400,
            }
        ),
        headers={"Content-Type": "application/json"},
    )
    assert second.status == 201, second.text()
    # then the B2C dashboard's repeat rate counts her as a repeat buyer
    page.goto(dashboard)
    expect(rate).to_have_text(expected_second)
    assert expected_second != expected_first
    shop.dispose()
    staff.close()
    shopper.close()
