"""Unsubscribe and preference-centre links expire and can be invalidated: per contact from the
contact page, for everyone with the link key version. A link within its time keeps working
(one-click included); an expired one shows a page that names nobody, offers a fresh link by
mail, and still takes an opt-out."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core import signing
from django.test import Client
from django.urls import reverse

from sokyaku.consent.models import ConsentRecord, ConsentStatus
from sokyaku.consent.selectors import may_send
from sokyaku.contacts.models import Contact
from sokyaku.contacts.services import contact_merge
from sokyaku.core import clock
from sokyaku.messaging import tokens
from sokyaku.messaging.models import MailLinkRotation, Message, MessageStatus, SystemMail
from sokyaku.messaging.services import delivery
from tests.messaging.engine_factories import contact_make, message_make, topic_make

pytestmark = pytest.mark.django_db

SENT = datetime(2026, 4, 1, 1, 0, tzinfo=UTC)  # 10:00 in Tokyo
NAME, EMAIL, COMPANY = "期限切", "kigen@sample.example", "株式会社リンク"
TOPIC_NAME = "メールマガジン"


@pytest.fixture
def at_send() -> Iterator[None]:
    with clock.frozen(SENT):
        yield


def _path(url: str) -> str:
    return "/" + url.split("://", 1)[1].split("/", 1)[1]


def _person() -> Contact:
    topic_make()
    return contact_make(family_name=NAME, email=EMAIL, company_name=COMPANY)


def _sent(contact: Contact) -> Message:
    message = message_make(contact=contact)
    delivery.messages_deliver(message_ids=[message.pk])
    return Message.objects.get(pk=message.pk)


def _links(message: Message) -> tuple[str, str]:
    """The unsubscribe and preferences paths the sent mail carries."""
    unsubscribe = message.headers["List-Unsubscribe"].split("<", 1)[1].split(">", 1)[0]
    assert "/m/u/" in unsubscribe
    (preferences,) = [word for word in message.body_text.split() if "/m/p/" in word]
    return _path(unsubscribe), _path(preferences)


def _one_click(client: Client, path: str) -> Any:
    return client.post(
        path, data="List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded"
    )


def _withdrawn(contact: Contact) -> bool:
    return ConsentRecord.objects.filter(contact=contact, status=ConsentStatus.WITHDRAWN).exists()


def _reveals(response: Any) -> list[str]:
    """Whatever of the person a page shows."""
    page = response.content.decode()
    return [value for value in (NAME, EMAIL, COMPANY, TOPIC_NAME, "kigen") if value in page]


# --- Within their time, links work as before ------------------------------------------------


def test_links_of_a_mail_work_until_the_last_day(client: Client, at_send: None) -> None:
    # given a mail sent 89 days ago
    contact = _person()
    unsubscribe, preferences = _links(_sent(contact))
    clock.advance(timedelta(days=89, hours=23))
    # then the preference centre opens with the person's topics, and one-click unsubscribes
    page = client.get(preferences)
    assert page.status_code == 200
    assert TOPIC_NAME in page.content.decode()
    assert client.get(unsubscribe).status_code == 200
    assert _one_click(Client(enforce_csrf_checks=True), unsubscribe).status_code == 200
    assert not may_send(contact_id=contact.pk, topic_key="newsletter")


def test_the_confirmation_page_links_to_a_preference_centre_of_the_same_age(
    client: Client, at_send: None
) -> None:
    # given a mail sent 80 days ago, whose unsubscribe page links to the preference centre
    unsubscribe, _preferences = _links(_sent(_person()))
    clock.advance(timedelta(days=80))
    page = client.get(unsubscribe).content.decode()
    (onward,) = [part.split('"')[0] for part in page.split('href="')[1:] if "/m/p/" in part]
    # when that page is opened after the mail's links expired
    clock.advance(timedelta(days=11))
    # then it has expired too: following links never makes a link younger
    assert client.get(onward).status_code == 410


# --- After their time ------------------------------------------------------------------------


def test_an_expired_preference_link_shows_nothing_of_the_person(
    client: Client, at_send: None
) -> None:
    # given a mail sent 91 days ago
    contact = _person()
    _unsubscribe, preferences = _links(_sent(contact))
    clock.advance(timedelta(days=91))
    # when its preference link is opened
    response = client.get(preferences)
    # then a page in Japanese says it expired and offers a new link, and names nobody
    assert response.status_code == 410
    page = response.content.decode()
    assert "このリンクは有効期限が切れています" in page
    assert "新しいリンクをメールで受け取る" in page
    assert 'name="resend" value="1"' in page
    assert _reveals(response) == []
    assert response["Cache-Control"].startswith("max-age=0")
    assert response["X-Robots-Tag"] == "noindex"


def test_an_expired_link_changes_no_topic(client: Client, at_send: None) -> None:
    # given an expired preference link and a topic the person did not choose
    contact = _person()
    topic_make("seminars")
    _unsubscribe, preferences = _links(_sent(contact))
    clock.advance(timedelta(days=91))
    # when someone posts a choice of topics with it
    response = client.post(preferences, {"topic": ["seminars"]})
    # then nothing is recorded and the expired page is all they get
    assert response.status_code == 410
    assert not may_send(contact_id=contact.pk, topic_key="seminars")
    assert may_send(contact_id=contact.pk, topic_key="newsletter")
    assert _reveals(response) == []


def test_an_expired_unsubscribe_link_shows_the_expired_page(client: Client, at_send: None) -> None:
    contact = _person()
    unsubscribe, _preferences = _links(_sent(contact))
    clock.advance(timedelta(days=91))
    response = client.get(unsubscribe)
    assert response.status_code == 410
    assert _reveals(response) == []
    assert not _withdrawn(contact)


def test_an_opt_out_through_an_expired_link_is_still_honoured(at_send: None) -> None:
    # given a mail whose links expired long ago
    contact = _person()
    unsubscribe, preferences = _links(_sent(contact))
    clock.advance(timedelta(days=400))
    # when the mailbox provider's one-click and the expired page's button are used
    one_click = _one_click(Client(enforce_csrf_checks=True), unsubscribe)
    from_page = Client().post(preferences, {"all": "1"})
    # then the person is unsubscribed: refusing would keep mailing someone who said stop
    assert one_click.status_code == 200
    assert from_page.status_code == 200
    assert _reveals(from_page) == []
    assert not may_send(contact_id=contact.pk, topic_key="newsletter")


# --- A fresh link by mail --------------------------------------------------------------------


def test_the_expired_page_mails_a_fresh_link_that_works(client: Client, at_send: None) -> None:
    # given an expired link of a person whose address changed since the mail
    contact = _person()
    _unsubscribe, preferences = _links(_sent(contact))
    Contact.objects.filter(pk=contact.pk).update(email="kigen.new@sample.example")
    clock.advance(timedelta(days=120))
    # when the visitor asks for a new link
    response = client.post(preferences, {"resend": "1"})
    # then the page says only that one is on its way
    assert response.status_code == 200
    assert "新しいリンクをお送りします" in response.content.decode()
    assert _reveals(response) == []
    # and a system mail with a fresh link goes to the person's address now
    mail = Message.objects.get(system_mail=SystemMail.PREFERENCES_LINK)
    assert mail.to_address == "kigen.new@sample.example"
    assert mail.contact_id == contact.pk
    assert mail.subject == "配信設定ページへのリンクのご案内"
    (fresh,) = [word for word in mail.body_text.split() if "/m/p/" in word]
    opened = client.get(_path(fresh))
    assert opened.status_code == 200
    assert TOPIC_NAME in opened.content.decode()
    # which is delivered like any system mail
    assert delivery.messages_deliver(message_ids=[mail.pk]).sent == 1


def test_a_fresh_link_is_mailed_at_most_once_an_hour(client: Client, at_send: None) -> None:
    contact = _person()
    unsubscribe, preferences = _links(_sent(contact))
    clock.advance(timedelta(days=120))
    for path in (preferences, unsubscribe, preferences):
        client.post(path, {"resend": "1"})
    clock.advance(timedelta(hours=1))
    client.post(preferences, {"resend": "1"})
    assert Message.objects.filter(system_mail=SystemMail.PREFERENCES_LINK).count() == 2


# --- Invalidating a contact's links ----------------------------------------------------------


def _signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_an_admin_invalidates_a_contacts_links_from_the_contact_page(
    admin_user: User, at_send: None
) -> None:
    # given two people with mail, and the first one's mail forwarded to others
    contact = _person()
    other = contact_make(family_name="別人", email="betsu@sample.example")
    unsubscribe, preferences = _links(_sent(contact))
    _other_unsubscribe, other_preferences = _links(_sent(other))
    admin = _signed_in(admin_user)
    page = admin.get(reverse("contacts:detail", args=[contact.pk])).content.decode()
    assert "リンクをすべて無効にする" in page
    clock.advance(timedelta(minutes=5))
    # when the admin invalidates the first person's links
    response = admin.post(reverse("messaging:contact_links_rotate", args=[contact.pk]))
    # then their mail's links show the expired page, and the other person's still work
    assert response.status_code == 302
    assert MailLinkRotation.objects.get(contact=contact).rotated_by == admin_user
    visitor = Client()
    assert visitor.get(preferences).status_code == 410
    assert visitor.get(unsubscribe).status_code == 410
    assert visitor.get(other_preferences).status_code == 200
    # and a mail sent afterwards carries links that work
    clock.advance(timedelta(minutes=1))
    _new_unsubscribe, new_preferences = _links(_sent(contact))
    assert visitor.get(new_preferences).status_code == 200


def test_invalidating_the_person_covers_mail_to_their_merged_duplicate(
    admin_user: User, at_send: None
) -> None:
    # given mail to an old record that was later merged into the person
    contact = _person()
    old = contact_make(family_name=NAME, email="kigen.old@sample.example")
    _unsubscribe, preferences = _links(_sent(old))
    contact_merge(winner=contact, loser=old)
    clock.advance(timedelta(minutes=5))
    # when the person's links are invalidated
    _signed_in(admin_user).post(reverse("messaging:contact_links_rotate", args=[contact.pk]))
    # then the old record's mail is covered too
    assert Client().get(preferences).status_code == 410


@pytest.mark.parametrize("role", ["marketer", "sales_rep"])
def test_only_admins_may_invalidate_links(role: str, request: Any) -> None:
    user = request.getfixturevalue(role)
    contact = _person()
    Contact.objects.filter(pk=contact.pk).update(owner=user)
    client = _signed_in(user)
    page = client.get(reverse("contacts:detail", args=[contact.pk])).content.decode()
    response = client.post(reverse("messaging:contact_links_rotate", args=[contact.pk]))
    assert 'data-testid="mail-links-rotate"' not in page
    assert response.status_code == 403
    assert not MailLinkRotation.objects.exists()


# --- Invalidating every link: the key version ------------------------------------------------


def test_a_new_link_key_version_invalidates_every_link(
    client: Client, settings: Any, at_send: None
) -> None:
    # given mail sent under version 1
    contact = _person()
    unsubscribe, preferences = _links(_sent(contact))
    # when the operator raises the version
    settings.MAIL_LINK_VERSION = 2
    # then the old links show the expired page (and still take an opt-out), new mail works
    assert client.get(preferences).status_code == 410
    assert client.get(unsubscribe).status_code == 410
    _new_unsubscribe, new_preferences = _links(_sent(contact))
    assert client.get(new_preferences).status_code == 200
    assert _one_click(Client(), unsubscribe).status_code == 200
    assert _withdrawn(contact)


def test_the_expiry_is_configurable(client: Client, settings: Any, at_send: None) -> None:
    settings.MAIL_LINK_MAX_AGE_DAYS = 7
    _unsubscribe, preferences = _links(_sent(_person()))
    clock.advance(timedelta(days=6))
    assert client.get(preferences).status_code == 200
    clock.advance(timedelta(days=2))
    response = client.get(preferences)
    assert response.status_code == 410
    assert "7日間" in response.content.decode()


# --- Links in mail sent before links carried a time ------------------------------------------


def _legacy(purpose: str, message_id: int) -> str:
    """A link as mails sent before this change carry it: the message id alone, signed."""
    signer = signing.Signer(salt=f"sokyaku.messaging.{purpose}")
    token = signer.sign(str(message_id)).replace(":", "-")
    return reverse(f"mail:{purpose}", args=[token])


def test_links_in_mail_sent_before_keep_working_within_the_expiry(at_send: None) -> None:
    # given a mail sent with links of the old form
    contact = _person()
    message = _sent(contact)
    clock.advance(timedelta(days=30))
    # then its preference centre opens and its one-click unsubscribes, counted from the send
    assert Client().get(_legacy(tokens.PREFERENCES, message.pk)).status_code == 200
    assert _one_click(Client(), _legacy(tokens.UNSUBSCRIBE, message.pk)).status_code == 200
    assert not may_send(contact_id=contact.pk, topic_key="newsletter")


def test_links_in_mail_sent_before_expire_like_the_others(at_send: None) -> None:
    message = _sent(_person())
    clock.advance(timedelta(days=91))
    response = Client().get(_legacy(tokens.PREFERENCES, message.pk))
    assert response.status_code == 410
    assert _reveals(response) == []


def test_a_changed_link_is_still_404(client: Client, at_send: None) -> None:
    message = _sent(_person())
    token = tokens.token_make(tokens.PREFERENCES, message.pk)
    head, _sep, signature = token.partition("-")
    forged = head.replace(f"{message.pk}.", f"{message.pk + 1}.", 1) + "-" + signature
    assert client.get(f"/m/p/{forged}/").status_code == 404
    assert client.post(f"/m/p/{forged}/", {"resend": "1"}).status_code == 404
    assert not Message.objects.filter(system_mail=SystemMail.PREFERENCES_LINK).exists()
    assert Message.objects.get(pk=message.pk).status == MessageStatus.SENT
