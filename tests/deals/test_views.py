"""The deals pages besides the board: a deal's page, create/edit with lines, win and lose,
qualifying a handoff, the forecast table, the contact and company panels, settings and the
referral list — and that a rep reaches none of another rep's deals."""

from __future__ import annotations

import re
from datetime import date

import pytest
from django.template import Context, Template
from django.test import Client, RequestFactory
from django.urls import reverse

from sokyaku.core import clock, roles
from sokyaku.deals import services
from sokyaku.deals.models import Deal, DealStage, Product, Referral
from sokyaku.handoff.models import Handoff
from sokyaku.lifecycle.models import BantRecord, ContactStage
from tests.deals.factories import (
    contact_make,
    deal_make,
    handoff_make,
    pipeline,
    product_make,
    stage,
    tokyo,
    user_make,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def rep_client(client: Client, sales_rep) -> Client:  # type: ignore[no-untyped-def]
    client.force_login(sales_rep)
    return client


def text(response) -> str:  # type: ignore[no-untyped-def]
    return response.content.decode()


# --- a deal's page ----------------------------------------------------------------------------


def test_the_deal_page_shows_fields_lines_history_and_links(rep_client, sales_rep, english):  # type: ignore[no-untyped-def]
    product = product_make("クラウド会計", unit_price=300_000)
    contact = contact_make(family_name="鈴木", given_name="花子", company_name="株式会社サンプル")
    deal = deal_make(
        owner=sales_rep,
        contact=contact,
        amount=None,
        lines=[{"product": product.pk, "quantity": 2}],
        name="会計導入",
    )
    services.deal_move(deal=deal, stage=stage("提案"), version=deal.version, actor=sales_rep)

    html = text(rep_client.get(reverse("deals:detail", args=[deal.pk])))

    assert "会計導入" in html
    assert '<dd class="num" data-deal-amount>¥600,000</dd>' in html
    assert "クラウド会計" in html
    assert "鈴木 花子" in html and reverse("contacts:detail", args=[contact.pk]) in html
    assert "株式会社サンプル" in html
    assert "商談開始 → 提案" in html


def test_the_deal_page_shows_the_bant_it_was_qualified_with(rep_client, sales_rep):  # type: ignore[no-untyped-def]
    contact = contact_make(owner=sales_rep)
    handoff = handoff_make(contact=contact, assignee=sales_rep)
    deal = services.handoff_qualify(
        handoff=handoff,
        actor=sales_rep,
        bant={"budget_amount_jpy": "2,400,000", "authority": "decision_maker", "need": "在庫管理"},
        deal={"amount": 2_000_000},
    )

    html = text(rep_client.get(reverse("deals:detail", args=[deal.pk])))

    assert "¥2,400,000" in html
    assert "在庫管理" in html


@pytest.mark.parametrize(
    ("name", "method"),
    [
        ("deals:detail", "get"),
        ("deals:edit", "get"),
        ("deals:edit", "post"),
        ("deals:win", "post"),
        ("deals:lose", "post"),
        ("deals:move", "post"),
    ],
)
def test_another_reps_deal_is_not_found(rep_client, name, method):  # type: ignore[no-untyped-def]
    theirs = deal_make(owner=user_make(roles.SALES_REP))

    response = getattr(rep_client, method)(reverse(name, args=[theirs.pk]))

    assert response.status_code == 404
    theirs.refresh_from_db()
    assert theirs.status == "open"


def test_names_on_the_deal_page_are_escaped(rep_client, sales_rep):  # type: ignore[no-untyped-def]
    contact = contact_make(family_name="<script>x()</script>", company_name="<i>悪</i>")
    deal = deal_make(owner=sales_rep, contact=contact, name="<svg onload=x()>")

    html = text(rep_client.get(reverse("deals:detail", args=[deal.pk])))

    assert "<script>x()</script>" not in html
    assert "<svg onload" not in html
    assert "<i>悪</i>" not in html
    assert "&lt;svg onload=x()&gt;" in html


# --- create and edit --------------------------------------------------------------------------


def _deal_post(**data: object) -> dict[str, object]:
    base: dict[str, object] = {
        "name": "",
        "contact": "",
        "owner": "",
        "amount": "",
        "expected_close": "",
        "lines-TOTAL_FORMS": "2",
        "lines-INITIAL_FORMS": "0",
        "lines-MIN_NUM_FORMS": "0",
        "lines-MAX_NUM_FORMS": "1000",
    }
    base.update(data)
    return base


def test_a_rep_creates_a_deal_with_lines_for_their_contact(rep_client, sales_rep):  # type: ignore[no-untyped-def]
    contact = contact_make(owner=sales_rep, company_name="株式会社ミライ")
    product = product_make("分析オプション", unit_price=150_000)
    page = text(rep_client.get(reverse("deals:create"), {"contact": contact.pk}))
    assert 'value="株式会社ミライ"' in page

    response = rep_client.post(
        reverse("deals:create"),
        _deal_post(
            name="ミライ 分析導入",
            contact=contact.pk,
            owner=sales_rep.pk,
            expected_close="2026-12-20",
            stage=stage("提案").pk,
            **{
                "lines-0-product": product.pk,
                "lines-0-quantity": "3",
                "lines-1-name": "導入支援",
                "lines-1-unit_price": "¥50,000",
            },
        ),
    )

    deal = Deal.objects.get(name="ミライ 分析導入")
    assert response.status_code == 302
    assert response["Location"] == reverse("deals:detail", args=[deal.pk])
    assert (deal.contact, deal.owner, deal.stage.name) == (contact, sales_rep, "提案")
    assert deal.amount == 3 * 150_000 + 50_000
    assert deal.expected_close == date(2026, 12, 20)
    assert [(line.name, line.quantity, line.unit_price) for line in deal.lines.all()] == [
        ("分析オプション", 3, 150_000),
        ("導入支援", 1, 50_000),
    ]


def test_create_errors_are_shown_and_nothing_is_stored(rep_client, sales_rep, english):  # type: ignore[no-untyped-def]
    response = rep_client.post(
        reverse("deals:create"),
        _deal_post(name="金額が変", amount="abc", stage=stage("商談開始").pk),
    )

    assert response.status_code == 422
    assert "Enter the amount as a whole number of yen." in text(response)
    assert not Deal.objects.exists()


def test_a_line_error_is_shown_on_its_row(rep_client, sales_rep, english):  # type: ignore[no-untyped-def]
    response = rep_client.post(
        reverse("deals:create"),
        _deal_post(
            name="行エラー",
            stage=stage("商談開始").pk,
            **{"lines-0-name": "名前だけ"},
        ),
    )

    assert response.status_code == 422
    assert re.search(r'name="lines-0-unit_price".*?Enter the unit price\.', text(response), re.S)
    assert not Deal.objects.exists()


def test_a_rep_cannot_attach_another_reps_contact(rep_client, sales_rep, english):  # type: ignore[no-untyped-def]
    theirs = contact_make(owner=user_make(roles.SALES_REP))

    response = rep_client.post(
        reverse("deals:create"),
        _deal_post(name="横取り", contact=theirs.pk, stage=stage("商談開始").pk),
    )

    assert response.status_code == 422
    assert "No contact with this ID that you can see." in text(response)
    assert not Deal.objects.exists()
    assert rep_client.get(reverse("deals:create"), {"contact": theirs.pk}).status_code == 404


def test_editing_saves_and_a_stale_edit_is_refused(rep_client, sales_rep, english):  # type: ignore[no-untyped-def]
    deal = deal_make(owner=sales_rep, amount=1_000_000, name="旧名")
    seen = deal.version
    form = _deal_post(name="新名", owner=sales_rep.pk, amount="1,500,000", version=seen)

    assert rep_client.post(reverse("deals:edit", args=[deal.pk]), form).status_code == 302
    deal.refresh_from_db()
    assert (deal.name, deal.amount) == ("新名", 1_500_000)

    stale = rep_client.post(
        reverse("deals:edit", args=[deal.pk]), {**form, "name": "上書き", "amount": "9"}
    )
    assert stale.status_code == 422
    assert "Someone else changed this deal" in text(stale)
    deal.refresh_from_db()
    assert (deal.name, deal.amount) == ("新名", 1_500_000)


# --- win and lose -----------------------------------------------------------------------------


def test_winning_without_an_amount_shows_the_error(rep_client, sales_rep, english):  # type: ignore[no-untyped-def]
    deal = deal_make(owner=sales_rep, amount=None)

    response = rep_client.post(
        reverse("deals:win", args=[deal.pk]), {"version": deal.version}, follow=True
    )

    assert "A won deal needs an amount." in text(response)
    deal.refresh_from_db()
    assert deal.status == "open"


def test_winning_makes_the_contact_a_customer(rep_client, sales_rep):  # type: ignore[no-untyped-def]
    contact = contact_make(owner=sales_rep)
    deal = deal_make(owner=sales_rep, contact=contact, amount=800_000)

    rep_client.post(reverse("deals:win", args=[deal.pk]), {"version": deal.version, "note": "契約"})

    deal.refresh_from_db()
    assert (deal.status, deal.stage.name, deal.close_note) == ("won", "受注", "契約")
    assert ContactStage.objects.get(contact=contact).stage == "customer"


def test_losing_needs_a_reason_shown_next_to_the_field(rep_client, sales_rep, english):  # type: ignore[no-untyped-def]
    deal = deal_make(owner=sales_rep)

    missing = rep_client.post(reverse("deals:lose", args=[deal.pk]), {"version": deal.version})
    assert missing.status_code == 422
    assert re.search(r'name="reason".*?field__error', text(missing), re.S)
    deal.refresh_from_db()
    assert deal.status == "open"

    rep_client.post(
        reverse("deals:lose", args=[deal.pk]),
        {"version": deal.version, "reason": "competitor", "note": "他社に決定"},
    )
    deal.refresh_from_db()
    assert (deal.status, deal.lost_reason) == ("lost", "competitor")


# --- qualify a handoff ------------------------------------------------------------------------


def _qualify_post(**data: str) -> dict[str, str]:
    base = {
        "bant-budget_amount_jpy": "",
        "bant-budget_band": "",
        "bant-authority": "",
        "bant-need": "",
        "bant-need_tags": "",
        "bant-timeline_date": "",
        "bant-timeline_band": "",
        "deal-name": "",
        "deal-amount": "",
        "deal-expected_close": "",
        "deal-stage": str(stage("商談開始").pk),
    }
    base.update(data)
    return base


@pytest.fixture
def handoff(sales_rep) -> Handoff:  # type: ignore[no-untyped-def]
    contact = contact_make(owner=sales_rep, company_name="株式会社サンプル", stage="mql")
    return handoff_make(contact=contact, assignee=sales_rep)


def test_the_qualify_page_prefills_the_deal_name(rep_client, handoff):  # type: ignore[no-untyped-def]
    pipeline()

    html = text(rep_client.get(reverse("deals:qualify", args=[handoff.pk])))

    assert 'value="株式会社サンプル — デモ申し込み"' in html
    assert 'name="bant-budget_amount_jpy"' in html


def test_qualifying_records_bant_and_opens_the_deal(rep_client, sales_rep, handoff):  # type: ignore[no-untyped-def]
    product = product_make("基本プラン", unit_price=1_200_000)
    with clock.frozen(tokyo(2026, 11, 2, 10, 0)):
        response = rep_client.post(
            reverse("deals:qualify", args=[handoff.pk]),
            _qualify_post(
                **{
                    "bant-budget_amount_jpy": "¥3,000,000",
                    "bant-authority": "decision_maker",
                    "bant-need": "営業管理の刷新",
                    "bant-timeline_date": "2027-01-31",
                    "deal-expected_close": "2027-01-31",
                    "deal-stage": str(stage("提案").pk),
                    "deal-products": str(product.pk),
                }
            ),
        )

    deal = Deal.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("deals:detail", args=[deal.pk])
    handoff.refresh_from_db()
    assert handoff.status == "accepted"
    assert (deal.handoff, deal.owner, deal.stage.name) == (handoff, sales_rep, "提案")
    assert deal.name == "株式会社サンプル — デモ申し込み"
    assert deal.amount == 1_200_000
    assert deal.bant is not None and deal.bant.budget_amount_jpy == 3_000_000
    assert ContactStage.objects.get(contact=handoff.contact).stage == "opportunity"


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"bant-budget_amount_jpy": "たくさん"}, "bant-budget_amount_jpy", "not a number"),
        ({"deal-amount": "-5"}, "deal-amount", "The amount cannot be negative."),
    ],
)
def test_qualify_errors_are_shown_next_to_the_field_and_nothing_is_kept(  # type: ignore[no-untyped-def]
    rep_client, handoff, english, data, field, message
):
    response = rep_client.post(reverse("deals:qualify", args=[handoff.pk]), _qualify_post(**data))

    assert response.status_code == 422
    assert re.search(rf'name="{field}".*?<p class="field__error">{message}', text(response), re.S)
    handoff.refresh_from_db()
    assert handoff.status == "open"
    assert not Deal.objects.exists()
    assert not BantRecord.objects.exists()


def test_another_reps_handoff_cannot_be_qualified(rep_client, handoff):  # type: ignore[no-untyped-def]
    other = user_make(roles.SALES_REP)
    theirs = handoff_make(contact=contact_make(owner=other), assignee=other)

    assert rep_client.get(reverse("deals:qualify", args=[theirs.pk])).status_code == 404
    assert (
        rep_client.post(reverse("deals:qualify", args=[theirs.pk]), _qualify_post()).status_code
        == 404
    )


def test_a_qualified_handoff_leads_to_its_deal(rep_client, sales_rep, handoff):  # type: ignore[no-untyped-def]
    deal = services.handoff_qualify(handoff=handoff, actor=sales_rep, bant={}, deal={})

    response = rep_client.get(reverse("deals:qualify", args=[handoff.pk]))

    assert response.status_code == 302
    assert response["Location"] == reverse("deals:detail", args=[deal.pk])


# --- forecast ---------------------------------------------------------------------------------


def test_the_forecast_table_shows_weighted_and_won_per_month_and_owner(client, marketer, english):  # type: ignore[no-untyped-def]
    sato = user_make(name="sato")
    sato.last_name, sato.first_name = "佐藤", "一郎"
    sato.save()
    with clock.frozen(tokyo(2026, 5, 1, 10, 0)):
        deal_make(owner=sato, amount=1_000_000, stage_name="提案", expected_close=date(2026, 5, 20))
        deal_make(owner=sato, amount=500_000, stage_name="交渉", expected_close=date(2026, 7, 10))
        won = deal_make(owner=sato, amount=800_000)
        services.deal_win(deal=won, actor=sato)
    client.force_login(marketer)

    with clock.frozen(tokyo(2026, 5, 10, 10, 0)):
        html = text(client.get(reverse("deals:forecast")))

    row = re.search(r'<tr data-owner="\d+">.*?</tr>', html, re.S)
    assert row is not None
    cells = re.findall(r'<td class="num">([^<]*)</td>', row.group(0))
    # May: ¥300,000 weighted, ¥800,000 won; June: nothing; July: ¥300,000 weighted.
    assert cells[:6] == ["¥300,000", "¥800,000", "¥0", "¥0", "¥300,000", "¥0"]
    assert cells[-3:] == ["¥1,500,000", "¥600,000", "¥800,000"]
    assert "佐藤 一郎" in row.group(0)
    assert "2026-05" in html and "2026-10" in html


def test_the_forecast_starts_at_the_chosen_month(client, marketer, english):  # type: ignore[no-untyped-def]
    client.force_login(marketer)

    html = text(client.get(reverse("deals:forecast"), {"from": "2027-03"}))

    assert "2027-03" in html and "2027-08" in html
    assert 'value="2027-03"' in html


def test_a_rep_forecasts_only_their_deals(rep_client, sales_rep):  # type: ignore[no-untyped-def]
    other = user_make(roles.SALES_REP)
    today = clock.local_now().date()
    deal_make(owner=other, amount=9_990_000, expected_close=today)
    deal_make(owner=sales_rep, amount=1_000_000, expected_close=today)

    html = text(rep_client.get(reverse("deals:forecast")))

    assert "¥100,000" in html
    assert "¥999,000" not in html


# --- panels -----------------------------------------------------------------------------------


def _render(source: str, **context: object) -> str:
    request = RequestFactory().get("/")
    request.user = context["user"]  # type: ignore[assignment]
    return Template("{% load deals_ui %}" + source).render(Context({"request": request, **context}))


@pytest.fixture
def customer(sales_rep):  # type: ignore[no-untyped-def]
    """A rep's customer with a deal, two orders and a referral made."""
    contact = contact_make(owner=sales_rep, family_name="田中")
    deal_make(owner=sales_rep, contact=contact, amount=700_000, name="田中様 追加導入")
    services.order_record(contact=contact, external_id="A-1", ordered_at=clock.now(), amount=12_000)
    services.order_record(contact=contact, external_id="A-2", ordered_at=clock.now(), amount=8_000)
    code = services.referral_code_get_or_create(contact=contact)
    services.referral_attribute(
        code=code.code, referred=contact_make(family_name="友人"), source="link"
    )
    return contact


def test_the_contact_panel_shows_deals_orders_and_referrals(customer, sales_rep):  # type: ignore[no-untyped-def]
    code = customer.referral_code.code

    html = _render("{% deals_panel contact user %}", contact=customer, user=sales_rep)

    assert "田中様 追加導入" in html and "¥700,000" in html
    assert "<dd data-orders-count>2</dd>" in html
    assert "<dd data-orders-total>¥20,000</dd>" in html
    assert code in html and f"/r/{code}" in html
    assert "友人" in html
    assert f"{reverse('deals:create')}?contact={customer.pk}" in html


def test_the_contact_panel_reads_in_four_queries(customer, marketer, django_assert_max_num_queries):  # type: ignore[no-untyped-def]
    marketer.has_perm("deals.view_deal")  # the page has loaded the user's permissions already

    with django_assert_max_num_queries(4):
        html = _render("{% deals_panel contact user %}", contact=customer, user=marketer)

    assert "田中様 追加導入" in html


def test_the_company_panel_sums_the_companys_deals_in_few_queries(  # type: ignore[no-untyped-def]
    marketer, django_assert_max_num_queries
):
    contact = contact_make(company_name="株式会社ロールアップ")
    deal_make(contact=contact, amount=1_000_000, stage_name="提案")
    won = deal_make(contact=contact, amount=400_000)
    services.deal_win(deal=won, actor=None)

    marketer.has_perm("deals.view_deal")  # the page has loaded the user's permissions already
    with django_assert_max_num_queries(4):
        html = _render(
            "{% company_deals_panel company user %}", company=contact.company, user=marketer
        )

    assert "<dd data-open-count>1</dd>" in html
    assert "<dd data-open-amount>¥1,000,000</dd>" in html
    assert "<dd data-open-weighted>¥300,000</dd>" in html
    assert "¥400,000" in html


# --- settings and referrals -------------------------------------------------------------------


def test_an_admin_adds_a_stage_and_a_product(client, admin_user):  # type: ignore[no-untyped-def]
    client.force_login(admin_user)
    p = pipeline()

    client.post(
        reverse("deals:stage_create", args=[p.pk]),
        {"name": "デモ実施", "probability": "45", "kind": "open", "stagnation_days": "7"},
    )
    client.post(
        reverse("deals:product_create"),
        {
            "name": "年間保守",
            "sku": "MNT-1",
            "category": "保守",
            "unit_price": "240000",
            "is_active": "on",
        },
    )

    names = list(
        DealStage.objects.filter(pipeline=p).order_by("position").values_list("name", flat=True)
    )
    assert names == ["商談開始", "提案", "交渉", "デモ実施", "受注", "失注"]
    assert Product.objects.get(sku="MNT-1").unit_price == 240_000
    assert "年間保守" in text(client.get(reverse("deals:settings")))


def test_a_stage_error_is_shown_next_to_the_field(client, admin_user, english):  # type: ignore[no-untyped-def]
    client.force_login(admin_user)
    p = pipeline()

    response = client.post(
        reverse("deals:stage_create", args=[p.pk]),
        {"name": "二つ目の受注", "probability": "100", "kind": "won"},
    )

    assert response.status_code == 422
    assert "A pipeline keeps exactly one won and one lost stage." in text(response)
    assert not DealStage.objects.filter(name="二つ目の受注").exists()


def test_reps_and_marketers_cannot_change_settings(client, sales_rep, marketer):  # type: ignore[no-untyped-def]
    p = pipeline()
    for user in (sales_rep, marketer):
        client.force_login(user)
        assert client.get(reverse("deals:settings")).status_code == 403
        assert client.get(reverse("deals:pipeline_edit", args=[p.pk])).status_code == 403
        assert client.post(reverse("deals:product_create"), {"name": "x"}).status_code == 403


def test_marketing_sees_the_referrals_and_the_view_is_logged(client, marketer, sales_rep):  # type: ignore[no-untyped-def]
    from sokyaku.core.models import DataAccessLog

    referrer = contact_make(family_name="紹介元")
    code = services.referral_code_get_or_create(contact=referrer)
    services.referral_attribute(
        code=code.code, referred=contact_make(family_name="紹介先"), source="link"
    )
    client.force_login(marketer)

    html = text(client.get(reverse("deals:referrals")))

    assert "紹介元" in html and "紹介先" in html
    log = DataAccessLog.objects.get(resource="deals.referrals")
    assert (log.user, log.rows) == (marketer, 1)
    client.force_login(sales_rep)
    assert client.get(reverse("deals:referrals")).status_code == 403


def test_the_reward_status_changes_from_the_list(client, admin_user):  # type: ignore[no-untyped-def]
    referrer = contact_make()
    code = services.referral_code_get_or_create(contact=referrer)
    referral = services.referral_attribute(code=code.code, referred=contact_make(), source="link")
    client.force_login(admin_user)

    response = client.post(
        reverse("deals:referral_reward", args=[referral.pk]), {"status": "earned"}
    )

    assert response.status_code == 302
    assert Referral.objects.get(pk=referral.pk).reward_status == "earned"


def test_a_rep_cannot_change_a_reward(client, sales_rep):  # type: ignore[no-untyped-def]
    code = services.referral_code_get_or_create(contact=contact_make(owner=sales_rep))
    referral = services.referral_attribute(code=code.code, referred=contact_make(), source="link")
    client.force_login(sales_rep)

    response = client.post(reverse("deals:referral_reward", args=[referral.pk]), {"status": "void"})

    assert response.status_code == 403
    assert Referral.objects.get(pk=referral.pk).reward_status == "pending"
