"""The bytes of a mail: UTF-8 ``multipart/alternative`` (text, then HTML) built with ``email``,
inside ``multipart/mixed`` with its text attachments when it has any (a system mail's .ics).

``mime_build`` builds an ``email.message.EmailMessage`` with ``MimePolicy``, which is
``email.policy.SMTP`` (CRLF, RFC 2047 encoded words, the parts' transfer encoding chosen by the
``email`` package) with less repeated work, because parsing and folding headers is most of that
package's cost:

- A header value that several mails of a batch share (From, Reply-To, List-Unsubscribe-Post,
  MIME-Version, the parts' Content-Type and Content-Transfer-Encoding) is parsed and folded once
  per policy: use one policy per batch.
- A plain-ASCII value is written as it is, folded before spaces when it is longer than a line,
  never turned into encoded words: ``policy.SMTP`` encodes an ASCII value whose word is longer
  than a line (a List-Unsubscribe URL with its token) as ``=?utf-8?q?…?=``, and no mail
  provider then finds the RFC 8058 one-click URL.
- A non-ASCII unstructured value (the Subject) is encoded with ``email.header.Header`` (``B``
  words of UTF-8 within 78 columns), about ten times faster on a long Japanese subject than the
  policy's parser and folder.
- The multipart boundary is chosen once per process (random, and checked against the parts as
  the ``email`` generator does), so the multipart Content-Type is one header for every mail.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from email.header import Header
from email.headerregistry import BaseHeader, HeaderRegistry, UnstructuredHeader
from email.message import EmailMessage, MIMEPart
from email.policy import EmailPolicy
from typing import Any

# "=_" never occurs in quoted-printable or base64 output; the parts are checked for it anyway.
_BOUNDARY = f"=_sokyaku_{secrets.token_hex(12)}"


class _HeaderRegistry(HeaderRegistry):
    """A ``HeaderRegistry`` that creates each header class once (the stock one makes a new
    class on every lookup)."""

    def __init__(self) -> None:
        super().__init__()
        self._classes: dict[str, type[BaseHeader]] = {}

    def __getitem__(self, name: str) -> type[BaseHeader]:
        key = name.lower()
        cls = self._classes.get(key)
        if cls is None:
            cls = self._classes[key] = super().__getitem__(name)
        return cls


class MimePolicy(EmailPolicy):
    """``email.policy.SMTP`` that parses and folds each distinct header value once."""

    def __init__(self, **kw: Any) -> None:
        kw.setdefault("linesep", "\r\n")
        kw.setdefault("header_factory", _HeaderRegistry())
        kw.setdefault("refold_source", "none")  # plain values are written as ``_written`` made them
        super().__init__(**kw)
        # Policies are read-only after __init__; these two caches are the only state.
        object.__setattr__(self, "_parsed", {})
        object.__setattr__(self, "_folded", {})

    def _written(self, name: str, value: str) -> str | None:
        """``value`` as it is written in the mail when that needs no parsing, else ``None``.

        Stored as a plain string, it is written as is (``refold_source="none"``). Content-*
        headers are read back by the generator, so they stay parsed objects; CR or LF in a
        value is refused by the parser (header injection).
        """
        if "\r" in value or "\n" in value or name.lower().startswith("content-"):
            return None
        if value.isascii():
            return self._fold_at_spaces(name, value)
        registry = self.header_factory
        if isinstance(registry, HeaderRegistry) and issubclass(registry[name], UnstructuredHeader):
            header = Header(value, "utf-8", maxlinelen=self._width, header_name=name)
            return header.encode(linesep=self.linesep)
        return None

    @property
    def _width(self) -> int:
        return self.max_line_length or 78

    def _fold_at_spaces(self, name: str, value: str) -> str:
        """An ASCII value folded before spaces, within 78 columns where the words allow it.

        Never as encoded words: ``policy.SMTP`` turns an ASCII value with a word longer than a
        line (a List-Unsubscribe URL with its token) into ``=?utf-8?q?…?=`` words, which no mail
        provider reads as the RFC 8058 one-click URL. Folding only inserts CRLF before a space,
        so unfolding gives the value back exactly; a word longer than a line is written whole
        (RFC 5322 allows 998 characters).
        """
        width = self._width
        if len(name) + len(value) + 2 <= width:
            return value
        lines: list[str] = []
        line: list[str] = []
        used, room = 0, width - len(name) - 2
        for word in value.split(" "):
            if line and used + 1 + len(word) > room:
                lines.append(" ".join(line))
                line, used, room = [word], len(word), width - 1  # the next line starts with " "
            else:
                used += len(word) + (1 if line else 0)
                line.append(word)
        lines.append(" ".join(line))
        return (self.linesep + " ").join(lines)

    def header_store_parse(self, name: str, value: Any) -> tuple[str, Any]:
        if hasattr(value, "name") or not isinstance(value, str):
            return super().header_store_parse(name, value)
        written = self._written(name, value)
        if written is not None:
            return (name, written)
        parsed: dict[tuple[str, str], tuple[str, Any]] = self._parsed  # type: ignore[attr-defined]
        key = (name, value)
        hit = parsed.get(key)
        if hit is None:
            # Raises ValueError for CR/LF in the value, as ``policy.SMTP`` does.
            hit = parsed[key] = super().header_store_parse(name, value)
        return hit

    def fold_binary(self, name: str, value: Any) -> bytes:
        if not hasattr(value, "name"):
            return super().fold_binary(name, value)
        folded: dict[int, tuple[Any, bytes]] = self._folded  # type: ignore[attr-defined]
        # Keyed by identity: the entry holds the header, so its id is not reused meanwhile.
        hit = folded.get(id(value))
        if hit is None or hit[0] is not value:
            hit = folded[id(value)] = (value, super().fold_binary(name, value))
        return hit[1]


def mime_build(
    *,
    headers: Mapping[str, str],
    text: str,
    html: str,
    policy: MimePolicy | None = None,
    attachments: Sequence[Mapping[str, Any]] = (),
) -> bytes:
    """UTF-8 multipart/alternative (text, then HTML) with ``headers``, as SMTP-ready bytes.

    Without ``html`` the mail is a single ``text/plain`` part. ``attachments`` are text files
    (``{"filename", "content_type": "text/…", "params", "text"}``, UTF-8) after the body in a
    ``multipart/mixed``. Pass one ``policy`` for all the mails of a batch to parse their shared
    headers once.
    """
    policy = policy or MimePolicy()
    mail = EmailMessage(policy=policy)
    for name, value in headers.items():
        mail[name] = value
    mail["MIME-Version"] = "1.0"
    if not html:
        mail.set_content(text or " ", charset="utf-8")
        _attach(mail, attachments)
        return mail.as_bytes()
    text_part = MIMEPart(policy=policy)
    text_part.set_content(text or " ", charset="utf-8")
    html_part = MIMEPart(policy=policy)
    html_part.set_content(html, subtype="html", charset="utf-8")
    if _BOUNDARY in text or _BOUNDARY in html:
        mail["Content-Type"] = "multipart/alternative"  # the generator picks another boundary
    else:
        mail["Content-Type"] = f'multipart/alternative; boundary="{_BOUNDARY}"'
    # typeshed wants EmailMessage parts; MIMEPart is what a subpart is (no MIME-Version of its own).
    mail.attach(text_part)  # type: ignore[arg-type]
    mail.attach(html_part)  # type: ignore[arg-type]
    _attach(mail, attachments)
    return mail.as_bytes()


def _attach(mail: EmailMessage, attachments: Sequence[Mapping[str, Any]]) -> None:
    for item in attachments:
        maintype, _slash, subtype = str(item.get("content_type") or "text/plain").partition("/")
        if maintype != "text" or not subtype:
            raise ValueError(f"Only text attachments: {item.get('content_type')!r}.")
        params = item.get("params") or {}
        mail.add_attachment(
            str(item.get("text") or ""),
            subtype=subtype,
            charset="utf-8",
            filename=str(item.get("filename") or "attachment.txt"),
            params={str(k): str(v) for k, v in dict(params).items()},
        )
    if attachments:
        for part in mail.iter_parts():
            del part["MIME-Version"]  # ``add_attachment`` gives each part its own; one is enough
