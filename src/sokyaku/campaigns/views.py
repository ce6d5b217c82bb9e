"""Channels UI: the channel table (cost, leads and CPL this month and last), a channel's page,
channel rules (list, edit, reorder, try a URL, re-apply), monthly costs (month × channel grid,
campaign costs, CSV upload), campaigns, and the tracking code to install on a website.

Views are thin: they parse the request, call permission-checked selectors and the services, and
render. Reading needs the ``campaigns.view_*`` permissions (checked by the selectors); writing
needs ``campaigns.change_*``.
"""

from __future__ import annotations

from datetime import date
from typing import Any
from urllib.parse import parse_qs, urlsplit

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from sokyaku.activity import tracking
from sokyaku.campaigns import costs, selectors, services
from sokyaku.campaigns.forms import (
    FIELD_LABELS,
    CampaignCostForm,
    CampaignForm,
    ChannelForm,
    CostUploadForm,
    RuleForm,
    RuleTestForm,
    add_service_errors,
    problem_text,
)
from sokyaku.campaigns.matching import signals_of
from sokyaku.campaigns.models import ChannelRule
from sokyaku.contacts import selectors as contact_selectors
from sokyaku.contacts import tasks as contact_tasks
from sokyaku.core import clock
from sokyaku.core.errors import SokyakuError
from sokyaku.core.http import domain_errors

_CHANGE_CHANNEL = "campaigns.change_channel"
_CHANGE_RULE = "campaigns.change_channelrule"
_CHANGE_COST = "campaigns.change_channelcost"
_CHANGE_CAMPAIGN = "campaigns.change_campaign"
RECENT_LEADS = 20


def _month_param(request: HttpRequest) -> date | None:
    try:
        return costs.month_parse(request.GET.get("month", ""))
    except costs.ParseError:
        return None


# --- Channels -------------------------------------------------------------------------------


@require_GET
@login_required
@domain_errors
def channel_list(request: HttpRequest) -> HttpResponse:
    table = selectors.channel_table(user=request.user, month=_month_param(request))
    context = {
        "table": table,
        "prev_month": selectors.month_add(table.this_month, -1),
        "next_month": selectors.month_add(table.this_month, 1),
        "is_current": table.this_month == selectors.this_month(),
    }
    return render(request, "campaigns/channel_list.html", context)


@require_GET
@login_required
@domain_errors
def channel_detail(request: HttpRequest, channel_id: int) -> HttpResponse:
    channel = selectors.channel_get(user=request.user, id=channel_id)
    context = {
        "channel": channel,
        "months": selectors.channel_months(user=request.user, channel=channel),
        "campaigns": list(selectors.campaign_list(user=request.user).filter(channel=channel)),
        "rules": list(selectors.channel_rule_list(user=request.user).filter(channel=channel)),
        "leads": contact_selectors.channel_lead_list(
            user=request.user, channel_id=channel.pk, limit=RECENT_LEADS
        ),
    }
    return render(request, "campaigns/channel_detail.html", context)


@require_http_methods(["GET", "POST"])
@login_required
@permission_required(_CHANGE_CHANNEL, raise_exception=True)
@domain_errors
def channel_create(request: HttpRequest) -> HttpResponse:
    form = ChannelForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            channel = services.channel_create(**form.cleaned_data)
        except SokyakuError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("Channel created."))
            return redirect("campaigns:channel_detail", channel_id=channel.pk)
    return render(request, "campaigns/channel_form.html", {"form": form, "channel": None})


@require_http_methods(["GET", "POST"])
@login_required
@permission_required(_CHANGE_CHANNEL, raise_exception=True)
@domain_errors
def channel_edit(request: HttpRequest, channel_id: int) -> HttpResponse:
    channel = selectors.channel_get(user=request.user, id=channel_id)
    form = ChannelForm.for_channel(channel, request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            services.channel_update(channel=channel, **form.cleaned_data)
        except SokyakuError as exc:
            add_service_errors(form, exc)
            channel = selectors.channel_get(user=request.user, id=channel_id)
        else:
            messages.success(request, _("Channel saved."))
            return redirect("campaigns:channel_detail", channel_id=channel.pk)
    return render(request, "campaigns/channel_form.html", {"form": form, "channel": channel})


# --- Channel rules --------------------------------------------------------------------------


def _rule_test(request: HttpRequest, rules: list[ChannelRule]) -> dict[str, Any] | None:
    """Which rule a landing URL and referrer (``?url=…&referrer=…``) would match."""
    form = RuleTestForm(request.GET)
    if not form.is_valid() or not (form.cleaned_data["url"] or form.cleaned_data["referrer"]):
        return None
    url, referrer = form.cleaned_data["url"], form.cleaned_data["referrer"]
    try:
        query = parse_qs(urlsplit(url).query)
    except ValueError:
        query = {}
    touch = {k: v[0] for k, v in query.items() if k.startswith("utm_") and v}
    touch.update(url=url, referrer=referrer)
    match = selectors.channel_matcher().match(touch)
    by_id = {r.pk: r for r in rules}
    channel = (
        selectors.channel_get(user=request.user, id=match.channel_id)
        if match.channel_id is not None
        else None
    )
    return {
        "signals": signals_of(touch),
        "rule": by_id.get(match.rule_id) if match.rule_id is not None else None,
        "by_campaign": match.by_campaign,
        "channel": channel,
    }


@require_GET
@login_required
@domain_errors
def rule_list(request: HttpRequest) -> HttpResponse:
    rules = list(selectors.channel_rule_list(user=request.user))
    context = {
        "rules": rules,
        "test_form": RuleTestForm(request.GET or None),
        "test": _rule_test(request, rules),
    }
    return render(request, "campaigns/rule_list.html", context)


def _rule_form(request: HttpRequest, rule: ChannelRule | None) -> HttpResponse:
    channels = list(selectors.channel_list(user=request.user))
    data = request.POST if request.method == "POST" else None
    initial: dict[str, Any] = {}
    if rule is not None:
        initial = {
            "name": rule.name,
            "channel": rule.channel_id,
            "priority": rule.priority,
            "source_op": rule.source_op,
            "source_values": rule.source_values,
            "medium_op": rule.medium_op,
            "medium_values": rule.medium_values,
            "referrer_op": rule.referrer_op,
            "referrer_values": rule.referrer_values,
            "is_active": rule.is_active,
        }
    elif request.GET.get("channel", "").isdigit():
        initial = {"channel": int(request.GET["channel"])}
    form = RuleForm(data, initial=initial, channels=channels)
    if request.method == "POST" and form.is_valid():
        try:
            if rule is None:
                services.channel_rule_create(data=form.to_input())
            else:
                services.channel_rule_update(rule=rule, data=form.to_input())
        except SokyakuError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(
                request,
                _("Rule saved. Re-apply the rules to update the channels of existing contacts."),
            )
            return redirect("campaigns:rule_list")
    return render(request, "campaigns/rule_form.html", {"form": form, "rule": rule})


@require_http_methods(["GET", "POST"])
@login_required
@permission_required(_CHANGE_RULE, raise_exception=True)
@domain_errors
def rule_create(request: HttpRequest) -> HttpResponse:
    return _rule_form(request, None)


@require_http_methods(["GET", "POST"])
@login_required
@permission_required(_CHANGE_RULE, raise_exception=True)
@domain_errors
def rule_edit(request: HttpRequest, rule_id: int) -> HttpResponse:
    return _rule_form(request, selectors.channel_rule_get(user=request.user, id=rule_id))


@require_POST
@login_required
@permission_required(_CHANGE_RULE, raise_exception=True)
@domain_errors
def rule_delete(request: HttpRequest, rule_id: int) -> HttpResponse:
    rule = selectors.channel_rule_get(user=request.user, id=rule_id)
    services.channel_rule_delete(rule=rule)
    messages.success(request, _("Rule deleted."))
    return redirect("campaigns:rule_list")


@require_POST
@login_required
@permission_required(_CHANGE_RULE, raise_exception=True)
@domain_errors
def rule_move(request: HttpRequest, rule_id: int) -> HttpResponse:
    rule = selectors.channel_rule_get(user=request.user, id=rule_id)
    services.channel_rule_move(rule=rule, offset=-1 if request.POST.get("to") == "up" else 1)
    return redirect(f"{reverse('campaigns:rule_list')}#rule-{rule.pk}")


@require_POST
@login_required
@permission_required(_CHANGE_RULE, raise_exception=True)
def rules_reapply(request: HttpRequest) -> HttpResponse:
    transaction.on_commit(contact_tasks.channel_rules_reapply)
    messages.success(
        request,
        _("The rules are being applied to existing contacts. Channel figures update shortly."),
    )
    return redirect("campaigns:rule_list")


# --- Costs ----------------------------------------------------------------------------------


def _cell_name(channel_id: int, month: date) -> str:
    return f"cost_{channel_id}_{month:%Y%m}"


def _year_param(request: HttpRequest) -> int:
    raw = request.GET.get("year", "")
    year = int(raw) if raw.isdigit() and len(raw) == 4 else clock.local_now().year
    return min(max(year, 2000), 2100)


def _costs_context(
    request: HttpRequest,
    year: int,
    *,
    posted: dict[str, str] | None = None,
    cell_errors: dict[str, str] | None = None,
    campaign_form: CampaignCostForm | None = None,
    upload_form: CostUploadForm | None = None,
    upload_problems: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    grid = selectors.cost_grid(user=request.user, year=year)
    cell_errors = cell_errors or {}
    rows = []
    for channel in grid.channels:
        cells = []
        for month in grid.months:
            name = _cell_name(channel.pk, month)
            amount = grid.amount(channel.pk, month)
            stored = f"{amount:,}" if amount is not None else ""
            cells.append(
                {
                    "name": name,
                    "month": month,
                    "value": posted.get(name, "") if posted is not None else stored,
                    "error": cell_errors.get(name, ""),
                    "campaigns": grid.campaign_totals.get((channel.pk, month)),
                }
            )
        rows.append({"channel": channel, "cells": cells})
    totals = []
    for month in grid.months:
        values = [grid.cells.get((c.pk, month)) for c in grid.channels]
        values += [grid.campaign_totals.get((c.pk, month)) for c in grid.channels]
        present = [v for v in values if v is not None]
        totals.append(sum(present) if present else None)
    campaigns = list(selectors.campaign_list(user=request.user))
    campaign_costs = list(
        selectors.cost_list(
            user=request.user, month_from=date(year, 1, 1), month_to=date(year, 12, 1)
        ).filter(campaign__isnull=False)
    )
    return {
        "year": year,
        "months": grid.months,
        "rows": rows,
        "totals": totals,
        "campaign_costs": campaign_costs,
        "campaign_form": campaign_form or CampaignCostForm(campaigns=campaigns),
        "upload_form": upload_form or CostUploadForm(),
        "upload_problems": upload_problems or [],
        "has_errors": bool(cell_errors),
    }


@require_http_methods(["GET", "POST"])
@login_required
@domain_errors
def cost_grid(request: HttpRequest) -> HttpResponse:
    """The month × channel grid of channel-level costs; POST saves the whole grid."""
    year = _year_param(request)
    if request.method != "POST":
        return render(request, "campaigns/costs.html", _costs_context(request, year))
    if not request.user.has_perm(_CHANGE_COST):
        raise DjangoPermissionDenied
    grid = selectors.cost_grid(user=request.user, year=year)
    posted: dict[str, str] = {}
    errors: dict[str, str] = {}
    rows: list[services.CostRow] = []
    for channel in grid.channels:
        for month in grid.months:
            name = _cell_name(channel.pk, month)
            if name not in request.POST:
                continue
            text = request.POST[name].strip()
            posted[name] = text
            try:
                amount = costs.amount_parse(text) if text else None
            except costs.ParseError as exc:
                errors[name] = problem_text(services.CostProblem(0, "amount", exc.code))
                continue
            rows.append(services.CostRow(month=month, channel_id=channel.pk, amount_jpy=amount))
    if errors:
        messages.error(request, _("Some amounts could not be read; nothing was saved."))
        context = _costs_context(request, year, posted=posted, cell_errors=errors)
        return render(request, "campaigns/costs.html", context, status=422)
    saved = services.channel_costs_upsert(rows=rows)
    messages.success(
        request,
        _("Costs saved: %(created)d added, %(updated)d changed, %(deleted)d removed.")
        % {"created": saved.created, "updated": saved.updated, "deleted": saved.deleted},
    )
    return redirect(f"{reverse('campaigns:costs')}?year={year}")


@require_POST
@login_required
@permission_required(_CHANGE_COST, raise_exception=True)
@domain_errors
def campaign_cost_add(request: HttpRequest) -> HttpResponse:
    campaigns = list(selectors.campaign_list(user=request.user))
    form = CampaignCostForm(request.POST, campaigns=campaigns)
    if form.is_valid():
        campaign = next(c for c in campaigns if c.pk == form.cleaned_data["campaign"])
        month = form.cleaned_data["month"]
        services.channel_costs_upsert(
            rows=[
                services.CostRow(
                    month=month,
                    channel_id=campaign.channel_id,
                    campaign_id=campaign.pk,
                    amount_jpy=form.cleaned_data["amount"],
                )
            ]
        )
        messages.success(request, _("Campaign cost saved."))
        return redirect(f"{reverse('campaigns:costs')}?year={month.year}#campaign-costs")
    context = _costs_context(request, _year_param(request), campaign_form=form)
    return render(request, "campaigns/costs.html", context, status=422)


@require_POST
@login_required
@permission_required(_CHANGE_COST, raise_exception=True)
@domain_errors
def cost_delete(request: HttpRequest, cost_id: int) -> HttpResponse:
    cost = selectors.cost_list(user=request.user).filter(pk=cost_id).first()
    year = _year_param(request)
    if cost is None:
        messages.error(request, _("This cost no longer exists."))
    else:
        year = cost.month.year
        services.channel_cost_delete(cost=cost)
        messages.success(request, _("Cost removed."))
    return redirect(f"{reverse('campaigns:costs')}?year={year}#campaign-costs")


@require_POST
@login_required
@permission_required(_CHANGE_COST, raise_exception=True)
@domain_errors
def cost_upload(request: HttpRequest) -> HttpResponse:
    form = CostUploadForm(request.POST, request.FILES)
    year = _year_param(request)
    if form.is_valid():
        upload = form.cleaned_data["file"]
        data = upload.read(costs.MAX_CSV_BYTES + 1)
        try:
            saved = services.channel_costs_import_csv(data=data)
        except services.CostInputError as exc:
            problems = [
                {
                    "line": p.line,
                    "field": str(FIELD_LABELS.get(p.field, p.field)),
                    "value": p.value,
                    "text": problem_text(p),
                }
                for p in exc.problems
            ]
            messages.error(request, _("The file has errors; nothing was saved."))
            context = _costs_context(request, year, upload_form=form, upload_problems=problems)
            return render(request, "campaigns/costs.html", context, status=422)
        messages.success(
            request,
            _("File imported: %(created)d costs added, %(updated)d changed, %(same)d unchanged.")
            % {"created": saved.created, "updated": saved.updated, "same": saved.unchanged},
        )
        return redirect(f"{reverse('campaigns:costs')}?year={year}")
    context = _costs_context(request, year, upload_form=form)
    return render(request, "campaigns/costs.html", context, status=422)


@require_GET
@login_required
def cost_template(request: HttpRequest) -> HttpResponse:
    response = HttpResponse("\ufeff" + costs.csv_template(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="sokyaku-costs.csv"'
    return response


# --- Campaigns ------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@login_required
@domain_errors
def campaign_list(request: HttpRequest) -> HttpResponse:
    channels = list(selectors.channel_list(user=request.user))
    form = CampaignForm(request.POST if request.method == "POST" else None, channels=channels)
    if request.method == "POST":
        if not request.user.has_perm(_CHANGE_CAMPAIGN):
            raise DjangoPermissionDenied
        if form.is_valid():
            try:
                services.campaign_save(data=form.to_input())
            except SokyakuError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, _("Campaign saved."))
                return redirect("campaigns:campaign_list")
    context = {"campaigns": list(selectors.campaign_list(user=request.user)), "form": form}
    return render(request, "campaigns/campaign_list.html", context)


@require_http_methods(["GET", "POST"])
@login_required
@permission_required(_CHANGE_CAMPAIGN, raise_exception=True)
@domain_errors
def campaign_edit(request: HttpRequest, campaign_id: int) -> HttpResponse:
    campaign = selectors.campaign_list(user=request.user).filter(pk=campaign_id).first()
    if campaign is None:
        messages.error(request, _("This campaign no longer exists."))
        return redirect("campaigns:campaign_list")
    channels = list(selectors.channel_list(user=request.user))
    initial = {
        "name": campaign.name,
        "channel": campaign.channel_id,
        "utm_campaign": campaign.utm_campaign,
        "starts_on": campaign.starts_on,
        "ends_on": campaign.ends_on,
    }
    form = CampaignForm(
        request.POST if request.method == "POST" else None, initial=initial, channels=channels
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.campaign_save(data=form.to_input(), campaign=campaign)
        except SokyakuError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("Campaign saved."))
            return redirect("campaigns:campaign_list")
    return render(request, "campaigns/campaign_form.html", {"form": form, "campaign": campaign})


# --- Tracking code --------------------------------------------------------------------------


@require_GET
@login_required
@domain_errors
def tracking_setup(request: HttpRequest) -> HttpResponse:
    """The code to paste into a website, and the notice its privacy page should link to."""
    selectors.channel_list(user=request.user)  # the same audience as the channel pages
    site = settings.SITE_URL
    context = {
        "snippet_url": site + reverse("tracking:snippet"),
        "pixel_url": site + reverse("tracking:pixel"),
        "notice_url": site + reverse("tracking:notice"),
        "fields": tracking.COLLECTED_FIELDS,
        "cookie_name": tracking.COOKIE_NAME,
        "operator_name": settings.OPERATOR_NAME,
    }
    return render(request, "campaigns/tracking.html", context)
