"""Template tags of segments: ``{% segments_panel contact %}`` for the contact page, the
reusable ``{% condition_builder definition errors=… prefix=… %}``, and small member cells."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from django import template
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext

from sokyaku.contacts.models import Contact
from sokyaku.segments import conditions, selectors

register = template.Library()


@register.simple_tag(takes_context=True)
def segments_panel(context: template.Context, contact: Contact) -> SafeString:
    """The segments the contact is in (since when) and "add to a static list"."""
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not user.has_perm(selectors.VIEW):
        return SafeString("")
    memberships = list(selectors.segments_for_contact(user=user, contact=contact))
    lists = (
        list(selectors.static_list_choices(user=user)) if user.has_perm(selectors.CHANGE) else []
    )
    return render_to_string(
        "segments/_panel.html",
        {
            "contact": contact,
            "memberships": memberships,
            "lists": lists,
            "next": reverse("contacts:detail", kwargs={"contact_id": contact.pk}),
        },
        request=request,
    )


def _catalogue_json() -> list[dict[str, Any]]:
    return [
        {
            "name": spec.name,
            "label": spec.label,
            "type": spec.type,
            "ops": list(spec.ops),
            "choices": [[value, label] for value, label in spec.choices],
            "group": spec.group,
        }
        for spec in conditions.field_catalogue()
    ]


@register.inclusion_tag("segments/_builder.html")
def condition_builder(
    definition: Mapping[str, Any] | None,
    errors: Mapping[str, str] | None = None,
    prefix: str = "",
    count_url: str = "",
) -> dict[str, Any]:
    """The condition builder for a definition, inside the caller's ``<form>``.

    Inputs are named ``<prefix><path>``; parse the POST with
    ``segments.builder.builder_definition_from_post(request.POST, prefix)``. ``errors`` are
    ``ValidationError.field_errors`` (paths without the prefix). The live count posts the
    form to ``count_url`` (``segments:count`` by default).
    """
    definition = dict(definition or {"op": "and", "conditions": []})
    slug = prefix.strip("-_.") or "seg"
    return {
        "prefix": prefix,
        "definition": definition,
        "definition_text": json.dumps(definition, ensure_ascii=False, indent=2),
        "errors": dict(errors or {}),
        "catalogue": {
            "fields": _catalogue_json(),
            "operators": {op: str(label) for op, label in conditions.OPERATORS.items()},
            "events": conditions.event_type_choices(),
            "property_ops": list(conditions.PROPERTY_OPS),
            "text": _builder_texts(),
        },
        "catalogue_id": f"{slug}-builder-catalogue",
        "definition_id": f"{slug}-builder-definition",
        "errors_id": f"{slug}-builder-errors",
        "count_id": f"{slug}-builder-count",
        "count_url": count_url or reverse("segments:count"),
    }


def _builder_texts() -> dict[str, str]:
    return {
        "all": gettext("all of"),
        "any": gettext("any of"),
        "match": gettext("Match %(op)s these conditions"),
        "add_condition": gettext("+ Condition"),
        "add_event": gettext("+ Behaviour"),
        "add_group": gettext("+ Group"),
        "add_filter": gettext("+ Property filter"),
        "remove": gettext("Remove"),
        "did": gettext("did"),
        "did_not": gettext("did not"),
        "at_least": gettext("at least"),
        "times": gettext("times"),
        "in_last": gettext("in the last"),
        "days": gettext("days (empty: ever)"),
        "property": gettext("property"),
        "choose_field": gettext("Choose a field"),
        "values_hint": gettext("comma-separated"),
        "yes": gettext("yes"),
        "no": gettext("no"),
        "ever": gettext("ever"),
    }


@register.simple_tag
def member_temperature(contact: Contact) -> str:
    try:
        state = contact.score
    except Exception:  # no ScoreState row: never scored, so cold
        return gettext("Cold")
    return str(state.get_temperature_display())


@register.simple_tag
def member_stage(contact: Contact) -> str:
    try:
        row = contact.lifecycle
    except Exception:  # no ContactStage row: a lead
        return gettext("Lead")
    return str(row.get_stage_display())


def _static_specs() -> dict[str, conditions.FieldSpec]:
    return {spec.name: spec for spec in conditions.static_fields()}


def _describe(item: Mapping[str, Any], specs: dict[str, conditions.FieldSpec]) -> str:
    if "event" in item:
        labels = dict(conditions.event_type_choices())
        text = labels.get(item["event"], item["event"])
        parts = [gettext("did not") if item.get("negate") else gettext("did"), text]
        if item.get("min_count", 1) > 1:
            parts.append(gettext("at least %(n)d times") % {"n": item["min_count"]})
        if item.get("within_days"):
            parts.append(gettext("in the last %(n)d days") % {"n": item["within_days"]})
        for where in item.get("where") or []:
            parts.append(
                f"[{where['field']} {conditions.OPERATORS[where['op']]} {where.get('value') or ''}]"
            )
        return " ".join(str(p) for p in parts)
    spec = specs.get(item.get("field", ""))
    label = spec.label if spec else item.get("field", "")
    choices = dict(spec.choices) if spec else {}
    value = item.get("value")
    shown = (
        ", ".join(str(choices.get(v, v)) for v in value)
        if isinstance(value, list)
        else ("" if value is None else str(choices.get(value, value)))
    )
    op = item.get("op", "")
    return f"{label} {conditions.OPERATORS.get(op, op)} {shown}".strip()


def _summary(node: Mapping[str, Any], specs: dict[str, conditions.FieldSpec]) -> SafeString:
    joiner = gettext("all of") if node.get("op", "and") == "and" else gettext("any of")
    items: list[tuple[str]] = []
    for item in node.get("conditions") or []:
        if "conditions" in item:
            items.append((_summary(item, specs),))
        else:
            items.append((_describe(item, specs),))
    return format_html(
        '<div class="segsummary"><span class="muted">{}</span><ul>{}</ul></div>',
        joiner,
        format_html_join("", "<li>{}</li>", items),
    )


@register.simple_tag
def definition_summary(definition: Mapping[str, Any]) -> SafeString:
    """The conditions in words (escaped), for the segment page."""
    if not definition or not definition.get("conditions"):
        return SafeString("")
    return _summary(definition, _static_specs())
