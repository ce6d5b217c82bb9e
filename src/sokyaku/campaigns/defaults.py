"""The channels and channel rules a new installation starts with (Japanese B2B/B2C defaults).

Channel keys are the ones the demo data uses, so demo touches, costs and leads line up. The
rules read top to bottom: specific UTM combinations first, then UTM mediums alone, then the
referrer (search engines, any other site), and last the touch with nothing at all (direct).
``services.channel_defaults_install`` writes them once, on the first ``migrate``.
"""

from __future__ import annotations

from dataclasses import dataclass

from sokyaku.campaigns.models import ChannelKind
from sokyaku.campaigns.models import RuleOperator as Op


@dataclass(frozen=True)
class DefaultChannel:
    key: str
    name: str
    kind: str


@dataclass(frozen=True)
class DefaultRule:
    name: str
    channel: str  # key of a DefaultChannel
    source: tuple[str, str] = (Op.ANY, "")
    medium: tuple[str, str] = (Op.ANY, "")
    referrer: tuple[str, str] = (Op.ANY, "")


CHANNELS = (
    DefaultChannel("seo-blog", "SEO・オウンドメディア（自然検索）", ChannelKind.ORGANIC_SEARCH),
    DefaultChannel("paid-search", "リスティング広告", ChannelKind.PAID_SEARCH),
    DefaultChannel("paid-social", "SNS広告", ChannelKind.PAID_SOCIAL),
    DefaultChannel("webinar", "ウェビナー", ChannelKind.WEBINAR),
    DefaultChannel("trade-show", "展示会", ChannelKind.TRADE_SHOW),
    DefaultChannel("email", "メールマガジン", ChannelKind.EMAIL),
    DefaultChannel("referral", "紹介", ChannelKind.REFERRAL),
    DefaultChannel("direct", "直接流入", ChannelKind.DIRECT),
)

_SOCIAL_SOURCES = "facebook, fb, instagram, ig, meta, x, twitter, linkedin, line, tiktok, youtube"
_SEARCH_SOURCES = "google, yahoo, yahoo_japan, bing, microsoft"
_PAID_MEDIUMS = "cpc, ppc, paid, cpm, display, paid_social, paidsocial, paid-social, social_paid"
_PAID_SOCIAL_MEDIUMS = "paid_social, paidsocial, paid-social, social_paid, social-paid, sns_ad"
_PAID_SEARCH_MEDIUMS = "cpc, ppc, paid_search, paidsearch, paid-search, sem, listing"
_TRADE_SHOW = "tradeshow, trade_show, trade-show, exhibition, expo"
_SEARCH_ENGINES = (
    "google., search.yahoo., yahoo.co.jp, bing., duckduckgo., baidu., ecosia., naver., "
    "search.goo.ne.jp"
)

RULES = (
    DefaultRule("ウェビナー（utm_medium）", "webinar", medium=(Op.EXACT, "webinar, ウェビナー")),
    DefaultRule("ウェビナー（utm_source）", "webinar", source=(Op.EXACT, "webinar, ウェビナー")),
    DefaultRule(
        "展示会・イベント（utm_medium）",
        "trade-show",
        medium=(Op.EXACT, f"{_TRADE_SHOW}, event, offline, booth, 展示会"),
    ),
    DefaultRule("展示会（utm_source）", "trade-show", source=(Op.EXACT, f"{_TRADE_SHOW}, 展示会")),
    DefaultRule(
        "メール",
        "email",
        medium=(Op.EXACT, "email, e-mail, mail, newsletter, mailmagazine, mail_magazine, メルマガ"),
    ),
    DefaultRule(
        "SNS広告（SNS ＋ 広告）",
        "paid-social",
        source=(Op.EXACT, _SOCIAL_SOURCES),
        medium=(Op.EXACT, _PAID_MEDIUMS),
    ),
    DefaultRule("SNS広告（utm_medium）", "paid-social", medium=(Op.EXACT, _PAID_SOCIAL_MEDIUMS)),
    DefaultRule(
        "リスティング広告（検索エンジン ＋ 広告）",
        "paid-search",
        source=(Op.EXACT, _SEARCH_SOURCES),
        medium=(Op.EXACT, _PAID_SEARCH_MEDIUMS),
    ),
    DefaultRule(
        "リスティング広告（utm_medium）", "paid-search", medium=(Op.EXACT, _PAID_SEARCH_MEDIUMS)
    ),
    DefaultRule("紹介（utm_medium）", "referral", medium=(Op.EXACT, "referral")),
    DefaultRule("自然検索（utm_medium）", "seo-blog", medium=(Op.EXACT, "organic, seo")),
    DefaultRule(
        "自然検索（検索エンジンからの流入）",
        "seo-blog",
        medium=(Op.EMPTY, ""),
        referrer=(Op.CONTAINS, _SEARCH_ENGINES),
    ),
    DefaultRule(
        "紹介（他サイトからの流入）", "referral", medium=(Op.EMPTY, ""), referrer=(Op.PRESENT, "")
    ),
    DefaultRule(
        "直接流入（参照元なし）",
        "direct",
        source=(Op.EMPTY, ""),
        medium=(Op.EMPTY, ""),
        referrer=(Op.EMPTY, ""),
    ),
)

# Rules are numbered 10, 20, 30 … so one can be slotted in between without renumbering.
PRIORITY_STEP = 10
