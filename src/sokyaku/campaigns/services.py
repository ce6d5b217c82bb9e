"""Writes owned by campaigns: channels, channel rules, UTM campaigns and monthly costs.

- ``channel_defaults_install_once`` writes the default channels and rules once, on the first
  ``migrate`` (preset key ``campaigns.channels``).
- ``channel_costs_upsert`` stores a set of monthly costs all or nothing; ``cost_items_resolve``
  turns costs as people and API clients name them (channel key or name, ``utm_campaign``,
  ``¥1,000,000``) into rows, reporting every bad item at once; ``channel_costs_import_csv``
  does both for an uploaded file.

A contact's touches (its first and latest, mapped to a channel by these rules) are the contact's
columns: ``contacts.touches`` writes them. Campaigns sits below contacts, so where it must read
contacts (who named a renamed ``utm_campaign``) it reads them by app label.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.apps import apps
from django.db import IntegrityError, connection, transaction
from django.db.models import Max

from sokyaku.campaigns import costs, defaults
from sokyaku.campaigns.matching import fold, values_split
from sokyaku.campaigns.models import (
    Campaign,
    Channel,
    ChannelCost,
    ChannelKind,
    ChannelRule,
    RuleOperator,
)
from sokyaku.core import clock
from sokyaku.core.errors import Conflict, ValidationError
from sokyaku.core.models import InstalledPreset
from sokyaku.core.presets import preset_install_once

logger = logging.getLogger(__name__)

_NAMED_AT_MOST = 10_000  # more changed contacts than this: one note for all
_CHUNK = 500  # ids per UPDATE (SQLite caps the parameters of one statement)


def _sources_changed(contact_ids: Iterable[int]) -> None:
    """Note, in this transaction, that these contacts' sources changed (the contacts app's
    ``SourceChange`` notes, as ``contacts.sources.sources_changed`` writes them; campaigns sits
    below contacts and names the table by its label)."""
    note = apps.get_model("contacts", "SourceChange")
    ids = sorted(set(contact_ids))
    now = clock.now()
    if len(ids) > _NAMED_AT_MOST:
        note.objects.create(contact_id=None, created_at=now)
    elif ids:
        note.objects.bulk_create(
            [note(contact_id=pk, created_at=now) for pk in ids], batch_size=1000
        )


# --- Default channels and rules -------------------------------------------------------------


PRESET_KEY = "campaigns.channels"


def channel_defaults_install_once() -> bool:
    """``channel_defaults_install`` under its preset key (``core.presets``): run after every
    ``migrate``, it installs the defaults on the first one only; rules and channels the
    marketers renamed or deleted later never come back. Returns whether it installed."""
    if InstalledPreset._meta.db_table not in connection.introspection.table_names():
        return False  # migrating backwards, or the core tables are not there yet
    return preset_install_once(
        key=PRESET_KEY, install=channel_defaults_install, already=ChannelRule.objects.exists
    )


def channel_defaults_install() -> bool:
    """Create the default channels and rules (``defaults.py``) when there are no rules yet.

    Existing channels with a default key are used as they are (names kept). A no-op once any
    rule exists. ``migrate`` runs it once (``channel_defaults_install_once``). Returns whether
    anything was written.
    """
    if ChannelRule._meta.db_table not in connection.introspection.table_names():
        return False  # migrating backwards, or the campaigns tables are not there yet
    if ChannelRule.objects.exists():
        return False
    with transaction.atomic():
        ids: dict[str, int] = {}
        for spec in defaults.CHANNELS:
            channel, _created = Channel.objects.get_or_create(
                key=spec.key, defaults={"name": spec.name, "kind": spec.kind}
            )
            ids[spec.key] = channel.pk
        ChannelRule.objects.bulk_create(
            [
                ChannelRule(
                    priority=(index + 1) * defaults.PRIORITY_STEP,
                    name=spec.name,
                    channel_id=ids[spec.channel],
                    source_op=spec.source[0],
                    source_values=spec.source[1],
                    medium_op=spec.medium[0],
                    medium_values=spec.medium[1],
                    referrer_op=spec.referrer[0],
                    referrer_values=spec.referrer[1],
                )
                for index, spec in enumerate(defaults.RULES)
            ]
        )
    logger.info("channel_defaults.installed", extra={"rules": len(defaults.RULES)})
    return True


# --- Channels -------------------------------------------------------------------------------


def _channel_validate(*, key: str, name: str, kind: str, exclude_id: int | None = None) -> None:
    errors: dict[str, str] = {}
    if not name.strip():
        errors["name"] = "required"
    elif len(name) > 100:
        errors["name"] = "At most 100 characters."
    if kind not in ChannelKind.values:
        errors["kind"] = "Unknown kind."
    if not key:
        errors["key"] = "required"
    elif len(key) > 50 or not all(c.isascii() and (c.isalnum() or c in "-_") for c in key):
        errors["key"] = "Use letters, digits, - and _ only."
    elif Channel.objects.filter(key=key).exclude(pk=exclude_id or 0).exists():
        errors["key"] = "Another channel has this key."
    if errors:
        raise ValidationError("Invalid channel.", field_errors=errors)


def channel_create(*, key: str, name: str, kind: str, is_active: bool = True) -> Channel:
    """A new channel. Raises ``ValidationError`` for a blank name, an unknown kind or a key
    that is not a unique slug."""
    key = key.strip().lower()
    _channel_validate(key=key, name=name, kind=kind)
    try:
        with transaction.atomic():
            return Channel.objects.create(
                key=key, name=name.strip(), kind=kind, is_active=is_active
            )
    except IntegrityError as exc:  # a concurrent create took the key
        raise ValidationError(
            "Invalid channel.", field_errors={"key": "Another channel has this key."}
        ) from exc


def channel_update(*, channel: Channel, key: str, name: str, kind: str, is_active: bool) -> Channel:
    """Change a channel's key, name, kind or active flag (same checks as ``channel_create``).
    An inactive channel keeps its rules, costs and leads; it is only listed last."""
    key = key.strip().lower()
    _channel_validate(key=key, name=name, kind=kind, exclude_id=channel.pk)
    channel.key, channel.name, channel.kind, channel.is_active = key, name.strip(), kind, is_active
    channel.save(update_fields=["key", "name", "kind", "is_active"])
    return channel


# --- Channel rules --------------------------------------------------------------------------


@dataclass(frozen=True)
class RuleInput:
    channel_id: int
    name: str = ""
    priority: int | None = None  # None: after the last rule
    source_op: str = RuleOperator.ANY
    source_values: str = ""
    medium_op: str = RuleOperator.ANY
    medium_values: str = ""
    referrer_op: str = RuleOperator.ANY
    referrer_values: str = ""
    is_active: bool = True


_VALUE_OPS = (RuleOperator.EXACT, RuleOperator.CONTAINS)


def _rule_validate(data: RuleInput) -> dict[str, Any]:
    errors: dict[str, str] = {}
    clean: dict[str, Any] = {}
    for part in ("source", "medium", "referrer"):
        op = getattr(data, f"{part}_op")
        values = values_split(getattr(data, f"{part}_values"))
        if op not in RuleOperator.values:
            errors[f"{part}_op"] = "Unknown operator."
        elif op in _VALUE_OPS and not values:
            errors[f"{part}_values"] = "Enter at least one value."
        text = ", ".join(values) if op in _VALUE_OPS else ""
        if len(text) > 500:
            errors[f"{part}_values"] = "At most 500 characters."
        clean[f"{part}_op"], clean[f"{part}_values"] = op, text
    if not Channel.objects.filter(pk=data.channel_id).exists():
        errors["channel"] = "No such channel."
    if data.priority is not None and not 0 <= data.priority <= 1_000_000:
        errors["priority"] = "Enter a number from 0 to 1000000."
    if len(data.name) > 200:
        errors["name"] = "At most 200 characters."
    if errors:
        raise ValidationError("Invalid channel rule.", field_errors=errors)
    clean.update(channel_id=data.channel_id, name=data.name.strip(), is_active=data.is_active)
    return clean


def _next_priority() -> int:
    top = ChannelRule.objects.aggregate(top=Max("priority"))["top"]
    return (top or 0) + defaults.PRIORITY_STEP


def channel_rule_create(*, data: RuleInput) -> ChannelRule:
    """A new rule, at ``data.priority`` or after the last one. Raises ``ValidationError`` for an
    unknown channel or operator, or a value operator without values."""
    clean = _rule_validate(data)
    priority = data.priority if data.priority is not None else _next_priority()
    return ChannelRule.objects.create(priority=priority, **clean)


def channel_rule_update(*, rule: ChannelRule, data: RuleInput) -> ChannelRule:
    """Change a rule (same checks as ``channel_rule_create``); contacts keep their channels
    until ``contacts.touches.channel_rules_reapply`` runs."""
    clean = _rule_validate(data)
    if data.priority is not None:
        clean["priority"] = data.priority
    for name, value in clean.items():
        setattr(rule, name, value)
    rule.save(update_fields=[*clean])
    return rule


def channel_rule_delete(*, rule: ChannelRule) -> None:
    rule.delete()


def channel_rule_move(*, rule: ChannelRule, offset: int) -> None:
    """Move a rule ``offset`` places up (negative) or down (positive) in the order; priorities
    are renumbered 10, 20, 30 … on the way."""
    with transaction.atomic():
        rules = list(ChannelRule.objects.select_for_update().order_by("priority", "id"))
        index = next((i for i, r in enumerate(rules) if r.pk == rule.pk), None)
        if index is None:
            return
        moved = rules.pop(index)
        rules.insert(max(0, min(len(rules), index + offset)), moved)
        changed = []
        for position, item in enumerate(rules, start=1):
            priority = position * defaults.PRIORITY_STEP
            if item.priority != priority:
                item.priority = priority
                changed.append(item)
        ChannelRule.objects.bulk_update(changed, ["priority"])


# --- Costs ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class CostRow:
    """One monthly cost to store; ``amount_jpy=None`` removes it."""

    month: date
    channel_id: int
    amount_jpy: int | None
    campaign_id: int | None = None


@dataclass(frozen=True)
class CostsSaved:
    created: int = 0
    updated: int = 0
    deleted: int = 0
    unchanged: int = 0

    @property
    def stored(self) -> int:
        return self.created + self.updated


# English for the API and logs; the UI shows its own translation of each ``code``.
PROBLEM_MESSAGES = {
    "required": "This value is required.",
    "bad_month": "Enter the month as YYYY-MM.",
    "bad_amount": "Enter a whole number of yen (for example ¥1,000,000).",
    "negative_amount": "A cost cannot be negative.",
    "unknown_channel": "No channel with this key or name.",
    "unknown_campaign": "No campaign with this utm_campaign or name.",
    "campaign_channel": "The campaign belongs to another channel.",
    "duplicate": "The same month, channel and campaign appear twice.",
    "too_large": "The file is larger than 2 MB.",
    "bad_encoding": "The file is not text (save it as CSV, UTF-8 or Shift_JIS).",
    "bad_csv": "The file is not a valid CSV.",
    "empty": "The file is empty.",
    "missing_columns": "The header needs the columns month, channel and amount.",
    "too_many_rows": f"At most {costs.MAX_CSV_ROWS} rows per file.",
}


@dataclass(frozen=True)
class CostProblem:
    """What is wrong with one cost item: ``index`` in the input, ``line`` in a CSV file (0 for
    API items), the ``field`` and a ``code`` (keys of ``PROBLEM_MESSAGES``)."""

    index: int
    field: str
    code: str
    value: str = ""
    line: int = 0

    @property
    def message(self) -> str:
        return PROBLEM_MESSAGES.get(self.code, "Invalid value.")


class CostInputError(ValidationError):
    """Some cost items cannot be stored; ``problems`` lists every one. Nothing was stored."""

    def __init__(self, problems: Sequence[CostProblem]) -> None:
        self.problems = list(problems)
        prefix = "line" if any(p.line for p in self.problems) else "item"
        super().__init__(
            "Some costs are invalid; nothing was stored.",
            field_errors={
                f"{prefix} {p.line or p.index}.{p.field}": p.message for p in self.problems[:100]
            },
        )


class _Names:
    """Channels by key and by name, campaigns by ``utm_campaign`` and by name (two queries)."""

    def __init__(self) -> None:
        self.channels: dict[str, int] = {}
        for pk, key, name in Channel.objects.values_list("id", "key", "name"):
            self.channels.setdefault(fold(name), pk)
            self.channels[fold(key)] = pk  # a key wins over another channel's same name
        self.campaigns: dict[str, tuple[int, int]] = {}
        for pk, utm, name, channel_id in Campaign.objects.values_list(
            "id", "utm_campaign", "name", "channel_id"
        ):
            self.campaigns.setdefault(fold(name), (pk, channel_id))
            self.campaigns[fold(utm)] = (pk, channel_id)


def _item_resolve(
    index: int, item: costs.CostItem, names: _Names
) -> tuple[CostRow | None, list[CostProblem]]:
    bad: list[CostProblem] = []

    def problem(field: str, code: str, value: object) -> None:
        bad.append(CostProblem(index, field, code, str(value)[:100], item.line))

    month: date | None = None
    amount: int | None = None
    try:
        month = costs.month_parse(item.month)
    except costs.ParseError as exc:
        problem("month", exc.code, item.month)
    try:
        amount = costs.amount_parse(item.amount)
    except costs.ParseError as exc:
        problem("amount", exc.code, item.amount)
    named_channel = item.channel.strip()
    channel_id = names.channels.get(fold(named_channel)) if named_channel else None
    campaign_id: int | None = None
    if named_channel and channel_id is None:
        problem("channel", "unknown_channel", item.channel)
    if item.campaign.strip():
        found = names.campaigns.get(fold(item.campaign))
        if found is None:
            problem("campaign", "unknown_campaign", item.campaign)
        elif not named_channel:
            campaign_id, channel_id = found
        elif channel_id is not None and channel_id != found[1]:
            problem("campaign", "campaign_channel", item.campaign)
        else:
            campaign_id = found[0]
    elif not named_channel:
        problem("channel", "required", "")
    if bad or month is None or channel_id is None:
        return None, bad
    return CostRow(month, channel_id, amount, campaign_id), bad


def cost_items_resolve(items: Sequence[costs.CostItem]) -> list[CostRow]:
    """Rows for ``items``: the month and amount read as people write them, the channel by key or
    name, the campaign (optional) by ``utm_campaign`` or name; a blank channel is the
    campaign's. Raises ``CostInputError`` listing every bad item (none is resolved half)."""
    names = _Names()
    rows: list[CostRow] = []
    problems: list[CostProblem] = []
    seen: set[tuple[int, int | None, date]] = set()
    for index, item in enumerate(items):
        row, bad = _item_resolve(index, item, names)
        if row is not None:
            key = (row.channel_id, row.campaign_id, row.month)
            if key in seen:
                bad.append(CostProblem(index, "month", "duplicate", item.month, item.line))
            seen.add(key)
        problems += bad
        if row is not None and not bad:
            rows.append(row)
    if problems:
        raise CostInputError(problems)
    return rows


def _cost_key(channel_id: int, campaign_id: int | None, month: date) -> tuple[Any, ...]:
    return (channel_id, campaign_id, month)


def channel_costs_upsert(*, rows: Sequence[CostRow]) -> CostsSaved:
    """Store ``rows`` in one transaction: a (month, channel, campaign) that has a cost gets the
    new amount, a new one is created, ``amount_jpy=None`` removes it. Raises ``Conflict`` when a
    concurrent writer keeps racing for the same costs."""
    if not rows:
        return CostsSaved()
    for _attempt in range(3):
        try:
            with transaction.atomic():
                return _costs_write(rows)
        except IntegrityError:
            continue  # a concurrent request created one of the rows first: read again
    raise Conflict("The costs were changed at the same time by someone else; try again.")


def _costs_write(rows: Sequence[CostRow]) -> CostsSaved:
    wanted = {_cost_key(r.channel_id, r.campaign_id, r.month): r for r in rows}
    existing: dict[tuple[Any, ...], ChannelCost] = {}
    channel_ids = sorted({r.channel_id for r in rows})
    months = sorted({r.month for r in rows})
    for start in range(0, len(channel_ids), _CHUNK):
        for cost in ChannelCost.objects.select_for_update().filter(
            channel_id__in=channel_ids[start : start + _CHUNK],
            month__gte=months[0],
            month__lte=months[-1],
        ):
            key = _cost_key(cost.channel_id, cost.campaign_id, cost.month)
            if key in wanted:
                existing[key] = cost
    create: list[ChannelCost] = []
    update: list[ChannelCost] = []
    delete: list[int] = []
    unchanged = 0
    for key, row in wanted.items():
        current = existing.get(key)
        if row.amount_jpy is None:
            if current is not None:
                delete.append(current.pk)
            continue
        if current is None:
            create.append(
                ChannelCost(
                    channel_id=row.channel_id,
                    campaign_id=row.campaign_id,
                    month=row.month,
                    amount_jpy=row.amount_jpy,
                )
            )
        elif current.amount_jpy != row.amount_jpy:
            current.amount_jpy = row.amount_jpy
            update.append(current)
        else:
            unchanged += 1
    ChannelCost.objects.bulk_create(create, batch_size=_CHUNK)
    ChannelCost.objects.bulk_update(update, ["amount_jpy"], batch_size=_CHUNK)
    for start in range(0, len(delete), _CHUNK):
        ChannelCost.objects.filter(pk__in=delete[start : start + _CHUNK]).delete()
    saved = CostsSaved(
        created=len(create), updated=len(update), deleted=len(delete), unchanged=unchanged
    )
    logger.info(
        "channel_costs.saved",
        extra={"new": saved.created, "changed": saved.updated, "removed": saved.deleted},
    )
    return saved


def channel_costs_import_csv(*, data: bytes) -> CostsSaved:
    """Store the costs of a CSV file (columns month, channel, campaign, amount; see
    ``costs.csv_rows``), all or nothing. Raises ``CostInputError`` listing every bad line, or
    one problem on line 0 for a file that cannot be read at all."""
    try:
        items = costs.csv_rows(data)
    except costs.ParseError as exc:
        raise CostInputError([CostProblem(0, "file", exc.code)]) from exc
    if not items:
        raise CostInputError([CostProblem(0, "file", "empty")])
    return channel_costs_upsert(rows=cost_items_resolve(items))


def channel_cost_delete(*, cost: ChannelCost) -> None:
    cost.delete()


# --- Campaigns ------------------------------------------------------------------------------


@dataclass(frozen=True)
class CampaignInput:
    name: str
    channel_id: int
    utm_campaign: str
    starts_on: date | None = None
    ends_on: date | None = None


def campaign_save(*, data: CampaignInput, campaign: Campaign | None = None) -> Campaign:
    """Create a campaign, or change ``campaign``. The ``utm_campaign`` is unique
    (case-insensitive): it is how touches name the campaign. Raises ``ValidationError``."""
    errors: dict[str, str] = {}
    utm = data.utm_campaign.strip()
    if not data.name.strip():
        errors["name"] = "required"
    if not utm:
        errors["utm_campaign"] = "required"
    elif (
        Campaign.objects.filter(utm_campaign__iexact=utm)
        .exclude(pk=campaign.pk if campaign else 0)
        .exists()
    ):
        errors["utm_campaign"] = "Another campaign has this utm_campaign."
    if not Channel.objects.filter(pk=data.channel_id).exists():
        errors["channel"] = "No such channel."
    if data.starts_on and data.ends_on and data.ends_on < data.starts_on:
        errors["ends_on"] = "The end is before the start."
    if errors:
        raise ValidationError("Invalid campaign.", field_errors=errors)
    target = campaign or Campaign()
    before = target.utm_campaign
    target.name, target.utm_campaign = data.name.strip(), utm
    target.channel_id = data.channel_id
    target.starts_on, target.ends_on = data.starts_on, data.ends_on
    if campaign is None:
        target.save()
    else:
        target.save(update_fields=["name", "utm_campaign", "channel", "starts_on", "ends_on"])
    if utm != before:  # first touches naming either utm_campaign are attributed anew
        contact = apps.get_model("contacts", "Contact")
        touched = contact.objects.filter(first_touch__campaign__in={before, utm} - {""})
        _sources_changed(touched.values_list("pk", flat=True))
    return target
