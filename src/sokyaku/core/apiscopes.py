"""Which scopes a user may give their own API keys.

Every API operation declares the scope a key needs for it and the Django permissions its user
must hold (``ApiKeyAuth(scope, *perms)`` in ``core.apikeys``, which calls ``declare``). Together
these declarations are the role × scope × operation table; ``tests/permissions/test_matrix.py``
checks it operation by operation. A user may give a key a scope when they may do at least one
operation that needs it: a sales rep gets ``handoffs:write`` (they work their handoffs) but never
``forms:write`` or ``costs:write``, a marketer never ``deals:write``. A scope no operation needs
yet is given to no user's key (a system key may still carry it).

The table is complete once the API is imported; ``requirements`` imports it, by the dotted path
in ``settings.SOKYAKU_API``, so core never imports the apps above it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping

from django.conf import settings
from django.contrib.auth.models import AnonymousUser, User
from django.utils.module_loading import import_string

from sokyaku.core.models import ApiScope

_DECLARED: dict[str, set[tuple[str, ...]]] = defaultdict(set)


def declare(scope: str, perms: Iterable[str]) -> None:
    """Record that an operation needs ``scope`` and every permission of ``perms``."""
    _DECLARED[str(scope)].add(tuple(sorted(perms)))


def requirements() -> Mapping[str, frozenset[tuple[str, ...]]]:
    """Scope → the permission sets of the operations that need it (one set per operation kind)."""
    import_string(settings.SOKYAKU_API)
    return {scope: frozenset(sets) for scope, sets in _DECLARED.items()}


def scopes_allowed(user: User | AnonymousUser) -> list[ApiScope]:
    """The scopes ``user`` may give their own keys, in the order of ``ApiScope``: those with at
    least one operation the user may do. None for an inactive or anonymous user."""
    if not user.is_authenticated or not user.is_active:
        return []
    table = requirements()
    return [
        scope
        for scope in ApiScope
        if any(user.has_perms(perms) for perms in table.get(scope.value, ()))
    ]


def scopes_refused(user: User | AnonymousUser, scopes: Iterable[str]) -> list[str]:
    """Those of ``scopes`` that ``user`` may not give a key, in the order given."""
    allowed = {scope.value for scope in scopes_allowed(user)}
    return [scope for scope in dict.fromkeys(scopes) if scope not in allowed]
