"""The people and records of the permission matrix, and the ``Case`` rows it is made of.

The world: an admin, a marketer, sales rep A (who owns the targets), sales rep B (no team with
A), a rep in a team that shares records with A (``rep_b_team``), and the manager of A's team (a
sales rep too, so only the team makes them see A's records). API requests are sent with a key
each of them created, plus a key without creator (``system``, as the command line makes).

A ``Case`` is one endpoint: how to build its target (by default a contact owned by rep A), its
URL for that target, the body to send, and who may reach it. Everyone else gets ``refused``:
404 for a record that is not theirs, 403 for what their role may not do at all, or ``HIDDEN``
for a list that answers but must not show the target. To cover a new endpoint, append a
``Case`` to the list in ``test_matrix.py`` with a target builder (see ``contact_of_a``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.contrib.auth.models import Group, User
from django.test import Client

from sokyaku.activity import events as event_factories
from sokyaku.activity import services as activity_services
from sokyaku.contacts import pending
from sokyaku.contacts.models import Contact
from sokyaku.contacts.services import ContactInput, contact_merge, contact_upsert
from sokyaku.core import clock, roles
from sokyaku.core import services as core_services
from sokyaku.core.models import ApiScope, Team, TeamMember
from sokyaku.deals import services as deal_services
from sokyaku.deals.models import Deal, DealStage
from sokyaku.deals.services import pipeline_presets_install
from sokyaku.handoff.models import Handoff
from sokyaku.segments import services as segment_services
from sokyaku.sequences.services import enrollment as enrollment_services
from tests.api.factories import key_beyond_role
from tests.sequences.factories import contact_make, sequence_make, template_make, wait

ADMIN = "admin"
MARKETER = "marketer"
REP_A = "rep_a"  # owns the targets
REP_B = "rep_b"  # another rep, no team with A
REP_B_TEAM = "rep_b_team"  # a rep in a team that shares records with A
MANAGER = "manager"  # manages A's team (a sales rep by role)
SYSTEM = "system"  # an API key without creator (API only)

UI_ROLES = (ADMIN, MARKETER, REP_A, REP_B, REP_B_TEAM, MANAGER)
API_ROLES = (*UI_ROLES, SYSTEM)

# Who sees rep A's records: everyone but rep B.
SEES_A = frozenset({ADMIN, MARKETER, REP_A, REP_B_TEAM, MANAGER, SYSTEM})
# Who may export in bulk, see the access log …: by role, whoever owns what.
MARKETING = frozenset({ADMIN, MARKETER, SYSTEM})
ADMINS = frozenset({ADMIN, SYSTEM})

NOT_FOUND = 404
FORBIDDEN = 403
UNPROCESSABLE = 422
CONFLICT = 409
HIDDEN = "hidden"  # the page answers, without the target on it
OK = "ok"
SHOWN = "shown"
_OK_STATUSES = frozenset({200, 201, 204, 302})

# The target person's family name: on every page and answer that shows them.
MARK = "秘密田"


@dataclass
class World:
    users: dict[str, User]
    tokens: dict[str, str] = field(default_factory=dict)

    @property
    def rep_a(self) -> User:
        return self.users[REP_A]

    def client(self, role: str, kind: str) -> Client:
        """A client signed in as ``role`` (UI) or sending the key ``role`` created (API)."""
        if kind == "api":
            return Client(headers={"Authorization": f"Bearer {self.tokens[role]}"})
        client = Client()
        client.force_login(self.users[role])
        return client


def _user(username: str, role: str) -> User:
    # Cheaper than ``user_create`` (which re-syncs every role): the role groups exist after
    # migrate; sync once if a flush of another test removed them.
    group = Group.objects.filter(name=role).first()
    if group is None:
        roles.roles_sync()
        group = Group.objects.get(name=role)
    user = User.objects.create_user(
        username=username, password=None, is_superuser=role == roles.ADMIN, is_staff=False
    )
    user.groups.add(group)
    return user


def _team(name: str, *members: User, manager: User | None = None, share: bool) -> Team:
    team = Team.objects.create(
        name=name, manager=manager, share_records=share, created_at=clock.now()
    )
    for member in members:
        TeamMember.objects.create(team=team, user=member, joined_at=clock.now())
    return team


def world_build() -> World:
    users = {
        ADMIN: _user("perm-admin", roles.ADMIN),
        MARKETER: _user("perm-marketer", roles.MARKETER),
        REP_A: _user("perm-rep-a", roles.SALES_REP),
        REP_B: _user("perm-rep-b", roles.SALES_REP),
        REP_B_TEAM: _user("perm-rep-b-team", roles.SALES_REP),
        MANAGER: _user("perm-manager", roles.SALES_REP),
    }
    _team("営業1課", users[REP_A], manager=users[MANAGER], share=False)
    _team("東日本チーム", users[REP_A], users[REP_B_TEAM], share=True)
    world = World(users=users)
    for role, user in users.items():
        # Every scope, also those the role may not give a key: the API must still refuse what
        # the user may not do (see ``key_beyond_role``).
        world.tokens[role] = key_beyond_role(
            user=user, scopes=list(ApiScope.values), name=f"key of {role}"
        )
    world.tokens[SYSTEM] = core_services.apikey_create(
        name="system key", scopes=list(ApiScope.values), system=True
    ).token
    return world


# --- Targets --------------------------------------------------------------------------------


def contact_of_a(world: World) -> Contact:
    """A consenting contact owned by rep A, with a company and an event on its timeline."""
    contact = contact_make(
        family_name=MARK,
        given_name="花子",
        email="hanako@target.example",
        company_name="株式会社ターゲット",
        title="情報システム部長",
        owner_id=world.rep_a.pk,
    )
    activity_services.event_ingest(
        event=event_factories.page_view(
            occurred_at=clock.now(), url="https://sample.example/pricing", contact_id=contact.pk
        )
    )
    return contact


@dataclass
class Merged:
    contact: Contact
    merge_id: int


def merged_contact_of_a(world: World) -> Merged:
    """Rep A's contact with a duplicate (also A's) merged into it."""
    contact = contact_of_a(world)
    duplicate = contact_upsert(
        data=ContactInput(family_name=MARK, email="h.dup@target.example", owner_id=world.rep_a.pk)
    ).contact
    record = contact_merge(winner=contact, loser=duplicate)
    return Merged(contact=contact, merge_id=record.pk)


@dataclass
class Pair:
    contact: Contact
    other: Contact


def two_contacts_of_a(world: World) -> Pair:
    """Two of rep A's contacts (a duplicate to merge)."""
    other = contact_upsert(
        data=ContactInput(family_name=MARK, email="h.other@target.example", owner_id=world.rep_a.pk)
    ).contact
    return Pair(contact=contact_of_a(world), other=other)


def contacts_of_b_and_a(world: World) -> Pair:
    """Rep B's own contact, and rep A's (which B must not be able to name as a duplicate)."""
    own = contact_upsert(
        data=ContactInput(family_name="別府", email="b@own.example", owner_id=world.users[REP_B].pk)
    ).contact
    return Pair(contact=own, other=contact_of_a(world))


@dataclass
class Pending:
    contact: Contact
    change_id: int


def pending_change_of_a(world: World) -> Pending:
    """Rep A's contact with a proposed change waiting for review."""
    contact = contact_of_a(world)
    change = pending.pending_change_propose(
        contact=contact, data=ContactInput(title="取締役"), source="form"
    )
    assert change is not None
    return Pending(contact=contact, change_id=change.pk)


@dataclass
class InSequence:
    contact: Contact
    sequence_id: int
    enrollment_id: int | None = None


def sequence_for_a(world: World) -> InSequence:
    """An active manual sequence, and rep A's contact (not enrolled yet)."""
    contact = contact_of_a(world)
    sequence = sequence_make(steps=[wait(1)])
    return InSequence(contact=contact, sequence_id=sequence.pk)


def enrolled_contact_of_a(world: World) -> InSequence:
    """Rep A's contact, enrolled in an active sequence."""
    target = sequence_for_a(world)
    from sokyaku.sequences.models import Sequence

    enrollment = enrollment_services.sequence_enroll(
        sequence=Sequence.objects.get(pk=target.sequence_id), contact=target.contact
    )
    target.enrollment_id = enrollment.pk
    return target


@dataclass
class InList:
    contact: Contact
    segment_id: int


def listed_contact_of_a(world: World) -> InList:
    """Rep A's contact on a static list (with consent, so it is in an audience export)."""
    contact = contact_of_a(world)
    segment = segment_services.segment_create(name="展示会リスト", kind="static")
    segment_services.segment_members_add(segment=segment, contact_ids=[contact.pk])
    return InList(contact=contact, segment_id=segment.pk)


@dataclass
class WithTemplate:
    contact: Contact
    template_id: int


def template_and_contact_of_a(world: World) -> WithTemplate:
    """A mail template that shows the family name, and rep A's contact to preview it as."""
    return WithTemplate(contact=contact_of_a(world), template_id=template_make().pk)


@dataclass
class Handed:
    contact: Contact
    handoff: Handoff
    colleague_id: int  # a rep the handoff can be reassigned to


def handoff_of_a(world: World) -> Handed:
    """An open handoff of rep A's contact, assigned to rep A."""
    contact = contact_of_a(world)
    now = clock.now()
    handoff = Handoff.objects.create(
        contact=contact,
        trigger_kind="event",
        action_label="デモ申し込み",
        acted_at=now,
        assignee=world.rep_a,
        created_at=now,
        sla_due_at=now + timedelta(hours=24),
    )
    return Handed(contact=contact, handoff=handoff, colleague_id=world.users[REP_B].pk)


@dataclass
class WithDeal:
    contact: Contact
    deal: Deal


def deal_of_a(world: World) -> WithDeal:
    """An open deal of rep A's contact, owned by rep A, in the default pipeline."""
    contact = contact_of_a(world)
    pipeline_presets_install()
    deal = deal_services.deal_create(
        actor=None, name=f"{MARK}様 導入検討", contact=contact, owner=world.rep_a, amount=1_200_000
    )
    return WithDeal(contact=contact, deal=deal)


def next_stage(deal: Deal) -> int:
    """The id of the stage after the deal's (a move a board drop would send)."""
    return int(
        DealStage.objects.filter(pipeline_id=deal.pipeline_id, position__gt=deal.stage.position)
        .order_by("position")
        .values_list("pk", flat=True)[0]
    )


def nothing(world: World) -> None:
    """For endpoints that are about a role, not a record."""


@dataclass
class Hook:
    subscription_id: int
    delivery_id: int


def webhook_with_a_delivery(world: World) -> Hook:
    """A webhook subscription (made by the admin) with one delivery waiting."""
    from sokyaku.webhooks.services import publish
    from sokyaku.webhooks.services.subscriptions import subscription_create

    created = subscription_create(
        url="https://hooks.example.com/in", event_types=["deal.won"], actor=world.users[ADMIN]
    )
    publish("deal.won", {"deal": 1, "amount_jpy": 1_000_000})
    delivery = created.subscription.deliveries.get()
    return Hook(subscription_id=created.subscription.pk, delivery_id=delivery.pk)


# --- Cases ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """One endpoint of the matrix.

    ``url`` and ``data`` take what ``target`` built. Roles in ``allowed`` must get an answer
    (2xx, or a redirect for UI forms) that, for ``HIDDEN`` cases, shows ``MARK``; every other
    role gets ``refused``.
    """

    name: str
    kind: str  # "ui" | "api"
    method: str  # "get" | "post" | "patch" | "delete"
    url: Callable[[Any], str]
    target: Callable[[World], Any] = contact_of_a
    data: Callable[[Any], dict[str, Any]] | None = None
    allowed: frozenset[str] = SEES_A
    refused: int | str = NOT_FOUND
    htmx: bool = False
    # Roles that see the record but whose role may not do this (403), e.g. a marketer who
    # reads handoffs and deals but does not work them.
    forbidden: frozenset[str] = frozenset()

    @property
    def roles(self) -> tuple[str, ...]:
        return API_ROLES if self.kind == "api" else UI_ROLES

    def expected(self, role: str) -> int | str:
        """What ``role`` should observe (see ``observed``)."""
        if role in self.forbidden:
            return FORBIDDEN
        if role in self.allowed:
            return SHOWN if self.refused == HIDDEN else OK
        return self.refused

    def send(self, world: World, role: str, target: Any) -> Any:
        """The test client's response (``HttpResponse`` with ``json()``)."""
        client = world.client(role, self.kind)
        call = getattr(client, self.method)
        body = self.data(target) if self.data else None
        headers = {"HX-Request": "true"} if self.htmx else {}
        if self.kind == "api" and body is not None:
            return call(
                self.url(target),
                data=json.dumps(body),
                content_type="application/json",
                headers=headers,
            )
        return call(self.url(target), body or {}, headers=headers)

    def observed(self, response: Any) -> int | str:
        """``OK`` for an answer, the status for a refusal; for ``HIDDEN`` cases ``SHOWN`` or
        ``HIDDEN`` depending on whether the answer names the target."""
        status = response.status_code
        if status not in _OK_STATUSES:
            return status
        if self.refused != HIDDEN:
            return OK
        return SHOWN if MARK in _text(response) else HIDDEN


def _text(response: Any) -> str:
    if response.get("Content-Type", "").startswith("application/json"):
        return json.dumps(response.json(), ensure_ascii=False)
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content).decode()
    return response.content.decode()
