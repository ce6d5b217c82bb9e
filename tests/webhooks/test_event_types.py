"""Every event type reaches a subscriber from the service where it happens: contacts created,
updated and merged, consent given and withdrawn, forms, lifecycle stages, score bands,
handoffs made, accepted and rejected, deals created, moved, won and lost, orders — through the
switchboard — and the privacy app's ``erasure.done`` through ``publish``."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from sokyaku.activity import events as event_factories
from sokyaku.activity import services as activity_services
from sokyaku.activity.models import EventSource
from sokyaku.consent.models import ConsentStatus, LegalBasis
from sokyaku.consent.services import Evidence, consent_record
from sokyaku.contacts import services as contact_services
from sokyaku.core import clock
from sokyaku.deals import services as deal_services
from sokyaku.deals.models import LostReason
from sokyaku.deals.services.orders import order_record
from sokyaku.handoff import services as handoff_services
from sokyaku.handoff.models import Handoff
from sokyaku.webhooks import catalogue
from sokyaku.webhooks.services import publish
from tests.deals.factories import contact_make, deal_make, stage
from tests.sequences.factories import topic_make
from tests.webhooks.conftest import band_changed, subscribe

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 6, 1, 1, 0, tzinfo=UTC)


def test_every_event_type_reaches_the_subscriber_from_where_it_happens(
    receiver, django_capture_on_commit_callbacks
):  # type: ignore[no-untyped-def]
    run = django_capture_on_commit_callbacks
    with clock.frozen(T0):
        # given a subscriber to every type, and the default handoff triggers
        subscribe(receiver, *catalogue.KEYS)
        handoff_services.trigger_presets_install()
        # when the services do their work
        with run(execute=True):
            lead = contact_make(family_name="山田", email="yamada@customer.example")
        with run(execute=True):
            contact_services.contact_update(
                contact=lead,
                data=contact_services.ContactInput(
                    family_name="山田", given_name="太郎", email=lead.email, title="部長"
                ),
            )
        with run(execute=True):
            duplicate = contact_make(family_name="山田", email="t.yamada@customer.example")
        with run(execute=True):
            contact_services.contact_merge(winner=lead, loser=duplicate)
        with run(execute=True):
            consent_record(
                contact_id=lead.pk,
                topic=topic_make(),
                status=ConsentStatus.GRANTED,
                legal_basis=LegalBasis.OPT_IN,
                evidence=Evidence(source="form", source_detail="test"),
            )
        with run(execute=True):
            consent_record(
                contact_id=lead.pk,
                topic=None,
                status=ConsentStatus.WITHDRAWN,
                evidence=Evidence(source="api", source_detail="test"),
            )
        with run(execute=True):
            activity_services.event_ingest(
                event=event_factories.form_submitted(
                    occurred_at=clock.now(), form="demo", contact_id=lead.pk
                )
            )
        with run(execute=True):
            band_changed(lead.pk, "hot", score=72)
        with run(execute=True):
            activity_services.event_ingest(
                event=event_factories.event_build(
                    type="demo_requested",
                    occurred_at=clock.now(),
                    source=EventSource.API,
                    contact_id=lead.pk,
                )
            )
        with run(execute=True):
            handoff_services.handoff_accept(handoff=Handoff.objects.get(), actor=None)
        with run(execute=True):
            other = contact_make(family_name="佐藤", email="sato@customer.example")
        with run(execute=True):
            activity_services.event_ingest(
                event=event_factories.event_build(
                    type="inquiry",
                    occurred_at=clock.now(),
                    source=EventSource.API,
                    contact_id=other.pk,
                )
            )
        with run(execute=True):
            handoff_services.handoff_reject(
                handoff=Handoff.objects.get(contact=other), actor=None, reason="no_budget"
            )
        with run(execute=True):
            deal = deal_make(contact=lead)
        with run(execute=True):
            deal = deal_services.deal_move(
                deal=deal, stage=stage("提案"), version=deal.version, actor=None
            )
        with run(execute=True):
            deal_services.deal_win(deal=deal, actor=None)
        with run(execute=True):
            lost = deal_make(contact=other)
            deal_services.deal_lose(deal=lost, actor=None, reason=LostReason.PRICE)
        with run(execute=True):
            order_record(
                contact=lead,
                external_id="SHOP-1001",
                ordered_at=clock.now() - timedelta(minutes=1),
                amount=12_800,
            )
        with run(execute=True):
            publish(
                "erasure.done",
                {"request": 1, "subject": "hash:3f2a"},
                ordering_key=f"contact:{lead.pk}",
            )
    # then the receiver got every type
    bodies = [json.loads(r.body) for r in receiver.requests]
    received = Counter(body["type"] for body in bodies)
    assert set(received) == set(catalogue.KEYS)
    # and each message about a contact names it, with the event's own facts
    by_type = {body["type"]: body["data"] for body in reversed(bodies)}
    assert by_type["deal.won"]["contact"]["email"] == "yamada@customer.example"
    assert by_type["deal.won"]["deal"] == deal.pk
    assert by_type["order.created"]["external_id"] == "SHOP-1001"
    assert by_type["order.created"]["amount_jpy"] == 12_800
    assert by_type["handoff.rejected"]["reason"] == "no_budget"
    assert by_type["contact.merged"]["loser_id"] == duplicate.pk
    assert by_type["consent.withdrawn"]["topic"]
    assert by_type["erasure.done"] == {"request": 1, "subject": "hash:3f2a"}
