"""Ready-made sequences: the seed's B2B step mail and a B2C set (installed as drafts).

**B2B 資料請求フォロー** (seed 002): triggered when a whitepaper is requested — the demo's
whitepaper asset if there is one (``form_submitted`` trigger with ``{"asset": id}``, matching its
``asset_downloaded`` events), else any ``asset_downloaded`` event. Mail 1 (thanks + the download
link) at once; wait **4 business days** (the middle of the seed's 3–5: a fixed value keeps the
calendar preview exact and the per-step metrics comparable); mail 2 (case study); wait **6
business days** (middle of 5–7); mail 3 (demo CTA); then 10 business days in which a
``demo_requested`` event is the goal (conversion). Exits on MQL, SQL, customer, unsubscribe and
bounce; weekdays 9:00–18:00, national holidays and 年末年始 skipped; topic ``product``. Notifying
the owner when mail 3's CTA is clicked belongs to the sales hand-off (a handoff trigger).

**B2C** (window every day 9:00–21:00, holidays not skipped — consumers read mail on holidays;
topic ``newsletter``): ウェルカム (on newsletter opt-in: welcome at once, coupon 3 days later;
goal: a purchase) and カート放棄リマインド (on ``cart_abandoned``: reminder 1 hour later; goal: a
purchase; again after 1 day).

**After the sale (増客)** (``aftersale_presets_install``; weekdays 9:00–18:00 without holidays
and 年末年始 for the B2B ones, topic ``product``; exits on unsubscribe and bounce only — the
contact is a customer by then):

- **オンボーディング** (``deal_won``, any deal), installed **active**: winning the deal enrols the
  customer. Welcome at once, a getting-started guide 3 business days later, a check-in 14 days
  after that. Enrols once per contact.
- **アップセル提案** (``deal_won`` where ``amount_jpy`` ≤ 999,999, i.e. under ¥1,000,000), draft:
  an upgrade proposal 60 days after the win. Again a year later at the earliest.
- **クロスセル提案** (``deal_won`` where ``categories`` is none of ["オプション"]: the deal did
  not include an option), draft: related products 30 days after the win.
- **B2C リピート促進** (``purchase`` event), draft, B2C window: a coupon 20 days after a purchase,
  unless the customer buys again first (goal: a purchase, which also starts the next round).

Up- and cross-sell wait for a marketer to check the offer and the rule before they go live; the
B2C one stays off in a B2B installation. All are ordinary sequences afterwards.

Templates are looked up by name (the content presets create them); a missing one is created
here with the seed's wording so the sequence is complete either way.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import time
from typing import Any

from django.db import transaction

from sokyaku.core.calendar import NEW_YEAR_CLOSURE
from sokyaku.messaging.models import SenderProfile, Stream, Template
from sokyaku.sequences.models import ReentryPolicy, Sequence, StepKind, TriggerKind
from sokyaku.sequences.services.editing import (
    SequenceInput,
    StepInput,
    sequence_activate,
    sequence_create,
)

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

ONBOARDING_NAME = "オンボーディング"
UPSELL_NAME = "アップセル提案"
CROSS_SELL_NAME = "クロスセル提案"
B2C_REPEAT_NAME = "B2C リピート促進"

T_ONBOARDING_1 = "オンボーディング 1通目 ご契約のお礼"
T_ONBOARDING_2 = "オンボーディング 2通目 はじめてガイド"
T_ONBOARDING_3 = "オンボーディング 3通目 フォローアップ"
T_UPSELL = "アップセル 上位プランのご提案"
T_CROSS_SELL = "クロスセル 関連製品のご案内"
T_B2C_REPEAT = "B2C リピート クーポン"
# Deals below this amount (yen) are offered the upgrade.
UPSELL_BELOW_JPY = 1_000_000
# A deal with a line of this product category needs no cross-sell.
CROSS_SELL_CATEGORY = "オプション"

_NAME = '{{ contact.family_name|default:"ご担当者" }}様'
_COMPANY = "{% if contact.company_name %}{{ contact.company_name }}<br>{% endif %}"

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
    T_ONBOARDING_1: (
        "ご契約ありがとうございます｜ご利用開始のご案内",
        f"<p>{_COMPANY}{_NAME}</p>"
        "<p>このたびはご契約いただき、誠にありがとうございます。"
        "これから貴社のご担当者様が安心してご利用を始められるよう、私どもが伴走いたします。</p>"
        "<p>まずは以下の3点をご確認ください。</p>"
        "<ul><li>管理画面へのログイン（ご招待メールをお送りしています）</li>"
        "<li>ご利用開始までのスケジュール</li>"
        "<li>サポート窓口の連絡先（平日 9:00〜18:00）</li></ul>"
        '<p><a href="https://example.com/start">ご利用開始の手順を見る</a></p>'
        "<p>3営業日後に、最初の1週間で設定していただきたいポイントをお送りします。</p>",
    ),
    T_ONBOARDING_2: (
        "【はじめてガイド】最初の1週間で設定しておきたい3つのこと",
        f"<p>{_COMPANY}{_NAME}</p>"
        "<p>ご利用開始から数日が経ちましたが、設定は順調に進んでいますでしょうか。"
        "導入に成功したお客様が最初の1週間に行っている設定をまとめました。</p>"
        "<ol><li>ユーザーの招待と権限の設定</li>"
        "<li>既存データの取り込み</li>"
        "<li>通知の設定（担当者へのアラート）</li></ol>"
        '<p><a href="https://example.com/guide">はじめてガイドを読む</a></p>'
        "<p>ご不明な点は、このメールへの返信でお気軽にお問い合わせください。</p>",
    ),
    T_ONBOARDING_3: (
        "ご利用状況はいかがでしょうか？個別相談のご案内",
        f"<p>{_COMPANY}{_NAME}</p>"
        "<p>ご利用開始から2週間ほどが経ちました。現場の皆様の使い心地はいかがでしょうか。</p>"
        "<p>活用状況を伺い、貴社に合った使い方をご提案する無料の個別相談（30分・オンライン）を"
        "ご用意しております。</p>"
        '<p><a href="https://example.com/consultation">個別相談を予約する</a></p>'
        "<p>今後とも末永くよろしくお願いいたします。</p>",
    ),
    T_UPSELL: (
        "ご利用の幅を広げる上位プランのご案内",
        f"<p>{_COMPANY}{_NAME}</p>"
        "<p>いつもご利用いただき、誠にありがとうございます。"
        "導入から2か月が経ち、活用の幅が広がってきた頃ではないでしょうか。</p>"
        "<p>上位プランでは、利用人数の上限拡大、詳細な分析レポート、専任担当者によるサポートを"
        "ご利用いただけます。ご契約中のお客様には、切り替え時の初期費用を無償とさせていただきます。</p>"
        '<p><a href="https://example.com/plans">上位プランの詳細を見る</a></p>',
    ),
    T_CROSS_SELL: (
        "導入済みの製品と組み合わせて効果を高めるオプションのご案内",
        f"<p>{_COMPANY}{_NAME}</p>"
        "<p>いつもご利用いただき、誠にありがとうございます。</p>"
        "<p>ご導入いただいた製品と組み合わせることで、運用の手間をさらに減らせる関連製品・"
        "オプションをご紹介します。同じ業界のお客様の多くが、導入から1か月ほどで追加されています。</p>"
        '<p><a href="https://example.com/options">関連製品・オプションを見る</a></p>',
    ),
    T_B2C_REPEAT: (
        "前回のお買い物から20日。次回使える500円OFFクーポンをお届けします",
        f"<p>{_NAME}</p><p>先日はお買い上げいただき、ありがとうございました。"
        "商品の使い心地はいかがでしょうか。</p>"
        "<p>次回のお買い物で使える500円OFFクーポンをお届けします（有効期限：14日間）。</p>"
        '<p><a href="https://example.com/coupon">クーポンを使ってお買い物をする</a></p>',
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


_B2B_AFTERSALE = {
    "window_days": [1, 2, 3, 4, 5],
    "window_start": time(9, 0),
    "window_end": time(18, 0),
    "skip_holidays": True,
    "closures": [NEW_YEAR_CLOSURE],
    "exit_on": ["unsubscribed", "bounced"],
    "topic_key": "product",
}


def _onboarding() -> _Preset:
    return _Preset(
        data=SequenceInput(
            name=ONBOARDING_NAME,
            description="受注の直後にお礼とご利用開始のご案内、3営業日後にはじめてガイド、"
            "さらに14日後にフォローアップ。",
            trigger_kind=TriggerKind.DEAL_WON,
            trigger_config={"where": []},
            reentry=ReentryPolicy.NEVER,
            sender_id=_sender_id(),
            **_B2B_AFTERSALE,  # type: ignore[arg-type]
        ),
        steps=[
            StepInput(
                StepKind.EMAIL, "1通目 ご契約のお礼", {"template": _template(T_ONBOARDING_1)}
            ),
            StepInput(StepKind.WAIT, "3営業日待つ", {"amount": 3, "unit": "business_days"}),
            StepInput(
                StepKind.EMAIL, "2通目 はじめてガイド", {"template": _template(T_ONBOARDING_2)}
            ),
            StepInput(StepKind.WAIT, "14日待つ", {"amount": 14, "unit": "days"}),
            StepInput(
                StepKind.EMAIL, "3通目 フォローアップ", {"template": _template(T_ONBOARDING_3)}
            ),
        ],
    )


def _upsell() -> _Preset:
    return _Preset(
        data=SequenceInput(
            name=UPSELL_NAME,
            description="受注金額が100万円未満の商談の受注から60日後に、上位プランをご提案。",
            trigger_kind=TriggerKind.DEAL_WON,
            trigger_config={
                "where": [{"field": "amount_jpy", "op": "lte", "value": UPSELL_BELOW_JPY - 1}]
            },
            reentry=ReentryPolicy.AFTER_DAYS,
            reentry_days=365,
            sender_id=_sender_id(),
            **_B2B_AFTERSALE,  # type: ignore[arg-type]
        ),
        steps=[
            StepInput(StepKind.WAIT, "60日待つ", {"amount": 60, "unit": "days"}),
            StepInput(StepKind.EMAIL, "上位プランのご提案", {"template": _template(T_UPSELL)}),
        ],
    )


def _cross_sell() -> _Preset:
    return _Preset(
        data=SequenceInput(
            name=CROSS_SELL_NAME,
            description="オプションを含まない商談の受注から30日後に、関連製品をご案内。",
            trigger_kind=TriggerKind.DEAL_WON,
            trigger_config={
                "where": [{"field": "categories", "op": "not_in", "value": [CROSS_SELL_CATEGORY]}]
            },
            reentry=ReentryPolicy.AFTER_DAYS,
            reentry_days=180,
            sender_id=_sender_id(),
            **_B2B_AFTERSALE,  # type: ignore[arg-type]
        ),
        steps=[
            StepInput(StepKind.WAIT, "30日待つ", {"amount": 30, "unit": "days"}),
            StepInput(StepKind.EMAIL, "関連製品のご案内", {"template": _template(T_CROSS_SELL)}),
        ],
    )


def _b2c_repeat() -> _Preset:
    return _Preset(
        data=SequenceInput(
            name=B2C_REPEAT_NAME,
            description="購入から20日後に次回使えるクーポン。その前に再購入があれば終了。",
            trigger_kind=TriggerKind.EVENT,
            trigger_config={"event_type": "purchase", "where": []},
            reentry=ReentryPolicy.AFTER_EXIT,
            exit_on=["unsubscribed", "bounced"],
            sender_id=_sender_id(),
            topic_key="newsletter",
            **_B2C_WINDOW,  # type: ignore[arg-type]
        ),
        steps=[
            StepInput(StepKind.WAIT, "20日待つ", {"amount": 20, "unit": "days"}),
            StepInput(StepKind.EMAIL, "クーポン", {"template": _template(T_B2C_REPEAT)}),
            StepInput(StepKind.WAIT, "購入を待つ", {"amount": 14, "unit": "days"}),
            StepInput(
                StepKind.GOAL, "再購入", {"condition": {"kind": "event", "event_type": "purchase"}}
            ),
        ],
    )


# (build, active when installed): winning a deal enrols the customer in onboarding at once.
_AFTERSALE: tuple[tuple[Callable[[], _Preset], bool], ...] = (
    (_onboarding, True),
    (_upsell, False),
    (_cross_sell, False),
    (_b2c_repeat, False),
)


def _install(build: Callable[[], _Preset], *, active: bool = False) -> Sequence:
    with transaction.atomic():
        preset = build()
        existing = Sequence.objects.filter(name=preset.data.name).first()
        if existing is not None:
            return existing
        created = sequence_create(data=preset.data, steps=preset.steps)
        if active:
            created = sequence_activate(sequence=created)
        logger.info("sequence.preset_installed", extra={"sequence": created.pk})
        return created


def aftersale_presets_install() -> list[Sequence]:
    """Install the after-the-sale sequences that do not exist yet (by name): onboarding active,
    up-sell, cross-sell and B2C repeat as drafts. An existing one (by name) is left as it is,
    so a paused or edited preset stays that way. Returns the four sequences."""
    return [_install(build, active=active) for build, active in _AFTERSALE]


def sequences_presets_install_if_missing() -> list[Sequence]:
    """Install the preset sequences that do not exist yet (by name); returns all of them: the
    seed's three as drafts, then the after-the-sale ones (``aftersale_presets_install``).
    Creates missing mail templates (content presets first, when that module exists)."""
    _content_presets()
    result = [_install(build) for build in (_b2b, _b2c_welcome, _b2c_cart)]
    return result + aftersale_presets_install()


def b2b_sequence() -> Sequence | None:
    return Sequence.objects.filter(name=B2B_NAME).first()
