"""The condition builder's form encoding, shared by every editor of a definition.

The builder (``templates/segments/_builder.html`` + ``static/segments/builder.js``) renders
one input per part of the definition, named ``<prefix><path>`` where the path is the one
``conditions.definition_validate`` reports errors at: ``op``, ``conditions.0.field``,
``conditions.1.conditions.0.value``, ``conditions.2.where.0.op`` … so an error lands next to
its input. ``builder_definition_from_post`` turns such a POST back into the definition; when
no builder inputs were posted it reads the raw JSON textarea (``<prefix>json``) instead.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from django.http import QueryDict
from django.utils.translation import gettext

from sokyaku.core.errors import ValidationError

_ROOT_KEYS = ("op", "conditions")
_LIST_VALUED = ("value",)


def _insert(tree: dict[str, Any], parts: list[str], value: Any) -> None:
    node: Any = tree
    for index, part in enumerate(parts):
        last = index == len(parts) - 1
        if last:
            node[part] = value
            return
        following = parts[index + 1]
        container: Any = node.get(part)
        if container is None:
            container = {} if not following.isdigit() else {"__list__": True}
            node[part] = container
        node = container


def _lists(node: Any) -> Any:
    """Dicts marked as lists become lists, in index order (deleted rows leave gaps)."""
    if isinstance(node, dict):
        if node.pop("__list__", False):
            return [_lists(node[k]) for k in sorted(node, key=int)]
        return {k: _lists(v) for k, v in node.items()}
    return node


def builder_definition_from_post(
    data: QueryDict | Mapping[str, Any], prefix: str = ""
) -> dict[str, Any]:
    """The (not yet validated) definition a builder form posted under ``prefix``.

    Raises ``ValidationError`` (field ``json``) when only raw JSON was posted and it does not
    parse.
    """
    keys = [
        k for k in data if k.startswith(prefix) and k[len(prefix) :].split(".")[0] in _ROOT_KEYS
    ]
    if not any(k[len(prefix) :].startswith("conditions.") for k in keys):
        raw = str(data.get(f"{prefix}json") or "").strip()
        if raw:
            try:
                parsed = json.loads(raw)
            except ValueError as exc:
                message = gettext("The JSON does not parse: %(e)s") % {"e": exc}
                raise ValidationError(message, field_errors={"json": message}) from exc
            if not isinstance(parsed, dict):
                message = gettext("The JSON must be an object with “op” and “conditions”.")
                raise ValidationError(message, field_errors={"json": message})
            return parsed
    tree: dict[str, Any] = {}
    for key in keys:
        parts = key[len(prefix) :].split(".")
        if isinstance(data, QueryDict) and parts[-1] in _LIST_VALUED:
            values = data.getlist(key)
            value: Any = values if len(values) > 1 or _is_list_op(data, key) else values[0]
        else:
            value = data.get(key)
        _insert(tree, parts, value)
    definition = _lists(tree)
    definition.setdefault("op", "and")
    definition.setdefault("conditions", [])
    return definition


def _is_list_op(data: QueryDict, value_key: str) -> bool:
    """A multi-select with one option picked still means a list for ``in`` / ``not_in``."""
    op = data.get(value_key[: -len("value")] + "op")
    return (
        op in ("in", "not_in")
        and len(data.getlist(value_key)) == 1
        and "," not in str(data.get(value_key))
        and data.get(value_key[: -len("value")] + "multi") == "1"
    )
