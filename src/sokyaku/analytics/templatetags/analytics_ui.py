"""Template helpers of the report pages: numbers as people read them, charts, the period picker.

- filters ``yen`` (¥1,234,000), ``percent`` (a 0…1 ratio as 12.5%), ``count`` (1,234),
  ``kpi_value`` (a KPI by its kind), ``delta`` (relative change, ▲ 12.5%) and ``delta_pt``
  (change of a ratio in percentage points, ▼ 1.2 pt); every one shows "—" for ``None``
  (an undefined ratio), never an error;
- ``{% chart fig %}``: a plotly figure as ``<div class="chart" data-figure="…">`` that
  ``static/analytics/charts.js`` draws with plotly.js (served from our static files). The first
  chart of a page also writes the two ``<script defer>`` tags, so a page only has to use the tag;
- ``{% period_presets period %}`` and ``{% carried_params form %}`` for ``_period.html``;
  ``{% report_query %}`` keeps the period and filters when moving between report tabs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django import template
from django.http import HttpRequest, QueryDict
from django.templatetags.static import static
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _

from sokyaku.analytics.charts import figure_json
from sokyaku.analytics.period import Period
from sokyaku.analytics.selectors.kpis import RATIO_KPIS, YEN_KPIS
from sokyaku.core import clock

register = template.Library()

DASH = "—"

# Query parameters that say which period and filters a report shows (kept across the tabs).
REPORT_PARAMS = ("from", "to", "compare", "channel", "campaign", "segment", "owner", "team")
# Parameters never carried into another request: the page of a list and a download's format.
_NOT_CARRIED = frozenset({"page", "format"})
_SCRIPTS_WRITTEN = "_analytics_chart_scripts"


def kpi_kind(name: str) -> str:
    """``yen``, ``ratio`` or ``count``: how the KPI ``name`` is formatted and compared (names
    the KPI selectors list as neither yen nor ratio are counts)."""
    if name in YEN_KPIS:
        return "yen"
    if name in RATIO_KPIS:
        return "ratio"
    return "count"


@register.filter
def yen(value: float | int | None) -> str:
    """¥1,234,000 (rounded to whole yen); a dash for no amount."""
    if value is None or value == "":
        return DASH
    return f"¥{round(value):,}"


@register.filter
def percent(value: float | None, digits: int = 1) -> str:
    """A ratio (0.125) as a percentage (12.5%), without a trailing ".0"; a dash for ``None``."""
    if value is None or value == "":
        return DASH
    text = f"{value * 100:,.{int(digits)}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return f"{text}%"


@register.filter
def count(value: float | int | None) -> str:
    """1,234; a dash for ``None``."""
    if value is None or value == "":
        return DASH
    return f"{round(value):,}"


@register.filter
def kpi_value(value: float | int | None, name: str) -> str:
    """A KPI's value formatted by its kind (yen, ratio or count)."""
    kind = kpi_kind(name)
    if kind == "yen":
        return yen(value)
    if kind == "ratio":
        return percent(value)
    return count(value)


def _arrow(change: float) -> str:
    if change > 0:
        return "▲"
    if change < 0:
        return "▼"
    return "±"


@register.filter
def delta(current: float | int | None, previous: float | int | None) -> str:
    """The relative change from ``previous`` to ``current`` (▲ 12.5%); a dash when either is
    missing or the previous value is zero (no base to compare with)."""
    if current is None or previous is None or not previous:
        return DASH
    change = (current - previous) / abs(previous)
    return f"{_arrow(change)} {percent(abs(change))}"


@register.filter
def delta_pt(current: float | None, previous: float | None) -> str:
    """The change of a ratio in percentage points (▼ 1.2 pt); a dash when either is missing."""
    if current is None or previous is None:
        return DASH
    change = (current - previous) * 100
    if round(change, 1) == 0:
        change = 0.0
    text = f"{abs(change):,.1f}".rstrip("0").rstrip(".")
    return f"{_arrow(change)} {text} pt"


def _scripts_once(context: template.Context) -> SafeString:
    request = context.get("request")
    if request is not None:
        if getattr(request, _SCRIPTS_WRITTEN, False):
            return SafeString("")
        setattr(request, _SCRIPTS_WRITTEN, True)
    return format_html(
        '<script defer src="{}"></script><script defer src="{}"></script>',
        static("plotly/plotly.min.js"),
        static("analytics/charts.js"),
    )


@register.simple_tag(takes_context=True)
def chart(context: template.Context, fig: Any, label: str = "", css_class: str = "") -> SafeString:
    """A chart placeholder holding the figure as JSON; ``label`` names it for screen readers."""
    if fig is None:
        return SafeString("")
    title = label or _title_of(fig)
    classes = " ".join(c for c in ("chart", css_class) if c)
    div = format_html(
        '<div class="{}" role="img" aria-label="{}" data-figure="{}"></div>',
        classes,
        title,
        figure_json(fig),
    )
    return SafeString(_scripts_once(context) + div)


def _title_of(fig: Any) -> str:
    meta = getattr(getattr(fig, "layout", None), "meta", None)
    if isinstance(meta, Mapping) and meta.get("title"):
        return str(meta["title"])
    return str(_("Chart"))


@register.simple_tag(takes_context=True)
def chart_scripts(context: template.Context) -> SafeString:
    """The plotly.js and charts.js script tags, for a page that adds charts later (htmx)."""
    return _scripts_once(context)


# --- the period picker -----------------------------------------------------------------------


@dataclass(frozen=True)
class Preset:
    key: str
    label: str
    first: date
    last: date
    url: str
    active: bool


def _month_end(day: date) -> date:
    return (day.replace(day=1) + timedelta(days=32)).replace(day=1) - timedelta(days=1)


def preset_periods(today: date) -> list[tuple[str, str, date, date]]:
    """(key, label, first, last) of the picker's presets, for Tokyo's ``today``."""
    month_first = today.replace(day=1)
    last_month_end = month_first - timedelta(days=1)
    quarter_first = date(today.year, 3 * ((today.month - 1) // 3) + 1, 1)
    quarter_last = _month_end(date(quarter_first.year, quarter_first.month + 2, 1))
    return [
        ("this_month", str(_("This month")), month_first, _month_end(today)),
        ("last_month", str(_("Last month")), last_month_end.replace(day=1), last_month_end),
        ("last_30_days", str(_("Last 30 days")), today - timedelta(days=29), today),
        ("this_quarter", str(_("This quarter")), quarter_first, quarter_last),
        ("this_year", str(_("This year")), date(today.year, 1, 1), date(today.year, 12, 31)),
    ]


def _query(request: HttpRequest | None) -> QueryDict:
    params = request.GET.copy() if request is not None else QueryDict(mutable=True)
    for key in _NOT_CARRIED:
        params.pop(key, None)
    return params


@register.simple_tag(takes_context=True)
def period_presets(context: template.Context, period: Period | None = None) -> list[Preset]:
    """The presets as links to the same page with that period (other parameters kept)."""
    request = context.get("request")
    out: list[Preset] = []
    for key, label, first, last in preset_periods(clock.local_now().date()):
        params = _query(request)
        params["from"] = first.isoformat()
        params["to"] = last.isoformat()
        active = period is not None and (period.first, period.last) == (first, last)
        out.append(Preset(key, label, first, last, f"?{params.urlencode()}", active))
    return out


@register.simple_tag(takes_context=True)
def carried_params(context: template.Context, form: Any = None) -> list[tuple[str, str]]:
    """The current query's parameters the picker form does not show itself (the B2B/B2C view,
    the funnel mode, the drill-down's metric …), as hidden inputs keep them on submit."""
    request = context.get("request")
    if request is None:
        return []
    shown = set(getattr(form, "fields", {}) or ()) | {"from", "to", "compare"}
    return [
        (key, value)
        for key, values in _query(request).lists()
        if key not in shown
        for value in values
    ]


@register.simple_tag(takes_context=True)
def report_query(context: template.Context) -> str:
    """``?from=…&to=…&channel=…`` of the current request, for links to the other report tabs."""
    request = context.get("request")
    if request is None:
        return ""
    params = QueryDict(mutable=True)
    for key in REPORT_PARAMS:
        values = request.GET.getlist(key)
        if values:
            params.setlist(key, values)
    return f"?{params.urlencode()}" if params else ""
