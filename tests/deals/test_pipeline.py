"""Pipelines and stages: the default preset and the settings page's rules."""

from __future__ import annotations

import pytest

from sokyaku.core.errors import ValidationError
from sokyaku.deals import selectors, services
from sokyaku.deals.models import DealStage, Pipeline, StageKind
from tests.deals.factories import deal_make, product_make

pytestmark = pytest.mark.django_db


def _stages(pipeline: Pipeline) -> list[tuple[str, int, str, int | None]]:
    return [
        (s.name, s.probability, s.kind, s.stagnation_days)
        for s in selectors.stage_list(pipeline=pipeline)
    ]


def test_preset_installs_the_default_pipeline_once() -> None:
    first = services.pipeline_presets_install()
    again = services.pipeline_presets_install()

    assert first.pk == again.pk
    assert first.name == "営業パイプライン"
    assert first.is_default
    assert _stages(first) == [
        ("商談開始", 10, "open", 14),
        ("提案", 30, "open", 14),
        ("交渉", 60, "open", 14),
        ("受注", 100, "won", None),
        ("失注", 0, "lost", None),
    ]
    assert Pipeline.objects.count() == 1


def test_default_pipeline_is_installed_when_there_is_none() -> None:
    assert selectors.pipeline_default().name == "営業パイプライン"


def test_a_new_pipeline_has_one_won_and_one_lost_stage_and_takes_over_default() -> None:
    services.pipeline_presets_install()

    upsell = services.pipeline_save(pipeline=None, name="アップセル", is_default=True)

    kinds = [s.kind for s in selectors.stage_list(pipeline=upsell)]
    assert kinds.count(StageKind.WON) == 1
    assert kinds.count(StageKind.LOST) == 1
    assert selectors.pipeline_default() == upsell
    assert Pipeline.objects.filter(is_default=True).count() == 1


def test_a_new_open_stage_goes_before_won_and_lost() -> None:
    pipeline = services.pipeline_presets_install()

    services.stage_save(
        stage=None,
        pipeline=pipeline,
        name="稟議",
        probability="80",
        kind=StageKind.OPEN,
        stagnation_days="7",
    )

    assert [name for name, *_ in _stages(pipeline)] == [
        "商談開始",
        "提案",
        "交渉",
        "稟議",
        "受注",
        "失注",
    ]


def test_stage_moves_to_the_position_given() -> None:
    pipeline = services.pipeline_presets_install()
    negotiation = DealStage.objects.get(pipeline=pipeline, name="交渉")

    services.stage_save(
        stage=negotiation,
        pipeline=pipeline,
        name="交渉",
        probability=60,
        kind=StageKind.OPEN,
        stagnation_days=None,
        position=0,
    )

    assert _stages(pipeline)[0] == ("交渉", 60, "open", None)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"probability": 101}, "probability"),
        ({"probability": -1}, "probability"),
        ({"probability": "abc"}, "probability"),
        ({"kind": StageKind.WON}, "kind"),
        ({"kind": "maybe"}, "kind"),
        ({"name": "提案"}, "name"),
        ({"name": "  "}, "name"),
        ({"stagnation_days": 0}, "stagnation_days"),
    ],
)
def test_bad_stage_input_is_refused(changes: dict[str, object], field: str) -> None:
    pipeline = services.pipeline_presets_install()
    data: dict[str, object] = {
        "name": "稟議",
        "probability": 80,
        "kind": StageKind.OPEN,
        "stagnation_days": None,
        **changes,
    }

    with pytest.raises(ValidationError) as caught:
        services.stage_save(stage=None, pipeline=pipeline, **data)  # type: ignore[arg-type]

    assert field in caught.value.field_errors
    assert DealStage.objects.filter(pipeline=pipeline).count() == 5


def test_the_won_stage_cannot_become_open_or_be_deleted() -> None:
    pipeline = services.pipeline_presets_install()
    won = DealStage.objects.get(pipeline=pipeline, kind=StageKind.WON)

    with pytest.raises(ValidationError):
        services.stage_save(
            stage=won,
            pipeline=pipeline,
            name="受注",
            probability=100,
            kind=StageKind.OPEN,
            stagnation_days=None,
        )
    with pytest.raises(ValidationError):
        services.stage_delete(stage=won)

    assert DealStage.objects.get(pk=won.pk).kind == StageKind.WON


def test_a_stage_with_deals_cannot_be_deleted_until_they_move() -> None:
    pipeline = services.pipeline_presets_install()
    deal = deal_make(stage_name="提案")
    proposal = DealStage.objects.get(pipeline=pipeline, name="提案")

    with pytest.raises(ValidationError):
        services.stage_delete(stage=proposal)
    services.deal_move(
        deal=deal,
        stage=DealStage.objects.get(pipeline=pipeline, name="交渉"),
        version=1,
        actor=None,
    )
    services.stage_delete(stage=proposal)

    assert [name for name, *_ in _stages(pipeline)] == ["商談開始", "交渉", "受注", "失注"]
    assert [s.position for s in selectors.stage_list(pipeline=pipeline)] == [0, 1, 2, 3]


def test_products_need_a_unique_sku() -> None:
    product = product_make("クラウドMA スタンダード", unit_price=50_000)

    with pytest.raises(ValidationError) as caught:
        services.product_save(product=None, name="別製品", sku=product.sku)

    assert "sku" in caught.value.field_errors
