"""Landing-page text: Markdown rendered to HTML that is safe to put on a public page.

markdown-it-py renders CommonMark (plus tables and strikethrough) with raw HTML switched off;
nh3 then keeps only the tags, attributes and URL schemes listed here, so whatever a page's
author (or a compromised account) writes, no script, style, event handler or ``javascript:``
link reaches a visitor.
"""

from __future__ import annotations

import nh3
from django.utils.safestring import SafeString, mark_safe
from markdown_it import MarkdownIt

_MARKDOWN = MarkdownIt("commonmark", {"html": False, "linkify": False}).enable(
    ["table", "strikethrough"]
)

_TAGS = {
    "p", "br", "hr", "h2", "h3", "h4", "strong", "em", "del", "code", "pre", "blockquote",
    "ul", "ol", "li", "a", "img", "table", "thead", "tbody", "tr", "th", "td",
}  # fmt: skip
_ATTRIBUTES = {"a": {"href", "title"}, "img": {"src", "alt", "title"}, "ol": {"start"}}
_SCHEMES = {"http", "https", "mailto"}


def markdown_render(source: str) -> SafeString:
    """``source`` (Markdown) as sanitised HTML, ready for a template."""
    html = _MARKDOWN.render(source)
    # Headings start at h2: the page title is the page's one h1.
    for level in (3, 2, 1):
        html = html.replace(f"<h{level}>", f"<h{level + 1}>").replace(
            f"</h{level}>", f"</h{level + 1}>"
        )
    clean = nh3.clean(
        html,
        tags=_TAGS,
        attributes=_ATTRIBUTES,
        url_schemes=_SCHEMES,
        link_rel="noopener noreferrer nofollow",
    )
    return mark_safe(clean)  # noqa: S308 - sanitised by nh3 just above
