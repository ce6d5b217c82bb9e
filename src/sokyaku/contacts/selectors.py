"""Reads of contacts and companies, permission-checked for the user asking."""

from __future__ import annotations

from collections.abc import Iterable

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import Q, QuerySet

from sokyaku.contacts import normalize
from sokyaku.contacts.models import Company, Contact, FieldDefinition, MergeRecord, Tag
from sokyaku.core.errors import NotFound, PermissionDenied

AnyUser = User | AnonymousUser


def _require(user: AnyUser | None, perm: str) -> None:
    # ``None`` is the system itself (API keys are checked for scopes before we get here).
    if user is not None and not user.has_perm(perm):
        raise PermissionDenied("You do not have permission to see contacts.")


def contact_list(
    *,
    user: AnyUser | None,
    q: str = "",
    prefecture: int | None = None,
    tag: str = "",
    owner_id: int | None = None,
    company_id: int | None = None,
    industry: str = "",
    temperature: str = "",
    stage: str = "",
) -> QuerySet[Contact]:
    """Live contacts matching a search and filters, newest first.

    ``q`` matches names in kanji, kana (hiragana or katakana) and romaji, email, phone, company,
    department and title; every word must match. ``temperature`` (cold/warm/hot) and ``stage``
    (a lifecycle stage) filter through the score and lifecycle rows the higher apps keep per
    contact; a contact without a score is cold, one without a stage row a lead.
    """
    _require(user, "contacts.view_contact")
    qs = Contact.objects.filter(merged_into__isnull=True).select_related("company", "owner")
    for word in q.split():
        key = normalize.search_key(word)
        if key:
            qs = qs.filter(search_text__contains=key)
    if prefecture:
        qs = qs.filter(prefecture=prefecture)
    if tag:
        qs = qs.filter(tags__name=tag)
    if owner_id:
        qs = qs.filter(owner_id=owner_id)
    if company_id:
        qs = qs.filter(company_id=company_id)
    if industry:
        qs = qs.filter(company__industry=industry)
    if temperature:
        has = Q(score__temperature=temperature)
        qs = qs.filter(has | Q(score__isnull=True) if temperature == "cold" else has)
    if stage:
        has = Q(lifecycle__stage=stage)
        qs = qs.filter(has | Q(lifecycle__isnull=True) if stage == "lead" else has)
    return qs.order_by("-created_at", "-id")


def contact_get(*, user: AnyUser | None, id: int) -> Contact:
    """One contact; a merged-away id answers with the contact it was merged into."""
    _require(user, "contacts.view_contact")
    rows = Contact.objects.select_related("company", "owner", "first_touch_channel")
    contact = rows.filter(pk=id).first()
    # Follow a merge chain (bounded: a chain cannot be longer than the merges made).
    for _hop in range(20):
        if contact is None or not contact.merged_into_id:
            break
        contact = rows.filter(pk=contact.merged_into_id).first()
    if contact is None or contact.merged_into_id:
        raise NotFound(f"No contact with id {id}.")
    return contact


def contact_find(*, email: str) -> Contact | None:
    """The live contact with this (normalised) email, if any."""
    try:
        email = normalize.email_normalize(email)
    except normalize.InvalidValue:
        return None
    if not email:
        return None
    return Contact.objects.filter(merged_into__isnull=True, email=email).first()


def contact_live_ids(*, ids: Iterable[int]) -> dict[int, int]:
    """For each id, the live contact it is now (itself, or the one it was merged into).

    Unknown ids are missing from the answer. One query per merge hop, not per id.
    """
    wanted = set(ids)
    answer: dict[int, int] = {}
    pending = {i: i for i in wanted}  # asked id -> id to look at next
    for _hop in range(20):
        if not pending:
            break
        rows = dict(
            Contact.objects.filter(pk__in=set(pending.values())).values_list("pk", "merged_into_id")
        )
        following: dict[int, int] = {}
        for asked, current in pending.items():
            if current not in rows:
                continue
            merged_into = rows[current]
            if merged_into is None:
                answer[asked] = current
            else:
                following[asked] = merged_into
        pending = following
    return answer


def contact_ids_by_email(*, emails: Iterable[str]) -> dict[str, int]:
    """Live contacts by normalised email, for the emails (as given) that have one."""
    normalised: dict[str, str] = {}
    for email in emails:
        try:
            key = normalize.email_normalize(email)
        except normalize.InvalidValue:
            continue
        if key:
            normalised[email] = key
    found = dict(
        Contact.objects.filter(
            merged_into__isnull=True, email__in=set(normalised.values())
        ).values_list("email", "pk")
    )
    return {given: found[key] for given, key in normalised.items() if key in found}


def contact_merges(*, user: AnyUser | None, contact: Contact) -> QuerySet[MergeRecord]:
    _require(user, "contacts.view_contact")
    return MergeRecord.objects.filter(
        Q(winner_id=contact.pk) | Q(loser_id=contact.pk), kind=MergeRecord.Kind.CONTACT
    )


def tag_list(*, user: AnyUser | None) -> QuerySet[Tag]:
    """Every tag, by name (filters and pickers)."""
    _require(user, "contacts.view_contact")
    return Tag.objects.order_by("name")


def field_definition_list(*, user: AnyUser | None) -> QuerySet[FieldDefinition]:
    """The custom contact fields, by label."""
    _require(user, "contacts.view_contact")
    return FieldDefinition.objects.order_by("label", "key")


def company_get(*, user: AnyUser | None, id: int) -> Company:
    _require(user, "contacts.view_company")
    company = Company.objects.filter(pk=id).first()
    if company is None:
        raise NotFound(f"No company with id {id}.")
    return company
