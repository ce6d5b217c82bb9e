"""Template helpers of the deals pages: yen amounts, days in a stage, the forecast chart's bar
heights, and the two panels other pages include:

- ``{% deals_panel contact user %}`` on the contact page: the contact's deals with stage and
  amount, a "new deal" link, orders (count and total) and the referral code and link with the
  referrals made;
- ``{% company_deals_panel company user %}`` wherever a company is shown: open deals (count,
  pipeline ¥, weighted ¥), won total and the recent deals.

Each panel reads through the deals selectors, at most four queries, and shows nothing to a
user who may not see deals.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from django import template
from django.contrib.auth.models import AnonymousUser, User
from django.utils.translation import get_language

from sokyaku.core import clock
from sokyaku.core.errors import NotFound
from sokyaku.deals import selectors, selectors_aftersale

register = template.Library()

RECENT_DEALS = 5
VIEW = "deals.view_deal"


@register.filter
def yen(value: int | None) -> str:
    """¥1,234,000; a dash for no amount."""
    if value is None or value == "":
        return "—"
    return f"¥{int(value):,}"


@register.filter
def month_label(value: date | None) -> str:
    """2026年4月 in Japanese, 2026-04 otherwise."""
    if value is None:
        return ""
    if (get_language() or "").startswith("ja"):
        return f"{value.year}年{value.month}月"
    return f"{value:%Y-%m}"


@register.filter
def month_param(value: date) -> str:
    return f"{value:%Y-%m}"


@register.filter
def days_since(value: datetime | None) -> int:
    """Whole days from ``value`` until now (the clock's now)."""
    if value is None:
        return 0
    return max(0, (clock.now() - value).days)


@register.filter
def bar_percent(value: int, top: int) -> int:
    """``value`` as a percentage of ``top`` (the tallest bar), for a bar's height."""
    if not top or not value:
        return 0
    return max(1, min(100, round(value * 100 / top)))


def _user(context: template.Context, user: Any) -> User | AnonymousUser:
    if isinstance(user, User | AnonymousUser):
        return user
    request = context.get("request")
    return getattr(request, "user", None) or AnonymousUser()


@register.inclusion_tag("deals/_contact_panel.html", takes_context=True)
def deals_panel(context: template.Context, contact: Any, user: Any = None) -> dict[str, Any]:
    """The contact page's deals panel (four queries: deals, orders, code, referrals made)."""
    viewer = _user(context, user)
    if not viewer.has_perm(VIEW):
        return {"visible": False}
    orders = selectors_aftersale.orders_of(contact_id=contact.pk)
    code = selectors_aftersale.referral_code_of(contact_id=contact.pk)
    return {
        "visible": True,
        "contact": contact,
        "deals": selectors.contact_deals(user=viewer, contact_id=contact.pk),
        "orders_count": len(orders),
        "orders_total": sum(o.amount for o in orders),
        "last_order": orders[0] if orders else None,
        "referral_code": code.code if code else "",
        "referral_url": selectors_aftersale.referral_url(code=code.code) if code else "",
        "referrals": selectors_aftersale.referrals_of(contact_id=contact.pk),
        "may_add": viewer.has_perm("deals.add_deal"),
        "may_make_code": viewer.has_perm("deals.add_referralcode"),
        "csrf_token": context.get("csrf_token"),
    }


@register.inclusion_tag("deals/_company_panel.html", takes_context=True)
def company_deals_panel(
    context: template.Context, company: Any, user: Any = None
) -> dict[str, Any]:
    """A company's deals in sums (two queries: the company, its visible deals)."""
    viewer = _user(context, user)
    if company is None or not viewer.has_perm(VIEW):
        return {"visible": False}
    try:
        rollup = selectors.company_rollup(user=viewer, company_id=company.pk)
    except NotFound:
        return {"visible": False}
    return {
        "visible": True,
        "rollup": rollup,
        "recent": rollup.deals[:RECENT_DEALS],
        "more": max(0, len(rollup.deals) - RECENT_DEALS),
    }
