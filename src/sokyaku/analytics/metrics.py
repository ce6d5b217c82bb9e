"""The additive numbers analytics counts, each defined once on the raw tables.

Every metric here is a count (or a yen sum) of rows that belong to a contact, placed on a Tokyo
day by one of the row's timestamps and attributed to the contact's source: its first-touch
channel and the campaign of its first touch (0 when there is none). A period's figure is the
sum of its days, so the same definition serves two readers:

- ``raw_counts`` answers straight from the tables, for any period and any set of contacts (the
  owner, team and segment filters, which the rollups do not split by);
- ``analytics.rollups`` stores ``raw_counts`` of each day and keeps it current.

``metric_contacts`` lists the contacts behind a number from the same row builders (the
drill-down).

=====================  ===========================================================  ==========
metric                 rows counted                                                 day of
=====================  ===========================================================  ==========
leads                  contacts (not merged away)                                   creation
mqls, sqls,            contacts entering the stage for the first time               the entry
opportunities,
customers
leads_converted        contacts (by creation day) that have become customers        creation
handoffs               handoffs to sales                                            creation
handoffs_converted     handoffs whose contact has since reached opportunity         creation
                       (or got a deal from the handoff)
won, revenue           won deals and their amounts                                  closing
orders, order_revenue  orders and their amounts                                     order
sent, delivered,       marketing mails sent; not bounced; opened by a person;       sending
opened, clicked,       clicked by a person; clicked and followed by a goal action
converted, bounced,    within ``CONVERSION_WINDOW`` of sending; bounced;
unsubscribed           unsubscribed through it
=====================  ===========================================================  ==========

"First time" matters: a contact recycled to nurture and qualified again counts once as an MQL,
on the day it first became one (the "became an MQL" date of other tools).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any

from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet, Sum
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import TruncDate

from sokyaku.activity.models import Event, EventType
from sokyaku.campaigns.models import Campaign
from sokyaku.contacts.models import Contact
from sokyaku.core import clock
from sokyaku.deals.models import Deal, DealStatus, Order
from sokyaku.handoff.models import Handoff
from sokyaku.lifecycle.models import Stage, StageChange
from sokyaku.messaging.models import Message, MessageChannel, Stream


class Metric(StrEnum):
    LEADS = "leads"
    MQLS = "mqls"
    SQLS = "sqls"
    OPPORTUNITIES = "opportunities"
    CUSTOMERS = "customers"
    LEADS_CONVERTED = "leads_converted"
    HANDOFFS = "handoffs"
    HANDOFFS_CONVERTED = "handoffs_converted"
    WON = "won"
    REVENUE = "revenue"
    ORDERS = "orders"
    ORDER_REVENUE = "order_revenue"
    SENT = "sent"
    DELIVERED = "delivered"
    OPENED = "opened"
    CLICKED = "clicked"
    CONVERTED = "converted"
    BOUNCED = "bounced"
    UNSUBSCRIBED = "unsubscribed"


# The stage each stage metric counts entries into.
STAGE_METRICS: dict[Metric, str] = {
    Metric.MQLS: Stage.MQL,
    Metric.SQLS: Stage.SQL,
    Metric.OPPORTUNITIES: Stage.OPPORTUNITY,
    Metric.CUSTOMERS: Stage.CUSTOMER,
}
# Stages at or past "opportunity": reaching one converts a handoff.
OPPORTUNITY_OR_LATER = (Stage.OPPORTUNITY, Stage.CUSTOMER, Stage.ADVOCATE)

# What counts as a mail's goal action (a conversion), and how long after sending it may come.
GOAL_EVENT_TYPES = (
    EventType.FORM_SUBMITTED,
    EventType.DEMO_REQUESTED,
    EventType.TRIAL_STARTED,
    EventType.INQUIRY,
    EventType.QUOTE_REQUESTED,
    EventType.PURCHASE,
    EventType.WEBINAR_REGISTERED,
)
CONVERSION_WINDOW = timedelta(days=7)

# (day or None for the whole period, metric, channel id, campaign id); 0 means none.
Key = tuple[date | None, str, int, int]


def day_bounds(first: date, last: date) -> tuple[datetime, datetime]:
    """The instants [start, end) of Tokyo days ``first`` … ``last`` (inclusive)."""
    start = datetime.combine(first, datetime.min.time(), tzinfo=clock.TOKYO)
    end = datetime.combine(last + timedelta(days=1), datetime.min.time(), tzinfo=clock.TOKYO)
    return start, end


def tokyo_day(at: datetime) -> date:
    """The Tokyo calendar day of an aware instant."""
    return at.astimezone(clock.TOKYO).date()


def campaign_ids() -> dict[str, int]:
    """``utm_campaign`` → campaign id, for attributing a first touch to its campaign."""
    return dict(Campaign.objects.values_list("utm_campaign", "pk"))


def _grouped(
    rows: QuerySet[Any], *, prefix: str, day_field: str, by_day: bool, **aggregates: Any
) -> Iterable[dict[str, Any]]:
    keys: dict[str, Any] = {
        "ch": F(f"{prefix}first_touch_channel_id"),
        # (``KT("contact__first_touch__campaign")`` would not follow the relation.)
        "cp": KeyTextTransform("campaign", f"{prefix}first_touch"),
    }
    if by_day:
        keys["d"] = TruncDate(day_field, tzinfo=clock.TOKYO)
    return rows.values(**keys).annotate(**aggregates).order_by()


def _in_contacts(rows: QuerySet[Any], prefix: str, contacts: QuerySet[Contact] | None) -> Any:
    if contacts is None:
        return rows
    ids = contacts.values("pk")
    return rows.filter(pk__in=ids) if not prefix else rows.filter(contact__in=ids)


def _first_entry(stage: str) -> Exists:
    """True for a stage change that is not the contact's first entry into ``stage``."""
    earlier = StageChange.objects.filter(contact=OuterRef("contact"), to_stage=stage).filter(
        Q(changed_at__lt=OuterRef("changed_at"))
        | Q(changed_at=OuterRef("changed_at"), pk__lt=OuterRef("pk"))
    )
    return Exists(earlier)


# --- The rows each metric counts ---------------------------------------------------------------
# One builder per table; ``raw_counts`` groups them, ``metric_contacts`` (the drill-down) lists
# their contacts, so a list always holds the people a number counts.


def leads_in(start: datetime, end: datetime) -> QuerySet[Contact]:
    """Contacts created in [start, end), not merged away (``leads``)."""
    return Contact.objects.filter(
        merged_into__isnull=True, created_at__gte=start, created_at__lt=end
    )


def became_customer() -> Q:
    """On ``Contact`` rows: the contact has become a customer (``leads_converted``)."""
    return Q(Exists(StageChange.objects.filter(contact=OuterRef("pk"), to_stage=Stage.CUSTOMER)))


def stage_entries_in(stage: str, start: datetime, end: datetime) -> QuerySet[StageChange]:
    """Contacts' first entries into ``stage`` that fall in [start, end)."""
    return StageChange.objects.filter(
        to_stage=stage, changed_at__gte=start, changed_at__lt=end, contact__merged_into=None
    ).exclude(_first_entry(stage))


def handoffs_in(start: datetime, end: datetime) -> QuerySet[Handoff]:
    return Handoff.objects.filter(created_at__gte=start, created_at__lt=end)


def handoff_converted() -> Q:
    """On ``Handoff`` rows: the contact has reached opportunity since, or the handoff got a deal
    (``handoffs_converted``, the 商談化率's numerator)."""
    reached = StageChange.objects.filter(
        contact=OuterRef("contact"),
        to_stage__in=OPPORTUNITY_OR_LATER,
        changed_at__gte=OuterRef("created_at"),
    )
    return Q(Exists(reached)) | Q(Exists(Deal.objects.filter(handoff=OuterRef("pk"))))


def won_deals_in(start: datetime, end: datetime) -> QuerySet[Deal]:
    return Deal.objects.filter(
        status=DealStatus.WON, closed_at__gte=start, closed_at__lt=end, contact__isnull=False
    )


def orders_in(start: datetime, end: datetime) -> QuerySet[Order]:
    return Order.objects.filter(ordered_at__gte=start, ordered_at__lt=end)


def mails_in(start: datetime, end: datetime) -> QuerySet[Message]:
    """Marketing mails to a contact sent in [start, end)."""
    return Message.objects.filter(
        channel=MessageChannel.EMAIL,
        stream=Stream.MARKETING,
        sent_at__gte=start,
        sent_at__lt=end,
        contact__isnull=False,
    )


def mail_conditions() -> dict[Metric, Q]:
    """On ``Message`` rows, per mail metric: sent (all), delivered (not bounced), opened and
    clicked by a person, converted (clicked, then a goal action within ``CONVERSION_WINDOW`` of
    sending), bounced, unsubscribed."""
    goal = Event.objects.filter(
        contact=OuterRef("contact"),
        type__in=GOAL_EVENT_TYPES,
        occurred_at__gte=OuterRef("clicked_at"),
        occurred_at__lt=OuterRef("sent_at") + CONVERSION_WINDOW,
    )
    clicked = Q(clicked_at__isnull=False)
    return {
        Metric.SENT: Q(),
        Metric.DELIVERED: Q(bounced_at__isnull=True),
        Metric.OPENED: Q(opened_at__isnull=False),
        Metric.CLICKED: clicked,
        Metric.CONVERTED: clicked & Q(Exists(goal)),
        Metric.BOUNCED: Q(bounced_at__isnull=False),
        Metric.UNSUBSCRIBED: Q(unsubscribed_at__isnull=False),
    }


def mail_aggregates() -> dict[str, Any]:
    """The mail counts of a ``Message`` query for ``annotate``/``aggregate``, named by metric."""
    return {
        metric.value: Count("pk", filter=condition) if condition else Count("pk")
        for metric, condition in mail_conditions().items()
    }


def metric_contacts(metric: Metric, start: datetime, end: datetime) -> QuerySet[Any]:
    """Ids (one column) of the contacts whose rows ``metric`` counts in [start, end)."""
    if metric in (Metric.LEADS, Metric.LEADS_CONVERTED):
        rows = leads_in(start, end)
        if metric == Metric.LEADS_CONVERTED:
            rows = rows.filter(became_customer())
        return rows.values("pk")
    if metric in STAGE_METRICS:
        return stage_entries_in(STAGE_METRICS[metric], start, end).values("contact_id")
    if metric in (Metric.HANDOFFS, Metric.HANDOFFS_CONVERTED):
        handoffs = handoffs_in(start, end)
        if metric == Metric.HANDOFFS_CONVERTED:
            handoffs = handoffs.filter(handoff_converted())
        return handoffs.values("contact_id")
    if metric in (Metric.WON, Metric.REVENUE):
        return won_deals_in(start, end).values("contact_id")
    if metric in (Metric.ORDERS, Metric.ORDER_REVENUE):
        return orders_in(start, end).values("contact_id")
    return mails_in(start, end).filter(mail_conditions()[metric]).values("contact_id")


def raw_counts(
    start: datetime,
    end: datetime,
    *,
    contacts: QuerySet[Contact] | None = None,
    by_day: bool = False,
    metrics: Iterable[Metric] | None = None,
) -> Counter[Key]:
    """Every metric (or those asked for) for the instants [start, end), from the raw tables.

    ``contacts`` narrows to rows of those contacts; ``by_day`` splits by Tokyo day (else the key's
    day is ``None``). Zero counts are left out.
    """
    wanted = set(metrics) if metrics is not None else set(Metric)
    campaigns = campaign_ids()
    out: Counter[Key] = Counter()

    def add(rows: Iterable[dict[str, Any]], **names: Metric) -> None:
        for row in rows:
            channel = row["ch"] or 0
            campaign = campaigns.get(row["cp"] or "", 0)
            day = row.get("d") if by_day else None
            for field, metric in names.items():
                value = row[field] or 0
                if value and metric in wanted:
                    out[(day, metric.value, channel, campaign)] += value

    if Metric.LEADS in wanted or Metric.LEADS_CONVERTED in wanted:
        add(
            _grouped(
                _in_contacts(leads_in(start, end), "", contacts),
                prefix="",
                day_field="created_at",
                by_day=by_day,
                n=Count("pk"),
                c=Count("pk", filter=became_customer()),
            ),
            n=Metric.LEADS,
            c=Metric.LEADS_CONVERTED,
        )

    for metric, stage in STAGE_METRICS.items():
        if metric not in wanted:
            continue
        add(
            _grouped(
                _in_contacts(stage_entries_in(stage, start, end), "contact__", contacts),
                prefix="contact__",
                day_field="changed_at",
                by_day=by_day,
                n=Count("pk"),
            ),
            n=metric,
        )

    if Metric.HANDOFFS in wanted or Metric.HANDOFFS_CONVERTED in wanted:
        add(
            _grouped(
                _in_contacts(handoffs_in(start, end), "contact__", contacts),
                prefix="contact__",
                day_field="created_at",
                by_day=by_day,
                n=Count("pk"),
                c=Count("pk", filter=handoff_converted()),
            ),
            n=Metric.HANDOFFS,
            c=Metric.HANDOFFS_CONVERTED,
        )

    if Metric.WON in wanted or Metric.REVENUE in wanted:
        add(
            _grouped(
                _in_contacts(won_deals_in(start, end), "contact__", contacts),
                prefix="contact__",
                day_field="closed_at",
                by_day=by_day,
                n=Count("pk"),
                s=Sum("amount"),
            ),
            n=Metric.WON,
            s=Metric.REVENUE,
        )

    if Metric.ORDERS in wanted or Metric.ORDER_REVENUE in wanted:
        add(
            _grouped(
                _in_contacts(orders_in(start, end), "contact__", contacts),
                prefix="contact__",
                day_field="ordered_at",
                by_day=by_day,
                n=Count("pk"),
                s=Sum("amount"),
            ),
            n=Metric.ORDERS,
            s=Metric.ORDER_REVENUE,
        )

    mail_metrics = mail_conditions()
    if wanted & set(mail_metrics):
        add(
            _grouped(
                _in_contacts(mails_in(start, end), "contact__", contacts),
                prefix="contact__",
                day_field="sent_at",
                by_day=by_day,
                **mail_aggregates(),
            ),
            **{metric.value: metric for metric in mail_metrics},
        )
    return out
