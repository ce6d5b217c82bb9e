"""``POST /api/v1/contacts/{id}/erasure`` and ``sokyaku erase --email``. Who may call the
endpoint (role × scope) is in ``tests/permissions/test_matrix.py``."""

from __future__ import annotations

import pytest
from django.test import Client

from sokyaku.cli import main
from sokyaku.contacts.models import Contact
from sokyaku.contacts.services import ContactInput, contact_upsert
from sokyaku.privacy.models import ErasureLog, ErasureVia

pytestmark = pytest.mark.django_db


def _person(email: str = "aoi@tsubame.example") -> Contact:
    return contact_upsert(
        data=ContactInput(family_name="鳥羽根", given_name="葵衣", email=email)
    ).contact


def test_the_api_erases_a_person_and_answers_the_same_erasure_again(api: Client) -> None:
    person = _person()
    url = f"/api/v1/contacts/{person.pk}/erasure"
    response = api.post(url, {"reason": "本人の依頼"}, content_type="application/json")
    assert response.status_code == 200
    body = response.json()
    log = ErasureLog.objects.get()
    assert (body["id"], body["contact_id"], body["email_hash"]) == (
        log.pk, person.pk, log.email_hash)  # fmt: skip
    assert body["counts"]["contacts.Contact"] == 1
    assert log.via == ErasureVia.API
    assert Contact.objects.get(pk=person.pk).email == ""
    # erasing again (and without a body) answers with the same erasure
    again = api.generic("POST", url)
    assert again.status_code == 200 and again.json()["id"] == log.pk


def test_an_unknown_contact_is_a_404_and_a_bad_body_a_422(api: Client) -> None:
    assert api.generic("POST", "/api/v1/contacts/999999/erasure").status_code == 404
    person = _person()
    response = api.post(
        f"/api/v1/contacts/{person.pk}/erasure", {"who": "x"}, content_type="application/json"
    )
    assert response.status_code == 422
    assert Contact.objects.get(pk=person.pk).email


def test_the_command_line_erases_by_email(capsys: pytest.CaptureFixture[str]) -> None:
    person = _person()
    # an address written another way (width, case) is the same address
    assert main(["erase", "--email", "ＡＯＩ@Tsubame.Example", "--reason", "依頼"]) == 0
    out = capsys.readouterr().out
    assert f"Erased contact #{person.pk}" in out
    assert ErasureLog.objects.get().via == ErasureVia.CLI


def test_the_command_line_says_so_when_nobody_has_the_address(
    capsys: pytest.CaptureFixture[str],
) -> None:
    _person()
    assert main(["erase", "--email", "nobody@example.jp"]) == 2
    assert "no contact with the email nobody@example.jp" in capsys.readouterr().err
    assert main(["erase", "--email", "not an address"]) == 2
    assert "is not an email address" in capsys.readouterr().err
    assert not ErasureLog.objects.exists()
