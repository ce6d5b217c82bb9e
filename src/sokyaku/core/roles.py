"""Roles: admin, marketer and sales rep, as Django groups with model permissions.

``roles_sync`` runs after every ``migrate`` so a new database always has the three groups with
the permissions below. Views and selectors check permissions, never group names.
"""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.contrib.auth.management import create_permissions
from django.contrib.auth.models import Group, Permission
from django.db.models import Q

ADMIN = "admin"
MARKETER = "marketer"
SALES_REP = "sales_rep"

ROLES = (ADMIN, MARKETER, SALES_REP)

# app_label -> actions granted, per role. Admin gets everything in these apps plus users.
_APPS = (
    "core",
    "contacts",
    "activity",
    "campaigns",
    "consent",
    "capture",
    "scoring",
    "segments",
    "lifecycle",
    "messaging",
    "sequences",
    "handoff",
    "deals",
    "analytics",
    # Outgoing webhooks send contacts' data to other systems: admins only.
    "webhooks",
    "privacy",
)
_GRANTS: dict[str, dict[str, tuple[str, ...]]] = {
    MARKETER: {
        "contacts": ("view", "add", "change", "delete", "export"),
        "activity": ("view", "add"),
        "campaigns": ("view", "add", "change", "delete"),
        "consent": ("view", "add", "change"),
        "capture": ("view", "add", "change", "delete"),
        "scoring": ("view", "add", "change", "delete"),
        "segments": ("view", "add", "change", "delete"),
        "lifecycle": ("view", "add", "change", "delete"),
        "messaging": ("view", "add", "change", "delete"),
        "sequences": ("view", "add", "change", "delete"),
        # Marketing sees every handoff and its outcome; routing and triggers are admin's.
        "handoff": ("view",),
        "deals": ("view",),
        "analytics": ("view",),
    },
    SALES_REP: {
        "contacts": ("view", "add", "change"),
        "activity": ("view", "add"),
        "campaigns": ("view",),
        "consent": ("view", "add"),
        "capture": ("view",),
        "scoring": ("view",),
        "segments": ("view",),
        # Reps move leads (accept, recycle, disqualify) and record BANT.
        "lifecycle": ("view", "add", "change"),
        "messaging": ("view",),
        # Reps enrol their leads in sequences by hand.
        "sequences": ("view", "add"),
        # Reps work their handoffs and deals; which of them they see is decided per row.
        "handoff": ("view", "change", "add"),
        "deals": ("view", "add", "change"),
    },
}
# Permissions a role's actions would grant but it does not get: (app_label, codename).
# Importing files of contacts (with a legal basis for all of them) is for marketers and admins.
_WITHHELD: dict[str, tuple[tuple[str, str], ...]] = {
    # Invalidating a person's mail links is a security action: admins only.
    MARKETER: (
        ("messaging", "add_maillinkrotation"),
        ("messaging", "change_maillinkrotation"),
        ("messaging", "delete_maillinkrotation"),
    ),
    SALES_REP: (
        ("contacts", "add_importjob"),
        ("contacts", "change_importjob"),
        # Reps qualify leads; the rules that qualify them are marketing's.
        ("lifecycle", "add_mqlrule"),
        ("lifecycle", "change_mqlrule"),
        ("lifecycle", "change_sqlcriteria"),
        # A rep sees their own contacts (their team's when it shares records).
        ("contacts", "view_all_contacts"),
        # Routing, triggers, pipelines and products are set up by admins.
        ("handoff", "add_handofftrigger"),
        ("handoff", "change_handofftrigger"),
        ("handoff", "add_routingrule"),
        ("handoff", "change_routingrule"),
        ("handoff", "change_handoffsettings"),
        ("deals", "add_pipeline"),
        ("deals", "change_pipeline"),
        ("deals", "add_dealstage"),
        ("deals", "change_dealstage"),
        ("deals", "add_product"),
        ("deals", "change_product"),
        # Quotas are set by admins, and by a team's manager for its members (per row).
        ("deals", "add_quota"),
        ("deals", "change_quota"),
    ),
}


# Single permissions a role gets beyond its actions: (app_label, codename).
_EXTRA: dict[str, tuple[tuple[str, str], ...]] = {
    # Marketing runs the referral programme: it marks rewards paid or void.
    MARKETER: (("deals", "change_referral"),),
}


def roles_sync(**_: Any) -> None:
    """Create the role groups and (re)grant their permissions. Idempotent."""
    # post_migrate reaches apps one by one; make sure every app's permissions exist first.
    for app_config in apps.get_app_configs():
        create_permissions(app_config, verbosity=0)
    for role in ROLES:
        group, _created = Group.objects.get_or_create(name=role)
        if role == ADMIN:
            perms = Permission.objects.filter(
                Q(content_type__app_label__in=_APPS) | Q(content_type__app_label="auth")
            )
        else:
            query = Q(pk__in=[])
            for app_label, actions in _GRANTS[role].items():
                query |= Q(
                    content_type__app_label=app_label,
                    codename__regex=r"^({})_".format("|".join(actions)),
                )
            perms = Permission.objects.filter(query)
            for app_label, codename in _WITHHELD.get(role, ()):
                perms = perms.exclude(content_type__app_label=app_label, codename=codename)
            for app_label, codename in _EXTRA.get(role, ()):
                perms |= Permission.objects.filter(
                    content_type__app_label=app_label, codename=codename
                )
        group.permissions.set(perms)


def sales_first(user: Any) -> bool:
    """Whether the user's daily work is sales: they work handoffs but do not see every record
    (a sales rep). Their menu starts with their inbox, board, contacts and forecast."""
    return bool(
        user.has_perm("handoff.change_handoff") and not user.has_perm("contacts.view_all_contacts")
    )
