"""Who reaches what: role × endpoint × owner, on the UI and the API.

Each row is an endpoint that reads or changes a record of sales rep A (or a list that would show
it). Marketers and admins reach everything; rep A, the rep whose team shares records with A and
the manager of A's team reach A's records; rep B gets the same 404 as for an id that does not
exist, however the id is put in the URL or the body. Bulk exports and the access log are refused
by role (403). The handoff and forecast reports answer everyone who sees handoffs and deals,
with rep A's numbers for marketing, A and A's manager only. API keys act as the user who created
them; a key without creator acts for the installation. See ``world.py`` for the people, the
targets and how to add a row.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from sokyaku.capture.services.forms import FormInput, form_create
from sokyaku.core import apiscopes
from sokyaku.core import services as core_services
from sokyaku.core.models import ApiScope
from tests.permissions.world import (
    ADMIN,
    ADMINS,
    API_ROLES,
    CONFLICT,
    FORBIDDEN,
    HIDDEN,
    MANAGER,
    MARK,
    MARKETER,
    MARKETING,
    REP_A,
    SYSTEM,
    UI_ROLES,
    UNPROCESSABLE,
    Case,
    World,
    contact_of_a,
    contacts_of_b_and_a,
    deal_of_a,
    enrolled_contact_of_a,
    handoff_of_a,
    listed_contact_of_a,
    merged_contact_of_a,
    next_stage,
    nothing,
    pending_change_of_a,
    sequence_for_a,
    template_and_contact_of_a,
    two_contacts_of_a,
    webhook_with_a_delivery,
    world_build,
)

# Who works handoffs and deals: the reps who see them and admins; marketers only read them.
WORKERS_REFUSED = frozenset({MARKETER})

pytestmark = pytest.mark.django_db


def _contact_url(name: str, **extra: Any) -> Any:
    return lambda c: reverse(f"contacts:{name}", kwargs={"contact_id": c.pk, **extra})


def _edit_form(contact: Any) -> dict[str, Any]:
    return {
        "family_name": contact.family_name,
        "given_name": contact.given_name,
        "email": contact.email,
        "company_name": contact.company.name if contact.company else "",
        "title": "部長",
        "owner": str(contact.owner_id or ""),
        "tags": "",
    }


_BANT_FORM = {
    "budget_amount_jpy": "1,200,000",
    "authority": "decision_maker",
    "need": "展示会リードの管理",
    "need_tags": "リード管理",
}


UI_CASES = [
    # --- handoffs and deals --------------------------------------------------------------------
    Case(
        "handoff page",
        "ui",
        "get",
        lambda h: reverse("handoff:detail", args=[h.handoff.pk]),
        target=handoff_of_a,
    ),
    Case(
        "reject a handoff",
        "ui",
        "post",
        lambda h: reverse("handoff:reject", args=[h.handoff.pk]),
        target=handoff_of_a,
        data=lambda h: {"reason": "not_fit", "outcome": "disqualified", "note": "対象外"},
        forbidden=WORKERS_REFUSED,
    ),
    Case(
        "reassign a handoff",
        "ui",
        "post",
        lambda h: reverse("handoff:reassign", args=[h.handoff.pk]),
        target=handoff_of_a,
        data=lambda h: {"to_user": str(h.colleague_id), "reason": "担当替え"},
        forbidden=WORKERS_REFUSED,
    ),
    Case(
        "log an activity on a handoff",
        "ui",
        "post",
        lambda h: reverse("handoff:activity", args=[h.handoff.pk]),
        target=handoff_of_a,
        data=lambda h: {"kind": "call", "subject": "初回架電", "body": ""},
        forbidden=WORKERS_REFUSED,
    ),
    Case(
        "qualify page of a handoff",
        "ui",
        "get",
        lambda h: reverse("deals:qualify", args=[h.handoff.pk]),
        target=handoff_of_a,
        forbidden=WORKERS_REFUSED,
    ),
    Case(
        "sales inbox",
        "ui",
        "get",
        lambda h: reverse("handoff:inbox"),
        target=handoff_of_a,
        refused=HIDDEN,
    ),
    Case(
        "deal page",
        "ui",
        "get",
        lambda d: reverse("deals:detail", args=[d.deal.pk]),
        target=deal_of_a,
    ),
    Case(
        "deal edit form",
        "ui",
        "get",
        lambda d: reverse("deals:edit", args=[d.deal.pk]),
        target=deal_of_a,
        forbidden=WORKERS_REFUSED,
    ),
    Case(
        "move a deal on the board",
        "ui",
        "post",
        lambda d: reverse("deals:move", args=[d.deal.pk]),
        target=deal_of_a,
        data=lambda d: {"stage": next_stage(d.deal), "version": d.deal.version},
        forbidden=WORKERS_REFUSED,
    ),
    Case(
        "pipeline board",
        "ui",
        "get",
        lambda d: reverse("deals:board"),
        target=deal_of_a,
        refused=HIDDEN,
    ),
    # --- the contact page and everything under it --------------------------------------------
    Case("contact page", "ui", "get", _contact_url("detail")),
    Case("timeline page (htmx)", "ui", "get", _contact_url("timeline"), htmx=True),
    Case("add a note", "ui", "post", _contact_url("note_add"), data=lambda c: {"text": "電話済み"}),
    Case("edit form", "ui", "get", _contact_url("edit")),
    Case("save the edit form", "ui", "post", _contact_url("edit"), data=_edit_form),
    Case("merge page", "ui", "get", _contact_url("merge")),
    Case(
        "merge: pick the duplicate by id",
        "ui",
        "get",
        lambda p: reverse("contacts:merge", args=[p.contact.pk]) + f"?other={p.other.pk}",
        target=two_contacts_of_a,
    ),
    Case(
        "merge: another rep's contact as the duplicate",
        "ui",
        "post",
        lambda p: reverse("contacts:merge", args=[p.contact.pk]),
        target=contacts_of_b_and_a,
        data=lambda p: {"other": p.other.pk},
        allowed=frozenset({ADMIN, MARKETER}),  # B's contact is B's: only they and marketing
    ),
    Case(
        "undo a merge",
        "ui",
        "post",
        lambda m: reverse("contacts:merge_undo", args=[m.contact.pk, m.merge_id]),
        target=merged_contact_of_a,
    ),
    Case(
        "accept a pending change",
        "ui",
        "post",
        lambda p: reverse("contacts:pending_accept", args=[p.contact.pk, p.change_id]),
        target=pending_change_of_a,
    ),
    Case(
        "reject a pending change",
        "ui",
        "post",
        lambda p: reverse("contacts:pending_reject", args=[p.contact.pk, p.change_id]),
        target=pending_change_of_a,
    ),
    # --- panels of other apps on the contact page --------------------------------------------
    Case(
        "lifecycle: move the stage",
        "ui",
        "post",
        lambda c: reverse("lifecycle:contact_move", args=[c.pk]),
        data=lambda c: {"to_stage": "mql"},
        htmx=True,
    ),
    Case(
        "lifecycle: record BANT",
        "ui",
        "post",
        lambda c: reverse("lifecycle:contact_bant", args=[c.pk]),
        data=lambda c: _BANT_FORM,
        htmx=True,
    ),
    Case(
        "sequences: enrol from the contact page",
        "ui",
        "post",
        lambda s: reverse("sequences:contact_enroll", args=[s.contact.pk]),
        target=sequence_for_a,
        data=lambda s: {"sequence": s.sequence_id},
    ),
    Case(
        "sequences: take out of a sequence",
        "ui",
        "post",
        lambda s: reverse("sequences:remove", args=[s.enrollment_id]),
        target=enrolled_contact_of_a,
    ),
    Case(
        "sequences: calendar preview for the contact",
        "ui",
        "get",
        lambda s: reverse("sequences:detail", args=[s.sequence_id]) + f"?contact={s.contact.pk}",
        target=sequence_for_a,
    ),
    Case(
        "invalidate the contact's mail links",
        "ui",
        "post",
        lambda c: reverse("messaging:contact_links_rotate", args=[c.pk]),
        allowed=ADMINS,
        refused=FORBIDDEN,
    ),
    # --- lists and pickers: they answer, without A's contact ---------------------------------
    Case("contact list", "ui", "get", lambda c: reverse("contacts:list"), refused=HIDDEN),
    Case(
        "contact search (htmx)",
        "ui",
        "get",
        lambda c: reverse("contacts:list") + "?q=hanako",
        htmx=True,
        refused=HIDDEN,
    ),
    Case(
        "mail preview: contact picker",
        "ui",
        "get",
        lambda c: reverse("messaging:preview_contacts") + "?q=hanako",
        refused=HIDDEN,
    ),
    Case(
        "mail preview: rendered as the contact",
        "ui",
        "get",
        lambda t: (
            reverse("messaging:template_preview", args=[t.template_id]) + f"?contact={t.contact.pk}"
        ),
        target=template_and_contact_of_a,
        refused=HIDDEN,
    ),
    Case(
        "segment members",
        "ui",
        "get",
        lambda s: reverse("segments:detail", args=[s.segment_id]),
        target=listed_contact_of_a,
        refused=HIDDEN,
    ),
    Case(
        "sequence enrolments",
        "ui",
        "get",
        lambda s: reverse("sequences:detail", args=[s.sequence_id]),
        target=enrolled_contact_of_a,
        refused=HIDDEN,
    ),
    # --- bulk exports and the log, by role ----------------------------------------------------
    Case(
        "contact export",
        "ui",
        "get",
        lambda c: reverse("contacts:export") + "?format=csv",
        allowed=MARKETING,
        refused=FORBIDDEN,
    ),
    Case(
        "everything held on the person",
        "ui",
        "get",
        lambda c: reverse("privacy_export:person", args=[c.pk]),
        allowed=MARKETING,
        refused=FORBIDDEN,
    ),
    Case(
        "audience export",
        "ui",
        "post",
        lambda s: reverse("segments:export", args=[s.segment_id, "google"]),
        target=listed_contact_of_a,
        allowed=MARKETING,
        refused=FORBIDDEN,
    ),
    Case(
        "data access log",
        "ui",
        "get",
        lambda _: reverse("core:access_log"),
        target=nothing,
        allowed=ADMINS,
        refused=FORBIDDEN,
    ),
    # --- erasing people, its log and the retention policy are admins' --------------------------
    Case(
        "erase page",
        "ui",
        "get",
        lambda c: reverse("erasure:contact", args=[c.pk]),
        allowed=ADMINS,
        refused=FORBIDDEN,
    ),
    Case(
        "erase a person",
        "ui",
        "post",
        lambda c: reverse("erasure:contact", args=[c.pk]),
        data=lambda c: {"confirm": c.display_name, "reason": ""},
        allowed=ADMINS,
        refused=FORBIDDEN,
    ),
    Case(
        "delete everyone in a segment: the confirm page",
        "ui",
        "get",
        lambda s: reverse("erasure:segment", args=[s.segment_id]),
        target=listed_contact_of_a,
        allowed=ADMINS,
        refused=FORBIDDEN,
    ),
    Case(
        "erasure log",
        "ui",
        "get",
        lambda _: reverse("erasure:log"),
        target=nothing,
        allowed=ADMINS,
        refused=FORBIDDEN,
    ),
    Case(
        "retention policy",
        "ui",
        "get",
        lambda _: reverse("erasure:retention"),
        target=nothing,
        allowed=ADMINS,
        refused=FORBIDDEN,
    ),
    # --- reports are marketing's, by role -----------------------------------------------------
    # --- reports are marketing's, by role (the sales reports: ``test_the_sales_reports…``) ---
    *(
        Case(
            f"report {name}",
            "ui",
            "get",
            lambda _, name=name: reverse(f"analytics:{name}"),
            target=nothing,
            allowed=MARKETING,
            refused=FORBIDDEN,
        )
        for name in ("dashboard", "funnel", "channels", "attribution", "sequences")
    ),
    # --- webhooks send contacts' data out: admins only ----------------------------------------
    Case(
        "webhooks list",
        "ui",
        "get",
        lambda _: reverse("webhooks:list"),
        target=nothing,
        allowed=ADMINS,
        refused=FORBIDDEN,
    ),
    Case(
        "webhook page with its delivery log",
        "ui",
        "get",
        lambda h: reverse("webhooks:detail", args=[h.subscription_id]),
        target=webhook_with_a_delivery,
        allowed=ADMINS,
        refused=FORBIDDEN,
    ),
    Case(
        "replay a webhook delivery",
        "ui",
        "post",
        lambda h: reverse("webhooks:delivery_replay", args=[h.subscription_id, h.delivery_id]),
        target=webhook_with_a_delivery,
        allowed=ADMINS,
        refused=FORBIDDEN,
    ),
    Case(
        "contacts behind a number",
        "ui",
        "get",
        lambda _: reverse("analytics:contacts") + "?metric=leads",
        allowed=MARKETING,
        refused=FORBIDDEN,
    ),
    Case(
        "channel table export",
        "ui",
        "get",
        lambda _: reverse("analytics:channels") + "?format=csv",
        target=nothing,
        allowed=MARKETING,
        refused=FORBIDDEN,
    ),
]


def _api(path: str) -> Any:
    return lambda c: f"/api/v1/contacts/{c.pk}{path}"


API_CASES = [
    Case(
        "GET handoff",
        "api",
        "get",
        lambda h: f"/api/v1/handoffs/{h.handoff.pk}",
        target=handoff_of_a,
    ),
    Case(
        "open handoffs",
        "api",
        "get",
        lambda h: "/api/v1/handoffs?status=open",
        target=handoff_of_a,
        refused=HIDDEN,
    ),
    Case(
        "reject a handoff",
        "api",
        "post",
        lambda h: f"/api/v1/handoffs/{h.handoff.pk}/reject",
        target=handoff_of_a,
        data=lambda h: {"reason": "not_fit", "outcome": "disqualified"},
        forbidden=WORKERS_REFUSED,
    ),
    Case(
        "log a sales activity",
        "api",
        "post",
        lambda h: f"/api/v1/contacts/{h.contact.pk}/activities",
        target=handoff_of_a,
        data=lambda h: {"kind": "call", "subject": "初回架電"},
        forbidden=WORKERS_REFUSED,
    ),
    Case("GET sales activities", "api", "get", _api("/activities")),
    Case("GET orders", "api", "get", _api("/orders")),
    Case(
        "GET deal",
        "api",
        "get",
        lambda d: f"/api/v1/deals/{d.deal.pk}",
        target=deal_of_a,
    ),
    Case(
        "deals",
        "api",
        "get",
        lambda d: "/api/v1/deals",
        target=deal_of_a,
        refused=HIDDEN,
    ),
    Case(
        "move a deal",
        "api",
        "post",
        lambda d: f"/api/v1/deals/{d.deal.pk}/move",
        target=deal_of_a,
        data=lambda d: {"stage_id": next_stage(d.deal), "version": d.deal.version},
        forbidden=WORKERS_REFUSED,
    ),
    Case("GET contact", "api", "get", _api("")),
    Case(
        "erase a person",
        "api",
        "post",
        _api("/erasure"),
        data=lambda c: {"reason": ""},
        allowed=ADMINS,
        refused=FORBIDDEN,
    ),
    Case("PATCH contact", "api", "patch", _api(""), data=lambda c: {"title": "部長"}),
    Case("GET timeline", "api", "get", _api("/timeline")),
    Case(
        "GET everything held on the person",
        "api",
        "get",
        _api("/export"),
        allowed=MARKETING,
        refused=FORBIDDEN,
    ),
    Case("GET consents", "api", "get", _api("/consents")),
    Case(
        "POST consent",
        "api",
        "post",
        _api("/consents"),
        data=lambda c: {"topic": "*", "status": "withdrawn"},
    ),
    Case("GET lifecycle", "api", "get", _api("/lifecycle")),
    Case("POST lifecycle", "api", "post", _api("/lifecycle"), data=lambda c: {"stage": "mql"}),
    Case("GET BANT", "api", "get", _api("/bant")),
    Case(
        "POST BANT",
        "api",
        "post",
        _api("/bant"),
        data=lambda c: {"budget_amount_jpy": 1_000_000, "authority": "decision_maker"},
    ),
    Case(
        "enrol by contact id",
        "api",
        "post",
        lambda s: f"/api/v1/sequences/{s.sequence_id}/enrollments",
        target=sequence_for_a,
        data=lambda s: {"contact_id": s.contact.pk},
    ),
    Case(
        "enrol by email",
        "api",
        "post",
        lambda s: f"/api/v1/sequences/{s.sequence_id}/enrollments",
        target=sequence_for_a,
        data=lambda s: {"email": s.contact.email},
    ),
    Case(
        "take out of a sequence",
        "api",
        "delete",
        lambda s: f"/api/v1/sequences/{s.sequence_id}/enrollments/{s.contact.pk}",
        target=enrolled_contact_of_a,
    ),
    Case(
        "calendar preview for the contact",
        "api",
        "get",
        lambda s: f"/api/v1/sequences/{s.sequence_id}/preview?contact={s.contact.pk}",
        target=sequence_for_a,
    ),
    Case(
        "send an event about the contact",
        "api",
        "post",
        lambda c: "/api/v1/events",
        data=lambda c: {
            "type": "page_view",
            "contact_id": c.pk,
            "properties": {"url": "https://sample.example/pricing"},
        },
        refused=UNPROCESSABLE,  # as for an id that does not exist
    ),
    Case(
        "upsert the same person",
        "api",
        "post",
        lambda c: "/api/v1/contacts",
        data=lambda c: {"email": c.email, "title": "部長"},
        refused=CONFLICT,
    ),
    Case(
        "contact list",
        "api",
        "get",
        lambda c: "/api/v1/contacts?q=hanako",
        refused=HIDDEN,
    ),
    Case(
        "segment members",
        "api",
        "get",
        lambda s: f"/api/v1/segments/{s.segment_id}/contacts",
        target=listed_contact_of_a,
        refused=HIDDEN,
    ),
    *(
        Case(
            f"GET analytics {path}",
            "api",
            "get",
            lambda _, path=path: f"/api/v1/analytics/{path}",
            target=nothing,
            allowed=MARKETING,
            refused=FORBIDDEN,
        )
        for path in ("kpis", "channels", "funnel", "attribution", "sequences")
    ),
]

CASES = [*UI_CASES, *API_CASES]


@pytest.mark.parametrize(
    ("case", "role"),
    [
        pytest.param(case, role, id=f"{case.kind}: {case.name} · {role}")
        for case in CASES
        for role in case.roles
    ],
)
def test_the_matrix(case: Case, role: str) -> None:
    # given the world and the case's record of rep A
    world = world_build()
    target = case.target(world)
    # when the role calls the endpoint
    response = case.send(world, role, target)
    # then it answers as the matrix says
    assert case.observed(response) == case.expected(role), response.content[:300]


# Whose numbers the handoff and forecast reports show: rep A's are seen by marketing, by A and by
# the manager of A's team — not by rep B, nor by a rep who only shares records with A.
SEES_A_NUMBERS = frozenset({ADMIN, MARKETER, REP_A, MANAGER, SYSTEM})
SALES_REPORTS = [
    ("ui", "handoffs", handoff_of_a),
    ("ui", "forecast", deal_of_a),
    ("api", "handoffs", handoff_of_a),
    ("api", "forecast", deal_of_a),
]


@pytest.mark.parametrize(
    ("kind", "report", "build", "role"),
    [
        pytest.param(kind, report, build, role, id=f"{kind}: {report} report · {role}")
        for kind, report, build in SALES_REPORTS
        for role in (UI_ROLES if kind == "ui" else API_ROLES)
    ],
)
def test_the_sales_reports_show_rep_a_to_whom_they_concern(
    kind: str, report: str, build: Callable[[World], Any], role: str
) -> None:
    # given rep A's handoff (or deal) of this month
    world = world_build()
    build(world)
    url = reverse(f"analytics:{report}") if kind == "ui" else f"/api/v1/analytics/{report}"
    # when the role opens the report
    response = world.client(role, kind).get(url)
    # then it answers, with rep A's numbers only for those they concern
    assert response.status_code == 200, response.content[:300]
    assert (world.rep_a.username in response.content.decode()) == (role in SEES_A_NUMBERS)


@pytest.mark.parametrize(
    "build",
    [
        contact_of_a,
        lambda w: merged_contact_of_a(w).contact,
        lambda w: pending_change_of_a(w).contact,
        lambda w: sequence_for_a(w).contact,
        lambda w: enrolled_contact_of_a(w).contact,
        lambda w: listed_contact_of_a(w).contact,
        lambda w: template_and_contact_of_a(w).contact,
    ],
)
def test_the_targets_belong_to_rep_a(build: Any) -> None:
    # the matrix means something only if its records are rep A's and show the mark
    world = world_build()
    target = build(world)
    assert target.owner_id == world.rep_a.pk
    assert target.family_name == MARK


# --- Role × scope × operation: the API asks the key's user for the UI's permission -------------
#
# Every API operation, with the scope it needs and the roles whose UI refuses the same action.
# With a full-scope key, each of those roles gets 403 with a JSON ``detail``; every other role
# gets past the permission check (whatever the record or the body then make of the request).
# Without the operation's scope, even an admin's key gets 403 naming the scope.

REP = REP_A  # the sales rep of the world (owns the targets)
KEY_ROLES = (ADMIN, MARKETER, REP)
NO_ONE: frozenset[str] = frozenset()
NOT_REPS = frozenset({REP})
REPS_ONLY_NOT = frozenset({MARKETER})  # marketing reads sales work, it does not do it
ADMINS_ONLY = frozenset({MARKETER, REP})


@dataclass(frozen=True)
class Op:
    operation_id: str
    method: str
    url: Callable[[Any], str]
    scope: ApiScope
    refused: frozenset[str]  # roles whose UI refuses this action
    target: Callable[[World], Any] = nothing
    data: Callable[[Any], Any] | None = None


def _form(world: World) -> Any:
    return form_create(data=FormInput(name="資料請求"))


_C = contact_of_a
OPERATIONS = [
    # contacts, their timeline, consents, lifecycle and BANT
    Op("contact_upsert", "post", lambda _: "/api/v1/contacts", ApiScope.CONTACTS_WRITE, NO_ONE,
       data=lambda _: {"email": "new@example.jp"}),
    Op("contact_list", "get", lambda _: "/api/v1/contacts", ApiScope.CONTACTS_READ, NO_ONE),
    Op("contact_get", "get", _api(""), ApiScope.CONTACTS_READ, NO_ONE, _C),
    Op("contact_update", "patch", _api(""), ApiScope.CONTACTS_WRITE, NO_ONE, _C,
       data=lambda _: {"title": "部長"}),
    Op("contact_timeline", "get", _api("/timeline"), ApiScope.EVENTS_READ, NO_ONE, _C),
    # a whole person (mails, notes, deals, consent proofs) is an export: not for reps
    Op("contact_export", "get", _api("/export"), ApiScope.CONTACTS_EXPORT, NOT_REPS, _C),
    Op("contact_erase", "post", _api("/erasure"), ApiScope.CONTACTS_ERASE, ADMINS_ONLY, _C,
       data=lambda _: {"reason": ""}),
    Op("events_ingest", "post", lambda _: "/api/v1/events", ApiScope.EVENTS_WRITE, NO_ONE,
       data=lambda _: {"type": "page_view", "visitor_id": "v1",
                       "properties": {"url": "https://sample.example/"}}),
    Op("contact_consents", "get", _api("/consents"), ApiScope.CONTACTS_READ, NO_ONE, _C),
    Op("contact_consent_record", "post", _api("/consents"), ApiScope.CONTACTS_WRITE, NO_ONE, _C,
       data=lambda _: {"topic": "*", "status": "withdrawn"}),
    Op("contact_lifecycle", "get", _api("/lifecycle"), ApiScope.CONTACTS_READ, NO_ONE, _C),
    Op("contact_lifecycle_move", "post", _api("/lifecycle"), ApiScope.CONTACTS_WRITE, NO_ONE, _C,
       data=lambda _: {"stage": "mql"}),
    Op("contact_bant", "get", _api("/bant"), ApiScope.CONTACTS_READ, NO_ONE, _C),
    Op("contact_bant_record", "post", _api("/bant"), ApiScope.CONTACTS_WRITE, NO_ONE, _C,
       data=lambda _: {"budget_amount_jpy": 1_000_000, "authority": "decision_maker"}),
    # segments
    Op("segment_list", "get", lambda _: "/api/v1/segments", ApiScope.CONTACTS_READ, NO_ONE),
    Op("segment_contacts", "get", lambda s: f"/api/v1/segments/{s.segment_id}/contacts",
       ApiScope.CONTACTS_READ, NO_ONE, listed_contact_of_a),
    # forms: reps read them, marketing builds and publishes them
    Op("form_list", "get", lambda _: "/api/v1/forms", ApiScope.FORMS_READ, NO_ONE),
    Op("form_get", "get", lambda f: f"/api/v1/forms/{f.pk}", ApiScope.FORMS_READ, NO_ONE, _form),
    Op("form_submissions", "get", lambda f: f"/api/v1/forms/{f.pk}/submissions",
       ApiScope.FORMS_READ, NO_ONE, _form),
    Op("form_create", "post", lambda _: "/api/v1/forms", ApiScope.FORMS_WRITE, NOT_REPS,
       data=lambda _: {"name": "新しいフォーム"}),
    Op("form_update", "patch", lambda f: f"/api/v1/forms/{f.pk}", ApiScope.FORMS_WRITE, NOT_REPS,
       _form, data=lambda _: {"name": "改名"}),
    Op("form_publish", "post", lambda f: f"/api/v1/forms/{f.pk}/publish", ApiScope.FORMS_WRITE,
       NOT_REPS, _form),
    Op("form_unpublish", "post", lambda f: f"/api/v1/forms/{f.pk}/unpublish",
       ApiScope.FORMS_WRITE, NOT_REPS, _form),
    # channel costs: reps see them, marketing records them
    Op("cost_list", "get", lambda _: "/api/v1/costs", ApiScope.COSTS_READ, NO_ONE),
    Op("costs_upsert", "post", lambda _: "/api/v1/costs", ApiScope.COSTS_WRITE, NOT_REPS,
       data=lambda _: {"costs": []}),
    # sequences: reps enrol their leads by hand
    Op("sequence_list", "get", lambda _: "/api/v1/sequences", ApiScope.SEQUENCES_READ, NO_ONE),
    Op("sequence_get", "get", lambda s: f"/api/v1/sequences/{s.sequence_id}",
       ApiScope.SEQUENCES_READ, NO_ONE, sequence_for_a),
    Op("sequence_preview", "get",
       lambda s: f"/api/v1/sequences/{s.sequence_id}/preview?contact={s.contact.pk}",
       ApiScope.SEQUENCES_READ, NO_ONE, sequence_for_a),
    Op("sequence_enroll", "post", lambda s: f"/api/v1/sequences/{s.sequence_id}/enrollments",
       ApiScope.SEQUENCES_WRITE, NO_ONE, sequence_for_a,
       data=lambda s: {"contact_id": s.contact.pk}),
    Op("sequence_unenroll", "delete",
       lambda s: f"/api/v1/sequences/{s.sequence_id}/enrollments/{s.contact.pk}",
       ApiScope.SEQUENCES_WRITE, NO_ONE, enrolled_contact_of_a),
    # bounces: marketing's mail
    Op("message_bounce_process", "post", lambda _: "/api/v1/messages/bounces",
       ApiScope.MESSAGES_WRITE, NOT_REPS, data=lambda _: {}),
    # handoffs and sales activities: reps and admins work them, marketing reads them
    Op("handoff_list", "get", lambda _: "/api/v1/handoffs", ApiScope.HANDOFFS_READ, NO_ONE),
    Op("handoff_get", "get", lambda h: f"/api/v1/handoffs/{h.handoff.pk}",
       ApiScope.HANDOFFS_READ, NO_ONE, handoff_of_a),
    Op("handoff_reassign", "post", lambda h: f"/api/v1/handoffs/{h.handoff.pk}/reassign",
       ApiScope.HANDOFFS_WRITE, REPS_ONLY_NOT, handoff_of_a,
       data=lambda h: {"to_user_id": h.colleague_id, "reason": "担当替え"}),
    Op("handoff_reject", "post", lambda h: f"/api/v1/handoffs/{h.handoff.pk}/reject",
       ApiScope.HANDOFFS_WRITE, REPS_ONLY_NOT, handoff_of_a,
       data=lambda h: {"reason": "not_fit", "outcome": "disqualified"}),
    Op("handoff_accept", "post", lambda h: f"/api/v1/handoffs/{h.handoff.pk}/accept",
       ApiScope.HANDOFFS_WRITE, REPS_ONLY_NOT, handoff_of_a,
       data=lambda h: {"bant": {"authority": "decision_maker"}}),
    Op("contact_activity_list", "get", _api("/activities"), ApiScope.HANDOFFS_READ, NO_ONE, _C),
    Op("contact_activity_log", "post", _api("/activities"), ApiScope.HANDOFFS_WRITE,
       REPS_ONLY_NOT, _C, data=lambda _: {"kind": "call", "subject": "初回架電"}),
    # deals: reps and admins work them, marketing reads them; pipelines are read by all
    Op("pipeline_list", "get", lambda _: "/api/v1/pipelines", ApiScope.DEALS_READ, NO_ONE),
    Op("deal_list", "get", lambda _: "/api/v1/deals", ApiScope.DEALS_READ, NO_ONE),
    Op("deal_get", "get", lambda d: f"/api/v1/deals/{d.deal.pk}", ApiScope.DEALS_READ, NO_ONE,
       deal_of_a),
    Op("deal_forecast", "get", lambda _: "/api/v1/forecast", ApiScope.DEALS_READ, NO_ONE),
    Op("deal_create", "post", lambda _: "/api/v1/deals", ApiScope.DEALS_WRITE, REPS_ONLY_NOT,
       deal_of_a, data=lambda d: {"name": "追加案件", "contact_id": d.contact.pk}),
    Op("deal_update", "patch", lambda d: f"/api/v1/deals/{d.deal.pk}", ApiScope.DEALS_WRITE,
       REPS_ONLY_NOT, deal_of_a, data=lambda d: {"name": "改名", "version": d.deal.version}),
    Op("deal_move", "post", lambda d: f"/api/v1/deals/{d.deal.pk}/move", ApiScope.DEALS_WRITE,
       REPS_ONLY_NOT, deal_of_a,
       data=lambda d: {"stage_id": next_stage(d.deal), "version": d.deal.version}),
    Op("deal_win", "post", lambda d: f"/api/v1/deals/{d.deal.pk}/win", ApiScope.DEALS_WRITE,
       REPS_ONLY_NOT, deal_of_a, data=lambda d: {"version": d.deal.version}),
    Op("deal_lose", "post", lambda d: f"/api/v1/deals/{d.deal.pk}/lose", ApiScope.DEALS_WRITE,
       REPS_ONLY_NOT, deal_of_a,
       data=lambda d: {"version": d.deal.version, "reason": "price"}),
    # orders and referrals
    Op("order_record", "post", lambda _: "/api/v1/orders", ApiScope.ORDERS_WRITE, REPS_ONLY_NOT,
       _C, data=lambda c: {"contact_id": c.pk, "amount": 10_000}),
    Op("contact_orders", "get", _api("/orders"), ApiScope.CONTACTS_READ, NO_ONE, _C),
    Op("contact_referral_code", "post", _api("/referral-code"), ApiScope.ORDERS_WRITE,
       REPS_ONLY_NOT, _C),
    Op("referral_attribute", "post", lambda _: "/api/v1/referrals", ApiScope.ORDERS_WRITE,
       REPS_ONLY_NOT, data=lambda _: {}),
    Op("referral_reward_set", "post", lambda _: "/api/v1/referrals/999999/reward",
       ApiScope.ORDERS_WRITE, NOT_REPS, data=lambda _: {"status": "paid"}),
    # webhooks: admins only (they send contacts' data to another system)
    Op("webhook_event_types", "get", lambda _: "/api/v1/webhooks/event-types",
       ApiScope.WEBHOOKS_MANAGE, ADMINS_ONLY),
    Op("webhook_create", "post", lambda _: "/api/v1/webhooks", ApiScope.WEBHOOKS_MANAGE,
       ADMINS_ONLY, data=lambda _: {"url": "https://hooks.example.com/new",
                                    "events": ["deal.won"]}),
    Op("webhook_list", "get", lambda _: "/api/v1/webhooks", ApiScope.WEBHOOKS_MANAGE,
       ADMINS_ONLY),
    Op("webhook_get", "get", lambda h: f"/api/v1/webhooks/{h.subscription_id}",
       ApiScope.WEBHOOKS_MANAGE, ADMINS_ONLY, webhook_with_a_delivery),
    Op("webhook_update", "patch", lambda h: f"/api/v1/webhooks/{h.subscription_id}",
       ApiScope.WEBHOOKS_MANAGE, ADMINS_ONLY, webhook_with_a_delivery,
       data=lambda _: {"description": "CRM"}),
    Op("webhook_delete", "delete", lambda h: f"/api/v1/webhooks/{h.subscription_id}",
       ApiScope.WEBHOOKS_MANAGE, ADMINS_ONLY, webhook_with_a_delivery),
    Op("webhook_rotate_secret", "post",
       lambda h: f"/api/v1/webhooks/{h.subscription_id}/rotate-secret",
       ApiScope.WEBHOOKS_MANAGE, ADMINS_ONLY, webhook_with_a_delivery),
    Op("webhook_delivery_list", "get",
       lambda h: f"/api/v1/webhooks/{h.subscription_id}/deliveries",
       ApiScope.WEBHOOKS_MANAGE, ADMINS_ONLY, webhook_with_a_delivery),
    Op("webhook_delivery_get", "get",
       lambda h: f"/api/v1/webhooks/{h.subscription_id}/deliveries/{h.delivery_id}",
       ApiScope.WEBHOOKS_MANAGE, ADMINS_ONLY, webhook_with_a_delivery),
    Op("webhook_delivery_replay", "post",
       lambda h: f"/api/v1/webhooks/{h.subscription_id}/deliveries/{h.delivery_id}/replay",
       ApiScope.WEBHOOKS_MANAGE, ADMINS_ONLY, webhook_with_a_delivery),
    Op("webhook_replay", "post", lambda h: f"/api/v1/webhooks/{h.subscription_id}/replay",
       ApiScope.WEBHOOKS_MANAGE, ADMINS_ONLY, webhook_with_a_delivery,
       data=lambda _: {"since": "2026-01-01T00:00:00+09:00"}),
    # reports: marketing's
    # reports: marketing's; the sales reports are also a rep's (their own numbers) and a
    # manager's (their team's), see test_the_sales_reports_show_rep_a_to_whom_they_concern
    *(
        Op(f"analytics_{path}", "get", lambda _, path=path: f"/api/v1/analytics/{path}",
           ApiScope.ANALYTICS_READ, NOT_REPS)
        for path in ("kpis", "channels", "funnel", "attribution", "sequences")
    ),
    *(
        Op(f"analytics_{path}", "get", lambda _, path=path: f"/api/v1/analytics/{path}",
           ApiScope.ANALYTICS_READ, NO_ONE)
        for path in ("handoffs", "forecast")
    ),
]  # fmt: skip


def _send(op: Op, token: str, target: Any) -> Any:
    client = Client(headers={"Authorization": f"Bearer {token}"})
    body = op.data(target) if op.data else None
    call = getattr(client, op.method)
    if body is None:
        return call(op.url(target))
    return call(op.url(target), data=json.dumps(body), content_type="application/json")


def test_every_api_operation_is_in_the_table() -> None:
    # the table means something only if it names every operation the API has
    schema = Client().get("/api/v1/openapi.json").json()
    secured = {
        operation["operationId"]
        for path in schema["paths"].values()
        for operation in path.values()
        if operation.get("security")
    }
    assert secured == {op.operation_id for op in OPERATIONS}


@pytest.mark.parametrize(
    ("op", "role"),
    [
        pytest.param(op, role, id=f"{op.operation_id} · {role}")
        for op in OPERATIONS
        for role in KEY_ROLES
    ],
)
def test_an_api_operation_is_refused_exactly_when_the_role_may_not_do_it(op: Op, role: str) -> None:
    # given the world and the role's full-scope key
    world = world_build()
    target = op.target(world)
    # when the role's key calls the operation
    response = _send(op, world.tokens[role], target)
    # then a role the UI refuses gets 403 with a JSON detail; any other gets past the check
    if role in op.refused:
        assert response.status_code == 403, response.content[:300]
        assert "may not" in response.json()["detail"]
    else:
        assert response.status_code not in (401, 403) and response.status_code < 500, (
            response.content[:300]
        )


@pytest.mark.parametrize("op", [pytest.param(op, id=op.operation_id) for op in OPERATIONS])
def test_an_api_operation_needs_its_scope_whoever_holds_the_key(op: Op) -> None:
    # given an admin's key with every scope an admin may give it but the operation's
    world = world_build()
    target = op.target(world)
    token = core_services.apikey_create(
        name="narrow",
        scopes=[s for s in apiscopes.scopes_allowed(world.users[ADMIN]) if s != op.scope],
        created_by=world.users[ADMIN],
    ).token
    # when it calls the operation
    response = _send(op, token, target)
    # then it is refused, naming the scope
    assert response.status_code == 403
    assert response.json() == {"detail": f"This API key lacks the {op.scope.value} scope."}
