"""The shown score and the shown band come from the same number, on every page and in the API:
19.99 points are shown as 19 and cold, never as "20 (cold)"."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from sokyaku.core import clock
from sokyaku.scoring.selectors import score_breakdown, score_get, scores_for
from sokyaku.scoring.services import PRESET, ruleset_publish
from tests.scoring.factories import START, event, make_contact

pytestmark = pytest.mark.django_db

# 10 download points one hour old are worth 9.99: with 部長's fit 10 the total is 19.99.
JUST_BELOW = START + timedelta(hours=1)


@pytest.fixture
def almost_warm():
    with clock.frozen(START):
        ruleset_publish(definition=PRESET)
        contact = make_contact(1, title="部長")
        event(contact, "asset_downloaded", START, asset="wp")
    return contact


def test_a_score_just_below_the_warm_edge_is_shown_and_banded_as_19_cold(almost_warm):
    view = score_get(contact_id=almost_warm.pk, at=JUST_BELOW)
    assert 19.99 < view.total < 20
    assert (view.points, view.temperature) == (19, "cold")
    assert score_breakdown(contact_id=almost_warm.pk, at=JUST_BELOW).score == view
    assert scores_for(contact_ids=[almost_warm.pk], at=JUST_BELOW)[almost_warm.pk] == view


def test_exactly_on_the_edge_is_shown_as_20_warm(almost_warm):
    view = score_get(contact_id=almost_warm.pk, at=START)
    assert (view.points, view.temperature) == (20, "warm")


def test_the_contact_list_shows_the_number_its_band_belongs_to(almost_warm, logged_in):
    with clock.frozen(JUST_BELOW):
        page = logged_in.get("/contacts/").content.decode()
    cell = re.search(r'<span class="temp temp--(\w+)" title="([^"]*)">(\d+)</span>', page)
    assert cell is not None
    assert (cell.group(1), cell.group(3)) == ("cold", "19")
    assert cell.group(2) not in ("cold", "")  # a label, not the raw band key


def test_the_contact_page_panel_shows_the_same_number(almost_warm, logged_in):
    with clock.frozen(JUST_BELOW):
        page = logged_in.get(f"/contacts/{almost_warm.pk}/").content.decode()
    total = re.search(r'score-panel__total">([^<]+)<', page)
    assert total is not None and total.group(1) == "19"
    assert "badge--cold" in page


def test_the_api_gives_the_shown_points_and_their_band(almost_warm, api):
    with clock.frozen(JUST_BELOW):
        body = api.get(f"/api/v1/contacts/{almost_warm.pk}").json()
    assert (body["score"]["points"], body["score"]["temperature"]) == (19, "cold")
    assert 19.99 < body["score"]["total"] < 20
