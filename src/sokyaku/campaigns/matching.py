"""Which channel a touch came through: UTM parameters and referrer against the channel rules.

Pure logic, no database: ``selectors.channel_matcher`` loads the rules and campaigns into a
``ChannelMatcher``. Order of decision:

1. a UTM campaign registered under a channel (``Campaign.utm_campaign``) maps to that channel;
2. otherwise the active rules, by ascending priority: the first rule whose every condition
   matches wins;
3. otherwise no channel (``None``).

Every comparison is case-insensitive and width-insensitive (NFKC): ``Google``, ``ＧＯＯＧＬＥ``
and ``google`` are one source. A referrer from the touch's own site (an internal link) is no
referrer at all.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from sokyaku.campaigns.models import RuleOperator

# Touch keys (``contacts.touches.TOUCH_KEYS``) and the UTM parameter names they come from.
UTM_ALIASES = {
    "utm_source": "source",
    "utm_medium": "medium",
    "utm_campaign": "campaign",
    "utm_term": "term",
    "utm_content": "content",
}

# Alternatives in a rule's values: commas (ASCII, full-width, ideographic) or new lines.
_SPLIT = re.compile(r"[,，、\r\n]+")


def fold(value: object) -> str:
    """The form values are compared in: NFKC, trimmed, lower case."""
    if value is None:
        return ""
    return unicodedata.normalize("NFKC", str(value)).strip().lower()


def values_split(raw: str) -> tuple[str, ...]:
    """The alternatives of a rule condition, folded, without blanks or repeats."""
    seen: dict[str, None] = {}
    for part in _SPLIT.split(raw or ""):
        value = fold(part)
        if value:
            seen.setdefault(value, None)
    return tuple(seen)


def host_of(url: str) -> str:
    """The lower-case host of a URL (``""`` when there is none)."""
    text = fold(url)
    if not text:
        return ""
    if "://" not in text and not text.startswith("//"):
        text = f"//{text}"  # a bare domain such as "google.co.jp/search"
    try:
        host = urlsplit(text).hostname or ""
    except ValueError:
        return ""
    return host.rstrip(".")


def _site(host: str) -> str:
    return host[4:] if host.startswith("www.") else host


@dataclass(frozen=True)
class Signals:
    """What the rules look at in one touch."""

    source: str = ""
    medium: str = ""
    campaign: str = ""
    referrer_host: str = ""

    @property
    def is_empty(self) -> bool:
        return not (self.source or self.medium or self.campaign or self.referrer_host)


def signals_of(touch: Mapping[str, object]) -> Signals:
    """The signals of a touch given with touch keys (``source``) or UTM names (``utm_source``).

    The referrer counts only when it is another site than the touch's page (``url``).
    """

    def get(key: str) -> str:
        value = touch.get(key)
        if value in (None, ""):
            value = touch.get(f"utm_{key}")
        return fold(value)

    referrer = host_of(str(touch.get("referrer") or ""))
    page = host_of(str(touch.get("url") or ""))
    if referrer and page and _site(referrer) == _site(page):
        referrer = ""
    return Signals(
        source=get("source"), medium=get("medium"), campaign=get("campaign"), referrer_host=referrer
    )


@dataclass(frozen=True)
class Condition:
    op: str = RuleOperator.ANY
    values: tuple[str, ...] = ()

    def matches(self, value: str, *, domain: bool = False) -> bool:
        if self.op == RuleOperator.ANY:
            return True
        if self.op == RuleOperator.PRESENT:
            return bool(value)
        if self.op == RuleOperator.EMPTY:
            return not value
        if not value:
            return False
        if self.op == RuleOperator.EXACT:
            if domain:
                # "google.co.jp" also matches "www.google.co.jp".
                return value in self.values or _site(value) in self.values
            return value in self.values
        if self.op == RuleOperator.CONTAINS:
            return any(v in value for v in self.values)
        return False


@dataclass(frozen=True)
class CompiledRule:
    id: int
    channel_id: int
    source: Condition = Condition()
    medium: Condition = Condition()
    referrer: Condition = Condition()

    def matches(self, signals: Signals) -> bool:
        return (
            self.source.matches(signals.source)
            and self.medium.matches(signals.medium)
            and self.referrer.matches(signals.referrer_host, domain=True)
        )


def rule_compile(
    *,
    id: int,
    channel_id: int,
    source_op: str,
    source_values: str,
    medium_op: str,
    medium_values: str,
    referrer_op: str,
    referrer_values: str,
) -> CompiledRule:
    referrer = tuple(host_of(v) or v for v in values_split(referrer_values))
    return CompiledRule(
        id=id,
        channel_id=channel_id,
        source=Condition(source_op, values_split(source_values)),
        medium=Condition(medium_op, values_split(medium_values)),
        referrer=Condition(referrer_op, referrer),
    )


@dataclass(frozen=True)
class Match:
    channel_id: int | None
    rule_id: int | None = None  # None: no rule (a registered campaign, or nothing matched)
    by_campaign: bool = False


class ChannelMatcher:
    """Rules (in priority order) and registered campaigns, ready to map touches."""

    def __init__(self, *, rules: Sequence[CompiledRule], campaigns: Mapping[str, int]) -> None:
        self.rules = list(rules)
        self.campaigns = {fold(k): v for k, v in campaigns.items()}

    def match(self, touch: Mapping[str, object] | Signals) -> Match:
        signals = touch if isinstance(touch, Signals) else signals_of(touch)
        if signals.campaign and signals.campaign in self.campaigns:
            return Match(channel_id=self.campaigns[signals.campaign], by_campaign=True)
        for rule in self.rules:
            if rule.matches(signals):
                return Match(channel_id=rule.channel_id, rule_id=rule.id)
        return Match(channel_id=None)

    def channel_for(self, touch: Mapping[str, object] | Signals) -> int | None:
        return self.match(touch).channel_id


def campaign_keys(touches: Iterable[Mapping[str, object]]) -> set[str]:
    """The folded UTM campaigns named by ``touches`` (to load only those campaigns)."""
    return {s.campaign for s in map(signals_of, touches) if s.campaign}
