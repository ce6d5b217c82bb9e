"""Writes owned by core: API keys, users with roles, the staff users' chat identities, the
worker heartbeat."""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import secrets
import socket
from collections.abc import Sequence
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, User
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.db.models import Q
from django.utils.translation import gettext as _

from sokyaku.core import apiscopes, clock, roles
from sokyaku.core.errors import Conflict, ValidationError
from sokyaku.core.models import ApiKey, ApiScope, DataAccessLog, StaffProfile, WorkerHeartbeat
from sokyaku.core.redaction import Redactor

logger = logging.getLogger(__name__)

KEY_PREFIX = "sk_"


def _hash(secret: str) -> str:
    # Keys are 256-bit random: a plain SHA-256 is enough (nothing to brute-force), and it keeps
    # authentication O(1) per request, unlike a password hash.
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True)
class NewApiKey:
    api_key: ApiKey
    token: str  # shown once, never stored


def apikey_create(
    *,
    name: str,
    scopes: Sequence[str],
    created_by: User | None = None,
    system: bool = False,
) -> NewApiKey:
    """Create an API key for ``created_by`` (it acts as them and dies with them) or, with
    ``system=True`` and no user, a system key acting for the installation. The returned
    ``token`` is the only time the secret is available.

    A user's key carries only scopes the user may give it (``core.apiscopes``: at least one
    operation of the scope is one their role may do). Raises ``ValidationError`` for an empty
    name, an unknown scope, a scope the user may not give, a deactivated user, or neither (or
    both) of a user and ``system``.
    """
    name = name.strip()
    if not name:
        raise ValidationError("An API key needs a name.", field_errors={"name": "required"})
    if (created_by is None) != system:
        raise ValidationError(
            "An API key belongs to a user or is made as a system key (one of the two).",
            field_errors={"created_by": "required"},
        )
    unknown = [s for s in scopes if s not in ApiScope.values]
    if unknown or not scopes:
        raise ValidationError(
            "Unknown scope(s): {}. Choose from: {}".format(
                ", ".join(unknown) or "(none given)", ", ".join(ApiScope.values)
            ),
            field_errors={"scopes": "unknown"},
        )
    if created_by is not None:
        _scopes_check(created_by, scopes)
    prefix = secrets.token_hex(4)
    secret = secrets.token_urlsafe(32)
    key = ApiKey.objects.create(
        name=name,
        prefix=prefix,
        secret_hash=_hash(secret),
        scopes=sorted(set(scopes)),
        created_by=created_by,
        is_system=system,
        created_at=clock.now(),
    )
    logger.info("apikey.created", extra={"apikey": key.pk, "key_name": name, "system": system})
    return NewApiKey(api_key=key, token=f"{KEY_PREFIX}{prefix}_{secret}")


def _scopes_check(user: User, scopes: Sequence[str]) -> None:
    if not user.is_active:
        message = _("%(user)s is deactivated and cannot be given an API key.") % {
            "user": user.get_username()
        }
        raise ValidationError(message, field_errors={"created_by": message})
    refused = apiscopes.scopes_refused(user, scopes)
    if refused:
        allowed = [scope.value for scope in apiscopes.scopes_allowed(user)]
        message = _(
            "%(user)s may not give a key the scope(s) %(refused)s: their role may do none of "
            "the operations that need them. Scopes they may choose: %(allowed)s."
        ) % {
            "user": user.get_username(),
            "refused": ", ".join(refused),
            "allowed": ", ".join(allowed) or _("none"),
        }
        raise ValidationError(message, field_errors={"scopes": message})


def apikey_authenticate(*, token: str) -> ApiKey | None:
    """The active key this bearer token belongs to, or ``None`` (also for a key that is neither
    a user's nor a system key)."""
    if not token.startswith(KEY_PREFIX):
        return None
    prefix, _sep, secret = token.removeprefix(KEY_PREFIX).partition("_")
    if not prefix or not secret:
        return None
    key = (
        ApiKey.objects.filter(prefix=prefix, revoked_at__isnull=True)
        .filter(Q(created_by__isnull=False) | Q(is_system=True))
        .select_related("created_by")
        .first()
    )
    if key is None or not hmac.compare_digest(key.secret_hash, _hash(secret)):
        return None
    now = clock.now()
    # Touch at most once a minute: no write per request on a hot key.
    if key.last_used_at is None or (now - key.last_used_at).total_seconds() > 60:
        ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
    return key


def apikey_revoke(*, prefix: str, actor: User | None = None) -> ApiKey:
    """Revoke a key by its prefix; it stops working at once (the next request with it is a
    401). Revoking a revoked key changes nothing. ``actor`` (``None``: the command line) is who
    revoked it, for the log; callers check that they may. Raises ``ValidationError`` for an
    unknown prefix."""
    key = ApiKey.objects.filter(prefix=prefix).first()
    if key is None:
        raise ValidationError(f"No API key with prefix {prefix}.")
    if key.revoked_at is None:
        key.revoked_at = clock.now()
        key.save(update_fields=["revoked_at"])
        logger.info(
            "apikey.revoked",
            extra={"apikey": key.pk, "actor": actor.pk if actor is not None else None},
        )
    return key


def user_create(
    *, username: str, password: str, role: str, email: str = "", check_password: bool = True
) -> User:
    """Create a user with one role (admin, marketer, sales_rep).

    Admins are also Django superusers (they see the admin site). Raises ``ValidationError``
    for an unknown role or a weak password, ``Conflict`` when the username is taken.
    """
    if role not in roles.ROLES:
        raise ValidationError(
            f"Unknown role {role}; choose one of {', '.join(roles.ROLES)}.",
            field_errors={"role": "unknown"},
        )
    UserModel = get_user_model()
    if UserModel.objects.filter(username=username).exists():
        raise Conflict(f"User {username} already exists.")
    if check_password:
        try:
            validate_password(password, UserModel(username=username, email=email))
        except DjangoValidationError as exc:
            raise ValidationError(
                " ".join(exc.messages), field_errors={"password": "weak"}
            ) from exc
    with transaction.atomic():
        if role == roles.ADMIN:
            user = UserModel.objects.create_superuser(
                username=username, email=email, password=password
            )
        else:
            user = UserModel.objects.create_user(
                username=username, email=email, password=password, is_staff=False
            )
        roles.roles_sync()
        user.groups.add(Group.objects.get(name=role))
    logger.info("user.created", extra={"username": username, "role": role})
    return user


def worker_heartbeat() -> None:
    """Record that this worker process is alive (shown on the status page)."""
    name = f"{socket.gethostname()}:{os.getpid()}"
    WorkerHeartbeat.objects.update_or_create(worker=name, defaults={"beat_at": clock.now()})


def data_access_log(
    *,
    kind: str,
    resource: str,
    fields: Sequence[str],
    rows: int,
    user: User | None = None,
    api_key: ApiKey | None = None,
    filters: dict[str, object] | None = None,
) -> DataAccessLog:
    """Record that personal data was exported or listed in bulk: who, when, what, how much.

    ``kind`` is an ``AccessKind``; ``resource`` names what was read (``contacts.export``,
    ``segments.members`` …); ``fields`` the columns handed out.
    """
    entry = DataAccessLog.objects.create(
        at=clock.now(),
        user=user if user is not None and user.is_authenticated else None,
        api_key=api_key,
        kind=kind,
        resource=resource,
        fields=list(fields),
        rows=rows,
        filters={k: v for k, v in (filters or {}).items() if v not in (None, "", [])},
    )
    logger.info(
        "data.access",
        extra={"kind": kind, "resource": resource, "rows": rows, "user": entry.user_id},
    )
    return entry


def data_access_log_erase(*, redactor: Redactor) -> int:
    """Take an erased person's strings out of the access log's searches (for their email or
    full name): the entry stays — who read how much, when — without them. Uses only the strings
    that name the person alone (``Redactor.strong``): the log is everyone's. Returns how many
    entries changed."""
    changed = []
    # Only a search (``q``) holds what someone typed; the other filters are ids and choices.
    searched = DataAccessLog.objects.filter(filters__has_key="q").exclude(filters__q="")
    for entry in searched.only("pk", "filters").iterator(chunk_size=2000):
        filters = redactor.json(entry.filters, weak=False)
        if filters != entry.filters:
            entry.filters = filters
            changed.append(entry)
    DataAccessLog.objects.bulk_update(changed, ["filters"], batch_size=500)
    return len(changed)


def staff_identity_save(
    *, user: User, slack_member_id: str, line_user_id: str, actor: User | None
) -> StaffProfile:
    """Store ``user``'s own chat identities (blank clears one): where internal notices reach
    them personally. Raises ``ValidationError`` (per field) for a malformed id; nothing is
    stored then."""
    profile = StaffProfile.objects.filter(user=user).first() or StaffProfile(user=user)
    profile.slack_member_id = slack_member_id.strip()
    profile.line_user_id = line_user_id.strip()
    profile.updated_at = clock.now()
    try:
        profile.full_clean(exclude=["user"])
    except DjangoValidationError as exc:
        raise ValidationError(
            "Invalid chat identity.",
            field_errors={name: " ".join(errors) for name, errors in exc.message_dict.items()},
        ) from exc
    profile.save()
    logger.info(
        "core.staff_identity_saved",
        extra={"user": user.pk, "actor": actor.pk if actor is not None else None},
    )
    return profile
