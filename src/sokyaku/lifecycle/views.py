"""Lifecycle UI: the MQL rules page (rules with live counts, the editor, SQL criteria) and the
contact page's lifecycle panel actions (move stage, recycle, disqualify, record BANT).

The rule editor is the segments condition builder (``{% condition_builder %}``, inputs
``mql-<path>``) inside the rule's form; its live count posts to ``rule_count``.

Rules and criteria: viewing needs ``lifecycle.view_mqlrule``; changing them
``lifecycle.change_mqlrule`` / ``lifecycle.change_sqlcriteria``. Panel actions need
``lifecycle.change_contactstage`` (moves) and ``lifecycle.add_bantrecord`` (BANT): sales reps
have both.
"""

from __future__ import annotations

import json
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from sokyaku.contacts import selectors as contact_selectors
from sokyaku.core.errors import ValidationError
from sokyaku.core.http import HtmxHttpRequest, actor, domain_errors
from sokyaku.lifecycle import selectors, services
from sokyaku.lifecycle.forms import BantForm, MoveForm, RuleForm, SqlCriteriaForm
from sokyaku.lifecycle.models import ChangeSource, MqlRule
from sokyaku.lifecycle.panel import panel_context
from sokyaku.lifecycle.services.mql import definition_clean
from sokyaku.lifecycle.tasks import mql_evaluate_all_task
from sokyaku.segments.builder import builder_definition_from_post

_VIEW = "lifecycle.view_mqlrule"
_CHANGE_RULE = "lifecycle.change_mqlrule"
_ADD_RULE = "lifecycle.add_mqlrule"
_DELETE_RULE = "lifecycle.delete_mqlrule"
_CHANGE_CRITERIA = "lifecycle.change_sqlcriteria"
_MOVE = "lifecycle.change_contactstage"
_BANT = "lifecycle.add_bantrecord"

# The rule editor's condition builder posts its inputs as ``mql-<path>`` (segments.builder).
BUILDER_PREFIX = "mql-"
_STARTER: dict[str, Any] = {
    "op": "and",
    "conditions": [{"field": "score.total", "op": "gte", "value": 50}],
}


def _count(rule: MqlRule) -> int | None:
    try:
        return selectors.mql_rule_match_count(definition=rule.definition)
    except ValidationError:
        return None


def _criteria_initial() -> dict[str, Any]:
    c = services.sql_criteria_get()
    return {
        "require_budget": c.require_budget,
        "require_authority": c.require_authority,
        "require_decision_maker": c.require_decision_maker,
        "require_need": c.require_need,
        "require_timeline": c.require_timeline,
        "timeline_within_months": c.timeline_within_months,
    }


def _rules_page(request: HttpRequest, criteria_form: SqlCriteriaForm | None = None) -> HttpResponse:
    rules = [(rule, _count(rule)) for rule in selectors.mql_rule_list()]
    return render(
        request,
        "lifecycle/rules.html",
        {
            "section": "lifecycle",
            "rules": rules,
            "stages": selectors.stage_counts(),
            "criteria_form": criteria_form or SqlCriteriaForm(initial=_criteria_initial()),
        },
    )


@login_required
@permission_required(_VIEW, raise_exception=True)
def rules(request: HttpRequest) -> HttpResponse:
    return _rules_page(request)


def _condition_errors(exc: ValidationError) -> dict[str, str]:
    """The errors of the conditions, keyed by the builder's paths.

    The services key them ``definition.<path>`` (``definition.conditions.1.value``); the builder
    wants ``<path>``. ``json`` (raw JSON that does not parse) is the builder's own key.
    """
    errors: dict[str, str] = {}
    for path, msg in exc.field_errors.items():
        if path.startswith("definition."):
            errors[path.removeprefix("definition.")] = msg
        elif path == "json":
            errors[path] = msg
    return errors


def _form_errors(form: RuleForm, exc: ValidationError) -> None:
    """Errors that are not about a condition (the name …) go on the form."""
    for path, msg in exc.field_errors.items():
        if path.split(".", 1)[0] not in ("definition", "json"):
            form.add_error(path if path in form.fields else None, msg)


def _rule_save(
    *, rule: MqlRule | None, data: dict[str, Any], definition: dict[str, Any], request: HttpRequest
) -> MqlRule:
    if rule is None:
        return services.mql_rule_create(
            name=data["name"],
            description=data["description"],
            definition=definition,
            is_active=data["is_active"],
            actor=actor(request),
        )
    services.mql_rule_update(
        rule=rule,
        name=data["name"],
        description=data["description"],
        definition=definition,
        actor=actor(request),
    )
    return services.mql_rule_activate(rule=rule, active=data["is_active"], actor=actor(request))


def _readonly(request: HttpRequest, rule: MqlRule) -> HttpResponse:
    """The rule for someone who may only view it: its conditions in words, the JSON, the count."""
    count: int | None = None
    error = ""
    try:
        count = selectors.mql_rule_match_count(definition=rule.definition)
    except ValidationError as exc:
        error = exc.message
    return render(
        request,
        "lifecycle/rule_form.html",
        {
            "section": "lifecycle",
            "rule": rule,
            "heading": rule.name,
            "can_edit": False,
            "count": count,
            "error": error,
            "definition_text": json.dumps(rule.definition, ensure_ascii=False, indent=2),
        },
    )


@require_http_methods(["GET", "POST"])
@login_required
@permission_required(_VIEW, raise_exception=True)
@domain_errors
def rule_edit(request: HttpRequest, rule_id: int | None = None) -> HttpResponse:
    """The rule editor: name, description, active and the segments condition builder (inputs
    ``mql-<path>``) with its live count. Without the right to change rules, the rule read-only."""
    rule = selectors.mql_rule_get(id=rule_id) if rule_id else None
    can_edit = request.user.has_perm(_CHANGE_RULE if rule else _ADD_RULE)
    if not can_edit and (rule is None or request.method == "POST"):
        raise PermissionDenied
    if rule is not None and not can_edit:
        return _readonly(request, rule)
    heading = rule.name if rule else ""
    stored = rule.definition if rule else _STARTER
    if request.method == "GET":
        initial = (
            {"name": rule.name, "description": rule.description, "is_active": rule.is_active}
            if rule
            else {"is_active": True}
        )
        return _editor(request, rule, heading, RuleForm(initial=initial), stored, None)
    form = RuleForm(request.POST)
    form_ok = form.is_valid()
    posted: dict[str, Any] = {}
    error: ValidationError | None = None
    try:
        posted = builder_definition_from_post(request.POST, BUILDER_PREFIX)
        if form_ok:
            _rule_save(rule=rule, data=form.cleaned_data, definition=posted, request=request)
            messages.success(request, _("The MQL rule was saved."))
            return redirect("lifecycle:rules")
        definition_clean(posted)  # so the conditions' errors show along with the form's
    except ValidationError as exc:
        error = exc
        _form_errors(form, exc)
    return _editor(request, rule, heading, form, posted or stored, error, status=422)


def _editor(
    request: HttpRequest,
    rule: MqlRule | None,
    heading: str,
    form: RuleForm,
    definition: dict[str, Any],
    error: ValidationError | None,
    status: int = 200,
) -> HttpResponse:
    return render(
        request,
        "lifecycle/rule_form.html",
        {
            "section": "lifecycle",
            "rule": rule,
            "heading": heading,
            "can_edit": True,
            "form": form,
            "definition": definition,
            "errors": _condition_errors(error) if error else {},
            "error_message": error.message if error else "",
            "prefix": BUILDER_PREFIX,
        },
        status=status,
    )


@require_POST
@login_required
@permission_required(_VIEW, raise_exception=True)
def rule_count(request: HttpRequest) -> HttpResponse:
    """The builder's live count: how many contacts the posted (unsaved) conditions match now.

    Answers with the builder's own count fragment, so errors land next to their conditions.
    Needs only ``lifecycle.view_mqlrule`` (not ``segments.view_segment``).
    """
    context: dict[str, Any] = {"count": None, "errors": {}, "message": ""}
    try:
        definition = builder_definition_from_post(request.POST, BUILDER_PREFIX)
        context["count"] = selectors.mql_rule_match_count(definition=definition)
    except ValidationError as exc:
        context["errors"] = _condition_errors(exc)
        context["message"] = exc.message
    context["errors_json"] = json.dumps(context["errors"], ensure_ascii=False)
    return render(request, "segments/_count.html", context)


@require_POST
@login_required
@permission_required(_CHANGE_RULE, raise_exception=True)
@domain_errors
def rule_toggle(request: HttpRequest, rule_id: int) -> HttpResponse:
    rule = selectors.mql_rule_get(id=rule_id)
    services.mql_rule_activate(rule=rule, active=not rule.is_active, actor=actor(request))
    if rule.is_active:
        messages.success(request, _("“%(name)s” is active.") % {"name": rule.name})
    else:
        messages.success(request, _("“%(name)s” is off.") % {"name": rule.name})
    return redirect("lifecycle:rules")


@require_POST
@login_required
@permission_required(_DELETE_RULE, raise_exception=True)
@domain_errors
def rule_delete(request: HttpRequest, rule_id: int) -> HttpResponse:
    rule = selectors.mql_rule_get(id=rule_id)
    services.mql_rule_delete(rule=rule, actor=actor(request))
    messages.success(request, _("The MQL rule was deleted."))
    return redirect("lifecycle:rules")


@require_POST
@login_required
@permission_required(_CHANGE_RULE, raise_exception=True)
def rules_apply(request: HttpRequest) -> HttpResponse:
    mql_evaluate_all_task()
    messages.success(
        request, _("The active rules are being applied to every contact that matches them.")
    )
    return redirect("lifecycle:rules")


@require_POST
@login_required
@permission_required(_CHANGE_CRITERIA, raise_exception=True)
def sql_criteria(request: HttpRequest) -> HttpResponse:
    form = SqlCriteriaForm(request.POST)
    if form.is_valid():
        try:
            services.sql_criteria_update(**form.cleaned_data, actor=actor(request))
        except ValidationError as exc:
            for field, msg in exc.field_errors.items():
                form.add_error(field if field in form.fields else None, msg)
        else:
            messages.success(request, _("The SQL criteria were saved."))
            return redirect("lifecycle:rules")
    return _rules_page(request, criteria_form=form)


def _panel_response(request: HtmxHttpRequest, contact_id: int, **extra: Any) -> HttpResponse:
    contact = contact_selectors.contact_get(user=request.user, id=contact_id)
    if not request.htmx:
        return redirect("contacts:detail", contact.pk)
    context = panel_context(contact=contact, user=request.user, **extra)
    return render(request, "lifecycle/_panel.html", context)


@require_POST
@login_required
@permission_required(_MOVE, raise_exception=True)
@domain_errors
def contact_move(request: HtmxHttpRequest, contact_id: int) -> HttpResponse:
    contact = contact_selectors.contact_get(user=request.user, id=contact_id)
    form = MoveForm(request.POST)
    if form.is_valid():
        try:
            services.stage_change(
                contact=contact,
                to_stage=form.cleaned_data["to_stage"],
                source=ChangeSource.USER,
                actor=actor(request),
                reason=form.cleaned_data["reason"],
            )
        except ValidationError as exc:
            for field, msg in exc.field_errors.items():
                form.add_error(field if field in form.fields else None, msg)
    if form.errors and not request.htmx:
        messages.error(
            request,
            _("The stage was not changed: %(errors)s")
            % {"errors": " ".join(str(e) for errors in form.errors.values() for e in errors)},
        )
    return _panel_response(request, contact.pk, move_form=form if form.errors else None)


@require_POST
@login_required
@permission_required(_BANT, raise_exception=True)
@domain_errors
def contact_bant(request: HtmxHttpRequest, contact_id: int) -> HttpResponse:
    contact = contact_selectors.contact_get(user=request.user, id=contact_id)
    form = BantForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            services.bant_record(
                contact=contact,
                budget_amount_jpy=data["budget_amount_jpy"] or None,
                budget_band=data["budget_band"],
                authority=data["authority"],
                need=data["need"],
                need_tags=data["need_tags"].replace("、", ",").split(","),
                timeline_date=data["timeline_date"] or None,
                timeline_band=data["timeline_band"],
                actor=actor(request),
            )
        except ValidationError as exc:
            for field, msg in exc.field_errors.items():
                form.add_error(field if field in form.fields else None, msg)
    if form.errors and not request.htmx:
        messages.error(
            request,
            _("The BANT entry was not saved: %(errors)s")
            % {"errors": " ".join(str(e) for errors in form.errors.values() for e in errors)},
        )
    return _panel_response(request, contact.pk, bant_form=form if form.errors else None)
