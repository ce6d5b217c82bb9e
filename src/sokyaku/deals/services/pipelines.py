"""Pipelines, their stages and the product catalogue: the default preset and the settings page.

Invariants kept here: every pipeline has exactly one won and one lost stage (a new pipeline
starts with the preset's stages, the won/lost stage can be renamed but not removed or turned
into an open one); probabilities are 0–100; a stage with deals in it cannot be deleted; one
pipeline is the default. Messages are translated when raised (the UI shows them as they are).
"""

from __future__ import annotations

import logging
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.utils.translation import gettext as _

from sokyaku.core import clock
from sokyaku.core.errors import ValidationError
from sokyaku.deals.models import Deal, DealStage, Pipeline, Product, StageKind
from sokyaku.deals.presets import DEFAULT_PIPELINE, DEFAULT_STAGES, NEW_PIPELINE_STAGES, StagePreset

logger = logging.getLogger(__name__)

PIPELINE_NAME_MAX = Pipeline._meta.get_field("name").max_length or 100
STAGE_NAME_MAX = DealStage._meta.get_field("name").max_length or 50
PRODUCT_NAME_MAX = Product._meta.get_field("name").max_length or 150
SKU_MAX = Product._meta.get_field("sku").max_length or 50
CATEGORY_MAX = Product._meta.get_field("category").max_length or 50
STAGNATION_DAYS_MAX = 365
PRICE_MAX = 10**12  # ¥1 trillion per unit: beyond that it is a typo


def _text(value: Any, *, field: str, limit: int, required: bool = True) -> str:
    text = " ".join(str(value or "").split())
    if required and not text:
        raise ValidationError(
            _("Enter a name."), field_errors={field: _("This field is required.")}
        )
    if len(text) > limit:
        message = _("At most %(limit)d characters.") % {"limit": limit}
        raise ValidationError(message, field_errors={field: message})
    return text


def _whole_number(value: Any, *, field: str, low: int, high: int) -> int:
    """``value`` as an integer in ``low``–``high`` (form strings and JSON numbers alike)."""
    if isinstance(value, bool):
        number = None
    elif isinstance(value, int):
        number = value
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    else:
        text = str(value or "").strip().replace(",", "")
        number = int(text) if text.lstrip("-").isdigit() else None
    if number is None or not low <= number <= high:
        message = _("Enter a whole number from %(low)d to %(high)d.") % {"low": low, "high": high}
        raise ValidationError(message, field_errors={field: message})
    return number


def _stages_create(pipeline: Pipeline, presets: tuple[StagePreset, ...]) -> None:
    DealStage.objects.bulk_create(
        [
            DealStage(
                pipeline=pipeline,
                name=preset.name,
                position=index,
                probability=preset.probability,
                kind=preset.kind,
                stagnation_days=preset.stagnation_days,
            )
            for index, preset in enumerate(presets)
        ]
    )


def pipeline_presets_install() -> Pipeline:
    """Install the default pipeline 営業パイプライン with its stages 商談開始 (10 %), 提案 (30 %),
    交渉 (60 %) — each alerting after 14 days — 受注 (won, 100 %) and 失注 (lost, 0 %).

    Idempotent: an existing pipeline of that name is returned as it is (its stages may have
    been edited since). It becomes the default when no pipeline is.
    """
    with transaction.atomic():
        pipeline, created = Pipeline.objects.get_or_create(
            name=DEFAULT_PIPELINE,
            defaults={
                "created_at": clock.now(),
                "is_default": not Pipeline.objects.filter(is_default=True).exists(),
            },
        )
        if created or not pipeline.stages.exists():
            _stages_create(pipeline, DEFAULT_STAGES)
    if created:
        logger.info("deals.pipeline_installed", extra={"pipeline": pipeline.pk})
    return pipeline


def pipeline_save(
    *, pipeline: Pipeline | None, name: str, is_default: bool = False, actor: User | None = None
) -> Pipeline:
    """Create (``pipeline=None``) or rename a pipeline; ``is_default`` makes it the default
    (the previous default stops being one). A new pipeline starts with the preset's stages,
    so it has its won and lost stage from the start.

    Raises ``ValidationError`` (field ``name``) for an empty, over-long or taken name.
    """
    name = _text(name, field="name", limit=PIPELINE_NAME_MAX)
    taken = Pipeline.objects.filter(name=name)
    if pipeline is not None:
        taken = taken.exclude(pk=pipeline.pk)
    if taken.exists():
        message = _("Another pipeline has this name.")
        raise ValidationError(message, field_errors={"name": message})
    with transaction.atomic():
        if pipeline is None:
            pipeline = Pipeline.objects.create(
                name=name,
                created_at=clock.now(),
                is_default=is_default or not Pipeline.objects.filter(is_default=True).exists(),
            )
            _stages_create(pipeline, NEW_PIPELINE_STAGES)
        else:
            pipeline.name = name
            if is_default:
                pipeline.is_default = True
            pipeline.save(update_fields=["name", "is_default"])
        if pipeline.is_default:
            Pipeline.objects.exclude(pk=pipeline.pk).filter(is_default=True).update(
                is_default=False
            )
    logger.info(
        "deals.pipeline_saved",
        extra={"pipeline": pipeline.pk, "actor": actor.pk if actor else None},
    )
    return pipeline


def _reorder(pipeline: Pipeline, stage: DealStage, position: int | None) -> None:
    """Put ``stage`` at index ``position`` (``None``: before the won/lost stages when it is an
    open stage, else last) and number the pipeline's stages 0, 1, 2 … again."""
    others = list(DealStage.objects.filter(pipeline=pipeline).exclude(pk=stage.pk))
    others.sort(key=lambda s: (s.position, s.pk))
    if position is None:
        if stage.kind == StageKind.OPEN:
            closed = [i for i, s in enumerate(others) if s.kind != StageKind.OPEN]
            position = closed[0] if closed else len(others)
        else:
            position = len(others)
    position = max(0, min(position, len(others)))
    ordered = [*others[:position], stage, *others[position:]]
    changed = []
    for index, item in enumerate(ordered):
        if item.position != index:
            item.position = index
            changed.append(item)
    if changed:
        DealStage.objects.bulk_update(changed, ["position"])


def stage_save(
    *,
    stage: DealStage | None,
    pipeline: Pipeline,
    name: str,
    probability: int | str,
    kind: str,
    stagnation_days: int | str | None,
    position: int | None = None,
    actor: User | None = None,
) -> DealStage:
    """Create (``stage=None``) or edit a stage of ``pipeline``.

    ``probability`` is 0–100 (the forecast weight); ``stagnation_days`` (1–365, empty: never)
    alerts the owner of a deal sitting longer in this open stage; ``position`` is the stage's
    index on the board (``None``: a new open stage goes before 受注/失注, an edited one stays).

    Raises ``ValidationError`` with field errors for an empty or taken name, a probability or
    day count out of range, an unknown kind, a second won or lost stage, or a won/lost stage
    turned into another kind (every pipeline keeps exactly one of each).
    """
    name = _text(name, field="name", limit=STAGE_NAME_MAX)
    percent = _whole_number(probability, field="probability", low=0, high=100)
    if kind not in StageKind.values:
        message = _("Unknown stage kind.")
        raise ValidationError(message, field_errors={"kind": message})
    days: int | None = None
    if stagnation_days not in (None, "") and kind == StageKind.OPEN:
        days = _whole_number(
            stagnation_days, field="stagnation_days", low=1, high=STAGNATION_DAYS_MAX
        )
    if stage is not None and stage.pipeline_id != pipeline.pk:
        raise ValidationError(
            _("This stage belongs to another pipeline."), field_errors={"stage": "pipeline"}
        )
    siblings = DealStage.objects.filter(pipeline=pipeline)
    if stage is not None:
        siblings = siblings.exclude(pk=stage.pk)
    if siblings.filter(name=name).exists():
        message = _("Another stage of this pipeline has this name.")
        raise ValidationError(message, field_errors={"name": message})
    if stage is not None and stage.kind != StageKind.OPEN and kind != stage.kind:
        message = _("A pipeline keeps exactly one won and one lost stage.")
        raise ValidationError(message, field_errors={"kind": message})
    if kind != StageKind.OPEN and siblings.filter(kind=kind).exists():
        message = _("A pipeline keeps exactly one won and one lost stage.")
        raise ValidationError(message, field_errors={"kind": message})
    if stage is not None and stage.kind != kind and stage.deals.exists():
        message = _("Move the deals out of this stage before changing its kind.")
        raise ValidationError(message, field_errors={"kind": message})
    with transaction.atomic():
        if stage is None:
            stage = DealStage.objects.create(
                pipeline=pipeline,
                name=name,
                probability=percent,
                kind=kind,
                stagnation_days=days,
                position=siblings.count(),
            )
            _reorder(pipeline, stage, position)
        else:
            stage.name = name
            stage.probability = percent
            stage.kind = kind
            stage.stagnation_days = days
            stage.save(update_fields=["name", "probability", "kind", "stagnation_days"])
            if position is not None:
                _reorder(pipeline, stage, position)
        stage.refresh_from_db(fields=["position"])
    logger.info(
        "deals.stage_saved",
        extra={"stage": stage.pk, "pipeline": pipeline.pk, "actor": actor.pk if actor else None},
    )
    return stage


def stage_delete(*, stage: DealStage, actor: User | None = None) -> None:
    """Delete an open stage that no deal sits in (deals that once passed through it keep their
    history without it).

    Raises ``ValidationError`` for the won or lost stage, and while deals sit in the stage
    (open or closed: move them first).
    """
    if stage.kind != StageKind.OPEN:
        raise ValidationError(
            _("A pipeline keeps exactly one won and one lost stage."),
            field_errors={"stage": "won or lost"},
        )
    count = Deal.objects.filter(stage=stage).count()
    if count:
        raise ValidationError(
            _("%(count)d deals are in this stage; move them to another stage first.")
            % {"count": count},
            field_errors={"stage": "not empty"},
        )
    pipeline = stage.pipeline
    with transaction.atomic():
        stage.delete()
        remaining = list(DealStage.objects.filter(pipeline=pipeline).order_by("position", "pk"))
        for index, item in enumerate(remaining):
            item.position = index
        DealStage.objects.bulk_update(remaining, ["position"])
    logger.info(
        "deals.stage_deleted",
        extra={"pipeline": pipeline.pk, "actor": actor.pk if actor else None},
    )


def product_save(
    *,
    product: Product | None,
    name: str,
    sku: str,
    category: str = "",
    unit_price: int | str = 0,
    is_active: bool = True,
    actor: User | None = None,
) -> Product:
    """Create (``product=None``) or edit a product of the catalogue that deal lines pick from.

    Raises ``ValidationError`` with field errors for an empty name or SKU, a taken SKU or a
    unit price that is not a whole number of yen from 0.
    """
    name = _text(name, field="name", limit=PRODUCT_NAME_MAX)
    sku = _text(sku, field="sku", limit=SKU_MAX)
    category = _text(category, field="category", limit=CATEGORY_MAX, required=False)
    price = _whole_number(unit_price, field="unit_price", low=0, high=PRICE_MAX)
    taken = Product.objects.filter(sku=sku)
    if product is not None:
        taken = taken.exclude(pk=product.pk)
    if taken.exists():
        message = _("Another product has this SKU.")
        raise ValidationError(message, field_errors={"sku": message})
    if product is None:
        product = Product.objects.create(
            name=name, sku=sku, category=category, unit_price=price, is_active=is_active
        )
    else:
        product.name, product.sku, product.category = name, sku, category
        product.unit_price, product.is_active = price, is_active
        product.save(update_fields=["name", "sku", "category", "unit_price", "is_active"])
    logger.info(
        "deals.product_saved",
        extra={"product": product.pk, "actor": actor.pk if actor else None},
    )
    return product
