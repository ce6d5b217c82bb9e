"""First and latest touch of a contact and the channels they map to."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from sokyaku.contacts import touches
from sokyaku.contacts.models import Contact
from sokyaku.core import clock
from sokyaku.core.errors import ValidationError
from tests.campaigns.factories import channel, contact

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 4, 1, 10, 0, tzinfo=clock.TOKYO)
GOOGLE_ADS = {"source": "google", "medium": "cpc", "campaign": "search_brand"}
FACEBOOK = {"source": "facebook", "medium": "paid_social", "url": "https://ex.co.jp/lp"}


def _reload(pk: int) -> Contact:
    return Contact.objects.select_related("first_touch_channel", "latest_touch_channel").get(pk=pk)


def test_first_touch_is_kept_and_latest_touch_follows() -> None:
    # given a lead who came through a Google ad
    person = contact("a@ex.jp", at=T0)
    touches.contact_touch_record(contact_id=person.pk, touch=GOOGLE_ADS, at=T0)
    # when they come back a week later through a Facebook ad
    touches.contact_touch_record(contact_id=person.pk, touch=FACEBOOK, at=T0 + timedelta(days=7))
    # then the first touch (and channel) stays, the latest touch (and channel) is the new one
    person = _reload(person.pk)
    assert person.first_touch["source"] == "google"
    assert person.first_touch_channel and person.first_touch_channel.key == "paid-search"
    assert person.latest_touch["source"] == "facebook"
    assert person.latest_touch_channel and person.latest_touch_channel.key == "paid-social"


def test_an_older_touch_arriving_late_does_not_replace_the_latest() -> None:
    person = contact("b@ex.jp", at=T0)
    touches.contact_touch_record(contact_id=person.pk, touch=FACEBOOK, at=T0 + timedelta(days=7))
    # when a touch from before arrives afterwards (anonymous views stitched to the contact)
    touches.contact_touch_record(contact_id=person.pk, touch=GOOGLE_ADS, at=T0)
    # then it is the first touch, and the latest stays
    person = _reload(person.pk)
    assert (person.first_touch["source"], person.latest_touch["source"]) == ("google", "facebook")
    assert person.first_touch_channel and person.first_touch_channel.key == "paid-search"
    assert person.latest_touch_channel and person.latest_touch_channel.key == "paid-social"


def test_a_first_touch_channel_set_by_an_import_is_kept() -> None:
    # given a business card from a trade show, imported with its channel
    person = contact("c@ex.jp", at=T0)
    Contact.objects.filter(pk=person.pk).update(first_touch_channel=channel("trade-show"))
    # when the person later arrives through a Google ad
    touches.contact_touch_record(contact_id=person.pk, touch=GOOGLE_ADS, at=T0 + timedelta(1))
    # then the first-touch channel stays the trade show
    person = _reload(person.pk)
    assert person.first_touch_channel and person.first_touch_channel.key == "trade-show"
    assert person.latest_touch_channel and person.latest_touch_channel.key == "paid-search"


def test_utm_names_are_read_and_other_keys_ignored() -> None:
    person = contact("d@ex.jp", at=T0)
    touch = {"utm_source": "newsletter", "utm_medium": "email", "password": "x"}
    touches.contact_touch_record(contact_id=person.pk, touch=touch, at=T0)
    person = _reload(person.pk)
    assert set(person.first_touch) == {"source", "medium", "at"}
    assert person.first_touch_channel and person.first_touch_channel.key == "email"


def test_an_empty_touch_or_unknown_contact_changes_nothing() -> None:
    person = contact("e@ex.jp", at=T0)
    touches.contact_touch_record(contact_id=person.pk, touch={"other": "x"}, at=T0)
    touches.contact_touch_record(contact_id=person.pk + 999, touch=GOOGLE_ADS, at=T0)
    person = _reload(person.pk)
    assert (person.first_touch, person.first_touch_channel) == ({}, None)


def test_a_time_without_zone_is_refused() -> None:
    person = contact("f@ex.jp", at=T0)
    with pytest.raises(ValidationError):
        touches.contact_touch_record(
            contact_id=person.pk, touch=GOOGLE_ADS, at=datetime(2026, 4, 1, 10, 0)
        )
