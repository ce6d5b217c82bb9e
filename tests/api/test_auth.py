"""API keys at the HTTP layer: bearer tokens, revocation, scopes, and the JSON error shape."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from typing import Any

import pytest
from django.apps import apps as django_apps
from django.test import Client

from sokyaku.contacts.models import Contact
from sokyaku.core import services as core_services
from sokyaku.core.errors import ValidationError
from sokyaku.core.models import ApiKey, ApiScope
from tests.api.calls import JSON, post_json

pytestmark = pytest.mark.django_db

CONTACT = {"family_name": "山田", "given_name": "太郎", "email": "taro@example.co.jp"}

# Every operation, with the scope it needs and a body it accepts.
OPERATIONS = [
    ("post", "/api/v1/contacts", ApiScope.CONTACTS_WRITE, CONTACT),
    ("get", "/api/v1/contacts", ApiScope.CONTACTS_READ, None),
    ("get", "/api/v1/contacts/1", ApiScope.CONTACTS_READ, None),
    ("patch", "/api/v1/contacts/1", ApiScope.CONTACTS_WRITE, {"title": "部長"}),
    ("get", "/api/v1/contacts/1/timeline", ApiScope.EVENTS_READ, None),
    ("get", "/api/v1/contacts/1/export", ApiScope.CONTACTS_EXPORT, None),
    (
        "post",
        "/api/v1/events",
        ApiScope.EVENTS_WRITE,
        {"type": "page_view", "visitor_id": "v1", "properties": {"url": "https://example.jp/"}},
    ),
]


def _call(client: Client, method: str, url: str, body: object) -> Any:
    return getattr(client, method)(url, body, content_type=JSON)


@pytest.mark.parametrize(("method", "url", "scope", "body"), OPERATIONS)
def test_no_key_is_401_with_a_json_detail(method: str, url: str, scope: str, body: Any) -> None:
    # given a client that sends no Authorization header
    client = Client()
    # when it calls the operation
    response = _call(client, method, url, body)
    # then it is turned away with the one error shape and a bearer challenge
    assert response.status_code == 401
    assert response["Content-Type"].startswith("application/json")
    assert response.json() == {"detail": "Missing, unknown or revoked API key."}
    assert response["WWW-Authenticate"] == "Bearer"


@pytest.mark.parametrize(
    "header",
    [
        "Bearer sk_00000000_unknownsecret",
        "Bearer not-a-key",
        "Basic dXNlcjpwYXNz",
        "Bearer sk_0000\x00_nul",
        "Bearer sk_ｆｕｌｌ_ｗｉｄｔｈ",
        "sk_00000000_no_scheme",
    ],
)
def test_unknown_or_malformed_keys_are_401(header: str) -> None:
    # given a client with a key that was never issued (or is not a key at all)
    client = Client(headers={"Authorization": header})
    # when it reads contacts
    response = client.get("/api/v1/contacts")
    # then it is a 401 like a missing key, never a server error
    assert response.status_code == 401
    assert response.json()["detail"]


def test_a_revoked_key_stops_working_at_once() -> None:
    # given a key that works
    new = core_services.apikey_create(name="crm", scopes=[ApiScope.CONTACTS_READ], system=True)
    client = Client(headers={"Authorization": f"Bearer {new.token}"})
    assert client.get("/api/v1/contacts").status_code == 200
    # when an administrator revokes it
    core_services.apikey_revoke(prefix=new.api_key.prefix)
    # then the next request is a 401
    response = client.get("/api/v1/contacts")
    assert response.status_code == 401
    assert response.json() == {"detail": "Missing, unknown or revoked API key."}


def test_keys_are_stored_hashed() -> None:
    # given a new key
    new = core_services.apikey_create(name="crm", scopes=[ApiScope.CONTACTS_READ], system=True)
    # then nothing stored contains its secret
    secret = new.token.rsplit("_", 1)[-1]
    stored = ApiKey.objects.values_list("name", "prefix", "secret_hash").get()
    assert all(secret not in value for value in stored)
    assert new.token.startswith(f"sk_{new.api_key.prefix}_")


@pytest.mark.parametrize(("method", "url", "scope", "body"), OPERATIONS)
def test_a_key_without_the_scope_is_403(
    client_with_scopes: Callable[[Sequence[str]], Client],
    method: str,
    url: str,
    scope: str,
    body: Any,
) -> None:
    # given a key with every scope but the one the operation needs
    client = client_with_scopes([s for s in ApiScope.values if s != scope])
    # when it calls the operation
    response = _call(client, method, url, body)
    # then it is forbidden, and the detail names the missing scope
    assert response.status_code == 403
    assert response.json() == {"detail": f"This API key lacks the {scope} scope."}


def test_scope_is_checked_before_the_body_is_read(
    client_with_scopes: Callable[[Sequence[str]], Client],
) -> None:
    # given a read-only key
    client = client_with_scopes([ApiScope.CONTACTS_READ])
    # when it posts a contact with an invalid email
    response = post_json(client, "/api/v1/contacts", {"email": "not-an-email"})
    # then the answer is 403, not a validation error, and nothing was stored
    assert response.status_code == 403
    assert Contact.objects.count() == 0


def test_a_key_with_the_scope_gets_in(
    client_with_scopes: Callable[[Sequence[str]], Client],
) -> None:
    # given a key with only contacts:write
    client = client_with_scopes([ApiScope.CONTACTS_WRITE])
    # when it creates a contact
    response = post_json(client, "/api/v1/contacts", CONTACT)
    # then it may, although it could not read the contact back
    assert response.status_code == 201
    assert client.get(f"/api/v1/contacts/{response.json()['id']}").status_code == 403


def test_the_openapi_document_needs_no_key() -> None:
    # when anyone fetches the OpenAPI document
    response = Client().get("/api/v1/openapi.json")
    # then it is served (it describes the API; it holds no data)
    assert response.status_code == 200


# --- Keys belong to a user, or are made as system keys -----------------------------------------


def _user_with_key(role: str) -> tuple[Any, str]:
    user = core_services.user_create(
        username=f"keyholder-{role}", password="x", role=role, check_password=False
    )
    token = core_services.apikey_create(
        name="rep key", scopes=[ApiScope.CONTACTS_READ], created_by=user
    ).token
    return user, token


def test_deleting_a_user_deletes_their_keys() -> None:
    # given a sales rep's key
    user, token = _user_with_key("sales_rep")
    client = Client(headers={"Authorization": f"Bearer {token}"})
    # when the rep's user is deleted
    user.delete()
    # then the key is gone with them: it never becomes a key of the installation
    response = client.get("/api/v1/contacts")
    assert response.status_code == 401
    assert response.json() == {"detail": "Missing, unknown or revoked API key."}
    assert not ApiKey.objects.exists()


def test_a_deactivated_users_key_does_not_work() -> None:
    # given a marketer's key that works
    user, token = _user_with_key("marketer")
    client = Client(headers={"Authorization": f"Bearer {token}"})
    assert client.get("/api/v1/contacts").status_code == 200
    # when the marketer is deactivated
    user.is_active = False
    user.save(update_fields=["is_active"])
    # then the key is refused, with the one error shape
    response = client.get("/api/v1/contacts")
    assert response.status_code == 403
    assert response.json() == {"detail": "The user this API key belongs to is deactivated."}


def test_a_key_without_user_works_only_when_made_as_a_system_key() -> None:
    # given a system key (as the command line makes) and a creator-less key that is not one
    system = core_services.apikey_create(name="sync", scopes=[ApiScope.CONTACTS_READ], system=True)
    orphan = core_services.apikey_create(
        name="orphan", scopes=[ApiScope.CONTACTS_READ], system=True
    )
    ApiKey.objects.filter(pk=orphan.api_key.pk).update(is_system=False)
    # when each reads contacts
    allowed = Client(headers={"Authorization": f"Bearer {system.token}"}).get("/api/v1/contacts")
    refused = Client(headers={"Authorization": f"Bearer {orphan.token}"}).get("/api/v1/contacts")
    # then only the system key gets in
    assert allowed.status_code == 200
    assert refused.status_code == 401


def test_a_key_is_made_for_a_user_or_as_a_system_key_never_by_default() -> None:
    # when a key is asked for with neither a user nor the system flag
    with pytest.raises(ValidationError):
        core_services.apikey_create(name="sync", scopes=[ApiScope.CONTACTS_READ])
    # then none is made
    assert not ApiKey.objects.exists()


def test_the_upgrade_revokes_keys_without_creator() -> None:
    # given, as before the upgrade, a key whose creator is gone (it looks like any key made on
    # the command line: nothing tells them apart) and a key of a user
    migration = importlib.import_module("sokyaku.core.migrations.0005_apikey_system_keys")
    orphan = core_services.apikey_create(name="old", scopes=[ApiScope.CONTACTS_READ], system=True)
    ApiKey.objects.filter(pk=orphan.api_key.pk).update(is_system=False)
    _user, token = _user_with_key("marketer")
    # when the upgrade's data step runs
    migration.revoke_keys_without_creator(django_apps, None)
    # then the creator-less key is revoked, the user's key still works
    assert ApiKey.objects.get(pk=orphan.api_key.pk).revoked_at is not None
    assert not ApiKey.objects.filter(is_system=True).exists()
    client = Client(headers={"Authorization": f"Bearer {token}"})
    assert client.get("/api/v1/contacts").status_code == 200
