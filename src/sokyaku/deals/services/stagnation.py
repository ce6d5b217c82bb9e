"""Stagnation alerts: a deal sitting in an open stage longer than the stage's
``stagnation_days`` gets its owner one notification mail per stage entry — an internal notice
(``messaging.services.notices``): to the owner, never to the deal's contact.

The tick runs periodically (``tasks.deals_stagnation_task``); it is safe to run on many workers
at once and twice in a row: each deal is claimed under a row lock (skipping rows another
worker holds), ``stagnation_alerted_at`` marks it done, and the mail's dedupe key names the deal
and the moment it entered the stage. Moving the deal restarts the clock (``deal_move`` clears
``stagnation_alerted_at``), so it can alert again in its next stage.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _

from sokyaku.core import clock
from sokyaku.deals.models import Deal, DealStage, DealStatus, StageKind
from sokyaku.messaging.services.notices import Notice, StaffMail, notice_enqueue

logger = logging.getLogger(__name__)

BATCH = 500


def deal_url(deal: Deal) -> str:
    """The deal's page, absolute (the pipeline board when there is no deal page)."""
    for name, args in (("deals:detail", [deal.pk]), ("deals:board", [])):
        try:
            return settings.SITE_URL + reverse(name, args=args)
        except NoReverseMatch:
            continue
    return ""


def _notice(deal: Deal, days: int) -> Notice:
    stage = deal.stage
    amount = f"¥{deal.amount:,}" if deal.amount is not None else _("no amount")
    where = deal.company.name if deal.company_id and deal.company else ""
    subject = _("[Stalled deal] %(deal)s: %(days)d days in %(stage)s") % {
        "deal": deal.name,
        "days": days,
        "stage": stage.name,
    }
    text = _(
        "The deal %(deal)s (%(amount)s) has been in the stage %(stage)s for %(days)d days, "
        "longer than the %(limit)d days set for it. Decide the next step or move it on the "
        "board."
    ) % {
        "deal": f"{deal.name}" + (f" / {where}" if where else ""),
        "amount": amount,
        "stage": stage.name,
        "days": days,
        "limit": stage.stagnation_days or 0,
    }
    url = deal_url(deal)
    return Notice(subject=subject, text=f"{text}\n{url}" if url else text, url=url)


def _alert(deal_id: int, stage: DealStage) -> bool:
    """Claim one deal and queue its owner's alert; ``False`` when another worker has it, it
    moved on meanwhile, or its owner has no email address."""
    now = clock.now()
    with transaction.atomic():
        rows = Deal.objects.filter(
            pk=deal_id,
            stage_id=stage.pk,
            status=DealStatus.OPEN,
            stagnation_alerted_at__isnull=True,
        ).select_related("contact", "company", "owner")
        if connection.features.has_select_for_update_skip_locked:
            rows = rows.select_for_update(skip_locked=True, of=("self",))
        deal = rows.first()
        if deal is None or deal.owner is None or not deal.owner.email or not deal.owner.is_active:
            return False
        deal.stage = stage
        days = (now - deal.stage_entered_at).days
        # An internal notice: to the owner only, never to the deal's contact.
        notice_enqueue(
            dedupe_key=f"deal-stagnation:{deal.pk}:{deal.stage_entered_at.isoformat()}",
            recipient=StaffMail(user=deal.owner),
            notice=_notice(deal, days),
            about=deal.contact,
            context={"deal": deal.pk},
        )
        deal.stagnation_alerted_at = now
        deal.save(update_fields=["stagnation_alerted_at"])
    logger.info("deals.stagnation_alerted", extra={"deal": deal.pk, "stage": stage.pk})
    return True


def stagnation_tick() -> int:
    """Alert the owners of open deals that sat in their stage longer than its
    ``stagnation_days`` and were not alerted for this stay yet: a transactional notification
    mail to the owner, then ``stagnation_alerted_at``. Deals without an active owner with an
    email address are left for when they have one. Returns how many alerts were queued."""
    now = clock.now()
    sent = 0
    stages = DealStage.objects.filter(kind=StageKind.OPEN, stagnation_days__isnull=False)
    for stage in stages.exclude(stagnation_days=0):
        cutoff = now - timedelta(days=stage.stagnation_days or 0)
        due = Deal.objects.filter(
            stage=stage,
            status=DealStatus.OPEN,
            stagnation_alerted_at__isnull=True,
            stage_entered_at__lte=cutoff,
            owner__is_active=True,
        ).exclude(owner__email="")
        last_id = 0
        while True:
            ids = list(
                due.filter(pk__gt=last_id).order_by("pk").values_list("pk", flat=True)[:BATCH]
            )
            if not ids:
                break
            sent += sum(_alert(deal_id, stage) for deal_id in ids)
            last_id = ids[-1]
    if sent:
        logger.info("deals.stagnation_tick", extra={"alerts": sent})
    return sent
