"""Quotas (what each rep is expected to win in a month) and the forecast category of a deal.

Admins set every team member's quota; a team's manager sets their members' (not their own, not
another team's); a rep sets none. A deal's forecast category is edited on the deal; omitted
deals count in no forecast figure and committed ones are summed apart."""

from __future__ import annotations

from datetime import date

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from sokyaku.core import clock, roles
from sokyaku.core.errors import PermissionDenied, ValidationError
from sokyaku.deals import selectors, services
from sokyaku.deals.models import Deal, ForecastCategory, Quota
from tests.deals.factories import deal_make, tokyo, user_make
from tests.handoff.factories import rep_make, team_make

pytestmark = pytest.mark.django_db

JUNE = date(2026, 6, 1)


def _signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def teams():  # type: ignore[no-untyped-def]
    """第一営業課: manager 山本, members 田中 and 鈴木; 第二営業課: 高橋."""
    manager = rep_make("山本", "部長")
    tanaka, suzuki, takahashi = rep_make("田中"), rep_make("鈴木"), rep_make("高橋")
    team_make(tanaka, suzuki, manager=manager, name="第一営業課")
    team_make(takahashi, name="第二営業課")
    return manager, tanaka, suzuki, takahashi


def _quotas() -> dict[int, int]:
    return dict(Quota.objects.filter(month=JUNE).values_list("owner_id", "amount"))


def test_an_admin_sets_every_members_quota_on_the_page(teams) -> None:  # type: ignore[no-untyped-def]
    manager, tanaka, suzuki, takahashi = teams
    admin = user_make(roles.ADMIN)
    page = _signed_in(admin)

    form = page.get(reverse("deals:quotas"), {"month": "2026-06"}).content.decode()
    saved = page.post(
        reverse("deals:quotas"),
        {
            "month": "2026-06",
            f"amount-{tanaka.pk}": "¥5,000,000",
            f"amount-{takahashi.pk}": "3,000,000",
            f"amount-{suzuki.pk}": "",
        },
    )

    assert all(f'name="amount-{u.pk}"' in form for u in (tanaka, suzuki, takahashi))
    assert saved.status_code == 302
    assert _quotas() == {tanaka.pk: 5_000_000, takahashi.pk: 3_000_000}


def test_a_manager_sets_their_members_quotas_and_no_one_elses(teams) -> None:  # type: ignore[no-untyped-def]
    manager, tanaka, suzuki, takahashi = teams
    page = _signed_in(manager)

    form = page.get(reverse("deals:quotas"), {"month": "2026-06"}).content.decode()
    page.post(
        reverse("deals:quotas"),
        {
            "month": "2026-06",
            f"amount-{tanaka.pk}": "5000000",
            f"amount-{suzuki.pk}": "4000000",
            f"amount-{takahashi.pk}": "9999999",  # not on the page: ignored
            f"amount-{manager.pk}": "9999999",
        },
    )

    assert f'name="amount-{tanaka.pk}"' in form and f'name="amount-{takahashi.pk}"' not in form
    assert f'name="amount-{manager.pk}"' not in form
    assert _quotas() == {tanaka.pk: 5_000_000, suzuki.pk: 4_000_000}


def test_the_service_refuses_a_manager_another_teams_rep(teams) -> None:  # type: ignore[no-untyped-def]
    manager, tanaka, _suzuki, takahashi = teams

    with pytest.raises(PermissionDenied):
        services.quotas_save(
            actor=manager, month=JUNE, amounts={tanaka.pk: 1, takahashi.pk: 1_000_000}
        )
    with pytest.raises(PermissionDenied):
        services.quotas_save(actor=manager, month=JUNE, amounts={manager.pk: 1_000_000})

    assert _quotas() == {}


def test_a_rep_may_not_open_the_quotas_page(teams) -> None:  # type: ignore[no-untyped-def]
    _manager, tanaka, _suzuki, _takahashi = teams

    assert _signed_in(tanaka).get(reverse("deals:quotas")).status_code == 403


def test_a_bad_amount_is_shown_on_its_row_and_nothing_is_saved(teams) -> None:  # type: ignore[no-untyped-def]
    manager, tanaka, suzuki, _takahashi = teams

    response = _signed_in(manager).post(
        reverse("deals:quotas"),
        {"month": "2026-06", f"amount-{tanaka.pk}": "たくさん", f"amount-{suzuki.pk}": "100"},
    )

    assert response.status_code == 422
    assert "金額は円単位の整数で入力してください。" in response.content.decode()
    assert _quotas() == {}


def test_an_empty_amount_removes_the_quota_and_a_change_replaces_it(teams) -> None:  # type: ignore[no-untyped-def]
    manager, tanaka, suzuki, _takahashi = teams
    services.quotas_save(actor=manager, month=JUNE, amounts={tanaka.pk: 1, suzuki.pk: 2})

    services.quotas_save(
        actor=manager, month=date(2026, 6, 17), amounts={tanaka.pk: "", suzuki.pk: 3}
    )

    assert _quotas() == {suzuki.pk: 3}
    assert selectors.quota_amounts(first=JUNE, months=1) == {(suzuki.pk, JUNE): 3}


# --- the forecast category ------------------------------------------------------------------


def test_a_rep_marks_a_deal_committed_on_the_edit_form() -> None:
    rep = user_make()
    deal = deal_make(owner=rep, amount=1_000_000)
    page = _signed_in(rep)
    form = page.get(reverse("deals:edit", args=[deal.pk])).content.decode()

    page.post(
        reverse("deals:edit", args=[deal.pk]),
        {
            "name": deal.name,
            "owner": rep.pk,
            "amount": "1000000",
            "expected_close": "",
            "forecast_category": "commit",
            "version": deal.version,
            "lines-TOTAL_FORMS": "0",
            "lines-INITIAL_FORMS": "0",
            "lines-MIN_NUM_FORMS": "0",
            "lines-MAX_NUM_FORMS": "1000",
        },
    )
    detail = page.get(reverse("deals:detail", args=[deal.pk])).content.decode()

    assert all(label in form for label in ("コミット", "最善ケース", "パイプライン", "除外"))
    assert Deal.objects.get(pk=deal.pk).forecast_category == ForecastCategory.COMMIT
    assert 'data-forecast-category="commit">コミット<' in detail


def test_an_unknown_category_is_refused() -> None:
    deal = deal_make(owner=user_make())

    with pytest.raises(ValidationError) as refused:
        services.deal_update(deal=deal, actor=None, version=None, forecast_category="maybe")

    assert "forecast_category" in refused.value.field_errors


def test_omitted_deals_leave_the_forecast_and_committed_ones_are_summed() -> None:
    rep = user_make()
    with clock.frozen(tokyo(2026, 6, 1, 10, 0)):
        kept = deal_make(
            owner=rep, amount=1_000_000, stage_name="提案", expected_close=date(2026, 6, 20)
        )
        dropped = deal_make(
            owner=rep, amount=5_000_000, stage_name="提案", expected_close=date(2026, 6, 20)
        )
    services.deal_update(deal=kept, actor=rep, version=None, forecast_category="commit")
    services.deal_update(deal=dropped, actor=rep, version=None, forecast_category="omitted")

    result = selectors.forecast(user=rep, start=JUNE, months=1)

    assert (result.pipeline, result.weighted, result.committed) == (
        [1_000_000],
        [300_000],
        [1_000_000],
    )


def test_the_api_sets_and_shows_the_category(api: Client) -> None:
    deal = deal_make(owner=user_make())

    changed = api.patch(
        f"/api/v1/deals/{deal.pk}",
        {"version": deal.version, "forecast_category": "best_case"},
        content_type="application/json",
    )
    refused = api.patch(
        f"/api/v1/deals/{deal.pk}",
        {"version": changed.json()["version"], "forecast_category": "maybe"},
        content_type="application/json",
    )

    assert changed.status_code == 200 and changed.json()["forecast_category"] == "best_case"
    assert refused.status_code == 422
