"""The report pages' charts as plotly figures, built here and drawn in the browser.

A figure is built from the selectors' numbers (plain sequences, no queries here) and serialised
with ``figure_json`` into a ``data-figure`` attribute (the ``{% chart %}`` tag);
``static/analytics/charts.js`` draws it with plotly.js from our static files, with the mode
bar's logo off and the chart following its box's width.

Every figure uses ``TEMPLATE``: the product's colours and the UI's font stack (Japanese fonts
first), so labels in Japanese render in the same face as the page. A small explicit template is
used instead of plotly's stock ones, which would add a few kilobytes of JSON to every chart.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime, time, timedelta
from typing import Any

import plotly.graph_objects as go
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

FONT = (
    '"Hiragino Sans", "Hiragino Kaku Gothic ProN", "Noto Sans JP", "Noto Sans CJK JP", '
    '"Yu Gothic UI", "Yu Gothic", "Meiryo", system-ui, sans-serif'
)
COLORS = (
    "#1f4e8c",  # brand blue
    "#e0702b",  # accent orange
    "#1f7a4d",  # green
    "#7a5cc2",  # violet
    "#1f8a8a",  # teal
    "#c2415b",  # rose
    "#9a5b00",  # ochre
    "#3b82c4",  # light blue
    "#8aa4c8",  # grey blue
    "#6f7a8f",  # grey
)
GRID = "#e2e6ee"
INK = "#1d2433"
HEIGHT = 320

TEMPLATE = go.layout.Template(
    layout=go.Layout(
        colorway=list(COLORS),
        font={"family": FONT, "size": 12, "color": INK},
        paper_bgcolor="#ffffff",
        plot_bgcolor="#ffffff",
        margin={"l": 56, "r": 16, "t": 16, "b": 40},
        height=HEIGHT,
        hoverlabel={"font": {"family": FONT}},
        legend={"orientation": "h", "x": 0, "y": -0.15, "yanchor": "top"},
        xaxis={"gridcolor": GRID, "linecolor": GRID, "zerolinecolor": GRID, "automargin": True},
        yaxis={"gridcolor": GRID, "linecolor": GRID, "zerolinecolor": GRID, "automargin": True},
        separators=".,",
    )
)


def figure_json(fig: go.Figure | Mapping[str, Any]) -> str:
    """The figure as JSON for ``charts.js`` (``{"data": [...], "layout": {...}}``)."""
    if isinstance(fig, go.Figure):
        return str(fig.to_json(validate=False, engine="json"))
    import json

    return json.dumps(fig, ensure_ascii=False, default=str)


def _figure(title: str) -> go.Figure:
    # The title is kept in ``meta`` (it names the chart for screen readers); the page shows it
    # as the card's heading rather than inside the plot.
    return go.Figure(layout={"template": TEMPLATE, "meta": {"title": title}})


def _nothing(fig: go.Figure) -> go.Figure:
    """An empty chart says so in its middle, without axes counting to nothing."""
    fig.add_annotation(
        text=_("No data for this period"),
        xref="paper",
        yref="paper",
        x=0.5,
        y=0.5,
        showarrow=False,
        font={"size": 14, "color": "#6f7a8f"},
    )
    fig.update_xaxes(showticklabels=False, showgrid=False, zeroline=False)
    fig.update_yaxes(showticklabels=False, showgrid=False, zeroline=False, title_text="")
    return fig


def _count_axis(fig: go.Figure, top: float, **axis: Any) -> None:
    """Whole numbers on the value axis: small counts tick by one, not by halves."""
    if top <= 5:
        axis["dtick"] = 1
    fig.update_yaxes(rangemode="tozero", tickformat=",d", **axis)


def _iso(days: Sequence[date]) -> list[str]:
    return [d.isoformat() for d in days]


def _date_axis(fig: go.Figure, grain: str) -> None:
    formats = {"day": "%m/%d", "week": "%m/%d", "month": "%Y/%m"}
    fig.update_xaxes(type="date", tickformat=formats.get(grain, "%m/%d"))


def _partial_label() -> str:
    return pgettext("a day still being counted", "In progress")


def _mark_partial(fig: go.Figure, bucket: date, grain: str) -> None:
    """Shade the bucket that holds today and say that its numbers are still coming in."""
    half = {"day": timedelta(hours=12), "week": timedelta(days=3, hours=12)}.get(
        grain, timedelta(days=15)
    )
    middle = datetime.combine(bucket, time(0))
    fig.add_vrect(
        x0=(middle - half).isoformat(),
        x1=(middle + half).isoformat(),
        fillcolor="#8aa4c8",
        opacity=0.15,
        line_width=0,
        layer="below",
        annotation_text=_partial_label(),
        annotation_position="top",
        annotation_font={"size": 11, "color": "#6f7a8f"},
    )


def leads_by_channel(
    dates: Sequence[date],
    per_channel: Mapping[str, Sequence[int]],
    *,
    grain: str = "day",
    partial: date | None = None,
) -> go.Figure:
    """New leads per day / week / month, one stacked bar segment per first-touch channel.
    ``partial``: the bucket holding today, drawn lighter and marked as still being counted."""
    fig = _figure(_("Leads over time by channel"))
    x = _iso(dates)
    opacity = [0.45 if day == partial else 1.0 for day in dates]
    for name, values in per_channel.items():
        fig.add_bar(
            name=name, x=x, y=list(values), hovertemplate="%{y:,}", marker={"opacity": opacity}
        )
    fig.update_layout(barmode="stack", hovermode="x unified", bargap=0.15)
    _date_axis(fig, grain)
    totals = [sum(column) for column in zip(*per_channel.values(), strict=True)]
    if not any(totals):
        return _nothing(fig)
    if partial is not None and partial in dates:
        _mark_partial(fig, partial, grain)
    _count_axis(fig, max(totals), title_text=_("Leads"))
    return fig


def funnel(labels: Sequence[str], counts: Sequence[int]) -> go.Figure:
    """The stages as a funnel, each bar with its count and share of the stage before."""
    fig = _figure(_("Funnel"))
    fig.add_trace(
        go.Funnel(
            y=list(labels),
            x=list(counts),
            textinfo="value+percent previous",
            marker={"color": list(COLORS[: len(labels)])},
            connector={"fillcolor": "#e8f0fb"},
            hovertemplate="%{y}: %{x:,}<extra></extra>",
        )
    )
    fig.update_layout(margin={"l": 110, "r": 16, "t": 8, "b": 8})
    if not any(counts):
        return _nothing(fig)
    return fig


def cost_revenue(
    channels: Sequence[str], costs: Sequence[float], revenues: Sequence[float]
) -> go.Figure:
    """Cost beside won revenue per channel, in yen."""
    fig = _figure(_("Cost and revenue by channel"))
    fig.add_bar(name=_("Cost"), x=list(channels), y=[round(c) for c in costs])
    fig.add_bar(
        name=pgettext("won deals", "Revenue"), x=list(channels), y=[round(r) for r in revenues]
    )
    fig.update_traces(hovertemplate="¥%{y:,}")
    # The legend above the bars: long channel names slant under the axis and would run into it.
    fig.update_layout(
        barmode="group",
        hovermode="x unified",
        legend={"orientation": "h", "x": 0, "y": 1.02, "yanchor": "bottom"},
        margin={"t": 40},
    )
    if not any(costs) and not any(revenues):
        return _nothing(fig)
    fig.update_yaxes(tickprefix="¥", tickformat=",d", rangemode="tozero")
    return fig


def _ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def email_rates(
    dates: Sequence[date],
    *,
    delivered: Sequence[int],
    opened: Sequence[int],
    clicked: Sequence[int],
    converted: Sequence[int],
    grain: str = "day",
    partial: date | None = None,
) -> go.Figure:
    """Open rate, CTR and conversion rate of marketing mail by sending day (over delivered);
    a bucket without delivered mail is a gap, not a zero. ``partial`` (the bucket holding
    today) is left out of the lines — its opens and clicks are still to come, so its rate
    would read as a fall to 0 % — and marked as still being counted."""
    fig = _figure(_("Email rates over time"))
    x = _iso(dates)
    lines = (
        (_("Open rate"), opened),
        (_("CTR"), clicked),
        (_("Conversion rate"), converted),
    )
    for name, values in lines:
        fig.add_scatter(
            name=name,
            x=x,
            y=[
                None if day == partial else _ratio(v, d)
                for day, v, d in zip(dates, values, delivered, strict=True)
            ],
            mode="lines+markers",
            connectgaps=False,
            hovertemplate="%{y:.1%}",
        )
    fig.update_layout(hovermode="x unified")
    _date_axis(fig, grain)
    finished = [d for day, d in zip(dates, delivered, strict=True) if day != partial]
    if not any(finished):
        return _nothing(fig)
    fig.update_yaxes(tickformat=".0%", rangemode="tozero")
    if partial is not None and partial in dates:
        _mark_partial(fig, partial, grain)
    return fig


def channel_bars(
    channels: Sequence[str], values: Sequence[float], *, name: str, yen: bool = False
) -> go.Figure:
    """One value per channel as horizontal bars (the channel table's chart)."""
    fig = _figure(name)
    fig.add_bar(
        name=name,
        y=list(channels),
        x=[round(v) for v in values],
        orientation="h",
        hovertemplate=("¥%{x:,}" if yen else "%{x:,}") + "<extra></extra>",
    )
    fig.update_yaxes(autorange="reversed")
    fig.update_xaxes(tickprefix="¥" if yen else "", tickformat=",d", rangemode="tozero")
    fig.update_layout(height=max(200, 40 * len(channels) + 80), showlegend=False)
    return fig
