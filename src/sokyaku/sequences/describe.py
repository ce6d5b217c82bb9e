"""A sequence in words, as the sequence page shows it: the trigger (フォーム「資料請求」の送信),
the send window (月〜金 9:00–18:00), each step's settings (3営業日後, 直前のメールを開封した) and
a branch's yes/no targets. Never a raw value: ids become names, units and weekdays words.

``flow_names`` reads the names once for a whole page; the ``*_words`` functions only format."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext, pgettext

from sokyaku.activity.models import EventType
from sokyaku.capture.models import Asset, Form
from sokyaku.consent.models import ConsentTopic
from sokyaku.core.calendar import Closure
from sokyaku.lifecycle.models import Stage
from sokyaku.messaging.models import ChatChannel, Template
from sokyaku.segments.models import Segment
from sokyaku.sequences.models import Sequence as SequenceModel
from sokyaku.sequences.models import Step, StepKind, TriggerKind
from sokyaku.sequences.schedule import SendWindow

WEEKDAY_NAMES = {
    1: gettext_lazy("Mon"),
    2: gettext_lazy("Tue"),
    3: gettext_lazy("Wed"),
    4: gettext_lazy("Thu"),
    5: gettext_lazy("Fri"),
    6: gettext_lazy("Sat"),
    7: gettext_lazy("Sun"),
}
EXIT_WORDS = {
    "mql": gettext_lazy("Became an MQL"),
    "sql": gettext_lazy("Became an SQL"),
    "customer": gettext_lazy("Became a customer"),
    "unsubscribed": gettext_lazy("Unsubscribed"),
    "bounced": gettext_lazy("Bounced"),
}
# Event properties that presets and forms use, in words (others are shown as stored).
PROPERTY_WORDS = {
    "amount_jpy": gettext_lazy("Amount (yen)"),
    "topic": gettext_lazy("Consent topic"),
    "categories": gettext_lazy("Product categories"),
    "starts_at": gettext_lazy("Start time"),
}
EXIT_REASONS = {
    "goal": gettext_lazy("Reached the goal"),
    "completed": gettext_lazy("Finished every step"),
    "manual": gettext_lazy("Removed by hand"),
    "unsubscribed": gettext_lazy("Unsubscribed"),
    "bounced": gettext_lazy("Bounced"),
    "complained": gettext_lazy("Marked as spam"),
    "contact_merged": gettext_lazy("Contact merged"),
    "mql": gettext_lazy("Became an MQL"),
    "sql": gettext_lazy("Became an SQL"),
    "customer": gettext_lazy("Became a customer"),
}


def exit_reason_words(reason: str) -> str:
    """Why an enrolment ended, in words (an unknown reason is shown as stored)."""
    return str(EXIT_REASONS.get(reason, reason)) if reason else ""


@dataclass
class Names:
    """Names of what a sequence's settings and steps point at, by id."""

    forms: dict[int, str] = field(default_factory=dict)
    assets: dict[int, str] = field(default_factory=dict)
    segments: dict[int, str] = field(default_factory=dict)
    templates: dict[int, str] = field(default_factory=dict)
    channels: dict[int, str] = field(default_factory=dict)
    topics: dict[str, str] = field(default_factory=dict)


def _ids(values: Iterable[Any]) -> set[int]:
    return {int(v) for v in values if isinstance(v, int) or (isinstance(v, str) and v.isdigit())}


def flow_names(*, sequences: Sequence[SequenceModel], steps: Sequence[Step] = ()) -> Names:
    """The names the sequences' triggers and ``steps`` refer to: one query per kind of thing."""
    configs = [s.config or {} for s in steps]
    triggers = [q.trigger_config or {} for q in sequences]
    conditions = [c.get("condition") or {} for c in configs]
    segment_ids = _ids(
        [t.get("segment") for t in triggers] + [c.get("segment") for c in conditions]
    )
    template_ids = _ids(
        [c.get("template") for c in configs]
        + [v.get("template") for c in configs for v in c.get("variants") or []]
    )
    topic_keys = {q.topic_key for q in sequences if q.topic_key} | {
        str(w.get("value"))
        for t in triggers
        for w in t.get("where") or []
        if w.get("field") == "topic"
    }
    form_ids = _ids([t.get("form") for t in triggers])
    asset_ids = _ids([t.get("asset") for t in triggers])
    channel_ids = _ids([c.get("channel") for c in configs])
    names = Names()
    if form_ids:
        names.forms = dict(Form.objects.filter(pk__in=form_ids).values_list("id", "name"))
    if asset_ids:
        names.assets = dict(Asset.objects.filter(pk__in=asset_ids).values_list("id", "title"))
    if segment_ids:
        names.segments = dict(Segment.objects.filter(pk__in=segment_ids).values_list("id", "name"))
    if template_ids:
        names.templates = dict(
            Template.objects.filter(pk__in=template_ids).values_list("id", "name")
        )
    if channel_ids:
        names.channels = dict(
            ChatChannel.objects.filter(pk__in=channel_ids).values_list("id", "name")
        )
    if topic_keys:
        names.topics = dict(
            ConsentTopic.objects.filter(key__in=topic_keys).values_list("key", "name")
        )
    return names


def _name(names: Mapping[int, str], raw: Any, missing: str) -> str:
    try:
        return names[int(raw)]
    except (KeyError, TypeError, ValueError):
        return missing


def _event(event_type: str) -> str:
    return str(dict(EventType.choices).get(event_type, event_type))


def _stage(stage: str) -> str:
    return str(dict(Stage.choices).get(stage, stage))


def weekdays_words(days: Iterable[int]) -> str:
    """``[1, 2, 3, 4, 5]`` → 月〜金, ``[1, 3, 5]`` → 月・水・金, all seven → 毎日."""
    wanted = sorted({int(d) for d in days if 1 <= int(d) <= 7})
    if len(wanted) == 7:
        return _("every day")
    if not wanted:
        return "—"
    runs: list[list[int]] = []
    for day in wanted:
        if runs and day == runs[-1][-1] + 1:
            runs[-1].append(day)
        else:
            runs.append([day])
    parts = []
    for run in runs:
        if len(run) >= 3:
            parts.append(
                _("%(first)s–%(last)s")
                % {"first": WEEKDAY_NAMES[run[0]], "last": WEEKDAY_NAMES[run[-1]]}
            )
        else:
            parts.extend(str(WEEKDAY_NAMES[d]) for d in run)
    return pgettext("list of weekdays", ", ").join(parts)


def window_words(window: SendWindow) -> str:
    """月〜金 9:00–18:00."""
    start, end = window.start, window.end
    return (
        f"{weekdays_words(window.days)} {start.hour}:{start.minute:02d}–{end.hour}:{end.minute:02d}"
    )


def closures_words(closures: Iterable[Closure]) -> str:
    """Yearly closures: 12月29日〜1月3日 (a single day: 5月1日)."""

    def day(month_day: tuple[int, int]) -> str:
        return _("%(month)d/%(day)d") % {"month": month_day[0], "day": month_day[1]}

    words = [
        day(c.start)
        if c.start == c.end
        else _("%(first)s–%(last)s") % {"first": day(c.start), "last": day(c.end)}
        for c in closures
    ]
    return _list(words) if words else "—"


def _offset_words(minutes: int) -> str:
    if minutes == 0:
        return ""
    amount = abs(minutes)
    if amount % 1440 == 0:
        span = ngettext("%(n)d day", "%(n)d days", amount // 1440) % {"n": amount // 1440}
    elif amount % 60 == 0:
        span = ngettext("%(n)d hour", "%(n)d hours", amount // 60) % {"n": amount // 60}
    else:
        span = ngettext("%(n)d minute", "%(n)d minutes", amount) % {"n": amount}
    return (_("%(span)s before") if minutes < 0 else _("%(span)s after")) % {"span": span}


def _date_ref_words(ref: str) -> str:
    if ref == "anchor":
        return _("the date that started the enrolment")
    source, _sep, rest = ref.partition(":")
    if source == "event":
        event_type, _dot, prop = rest.partition(".")
        return _("%(property)s of “%(event)s”") % {
            "property": _property(prop),
            "event": _event(event_type),
        }
    return _("the contact's field %(field)s") % {"field": rest.removeprefix("custom.")}


def trigger_words(sequence: SequenceModel, names: Names) -> str:
    """フォーム「資料請求」の送信, イベント「カートを放棄した」, セグメント「…」に入った…"""
    kind = sequence.trigger_kind
    config = sequence.trigger_config or {}
    if kind == TriggerKind.FORM_SUBMITTED:
        if config.get("asset") not in (None, ""):
            title = _name(names.assets, config.get("asset"), _("a deleted asset"))
            return _("Download of the document “%(name)s”") % {"name": title}
        name = _name(names.forms, config.get("form"), _("a deleted form"))
        return _("Submission of the form “%(name)s”") % {"name": name}
    if kind == TriggerKind.EVENT:
        text = _("The event “%(event)s”") % {"event": _event(str(config.get("event_type", "")))}
        return text + _where_words(config.get("where"), names)
    if kind == TriggerKind.DEAL_WON:
        return _("A deal is won") + _where_words(config.get("where"), names)
    if kind == TriggerKind.SEGMENT_ENTERED:
        segment = _name(names.segments, config.get("segment"), _("a deleted segment"))
        return _("Entering the segment “%(name)s”") % {"name": segment}
    if kind == TriggerKind.STAGE_ENTERED:
        return _("Reaching the lifecycle stage %(stage)s") % {
            "stage": _stage(str(config.get("stage", "")))
        }
    if kind == TriggerKind.DATE_RELATIVE:
        offset = _offset_words(int(config.get("offset_minutes") or 0))
        date = _date_ref_words(str(config.get("date", "")))
        return (
            _("%(offset)s %(date)s") % {"offset": offset, "date": date}
            if offset
            else _("On %(date)s") % {"date": date}
        )
    return _("Enrolled by hand or through the API only")


_OPS = {
    "eq": "=",
    "ne": "≠",
    "gte": "≥",
    "lte": "≤",
    "in": "∈",
    "not_in": "∉",
    "contains": "∋",
    "startswith": "^",
    "is_set": "",
}


def _property(name: str) -> str:
    return str(PROPERTY_WORDS.get(name, name))


def _value_words(value: Any, topics: Mapping[str, str], *, field: str) -> str:
    if isinstance(value, list | tuple):
        return _list(_value_words(v, topics, field=field) for v in value)
    if field == "topic":
        return topics.get(str(value), str(value))
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return number_words(value)


def _where_words(where: Any, names: Names) -> str:
    if not where:
        return ""
    parts = []
    for cond in where:
        field = str(cond.get("field", ""))
        if cond.get("op") == "is_set":
            parts.append(_("%(field)s is set") % {"field": _property(field)})
        else:
            op = _OPS.get(cond.get("op", ""), "")
            value = _value_words(cond.get("value", ""), names.topics, field=field)
            parts.append(f"{_property(field)} {op} {value}")
    return _(" (where %(conditions)s)") % {"conditions": _list(parts)}


def wait_words(config: Mapping[str, Any]) -> str:
    """3営業日後, 2時間後, 翌日; or "until" a date (ウェビナー開始日時の1時間前まで)."""
    if config.get("until"):
        offset = _offset_words(int(config.get("offset_minutes") or 0))
        date = _date_ref_words(str(config["until"]))
        if offset:
            return _("Until %(offset)s %(date)s") % {"offset": offset, "date": date}
        return _("Until %(date)s") % {"date": date}
    amount = int(config.get("amount") or 0)
    unit = config.get("unit")
    if unit == "business_days":
        return ngettext("%(n)d business day later", "%(n)d business days later", amount) % {
            "n": amount
        }
    if unit == "days":
        return ngettext("%(n)d day later", "%(n)d days later", amount) % {"n": amount}
    if unit == "hours":
        return ngettext("%(n)d hour later", "%(n)d hours later", amount) % {"n": amount}
    return ngettext("%(n)d minute later", "%(n)d minutes later", amount) % {"n": amount}


CONDITION_KINDS = (
    ("opened", gettext_lazy("Opened the previous mail")),
    ("clicked", gettext_lazy("Clicked a link in the previous mail")),
    ("event", gettext_lazy("Did an event since enrolment")),
    ("score_gte", gettext_lazy("Score at least")),
    ("stage", gettext_lazy("Reached a lifecycle stage")),
    ("segment", gettext_lazy("Is in a segment")),
)


def number_words(value: Any) -> str:
    """50.0 → "50" (scores are stored as floats), 12.5 stays "12.5"."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def condition_words(condition: Mapping[str, Any], names: Names) -> str:
    """直前のメールを開封した, スコアが50点以上, セグメント「…」に含まれる…"""
    kind = condition.get("kind")
    if kind in ("opened", "clicked"):
        if condition.get("step"):
            return (
                _("Opened the mail of step %(n)s")
                if kind == "opened"
                else _("Clicked a link in the mail of step %(n)s")
            ) % {"n": condition["step"]}
        return (
            _("Opened the previous mail")
            if kind == "opened"
            else _("Clicked a link in the previous mail")
        )
    if kind == "score_gte":
        return _("Score is %(value)s or more") % {"value": number_words(condition.get("value"))}
    if kind == "segment":
        segment = _name(names.segments, condition.get("segment"), _("a deleted segment"))
        return _("Is in the segment “%(name)s”") % {"name": segment}
    if kind == "event":
        return _("Did “%(event)s” since enrolment") % {
            "event": _event(str(condition.get("event_type", "")))
        }
    if kind == "stage":
        return _("Reached %(stage)s or later") % {"stage": _stage(str(condition.get("stage")))}
    if kind == "attribute":
        return _("Matches contact conditions")
    return "—"


def step_words(step: Step, names: Names) -> str:
    """One line saying what a step does, for the flow."""
    config = step.config or {}
    if step.kind == StepKind.EMAIL:
        return _("Mail “%(name)s”") % {
            "name": _name(names.templates, config.get("template"), _("a deleted template"))
        }
    if step.kind == StepKind.CHAT:
        channel = _name(names.channels, config.get("channel"), _("a deleted channel"))
        return _("Chat on %(channel)s: %(text)s") % {
            "channel": channel,
            "text": config.get("text", ""),
        }
    if step.kind == StepKind.WAIT:
        return wait_words(config)
    if step.kind in (StepKind.BRANCH, StepKind.GOAL):
        return condition_words(config.get("condition") or {}, names)
    if step.kind == StepKind.UPDATE:
        if config.get("tag"):
            return _("Add the tag “%(tag)s”") % {"tag": config["tag"]}
        return _("Set %(field)s to “%(value)s”") % {
            "field": config.get("field", ""),
            "value": config.get("value", ""),
        }
    if step.kind == StepKind.NOTIFY_OWNER:
        return _("Tell the owner: %(text)s") % {"text": config.get("text", "")}
    return ""


@dataclass(frozen=True)
class BranchPath:
    """One labelled path out of a branch: はい → 「4. 2通目」."""

    answer: str  # "yes" | "no"
    label: str  # はい / いいえ
    position: int | None  # the target's position, None = the end
    target: str  # what the target is, in words


def branch_paths(step: Step, steps: Sequence[Step], names: Names) -> list[BranchPath]:
    """The yes and no paths of a branch with their targets (blank = the next step)."""
    by_position = {s.position: s for s in steps}
    paths = []
    for answer, label in (("yes", _("Yes")), ("no", _("No"))):
        raw = (step.config or {}).get(answer)
        position = int(raw) if raw not in (None, "") else step.position + 1
        target = by_position.get(position)
        paths.append(
            BranchPath(
                answer=answer,
                label=label,
                position=target.position if target else None,
                target=step_title(target, names) if target else _("End of the sequence"),
            )
        )
    return paths


def step_title(step: Step, names: Names) -> str:
    """「4. 2通目 事例紹介」: the position and the step's name, or what it does."""
    return f"{step.position}. {step.name or step_words(step, names)}"


def exits_words(exit_on: Iterable[str]) -> str:
    words = [str(EXIT_WORDS[x]) for x in exit_on if x in EXIT_WORDS]
    return _list(words) if words else "—"


def _list(words: Iterable[str]) -> str:
    return pgettext("list of words", ", ").join(words)
