"""The pipeline board: one column per stage with its sums, a card per deal, and the move.

A move (drag and drop in ``board.js``, or the card's "move to" select) posts the stage and the
version the card showed. The board script asks for the board's HTML back (``X-Board-Partial``)
and swaps it in: 200 after a move, 409 when someone else moved the deal first (the notice says
so and the card shows where the deal is now; nothing is overwritten), 422 when the move needs
more (an amount to win, a reason to lose: ``X-Deal-Needs: lost_reason`` opens the reason
dialog). Without the script the form posts normally and the answer is a redirect with a
message.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.contrib.auth.models import AnonymousUser, User
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from sokyaku.core import selectors as core_selectors
from sokyaku.core import services as core_services
from sokyaku.core.errors import Conflict, ValidationError
from sokyaku.core.http import actor, domain_errors
from sokyaku.core.templatetags.sokyaku_ui import user_name
from sokyaku.core.visibility import visible_owner_ids
from sokyaku.deals import selectors, services
from sokyaku.deals.forms import MoveForm, lost_reason_choices
from sokyaku.deals.models import Deal, DealStage, Pipeline

VIEW = "deals.view_deal"
CHANGE = "deals.change_deal"
PARTIAL_HEADER = "X-Board-Partial"
NEEDS_HEADER = "X-Deal-Needs"


@dataclass(frozen=True)
class BoardFilters:
    """What the board is narrowed to: a pipeline, an owner, a search text."""

    pipeline_id: int | None
    owner_id: int | None
    q: str

    @classmethod
    def of(cls, request: HttpRequest) -> BoardFilters:
        raw_pipeline = request.GET.get("pipeline", "")
        raw_owner = request.GET.get("owner", "")
        return cls(
            pipeline_id=int(raw_pipeline) if raw_pipeline.isdigit() else None,
            owner_id=int(raw_owner) if raw_owner.isdigit() else None,
            q=request.GET.get("q", "").strip()[:100],
        )

    def query(self) -> str:
        """The filters as a query string (without ``?``), for links and redirects."""
        params = {"pipeline": self.pipeline_id, "owner": self.owner_id, "q": self.q}
        return urlencode({k: v for k, v in params.items() if v})


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold()


def _matches(deal: Deal, needle: str) -> bool:
    contact = deal.contact
    haystack = " ".join(
        [
            deal.name,
            deal.company.name if deal.company else "",
            contact.display_name if contact else "",
            contact.display_name_kana if contact else "",
            contact.email if contact else "",
        ]
    )
    return needle in _fold(haystack)


def _narrowed(
    columns: list[selectors.BoardColumn], filters: BoardFilters
) -> list[selectors.BoardColumn]:
    """The columns with only the deals of the chosen owner / matching the search, re-summed."""
    if not filters.owner_id and not filters.q:
        return columns
    needle = _fold(filters.q)
    result = []
    for column in columns:
        deals = [
            d
            for d in column.deals
            if (not filters.owner_id or d.owner_id == filters.owner_id)
            and (not needle or _matches(d, needle))
        ]
        total = sum(d.amount or 0 for d in deals)
        result.append(
            selectors.BoardColumn(
                stage=column.stage,
                deals=deals,
                count=len(deals),
                total=total,
                weighted=(total * column.stage.probability + 50) // 100,
                stagnating_ids=column.stagnating_ids & {d.pk for d in deals},
            )
        )
    return result


def owner_choices(user: User | AnonymousUser) -> list[tuple[int, str]]:
    """The users ``user`` may assign deals to or filter by: everyone active for those who see
    every deal, else the owners whose deals they see (themselves, their team)."""
    users = core_selectors.user_list()
    visible = visible_owner_ids(user)
    if visible is not None:
        users = users.filter(pk__in=sorted(visible))
    return [(u.pk, user_name(u)) for u in users]


def _pipeline(filters: BoardFilters) -> tuple[Pipeline, list[Pipeline]]:
    pipelines = selectors.pipeline_list()
    if not pipelines:
        pipelines = [selectors.pipeline_get(id=selectors.pipeline_default().pk)]
    chosen = next((p for p in pipelines if p.pk == filters.pipeline_id), pipelines[0])
    return chosen, pipelines


def board_context(
    request: HttpRequest, *, pipeline: Pipeline | None = None, notice: str = "", level: str = ""
) -> dict[str, Any]:
    """What ``deals/_board.html`` shows: the columns as the server sees them now."""
    filters = BoardFilters.of(request)
    chosen, pipelines = _pipeline(filters)
    if pipeline is not None:
        chosen = next((p for p in pipelines if p.pk == pipeline.pk), chosen)
    columns = _narrowed(selectors.board(user=request.user, pipeline=chosen), filters)
    return {
        "pipeline": chosen,
        "pipelines": pipelines,
        "stages": [c.stage for c in columns],
        "columns": columns,
        "filters": filters,
        "notice": notice,
        "notice_level": level,
        "may_move": request.user.has_perm(CHANGE),
    }


def _partial(request: HttpRequest) -> bool:
    return request.headers.get(PARTIAL_HEADER) == "1"


@require_GET
@login_required
@permission_required(VIEW, raise_exception=True)
@domain_errors
def board(request: HttpRequest) -> HttpResponse:
    context = board_context(request)
    # The cards name people (contact, company, owner): a list view of personal data.
    core_services.data_access_log(
        kind="bulk_view",
        resource="deals.board",
        fields=["deal", "contact", "company", "amount", "expected_close", "owner"],
        rows=sum(len(column.deals) for column in context["columns"]),
        user=actor(request),
        filters={"pipeline": context["pipeline"].pk, "owner": context["filters"].owner_id},
    )
    if _partial(request):
        response = render(request, "deals/_board.html", context)
    else:
        context["owners"] = owner_choices(request.user)
        context["lost_reasons"] = lost_reason_choices()
        response = render(request, "deals/board.html", context)
    patch_vary_headers(response, [PARTIAL_HEADER])
    return response


def _stage_of(deal: Deal, stage_id: int) -> DealStage | None:
    return next((s for s in selectors.stage_list(pipeline=deal.pipeline) if s.pk == stage_id), None)


@require_POST
@login_required
@permission_required(CHANGE, raise_exception=True)
@domain_errors
def move(request: HttpRequest, deal_id: int) -> HttpResponse:
    """Move a deal to another stage of its pipeline, refusing a stale card (409)."""
    deal = selectors.deal_get(user=request.user, id=deal_id)
    form = MoveForm(request.POST)
    status, level, needs = 200, "success", ""
    stage = _stage_of(deal, form.cleaned_data["stage"]) if form.is_valid() else None
    if stage is None:
        status, level = 422, "error"
        notice = _("Choose a stage of this deal's pipeline.")
    else:
        data = form.cleaned_data
        try:
            deal = services.deal_move(
                deal=deal,
                stage=stage,
                version=data["version"],
                actor=actor(request),
                lost_reason=data["lost_reason"],
                note=data["note"],
            )
        except Conflict:
            deal = selectors.deal_get(user=request.user, id=deal_id)
            status, level = 409, "warning"
            notice = _(
                "“%(deal)s” was moved by someone else in the meantime: it is in %(stage)s now. "
                "Nothing was overwritten; the board shows the current state."
            ) % {"deal": deal.name, "stage": deal.stage.name}
        except ValidationError as exc:
            status, level = 422, "error"
            notice = next(iter(exc.field_errors.values()), exc.message)
            if "lost_reason" in exc.field_errors:
                needs = "lost_reason"
                notice = _("Choose why “%(deal)s” was lost.") % {"deal": deal.name}
            elif "amount" in exc.field_errors:
                notice = _(
                    "“%(deal)s” cannot be won without an amount. Enter the amount on the deal's "
                    "page first."
                ) % {"deal": deal.name}
        else:
            notice = _("“%(deal)s” moved to %(stage)s.") % {"deal": deal.name, "stage": stage.name}
    if _partial(request):
        context = board_context(request, pipeline=deal.pipeline, notice=notice, level=level)
        response = render(request, "deals/_board.html", context, status=status)
        if needs:
            response[NEEDS_HEADER] = needs
        return response
    getattr(messages, level)(request, notice)
    if needs or request.POST.get("next") == "detail":
        url = reverse("deals:detail", args=[deal.pk])
        return redirect(f"{url}#lose" if needs else url)
    query = BoardFilters.of(request).query()
    return redirect(reverse("deals:board") + (f"?{query}" if query else ""))
