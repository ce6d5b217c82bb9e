"""Reads of contacts and companies, permission-checked for the user asking.

``user=None`` is the system (tasks, the command line, API keys without a creator) and sees
every row. A user without ``contacts.view_all_contacts`` (a sales rep) sees the contacts they
own, or their team's (``core.visibility``): every other contact is not there for them, so
``contact_get`` answers ``NotFound`` exactly as for an id that never existed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import jaconv
from django.contrib.auth.models import AnonymousUser, User
from django.db.models import Q, QuerySet

from sokyaku.contacts import normalize
from sokyaku.contacts.models import Company, Contact, FieldDefinition, MergeRecord, Tag
from sokyaku.core.errors import NotFound, PermissionDenied
from sokyaku.core.visibility import owner_q, visible_owner_ids

AnyUser = User | AnonymousUser


def _require(user: AnyUser | None, perm: str) -> None:
    # ``None`` is the system itself (API keys are checked for scopes before we get here).
    if user is not None and not user.has_perm(perm):
        raise PermissionDenied("You do not have permission to see contacts.")


def contact_visible_q(user: AnyUser | None, field: str = "") -> Q:
    """A filter for the contacts ``user`` sees; ``field`` is the path to the contact from the
    rows filtered (``"contact"`` for a row with a contact foreign key), empty for contacts."""
    if user is None:
        return Q()
    return owner_q(user, f"{field}__owner" if field else "owner")


def contact_is_visible(*, user: AnyUser | None, contact: Contact) -> bool:
    """Whether ``user`` sees ``contact`` (a contact without owner: only those who see all)."""
    if user is None:
        return True
    ids = visible_owner_ids(user)
    return ids is None or (contact.owner_id is not None and contact.owner_id in ids)


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
    phone_needs_review: bool = False,
) -> QuerySet[Contact]:
    """Live contacts matching a search and filters, newest first.

    ``q`` matches names in kanji, kana (hiragana or katakana) and romaji, the email in any case
    or width, its domain or part of it, a phone number however it is written, the company with
    or without its legal form (株式会社, (株) …), department and title; every word must match
    (``normalize.search_terms``), each a substring of the one ``search_text`` column.
    ``phone_needs_review`` keeps contacts whose phone number could not be read.
    ``temperature`` (cold/warm/hot) and ``stage`` (a lifecycle stage) filter through the score
    and lifecycle rows the higher apps keep per contact; a contact without a score is cold, one
    without a stage row a lead.
    """
    _require(user, "contacts.view_contact")
    qs = Contact.objects.filter(contact_visible_q(user), merged_into__isnull=True).select_related(
        "company", "owner"
    )
    for term in normalize.search_terms(q):
        qs = qs.filter(search_text__contains=term)
    if phone_needs_review:
        qs = qs.filter(phone_needs_review=True)
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
    """One contact; a merged-away id answers with the contact it was merged into.

    Raises ``NotFound`` for an unknown id and for a contact ``user`` may not see.
    """
    _require(user, "contacts.view_contact")
    rows = Contact.objects.select_related("company", "owner", "first_touch_channel")
    contact = rows.filter(pk=id).first()
    # Follow a merge chain (bounded: a chain cannot be longer than the merges made).
    for _hop in range(20):
        if contact is None or not contact.merged_into_id:
            break
        contact = rows.filter(pk=contact.merged_into_id).first()
    if (
        contact is None
        or contact.merged_into_id
        or not contact_is_visible(user=user, contact=contact)
    ):
        raise NotFound(f"No contact with id {id}.")
    return contact


def contact_find(*, email: str, user: AnyUser | None = None) -> Contact | None:
    """The live contact with this (normalised) email, if any (and if ``user`` sees it)."""
    try:
        email = normalize.email_normalize(email)
    except normalize.InvalidValue:
        return None
    if not email:
        return None
    contact = Contact.objects.filter(merged_into__isnull=True, email=email).first()
    if contact is None or not contact_is_visible(user=user, contact=contact):
        return None
    return contact


def contact_ids_visible(*, user: AnyUser | None, ids: Iterable[int]) -> set[int]:
    """Of ``ids`` (live contact ids), those ``user`` sees. No query for the system or for a
    user who sees every contact."""
    wanted = set(ids)
    if not wanted or visible_owner_ids(user) is None:
        return wanted
    return set(
        Contact.objects.filter(contact_visible_q(user), pk__in=wanted).values_list("pk", flat=True)
    )


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


_KATAKANA_RE = re.compile(r"^[ァ-ヺー]+$")


def company_by_kana(*, keys: Iterable[str]) -> dict[str, Company]:
    """Live companies whose reading (``name_kana``) is a company key written in kana: the key
    of ｻｸﾗﾉｳﾞｧﾃﾞｻﾞｲﾝ株式会社 (``サクラノヴァデザイン``) finds 株式会社桜ノヴァデザイン when that
    is its reading. Keys that are not all kana are ignored. One query; when several companies
    have the reading, the oldest wins."""
    wanted = {key for key in keys if _KATAKANA_RE.match(key)}
    if not wanted:
        return {}
    # Readings are stored as typed: full width, hiragana or half width.
    spellings = set()
    for key in wanted:
        spellings |= {key, jaconv.kata2hira(key), jaconv.z2h(key, kana=True, digit=False)}
    answer: dict[str, Company] = {}
    for company in Company.objects.filter(
        name_kana__in=sorted(spellings), merged_into__isnull=True
    ).order_by("-created_at", "-id"):
        key = normalize.company_key(company.name_kana)
        if key in wanted:
            answer[key] = company  # the oldest is written last
    return answer


def company_by_email_domain(*, emails: Iterable[str]) -> dict[str, Company]:
    """Live companies whose ``domain`` is the domain (or a parent domain) of each email, by
    normalised email; free-mail addresses have none. When several companies have the domain,
    the oldest wins. One query."""
    wanted: dict[str, list[str]] = {}
    for email in emails:
        domains = normalize.email_company_domains(email)
        if domains:
            wanted[email] = domains
    if not wanted:
        return {}
    domains = sorted({d for found in wanted.values() for d in found})
    by_domain: dict[str, Company] = {}
    for company in Company.objects.filter(domain__in=domains, merged_into__isnull=True).order_by(
        "-created_at", "-id"
    ):
        by_domain[company.domain] = company  # the oldest is written last
    answer: dict[str, Company] = {}
    for email, found in wanted.items():
        for domain in found:
            if domain in by_domain:
                answer[email] = by_domain[domain]
                break
    return answer


def channel_lead_list(*, user: AnyUser | None, channel_id: int, limit: int = 20) -> list[Contact]:
    """The newest live contacts whose first touch came through the channel ``channel_id``."""
    _require(user, "contacts.view_contact")
    return list(
        Contact.objects.filter(merged_into__isnull=True, first_touch_channel_id=channel_id)
        .select_related("company")
        .order_by("-created_at", "-id")[:limit]
    )


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
    """One company. A user who does not see every contact sees a company they own or one of
    whose contacts they see; any other company is ``NotFound``."""
    _require(user, "contacts.view_company")
    company = Company.objects.filter(pk=id).first()
    if company is None or not _company_visible(user, company):
        raise NotFound(f"No company with id {id}.")
    return company


def _company_visible(user: AnyUser | None, company: Company) -> bool:
    ids = None if user is None else visible_owner_ids(user)
    if ids is None:
        return True
    if company.owner_id is not None and company.owner_id in ids:
        return True
    return Contact.objects.filter(
        company_id=company.pk, merged_into__isnull=True, owner_id__in=sorted(ids)
    ).exists()
