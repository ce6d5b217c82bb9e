"""Ready-made sequences: the seed's B2B step mail and a B2C set (installed as drafts).

**B2B 資料請求フォロー** (seed 002): triggered when a whitepaper is requested — the demo's
whitepaper asset if there is one (``form_submitted`` trigger with ``{"asset": id}``, matching its
``asset_downloaded`` events), else any ``asset_downloaded`` event. Mail 1 (thanks + the download
link) at once; wait **4 business days** (the middle of the seed's 3–5: a fixed value keeps the
calendar preview exact and the per-step metrics comparable); mail 2 (case study); wait **6
business days** (middle of 5–7); mail 3 (demo CTA); then 10 business days in which a
``demo_requested`` event is the goal (conversion). Exits on MQL, SQL, customer, unsubscribe and
bounce; weekdays 9:00–18:00, national holidays and 年末年始 skipped; topic ``product``. Notifying
the owner when mail 3's CTA is clicked belongs to the sales hand-off (issue 5/6).

**B2C** (window every day 9:00–21:00, holidays not skipped — consumers read mail on holidays;
topic ``newsletter``): ウェルカム (on newsletter opt-in: welcome at once, coupon 3 days later;
goal: a purchase) and カート放棄リマインド (on ``cart_abandoned``: reminder 1 hour later; goal: a
purchase; again after 1 day).

Templates are looked up by name (the content presets create them); a missing one is created
here with the seed's wording so the sequence is complete either way.
"""

from __future__ import annotations

import importlib
import logging
from dataclasses import dataclass
from datetime import time
from typing import Any

from django.db import transaction

from sokyaku.messaging.models import SenderProfile, Stream, Template
from sokyaku.sequences.calendar import NEW_YEAR_CLOSURE
from sokyaku.sequences.models import ReentryPolicy, Sequence, StepKind, TriggerKind
from sokyaku.sequences.services.editing import SequenceInput, StepInput, sequence_create

logger = logging.getLogger(__name__)

B2B_NAME = "B2B 資料請求フォロー"
B2C_WELCOME_NAME = "B2C ウェルカム"
B2C_CART_NAME = "B2C カート放棄リマインド"

T_B2B_1 = "B2B 資料請求 1通目 お礼"
T_B2B_2 = "B2B 資料請求 2通目 事例紹介"
T_B2B_3 = "B2B 資料請求 3通目 デモのご案内"
T_B2C_WELCOME = "B2C ウェルカム"
T_B2C_COUPON = "B2C クーポン"
T_B2C_CART = "B2C カート放棄リマインド"

_NAME = '{{ contact.family_name|default:"ご担当者" }}様'

# The seed's wording, used only when the content presets have not created the template.
_FALLBACK_TEMPLATES: dict[str, tuple[str, str]] = {
    T_B2B_1: (
        "資料のご請求ありがとうございました",
        f"<p>{_NAME}</p><p>このたびは「{{{{ asset.title|default:'資料' }}}}」をご請求いただき、"
        "誠にありがとうございました。以下のリンクより資料をご確認いただけます。</p>"
        "<p><a href=\"{{ asset.url|default:'https://example.com/' }}\">"
        "資料をダウンロードする</a></p>"
        "<p>次回のメールでは具体的な解決策をご紹介します。</p>",
    ),
    T_B2B_2: (
        "ITインフラ更新で業務効率化を実現した成功事例をご紹介",
        f"<p>{_NAME}</p><p>前回お届けしたメールはご覧いただけましたでしょうか。"
        "今回は、弊社がサポートしたA社（製造業）の実例をご紹介いたします。</p>"
        '<p><a href="https://example.com/case-study">成功事例をダウンロードする</a></p>',
    ),
    T_B2B_3: (
        "【無料デモのご案内】ITインフラ更新の効果を体感しませんか？",
        f"<p>{_NAME}</p><p>以前お送りした成功事例をご確認いただけましたでしょうか。"
        "現在、ご担当者様限定で無料デモ体験をご用意しております。</p>"
        '<p><a href="https://example.com/demo">今すぐデモを申し込む</a></p>',
    ),
    T_B2C_WELCOME: (
        "ご登録ありがとうございます",
        f"<p>{_NAME}</p><p>メールマガジンにご登録いただきありがとうございます。</p>"
        '<p><a href="https://example.com/">ショップを見る</a></p>',
    ),
    T_B2C_COUPON: (
        "次回使える10%OFFクーポンをお届けします",
        f"<p>{_NAME}</p><p>ご登録の感謝を込めて、10%OFFクーポンをお届けします。</p>"
        '<p><a href="https://example.com/coupon">クーポンを使う</a></p>',
    ),
    T_B2C_CART: (
        "カートに商品が残っています",
        f"<p>{_NAME}</p><p>お買い物カートに商品が残っています。在庫がなくなる前にご購入ください。</p>"
        '<p><a href="https://example.com/cart">カートを見る</a></p>',
    ),
}


@dataclass(frozen=True)
class _Preset:
    data: SequenceInput
    steps: list[StepInput]


def _content_presets() -> None:
    try:
        module = importlib.import_module("sokyaku.messaging.presets")
    except ImportError:
        return
    install = getattr(module, "messaging_presets_install_if_missing", None)
    if install is not None:
        install()


def _template(name: str) -> int:
    found = Template.objects.filter(name=name).values_list("pk", flat=True).first()
    if found is not None:
        return int(found)
    from sokyaku.messaging.services import content

    subject, body = _FALLBACK_TEMPLATES[name]
    created = content.template_create(
        data=content.TemplateInput(name=name, subject=subject, body_html=body), actor=None
    )
    return created.pk


def _sender_id() -> int | None:
    sender = SenderProfile.objects.filter(stream=Stream.MARKETING, is_default=True).first()
    return sender.pk if sender else None


def _whitepaper_trigger() -> tuple[str, dict[str, Any]]:
    from sokyaku.capture.models import Asset, AssetKind

    asset = Asset.objects.filter(kind=AssetKind.WHITEPAPER).order_by("id").first()
    if asset is not None:
        return TriggerKind.FORM_SUBMITTED, {"asset": asset.pk}
    return TriggerKind.EVENT, {"event_type": "asset_downloaded", "where": []}


def _b2b() -> _Preset:
    kind, config = _whitepaper_trigger()
    return _Preset(
        data=SequenceInput(
            name=B2B_NAME,
            description="資料請求の直後にお礼、4営業日後に導入事例、さらに6営業日後にデモのご案内。",
            trigger_kind=kind,
            trigger_config=config,
            reentry=ReentryPolicy.AFTER_DAYS,
            reentry_days=90,
            exit_on=["mql", "sql", "customer", "unsubscribed", "bounced"],
            window_days=[1, 2, 3, 4, 5],
            window_start=time(9, 0),
            window_end=time(18, 0),
            skip_holidays=True,
            closures=[NEW_YEAR_CLOSURE],
            sender_id=_sender_id(),
            topic_key="product",
        ),
        steps=[
            StepInput(StepKind.EMAIL, "1通目 お礼と資料", {"template": _template(T_B2B_1)}),
            StepInput(StepKind.WAIT, "4営業日待つ", {"amount": 4, "unit": "business_days"}),
            StepInput(StepKind.EMAIL, "2通目 導入事例", {"template": _template(T_B2B_2)}),
            StepInput(StepKind.WAIT, "6営業日待つ", {"amount": 6, "unit": "business_days"}),
            StepInput(StepKind.EMAIL, "3通目 デモのご案内", {"template": _template(T_B2B_3)}),
            StepInput(StepKind.WAIT, "申し込みを待つ", {"amount": 10, "unit": "business_days"}),
            StepInput(
                StepKind.GOAL,
                "デモ申し込み",
                {"condition": {"kind": "event", "event_type": "demo_requested"}},
            ),
        ],
    )


_B2C_WINDOW = {
    "window_days": [1, 2, 3, 4, 5, 6, 7],
    "window_start": time(9, 0),
    "window_end": time(21, 0),
    "skip_holidays": False,
}
_PURCHASE_GOAL = StepInput(
    StepKind.GOAL, "購入", {"condition": {"kind": "event", "event_type": "purchase"}}
)


def _b2c_welcome() -> _Preset:
    return _Preset(
        data=SequenceInput(
            name=B2C_WELCOME_NAME,
            description="メールマガジン登録の直後にウェルカム、3日後にクーポン。",
            trigger_kind=TriggerKind.EVENT,
            trigger_config={
                "event_type": "consent_granted",
                "where": [{"field": "topic", "op": "eq", "value": "newsletter"}],
            },
            reentry=ReentryPolicy.NEVER,
            exit_on=["unsubscribed", "bounced"],
            sender_id=_sender_id(),
            topic_key="newsletter",
            **_B2C_WINDOW,  # type: ignore[arg-type]
        ),
        steps=[
            StepInput(StepKind.EMAIL, "ウェルカム", {"template": _template(T_B2C_WELCOME)}),
            StepInput(StepKind.WAIT, "3日待つ", {"amount": 3, "unit": "days"}),
            StepInput(StepKind.EMAIL, "クーポン", {"template": _template(T_B2C_COUPON)}),
            StepInput(StepKind.WAIT, "購入を待つ", {"amount": 7, "unit": "days"}),
            _PURCHASE_GOAL,
        ],
    )


def _b2c_cart() -> _Preset:
    return _Preset(
        data=SequenceInput(
            name=B2C_CART_NAME,
            description="カート放棄の1時間後にリマインド。購入で終了。",
            trigger_kind=TriggerKind.EVENT,
            trigger_config={"event_type": "cart_abandoned", "where": []},
            reentry=ReentryPolicy.AFTER_DAYS,
            reentry_days=1,
            exit_on=["unsubscribed", "bounced"],
            sender_id=_sender_id(),
            topic_key="newsletter",
            **_B2C_WINDOW,  # type: ignore[arg-type]
        ),
        steps=[
            # Goals are checked in real time and before every step: a purchase within the hour
            # completes the enrolment before the reminder goes out.
            StepInput(StepKind.WAIT, "1時間待つ", {"amount": 1, "unit": "hours"}),
            StepInput(StepKind.EMAIL, "リマインド", {"template": _template(T_B2C_CART)}),
            StepInput(StepKind.WAIT, "購入を待つ", {"amount": 3, "unit": "days"}),
            _PURCHASE_GOAL,
        ],
    )


def sequences_presets_install_if_missing() -> list[Sequence]:
    """Install the preset sequences that do not exist yet (by name), as drafts; returns all
    three. Creates missing mail templates (content presets first, when that module exists)."""
    _content_presets()
    result = []
    for build in (_b2b, _b2c_welcome, _b2c_cart):
        with transaction.atomic():
            preset = build()
            existing = Sequence.objects.filter(name=preset.data.name).first()
            if existing is None:
                existing = sequence_create(data=preset.data, steps=preset.steps)
                logger.info("sequence.preset_installed", extra={"sequence": existing.pk})
            result.append(existing)
    return result


def b2b_sequence() -> Sequence | None:
    return Sequence.objects.filter(name=B2B_NAME).first()
