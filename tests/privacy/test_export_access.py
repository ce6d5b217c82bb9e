"""Where a person's export is asked for: the API (its own scope), the contact page's download
button, and ``sokyaku export person --email``; who may, and what a wrong id or email gets."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from sokyaku.cli import main
from sokyaku.contacts.models import Contact
from sokyaku.contacts.services import ContactInput, contact_merge, contact_upsert
from sokyaku.core import clock
from sokyaku.core import services as core_services
from sokyaku.core.models import ApiScope, DataAccessLog
from sokyaku.privacy import export
from tests.privacy.people import START

pytestmark = pytest.mark.django_db

EMAIL = "sato.export@sample.example"


@pytest.fixture
def person(db: None) -> Contact:
    with clock.frozen(START):
        return contact_upsert(
            data=ContactInput(
                family_name="佐藤",
                given_name="美咲",
                email=EMAIL,
                phone="090-1234-5678",
                company_name="株式会社サンプル",
            )
        ).contact


def _keyed(*scopes: str) -> Client:
    token = core_services.apikey_create(name="dsr", scopes=list(scopes), system=True).token
    return Client(headers={"Authorization": f"Bearer {token}"})


def _document(response: object) -> dict[str, object]:
    return json.loads(b"".join(response.streaming_content))  # type: ignore[attr-defined,no-any-return]


# --- API ------------------------------------------------------------------------------------


def test_the_api_answers_the_document_as_a_file(person: Contact) -> None:
    # given a key with the export scope
    client = _keyed(ApiScope.CONTACTS_EXPORT)
    # when it asks for the person
    with clock.frozen(START):
        response = client.get(f"/api/v1/contacts/{person.pk}/export")
    # then it gets their document, as a file no cache keeps, and the export is logged with it
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json; charset=utf-8"
    assert response["Content-Disposition"] == (
        f'attachment; filename="sokyaku-contact-{person.pk}-20260401.json"'
    )
    assert "no-store" in response["Cache-Control"]
    document = _document(response)
    assert document["contact"]["email"] == EMAIL  # type: ignore[index]
    assert DataAccessLog.objects.get(resource=export.RESOURCE).api_key is not None


def test_reading_contacts_is_not_enough(person: Contact) -> None:
    client = _keyed(ApiScope.CONTACTS_READ, ApiScope.EVENTS_READ)
    response = client.get(f"/api/v1/contacts/{person.pk}/export")
    assert response.status_code == 403
    assert response.json() == {"detail": "This API key lacks the contacts:export scope."}
    assert not DataAccessLog.objects.filter(resource=export.RESOURCE).exists()


def test_an_unknown_id_is_404_and_nothing_is_logged(api: Client, person: Contact) -> None:
    response = api.get(f"/api/v1/contacts/{person.pk + 1000}/export")
    assert response.status_code == 404
    assert response.json() == {"detail": f"No contact with id {person.pk + 1000}."}
    assert not DataAccessLog.objects.filter(resource=export.RESOURCE).exists()


def test_a_merged_away_id_exports_the_person_it_became(api: Client, person: Contact) -> None:
    # given an old record merged into the person
    old = contact_upsert(data=ContactInput(family_name="佐藤", email="m.sato@old.example")).contact
    contact_merge(winner=person, loser=old)
    # when the old id is asked for
    document = _document(api.get(f"/api/v1/contacts/{old.pk}/export"))
    # then it is the person's export, with the old record in it
    assert document["contact"]["id"] == person.pk  # type: ignore[index]
    assert [m["contact_id"] for m in document["merged_contacts"]] == [old.pk]  # type: ignore[attr-defined]


# --- The contact page -----------------------------------------------------------------------


def _signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_a_marketer_downloads_the_file_from_the_contact_page(
    marketer: User, person: Contact
) -> None:
    client = _signed_in(marketer)
    # the contact page offers the download, in Japanese
    page = client.get(reverse("contacts:detail", args=[person.pk])).content.decode()
    url = reverse("privacy_export:person", args=[person.pk])
    assert f'href="{url}"' in page
    assert "個人データをエクスポート（JSON）" in page
    # and it answers the file, logged as the marketer's
    with clock.frozen(START):
        response = client.get(url)
    assert response["Content-Disposition"] == (
        f'attachment; filename="sokyaku-contact-{person.pk}-20260401.json"'
    )
    assert _document(response)["contact"]["family_name"] == "佐藤"  # type: ignore[index]
    assert DataAccessLog.objects.get(resource=export.RESOURCE).user == marketer


def test_a_sales_rep_gets_no_button_and_no_file(sales_rep: User, person: Contact) -> None:
    # given the rep owns the contact (so the page itself is theirs to see)
    Contact.objects.filter(pk=person.pk).update(owner=sales_rep)
    client = _signed_in(sales_rep)
    page = client.get(reverse("contacts:detail", args=[person.pk])).content.decode()
    response = client.get(reverse("privacy_export:person", args=[person.pk]))
    assert 'data-testid="person-export"' not in page
    assert response.status_code == 403
    assert not DataAccessLog.objects.filter(resource=export.RESOURCE).exists()


# --- The command line -----------------------------------------------------------------------


def test_the_command_writes_the_file(person: Contact, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "person.json"
    # the address may be given in any case or width
    assert main(["export", "person", "--email", "SATO.EXPORT@SAMPLE.EXAMPLE", "-o", str(out)]) == 0
    document = json.loads(out.read_bytes())
    assert document["contact"]["id"] == person.pk
    assert document["contact"]["phone"]["normalised"] == "+819012345678"
    assert f"contact {person.pk}" in capsys.readouterr().err
    assert DataAccessLog.objects.get(resource=export.RESOURCE).user is None


def test_the_command_writes_to_stdout_without_output(person: Contact, capsysbinary) -> None:  # type: ignore[no-untyped-def]
    assert main(["export", "person", "--email", EMAIL]) == 0
    assert json.loads(capsysbinary.readouterr().out)["contact"]["email"] == EMAIL


def test_the_command_says_when_nobody_has_the_address(  # type: ignore[no-untyped-def]
    person: Contact, tmp_path: Path, capsys
) -> None:
    out = tmp_path / "nobody.json"
    status = main(["export", "person", "--email", "nobody@sample.example", "-o", str(out)])
    assert status == 2
    assert capsys.readouterr().err.strip() == (
        "sokyaku export: no contact with the email address 'nobody@sample.example'"
    )
    assert not out.exists()
    assert not DataAccessLog.objects.filter(resource=export.RESOURCE).exists()


def test_the_command_needs_an_address(capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["export", "person"]) == 2
    assert "--email" in capsys.readouterr().err
