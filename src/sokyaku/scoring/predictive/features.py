"""The feature matrix of predictive scoring, built set-based and as of each contact's cut-off.

Contract:

- ``contact_outcome_rows`` is the ONE definition of a known outcome, one per contact: a contact
  that ever reached customer (or is customer/advocate now) or is the contact of a won deal is
  WON at the first such moment (the earlier of its first customer stage and its first won deal's
  close); otherwise one that is disqualified now, or whose deals are all closed and lost, is
  LOST at the latest of those moments (disqualified, the last loss); everyone else — among them
  a contact with an open deal — is OPEN. A win outranks any loss: a customer who later loses an
  upsell deal stays a positive example, taken at the moment it first won.
- ``feature_matrix`` returns one row per live contact: fit attributes one-hot, behaviour counts
  (log1p) and recency (log1p days). Behaviour counts only events strictly BEFORE the contact's
  cut-off (its outcome time; now for open contacts), so a model never learns from what happened
  because of the outcome (leakage). ``is_indicator`` tells the 0/1 columns from the log1p ones.
- Two queries, whatever the number of contacts: contacts with their attributes and outcome
  (correlated subqueries for the first win and the deals' outcomes), and one GROUP BY over
  ``activity_event`` with conditional counts. Deals and stage history are read by app label
  (``deals.Deal``, ``lifecycle.StageChange``) and their values named as stored, so scoring does
  not import the higher apps.
- ``feature_label`` gives each feature a translated, human-readable label for reasons.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

import numpy as np
from django.apps import apps
from django.db.models import (
    Case,
    Count,
    DateTimeField,
    Exists,
    F,
    Max,
    OuterRef,
    Q,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce, Greatest, Least
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from sokyaku.activity.models import Event, EventType
from sokyaku.campaigns.models import ChannelKind
from sokyaku.contacts.models import Contact, EmployeeBand, Industry, RevenueBand, TitleLevel
from sokyaku.core import clock

# ``lifecycle.Stage`` values (read by label: scoring sits below lifecycle).
WON_STAGES = ("customer", "advocate")
LOST_STAGES = ("disqualified",)
# ``deals.Deal.status`` values (read by label: scoring sits below deals).
DEAL_WON, DEAL_LOST, DEAL_OPEN = "won", "lost", "open"

# Domains of free web mail: a lead without a work address is rarely a B2B buyer.
FREE_MAIL_DOMAINS = frozenset(
    {
        "gmail.com",
        "googlemail.com",
        "yahoo.co.jp",
        "ymail.ne.jp",
        "yahoo.com",
        "outlook.com",
        "outlook.jp",
        "hotmail.com",
        "hotmail.co.jp",
        "live.jp",
        "icloud.com",
        "me.com",
        "mac.com",
        "docomo.ne.jp",
        "ezweb.ne.jp",
        "au.com",
        "softbank.ne.jp",
        "i.softbank.jp",
        "nifty.com",
        "biglobe.ne.jp",
        "ocn.ne.jp",
        "so-net.ne.jp",
        "aol.com",
        "proton.me",
        "protonmail.com",
        # the demo data's own free-mail domains
        "mail.example.jp",
        "mobile.example.ne.jp",
        "webmail.example.com",
    }
)

# Product interest: a page under /product(s)/ or the pricing page.
PRODUCT_PAGE = Q(properties__url__icontains="/product") | Q(properties__url__icontains="/pricing")

# Region (地方) of each prefecture code (JIS X 0401).
REGIONS: tuple[tuple[str, Any, range], ...] = (
    ("hokkaido", _("Hokkaido"), range(1, 2)),
    ("tohoku", _("Tohoku"), range(2, 8)),
    ("kanto", _("Kanto"), range(8, 15)),
    ("chubu", _("Chubu"), range(15, 24)),
    ("kinki", _("Kinki"), range(24, 31)),
    ("chugoku", _("Chugoku"), range(31, 36)),
    ("shikoku", _("Shikoku"), range(36, 40)),
    ("kyushu", _("Kyushu and Okinawa"), range(40, 48)),
)


def region_of(prefecture: int | None) -> str:
    for key, _label, codes in REGIONS:
        if prefecture in codes:
            return key
    return "unknown"


# Behaviour counted per contact: feature key → (label, the events it counts).
COUNTS: dict[str, tuple[Any, Q]] = {
    "page_views": (_("Page views"), Q(type=EventType.PAGE_VIEW)),
    "product_views": (_("Product page views"), Q(type=EventType.PAGE_VIEW) & PRODUCT_PAGE),
    "downloads": (_("Downloads"), Q(type=EventType.ASSET_DOWNLOADED)),
    "webinars": (_("Webinars attended"), Q(type=EventType.WEBINAR_ATTENDED)),
    "inquiries": (
        _("Inquiries"),
        Q(type__in=[EventType.INQUIRY, EventType.QUOTE_REQUESTED]),
    ),
    "demo_requests": (
        _("Demo or trial requests"),
        Q(type__in=[EventType.DEMO_REQUESTED, EventType.TRIAL_STARTED]),
    ),
    "email_clicks": (_("Email clicks"), Q(type=EventType.EMAIL_CLICKED)),
    # Opens by Apple MPP and other prefetchers say nothing about the person.
    "email_opens": (
        _("Email opens (by a person)"),
        # (a missing key is NULL in SQL, so "not machine" must also admit an absent key)
        Q(type=EventType.EMAIL_OPENED)
        & (Q(properties__machine__isnull=True) | ~Q(properties__machine=True)),
    ),
}

# What a person did themselves: the events recency is measured over.
BEHAVIOUR_TYPES = (
    EventType.PAGE_VIEW,
    EventType.FORM_SUBMITTED,
    EventType.ASSET_DOWNLOADED,
    EventType.WEBINAR_REGISTERED,
    EventType.WEBINAR_ATTENDED,
    EventType.EVENT_VISITED,
    EventType.EMAIL_OPENED,
    EventType.EMAIL_CLICKED,
    EventType.DEMO_REQUESTED,
    EventType.TRIAL_STARTED,
    EventType.INQUIRY,
    EventType.QUOTE_REQUESTED,
    EventType.CART_ABANDONED,
    EventType.PURCHASE,
    EventType.COUPON_USED,
    EventType.REFERRAL,
    EventType.MEETING,
    EventType.CALL,
)


class Outcome(StrEnum):
    WON = "won"
    LOST = "lost"
    OPEN = "open"


# --- the feature vocabulary ----------------------------------------------------------------


def _one_hot(prefix: str, values: Iterable[str]) -> list[str]:
    return [f"{prefix}:{v}" for v in values] + [f"{prefix}:unknown"]


def feature_names() -> list[str]:
    """Every feature, in matrix column order. Stable: stored with each model."""
    return [
        *[f"title:{level.value}" for level in TitleLevel],
        *_one_hot("employees", EmployeeBand.values),
        *_one_hot("industry", Industry.values),
        *_one_hot("region", [key for key, _l, _c in REGIONS]),
        *_one_hot("revenue", RevenueBand.values),
        "has_company",
        "free_mail",
        *_one_hot("channel", ChannelKind.values),
        *[f"count:{key}" for key in COUNTS],
        "recency:last_activity",
        "recency:age",
    ]


# Columns holding a log1p count or number of days; every other column is a 0/1 indicator.
CONTINUOUS_PREFIXES = ("count:", "recency:")


def is_indicator(name: str) -> bool:
    """Whether feature ``name`` is a 0/1 column (a one-hot value, has_company, free_mail)."""
    return not name.startswith(CONTINUOUS_PREFIXES)


# Categorical columns (one value each) for the naive-Bayes baseline.
CATEGORICAL = ("title", "employees", "industry", "region", "revenue", "channel")


def _bin_count(n: float) -> int:
    return 0 if n <= 0 else 1 if n < 2 else 2 if n < 4 else 3


def _bin_days(days: float) -> int:
    return 0 if days <= 7 else 1 if days <= 30 else 2 if days <= 90 else 3


@dataclass
class FeatureMatrix:
    """Rows of live contacts; ``x`` raw (one-hot 0/1, log1p counts/days), ``categories`` for NB."""

    contact_ids: list[int]
    outcomes: list[Outcome]
    cutoffs: list[datetime]
    names: list[str]
    x: np.ndarray
    categories: np.ndarray

    def rows(self, outcome: Outcome) -> np.ndarray:
        return np.array([o == outcome for o in self.outcomes], dtype=bool)


# --- outcomes ------------------------------------------------------------------------------


def _first_stage_win(contact_ref: str) -> Subquery:
    return Subquery(
        apps.get_model("lifecycle", "StageChange")
        .objects.filter(contact_id=OuterRef(contact_ref), to_stage__in=WON_STAGES)
        .order_by("changed_at")
        .values("changed_at")[:1],
        output_field=DateTimeField(),
    )


def _deals(contact_ref: str, status: str) -> Any:
    deal = apps.get_model("deals", "Deal")
    return deal.objects.filter(contact_id=OuterRef(contact_ref), status=status)


def _first_deal_win(contact_ref: str) -> Subquery:
    return Subquery(
        _deals(contact_ref, DEAL_WON)
        .filter(closed_at__isnull=False)
        .order_by("closed_at")
        .values("closed_at")[:1],
        output_field=DateTimeField(),
    )


def _last_deal_loss(contact_ref: str) -> Case:
    """When the contact's last deal was lost — NULL while any deal of theirs is still open."""
    last = Subquery(
        _deals(contact_ref, DEAL_LOST)
        .filter(closed_at__isnull=False)
        .order_by("-closed_at")
        .values("closed_at")[:1],
        output_field=DateTimeField(),
    )
    return Case(
        When(Exists(_deals(contact_ref, DEAL_OPEN)), then=Value(None)),
        default=last,
        output_field=DateTimeField(),
    )


def _earlier(a: Any, b: Any) -> Any:
    """The earlier of two nullable times (NULL only when both are): SQL's LEAST is NULL as soon
    as one side is on SQLite, and ignores NULL on PostgreSQL; this agrees on both."""
    return Least(Coalesce(a, b), Coalesce(b, a), output_field=DateTimeField())


def _outcome_annotate(rows: Any, *, contact_ref: str, prefix: str, now: datetime) -> Any:
    """Annotate ``won_at``, ``deal_lost_at`` and ``cutoff`` (the moment features are taken at:
    the outcome time, or now for an open contact). ``contact_ref`` names the contact id on the
    queried model ("pk" on Contact), ``prefix`` the path to the contact ("" on Contact)."""
    stage, entered = f"{prefix}lifecycle__stage", f"{prefix}lifecycle__entered_at"
    rows = rows.annotate(
        won_at=_earlier(_first_stage_win(contact_ref), _first_deal_win(contact_ref)),
        deal_lost_at=_last_deal_loss(contact_ref),
    )
    return rows.annotate(
        cutoff=Case(
            When(won_at__isnull=False, then=F("won_at")),
            When(**{f"{stage}__in": WON_STAGES}, then=F(entered)),
            When(
                Q(**{f"{stage}__in": LOST_STAGES}) & Q(deal_lost_at__isnull=False),
                then=Greatest(F(entered), F("deal_lost_at")),
            ),
            When(**{f"{stage}__in": LOST_STAGES}, then=F(entered)),
            When(deal_lost_at__isnull=False, then=F("deal_lost_at")),
            default=Value(now),
            output_field=DateTimeField(),
        )
    )


def contact_outcome_rows(
    *, contact_ids: Sequence[int] | None = None, now: datetime | None = None
) -> list[dict[str, Any]]:
    """Live contacts with ``won_at``, ``deal_lost_at``, ``stage`` and ``cutoff``: the single
    outcome definition (see the module docstring), lifecycle and deals together, one row per
    contact. Everything downstream (training, the leakage cut-off, who gets scored) follows it.
    """
    now = now or clock.now()
    rows: Any = Contact.objects.filter(merged_into__isnull=True)
    if contact_ids is not None:
        rows = rows.filter(id__in=list(contact_ids))
    rows = _outcome_annotate(rows, contact_ref="pk", prefix="", now=now).values(
        "id",
        "won_at",
        "deal_lost_at",
        "cutoff",
        "lifecycle__stage",
        "title_level",
        "email",
        "company_id",
        "company__employee_band",
        "company__industry",
        "company__revenue_band",
        "company__prefecture",
        "prefecture",
        "first_touch_channel__kind",
        "created_at",
    )
    return list(rows.order_by("id"))


def outcome_of(row: dict[str, Any]) -> Outcome:
    if row["won_at"] is not None or row["lifecycle__stage"] in WON_STAGES:
        return Outcome.WON
    if row["lifecycle__stage"] in LOST_STAGES or row.get("deal_lost_at") is not None:
        return Outcome.LOST
    return Outcome.OPEN


def outcome_counts() -> dict[Outcome, int]:
    """How many live contacts are won, lost and open (for the refusal message and the page)."""
    counts = dict.fromkeys(Outcome, 0)
    for row in contact_outcome_rows():
        counts[outcome_of(row)] += 1
    return counts


def _behaviour(contact_ids: Sequence[int] | None, *, now: datetime) -> dict[int, dict[str, Any]]:
    """One GROUP BY over the events: per contact, the counts and the last activity before the
    contact's cut-off."""
    events = Event.objects.filter(contact__merged_into__isnull=True, type__in=BEHAVIOUR_TYPES)
    if contact_ids is not None:
        events = events.filter(contact_id__in=list(contact_ids))
    aggregates: dict[str, Any] = {
        key: Count("id", filter=condition) for key, (_label, condition) in COUNTS.items()
    }
    rows = (
        _outcome_annotate(events, contact_ref="contact_id", prefix="contact__", now=now)
        .filter(occurred_at__lt=F("cutoff"))
        .values("contact_id")
        .annotate(last_at=Max("occurred_at"), **aggregates)
        .order_by()
    )
    return {row["contact_id"]: dict(row) for row in rows.iterator()}


def feature_matrix(
    *, contact_ids: Sequence[int] | None = None, now: datetime | None = None
) -> FeatureMatrix:
    """The raw feature matrix of all live contacts (or of ``contact_ids``). Reads only."""
    now = now or clock.now()
    names = feature_names()
    column = {name: i for i, name in enumerate(names)}
    contacts = contact_outcome_rows(contact_ids=contact_ids, now=now)
    behaviour = _behaviour(contact_ids, now=now)
    x = np.zeros((len(contacts), len(names)), dtype=float)
    categories = np.zeros((len(contacts), len(CATEGORICAL) + 2 + len(COUNTS) + 2), dtype=int)
    vocab = {prefix: [n for n in names if n.startswith(prefix + ":")] for prefix in CATEGORICAL}
    cutoffs: list[datetime] = []
    for i, row in enumerate(contacts):
        cutoff = row["cutoff"]
        cutoffs.append(cutoff)
        domain = row["email"].rpartition("@")[2].lower()
        values = {
            "title": str(row["title_level"]),
            "employees": row["company__employee_band"] or "unknown",
            "industry": row["company__industry"] or "unknown",
            "region": region_of(row["company__prefecture"] or row["prefecture"]),
            "revenue": row["company__revenue_band"] or "unknown",
            "channel": row["first_touch_channel__kind"] or "unknown",
        }
        for j, prefix in enumerate(CATEGORICAL):
            name = f"{prefix}:{values[prefix]}"
            name = name if name in column else f"{prefix}:unknown"
            x[i, column[name]] = 1.0
            categories[i, j] = vocab[prefix].index(name)
        has_company = row["company_id"] is not None
        free_mail = bool(domain) and domain in FREE_MAIL_DOMAINS
        x[i, column["has_company"]] = float(has_company)
        x[i, column["free_mail"]] = float(free_mail)
        k = len(CATEGORICAL)
        categories[i, k], categories[i, k + 1] = int(has_company), int(free_mail)
        k += 2
        events = behaviour.get(row["id"], {})
        for key in COUNTS:
            n = float(events.get(key, 0))
            x[i, column[f"count:{key}"]] = math.log1p(n)
            categories[i, k] = _bin_count(n)
            k += 1
        age = max((cutoff - row["created_at"]).total_seconds() / 86400, 0.0)
        last_at = events.get("last_at")
        # No activity at all counts as idle since the contact was created.
        idle = max((cutoff - last_at).total_seconds() / 86400, 0.0) if last_at else age
        x[i, column["recency:last_activity"]] = math.log1p(idle)
        x[i, column["recency:age"]] = math.log1p(age)
        categories[i, k], categories[i, k + 1] = _bin_days(idle), _bin_days(age)
    return FeatureMatrix(
        contact_ids=[row["id"] for row in contacts],
        outcomes=[outcome_of(row) for row in contacts],
        cutoffs=cutoffs,
        names=names,
        x=x,
        categories=categories,
    )


# --- labels --------------------------------------------------------------------------------

_PREFIX_LABELS: dict[str, Any] = {
    "title": _("Title level"),
    "employees": _("Company size"),
    "industry": _("Industry"),
    "region": _("Region"),
    "revenue": _("Revenue"),
    "channel": _("First touch"),
}


def _value_label(prefix: str, value: str) -> str:
    choices: dict[str, dict[str, Any]] = {
        "title": {str(k): v for k, v in TitleLevel.choices},
        "employees": dict(EmployeeBand.choices),
        "industry": dict(Industry.choices),
        "region": {key: label for key, label, _c in REGIONS},
        "revenue": dict(RevenueBand.choices),
        "channel": dict(ChannelKind.choices),
    }
    label = choices.get(prefix, {}).get(value)
    return str(label) if label is not None else gettext("Unknown")


def feature_label(feature: str, raw: float | None = None) -> str:
    """A feature in words, in the active language; with ``raw`` (the matrix value) the
    contact's own value where it says more ("Webinars attended: 2")."""
    prefix, _sep, value = feature.partition(":")
    if prefix in _PREFIX_LABELS:
        return f"{_PREFIX_LABELS[prefix]}: {_value_label(prefix, value)}"
    if feature == "has_company":
        return gettext("Works at a known company")
    if feature == "free_mail":
        return gettext("Uses a free-mail address")
    if prefix == "count":
        label = str(COUNTS[value][0]) if value in COUNTS else value
        if raw is None:
            return label
        return f"{label}: {round(math.expm1(raw))}"
    if feature == "recency:last_activity":
        if raw is None:
            return gettext("Days since last activity")
        return gettext("Last active %(days)d days ago") % {"days": round(math.expm1(raw))}
    if feature == "recency:age":
        if raw is None:
            return gettext("Days since created")
        return gettext("Known for %(days)d days") % {"days": round(math.expm1(raw))}
    return feature
