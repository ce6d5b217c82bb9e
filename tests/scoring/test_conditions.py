"""A scoring rule's conditions mean what they mean everywhere (``core.conditions``): "amount = 5"
and "amount = '5'" score the same events, incrementally and in a recompute."""

from __future__ import annotations

from datetime import timedelta

import pytest

from sokyaku.core import clock
from sokyaku.scoring.models import ScoreEntry
from sokyaku.scoring.selectors import score_get
from sokyaku.scoring.services import recompute_execute, recompute_start, ruleset_publish
from tests.scoring.factories import START, event, make_contact

pytestmark = pytest.mark.django_db


def _definition(value: object) -> dict:
    return {
        "half_life_days": 30,
        "warm_at": 20,
        "hot_at": 50,
        "rules": [
            {
                "kind": "behaviour",
                "name": "5点のカート放棄",
                "event_type": "cart_abandoned",
                "conditions": [{"field": "amount", "op": "eq", "value": value}],
                "points": 10,
            }
        ],
    }


def _entries() -> list[tuple[int, int]]:
    return sorted(ScoreEntry.objects.values_list("contact_id", "points"))


@pytest.mark.parametrize("rule_value", [5, "5"])
def test_amount_5_and_amount_text_5_score_the_same_events(rule_value: object) -> None:
    with clock.frozen(START):
        ruleset = ruleset_publish(definition=_definition(rule_value))
        number, text, wide, other = (make_contact(n) for n in range(1, 5))
        # when carts carry the amount as a number, as text, in full width, or another amount
        event(number, "cart_abandoned", START, amount=5)
        event(text, "cart_abandoned", START, amount="5")
        event(wide, "cart_abandoned", START, amount="５")
        event(other, "cart_abandoned", START, amount=50)
        # then the first three score, whichever way the rule wrote 5
        scored = [
            c.pk for c in (number, text, wide, other) if score_get(contact_id=c.pk).engagement
        ]
        incremental = _entries()
    assert scored == [number.pk, text.pk, wide.pk]
    # and a recompute (the rule compiled to SQL) reaches the same ledger
    with clock.frozen(START + timedelta(minutes=1)):
        recompute_execute(run_id=recompute_start(ruleset=ruleset).pk)
    assert _entries() == incremental
