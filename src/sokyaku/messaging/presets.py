# ruff: noqa: E501 - the mails are Japanese prose, one paragraph a line
"""Presets: a default sender profile per stream and the seeds' step-mail templates.

``messaging_presets_install_if_missing`` creates, through the content services, what is missing
by name (nothing is overwritten, so a marketer's edits survive a re-run):

- sender profiles for the marketing and transactional streams of the demo company
  株式会社サンプル, with every 特定電子メール法 item filled in;
- the B2B whitepaper scenario of seed 002 (mail 1: thanks, the download link and the industry's
  issue; mail 2: a case study; mail 3: the free demo CTA), personalised by industry and title
  level, and the B2C welcome, coupon and cart-abandon mails.

The sequences presets reference the templates by the names in ``TEMPLATE_NAMES``.
"""

from __future__ import annotations

import logging

from sokyaku.messaging.footer import DEFAULT_UNSUBSCRIBE_WORDING
from sokyaku.messaging.models import SenderProfile, Stream, Template
from sokyaku.messaging.services import content

logger = logging.getLogger(__name__)

B2B_MAIL_1 = "B2B 資料請求 1通目 お礼"
B2B_MAIL_2 = "B2B 資料請求 2通目 事例紹介"
B2B_MAIL_3 = "B2B 資料請求 3通目 デモのご案内"
B2C_WELCOME = "B2C ウェルカム"
B2C_COUPON = "B2C クーポン"
B2C_CART = "B2C カート放棄リマインド"
TEMPLATE_NAMES = (B2B_MAIL_1, B2B_MAIL_2, B2B_MAIL_3, B2C_WELCOME, B2C_COUPON, B2C_CART)

MARKETING_SENDER = "マーケティング配信（株式会社サンプル）"
TRANSACTIONAL_SENDER = "営業・取引連絡（株式会社サンプル）"

_COMPANY = "株式会社サンプル"
_ADDRESS = "〒100-0005 東京都千代田区丸の内1-1-1 サンプルビル10階"
_COMPLAINTS = "株式会社サンプル お客様窓口 support@example.com / 03-0000-0000（平日 9:00〜18:00）"

SENDER_PRESETS = (
    content.SenderProfileInput(
        name=MARKETING_SENDER,
        stream=Stream.MARKETING,
        from_name=_COMPANY,
        from_email="news@example.com",
        reply_to="info@example.com",
        sender_name=_COMPANY,
        postal_address=_ADDRESS,
        complaints_contact=_COMPLAINTS,
        unsubscribe_wording=DEFAULT_UNSUBSCRIBE_WORDING,
        is_default=True,
    ),
    content.SenderProfileInput(
        name=TRANSACTIONAL_SENDER,
        stream=Stream.TRANSACTIONAL,
        from_name=f"{_COMPANY} 営業部",
        from_email="sales@example.com",
        reply_to="sales@example.com",
        sender_name=_COMPANY,
        postal_address=_ADDRESS,
        complaints_contact=_COMPLAINTS,
        is_default=True,
    ),
)

# Shared look: inlined into every element by css_inline when the mail is rendered.
_STYLE = """<style>
  .mail { max-width: 600px; margin: 0 auto; font-family: 'Hiragino Sans', 'Meiryo', sans-serif;
          font-size: 15px; line-height: 1.8; color: #1f2933; }
  p { margin: 0 0 1em; }
  h2 { font-size: 16px; margin: 1.5em 0 0.5em; border-left: 4px solid #1f5fbf; padding-left: 8px; }
  ul { margin: 0 0 1em; padding-left: 1.4em; }
  .cta { margin: 1.5em 0; text-align: center; }
  .btn { display: inline-block; background: #1f5fbf; color: #ffffff; padding: 12px 28px;
         border-radius: 4px; text-decoration: none; font-weight: bold; }
  .note { font-size: 13px; color: #52606d; }
  .coupon { font-size: 22px; font-weight: bold; letter-spacing: 0.1em; border: 2px dashed #d64545;
            padding: 10px 18px; display: inline-block; color: #d64545; }
</style>"""

# Addressed as Japanese business mail is: company, department, name with 様 (ご担当者様 when the
# name is not known).
_B2B_GREETING = """<p>{% if contact.company_name %}{{ contact.company_name }}<br>{% endif %}{% if contact.department %}{{ contact.department }}<br>{% endif %}{{ contact.family_name|default:"ご担当者" }}様</p>
<p>いつもお世話になっております。{{ sender.sender_name|default:"株式会社サンプル" }}の{{ owner.name|default:"マーケティング担当" }}です。</p>"""

_B2B_SIGNATURE = """<p>――――――――――――――――<br>
{{ sender.sender_name|default:"株式会社サンプル" }}<br>
{% if owner.name %}担当：{{ owner.name }}{% if owner.email %}（{{ owner.email }}）{% endif %}{% else %}マーケティング部{% endif %}</p>"""

_B2B_1_BODY = f"""{_STYLE}
<div class="mail">
{_B2B_GREETING}
<p>このたびは「{{{{ asset.title|default:"ITインフラ刷新ガイド" }}}}」の資料をご請求いただき、誠にありがとうございました。<br>
以下のボタンから資料をダウンロードいただけます。</p>
<p class="cta"><a class="btn" href="{{{{ asset.url|default:"https://example.com/resources/it-infra-guide" }}}}">資料をダウンロードする</a></p>
{{% if contact.industry == "E" %}}
<p>昨今、製造業では生産管理システムや工場ネットワークの老朽化によるトラブルが増え、現場の業務効率に大きな影響が出ているという声を多く伺います。</p>
{{% elif contact.industry == "J" %}}
<p>昨今、金融業界ではレガシーシステムの保守負担とセキュリティ要件の高度化が重なり、ITインフラの刷新が急務になっているという声を多く伺います。</p>
{{% elif contact.industry == "G" %}}
<p>昨今、ITサービス業界ではサービス拡大に伴う運用負荷の増大と、障害対応に割かれる工数が課題になっているという声を多く伺います。</p>
{{% else %}}
<p>昨今、多くの業界で、ITインフラの老朽化やトラブルの増加が業務効率に大きな影響を与えています。</p>
{{% endif %}}
<p>また、最新技術を取り入れた企業では生産性が大きく向上したというデータもあり、インフラ更新の重要性はますます高まっています。</p>
<h2>{{{{ contact.industry_label|default:"貴社の業界" }}}}のIT管理者の方へ</h2>
<p>併せて、IT管理者の皆様が直面しがちな以下の課題を解決するための情報もまとめております。</p>
<ul>
  <li>システムの老朽化による業務効率低下の解決方法</li>
  <li>トラブル対応の時間を減らし、生産性を向上させるポイント</li>
</ul>
<p class="cta"><a class="btn" href="https://example.com/resources/whitepaper-it-operations">ホワイトペーパーをダウンロードする</a></p>
<p>ぜひ貴社でのご検討にお役立てください。<br>次回のメールでは、具体的な解決策をご紹介いたします。</p>
{_B2B_SIGNATURE}
</div>"""

_B2B_2_BODY = f"""{_STYLE}
<div class="mail">
{_B2B_GREETING}
<p>先日お届けした、ITインフラ更新の重要性についてのメールはご覧いただけましたでしょうか。<br>
今回は、弊社がご支援した{{% if contact.industry == "E" %}}貴社と同じ製造業の{{% endif %}}A社様（製造業・従業員約800名）の事例をご紹介いたします。</p>
<h2>導入事例：A社様（製造業）</h2>
<ul>
  <li>導入前の課題：システムの老朽化により、トラブル対応の工数が月平均40時間以上発生していました。</li>
  <li>取り組み：弊社のITインフラソリューションを導入し、最新技術への段階的な更新を実施しました。</li>
  <li>導入後の成果：トラブル対応の工数を約60％削減し、部門全体の業務効率が約20％向上しました。</li>
</ul>
{{% if contact.title_level >= 4 %}}
<p>投資対効果（ROI）の観点では、運用工数の削減分だけで導入費用を約18か月で回収されています。経営判断の材料として、事例資料にはコスト試算も掲載しております。</p>
{{% else %}}
<p>事例資料には、現場のご担当者様が移行時に工夫されたポイントや、運用手順の変化も詳しく掲載しております。</p>
{{% endif %}}
<p>導入事例の詳細は、以下のリンクからご確認いただけます。</p>
<p class="cta"><a class="btn" href="https://example.com/case-studies/a-corp">成功事例をダウンロードする</a></p>
<p>次回のメールでは、さらに具体的な導入プロセスをご案内いたします。<br>
ご不明な点がございましたら、お気軽にこのメールへご返信ください。</p>
{_B2B_SIGNATURE}
</div>"""

_B2B_3_BODY = f"""{_STYLE}
<div class="mail">
{_B2B_GREETING}
<p>以前お送りした成功事例はご確認いただけましたでしょうか。ご不明な点などございましたら、お気軽にお申し付けください。</p>
<p>弊社では、ITインフラ更新による課題解決について、{{% if contact.company_name %}}{{{{ contact.company_name }}}}様の{{% else %}}貴社の{{% endif %}}状況に合わせた、より具体的なご提案が可能です。<br>
現在、{{{{ contact.industry_label|default:"IT部門" }}}}のご担当者様限定で、無料デモをご体験いただける特典をご用意しております。</p>
<h2>無料デモで体感いただけること</h2>
<ul>
  <li>最新技術がどのようにトラブル対応の負担を軽減するか</li>
  <li>貴社の業務効率を向上させる具体的なソリューション</li>
  <li>実際の導入プロセスとサポート体制</li>
</ul>
{{% if contact.title_level >= 4 %}}
<p>業務負担の軽減とコスト削減の効果を、貴社の規模に合わせた試算でご説明いたします。意思決定に必要な情報を30分でご確認いただけます。</p>
{{% endif %}}
<h2>期間限定特典</h2>
<p>無料デモは先着10社様限定となっております。この機会にぜひお試しください。</p>
<p class="cta"><a class="btn" href="https://example.com/demo?utm_source=stepmail&amp;utm_campaign=b2b-whitepaper">今すぐデモを申し込む</a></p>
<p>貴社の課題解決に向けて、全力でサポートいたします。<br>お申し込みを心よりお待ちしております。</p>
{_B2B_SIGNATURE}
</div>"""

_B2C_GREETING = '<p>{{ contact.family_name|default:"お客" }}様</p>'
_B2C_SIGNATURE = '<p class="note">{{ sender.from_name|default:"サンプルストア" }}</p>'

_B2C_WELCOME_BODY = f"""{_STYLE}
<div class="mail">
{_B2C_GREETING}
<p>はじめまして。このたびは会員登録いただき、ありがとうございます！</p>
<p>これから、新商品の入荷情報やお得なキャンペーンをいち早くお届けします。
{{% if "VIP" in contact.tags %}}VIP会員様には、先行販売のご案内もお送りします。{{% endif %}}</p>
<p>まずは人気の商品をのぞいてみませんか。</p>
<p class="cta"><a class="btn" href="https://example.com/shop/ranking">人気ランキングを見る</a></p>
{_B2C_SIGNATURE}
</div>"""

_B2C_COUPON_BODY = f"""{_STYLE}
<div class="mail">
{_B2C_GREETING}
<p>いつもご利用いただき、ありがとうございます。<br>
{{{{ contact.family_name|default:"お客" }}}}様だけに、次回のお買い物で使える10％OFFクーポンをお届けします。</p>
<p class="cta"><span class="coupon">THANKS10</span></p>
<p>ご注文時にクーポンコードを入力してください。<br>有効期限：このメールの受信から14日間</p>
<p class="cta"><a class="btn" href="https://example.com/shop?coupon=THANKS10">クーポンを使ってお買い物する</a></p>
<p class="note">※ 一部対象外の商品がございます。他のクーポンとの併用はできません。</p>
{_B2C_SIGNATURE}
</div>"""

_B2C_CART_BODY = f"""{_STYLE}
<div class="mail">
{_B2C_GREETING}
<p>お買い物カゴに商品が残っています。</p>
<p>ご検討中の商品は、在庫がなくなり次第販売終了となる場合がございます。
お早めにご購入手続きをお済ませください。</p>
<p class="cta"><a class="btn" href="https://example.com/cart">お買い物カゴを見る</a></p>
<p class="note">すでにご購入済みの場合は、このメールと行き違いになりましたことをご容赦ください。</p>
{_B2C_SIGNATURE}
</div>"""

TEMPLATE_PRESETS = (
    content.TemplateInput(
        name=B2B_MAIL_1,
        subject='「{{ asset.title|default:"ITインフラ刷新ガイド" }}」資料のご請求ありがとうございました',
        preheader="ご請求いただいた資料のダウンロードリンクをお送りします。",
        body_html=_B2B_1_BODY,
    ),
    content.TemplateInput(
        name=B2B_MAIL_2,
        subject="ITインフラ更新で業務効率化を実現した成功事例のご紹介",
        preheader="トラブル対応工数を約60％削減したA社様（製造業）の取り組みをご紹介します。",
        body_html=_B2B_2_BODY,
    ),
    content.TemplateInput(
        name=B2B_MAIL_3,
        subject="【無料デモのご案内】ITインフラ更新の効果を体感しませんか？",
        preheader="先着10社様限定で、無料デモをご体験いただけます。",
        body_html=_B2B_3_BODY,
    ),
    content.TemplateInput(
        name=B2C_WELCOME,
        subject="{{ contact.family_name|default:'お客' }}様、ご登録ありがとうございます",
        preheader="新商品やキャンペーンの情報をいち早くお届けします。",
        body_html=_B2C_WELCOME_BODY,
    ),
    content.TemplateInput(
        name=B2C_COUPON,
        subject="【10％OFF】{{ contact.family_name|default:'お客' }}様限定クーポンをお届けします",
        preheader="次回のお買い物で使えるクーポンコードはこちら。",
        body_html=_B2C_COUPON_BODY,
    ),
    content.TemplateInput(
        name=B2C_CART,
        subject="お買い物カゴに商品が残っています",
        preheader="ご検討中の商品は在庫がなくなり次第、販売終了となる場合がございます。",
        body_html=_B2C_CART_BODY,
    ),
)


def messaging_presets_install_if_missing() -> int:
    """Create the preset sender profiles and templates that do not exist yet (by name).

    A stream that already has a default keeps it. Returns how many rows were created.
    """
    created = 0
    for preset in SENDER_PRESETS:
        if SenderProfile.objects.filter(name=preset.name).exists():
            continue
        has_default = SenderProfile.objects.filter(stream=preset.stream, is_default=True).exists()
        content.sender_profile_create(
            data=content.SenderProfileInput(
                **{**preset.__dict__, "is_default": not has_default}  # keep an existing default
            ),
            actor=None,
        )
        created += 1
    existing = set(Template.objects.filter(name__in=TEMPLATE_NAMES).values_list("name", flat=True))
    for template in TEMPLATE_PRESETS:
        if template.name in existing:
            continue
        content.template_create(data=template, actor=None)
        created += 1
    if created:
        logger.info("messaging.presets_installed", extra={"rows_created": created})
    return created
