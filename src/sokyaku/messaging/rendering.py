"""Mail rendering: checking templates at save, rendering a queued message, previews.

- ``template_check`` compiles subject, preheader and body with the mail engine (a restricted
  Django template engine, ``mail_syntax.py``) and raises ``ValidationError`` naming the field and
  LINE of a broken tag; merge fields it does not know come back as warnings (the template is
  still saved; they render empty or as their ``|default:"…"`` fallback).
- ``message_render`` turns a ``Message`` into what is sent: subject, HTML (CSS inlined, preheader
  as hidden first text, every http(s) link rewritten to ``tokens.click_url(message.pk, i)`` where
  ``i`` is the link's index in ``Rendered.links``, an open pixel, the legal footer) and the
  plain-text part; ``context["subject_override"]`` replaces the template's subject line. It
  writes nothing. A system mail (``message.system_mail``) is its stored subject and text as
  they are. Test sends (``context["test_send"]``) are rendered untracked
  with inert footer links and a "[TEST]" subject.
- ``MessageRenderer`` renders the messages of a delivery batch exactly as ``message_render``
  does, doing once what they share: template compilation, footers, stream default profiles,
  the contacts of test sends.
- ``preview_render`` renders a template for a contact without a message: links inert.

Templates see plain dicts built here (never model instances), so a template cannot call model
methods; see ``contact_context`` for the merge fields.
"""

from __future__ import annotations

import functools
import html as htmllib
import re
import secrets
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import css_inline
from django.conf import settings
from django.contrib.auth.models import User
from django.db.models import QuerySet
from django.template import Context, TemplateSyntaxError
from django.template.base import FilterExpression, Node, NodeList, Variable, VariableNode
from django.template.defaulttags import (
    CycleNode,
    FirstOfNode,
    ForNode,
    IfChangedNode,
    IfNode,
    WithNode,
)
from django.urls import reverse
from django.utils import translation
from django.utils.html import escape
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from inscriptis import get_text
from inscriptis.model.config import ParserConfig

from sokyaku.contacts.models import Contact, FieldDefinition, Industry, TitleLevel
from sokyaku.core.errors import ValidationError
from sokyaku.messaging import footer as footer_mod
from sokyaku.messaging import mail_syntax, tokens
from sokyaku.messaging.models import Message, SenderProfile, Stream, Template


@dataclass(frozen=True)
class Rendered:
    subject: str
    html: str
    text: str
    # Tracked links in order: position i is ``tokens.click_url(message.pk, i)``.
    links: list[str]


# debug: nodes keep their tokens, so errors and warnings carry line numbers.
ENGINE = mail_syntax.engine(autoescape=True, debug=True)
_INLINER = css_inline.CSSInliner(load_remote_stylesheets=False, keep_style_tags=False)
_TEXT_CONFIG = ParserConfig(display_links=True)

# --- merge fields ---------------------------------------------------------------------------

CONTACT_FIELDS = frozenset(
    {
        "family_name",
        "given_name",
        "full_name",
        "name",
        "family_name_kana",
        "given_name_kana",
        "email",
        "phone",
        "company_name",
        "department",
        "title",
        "title_level",
        "title_level_label",
        "industry",
        "industry_label",
        "employee_band",
        "persona",
        "tags",
        "prefecture",
        "custom",
        "company",
    }
)
COMPANY_FIELDS = frozenset({"name", "industry", "industry_label", "employee_band", "prefecture"})
OWNER_FIELDS = frozenset({"name", "family_name", "given_name", "email"})
ASSET_FIELDS = frozenset({"url", "title"})
WEBINAR_FIELDS = frozenset({"title", "starts_at", "url", "join_url"})
SENDER_FIELDS = frozenset(
    {"from_name", "from_email", "reply_to", "sender_name", "postal_address", "complaints_contact"}
)
# Root name → attributes a template may use (None: any; an empty set: a plain value).
SCHEMA: dict[str, frozenset[str] | None] = {
    "contact": CONTACT_FIELDS,
    "owner": OWNER_FIELDS,
    "asset": ASSET_FIELDS,
    "webinar": WEBINAR_FIELDS,
    "sender": SENDER_FIELDS,
    "unsubscribe_url": frozenset(),
    "preferences_url": frozenset(),
}
# Context keys of a Message that are instructions to the renderer, not merge data.
# ``subject_override``: a subject line (mail syntax, the same merge fields) sent instead of the
# template's own, e.g. a sequence step's A/B variant that only changes the subject.
SUBJECT_OVERRIDE = "subject_override"
_RESERVED_CONTEXT = frozenset({"test_send", SUBJECT_OVERRIDE})


def _user_context(user: User | None) -> dict[str, str]:
    if user is None:
        return {}
    name = " ".join(p for p in (user.last_name, user.first_name) if p) or user.get_username()
    return {
        "name": name,
        "family_name": user.last_name,
        "given_name": user.first_name,
        "email": user.email,
    }


def contact_context(contact: Contact | None) -> dict[str, Any]:
    """The ``contact`` merge data: names surname first, company, title level, industry, tags …

    Reads ``contact.company``, ``contact.owner`` and ``contact.tags`` (select/prefetch them to
    render many contacts without queries).
    """
    if contact is None:
        return {}
    company = contact.company
    industry = company.industry if company else ""
    company_data = (
        {
            "name": company.name,
            "industry": company.industry,
            "industry_label": str(Industry(industry).label) if industry else "",
            "employee_band": company.employee_band,
            "prefecture": company.prefecture_name,
        }
        if company
        else {}
    )
    custom = dict(contact.custom_fields or {})
    return {
        "family_name": contact.family_name,
        "given_name": contact.given_name,
        "full_name": contact.display_name,
        "name": contact.display_name,
        "family_name_kana": contact.family_name_kana,
        "given_name_kana": contact.given_name_kana,
        "email": contact.email,
        "phone": contact.phone,
        "company_name": company.name if company else "",
        "company": company_data,
        "department": contact.department,
        "title": contact.title,
        "title_level": contact.title_level,
        "title_level_label": str(TitleLevel(contact.title_level).label),
        "industry": industry,
        "industry_label": company_data.get("industry_label", ""),
        "employee_band": company.employee_band if company else "",
        "persona": custom.get("persona", ""),
        "tags": sorted(t.name for t in contact.tags.all()),
        "prefecture": contact.prefecture_name,
        "custom": custom,
    }


def _sender_context(profile: SenderProfile | None) -> dict[str, str]:
    if profile is None:
        return {}
    return {field: getattr(profile, field) for field in SENDER_FIELDS}


def _merge_context(
    *,
    contact: Contact | None,
    sender: SenderProfile | None,
    extra: Mapping[str, Any],
    unsubscribe_url: str,
    preferences_url: str,
) -> dict[str, Any]:
    data: dict[str, Any] = {
        key: value for key, value in extra.items() if key not in _RESERVED_CONTEXT
    }
    data.update(
        contact=contact_context(contact),
        owner=_user_context(contact.owner if contact else None),
        sender=_sender_context(sender),
        unsubscribe_url=unsubscribe_url,
        preferences_url=preferences_url,
    )
    data.setdefault("asset", {})
    return data


# --- checking -------------------------------------------------------------------------------

_PARTS = (
    ("subject", "subject"),
    ("preheader", "preheader"),
    ("body_html", "body"),
)


@functools.lru_cache(maxsize=512)
def _compile(source: str) -> Any:
    return ENGINE.from_string(source)


_BLOCK_TAG_RE = re.compile(r"Invalid block tag on line \d+: '([^']+)'")
_FILTER_RE = re.compile(r"Invalid filter: '([^']+)'")
_STRUCTURE = frozenset({"else", "elif", "empty", "endif", "endfor", "endwith", "endcomment"})


def _syntax_message(exc: TemplateSyntaxError) -> tuple[int, str]:
    """The line of a syntax error and a message that names the allowed tags and filters."""
    info = getattr(exc, "template_debug", None) or {}
    line = int(info.get("line") or 1)
    raw = str(exc.args[0]) if exc.args else str(exc)
    tag = _BLOCK_TAG_RE.search(raw)
    if tag and tag.group(1) not in mail_syntax.ALLOWED_TAGS and tag.group(1) not in _STRUCTURE:
        return line, _(
            "The tag {%% %(tag)s %%} is unknown or not allowed in mail templates. "
            "Allowed tags: %(allowed)s."
        ) % {"tag": tag.group(1), "allowed": ", ".join(mail_syntax.ALLOWED_TAGS)}
    filt = _FILTER_RE.search(raw)
    if filt:
        return line, _(
            "The filter |%(filter)s is unknown or not allowed in mail templates. "
            "Allowed filters: %(allowed)s."
        ) % {"filter": filt.group(1), "allowed": ", ".join(mail_syntax.ALL_FILTERS)}
    return line, raw.replace(" Did you forget to register or load this tag?", "")


def _variables(expression: FilterExpression) -> Iterator[Variable]:
    if isinstance(expression.var, Variable) and expression.var.lookups:
        yield expression.var
    for _func, args in expression.filters:
        for is_lookup, arg in args:
            if is_lookup and isinstance(arg, Variable) and arg.lookups:
                yield arg


def _condition_expressions(condition: Any) -> Iterator[FilterExpression]:
    if condition is None:
        return
    value = getattr(condition, "value", None)
    if isinstance(value, FilterExpression):
        yield value
    for side in ("first", "second"):
        yield from _condition_expressions(getattr(condition, side, None))


def _node_expressions(node: Node) -> Iterator[Any]:
    """The expressions a node evaluates (``_variables`` ignores literals among them)."""
    if isinstance(node, VariableNode):
        yield node.filter_expression
    elif isinstance(node, ForNode):
        yield node.sequence
    elif isinstance(node, WithNode):
        yield from node.extra_context.values()
    elif isinstance(node, IfNode):
        for condition, _nodelist in node.conditions_nodelists:
            yield from _condition_expressions(condition)
    elif isinstance(node, FirstOfNode):
        yield from node.vars
    elif isinstance(node, CycleNode):
        yield from node.cyclevars
    elif isinstance(node, IfChangedNode):
        yield from getattr(node, "_varlist", ())


def _children(node: Node) -> Iterator[tuple[NodeList, frozenset[str]]]:
    """Child node lists with the names they bind (loop variables, ``with`` names)."""
    bound: frozenset[str] = frozenset()
    if isinstance(node, ForNode):
        bound = frozenset({*node.loopvars, "forloop"})
    elif isinstance(node, WithNode):
        bound = frozenset(node.extra_context)
    if isinstance(node, IfNode):
        for _condition, nodelist in node.conditions_nodelists:
            yield nodelist, bound
        return
    for attr in getattr(node, "child_nodelists", ()):
        child = getattr(node, attr, None)
        if child:
            yield child, bound


def _unknown(lookups: tuple[str, ...], scope: frozenset[str], custom_keys: set[str]) -> bool:
    root = lookups[0]
    if root in scope:
        return False
    if root not in SCHEMA:
        return True
    allowed = SCHEMA[root]
    if allowed is None or len(lookups) == 1:
        return False
    if not allowed or lookups[1] not in allowed:
        return True
    if root == "contact" and lookups[1] == "custom" and len(lookups) > 2:
        return lookups[2] not in custom_keys
    if root == "contact" and lookups[1] == "company" and len(lookups) > 2:
        return lookups[2] not in COMPANY_FIELDS
    return False


def _unknown_fields(
    nodelist: NodeList, scope: frozenset[str], custom_keys: set[str]
) -> Iterator[tuple[int, str]]:
    for node in nodelist:
        token = getattr(node, "token", None)
        line = int(getattr(token, "lineno", 1) or 1)
        for expression in _node_expressions(node):
            if not isinstance(expression, FilterExpression):
                continue
            for variable in _variables(expression):
                if _unknown(tuple(variable.lookups or ()), scope, custom_keys):
                    yield line, str(variable.var)
        for child, bound in _children(node):
            yield from _unknown_fields(child, scope | bound, custom_keys)


def template_check(*, subject: str, preheader: str, body_html: str) -> list[str]:
    """Compile a template's parts; return warnings (unknown merge fields, line by line).

    Raises ``ValidationError`` with ``field_errors={part: "Line N: …"}`` for a broken tag, an
    unknown or not-allowed tag or filter, an unclosed block; nothing is rendered or written.
    """
    sources = {"subject": subject, "preheader": preheader, "body_html": body_html}
    errors: dict[str, str] = {}
    compiled = {}
    for field, _label in _PARTS:
        try:
            compiled[field] = _compile(sources[field] or "")
        except TemplateSyntaxError as exc:
            line, message = _syntax_message(exc)
            errors[field] = _("Line %(line)s: %(error)s") % {"line": line, "error": message}
    if not (subject or "").strip():
        errors.setdefault("subject", _("A mail needs a subject."))
    if not (body_html or "").strip():
        errors.setdefault("body_html", _("A mail needs a body."))
    if errors:
        first = next(iter(errors.values()))
        raise ValidationError(first, field_errors=errors)
    custom_keys = set(FieldDefinition.objects.values_list("key", flat=True))
    warnings: list[str] = []
    seen: set[tuple[str, str]] = set()
    for field, label in _PARTS:
        for line, name in _unknown_fields(compiled[field].nodelist, frozenset(), custom_keys):
            if (field, name) in seen:
                continue
            seen.add((field, name))
            warnings.append(
                _(
                    "Unknown merge field {{ %(name)s }} (%(part)s, line %(line)s): "
                    "it is left empty, or its fallback is used."
                )
                % {"name": name, "part": _(label), "line": line}
            )
    return warnings


# --- rendering ------------------------------------------------------------------------------

_BODY_OPEN_RE = re.compile(r"<body\b[^>]*>", re.IGNORECASE)
_BODY_CLOSE_RE = re.compile(r"</body\s*>", re.IGNORECASE)
_HREF_RE = re.compile(r"""(<a\b[^>]*?\bhref\s*=\s*)(["'])(.*?)\2""", re.IGNORECASE | re.DOTALL)
_PREHEADER_STYLE = (
    "display:none;font-size:1px;line-height:1px;max-height:0;max-width:0;opacity:0;"
    "overflow:hidden;mso-hide:all;"
)


def _render(source: str, data: Mapping[str, Any], *, autoescape: bool) -> str:
    return str(_compile(source).render(Context(dict(data), autoescape=autoescape)))


def _document(*, body: str, preheader: str, subject: str) -> str:
    hidden = (
        f'<div class="preheader" style="{_PREHEADER_STYLE}">{preheader}'
        + "&#847;&zwnj;&nbsp;" * 20
        + "</div>"
        if preheader.strip()
        else ""
    )
    match = _BODY_OPEN_RE.search(body)
    if match:  # a full document written by the author: the preheader goes first in its body
        return body[: match.end()] + hidden + body[match.end() :]
    return (
        '<!DOCTYPE html><html lang="ja"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{htmllib.escape(subject)}</title></head>"
        f'<body style="margin:0;padding:16px;">{hidden}{body}</body></html>'
    )


def _trackable(url: str, excluded: frozenset[str]) -> bool:
    lowered = url.strip().lower()
    return lowered.startswith(("http://", "https://")) and url.strip() not in excluded


def _rewrite_links(
    document: str, *, url_for: Callable[[int, str], str], excluded: frozenset[str]
) -> tuple[str, list[str]]:
    """Replace every trackable href; a URL used twice keeps one position."""
    links: list[str] = []
    positions: dict[str, int] = {}

    def replace(match: re.Match[str]) -> str:
        url = htmllib.unescape(match.group(3)).strip()
        if not _trackable(url, excluded):
            return match.group(0)
        if url not in positions:
            positions[url] = len(links)
            links.append(url)
        new = htmllib.escape(url_for(positions[url], url), quote=True)
        return f"{match.group(1)}{match.group(2)}{new}{match.group(2)}"

    return _HREF_RE.sub(replace, document), links


def _append_to_body(document: str, addition: str) -> str:
    matches = list(_BODY_CLOSE_RE.finditer(document))
    if not matches:
        return document + addition
    at = matches[-1].start()
    return document[:at] + addition + document[at:]


_MD_LINK_RE = re.compile(r"\[([^\]\n]*)\]\(([^)\s]+)\)")


def _text_link(match: re.Match[str]) -> str:
    label, url = match.group(1).strip(), match.group(2)
    if not label or label == url:
        return url
    return f"{label}\n{url}"  # the link on its own line, as Japanese text mail writes it


def _html_to_text(document: str) -> str:
    text = _MD_LINK_RE.sub(_text_link, get_text(document, _TEXT_CONFIG))
    lines = []
    for raw in text.splitlines():
        line = raw.strip()
        # inscriptis indents nested blocks and bullets lists with "*"; mail text is flush left.
        lines.append("・" + line[2:] if line.startswith("* ") else line)
    # Collapse runs of blank lines that block elements leave behind.
    out: list[str] = []
    for line in lines:
        if not line and (not out or not out[-1]):
            continue
        out.append(line)
    return "\n".join(out).strip()


@dataclass(frozen=True)
class _Links:
    url_for: Callable[[int, str], str]
    unsubscribe: str
    preferences: str
    pixel: str  # "" for none


def _inert(_position: int, _url: str) -> str:
    return "#"


# Stand-ins for the footer's two links while a footer is built once per sender profile: made of
# characters ``escape`` leaves alone, and random, so no profile text can contain them.
_UNSUBSCRIBE_SLOT = f"sokyaku-unsubscribe-{secrets.token_hex(8)}"
_PREFERENCES_SLOT = f"sokyaku-preferences-{secrets.token_hex(8)}"


class MessageRenderer:
    """Renders many messages (one delivery batch) sharing the work they have in common.

    Each template part is compiled once per template, the footer is built once per sender
    profile and stream (its two links filled in per message), the default sender profile of a
    stream is read once, and the contacts of test sends are read in one query (``preload``).
    ``render`` gives exactly what ``message_render`` gives. It reads ``message.contact`` with its
    company, owner and tags: select and prefetch them for a batch (``contact_context``).
    A renderer holds what it read: make one per batch, not one per process.
    """

    def __init__(self) -> None:
        self._compiled: dict[tuple[int | None, str], tuple[str, Any]] = {}
        self._footers: dict[tuple[int | None, str, str | None], footer_mod.Footer] = {}
        self._defaults: dict[str, SenderProfile | None] = {}
        self._test_contacts: dict[int, Contact] = {}

    def preload(self, messages: Iterable[Message]) -> None:
        """Read the contacts the test sends among ``messages`` are rendered as, in one query."""
        ids = {
            int(test["contact_id"])
            for test in (_test_send(m) for m in messages)
            if test is not None and test.get("contact_id")
        }
        self._test_contacts.update(
            (contact.pk, contact) for contact in _contacts_for_render().filter(pk__in=ids)
        )

    def render(self, message: Message) -> Rendered:
        """What ``message`` sends (see ``message_render``)."""
        if message.system_mail:
            # Written when it was queued (``services.system_mail``): sent as it is, untracked.
            subject = " ".join(message.subject.split())
            return Rendered(subject=subject, html="", text=message.body_text, links=[])
        template = message.template
        if template is None:
            notification = (message.context or {}).get("notification")
            if isinstance(notification, Mapping) and message.stream == Stream.TRANSACTIONAL:
                return _notification_render(notification)
            raise ValidationError("The message has no mail template.")
        test = _test_send(message)
        if test is not None:
            # A test send: merge data of the chosen contact, nothing tracked, opt-out links
            # inert (clicking them in a test mail must not unsubscribe the contact shown).
            stream = str(test.get("stream") or message.stream)
            return self._render_parts(
                template=template,
                contact=self._test_contact(test.get("contact_id")),
                sender=self._sender_for(stream, message.sender),
                stream=stream,
                extra=message.context,
                links=_Links(
                    url_for=lambda _i, url: url, unsubscribe="#", preferences="#", pixel=""
                ),
                subject_prefix="[TEST] ",
            )
        message_id = message.pk
        return self._render_parts(
            template=template,
            contact=message.contact,
            sender=self._sender_for(message.stream, message.sender),
            stream=message.stream,
            extra=message.context or {},
            links=_Links(
                url_for=lambda position, _url: tokens.click_url(message_id, position),
                unsubscribe=tokens.unsubscribe_url(message_id),
                preferences=tokens.preferences_url(message_id),
                pixel=tokens.open_url(message_id),
            ),
        )

    def preview(
        self,
        *,
        template: Template,
        contact: Contact | None,
        sender: SenderProfile | None,
        context: Mapping[str, Any],
    ) -> Rendered:
        stream = sender.stream if sender is not None else Stream.MARKETING
        return self._render_parts(
            template=template,
            contact=contact,
            sender=sender,
            stream=stream,
            extra=context,
            links=_Links(url_for=_inert, unsubscribe="#", preferences="#", pixel=""),
        )

    def _test_contact(self, contact_id: Any) -> Contact | None:
        if not contact_id:
            return None
        contact_id = int(contact_id)
        if contact_id not in self._test_contacts:  # not preloaded: read it now
            contact = _contacts_for_render().filter(pk=contact_id).first()
            if contact is None:
                return None
            self._test_contacts[contact_id] = contact
        return self._test_contacts[contact_id]

    def _sender_for(self, stream: str, sender: SenderProfile | None) -> SenderProfile | None:
        if sender is not None:
            return sender
        if stream not in self._defaults:
            self._defaults[stream] = SenderProfile.objects.filter(
                stream=stream, is_default=True
            ).first()
        return self._defaults[stream]

    def _compiled_part(self, template: Template, part: str) -> Any:
        source = getattr(template, part) or ""
        key = (template.pk, part)
        hit = self._compiled.get(key)
        if hit is None or hit[0] != source:  # unsaved templates (previews) share the key None
            hit = self._compiled[key] = (source, _compile(source))
        return hit[1]

    def _render_part(
        self, template: Template, part: str, data: Mapping[str, Any], *, autoescape: bool
    ) -> str:
        compiled = self._compiled_part(template, part)
        return str(compiled.render(Context(dict(data), autoescape=autoescape)))

    def _footer(
        self, *, sender: SenderProfile | None, stream: str, unsubscribe: str, preferences: str
    ) -> footer_mod.Footer:
        # Keyed by the language too: the footer's labels are translated.
        key = (sender.pk if sender is not None else None, stream, translation.get_language())
        shape = self._footers.get(key) if sender is None or sender.pk is not None else None
        if shape is None:
            shape = footer_mod.footer_build(
                profile=sender,
                stream=stream,
                unsubscribe_url=_UNSUBSCRIBE_SLOT,
                preferences_url=_PREFERENCES_SLOT,
            )
            self._footers[key] = shape
        # ``footer_build`` escapes a URL in the HTML with ``escape`` and writes it as is in text.
        html = shape.html.replace(_UNSUBSCRIBE_SLOT, escape(unsubscribe)).replace(
            _PREFERENCES_SLOT, escape(preferences)
        )
        text = shape.text.replace(_UNSUBSCRIBE_SLOT, unsubscribe).replace(
            _PREFERENCES_SLOT, preferences
        )
        return footer_mod.Footer(html=mark_safe(html), text=text)  # noqa: S308 - escaped above

    def _render_parts(
        self,
        *,
        template: Template,
        contact: Contact | None,
        sender: SenderProfile | None,
        stream: str,
        extra: Mapping[str, Any],
        links: _Links,
        subject_prefix: str = "",
    ) -> Rendered:
        with translation.override(settings.LANGUAGE_CODE):
            data = _merge_context(
                contact=contact,
                sender=sender,
                extra=extra,
                unsubscribe_url=links.unsubscribe,
                preferences_url=links.preferences,
            )
            override = extra.get(SUBJECT_OVERRIDE)
            if isinstance(override, str) and override.strip():
                subject = _render(override, data, autoescape=False)
            else:
                subject = self._render_part(template, "subject", data, autoescape=False)
            subject = subject_prefix + " ".join(subject.split())
            preheader = self._render_part(template, "preheader", data, autoescape=True)
            body = self._render_part(template, "body_html", data, autoescape=True)
            document = _INLINER.inline(_document(body=body, preheader=preheader, subject=subject))
            excluded = frozenset({links.unsubscribe, links.preferences})
            document, found = _rewrite_links(document, url_for=links.url_for, excluded=excluded)
            text = _html_to_text(document)
            footer = self._footer(
                sender=sender,
                stream=stream,
                unsubscribe=links.unsubscribe,
                preferences=links.preferences,
            )
            pixel = (
                f'<img src="{htmllib.escape(links.pixel)}" width="1" height="1" alt="" '
                'style="display:block;width:1px;height:1px;border:0;">'
                if links.pixel
                else ""
            )
            document = _append_to_body(document, str(footer.html) + pixel)
            if footer.text:
                text = f"{text}\n\n{footer.text}"
        return Rendered(subject=subject, html=document, text=text + "\n", links=found)


def _test_send(message: Message) -> Mapping[str, Any] | None:
    test = message.context.get("test_send") if isinstance(message.context, dict) else None
    return test if isinstance(test, Mapping) else None


def _contacts_for_render() -> QuerySet[Contact]:
    return Contact.objects.select_related("company", "owner").prefetch_related("tags")


def _notification_render(notification: Mapping[str, Any]) -> Rendered:
    """A plain internal notice (e.g. a sequence's "notify the owner" step without a template):
    its text and its link (``url``, else the contact's page) unless the text has it, nothing
    tracked; its own ``html`` part when it brings one."""
    text = str(notification.get("text") or "")
    subject = str(notification.get("subject") or text[:80] or _("Notification from sokyaku"))
    contact_id = notification.get("contact_id")
    lines = [text]
    link = str(notification.get("url") or "")
    if not link and contact_id:
        link = settings.SITE_URL + reverse("contacts:detail", args=[int(contact_id)])
    if link and link not in text:
        name = str(notification.get("contact_name") or "")
        lines.append(f"{name}\n{link}".strip())
    body_text = "\n\n".join(line for line in lines if line)
    # An internal notice may bring its own HTML part, built by our code from escaped values
    # (the sales alert with its tap-to-call and mail links).
    body_html = str(notification.get("html") or "") or "".join(
        f"<p>{escape(part).replace(chr(10), '<br>')}</p>" for part in lines if part
    )
    return Rendered(subject=" ".join(subject.split()), html=body_html, text=body_text, links=[])


def message_render(*, message: Message) -> Rendered:
    """What ``message`` sends: subject, HTML and text with tracking and the legal footer.

    Pure: reads the template, contact (with company, owner, tags) and sender, writes nothing.
    Raises ``ValidationError`` when the message has no template (chat messages are not mail).
    To render a batch, use one ``MessageRenderer`` for all of it.
    """
    return MessageRenderer().render(message)


def preview_render(
    *,
    template: Template,
    contact: Contact | None,
    sender: SenderProfile | None,
    context: Mapping[str, Any] | None = None,
) -> Rendered:
    """``template`` as ``contact`` would get it from ``sender`` (its stream's footer), links inert.

    No message exists: every link is ``#``, there is no open pixel; ``links`` lists the targets.
    """
    return MessageRenderer().preview(
        template=template, contact=contact, sender=sender, context=context or {}
    )


def text_render(*, source: str, contact: Contact | None, context: Mapping[str, Any]) -> str:
    """A plain-text template (a chat message) with the same merge fields, not escaped.

    Raises ``ValidationError`` with the line for a broken tag.
    """
    try:
        _compile(source)
    except TemplateSyntaxError as exc:
        line, message = _syntax_message(exc)
        raise ValidationError(
            f"Line {line}: {message}", field_errors={"text": f"Line {line}: {message}"}
        ) from exc
    with translation.override(settings.LANGUAGE_CODE):
        data = _merge_context(
            contact=contact, sender=None, extra=context, unsubscribe_url="", preferences_url=""
        )
        return _render(source, data, autoescape=False).strip()


def sender_profile_check(profile: SenderProfile) -> list[str]:
    """The legal items ``profile`` lacks to send marketing mail, translated; ``[]`` if it may.

    A transactional profile needs none of them (it still shows what it has as its identity).
    The engine suppresses marketing mail from a profile with a non-empty answer, with the list
    as the reason; the UI shows the same list.
    """
    if profile.stream != Stream.MARKETING:
        return []
    return [_(label) for label in footer_mod.legal_items_missing(profile)]
