"""A/B variants of a sequence's mail steps: their stored shape, checking them, and which variant
an enrolment gets.

A mail step's config may carry ``"variants": [{"label": "B", "template": 12 | None, "subject":
"…", "weight": 50}, …]`` — at most two, labelled B and C. Variant A is the step itself (its
``template`` with that template's subject) and gets the share the others leave of 100 per cent.
A variant changes the template, the subject line, or both: ``template`` ``None`` keeps A's
template, ``subject`` ``""`` keeps the template's own subject line.

The variant is drawn once per (enrolment, step) from a hash of the two ids, not at random: a
step that runs again after a crash gets the same variant, and the variants one contact gets in
two steps are independent of each other. The step's message records the label in
``context["variant"]`` (``VARIANT_KEY``); steps without variants record nothing, so reports
group a step's mail by that key where it is present.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sokyaku.core.errors import ValidationError
from sokyaku.messaging.models import Template
from sokyaku.messaging.rendering import template_check

# The message context key holding the variant's label ("A", "B", "C").
VARIANT_KEY = "variant"
BASE_LABEL = "A"
LABELS = ("B", "C")  # variants besides A, in order
SUBJECT_MAX = 300
_BUCKETS = 100  # weights are whole per cents


@dataclass(frozen=True)
class Variant:
    label: str
    template_id: int | None  # None: the step's own template
    subject: str  # "": the template's own subject line
    weight: int  # per cent of the step's enrolments


def step_variants(config: Mapping[str, Any]) -> list[Variant]:
    """A mail step's variants, A first with the share left to it; ``[]`` for a step without
    variants (it is no A/B test, and its messages carry no label)."""
    others = [
        Variant(
            label=str(v["label"]),
            template_id=int(v["template"]) if v.get("template") else None,
            subject=str(v.get("subject") or ""),
            weight=int(v["weight"]),
        )
        for v in config.get("variants") or ()
    ]
    if not others:
        return []
    base = Variant(
        label=BASE_LABEL,
        template_id=None,
        subject="",
        weight=_BUCKETS - sum(v.weight for v in others),
    )
    return [base, *others]


def bucket(*, enrollment_id: int, step_id: int) -> int:
    """The enrolment's fixed place (0–99) on the step's split."""
    digest = hashlib.sha256(f"{enrollment_id}:{step_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % _BUCKETS


def variant_pick(*, enrollment_id: int, step_id: int, variants: Sequence[Variant]) -> Variant:
    """The variant of ``variants`` (as ``step_variants`` gives them) this enrolment gets at this
    step: the same one every time it is asked."""
    place = bucket(enrollment_id=enrollment_id, step_id=step_id)
    upto = 0
    for variant in variants:
        upto += variant.weight
        if place < upto:
            return variant
    return variants[0]


def _int_or_none(raw: Any) -> int | None:
    if raw in (None, ""):
        return None
    if isinstance(raw, bool):
        raise ValueError(raw)
    return int(raw)


def variants_clean(raw: Any, *, base_template: int | None) -> list[dict[str, Any]]:
    """The stored form of a mail step's variants (sorted by label). ``base_template`` is the
    step's own template (variant A). A weight left out is an even share.

    Raises ``ValidationError`` with ``variants`` or ``variants.<label>.<field>`` field errors:
    more than B and C, a label twice, an unknown template, a variant that changes nothing,
    a broken or over-long subject line, a weight outside 1–99, or B and C together leaving A
    less than 1 per cent."""
    if raw in (None, "", []):
        return []
    if not isinstance(raw, Sequence) or isinstance(raw, str):
        raise ValidationError(
            "Please correct the variants.", field_errors={"variants": "a list of variants"}
        )
    items = list(raw)
    if len(items) > len(LABELS):
        raise ValidationError(
            "Please correct the variants.",
            field_errors={"variants": "at most two variants besides A (B and C)"},
        )
    errors: dict[str, str] = {}
    free = [label for label in LABELS if label not in {_label(item) for item in items}]
    clean: list[dict[str, Any]] = []
    seen: set[str] = set()
    for item in items:
        if not isinstance(item, Mapping):
            errors["variants"] = "a list of variants"
            continue
        label = _label(item) or (free.pop(0) if free else "")
        if label not in LABELS or label in seen:
            errors["variants"] = "variants are labelled B and C, each at most once"
            continue
        seen.add(label)
        clean.append(_variant_clean(item, label, base_template, len(items), errors))
    if not any(key == "variants" or key.endswith(".weight") for key in errors):
        total = sum(v["weight"] for v in clean)
        if total >= _BUCKETS:
            errors["variants"] = (
                "the variants together may take at most 99 per cent (A keeps the rest)"
            )
    if errors:
        raise ValidationError("Please correct the variants.", field_errors=errors)
    return sorted(clean, key=lambda v: str(v["label"]))


def _label(item: Any) -> str:
    if not isinstance(item, Mapping):
        return ""
    return str(item.get("label") or "").strip().upper()


def _variant_clean(
    item: Mapping[str, Any],
    label: str,
    base_template: int | None,
    count: int,
    errors: dict[str, str],
) -> dict[str, Any]:
    prefix = f"variants.{label}"
    try:
        template_id = _int_or_none(item.get("template"))
    except (TypeError, ValueError):
        errors[f"{prefix}.template"] = "choose an existing mail template"
        template_id = None
    else:
        if template_id is not None and not Template.objects.filter(pk=template_id).exists():
            errors[f"{prefix}.template"] = "choose an existing mail template"
    if template_id == base_template:
        template_id = None  # "A's template" is stored one way only
    subject = " ".join(str(item.get("subject") or "").split())
    if len(subject) > SUBJECT_MAX:
        errors[f"{prefix}.subject"] = "at most 300 characters"
    elif subject:
        try:
            template_check(subject=subject, preheader="", body_html="-")
        except ValidationError as exc:
            errors[f"{prefix}.subject"] = exc.field_errors.get("subject") or exc.message
    if template_id is None and not subject and f"{prefix}.template" not in errors:
        errors[f"{prefix}.template"] = "choose another template or another subject line"
    try:
        weight = _int_or_none(item.get("weight"))
    except (TypeError, ValueError):
        errors[f"{prefix}.weight"] = "a number is required"
        weight = 0
    if weight is None:
        weight = _BUCKETS // (count + 1)
    elif not 1 <= weight <= _BUCKETS - 1:
        errors[f"{prefix}.weight"] = "a share from 1 to 99 per cent"
    return {"label": label, "template": template_id, "subject": subject, "weight": weight}
