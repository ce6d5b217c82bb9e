"""A staff user's own chat identities: set on their own page, by admins on anyone's; a malformed
id is refused with the field's error and nothing stored changes."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from sokyaku.core.models import StaffProfile

pytestmark = pytest.mark.django_db

LINE_ID = "U" + "0123456789abcdef" * 2


def test_a_rep_sets_their_own_slack_and_line_ids(client: Client, sales_rep) -> None:  # type: ignore[no-untyped-def]
    client.force_login(sales_rep)
    # when
    response = client.post(
        reverse("core:staff_identity"),
        {"slack_member_id": " U012AB3CD ", "line_user_id": LINE_ID},
        follow=True,
    )
    # then
    html = response.content.decode()
    assert "通知の受け取り設定を保存しました。" in html
    assert 'value="U012AB3CD"' in html
    profile = StaffProfile.objects.get(user=sales_rep)
    assert (profile.slack_member_id, profile.line_user_id) == ("U012AB3CD", LINE_ID)


def test_a_malformed_line_id_is_refused_and_the_stored_one_kept(client: Client, sales_rep) -> None:  # type: ignore[no-untyped-def]
    client.force_login(sales_rep)
    client.post(reverse("core:staff_identity"), {"slack_member_id": "", "line_user_id": LINE_ID})
    # when the rep pastes their LINE display name instead of the id
    response = client.post(
        reverse("core:staff_identity"), {"slack_member_id": "", "line_user_id": "田中健太"}
    )
    # then
    assert response.status_code == 422
    assert "LINEユーザーIDは U と32桁の16進数です。" in response.content.decode()
    assert StaffProfile.objects.get(user=sales_rep).line_user_id == LINE_ID


def test_only_an_admin_edits_someone_elses_ids(  # type: ignore[no-untyped-def]
    client: Client, sales_rep, admin_user, marketer
) -> None:
    url = reverse("core:staff_identity_of", args=[sales_rep.pk])
    client.force_login(marketer)
    assert client.get(url).status_code == 403
    client.force_login(admin_user)
    response = client.post(url, {"slack_member_id": "U0REP1234", "line_user_id": ""})
    assert response.status_code == 302
    assert StaffProfile.objects.get(user=sales_rep).slack_member_id == "U0REP1234"


def test_the_admin_site_edits_a_users_chat_ids(client: Client, sales_rep) -> None:  # type: ignore[no-untyped-def]
    from django.contrib.auth.models import User

    boss = User.objects.create_superuser("boss", "boss@sales.example", "x")
    client.force_login(boss)
    url = reverse("admin:auth_user_change", args=[sales_rep.pk])
    page = client.get(url).content.decode()
    assert 'name="staff_profile-0-line_user_id"' in page
    form = {
        "username": sales_rep.username,
        "email": "",
        "is_active": "on",
        "last_login_0": "",
        "last_login_1": "",
        "date_joined_0": "2026-01-01",
        "date_joined_1": "09:00:00",
        "staff_profile-TOTAL_FORMS": "1",
        "staff_profile-INITIAL_FORMS": "0",
        "staff_profile-MIN_NUM_FORMS": "0",
        "staff_profile-MAX_NUM_FORMS": "1",
        "staff_profile-0-slack_member_id": "U0REP1234",
        "staff_profile-0-line_user_id": LINE_ID,
        "staff_profile-0-user": str(sales_rep.pk),
    }
    response = client.post(url, form)
    assert response.status_code == 302, response.content.decode()[:2000]
    profile = StaffProfile.objects.get(user=sales_rep)
    assert (profile.slack_member_id, profile.line_user_id) == ("U0REP1234", LINE_ID)


def test_every_user_reaches_their_own_page_from_their_name_in_the_top_bar(  # type: ignore[no-untyped-def]
    client: Client, sales_rep
) -> None:
    client.force_login(sales_rep)
    # when the rep opens the inbox
    html = client.get(reverse("handoff:inbox")).content.decode()
    # then their name in the top bar leads to where alerts reach them
    own = reverse("core:staff_identity")
    assert f'<a class="whoami__name" href="{own}" title="通知の受け取り設定">' in html
