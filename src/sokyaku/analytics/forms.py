"""The period picker and filters every report page shares (``analytics/_period.html``).

``ReportForm(request.GET, filters=…)`` reads ``from`` / ``to`` (YYYY-MM-DD, Tokyo days),
``compare`` and the filter ids a page offers, and checks them with the same functions the API
uses (``period.period_parse``, ``period.filters_resolve``), so a malformed date, an end before
the start or a deleted channel get the same message everywhere — here as a field error on the
page (never a server error). After ``is_valid()``: ``form.period``, ``form.filters``,
``form.compare``.

``compare`` defaults to on: the picker sends a hidden ``compare=0`` before the checkbox's
``compare=1``, so the last value says what the user chose and a link without the parameter
(a preset, a bookmark) keeps the default.

Choices for the filter selects are read through the owning apps' selectors by
``filter_choices`` (only for the filters a page offers), so the form itself never queries.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django import forms
from django.http import QueryDict
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from sokyaku.analytics.period import Filters, Period, filters_resolve, period_parse
from sokyaku.core.errors import ValidationError
from sokyaku.core.visibility import ManagedScope

FILTERS = ("channel", "campaign", "segment", "owner", "team")
Pairs = list[tuple[int, str]]

_LABELS = {
    "channel": (_("Channel"), _("All channels")),
    "campaign": (_("Campaign"), _("All campaigns")),
    "segment": (_("Segment"), _("All contacts")),
    "owner": (_("Owner"), _("All owners")),
    "team": (_("Team"), _("All teams")),
}


@dataclass
class FilterChoices:
    """(id, label) pairs per filter select."""

    channel: Pairs = field(default_factory=list)
    campaign: Pairs = field(default_factory=list)
    segment: Pairs = field(default_factory=list)
    owner: Pairs = field(default_factory=list)
    team: Pairs = field(default_factory=list)


def filter_choices(
    filters: Sequence[str] = FILTERS, *, scope: ManagedScope | None = None
) -> FilterChoices:
    """The options of the filter selects ``filters`` names (one query per select); with a
    ``scope``, only its people and teams."""
    from sokyaku.campaigns import selectors as campaign_selectors
    from sokyaku.core import selectors as core_selectors
    from sokyaku.core.templatetags.sokyaku_ui import user_name
    from sokyaku.handoff import selectors as handoff_selectors
    from sokyaku.segments import selectors as segment_selectors

    out = FilterChoices()
    if "channel" in filters:
        rows = campaign_selectors.channel_list(user=None).only("id", "name")
        out.channel = [(c.pk, c.name) for c in rows]
    if "campaign" in filters:
        campaigns = campaign_selectors.campaign_list(user=None)
        out.campaign = [(c.pk, c.name) for c in campaigns]
    if "segment" in filters:
        segments = segment_selectors.segment_list(user=None).order_by("name")
        out.segment = [(s.pk, s.name) for s in segments]
    if "owner" in filters:
        users = core_selectors.user_list()
        if scope is not None:
            users = users.filter(pk__in=sorted(scope.user_ids))
        out.owner = [(int(u.pk), user_name(u)) for u in users]
    if "team" in filters:
        teams = handoff_selectors.team_list()
        if scope is not None:
            teams = teams.filter(pk__in=sorted(scope.team_ids))
        out.team = [(t.pk, t.name) for t in teams]
    return out


def compare_wanted(data: QueryDict | dict[str, Any]) -> bool:
    """Whether "compare with the previous period" is on (the last ``compare`` value; default on)."""
    values = data.getlist("compare") if isinstance(data, QueryDict) else [data.get("compare")]
    values = [v for v in values if v is not None]
    if not values:
        return True
    return str(values[-1]).lower() not in ("0", "false", "off", "")


class ReportForm(forms.Form):
    """The period (``from``, ``to``), comparison and the filters a report page offers."""

    def __init__(
        self,
        data: QueryDict | dict[str, Any] | None = None,
        *,
        filters: Sequence[str] = FILTERS,
        choices: FilterChoices | None = None,
        with_compare: bool = True,
        scope: ManagedScope | None = None,
    ) -> None:
        super().__init__(data if data is not None else {})
        self.scope = scope
        self.filter_names = tuple(name for name in FILTERS if name in filters)
        self.with_compare = with_compare
        self.fields["from"] = forms.CharField(
            label=pgettext_lazy("report period", "From"), required=False
        )
        self.fields["to"] = forms.CharField(
            label=pgettext_lazy("report period", "To"), required=False
        )
        pairs = choices or FilterChoices()
        for name in self.filter_names:
            label, blank = _LABELS[name]
            self.fields[name] = forms.CharField(
                label=label,
                required=False,
                widget=forms.Select(
                    choices=[("", blank), *getattr(pairs, name)],
                    attrs={"id": f"report-{name}"},
                ),
            )
        self.period: Period | None = None
        self.filters = Filters()
        raw = data if data is not None else {}
        self.compare = with_compare and compare_wanted(raw)

    @property
    def filter_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in self.filter_names]

    def date_value(self, name: str) -> str:
        """What a date input shows: the date asked for, else the period's (the default)."""
        value = str(self.data.get(name) or "").strip()
        if value or self.period is None:
            return value
        return (self.period.first if name == "from" else self.period.last).isoformat()

    @property
    def from_value(self) -> str:
        return self.date_value("from")

    @property
    def to_value(self) -> str:
        return self.date_value("to")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        try:
            self.period = period_parse(data.get("from") or None, data.get("to") or None)
        except ValidationError as exc:
            self._add_errors(exc)
        try:
            self.filters = filters_resolve(
                **{name: data.get(name) for name in self.filter_names}, scope=self.scope
            )
        except ValidationError as exc:
            self._add_errors(exc)
        return data

    def _add_errors(self, exc: ValidationError) -> None:
        if not exc.field_errors:
            self.add_error(None, exc.message)
            return
        for name, message in exc.field_errors.items():
            self.add_error(name if name in self.fields else None, message)

    def filter_params(self) -> dict[str, int]:
        """The resolved filters as query parameters (for drill-down links and exports)."""
        return self.filters.as_params()


def report_form(
    data: QueryDict,
    *,
    filters: Sequence[str] = FILTERS,
    with_compare: bool = True,
    scope: ManagedScope | None = None,
) -> ReportForm:
    """A bound ``ReportForm`` with the select options of ``filters`` read from the database
    (with a ``scope``: only its people and teams, and only they are accepted)."""
    return ReportForm(
        data,
        filters=filters,
        choices=filter_choices(filters, scope=scope),
        with_compare=with_compare,
        scope=scope,
    )
