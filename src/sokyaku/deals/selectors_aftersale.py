"""Reads of after the sale (増客): a contact's orders and referrals, the referral link, and the
repeat rate (リピート率).

The per-contact reads take a contact id the caller has already fetched through a
permission-checked selector (the contact page, the API), so they check nothing themselves;
``referral_get`` (an id from a URL or an API call) checks who may see it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.contrib.auth.models import AnonymousUser, User
from django.db.models import Count, F, Q, QuerySet, Value
from django.urls import reverse

from sokyaku.activity.models import Event, EventType
from sokyaku.core.errors import NotFound
from sokyaku.core.visibility import owner_q
from sokyaku.deals.models import Order, Referral, ReferralCode, RewardStatus


def orders_of(*, contact_id: int) -> list[Order]:
    """The contact's orders, newest first."""
    return list(Order.objects.filter(contact_id=contact_id).order_by("-ordered_at", "-id"))


def referrals_of(*, contact_id: int) -> list[Referral]:
    """The referrals the contact made (the people they brought), newest first."""
    return list(
        Referral.objects.filter(referrer_id=contact_id)
        .select_related("referred", "referred__company")
        .order_by("-attributed_at", "-id")
    )


def referred_by(*, contact_id: int) -> Referral | None:
    """The referral that brought the contact, if one did."""
    return Referral.objects.filter(referred_id=contact_id).select_related("referrer").first()


def referral_get(*, user: User | AnonymousUser | None, id: int) -> Referral:
    """One referral, seen with the contact it brought: ``NotFound`` when ``user`` may not see
    that contact (a rep sees the contacts they own; ``None`` is the system)."""
    referral = (
        Referral.objects.filter(owner_q(user, "referred__owner"), pk=id)
        .select_related("referrer", "referred")
        .first()
    )
    if referral is None:
        raise NotFound(f"No referral with id {id}.")
    return referral


def referral_list(*, user: User | AnonymousUser | None, status: str = "") -> QuerySet[Referral]:
    """Referrals, newest first, with both people, optionally of one reward status; only those
    whose referred contact ``user`` may see."""
    rows = (
        Referral.objects.filter(owner_q(user, "referred__owner"))
        .select_related("referrer", "referred")
        .order_by("-attributed_at", "-id")
    )
    if status:
        rows = rows.filter(reward_status=status)
    return rows


def referral_code_of(*, contact_id: int) -> ReferralCode | None:
    """The contact's referral code, if it has one (``services.referral_code_get_or_create``
    makes one)."""
    return ReferralCode.objects.filter(contact_id=contact_id).first()


def referral_url(*, code: str) -> str:
    """The link a customer shares: ``SITE_URL/r/<code>``."""
    path = reverse("referrals:follow", kwargs={"code": code})
    return f"{settings.SITE_URL}{path}"


@dataclass(frozen=True)
class ReferralSummary:
    """Everything the contact page shows of the referral programme for one contact."""

    code: str
    url: str
    made: list[Referral]
    referred_by: Referral | None
    earned: int
    paid: int


def referral_summary(*, contact_id: int) -> ReferralSummary:
    """The contact's code and link (empty when it has none), the people it referred with their
    reward status, who referred it, and how many rewards are earned (unpaid) and paid."""
    code = referral_code_of(contact_id=contact_id)
    made = referrals_of(contact_id=contact_id)
    return ReferralSummary(
        code=code.code if code else "",
        url=referral_url(code=code.code) if code else "",
        made=made,
        referred_by=referred_by(contact_id=contact_id),
        earned=sum(1 for r in made if r.reward_status == RewardStatus.EARNED),
        paid=sum(1 for r in made if r.reward_status == RewardStatus.PAID),
    )


@dataclass(frozen=True)
class RepeatRate:
    """Contacts who bought at least once in the period, those who bought at least twice, and
    the ratio (0.0 when nobody bought)."""

    customers: int
    repeat_customers: int

    @property
    def rate(self) -> float:
        return self.repeat_customers / self.customers if self.customers else 0.0


def _purchases(start: datetime | None, end: datetime | None) -> QuerySet[Event]:
    purchases = Event.objects.filter(type=EventType.PURCHASE, contact__isnull=False)
    if start is not None:
        purchases = purchases.filter(occurred_at__gte=start)
    if end is not None:
        purchases = purchases.filter(occurred_at__lt=end)
    return purchases


def repeat_rate(
    *, start: datetime | None = None, end: datetime | None = None, where: Q | None = None
) -> RepeatRate:
    """リピート率 over the purchases made in ``[start, end)`` (either bound open): contacts with
    two or more purchases ÷ contacts with one or more. Purchases are the ``purchase`` events —
    one per recorded order, and those a shop sends through the event API — so a merge (which
    moves events) counts a person once. ``where`` narrows the purchase events (e.g. to the
    contacts of a report's filters). Two aggregate queries."""
    purchases = _purchases(start, end)
    if where is not None:
        purchases = purchases.filter(where)
    per_contact = (
        # Grouped by an expression, so SQLite reads purchases through the (type, time) index
        # instead of walking every event in contact order to save a sort.
        purchases.values(buyer=F("contact_id") + Value(0)).annotate(n=Count("id")).order_by()
    )
    customers = per_contact.count()
    return RepeatRate(
        customers=customers,
        repeat_customers=per_contact.filter(n__gte=2).count() if customers else 0,
    )
