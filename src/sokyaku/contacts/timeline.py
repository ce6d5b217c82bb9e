"""How a contact's events read on the contact page: a translated label and the key properties.

``entries`` turns event rows into ``TimelineEntry`` values that the template shows as they are.
Property values are the visitor's own data and stay plain text (the template escapes them); a
URL becomes a link only when it is http(s), so a ``javascript:`` URL can never run. A sent
system mail (``email_sent`` with ``mail_kind``) reads by its kind ("資料ダウンロードのご案内を送信")
when the caller passes the kinds' labels.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import FieldDoesNotExist
from django.utils.text import capfirst
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from sokyaku.activity.models import Event, EventType
from sokyaku.contacts.models import Contact


@dataclass(frozen=True)
class Detail:
    label: str
    value: str
    href: str = ""


@dataclass(frozen=True)
class TimelineEntry:
    event: Event
    label: str
    source: str
    details: list[Detail] = field(default_factory=list)
    text: str = ""  # a note's body, shown as a block
    kind: str = "other"  # a CSS hint: web, form, email, webinar, sales, note, system


_KINDS: dict[str, str] = {
    EventType.PAGE_VIEW: "web",
    EventType.FORM_SUBMITTED: "form",
    EventType.ASSET_DOWNLOADED: "form",
    EventType.DEMO_REQUESTED: "form",
    EventType.TRIAL_STARTED: "form",
    EventType.INQUIRY: "form",
    EventType.QUOTE_REQUESTED: "form",
    EventType.WEBINAR_REGISTERED: "webinar",
    EventType.WEBINAR_ATTENDED: "webinar",
    EventType.WEBINAR_NO_SHOW: "webinar",
    EventType.EVENT_VISITED: "webinar",
    EventType.EMAIL_SENT: "email",
    EventType.EMAIL_DELIVERED: "email",
    EventType.EMAIL_OPENED: "email",
    EventType.EMAIL_CLICKED: "email",
    EventType.EMAIL_BOUNCED: "email",
    EventType.EMAIL_UNSUBSCRIBED: "email",
    EventType.CHAT_SENT: "email",
    EventType.PURCHASE: "sales",
    EventType.CART_ABANDONED: "sales",
    EventType.COUPON_USED: "sales",
    EventType.REFERRAL: "sales",
    EventType.MEETING: "sales",
    EventType.CALL: "sales",
    EventType.NOTE: "note",
    EventType.IMPORTED: "system",
    EventType.CONTACT_CREATED: "system",
    EventType.CONTACT_UPDATED: "system",
    EventType.CONTACT_MERGED: "system",
}


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _safe_href(url: str) -> str:
    return url if url.lower().startswith(("http://", "https://")) else ""


def _yen(value: Any) -> str:
    try:
        return f"¥{float(value):,.0f}"
    except (TypeError, ValueError):
        return _text(value)


def _field_names(names: Iterable[Any]) -> str:
    labels = []
    for name in names:
        try:
            field = Contact._meta.get_field(str(name))
            labels.append(str(capfirst(getattr(field, "verbose_name", name))))
        except FieldDoesNotExist:
            labels.append(str(name))
    # Japanese lists take the ideographic comma.
    separator = "、" if (get_language() or "").startswith("ja") else ", "
    return separator.join(labels)


def _details(event_type: str, props: Mapping[str, Any]) -> list[Detail]:
    """The properties worth a glance, per type; anything else stays in the API."""
    out: list[Detail] = []

    def add(label: str, key: str, *, link: bool = False) -> None:
        value = _text(props.get(key)).strip()
        if value:
            out.append(Detail(label=label, value=value, href=_safe_href(value) if link else ""))

    if event_type == EventType.PAGE_VIEW:
        add(_("Page"), "title")
        add(_("URL"), "url", link=True)
        add(_("Campaign"), "utm_campaign")
    elif event_type == EventType.FORM_SUBMITTED:
        add(_("Form"), "form_name" if props.get("form_name") else "form")
    elif event_type == EventType.ASSET_DOWNLOADED:
        add(_("Document"), "asset")
    elif event_type in (
        EventType.WEBINAR_REGISTERED,
        EventType.WEBINAR_ATTENDED,
        EventType.WEBINAR_NO_SHOW,
    ):
        add(_("Webinar"), "webinar")
        add(_("Minutes"), "minutes")
    elif event_type == EventType.EVENT_VISITED:
        add(_("Event"), "event")
    elif event_type in (
        EventType.EMAIL_SENT,
        EventType.EMAIL_DELIVERED,
        EventType.EMAIL_OPENED,
        EventType.EMAIL_BOUNCED,
    ):
        add(_("Subject"), "subject")
    elif event_type == EventType.EMAIL_CLICKED:
        add(_("Subject"), "subject")
        add(_("URL"), "url", link=True)
    elif event_type in (EventType.PURCHASE, EventType.CART_ABANDONED):
        if props.get("amount_jpy") is not None:
            out.append(Detail(label=_("Amount"), value=_yen(props["amount_jpy"])))
        add(_("Product"), "product")
    elif event_type == EventType.COUPON_USED:
        add(_("Coupon"), "coupon")
    elif event_type == EventType.CALL:
        add(_("Minutes"), "minutes")
    elif event_type in (EventType.DEMO_REQUESTED, EventType.INQUIRY, EventType.QUOTE_REQUESTED):
        add(_("Product"), "product")
    elif event_type == EventType.NOTE:
        add(_("Author"), "author")
    elif event_type in (EventType.CONTACT_CREATED, EventType.CONTACT_UPDATED):
        fields = props.get("fields")
        if event_type == EventType.CONTACT_UPDATED and isinstance(fields, list) and fields:
            out.append(Detail(label=_("Changed"), value=_field_names(fields)))
    elif event_type == EventType.CONTACT_MERGED:
        add(_("Merged contact ID"), "loser_id")
    return out


def _label(event: Event, props: Mapping[str, Any], mail_kinds: Mapping[str, Any]) -> str:
    kind = mail_kinds.get(_text(props.get("mail_kind")))
    if event.type == EventType.EMAIL_SENT and kind:
        return _("%(kind)s sent") % {"kind": kind}
    return str(event.get_type_display())


def entries(
    events: Sequence[Event], *, mail_kinds: Mapping[str, Any] | None = None
) -> list[TimelineEntry]:
    """Timeline entries for ``events``, in the order given. ``mail_kinds``: the labels of the
    system mail kinds (``messaging.models.SystemMail``; this app sits below messaging)."""
    result = []
    for event in events:
        props = event.properties if isinstance(event.properties, dict) else {}
        result.append(
            TimelineEntry(
                event=event,
                label=_label(event, props, mail_kinds or {}),
                source=str(event.get_source_display()),
                details=_details(event.type, props),
                text=_text(props.get("text")) if event.type == EventType.NOTE else "",
                kind=_KINDS.get(event.type, "other"),
            )
        )
    return result
