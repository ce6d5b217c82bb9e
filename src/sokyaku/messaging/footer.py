"""The mail footer: the 特定電子メール法 items of a sender profile, in HTML and in plain text.

Marketing mail (the ``marketing`` stream) carries every item the law asks for (送信者の氏名又は
名称, 住所, 苦情・問い合わせ先, 受信拒否の通知先 with the refusal wording right beside the opt-out
link) plus the preference centre link. Transactional and sales mail carries the sender's identity
but no opt-out link (it is not advertising mail). ``legal_items_missing`` is the one rule for
"may this profile send marketing mail" (``rendering.sender_profile_check`` uses it).

The footer is built from the profile's values, escaped, with inline styles only: it is added after
CSS inlining, so a template's own CSS can neither hide nor restyle it.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from sokyaku.messaging.models import SenderProfile, Stream

# Profile field → what the law calls it (shown in the UI and in suppression reasons).
LEGAL_ITEMS: tuple[tuple[str, str], ...] = (
    ("sender_name", gettext_noop("sender name")),
    ("postal_address", gettext_noop("postal address")),
    ("complaints_contact", gettext_noop("contact for complaints and questions")),
    ("unsubscribe_wording", gettext_noop("opt-out wording")),
)
DEFAULT_UNSUBSCRIBE_WORDING = "配信停止をご希望の方は、こちらから手続きしてください。"
# The word of the wording that becomes the link ("こちら" = "here"), so the refusal wording and
# the opt-out link are one sentence; wording without it gets the link right after it.
_LINK_WORD = "こちら"

_FOOTER_STYLE = (
    "margin:32px 0 0;padding:16px 0 0;border-top:1px solid #d0d5dd;"
    "font-size:12px;line-height:1.7;color:#555e6b;font-family:sans-serif;"
)
_P_STYLE = "margin:0 0 8px;"
_A_STYLE = "color:#555e6b;text-decoration:underline;"


@dataclass(frozen=True)
class Footer:
    html: SafeString
    text: str


def legal_items_missing(profile: SenderProfile) -> list[str]:
    """Untranslated names of the legal items ``profile`` lacks (empty for complete profiles)."""
    return [label for field, label in LEGAL_ITEMS if not (getattr(profile, field) or "").strip()]


def _sender_lines(profile: SenderProfile | None) -> list[tuple[str, str]]:
    if profile is None:
        return []
    identity = profile.sender_name or profile.from_name
    lines = [
        (_("Sender"), identity),
        (_("Postal address"), profile.postal_address),
        (_("Complaints and inquiries"), profile.complaints_contact),
    ]
    return [(label, value) for label, value in lines if value]


def _opt_out_html(wording: str, unsubscribe_url: str) -> SafeString:
    link_attrs = format_html('href="{}" style="{}"', unsubscribe_url, _A_STYLE)
    if _LINK_WORD in wording:
        before, _word, after = wording.partition(_LINK_WORD)
        return format_html(
            "{}<a {}>{}</a>{}", before, link_attrs, _LINK_WORD, after
        )  # the wording with its link inside it
    return format_html("{} <a {}>{}</a>", wording, link_attrs, _("Unsubscribe"))


def footer_build(
    *,
    profile: SenderProfile | None,
    stream: str,
    unsubscribe_url: str,
    preferences_url: str,
) -> Footer:
    """The footer for a mail of ``stream`` from ``profile`` (links as given: tracked or inert)."""
    parts: list[SafeString] = []
    text: list[str] = ["--"]
    if stream == Stream.MARKETING:
        wording = (profile.unsubscribe_wording if profile else "") or DEFAULT_UNSUBSCRIBE_WORDING
        parts.append(
            format_html('<p style="{}">{}</p>', _P_STYLE, _opt_out_html(wording, unsubscribe_url))
        )
        text.append(f"{wording} {unsubscribe_url}")
        preferences = _("Change which mail you receive")
        parts.append(
            format_html(
                '<p style="{}"><a href="{}" style="{}">{}</a></p>',
                _P_STYLE,
                preferences_url,
                _A_STYLE,
                preferences,
            )
        )
        text.append(f"{preferences}: {preferences_url}")
    lines = _sender_lines(profile)
    if lines:
        escaped = "<br>".join(f"{escape(label)}: {escape(value)}" for label, value in lines)
        rendered = mark_safe(escaped)  # noqa: S308 - every part escaped on the line above
        parts.append(format_html('<p style="{}">{}</p>', _P_STYLE, rendered))
        text.extend(f"{label}: {value}" for label, value in lines)
    if not parts:
        return Footer(html=mark_safe(""), text="")
    body = mark_safe("".join(parts))  # noqa: S308 - built from format_html pieces
    html = format_html('<div class="sokyaku-footer" style="{}">{}</div>', _FOOTER_STYLE, body)
    return Footer(html=html, text="\n".join(text))
