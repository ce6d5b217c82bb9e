"""``/metrics`` as Prometheus scrapes it: behind a bearer token, in the text format, with every
family read from the tables at scrape time (values move as rows change)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.test import Client
from prometheus_client.parser import text_string_to_metric_families

from sokyaku.activity.models import Event
from sokyaku.core import clock
from sokyaku.core.services import worker_heartbeat
from sokyaku.handoff import services as handoff_services
from sokyaku.handoff.models import Handoff, RuleKind, SlaState
from sokyaku.messaging.services import delivery, pausing
from tests.handoff.factories import (
    act,
    lead_make,
    rep_make,
    team_make,
    transactional_sender,
    trigger_make,
)
from tests.messaging.engine_factories import message_make

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 6, 1, 1, 0, tzinfo=UTC)
TOKEN = "scrape-token-for-tests-0123456789"
FAMILIES = {
    "sokyaku_outbox_messages",
    "sokyaku_queue_depth",
    "sokyaku_tick_lag_seconds",
    "sokyaku_oldest_due_seconds",
    "sokyaku_speed_to_lead_seconds",
    "sokyaku_handoffs",
    "sokyaku_events_stored",
    "sokyaku_marketing_paused",
    "sokyaku_sender_profiles_paused",
}


@pytest.fixture(autouse=True)
def _setup(settings: Any) -> Iterator[None]:
    settings.METRICS_TOKEN = TOKEN
    with clock.frozen(NOW):
        yield


def scrape(client: Client) -> dict[str, dict[tuple[str, tuple[tuple[str, str], ...]], float]]:
    """Family name → {(sample name, labels): value}, parsed by prometheus_client's own parser."""
    response = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=")
    return {
        family.name: {
            (sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for sample in family.samples
        }
        for family in text_string_to_metric_families(response.content.decode())
    }


def test_every_family_is_there(client: Client) -> None:
    assert set(scrape(client)) == FAMILIES


def test_without_the_token_nothing_is_shown(client: Client) -> None:
    assert client.get("/metrics").status_code == 401
    wrong = client.get("/metrics", headers={"Authorization": "Bearer not-the-token"})
    assert wrong.status_code == 401
    assert wrong["WWW-Authenticate"].startswith("Bearer")


def test_without_a_configured_token_there_are_no_metrics(client: Client, settings: Any) -> None:
    settings.METRICS_TOKEN = ""
    response = client.get("/metrics", headers={"Authorization": "Bearer anything"})
    assert response.status_code == 404


def test_outbox_pause_events_and_tick_lag_move_with_the_rows(client: Client) -> None:
    # given an empty installation whose worker beat a minute and a half ago
    worker_heartbeat()
    before = scrape(client)

    # when two newsletters are queued (their contacts' events stored) and sending is paused
    message_make()
    message_make()
    pausing.marketing_sending_pause(actor=None)
    with clock.frozen(NOW + timedelta(seconds=90)):
        after = scrape(client)

    queued = ("sokyaku_outbox_messages", (("status", "queued"),))
    assert before["sokyaku_outbox_messages"][queued] == 0
    assert after["sokyaku_outbox_messages"][queued] == 2
    assert after["sokyaku_marketing_paused"][("sokyaku_marketing_paused", ())] == 1
    assert after["sokyaku_tick_lag_seconds"][("sokyaku_tick_lag_seconds", ())] == 90
    stored = ("sokyaku_events_stored_total", ())
    grown = after["sokyaku_events_stored"][stored] - before["sokyaku_events_stored"][stored]
    assert grown >= Event.objects.count() > 0


def test_speed_to_lead_and_sla_counts_come_from_the_handoffs(
    client: Client, smtp_server: Any
) -> None:
    # given a demo request handed to a rep at NOW, whose alert the server accepts 3 s later
    transactional_sender()
    rep = rep_make(email="tanaka@sales.example")
    handoff_services.routing_rule_save(
        rule=None,
        data={"name": "営業部", "kind": RuleKind.ROUND_ROBIN, "team": team_make(rep)},
        actor=None,
    )
    trigger = trigger_make()
    lead = lead_make(email="yamada@customer.example")
    event = act(lead, "demo_requested")
    handoff = handoff_services.handoff_create(contact=lead, trigger=trigger, event=event)
    assert scrape(client)["sokyaku_speed_to_lead_seconds"] == {}
    with clock.frozen(NOW + timedelta(seconds=3)):
        delivery.outbox_tick()
    smtp_server.wait_for(1)

    # when scraped, then the histogram holds one alert mail within 5 s and not within 2 s
    speed = scrape(client)["sokyaku_speed_to_lead_seconds"]
    email = (("channel", "email"),)

    def bucket(le: str) -> float:
        return speed[("sokyaku_speed_to_lead_seconds_bucket", (("channel", "email"), ("le", le)))]

    assert (bucket("2.0"), bucket("5.0"), bucket("+Inf")) == (0, 1, 1)
    assert speed[("sokyaku_speed_to_lead_seconds_count", email)] == 1
    assert speed[("sokyaku_speed_to_lead_seconds_sum", email)] == 3

    # and the SLA counts follow the handoff's state
    sla = scrape(client)["sokyaku_handoffs"]
    assert sla[("sokyaku_handoffs", (("sla_state", "pending"),))] == 1
    Handoff.objects.filter(pk=handoff.pk).update(sla_state=SlaState.BREACHED)
    sla = scrape(client)["sokyaku_handoffs"]
    assert sla[("sokyaku_handoffs", (("sla_state", "pending"),))] == 0
    assert sla[("sokyaku_handoffs", (("sla_state", "breached"),))] == 1
