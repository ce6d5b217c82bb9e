"""The sales alert (seed 002's 営業担当者へ送る通知メール): what it says, in Japanese.

The alert goes to Japanese reps, so its wording is fixed Japanese text here, not gettext:
the subject starts with ``【{action}通知】`` and the body carries the seed's labelled sections —
【顧客情報】 (name, company, title, contact, location), 【行動内容】 (the action, its time in
Asia/Tokyo, the interest: which asset, product, form, page or mail), 【次のアクション】 (the
trigger's instruction and the SLA deadline) — plus 【スコア内訳】 (score, temperature and its
main lines) and 【最近の主な行動】 (the last key events: "interesting moments"), and the link to
the lead. Mail, chat and the handoff page all show the same ``Alert``; the mail's HTML part
(``alert_html``) adds buttons to call (``tel:`` in E.164, ``phone_dial``), mail and open it.

Nothing here writes; ``services.alerting`` queues the messages.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import phonenumbers
from django.conf import settings
from django.db.models import Q
from django.template.loader import render_to_string
from django.urls import NoReverseMatch, reverse

from sokyaku.activity.models import Event, EventType
from sokyaku.contacts.models import Contact
from sokyaku.contacts.prefectures import prefecture_name
from sokyaku.core.clock import TOKYO
from sokyaku.handoff.models import Handoff, HandoffMoment, TriggerKind
from sokyaku.handoff.routing import user_label

# --- fixed Japanese wording -------------------------------------------------------------------

CUSTOMER = "【顧客情報】"
ACTION = "【行動内容】"
NEXT_ACTION = "【次のアクション】"
SCORE = "【スコア内訳】"
MOMENTS = "【最近の主な行動】"
LINK = "▼リードの詳細"
CLOSING = "よろしくお願いします。"
# The HTML part's buttons.
B_CALL = "電話する"
B_MAIL = "メールする"
B_OPEN = "リードの詳細を開く"
PLEASE = "以下の内容をご確認の上、すみやかにアプローチをお願いします。"

L_NAME = "氏名"
L_COMPANY = "会社名"
L_DEPARTMENT = "部署"
L_TITLE = "役職"
L_CONTACT = "連絡先"
L_LOCATION = "所在地"
L_ACTION = "行動"
L_WHEN = "日時"
L_INTEREST = "関心内容"
L_DEADLINE = "期限"
L_ASSIGNEE = "担当"
L_SCORE = "スコア"
NONE = "（未登録）"
UNASSIGNED = "未割り当て（キュー）"

TEMPERATURES = {"cold": "コールド", "warm": "ウォーム", "hot": "ホット"}

# What the lead did, as the first line of the body; ``{name}`` is 山田 太郎.
_OPENINGS: dict[str, str] = {
    EventType.DEMO_REQUESTED: "{name}様がデモ申し込みフォームを送信しました。",
    EventType.INQUIRY: "{name}様がお問い合わせフォームを送信しました。",
    EventType.QUOTE_REQUESTED: "{name}様が見積もり依頼を送信しました。",
    EventType.TRIAL_STARTED: "{name}様がトライアルを開始しました。",
    EventType.PAGE_VIEW: "{name}様が{interest}を閲覧しました。",
    EventType.EMAIL_CLICKED: "{name}様がステップメールのリンクをクリックしました。",
    EventType.FORM_SUBMITTED: "{name}様がフォームを送信しました。",
    EventType.ASSET_DOWNLOADED: "{name}様が資料をダウンロードしました。",
    EventType.WEBINAR_ATTENDED: "{name}様がウェビナーに参加しました。",
}
_MQL_OPENING = "{name}様がMQL（マーケティング・クオリファイド・リード）の条件を満たしました。"
_DEFAULT_OPENING = "{name}様に「{action}」がありました。"
_FOLLOW_UP_OPENING = "対応中のリード{name}様に新しい行動がありました（{action}）。"

# The subject after 【{action}通知】.
_SUBJECTS: dict[str, str] = {
    EventType.DEMO_REQUESTED: "{name}様がデモをお申し込みされました",
    EventType.INQUIRY: "{name}様からお問い合わせがありました",
    EventType.QUOTE_REQUESTED: "{name}様から見積もり依頼がありました",
    EventType.PAGE_VIEW: "{name}様が{interest}を閲覧されました",
    EventType.EMAIL_CLICKED: "{name}様がメールのリンクをクリックされました",
}
_MQL_SUBJECT = "{name}様がMQLになりました"
_DEFAULT_SUBJECT = "{name}様 — {action}"
_FOLLOW_UP_SUBJECT = "対応中の{name}様に新しい行動"

# Key events ("interesting moments"): what they are called in the alert.
_MOMENT_LABELS: dict[str, str] = {
    EventType.FORM_SUBMITTED: "フォーム送信",
    EventType.ASSET_DOWNLOADED: "資料ダウンロード",
    EventType.WEBINAR_REGISTERED: "ウェビナー申し込み",
    EventType.WEBINAR_ATTENDED: "ウェビナー参加",
    EventType.EVENT_VISITED: "展示会ブース訪問",
    EventType.DEMO_REQUESTED: "デモ申し込み",
    EventType.INQUIRY: "お問い合わせ",
    EventType.QUOTE_REQUESTED: "見積もり依頼",
    EventType.TRIAL_STARTED: "トライアル開始",
    EventType.PAGE_VIEW: "料金ページ閲覧",
    EventType.EMAIL_CLICKED: "メール内リンクのクリック",
}
PRICING_PATH = "/pricing"
MOMENT_LIMIT = 5
_SCORE_LINES = 5


@dataclass(frozen=True)
class Alert:
    """The sales alert: subject, the full plain text, and its parts for pages and chat.

    ``customer``, ``action`` and ``breakdown`` are (label, value) pairs in display order;
    ``moments`` are (time, what) pairs, newest first; ``deadline`` is the SLA deadline.
    """

    subject: str
    text: str
    customer: list[tuple[str, str]] = field(default_factory=list)
    action: list[tuple[str, str]] = field(default_factory=list)
    next_action: str = ""
    deadline: datetime | None = None
    breakdown: list[tuple[str, str]] = field(default_factory=list)
    moments: list[tuple[datetime, str]] = field(default_factory=list)
    url: str = ""
    opening: str = ""
    assignee: str = ""


def tokyo_text(at: datetime) -> str:
    """``2026年11月24日 10時05分`` (Asia/Tokyo)."""
    local = at.astimezone(TOKYO)
    return f"{local.year}年{local.month}月{local.day}日 {local.hour}時{local.minute:02d}分"


def phone_text(phone: str) -> str:
    """A stored E.164 number as Japanese write it (03-1234-5678); others as stored."""
    if not phone:
        return ""
    try:
        number = phonenumbers.parse(phone, "JP")
    except phonenumbers.NumberParseException:
        return phone
    if number.country_code != 81:
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)


def phone_dial(phone: str) -> str:
    """A ``tel:`` URI a phone can dial: E.164 (``tel:+81312345678``, ``;ext=123`` for an
    extension); a number that does not parse keeps its digits; ``""`` when there are none."""
    main, _sep, inner = unicodedata.normalize("NFKC", phone).partition("内線")
    if not main.strip():
        return ""
    try:
        number = phonenumbers.parse(main, "JP")
    except phonenumbers.NumberParseException:
        number = None
    if number is not None and phonenumbers.is_possible_number(number):
        dial = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
        extension = number.extension or "".join(c for c in inner if c.isdigit())
        return f"tel:{dial}" + (f";ext={extension}" if extension else "")
    digits = "".join(c for c in main if c.isdigit() or c == "+")
    return f"tel:{digits}" if sum(c.isdigit() for c in digits) >= 5 else ""


def lead_name(contact: Contact) -> str:
    return contact.display_name or contact.email or f"#{contact.pk}"


def lead_url(handoff: Handoff) -> str:
    """The handoff page, or the contact page where the inbox is not installed."""
    try:
        path = reverse("handoff:detail", args=[handoff.pk])
    except NoReverseMatch:
        try:
            path = reverse("contacts:detail", args=[handoff.contact_id])
        except NoReverseMatch:
            path = f"/contacts/{handoff.contact_id}/"
    return settings.SITE_URL + path


# --- interest: which asset, product, form, page or mail ----------------------------------------


def _titles(model_path: str, ids: Iterable[Any], attr: str) -> dict[str, str]:
    from django.apps import apps

    keys = {str(i) for i in ids if str(i).isdigit()}
    if not keys:
        return {}
    model = apps.get_model(model_path)
    return {
        str(pk): str(title)
        for pk, title in model.objects.filter(pk__in=[int(k) for k in keys]).values_list("pk", attr)
    }


@dataclass
class _Lookups:
    """Titles of the assets, webinars, forms and mails a set of events refers to (one query
    per kind)."""

    assets: dict[str, str]
    webinars: dict[str, str]
    forms: dict[str, str]
    mails: dict[str, str]

    @classmethod
    def for_events(cls, events: Sequence[Event]) -> _Lookups:
        props = [e.properties if isinstance(e.properties, dict) else {} for e in events]
        slugs = {str(p["form"]) for p in props if p.get("form") and not p.get("form_name")}
        forms: dict[str, str] = {}
        if slugs:
            from sokyaku.capture.models import Form

            forms = dict(Form.objects.filter(slug__in=slugs).values_list("slug", "name"))
        mail_ids = [
            p.get("message_id")
            for e, p in zip(events, props, strict=True)
            if e.type == EventType.EMAIL_CLICKED
        ]
        return cls(
            assets=_titles("capture.Asset", (p.get("asset") for p in props), "title"),
            webinars=_titles("capture.Webinar", (p.get("webinar") for p in props), "title"),
            forms=forms,
            mails=_titles("messaging.Message", mail_ids, "subject"),
        )


def _interest(event: Event, lookups: _Lookups) -> str:
    props: Mapping[str, Any] = event.properties if isinstance(event.properties, dict) else {}

    def text(key: str) -> str:
        value = props.get(key)
        return "" if value is None else str(value).strip()

    if event.type == EventType.EMAIL_CLICKED:
        return lookups.mails.get(text("message_id"), "") or text("url")
    for key in ("product", "asset_title"):
        if text(key):
            return text(key)
    if text("asset"):
        return lookups.assets.get(text("asset"), text("asset"))
    if text("webinar"):
        return lookups.webinars.get(text("webinar"), text("webinar"))
    if event.type == EventType.PAGE_VIEW:
        return text("title") or text("url")
    for key in ("subject", "event", "form_name"):
        if text(key):
            return text(key)
    if text("form"):
        return lookups.forms.get(text("form"), text("form"))
    return ""


def interest_of(event: Event | None) -> str:
    """What the lead was interested in, from an event's properties: the product, the asset's or
    webinar's title, the page, the mail's subject, the form; ``""`` when it says nothing."""
    if event is None:
        return ""
    return _interest(event, _Lookups.for_events([event]))[:300]


# --- moments -----------------------------------------------------------------------------------


def _moment_q() -> Q:
    plain = [t for t in _MOMENT_LABELS if t != EventType.PAGE_VIEW]
    return Q(type__in=plain) | Q(type=EventType.PAGE_VIEW, properties__url__icontains=PRICING_PATH)


def _is_kind_form(event: Event) -> bool:
    # A demo/inquiry/download form also records its own event; show that one only.
    props = event.properties if isinstance(event.properties, dict) else {}
    return event.type == EventType.FORM_SUBMITTED and str(props.get("kind") or "standard") not in (
        "",
        "standard",
    )


def moments_recent(*, contact_id: int, limit: int = MOMENT_LIMIT) -> list[tuple[datetime, str]]:
    """The contact's last key events (form submits, downloads, webinars, demo requests and
    inquiries, pricing-page views, mail clicks), newest first, as (time, what) pairs."""
    rows = [
        e
        for e in Event.objects.filter(_moment_q(), contact_id=contact_id).order_by(
            "-occurred_at", "-id"
        )[: limit * 3]
        if not _is_kind_form(e)
    ][:limit]
    lookups = _Lookups.for_events(rows)
    result = []
    for event in rows:
        label = _MOMENT_LABELS.get(event.type, str(event.type))
        interest = _interest(event, lookups)
        result.append((event.occurred_at, f"{label}「{interest}」" if interest else label))
    return result


# --- composing ---------------------------------------------------------------------------------


def _customer(contact: Contact) -> list[tuple[str, str]]:
    company = contact.company
    reach = " / ".join(p for p in (contact.email, phone_text(contact.phone)) if p)
    prefecture = contact.prefecture or (company.prefecture if company else None)
    location = "".join(p for p in (prefecture_name(prefecture), contact.address) if p)
    rows = [
        (L_NAME, lead_name(contact)),
        (L_COMPANY, company.name if company else NONE),
    ]
    if contact.department:
        rows.append((L_DEPARTMENT, contact.department))
    rows += [
        (L_TITLE, contact.title or NONE),
        (L_CONTACT, reach or NONE),
        (L_LOCATION, location or NONE),
    ]
    return rows


def _breakdown(contact_id: int) -> list[tuple[str, str]]:
    from sokyaku.scoring.decay import points_shown
    from sokyaku.scoring.selectors import score_breakdown

    data = score_breakdown(contact_id=contact_id, limit=20)
    score = data.score
    temperature = TEMPERATURES.get(str(score.temperature), str(score.temperature))
    rows = [
        (
            L_SCORE,
            f"{score.points}点（{temperature}） 行動 {points_shown(score.engagement)}点 / "
            f"属性 {score.fit}点",
        )
    ]
    entries = sorted(data.entries, key=lambda e: e.worth_now, reverse=True)[:_SCORE_LINES]
    for entry in entries:
        when = tokyo_text(entry.occurred_at)
        rows.append((entry.rule, f"+{entry.points}点（{when}、現在 {entry.worth_now:.1f}点）"))
    for line in data.fit[:_SCORE_LINES]:
        rows.append((line.rule, f"+{line.points}点（属性）"))
    return rows


def _event_type(handoff: Handoff, moment: HandoffMoment | None) -> str:
    event = moment.event if moment is not None else handoff.event
    if event is not None:
        return str(event.type)
    trigger = moment.trigger if moment is not None else handoff.trigger
    return trigger.event_type if trigger is not None else ""


def _lines(title: str, rows: Sequence[tuple[str, str]]) -> list[str]:
    return [title, *(f"- {label}: {value}" for label, value in rows)]


def alert_compose(*, handoff: Handoff, moment: HandoffMoment | None = None) -> Alert:
    """The alert for ``handoff``, or the follow-up alert for a later ``moment`` on it.

    Reads the contact (company), the score breakdown and the contact's recent key events.
    """
    contact = handoff.contact
    name = lead_name(contact)
    action = moment.action_label if moment is not None else handoff.action_label
    interest = moment.interest if moment is not None else handoff.interest
    acted_at = moment.acted_at if moment is not None else handoff.acted_at
    event_type = _event_type(handoff, moment)
    is_mql = moment is None and handoff.trigger_kind == TriggerKind.MQL
    words = {"name": name, "action": action, "interest": interest or "ページ"}
    if moment is not None:
        opening = _FOLLOW_UP_OPENING.format(**words)
        subject_tail = _FOLLOW_UP_SUBJECT.format(**words)
    elif is_mql:
        opening = _MQL_OPENING.format(**words)
        subject_tail = _MQL_SUBJECT.format(**words)
    else:
        opening = _OPENINGS.get(event_type, _DEFAULT_OPENING).format(**words)
        subject_tail = _SUBJECTS.get(event_type, _DEFAULT_SUBJECT).format(**words)
    subject = f"【{action}通知】{subject_tail}"

    moments = moments_recent(contact_id=contact.pk)
    if not interest and moments:
        interest = moments[0][1]
    action_rows = [
        (L_ACTION, action),
        (L_WHEN, tokyo_text(acted_at)),
        (L_INTEREST, f"「{interest}」に関連する{action}" if interest else NONE),
    ]
    customer = _customer(contact)
    breakdown = _breakdown(contact.pk)
    assignee = user_label(handoff.assignee) if handoff.assignee else UNASSIGNED
    url = lead_url(handoff)
    next_action = handoff.next_action
    lines = [opening, PLEASE, ""]
    lines += [*_lines(CUSTOMER, customer), ""]
    lines += [*_lines(ACTION, action_rows), ""]
    lines += [NEXT_ACTION]
    if next_action:
        lines.append(next_action)
    lines += [
        f"- {L_DEADLINE}: {tokyo_text(handoff.sla_due_at)}",
        f"- {L_ASSIGNEE}: {assignee}",
        "",
    ]
    lines += [*_lines(SCORE, breakdown), ""]
    lines.append(MOMENTS)
    lines += [f"- {tokyo_text(at)} {what}" for at, what in moments] or [f"- {NONE}"]
    lines += ["", LINK, url, "", CLOSING]
    return Alert(
        subject=" ".join(subject.split()),
        text="\n".join(lines),
        customer=customer,
        action=action_rows,
        next_action=next_action,
        deadline=handoff.sla_due_at,
        breakdown=breakdown,
        moments=moments,
        url=url,
        opening=opening,
        assignee=assignee,
    )


def alert_html(*, alert: Alert, contact: Contact, preface: str = "") -> str:
    """The alert mail's HTML part: ``preface`` (a reminder's or escalation's opening), buttons to
    call the lead (``tel:`` in E.164), mail them and open the lead in sokyaku (absolute URL),
    then the same sections as the text. Every value is escaped by the template."""
    return render_to_string(
        "handoff/alert_mail.html",
        {
            "alert": alert,
            "preface": preface,
            "please": PLEASE,
            "email": contact.email,
            "phone": phone_text(contact.phone),
            "tel": phone_dial(contact.phone),
            "labels": {"call": B_CALL, "mail": B_MAIL, "open": B_OPEN},
            "sections": [(CUSTOMER, alert.customer), (ACTION, alert.action)]
            + ([(SCORE, alert.breakdown)] if alert.breakdown else []),
            "titles": {
                "next": NEXT_ACTION,
                "deadline": L_DEADLINE,
                "assignee": L_ASSIGNEE,
                "moments": MOMENTS,
                "link": LINK,
                "closing": CLOSING,
            },
            "deadline": tokyo_text(alert.deadline) if alert.deadline else NONE,
            "moments": [(tokyo_text(at), what) for at, what in alert.moments],
        },
    )
