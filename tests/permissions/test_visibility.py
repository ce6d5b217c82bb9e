"""Who sees which contacts, beyond one endpoint at a time: team sharing, companies, lists that
only show a rep their own people, and what a rep's API key may write."""

from __future__ import annotations

import json
import secrets

import pytest
from django.test import Client
from django.urls import reverse

from sokyaku.activity.models import Event
from sokyaku.capture.models import Submission
from sokyaku.capture.services.forms import FormInput, form_create
from sokyaku.contacts import selectors
from sokyaku.contacts.models import Company, Contact
from sokyaku.contacts.services import ContactInput, company_upsert, contact_upsert
from sokyaku.core import clock
from sokyaku.core import services as core_services
from sokyaku.core.errors import NotFound
from sokyaku.core.models import ApiScope
from tests.permissions.world import (
    MANAGER,
    MARKETER,
    REP_A,
    REP_B,
    REP_B_TEAM,
    World,
    world_build,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def world() -> World:
    return world_build()


def _contact(
    email: str,
    owner_role: str | None,
    world: World,
    *,
    company_name: str | None = None,
    title: str | None = None,
) -> Contact:
    owner = world.users[owner_role] if owner_role else None
    return contact_upsert(
        data=ContactInput(
            family_name="佐藤",
            email=email,
            owner_id=owner.pk if owner else None,
            company_name=company_name,
            title=title,
        )
    ).contact


def _emails(world: World, role: str) -> set[str]:
    return set(selectors.contact_list(user=world.users[role]).values_list("email", flat=True))


def test_who_sees_whose_contacts(world: World) -> None:
    # given a contact of each rep and one without owner
    for role in (REP_A, REP_B, REP_B_TEAM, MANAGER):
        _contact(f"{role}@example.jp", role, world)
    _contact("nobody@example.jp", None, world)
    # then a rep sees their own; a team that shares records sees each other's; the manager of
    # A's team (which does not share) sees A's; marketing sees everyone, the unowned too
    assert _emails(world, REP_B) == {"rep_b@example.jp"}
    assert _emails(world, REP_A) == {"rep_a@example.jp", "rep_b_team@example.jp"}
    assert _emails(world, REP_B_TEAM) == {"rep_a@example.jp", "rep_b_team@example.jp"}
    assert _emails(world, MANAGER) == {"manager@example.jp", "rep_a@example.jp"}
    assert len(_emails(world, MARKETER)) == 5


def test_a_company_is_visible_through_its_contacts_or_its_owner(world: World) -> None:
    # given a company with a contact of rep A, and a company owned by rep B
    a_contact = _contact("a@example.jp", REP_A, world, company_name="株式会社エー")
    b_company = company_upsert(name="株式会社ビー").company
    Company.objects.filter(pk=b_company.pk).update(owner=world.users[REP_B])  # no owner service
    assert a_contact.company is not None
    # then each rep sees the company that is theirs, and nobody else's
    assert selectors.company_get(user=world.users[REP_A], id=a_contact.company.pk)
    assert selectors.company_get(user=world.users[REP_B], id=b_company.pk)
    with pytest.raises(NotFound):
        selectors.company_get(user=world.users[REP_B], id=a_contact.company.pk)
    with pytest.raises(NotFound):
        selectors.company_get(user=world.users[REP_A], id=b_company.pk)


def test_a_reps_list_counts_only_their_contacts(world: World) -> None:
    _contact("mine@example.jp", REP_B, world)
    _contact("theirs@example.jp", REP_A, world)
    page = world.client(REP_B, "ui").get(reverse("contacts:list")).context["page"]
    assert page.paginator.count == 1


def test_a_merged_away_id_of_another_reps_contact_is_not_found(world: World) -> None:
    # given rep A's contact that absorbed a duplicate
    from sokyaku.contacts.services import contact_merge

    winner = _contact("w@example.jp", REP_A, world)
    loser = _contact("l@example.jp", REP_B, world)
    contact_merge(winner=winner, loser=loser)
    # when rep B opens the old id of what was once their contact
    response = world.client(REP_B, "ui").get(reverse("contacts:detail", args=[loser.pk]))
    # then it leads nowhere (it lives on as A's contact)
    assert response.status_code == 404


# --- A rep's API key ------------------------------------------------------------------------


def _post(client: Client, url: str, body: object) -> object:
    return client.post(url, data=json.dumps(body), content_type="application/json")


def test_a_reps_key_creates_contacts_owned_by_the_rep(world: World) -> None:
    client = world.client(REP_B, "api")
    response = _post(client, "/api/v1/contacts", {"email": "new@example.jp"})
    assert response.status_code == 201  # type: ignore[attr-defined]
    contact_id = response.json()["id"]  # type: ignore[attr-defined]
    assert Contact.objects.get(pk=contact_id).owner == world.users[REP_B]
    assert client.get(f"/api/v1/contacts/{contact_id}").status_code == 200


def test_a_reps_key_cannot_change_another_reps_person_by_upserting(world: World) -> None:
    # given rep A's contact
    contact = _contact("a@example.jp", REP_A, world, title="課長")
    events = Event.objects.filter(contact_id=contact.pk).count()
    # when rep B's key upserts the same person with new data
    response = _post(
        world.client(REP_B, "api"), "/api/v1/contacts", {"email": "a@example.jp", "title": "社長"}
    )
    # then it is refused and nothing changed
    assert response.status_code == 409  # type: ignore[attr-defined]
    contact.refresh_from_db()
    assert contact.title == "課長"
    assert Event.objects.filter(contact_id=contact.pk).count() == events


def _page_view(email: str) -> dict[str, object]:
    return {"type": "page_view", "email": email, "properties": {"url": "https://x.example/"}}


def test_a_reps_key_sends_events_only_about_contacts_the_rep_sees(world: World) -> None:
    # given rep A's contact
    _contact("a@example.jp", REP_A, world)
    stored = Event.objects.count()
    client = world.client(REP_B, "api")
    # when rep B's key sends an event about A's contact by email, and one about a new person
    refused = _post(
        client,
        "/api/v1/events",
        {"type": "page_view", "email": "a@example.jp", "properties": {"url": "https://x.example/"}},
    )
    accepted = _post(
        client,
        "/api/v1/events",
        {
            "type": "page_view",
            "email": "new@example.jp",
            "properties": {"url": "https://x.example/"},
        },
    )
    # then the first is refused (nothing stored), the second creates a contact of rep B's
    assert refused.status_code == 422  # type: ignore[attr-defined]
    assert accepted.status_code == 200  # type: ignore[attr-defined]
    assert Contact.objects.get(email="new@example.jp").owner == world.users[REP_B]
    assert Event.objects.count() > stored


def test_a_key_of_a_deactivated_user_is_refused_not_promoted(world: World) -> None:
    # given rep A's key, then rep A leaves
    contact = _contact("a@example.jp", REP_A, world)
    world.rep_a.is_active = False
    world.rep_a.save(update_fields=["is_active"])
    # when the key reads a contact
    response = world.client(REP_A, "api").get(f"/api/v1/contacts/{contact.pk}")
    # then it is refused: the key never acts for the installation
    assert response.status_code == 403


def test_a_key_without_creator_still_sees_every_contact(world: World) -> None:
    contact = _contact("nobody@example.jp", None, world)
    token = core_services.apikey_create(
        name="sync", scopes=[ApiScope.CONTACTS_READ], system=True
    ).token
    client = Client(headers={"Authorization": f"Bearer {token}"})
    assert client.get(f"/api/v1/contacts/{contact.pk}").status_code == 200
    assert client.get("/api/v1/contacts").json()["count"] == 1


# --- Form submissions -----------------------------------------------------------------------


def _submission(form_id: int, contact: Contact) -> Submission:
    return Submission.objects.create(
        form_id=form_id,
        contact=contact,
        token=secrets.token_hex(16),
        submitted_at=clock.now(),
        data={"email": contact.email},
    )


def test_a_rep_sees_the_submissions_of_their_contacts_only(world: World) -> None:
    # given a form with a submission by a contact of rep A and one of rep B
    form = form_create(data=FormInput(name="資料請求"))
    _submission(form.pk, _contact("a@example.jp", REP_A, world))
    _submission(form.pk, _contact("b@example.jp", REP_B, world))
    # when rep B opens the form and reads its submissions through the API
    page = world.client(REP_B, "ui").get(reverse("capture:form_detail", args=[form.pk]))
    body = world.client(REP_B, "api").get(f"/api/v1/forms/{form.pk}/submissions").json()
    marketing = world.client(MARKETER, "api").get(f"/api/v1/forms/{form.pk}/submissions").json()
    # then only B's person is there for B; marketing sees both
    assert "b@example.jp" in page.content.decode()
    assert "a@example.jp" not in page.content.decode()
    assert [s["data"]["email"] for s in body["items"]] == ["b@example.jp"]
    assert marketing["count"] == 2
