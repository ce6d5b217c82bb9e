"""The top bar's menu: which pages a user finds there, grouped, and which one is open.

Marketing and admins get a few direct links and five menus — 集客 (acquire), 育成 (nurture),
営業 (sales), 分析 (analyse), 設定 (settings). A user whose work is sales (``roles.sales_first``)
gets their own pages first as direct links — inbox, board, contacts, forecast — then only the
menus of their reports (handoff and forecast reports, narrowed to their own numbers or their
team's) and their settings (API keys), no marketing menus. Each entry needs permissions; a
marketing page needs the permission to *change* what it lists, so a rep who may only look at
forms or rules does not meet them in the menu (the pages stay reachable by URL with their own
checks). An entry whose URL is not installed is left out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from django.contrib.auth.models import AnonymousUser, User
from django.urls import NoReverseMatch, ResolverMatch, reverse
from django.utils.functional import Promise
from django.utils.translation import pgettext_lazy

from sokyaku.core import roles


@dataclass(frozen=True)
class _Entry:
    key: str
    label: Promise
    url_name: str
    perms: tuple[str, ...]
    # View names (``app:url_name``) or prefixes of them (ending in ``_`` or ``:``) of the pages
    # that belong to the entry; the longest match across the menu marks the current page.
    matches: tuple[str, ...] = ()


@dataclass(frozen=True)
class _Group:
    key: str
    label: Promise
    entries: tuple[_Entry, ...]


@dataclass(frozen=True)
class MenuLink:
    """One link as rendered: ``key`` is stable (``data-menu-entry``), ``label`` translated."""

    key: str
    label: str
    url: str
    current: bool = False


@dataclass(frozen=True)
class MenuGroup:
    key: str
    label: str
    links: list[MenuLink]

    @property
    def current(self) -> bool:
        return any(link.current for link in self.links)


@dataclass(frozen=True)
class Menu:
    """Direct links first, then the menus; every group has at least one link."""

    links: list[MenuLink] = field(default_factory=list)
    groups: list[MenuGroup] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.links or self.groups)


def _m(label: str) -> Promise:
    return pgettext_lazy("menu", label)


CONTACTS = _Entry(
    "contacts",
    _m("Contacts"),
    "contacts:list",
    ("contacts.view_contact",),
    ("contacts:",),
)
INBOX = _Entry(
    "inbox", _m("Sales inbox"), "handoff:inbox", ("handoff.view_handoff",), ("handoff:",)
)
BOARD = _Entry("board", _m("Deal board"), "deals:board", ("deals.view_deal",), ("deals:",))
FORECAST = _Entry("forecast", _m("Forecast"), "deals:forecast", ("deals.view_deal",))

ACQUIRE = _Group(
    "acquire",
    _m("Acquire"),
    (
        _Entry(
            "forms",
            _m("Forms"),
            "capture:form_list",
            ("capture.change_form",),
            ("capture:form_",),
        ),
        _Entry(
            "pages",
            _m("Landing pages"),
            "capture:page_list",
            ("capture.change_landingpage",),
            ("capture:page_",),
        ),
        _Entry(
            "assets",
            _m("Assets"),
            "capture:asset_list",
            ("capture.change_asset",),
            ("capture:asset_",),
        ),
        _Entry(
            "webinars",
            _m("Webinars"),
            "capture:webinar_list",
            ("capture.change_webinar",),
            ("capture:webinar_",),
        ),
        _Entry(
            "channels",
            _m("Channels"),
            "campaigns:channel_list",
            ("campaigns.change_channel",),
            ("campaigns:",),
        ),
        _Entry(
            "campaigns",
            _m("Campaigns"),
            "campaigns:campaign_list",
            ("campaigns.change_campaign",),
            ("campaigns:campaign_",),
        ),
        _Entry(
            "costs",
            _m("Costs"),
            "campaigns:costs",
            ("campaigns.change_channelcost",),
            ("campaigns:cost",),
        ),
        _Entry(
            "imports",
            _m("Import"),
            "contacts:import_index",
            ("contacts.add_importjob",),
            ("contacts:import_",),
        ),
    ),
)
NURTURE = _Group(
    "nurture",
    _m("Nurture"),
    (
        _Entry(
            "sequences",
            _m("Sequences"),
            "sequences:list",
            ("sequences.change_sequence",),
            ("sequences:",),
        ),
        _Entry(
            "templates",
            _m("Mail templates"),
            "messaging:home",
            ("messaging.change_template",),
            ("messaging:template_",),
        ),
        _Entry(
            "broadcasts",
            _m("Broadcasts"),
            "messaging:broadcast_list",
            ("messaging.change_broadcast",),
            ("messaging:broadcast_",),
        ),
        _Entry(
            "segments",
            _m("Segments"),
            "segments:list",
            ("segments.change_segment",),
            ("segments:",),
        ),
        _Entry(
            "outbox",
            _m("Outbox"),
            "messaging:outbox",
            ("messaging.view_message", "messaging.change_template"),
            ("messaging:outbox",),
        ),
    ),
)
SALES = _Group(
    "sales",
    _m("Sales"),
    (
        INBOX,
        BOARD,
        FORECAST,
        _Entry(
            "referrals",
            _m("Referrals"),
            "deals:referrals",
            ("deals.view_referral", "contacts.view_all_contacts"),
            ("deals:referral",),
        ),
    ),
)
ANALYSE = _Group(
    "analyse",
    _m("Analytics"),
    tuple(
        _Entry(
            key if key == "dashboard" else f"{key}_report",
            label,
            f"analytics:{key}",
            (perm,),
            matches,
        )
        for key, label, perm, matches in (
            ("dashboard", _m("Dashboard"), "analytics.view_reports", ("analytics:",)),
            ("funnel", _m("Funnel"), "analytics.view_reports", ()),
            ("channels", _m("Channel report"), "analytics.view_reports", ()),
            ("attribution", _m("Attribution"), "analytics.view_reports", ()),
            ("sequences", _m("Sequence report"), "analytics.view_reports", ()),
            # A rep's own numbers, a sales manager's team's (analytics.selectors.scope).
            ("handoffs", _m("Handoff report"), "handoff.view_handoff", ()),
            ("forecast", _m("Forecast report"), "deals.view_deal", ()),
        )
    ),
)
SETTINGS = _Group(
    "settings",
    _m("Settings"),
    (
        _Entry(
            "scoring",
            _m("Scoring"),
            "scoring:rules",
            ("scoring.change_ruleset",),
            ("scoring:",),
        ),
        _Entry(
            "predictive",
            _m("Predictive scoring"),
            "scoring:predictive",
            ("scoring.add_predictivemodel",),
            ("scoring:predictive",),
        ),
        _Entry(
            "lifecycle",
            _m("Lifecycle"),
            "lifecycle:rules",
            ("lifecycle.change_mqlrule",),
            ("lifecycle:",),
        ),
        _Entry(
            "consent",
            _m("Consent"),
            "consent:settings",
            ("consent.change_consenttopic",),
            ("consent:",),
        ),
        _Entry(
            "senders",
            _m("Sender profiles"),
            "messaging:sender_list",
            ("messaging.change_senderprofile",),
            ("messaging:sender_",),
        ),
        _Entry(
            "chat",
            _m("Chat channels"),
            "messaging:chat_list",
            ("messaging.change_chatchannel",),
            ("messaging:chat_",),
        ),
        _Entry(
            "channel_rules",
            _m("Channel rules"),
            "campaigns:rule_list",
            ("campaigns.change_channelrule",),
            ("campaigns:rule",),
        ),
        _Entry(
            "tracking",
            _m("Tracking code"),
            "campaigns:tracking",
            ("campaigns.change_channel",),
        ),
        _Entry(
            "triggers",
            _m("Handoff triggers"),
            "handoff:triggers",
            ("handoff.change_handofftrigger",),
            ("handoff:trigger",),
        ),
        _Entry(
            "routing",
            _m("Routing"),
            "handoff:routing",
            ("handoff.change_routingrule",),
            ("handoff:routing", "handoff:rule_"),
        ),
        _Entry(
            "teams",
            _m("Teams"),
            "handoff:teams",
            ("core.change_team",),
            ("handoff:team", "handoff:member_"),
        ),
        _Entry(
            "alerts",
            _m("Alert settings"),
            "handoff:settings",
            ("handoff.change_handoffsettings",),
        ),
        _Entry(
            "pipelines",
            _m("Pipelines and products"),
            "deals:settings",
            ("deals.change_pipeline",),
            ("deals:settings", "deals:pipeline_", "deals:stage_", "deals:product_"),
        ),
        _Entry(
            "webhooks",
            _m("Webhooks"),
            "webhooks:list",
            ("webhooks.change_subscription",),
            ("webhooks:",),
        ),
        _Entry(
            "access_log",
            _m("Access log"),
            "core:access_log",
            ("core.view_dataaccesslog",),
        ),
        _Entry(
            "erasures",
            _m("Erasure log"),
            "erasure:log",
            ("privacy.view_erasurelog",),
            ("erasure:",),
        ),
        _Entry(
            "retention",
            _m("Data retention"),
            "erasure:retention",
            ("privacy.change_retentionpolicy",),
        ),
        # Everyone's own keys (admins see all of them there).
        _Entry("api_keys", _m("API keys"), "core:apikeys", (), ("core:apikey",)),
    ),
)

MARKETING_LINKS = (CONTACTS,)
MARKETING_GROUPS = (ACQUIRE, NURTURE, SALES, ANALYSE, SETTINGS)
SALES_LINKS = (INBOX, BOARD, CONTACTS, FORECAST)


def _url(name: str) -> str | None:
    try:
        return reverse(name)
    except NoReverseMatch:
        return None


def _visible(user: User, entries: Sequence[_Entry], seen: set[str]) -> list[tuple[_Entry, str]]:
    shown = []
    for entry in entries:
        if entry.url_name in seen or not user.has_perms(entry.perms):
            continue
        url = _url(entry.url_name)
        if url is not None:
            seen.add(entry.url_name)
            shown.append((entry, url))
    return shown


def _current(entries: Sequence[_Entry], view_name: str) -> str | None:
    """The url name of the entry the page belongs to: its own page, else the longest prefix."""
    best, score = None, 0
    for entry in entries:
        if view_name == entry.url_name:
            return entry.url_name
        for prefix in entry.matches:
            if view_name.startswith(prefix) and len(prefix) > score:
                best, score = entry.url_name, len(prefix)
    return best


def menu_for(*, user: User | AnonymousUser, match: ResolverMatch | None) -> Menu:
    """The menu ``user`` sees on the page ``match`` resolved to (``None`` outside a view)."""
    if not isinstance(user, User) or not user.is_active:
        return Menu()
    seen: set[str] = set()
    links = _visible(user, SALES_LINKS if roles.sales_first(user) else MARKETING_LINKS, seen)
    groups = [(group, _visible(user, group.entries, seen)) for group in MARKETING_GROUPS]
    everything = [entry for entry, _url in links] + [
        entry for _group, shown in groups for entry, _url in shown
    ]
    current = _current(everything, match.view_name) if match is not None else None

    def _link(entry: _Entry, url: str) -> MenuLink:
        return MenuLink(entry.key, str(entry.label), url, entry.url_name == current)

    return Menu(
        links=[_link(entry, url) for entry, url in links],
        groups=[
            MenuGroup(group.key, str(group.label), [_link(entry, url) for entry, url in shown])
            for group, shown in groups
            if shown
        ],
    )
