"""The top bar's menu: who meets which entries, and which one is the current page."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from django.urls import resolve

from sokyaku.core.navigation import menu_for

pytestmark = pytest.mark.django_db


def _keys(menu) -> dict[str, list[str]]:  # type: ignore[no-untyped-def]
    return {
        "": [link.key for link in menu.links],
        **{group.key: [link.key for link in group.links] for group in menu.groups},
    }


# A rep's reports (their own numbers, a manager's team's) and their own API keys.
REP_MENUS = {"analyse": ["handoffs_report", "forecast_report"], "settings": ["api_keys"]}


def test_a_sales_rep_gets_their_pages_and_no_marketing_menus(sales_rep) -> None:  # type: ignore[no-untyped-def]
    menu = menu_for(user=sales_rep, match=resolve("/deals/forecast/"))

    assert _keys(menu) == {"": ["inbox", "board", "contacts", "forecast"], **REP_MENUS}
    assert [link.key for link in menu.links if link.current] == ["forecast"]


def test_a_marketer_gets_contacts_and_the_five_menus(marketer) -> None:  # type: ignore[no-untyped-def]
    menu = menu_for(user=marketer, match=resolve("/analytics/funnel/"))

    keys = _keys(menu)
    assert list(keys) == ["", "acquire", "nurture", "sales", "analyse", "settings"]
    assert keys[""] == ["contacts"]
    assert keys["sales"] == ["inbox", "board", "forecast", "referrals"]
    # admins' settings are not a marketer's
    assert "access_log" not in keys["settings"] and "routing" not in keys["settings"]
    assert "erasures" not in keys["settings"] and "retention" not in keys["settings"]
    assert keys["settings"][-1] == "api_keys"
    assert [g.key for g in menu.groups if g.current] == ["analyse"]
    assert [e.key for g in menu.groups for e in g.links if e.current] == ["funnel_report"]


def test_a_page_below_an_entry_marks_that_entry(admin_user) -> None:  # type: ignore[no-untyped-def]
    menu = menu_for(user=admin_user, match=resolve("/handoffs/settings/triggers/new/"))

    current = [link.key for group in menu.groups for link in group.links if link.current]
    assert current == ["triggers"]
    assert "access_log" in _keys(menu)["settings"]


def test_an_admin_finds_the_erasure_log_and_the_retention_policy_under_settings(  # type: ignore[no-untyped-def]
    admin_user,
) -> None:
    menu = menu_for(user=admin_user, match=resolve("/privacy/retention/"))

    assert {"erasures", "retention"} <= set(_keys(menu)["settings"])
    assert [link.key for g in menu.groups for link in g.links if link.current] == ["retention"]


def test_a_rep_given_a_marketing_permission_finds_that_page(sales_rep) -> None:  # type: ignore[no-untyped-def]
    sales_rep.user_permissions.add(
        Permission.objects.get(content_type__app_label="segments", codename="change_segment")
    )

    menu = menu_for(user=type(sales_rep).objects.get(pk=sales_rep.pk), match=None)

    assert _keys(menu) == {
        "": ["inbox", "board", "contacts", "forecast"],
        "nurture": ["segments"],
        **REP_MENUS,
    }
