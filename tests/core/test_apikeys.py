"""API keys: the scopes each role may give a key (from the operations' own declarations), the
keys page (make, see once, list, revoke), admins' view of every key, and ``sokyaku
createapikey --user`` refusing a scope the user's role may not have."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from sokyaku.cli import main
from sokyaku.core import apiscopes, clock, roles, services
from sokyaku.core.errors import ValidationError
from sokyaku.core.models import ApiKey, ApiScope, Team, TeamMember
from sokyaku.handoff.models import Handoff
from tests.deals.factories import contact_make

pytestmark = pytest.mark.django_db

PAGE = "/settings/api-keys/"
# What no rep may do, whatever the key says.
MARKETING_WRITES = {"forms:write", "costs:write", "messages:write"}


def _user(username: str, role: str) -> User:
    return services.user_create(username=username, password="x", role=role, check_password=False)


def _signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _text(response: Any) -> str:
    return response.content.decode()


def _token(response: Any) -> str:
    match = re.search(r'id="new-key-token"[^>]*value="(sk_[^"]+)"', _text(response))
    assert match, "the new key is not on the page"
    return match[1]


def _handoff(assignee: User, family_name: str) -> Handoff:
    contact = contact_make(family_name=family_name, owner=assignee)
    now = clock.now()
    return Handoff.objects.create(
        contact=contact,
        trigger_kind="event",
        action_label="デモ申し込み",
        acted_at=now,
        assignee=assignee,
        created_at=now,
        sla_due_at=now,
    )


# --- which scopes a role may give -----------------------------------------------------------


def test_a_rep_may_give_what_sales_does_and_nothing_of_marketing() -> None:
    rep = _user("rep", roles.SALES_REP)

    allowed = {scope.value for scope in apiscopes.scopes_allowed(rep)}

    assert {"contacts:read", "handoffs:write", "deals:write", "analytics:read"} <= allowed
    assert not allowed & MARKETING_WRITES


def test_a_marketer_may_give_marketing_scopes_but_not_sales_work() -> None:
    marketer = _user("mika", roles.MARKETER)

    allowed = {scope.value for scope in apiscopes.scopes_allowed(marketer)}

    assert allowed >= MARKETING_WRITES
    assert not allowed & {"handoffs:write", "deals:write"}


def test_an_admin_may_give_every_scope_an_operation_needs() -> None:
    admin = _user("boss", roles.ADMIN)

    allowed = {scope.value for scope in apiscopes.scopes_allowed(admin)}

    # messages:read is not needed by any operation yet: only a system key carries it
    assert allowed == set(ApiScope.values) - {"messages:read"}


def test_the_service_refuses_a_scope_beyond_the_role_and_stores_nothing(english: None) -> None:
    rep = _user("rep", roles.SALES_REP)

    with pytest.raises(ValidationError) as refused:
        services.apikey_create(name="x", scopes=["contacts:read", "forms:write"], created_by=rep)

    assert refused.value.field_errors["scopes"].startswith("rep may not give a key the scope(s) ")
    assert "forms:write" in refused.value.message
    assert not ApiKey.objects.exists()


def test_a_deactivated_user_gets_no_key() -> None:
    rep = _user("rep", roles.SALES_REP)
    User.objects.filter(pk=rep.pk).update(is_active=False)
    rep.refresh_from_db()

    with pytest.raises(ValidationError):
        services.apikey_create(name="x", scopes=["contacts:read"], created_by=rep)


# --- the keys page --------------------------------------------------------------------------


def test_a_rep_makes_a_key_that_reaches_only_their_handoffs() -> None:
    # given a rep with a handoff, and another rep with one
    rep, other = _user("rep", roles.SALES_REP), _user("other", roles.SALES_REP)
    mine = _handoff(rep, "自分田")
    _handoff(other, "他人田")
    page = _signed_in(rep)
    # when the rep makes a key for handoffs on the page
    response = page.post(
        PAGE, {"name": "CRM連携", "scopes": ["handoffs:read", "handoffs:write", "forms:read"]}
    )
    token = _token(response)
    api = Client(headers={"Authorization": f"Bearer {token}"})
    # then the key is shown once, and reads the rep's handoff only
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    assert token not in _text(page.get(PAGE))
    listed = api.get("/api/v1/handoffs").json()
    assert [item["id"] for item in listed["items"]] == [mine.pk]
    # and what the rep's role may not do is refused (the scope was not even offered)
    created = api.post("/api/v1/forms", {"name": "勝手なフォーム"}, content_type="application/json")
    assert created.status_code == 403
    assert created.json() == {"detail": "This API key lacks the forms:write scope."}


def test_a_team_manager_key_reaches_the_teams_handoffs() -> None:
    # given a manager of a team with a member, and a rep outside it
    manager, member = _user("boss", roles.SALES_REP), _user("member", roles.SALES_REP)
    outsider = _user("outsider", roles.SALES_REP)
    team = Team.objects.create(name="営業1課", manager=manager, created_at=clock.now())
    TeamMember.objects.create(team=team, user=member, joined_at=clock.now())
    theirs = _handoff(member, "部下田")
    _handoff(outsider, "他課田")
    token = _token(_signed_in(manager).post(PAGE, {"name": "集計", "scopes": ["handoffs:read"]}))
    api = Client(headers={"Authorization": f"Bearer {token}"})

    listed = api.get("/api/v1/handoffs").json()

    assert [item["id"] for item in listed["items"]] == [theirs.pk]


def test_the_page_offers_only_what_the_role_allows_in_japanese() -> None:
    rep = _user("rep", roles.SALES_REP)

    page = _text(_signed_in(rep).get(PAGE))

    offered = set(re.findall(r'name="scopes" value="([^"]+)"', page))
    assert offered == {scope.value for scope in apiscopes.scopes_allowed(rep)}
    assert "コンタクトの読み取り" in page
    assert not offered & MARKETING_WRITES
    assert 'name="system"' not in page


def test_a_forged_scope_is_refused_and_nothing_is_made() -> None:
    rep = _user("rep", roles.SALES_REP)

    response = _signed_in(rep).post(PAGE, {"name": "偽装", "scopes": ["costs:write"]})

    assert response.status_code == 422
    assert not ApiKey.objects.exists()


def test_the_list_shows_labels_dates_and_state_never_raw_scopes() -> None:
    rep = _user("rep", roles.SALES_REP)
    kept = services.apikey_create(name="有効なキー", scopes=["deals:read"], created_by=rep)
    gone = services.apikey_create(name="古いキー", scopes=["contacts:read"], created_by=rep)
    services.apikey_revoke(prefix=gone.api_key.prefix)

    page = _text(_signed_in(rep).get(PAGE))

    table = page[page.index('id="apikeys"') :]
    assert "有効なキー" in table and "古いキー" in table
    assert "パイプライン・商談・売上予測の読み取り" in table
    assert "deals:read" not in table and "contacts:read" not in table
    assert "有効" in table and "失効" in table
    assert "未使用" in table
    assert kept.api_key.prefix not in table


def test_revoking_on_the_page_stops_the_key_at_once() -> None:
    rep = _user("rep", roles.SALES_REP)
    new = services.apikey_create(name="外す", scopes=["contacts:read"], created_by=rep)
    api = Client(headers={"Authorization": f"Bearer {new.token}"})
    assert api.get("/api/v1/contacts").status_code == 200

    response = _signed_in(rep).post(reverse("core:apikey_revoke", args=[new.api_key.pk]))

    assert response.status_code == 302
    assert api.get("/api/v1/contacts").status_code == 401


def test_a_rep_neither_sees_nor_revokes_another_users_key() -> None:
    rep, other = _user("rep", roles.SALES_REP), _user("other", roles.SALES_REP)
    theirs = services.apikey_create(name="他人のキー", scopes=["contacts:read"], created_by=other)
    page = _signed_in(rep)

    assert "他人のキー" not in _text(page.get(PAGE))
    assert page.post(reverse("core:apikey_revoke", args=[theirs.api_key.pk])).status_code == 404
    assert ApiKey.objects.get(pk=theirs.api_key.pk).revoked_at is None


def test_an_admin_sees_every_key_and_revokes_any() -> None:
    admin, rep = _user("boss", roles.ADMIN), _user("rep", roles.SALES_REP)
    theirs = services.apikey_create(name="担当者のキー", scopes=["contacts:read"], created_by=rep)
    services.apikey_create(name="同期", scopes=["contacts:read"], system=True)
    page = _signed_in(admin)

    listed = _text(page.get(PAGE))
    page.post(reverse("core:apikey_revoke", args=[theirs.api_key.pk]))

    assert "担当者のキー" in listed and "同期" in listed
    assert "システムキー" in listed
    assert ApiKey.objects.get(pk=theirs.api_key.pk).revoked_at is not None


def test_an_admin_makes_a_system_key_with_any_scope() -> None:
    admin = _user("boss", roles.ADMIN)

    response = _signed_in(admin).post(
        PAGE, {"name": "全社同期", "scopes": ["messages:read", "contacts:read"], "system": "on"}
    )

    key = ApiKey.objects.get(name="全社同期")
    assert response.status_code == 200 and _token(response).startswith(f"sk_{key.prefix}_")
    assert (key.is_system, key.created_by_id) == (True, None)
    assert key.scopes == ["contacts:read", "messages:read"]


def test_a_rep_cannot_make_a_system_key_by_sending_the_field() -> None:
    rep = _user("rep", roles.SALES_REP)

    _signed_in(rep).post(PAGE, {"name": "裏口", "scopes": ["contacts:read"], "system": "on"})

    key = ApiKey.objects.get(name="裏口")
    assert (key.is_system, key.created_by_id) == (False, rep.pk)


def test_the_key_list_does_not_grow_queries_with_keys(django_assert_max_num_queries: Any) -> None:
    admin = _user("boss", roles.ADMIN)
    for n in range(12):
        owner = _user(f"rep{n}", roles.SALES_REP)
        services.apikey_create(name=f"鍵{n}", scopes=["contacts:read"], created_by=owner)
    page = _signed_in(admin)
    page.get(PAGE)  # permission caches, sessions

    with django_assert_max_num_queries(12):
        page.get(PAGE)


# --- the command line -----------------------------------------------------------------------


def test_createapikey_refuses_a_scope_beyond_the_users_role(
    capsys: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LANG", "C.UTF-8")
    _user("rep", roles.SALES_REP)

    status = main(
        ["createapikey", "--name", "x", "--scopes", "contacts:read,forms:write", "--user", "rep"]
    )

    err = capsys.readouterr().err
    assert status != 0
    assert "rep may not give a key the scope(s) forms:write" in err
    assert "contacts:read" in err  # the scopes they may choose
    assert not ApiKey.objects.exists()


def test_createapikey_makes_a_reps_key_within_their_role(capsys: Any) -> None:
    rep = _user("rep", roles.SALES_REP)

    status = main(
        ["createapikey", "--name", "受信箱", "--scopes", "handoffs:read", "--user", "rep"]
    )

    key = ApiKey.objects.get()
    assert status == 0
    assert (key.created_by_id, key.scopes) == (rep.pk, ["handoffs:read"])


def test_createapikey_names_an_unknown_user(capsys: Any) -> None:
    status = main(["createapikey", "--name", "x", "--scopes", "contacts:read", "--user", "nobody"])

    assert status != 0
    assert "nobody" in capsys.readouterr().err
