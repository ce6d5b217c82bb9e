"""Erasing a person from the deals app (a data-subject erasure, see ``privacy``).

Deals and orders stay with their amounts, stages, times and (anonymous) contact, so revenue,
win rates, repeat rates and the forecast keep counting them; what names the person goes: a
deal's name that holds them becomes ``Deal <id>``, its closing note is emptied, order ids and
lines keep only what does not name them. The person's referral code is deleted (its link leads
nowhere any more) and the referrals they made keep no code.
"""

from __future__ import annotations

from collections.abc import Sequence

from sokyaku.core.redaction import Redactor
from sokyaku.deals.models import Deal, DealLine, Order, Referral, ReferralCode


def deals_erase(*, contact_ids: Sequence[int], redactor: Redactor) -> dict[str, int]:
    """Erase the deals app's rows of these contacts (module docstring). Idempotent. Returns the
    changed rows per table."""
    counts: dict[str, int] = {}
    deals = list(Deal.objects.filter(contact_id__in=contact_ids).only("pk", "name", "close_note"))
    changed = []
    for deal in deals:
        name = f"Deal {deal.pk}" if redactor.hits(deal.name) else deal.name
        if (name, "") != (deal.name, deal.close_note):
            deal.name, deal.close_note = name, ""
            changed.append(deal)
    Deal.objects.bulk_update(changed, ["name", "close_note"], batch_size=500)
    counts["deals.Deal"] = len(changed)
    lines = [
        line
        for line in DealLine.objects.filter(deal_id__in=[d.pk for d in deals]).only("pk", "name")
        if redactor.hits(line.name)
    ]
    for line in lines:
        line.name = "-"
    DealLine.objects.bulk_update(lines, ["name"], batch_size=500)
    counts["deals.DealLine"] = len(lines)
    orders = []
    rows = Order.objects.filter(contact_id__in=contact_ids).only("pk", "external_id", "lines")
    for order in rows:
        external_id = order.external_id
        if redactor.hits(external_id):
            external_id = f"erased-{order.pk}"
        lines_json = redactor.json(order.lines or [])
        if (external_id, lines_json) != (order.external_id, order.lines):
            order.external_id, order.lines = external_id, lines_json
            orders.append(order)
    Order.objects.bulk_update(orders, ["external_id", "lines"], batch_size=500)
    counts["deals.Order"] = len(orders)
    codes = ReferralCode.objects.filter(contact_id__in=contact_ids)
    counts["deals.ReferralCode"] = codes.delete()[0]
    made = Referral.objects.filter(referrer_id__in=contact_ids).exclude(code="")
    counts["deals.Referral"] = made.update(code="")
    return {table: count for table, count in counts.items() if count}
