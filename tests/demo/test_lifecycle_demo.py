"""lifecycle_demo_setup: realistic, deterministic stages and history over the demo data."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

import pytest
from django.db.models import Avg, Count, Q

from sokyaku.activity.models import Event, EventType
from sokyaku.contacts.models import Contact
from sokyaku.core import clock
from sokyaku.demo.generator import demo_load
from sokyaku.lifecycle.models import BantRecord, ContactStage, Stage, StageChange
from sokyaku.scoring.predictive import features as F
from sokyaku.scoring.predictive.features import Outcome

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 4, 15, 9, 30, tzinfo=clock.TOKYO)
LATER = {Stage.MQL, Stage.SQL, Stage.OPPORTUNITY, Stage.CUSTOMER, Stage.ADVOCATE}


def _stages() -> dict[str, int]:
    return dict(ContactStage.objects.values_list("stage").annotate(n=Count("contact_id")))


def test_the_demo_has_a_realistic_funnel_with_history() -> None:
    # when the default-size demo is loaded (its last steps include lifecycle_demo_setup)
    with clock.frozen(NOW):
        demo_load(contacts=2000, seed=42, now=NOW)
    # then every contact has a stage, and outcomes have the aimed-at shares and sizes
    stages = _stages()
    assert sum(stages.values()) == Contact.objects.filter(merged_into__isnull=True).count()
    qualified = sum(n for s, n in stages.items() if s in LATER | {"disqualified", "recycled"})
    customers = stages.get("customer", 0) + stages.get("advocate", 0)
    assert customers >= 60
    assert stages["disqualified"] >= 60
    assert 0.06 <= customers / qualified <= 0.10
    assert 0.08 <= stages["disqualified"] / qualified <= 0.12
    assert stages["recycled"] > 0
    # the history is spread over the past months, by the demo reps, never in the future
    changes = StageChange.objects.exclude(from_stage="")
    assert not changes.filter(changed_at__gt=NOW).exists()
    months = {d.month for d in changes.values_list("changed_at", flat=True)}
    assert len(months) >= 4
    assert changes.filter(to_stage="customer", actor__groups__name="sales_rep").count() >= 60
    assert not changes.filter(to_stage="disqualified", reason="").exists()
    # customers reached SQL through a BANT entry
    won = BantRecord.objects.filter(contact__lifecycle__stage__in=["customer", "advocate"])
    assert won.count() >= 60


def test_customers_behaved_and_fit_better_than_the_disqualified() -> None:
    with clock.frozen(NOW):
        demo_load(contacts=600, seed=3, now=NOW)  # runs lifecycle_demo_setup
    intents = Count("events", filter=Q(events__type__in=[EventType.DEMO_REQUESTED,
        EventType.INQUIRY, EventType.WEBINAR_ATTENDED, EventType.ASSET_DOWNLOADED]))  # fmt: skip

    def averages(stage: str) -> tuple[float, float]:
        row = (
            Contact.objects.filter(lifecycle__stage=stage)
            .annotate(n=intents)
            .aggregate(intents=Avg("n"), level=Avg("title_level"))
        )
        return row["intents"], row["level"]

    won, lost = averages("customer"), averages("disqualified")
    assert won[0] > lost[0]
    assert won[1] > lost[1]


def test_outcomes_come_after_the_behaviour_that_decided_them() -> None:
    # when a demo is loaded (lifecycle_demo_setup ranks people by intent events and purchases)
    with clock.frozen(NOW):
        demo_load(contacts=600, seed=3, now=NOW)

    # then no won or lost contact did any of that after its outcome, as predictive scoring dates
    # it (which only counts events before the outcome, so it would not see what decided it)
    closed = [r for r in F.contact_outcome_rows(now=NOW) if F.outcome_of(r) != Outcome.OPEN]
    cutoff = {row["id"]: row["cutoff"] for row in closed}
    assert len(cutoff) >= 40
    signals = [EventType.DEMO_REQUESTED, EventType.INQUIRY, EventType.TRIAL_STARTED,
        EventType.QUOTE_REQUESTED, EventType.WEBINAR_ATTENDED, EventType.ASSET_DOWNLOADED,
        EventType.EVENT_VISITED, EventType.PURCHASE]  # fmt: skip
    events = Event.objects.filter(contact_id__in=cutoff, type__in=signals)
    late = [(c, at) for c, at in events.values_list("contact_id", "occurred_at") if at >= cutoff[c]]
    assert late == []
    # and each of their histories moves forward in time, move after move
    history: dict[int, list[datetime]] = defaultdict(list)
    changes = StageChange.objects.filter(contact_id__in=cutoff).order_by("id")
    for contact_id, changed_at in changes.values_list("contact_id", "changed_at"):
        history[contact_id].append(changed_at)
    assert [c for c, times in history.items() if times != sorted(times)] == []
