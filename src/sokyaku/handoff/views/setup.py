"""The handoff settings pages: triggers, routing rules (in order, with a "who would get this
contact" preview), teams with their members' away state, and where alerts go.

Admins change them (``handoff.add_/change_/delete_handofftrigger`` and ``…routingrule``,
``core.…team``, ``handoff.change_handoffsettings``); whoever may view a page without changing
it (marketers: triggers, routing, alert settings) sees it read-only. Teams are admin-only.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from sokyaku.contacts import selectors as contact_selectors
from sokyaku.contacts.models import Industry
from sokyaku.contacts.prefectures import prefecture_name
from sokyaku.core.errors import Conflict, NotFound, ValidationError
from sokyaku.core.http import actor, domain_errors
from sokyaku.handoff import selectors, services
from sokyaku.handoff.forms import (
    AwayForm,
    HandoffSettingsForm,
    RoutingPreviewForm,
    RoutingRuleForm,
    TeamForm,
    TriggerForm,
    tokyo_datetime,
)
from sokyaku.handoff.models import HandoffTrigger, RoutingRule
from sokyaku.handoff.views import choices

PREVIEW_CANDIDATES = 10


def _conflict(request: HttpRequest, exc: Conflict) -> None:
    messages.error(request, _(exc.message))


# --- triggers ---------------------------------------------------------------------------------


@require_GET
@login_required
@permission_required("handoff.view_handofftrigger", raise_exception=True)
def triggers(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "handoff/triggers.html",
        {"section": "handoff", "triggers": list(selectors.trigger_list())},
    )


def _trigger_get(trigger_id: int) -> HandoffTrigger:
    trigger = choices.trigger_find(trigger_id)
    if trigger is None:
        raise Http404
    return trigger


@require_http_methods(["GET", "POST"])
@login_required
@domain_errors
def trigger_edit(request: HttpRequest, trigger_id: int | None = None) -> HttpResponse:
    """Create (no id) or edit a trigger; the JSON conditions' errors show on their field."""
    trigger = _trigger_get(trigger_id) if trigger_id else None
    if not request.user.has_perm(
        "handoff.change_handofftrigger" if trigger else "handoff.add_handofftrigger"
    ):
        raise PermissionDenied
    if request.method == "GET":
        initial = TriggerForm.initial_for(trigger) if trigger else None
        form = TriggerForm(initial=initial)
        return _trigger_page(request, trigger, form)
    form = TriggerForm(request.POST)
    if form.is_valid():
        try:
            services.trigger_save(trigger=trigger, data=form.to_data(), actor=actor(request))
        except ValidationError as exc:
            form.add_service_errors(exc)
        except Conflict:
            form.add_error("name", _("A trigger with this name exists already."))
        else:
            messages.success(request, _("The trigger was saved."))
            return redirect("handoff:triggers")
    return _trigger_page(request, trigger, form, status=422)


def _trigger_page(
    request: HttpRequest, trigger: HandoffTrigger | None, form: TriggerForm, status: int = 200
) -> HttpResponse:
    return render(
        request,
        "handoff/trigger_form.html",
        {"section": "handoff", "trigger": trigger, "form": form},
        status=status,
    )


@require_POST
@login_required
@permission_required("handoff.delete_handofftrigger", raise_exception=True)
@domain_errors
def trigger_delete(request: HttpRequest, trigger_id: int) -> HttpResponse:
    trigger = _trigger_get(trigger_id)
    try:
        services.trigger_delete(trigger=trigger, actor=actor(request))
    except (Conflict, ValidationError) as exc:
        messages.error(request, _(exc.message))
    else:
        messages.success(request, _("The trigger was deleted."))
    return redirect("handoff:triggers")


# --- routing ----------------------------------------------------------------------------------


def _preview(request: HttpRequest) -> dict[str, Any]:
    """The "test routing" box: pick a contact by id or search, see who would get it and why."""
    form = RoutingPreviewForm(request.GET or None)
    context: dict[str, Any] = {"preview_form": form}
    if not form.is_bound or not form.is_valid():
        return context
    contact_id = form.cleaned_data["contact"]
    query = form.cleaned_data["q"].strip()
    if contact_id:
        try:
            contact = contact_selectors.contact_get(user=request.user, id=contact_id)
        except NotFound:
            context["preview_error"] = _("No contact with this ID.")
            return context
        context["preview_contact"] = contact
        context["preview"] = selectors.routing_preview(contact=contact)
    elif query:
        context["searched"] = True
        context["candidates"] = list(
            contact_selectors.contact_list(user=request.user, q=query)[:PREVIEW_CANDIDATES]
        )
    return context


@require_GET
@login_required
@permission_required("handoff.view_routingrule", raise_exception=True)
@domain_errors
def routing(request: HttpRequest) -> HttpResponse:
    industries = dict(Industry.choices)
    rules = [
        (
            rule,
            [prefecture_name(code) for code in rule.prefectures],
            [str(industries.get(code, code)) for code in rule.industries],
        )
        for rule in selectors.routing_rule_list().select_related("team", "assignee")
    ]
    return render(
        request,
        "handoff/routing.html",
        {"section": "handoff", "rules": rules, **_preview(request)},
    )


def _rule_get(rule_id: int) -> RoutingRule:
    rule = selectors.routing_rule_list().filter(pk=rule_id).first()
    if rule is None:
        raise Http404
    return rule


def _rule_form(request: HttpRequest, **kwargs: Any) -> RoutingRuleForm:
    return RoutingRuleForm(
        request.POST if request.method == "POST" else None,
        teams=choices.team_pairs(),
        users=choices.worker_pairs(),
        **kwargs,
    )


@require_http_methods(["GET", "POST"])
@login_required
@domain_errors
def rule_edit(request: HttpRequest, rule_id: int | None = None) -> HttpResponse:
    """Create or edit a routing rule; "matches nobody" shows next to the field it is about."""
    rule = _rule_get(rule_id) if rule_id else None
    if not request.user.has_perm(
        "handoff.change_routingrule" if rule else "handoff.add_routingrule"
    ):
        raise PermissionDenied
    form = _rule_form(request, initial=RoutingRuleForm.initial_for(rule) if rule else None)
    status = 200
    if request.method == "POST":
        status = 422
        if form.is_valid():
            data = dict(form.cleaned_data)
            data["team"] = choices.team_find(data["team"])
            data["assignee"] = choices.user_find(data["assignee"])
            try:
                services.routing_rule_save(rule=rule, data=data, actor=actor(request))
            except ValidationError as exc:
                form.add_service_errors(exc)
            else:
                messages.success(request, _("The routing rule was saved."))
                return redirect("handoff:routing")
    return render(
        request,
        "handoff/rule_form.html",
        {"section": "handoff", "rule": rule, "form": form},
        status=status,
    )


@require_POST
@login_required
@permission_required("handoff.change_routingrule", raise_exception=True)
@domain_errors
def rule_move(request: HttpRequest, rule_id: int) -> HttpResponse:
    rule = _rule_get(rule_id)
    services.routing_rule_move(rule=rule, up=request.POST.get("to") == "up", actor=actor(request))
    return redirect("handoff:routing")


@require_POST
@login_required
@permission_required("handoff.delete_routingrule", raise_exception=True)
@domain_errors
def rule_delete(request: HttpRequest, rule_id: int) -> HttpResponse:
    rule = _rule_get(rule_id)
    try:
        services.routing_rule_delete(rule=rule, actor=actor(request))
    except (Conflict, ValidationError) as exc:
        messages.error(request, _(exc.message))
    else:
        messages.success(request, _("The routing rule was deleted."))
    return redirect("handoff:routing")


# --- teams ------------------------------------------------------------------------------------


@require_GET
@login_required
@permission_required("core.view_team", raise_exception=True)
def teams(request: HttpRequest) -> HttpResponse:
    rows = []
    for team in selectors.team_list():
        members = [
            (
                member,
                AwayForm(
                    prefix=f"m{member.pk}",
                    initial={"is_away": member.is_away, "away_until": member.away_until},
                ),
            )
            for member in team.members.all()
        ]
        rows.append((team, members))
    return render(request, "handoff/teams.html", {"section": "handoff", "teams": rows})


@require_http_methods(["GET", "POST"])
@login_required
@domain_errors
def team_edit(request: HttpRequest, team_id: int | None = None) -> HttpResponse:
    team = choices.team_find(team_id) if team_id else None
    if team_id and team is None:
        raise Http404
    if not request.user.has_perm("core.change_team" if team else "core.add_team"):
        raise PermissionDenied
    users = choices.user_pairs()
    if request.method == "GET":
        initial = (
            {
                "name": team.name,
                "manager": team.manager_id,
                "share_records": team.share_records,
                "members": [m.user_id for m in team.members.all()],
            }
            if team
            else None
        )
        form = TeamForm(initial=initial, users=users)
        return _team_page(request, team, form)
    form = TeamForm(request.POST, users=users)
    if form.is_valid():
        data = form.cleaned_data
        try:
            services.team_save(
                team=team,
                name=data["name"],
                manager=choices.user_find(data["manager"]),
                share_records=data["share_records"],
                member_ids=data["members"],
                actor=actor(request),
            )
        except ValidationError as exc:
            form.add_service_errors(exc)
        except Conflict:
            form.add_error("name", _("A team with this name exists already."))
        else:
            messages.success(request, _("The team was saved."))
            return redirect("handoff:teams")
    return _team_page(request, team, form, status=422)


def _team_page(request: HttpRequest, team: Any, form: TeamForm, status: int = 200) -> HttpResponse:
    return render(
        request,
        "handoff/team_form.html",
        {"section": "handoff", "team": team, "form": form},
        status=status,
    )


@require_POST
@login_required
@permission_required("core.delete_team", raise_exception=True)
@domain_errors
def team_delete(request: HttpRequest, team_id: int) -> HttpResponse:
    team = choices.team_find(team_id)
    if team is None:
        raise Http404
    try:
        services.team_delete(team=team, actor=actor(request))
    except (Conflict, ValidationError) as exc:
        messages.error(request, _(exc.message))
    else:
        messages.success(request, _("The team was deleted."))
    return redirect("handoff:teams")


@require_POST
@login_required
@permission_required("core.change_team", raise_exception=True)
@domain_errors
def member_away(request: HttpRequest, member_id: int) -> HttpResponse:
    """Mark a member away (out of round-robin, until a time or until they are back) or back."""
    member = choices.member_find(member_id)
    if member is None:
        raise Http404
    form = AwayForm(request.POST, prefix=f"m{member.pk}")
    if not form.is_valid():
        messages.error(request, _("Enter the end of the absence as a date and time."))
        return redirect("handoff:teams")
    is_away = form.cleaned_data["is_away"]
    try:
        services.member_away_set(
            member=member,
            is_away=is_away,
            away_until=tokyo_datetime(form.cleaned_data["away_until"]) if is_away else None,
            actor=actor(request),
        )
    except ValidationError as exc:
        messages.error(request, _(exc.message))
    return redirect("handoff:teams")


# --- alert settings ---------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@login_required
@permission_required("handoff.view_handoffsettings", raise_exception=True)
@domain_errors
def settings(request: HttpRequest) -> HttpResponse:
    current = services.handoff_settings_get()
    can_edit = request.user.has_perm("handoff.change_handoffsettings")
    if request.method == "POST" and not can_edit:
        raise PermissionDenied
    channels = choices.chat_channels()
    form = HandoffSettingsForm(
        request.POST if request.method == "POST" else None,
        initial={
            "alert_chat_channel": current.alert_chat_channel_id,
            "queue_notify": current.queue_notify_id,
        },
        channels=[(c.pk, c.name) for c in channels],
        users=choices.user_pairs(),
    )
    status = 200
    if request.method == "POST":
        status = 422
        if form.is_valid():
            data = form.cleaned_data
            try:
                services.handoff_settings_save(
                    alert_chat_channel=next(
                        (c for c in channels if c.pk == data["alert_chat_channel"]), None
                    ),
                    queue_notify=choices.user_find(data["queue_notify"]),
                    actor=actor(request),
                )
            except ValidationError as exc:
                form.add_service_errors(exc)
            else:
                messages.success(request, _("The alert settings were saved."))
                return redirect("handoff:settings")
    return render(
        request,
        "handoff/settings.html",
        {"section": "handoff", "form": form, "current": current, "can_edit": can_edit},
        status=status,
    )
