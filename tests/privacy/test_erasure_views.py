"""The erasure pages as an admin meets them: the contact page's delete (an erasure confirmed by
typing the name), deleting a segment's people, the erasure log and the retention policy."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from sokyaku.contacts.models import Contact
from sokyaku.contacts.services import ContactInput, contact_upsert
from sokyaku.core import roles
from sokyaku.core import services as core_services
from sokyaku.privacy.models import ErasureJob, ErasureJobStatus, ErasureLog, RetentionPolicy
from sokyaku.segments import services as segment_services

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin(english: None) -> Client:
    user = core_services.user_create(
        username="boss", password="x", role=roles.ADMIN, check_password=False
    )
    client = Client()
    client.cookies["django_language"] = "en"
    client.force_login(user)
    return client


def _person(email: str = "aoi@tsubame.example", family: str = "鳥羽根") -> Contact:
    return contact_upsert(
        data=ContactInput(family_name=family, given_name="葵衣", email=email)
    ).contact


def test_the_contact_page_offers_the_delete_to_admins_only(
    admin: Client, logged_in: Client
) -> None:
    person = _person()
    page = reverse("contacts:detail", args=[person.pk])
    assert 'data-testid="erase"' in admin.get(page).content.decode()
    assert 'data-testid="erase"' not in logged_in.get(page).content.decode()  # a marketer


def test_deleting_a_person_needs_their_name_typed_as_shown(admin: Client) -> None:
    # given a person's erase page
    person = _person()
    url = reverse("erasure:contact", args=[person.pk])
    page = admin.get(url).content.decode()
    assert "鳥羽根 葵衣" in page and "cannot be undone" in page
    # when the admin types another name, nothing happens
    response = admin.post(url, {"confirm": "鳥羽根", "reason": ""})
    assert response.status_code == 200
    assert "This is not the name shown on this page." in response.content.decode()
    assert Contact.objects.get(pk=person.pk).email
    # when they type it as shown (a full-width space is as good as any), it is erased
    response = admin.post(url, {"confirm": "鳥羽根\u3000葵衣", "reason": "削除依頼メール"})
    assert response.status_code == 302
    assert response["Location"] == reverse("contacts:detail", args=[person.pk])
    erased = Contact.objects.get(pk=person.pk)
    assert (erased.email, erased.family_name) == ("", "")
    # and the page says so, without anything left to edit or erase
    page = admin.get(response["Location"]).content.decode()
    assert 'data-testid="erased"' in page and 'data-testid="erase"' not in page
    assert "鳥羽根" not in page


def test_the_erasure_log_lists_who_erased_whom_by_hash_only(admin: Client) -> None:
    # given an erasure whose reason named the person by mistake
    person = _person()
    admin.post(
        reverse("erasure:contact", args=[person.pk]),
        {"confirm": "鳥羽根 葵衣", "reason": "鳥羽根様の依頼"},
    )
    # when the admin opens the log (under settings)
    page = admin.get(reverse("erasure:log")).content.decode()
    # then it shows the erasure with its hash, not the person, and not the reason naming them
    log = ErasureLog.objects.get()
    assert log.email_hash[:12] in page and f"#{person.pk}" in page
    assert "鳥羽根" not in page and "aoi@tsubame.example" not in page
    assert 'data-menu-entry="erasures"' in page


def test_deleting_everyone_in_a_segment_shows_the_count_and_runs_in_the_background(
    admin: Client, django_capture_on_commit_callbacks: Any
) -> None:
    # given a static list of two people
    people = [_person(), _person(email="ken@omori.example", family="大森")]
    listed = segment_services.segment_create(name="展示会フォロー", kind="static")
    segment_services.segment_members_add(segment=listed, contact_ids=[p.pk for p in people])
    url = reverse("erasure:segment", args=[listed.pk])
    # when the admin opens the confirm page, it says how many people will go
    page = admin.get(url).content.decode()
    assert "2 people will be erased." in page
    # and a wrong count is refused
    response = admin.post(url, {"confirm": "3", "reason": ""})
    assert "This is not the number of people shown." in response.content.decode()
    # when they confirm with the count
    with django_capture_on_commit_callbacks(execute=True):
        response = admin.post(url, {"confirm": "2", "reason": "展示会リストの破棄"})
    # then the job ran and its page shows it done
    job = ErasureJob.objects.get()
    assert response["Location"] == reverse("erasure:job", args=[job.pk])
    assert (job.status, job.done, job.erased) == (ErasureJobStatus.DONE, 2, 2)
    assert not Contact.objects.filter(erased_at__isnull=True, pk__in=[p.pk for p in people])
    assert "2 / 2" in admin.get(response["Location"]).content.decode()


def test_the_retention_policy_is_off_until_an_admin_turns_it_on(admin: Client) -> None:
    url = reverse("erasure:retention")
    assert 'name="enabled"' in admin.get(url).content.decode()
    assert not RetentionPolicy.objects.exists()
    response = admin.post(url, {"enabled": "on", "inactive_years": "5"})
    assert response.status_code == 302
    policy = RetentionPolicy.objects.get()
    assert (policy.enabled, policy.inactive_years) == (True, 5)
    assert "5 years" in admin.get(reverse("erasure:log")).content.decode()
    response = admin.post(url, {"enabled": "on", "inactive_years": "0"})
    assert response.status_code == 200
    assert RetentionPolicy.objects.get().inactive_years == 5


def test_the_pages_speak_japanese_by_default() -> None:
    user = core_services.user_create(
        username="kanri", password="x", role=roles.ADMIN, check_password=False
    )
    client = Client()
    client.force_login(user)
    person = _person()
    assert (
        "この人物のデータを消去"
        in client.get(reverse("erasure:contact", args=[person.pk])).content.decode()
    )
    page = client.get(reverse("erasure:log")).content.decode()
    assert "消去ログ" in page and "保存期間ポリシー" in page
