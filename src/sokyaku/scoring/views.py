"""Scoring UI: the active rules, editing them (each save publishes a version and recomputes),
versions with restore, export/import, and the recompute's progress (polled by htmx).

Marketers and admins edit (``scoring.change_ruleset``); sales reps only view.
"""

from __future__ import annotations

import json
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import pgettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from sokyaku.activity.models import EventType
from sokyaku.core.errors import ValidationError
from sokyaku.core.http import actor, domain_errors
from sokyaku.scoring import selectors, services
from sokyaku.scoring.forms import (
    PROPERTY_SUGGESTIONS,
    ImportForm,
    RuleForm,
    SettingsForm,
    condition_value_text,
)
from sokyaku.scoring.models import RecomputeStatus, RuleKind, RuleSet
from sokyaku.scoring.rules import FIT_FIELDS, OP_LABELS

_VIEW = "scoring.view_ruleset"
_CHANGE = "scoring.change_ruleset"
_EVENT_LABELS = dict(EventType.choices)


# Event properties a behaviour rule's condition names, as a reader calls them.
EVENT_PROPERTY_LABELS: dict[str, Any] = {
    "url": pgettext_lazy("event property", "URL"),
    "form": pgettext_lazy("event property", "Form"),
    "kind": pgettext_lazy("event property", "Kind"),
    "asset": pgettext_lazy("event property", "Asset"),
    "webinar": pgettext_lazy("event property", "Webinar"),
    "minutes": pgettext_lazy("event property", "Minutes watched"),
}


def _describe(condition: dict[str, Any]) -> str:
    field = condition["field"]
    spec = FIT_FIELDS.get(field)
    label = spec.label if spec else EVENT_PROPERTY_LABELS.get(field, field)
    value = condition_value_text(condition["value"])
    if spec and spec.choices:
        names = dict(spec.choices)
        items = condition["value"] if isinstance(condition["value"], list) else [condition["value"]]
        value = ", ".join(str(names.get(item, item)) for item in items)
    if condition["op"] == "is_set":
        return f"{label} {_('is set') if condition['value'] else _('is empty')}"
    return f"{label} {OP_LABELS[condition['op']]} {value}"


def _rows(definition: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    rows = []
    for index, rule in enumerate(definition["rules"]):
        if rule["kind"] != kind:
            continue
        rows.append(
            {
                **rule,
                "index": index,
                "event_label": _EVENT_LABELS.get(rule["event_type"], rule["event_type"]),
                "described": [_describe(c) for c in rule["conditions"]],
            }
        )
    return rows


def _active_definition() -> tuple[RuleSet, dict[str, Any]]:
    ruleset = selectors.ruleset_active()
    if ruleset is None:
        raise Http404("No active rule set")
    return ruleset, services.ruleset_export(ruleset=ruleset)


@login_required
@permission_required(_VIEW, raise_exception=True)
@require_GET
@domain_errors
def rules(request: HttpRequest) -> HttpResponse:
    ruleset = selectors.ruleset_active()
    definition = services.ruleset_export(ruleset=ruleset) if ruleset else None
    run = selectors.recompute_run_latest()
    context: dict[str, Any] = {
        "ruleset": ruleset,
        "behaviour": _rows(definition, RuleKind.BEHAVIOUR) if definition else [],
        "fit": _rows(definition, RuleKind.FIT) if definition else [],
        "settings_form": SettingsForm(
            initial={
                "half_life_days": ruleset.half_life_days,
                "warm_at": ruleset.warm_at,
                "hot_at": ruleset.hot_at,
                "score_machine_opens": ruleset.score_machine_opens,
            }
        )
        if ruleset
        else None,
        "versions": list(selectors.ruleset_list()[:50]),
        "run": run,
        "running": run is not None
        and run.status in (RecomputeStatus.QUEUED, RecomputeStatus.RUNNING),
        "import_form": ImportForm(),
    }
    return render(request, "scoring/rules.html", context)


def _publish(request: HttpRequest, definition: dict[str, Any], comment: str) -> RuleSet:
    ruleset = services.ruleset_publish(definition=definition, actor=actor(request), comment=comment)
    messages.success(
        request,
        _("Published version %(version)s; every contact is being rescored.")
        % {"version": ruleset.version},
    )
    return ruleset


def _rule_form(request: HttpRequest, *, index: int | None, kind: str) -> HttpResponse:
    ruleset, definition = _active_definition()
    existing = None
    if index is not None:
        if not 0 <= index < len(definition["rules"]):
            raise Http404("No such rule")
        existing = definition["rules"][index]
        kind = existing["kind"]
    if kind not in RuleKind.values:
        raise Http404("Unknown rule kind")
    if request.method == "POST":
        form = RuleForm(request.POST, kind=kind)
        if form.is_valid():
            rule, rows = form.rule()
            rules_ = list(definition["rules"])
            position = index if index is not None else len(rules_)
            if index is not None:
                rules_[index] = rule
            else:
                rules_.append(rule)
            try:
                verb = _("Edited") if index is not None else _("Added")
                _publish(request, {**definition, "rules": rules_}, f"{verb}: {rule['name']}"[:200])
            except ValidationError as exc:
                form.add_definition_errors(exc.field_errors, index=position, rows=rows)
            else:
                return redirect("scoring:rules")
    else:
        form = RuleForm(initial=RuleForm.initial_for(existing) if existing else {}, kind=kind)
    return render(
        request,
        "scoring/rule_form.html",
        {
            "form": form,
            "kind": kind,
            "editing": existing is not None,
            "ruleset": ruleset,
            "suggestions": PROPERTY_SUGGESTIONS,
        },
    )


@login_required
@permission_required(_CHANGE, raise_exception=True)
@require_http_methods(["GET", "POST"])
@domain_errors
def rule_create(request: HttpRequest, kind: str) -> HttpResponse:
    return _rule_form(request, index=None, kind=kind)


@login_required
@permission_required(_CHANGE, raise_exception=True)
@require_http_methods(["GET", "POST"])
@domain_errors
def rule_edit(request: HttpRequest, index: int) -> HttpResponse:
    return _rule_form(request, index=index, kind="")


@login_required
@permission_required(_CHANGE, raise_exception=True)
@require_POST
@domain_errors
def rule_delete(request: HttpRequest, index: int) -> HttpResponse:
    _ruleset, definition = _active_definition()
    if not 0 <= index < len(definition["rules"]):
        raise Http404("No such rule")
    removed = definition["rules"].pop(index)
    _publish(request, definition, f"{_('Deleted')}: {removed['name']}"[:200])
    return redirect("scoring:rules")


@login_required
@permission_required(_CHANGE, raise_exception=True)
@require_POST
@domain_errors
def settings_save(request: HttpRequest) -> HttpResponse:
    _ruleset, definition = _active_definition()
    form = SettingsForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        changed = {key: data[key] for key in ("half_life_days", "warm_at", "hot_at")}
        changed["score_machine_opens"] = data["score_machine_opens"]
        try:
            _publish(
                request,
                {**definition, **changed},
                data["comment"] or _("Settings changed"),
            )
        except ValidationError as exc:
            for key, message in exc.field_errors.items():
                messages.error(request, f"{key}: {message}")
    else:
        for field, errors in form.errors.items():
            label = form.fields[field].label if field in form.fields else field
            messages.error(request, f"{label}: {' '.join(str(e) for e in errors)}")
    return redirect("scoring:rules")


@login_required
@permission_required(_CHANGE, raise_exception=True)
@require_POST
@domain_errors
def preset_install(request: HttpRequest) -> HttpResponse:
    if services.preset_install_if_missing() is not None:
        messages.success(
            request, _("The preset rules are installed; every contact is being scored.")
        )
    return redirect("scoring:rules")


@login_required
@permission_required(_CHANGE, raise_exception=True)
@require_POST
@domain_errors
def version_restore(request: HttpRequest, version: int) -> HttpResponse:
    old = selectors.ruleset_get(version=version)
    ruleset = services.ruleset_restore(ruleset=old, actor=actor(request))
    messages.success(
        request,
        _("Version %(old)s restored as version %(new)s.")
        % {"old": old.version, "new": ruleset.version},
    )
    return redirect("scoring:rules")


@login_required
@permission_required(_VIEW, raise_exception=True)
@require_GET
@domain_errors
def export(request: HttpRequest) -> HttpResponse:
    version = request.GET.get("version")
    if version and version.isdigit():
        ruleset = selectors.ruleset_get(version=int(version))
    else:
        ruleset, _definition = _active_definition()
    response = JsonResponse(
        services.ruleset_export(ruleset=ruleset),
        json_dumps_params={"ensure_ascii": False, "indent": 2},
    )
    response["Content-Disposition"] = f'attachment; filename="scoring-v{ruleset.version}.json"'
    return response


@login_required
@permission_required(_CHANGE, raise_exception=True)
@require_POST
@domain_errors
def import_(request: HttpRequest) -> HttpResponse:
    form = ImportForm(request.POST, request.FILES)
    if not form.is_valid():
        messages.error(request, _("Choose a rule set JSON file to import."))
        return redirect("scoring:rules")
    upload = form.cleaned_data["file"]
    try:
        if upload.size > 1_000_000:
            raise ValueError("too large")
        definition = json.loads(upload.read().decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        messages.error(request, _("The file is not a JSON rule set; nothing was changed."))
        return redirect("scoring:rules")
    try:
        _publish(request, definition, form.cleaned_data["comment"] or _("Imported"))
    except ValidationError as exc:
        messages.error(request, _("The import was refused; nothing was changed."))
        for key, message in list(exc.field_errors.items())[:10]:
            messages.error(request, f"{key}: {message}")
    return redirect("scoring:rules")


@login_required
@permission_required(_VIEW, raise_exception=True)
@require_GET
@domain_errors
def run_status(request: HttpRequest, run_id: int) -> HttpResponse:
    run = selectors.recompute_run_get(run_id=run_id)
    return render(
        request,
        "scoring/_run_status.html",
        {"run": run, "running": run.status in (RecomputeStatus.QUEUED, RecomputeStatus.RUNNING)},
    )
