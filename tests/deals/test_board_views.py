"""The pipeline board page and moves on it: columns with their sums, moving a card, a stale
card refused with the board's current state, the won/lost checks, and a rep's own deals only."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse

from sokyaku.core import roles
from sokyaku.core.models import DataAccessLog
from sokyaku.deals.models import Deal
from tests.deals.factories import contact_make, deal_make, pipeline, stage, user_make

pytestmark = pytest.mark.django_db


def column(html: str, stage_name: str) -> str:
    """The HTML of one board column."""
    pk = stage(stage_name).pk
    match = re.search(
        rf'<section class="board-col[^"]*" data-dropzone data-stage="{pk}".*?</section>', html, re.S
    )
    assert match, f"no column {stage_name}"
    return match.group(0)


def move(client: Client, deal: Deal, stage_name: str, version: int, **extra: str):  # type: ignore[no-untyped-def]
    return client.post(
        reverse("deals:move", args=[deal.pk]),
        {"stage": stage(stage_name).pk, "version": version, **extra},
        headers={"X-Board-Partial": "1"},
    )


@pytest.fixture
def rep_client(client: Client, sales_rep) -> Client:  # type: ignore[no-untyped-def]
    client.force_login(sales_rep)
    return client


def test_board_shows_a_column_per_stage_with_count_total_and_weighted(  # type: ignore[no-untyped-def]
    rep_client, sales_rep, english
):
    # given two deals in 商談開始 (10 %) and one in 提案 (30 %)
    deal_make(owner=sales_rep, amount=1_000_000, name="基幹システム刷新")
    deal_make(owner=sales_rep, amount=500_000)
    deal_make(owner=sales_rep, amount=2_000_000, stage_name="提案")

    # when
    response = rep_client.get(reverse("deals:board"))

    # then
    html = response.content.decode()
    assert response.status_code == 200
    assert [s.name for s in pipeline().stages.order_by("position")] == re.findall(
        r"<span data-stage-name>([^<]+)</span>", html
    )
    first = column(html, "商談開始")
    assert "2 deals" in first
    assert "<strong data-total>¥1,500,000</strong>" in first
    assert "<strong data-weighted>¥150,000</strong>" in first
    assert "基幹システム刷新" in first
    second = column(html, "提案")
    assert "1 deal<" in second
    assert "<strong data-weighted>¥600,000</strong>" in second
    assert "0 deals" in column(html, "交渉")


def test_a_card_shows_company_contact_surname_first_amount_close_owner(rep_client, sales_rep):  # type: ignore[no-untyped-def]
    from datetime import date

    sales_rep.last_name, sales_rep.first_name = "佐藤", "健"
    sales_rep.save()
    contact = contact_make(family_name="鈴木", given_name="花子", company_name="株式会社サンプル")
    deal_make(owner=sales_rep, contact=contact, amount=1_234_000, expected_close=date(2026, 12, 24))

    html = rep_client.get(reverse("deals:board")).content.decode()

    card = column(html, "商談開始")
    assert "株式会社サンプル" in card
    assert "鈴木 花子" in card
    assert "¥1,234,000" in card
    assert "2026/12/24" in card
    assert "佐藤 健" in card


def test_moving_a_card_puts_the_deal_in_the_new_stage(rep_client, sales_rep):  # type: ignore[no-untyped-def]
    deal = deal_make(owner=sales_rep, name="案件A")

    response = move(rep_client, deal, "提案", deal.version)

    assert response.status_code == 200
    deal.refresh_from_db()
    assert deal.stage.name == "提案"
    html = response.content.decode()
    assert "案件A" in column(html, "提案")
    assert "案件A" not in column(html, "商談開始")
    assert f'data-version="{deal.version}"' in html


def test_a_stale_card_is_refused_with_409_and_the_board_shows_the_current_stage(  # type: ignore[no-untyped-def]
    rep_client, sales_rep, english
):
    # given the card was drawn at version 1, then someone moved the deal to 交渉
    deal = deal_make(owner=sales_rep, name="案件B")
    seen = deal.version
    other = Client()
    other.force_login(sales_rep)
    assert move(other, deal, "交渉", seen).status_code == 200

    # when the stale card is dropped on 提案
    response = move(rep_client, deal, "提案", seen)

    # then nothing is overwritten and the board shows where the deal is
    assert response.status_code == 409
    deal.refresh_from_db()
    assert deal.stage.name == "交渉"
    html = response.content.decode()
    assert "moved by someone else" in html
    assert "案件B" in column(html, "交渉")
    assert "案件B" not in column(html, "提案")


def test_moving_to_won_without_an_amount_shows_the_error(rep_client, sales_rep, english):  # type: ignore[no-untyped-def]
    deal = deal_make(owner=sales_rep, amount=None, name="金額なし")

    response = move(rep_client, deal, "受注", deal.version)

    assert response.status_code == 422
    assert "cannot be won without an amount" in response.content.decode()
    deal.refresh_from_db()
    assert deal.status == "open"
    assert deal.stage.name == "商談開始"


def test_moving_to_lost_asks_for_the_reason_and_takes_it_on_the_second_post(rep_client, sales_rep):  # type: ignore[no-untyped-def]
    deal = deal_make(owner=sales_rep)

    first = move(rep_client, deal, "失注", deal.version)
    assert first.status_code == 422
    assert first["X-Deal-Needs"] == "lost_reason"
    deal.refresh_from_db()
    assert deal.status == "open"

    second = move(rep_client, deal, "失注", deal.version, lost_reason="price", note="他社より高い")
    assert second.status_code == 200
    deal.refresh_from_db()
    assert (deal.status, deal.lost_reason, deal.close_note) == ("lost", "price", "他社より高い")


def test_without_the_script_a_move_redirects_back_to_the_board(rep_client, sales_rep):  # type: ignore[no-untyped-def]
    deal = deal_make(owner=sales_rep)

    response = rep_client.post(
        reverse("deals:move", args=[deal.pk]) + "?q=x",
        {"stage": stage("提案").pk, "version": deal.version},
    )

    assert response.status_code == 302
    assert response["Location"] == reverse("deals:board") + "?q=x"
    deal.refresh_from_db()
    assert deal.stage.name == "提案"


def test_a_rep_sees_only_their_own_deals_and_cannot_move_another_reps(rep_client, sales_rep):  # type: ignore[no-untyped-def]
    other_rep = user_make(roles.SALES_REP)
    deal_make(owner=sales_rep, name="自分の案件")
    theirs = deal_make(owner=other_rep, name="他人の案件")

    html = rep_client.get(reverse("deals:board")).content.decode()
    assert "自分の案件" in html
    assert "他人の案件" not in html

    response = move(rep_client, theirs, "提案", theirs.version)
    assert response.status_code == 404
    theirs.refresh_from_db()
    assert theirs.stage.name == "商談開始"


def test_a_marketer_sees_every_deal_but_cannot_move(client, marketer, sales_rep):  # type: ignore[no-untyped-def]
    deal = deal_make(owner=sales_rep, name="担当者の案件")
    client.force_login(marketer)

    html = client.get(reverse("deals:board")).content.decode()
    assert "担当者の案件" in html
    assert 'draggable="true"' not in html

    assert move(client, deal, "提案", deal.version).status_code == 403


def test_the_owner_filter_and_search_narrow_the_board_and_its_sums(client, marketer, sales_rep):  # type: ignore[no-untyped-def]
    other_rep = user_make(roles.SALES_REP)
    deal_make(owner=sales_rep, amount=1_000_000, name="東京の案件")
    deal_make(owner=other_rep, amount=3_000_000, name="大阪の案件")
    client.force_login(marketer)

    by_owner = client.get(reverse("deals:board"), {"owner": sales_rep.pk}).content.decode()
    assert "東京の案件" in by_owner and "大阪の案件" not in by_owner
    assert "<strong data-total>¥1,000,000</strong>" in column(by_owner, "商談開始")

    searched = client.get(reverse("deals:board"), {"q": "大阪"}).content.decode()
    assert "大阪の案件" in searched and "東京の案件" not in searched


def test_the_partial_board_is_only_the_columns(rep_client, sales_rep):  # type: ignore[no-untyped-def]
    deal_make(owner=sales_rep)

    response = rep_client.get(reverse("deals:board"), headers={"X-Board-Partial": "1"})

    html = response.content.decode()
    assert '<div class="board"' in html
    assert "<html" not in html
    assert "X-Board-Partial" in response["Vary"]


def test_names_on_the_board_are_escaped(rep_client, sales_rep):  # type: ignore[no-untyped-def]
    contact = contact_make(family_name="<script>alert(1)</script>", company_name="<b>悪</b>商事")
    deal_make(owner=sales_rep, contact=contact, name="<img src=x onerror=alert(1)>")

    html = rep_client.get(reverse("deals:board")).content.decode()

    assert "<script>alert(1)</script>" not in html
    assert "<img src=x" not in html
    assert "<b>悪</b>" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html


def test_a_stagnating_deal_has_a_badge_with_its_days(rep_client, sales_rep, english):  # type: ignore[no-untyped-def]
    from datetime import timedelta

    from sokyaku.core import clock

    deal_make(owner=sales_rep, name="止まった案件")
    with clock.frozen(clock.now() + timedelta(days=20)):
        html = rep_client.get(reverse("deals:board")).content.decode()

    assert "Stagnating 20 days" in column(html, "商談開始")


def test_the_board_reads_in_a_fixed_number_of_queries(  # type: ignore[no-untyped-def]
    rep_client, sales_rep, django_assert_num_queries
):
    for i in range(12):
        deal_make(
            owner=sales_rep,
            contact=contact_make(owner=sales_rep),
            stage_name=("商談開始", "提案", "交渉")[i % 3],
        )

    # session, user, permissions (2), pipelines (2), stages + visibility + deals (3),
    # owners (2), the header's role (1), the access log (1): the same for 12 deals as for 1200
    with django_assert_num_queries(13):
        response = rep_client.get(reverse("deals:board"))

    assert response.content.decode().count('class="deal-card"') == 12


def test_viewing_the_board_is_logged_as_a_list_of_personal_data(  # type: ignore[no-untyped-def]
    rep_client, sales_rep
):
    deal_make(owner=sales_rep, contact=contact_make(owner=sales_rep), stage_name="提案")

    rep_client.get(reverse("deals:board"))

    entry = DataAccessLog.objects.get(resource="deals.board")
    assert (entry.user, entry.kind, entry.rows) == (sales_rep, "bulk_view", 1)
    assert "contact" in entry.fields
