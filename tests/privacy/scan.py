"""Searching the whole database and the data directory for a person's strings.

Two independent readings of the database, so that neither a model's field list nor the ORM's
decoding can hide a hit: every text and JSON field of every installed model (Django's model
registry, values as the ORM reads them), and every column of every table the database itself
lists (raw SQL, values as the driver hands them over: a table that is no model is read too).
Strings are matched case-insensitively, as stored and as JSON (``\\uXXXX``) and URL
(``%40``) encodings write them. Files are read as bytes, in UTF-8, CP932 and UTF-16.
"""

from __future__ import annotations

import io
import json
import os
import zipfile
from collections.abc import Iterable
from email import policy
from email.parser import BytesParser
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

from django.apps import apps
from django.db import connection, models


def _forms(needle: str) -> set[str]:
    forms = {needle, needle.lower()}
    forms.add(json.dumps(needle)[1:-1].lower())  # \uXXXX escapes, as JSON stores them
    forms.add(quote(needle).lower())
    forms.add(quote_plus(needle).lower())
    return forms


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, memoryview):
        value = value.tobytes()
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False) + json.dumps(value)
    return str(value)


def _found(text: str, needles: Iterable[str]) -> list[str]:
    low = text.lower()
    return [needle for needle in needles if any(form in low for form in _forms(needle))]


_TEXT_FIELDS = (models.CharField, models.TextField, models.JSONField, models.GenericIPAddressField)


def model_hits(needles: Iterable[str]) -> list[str]:
    """``app.Model.field #pk: needle`` for every stored value that holds a needle."""
    needles = list(needles)
    hits: list[str] = []
    for model in apps.get_models(include_auto_created=True):
        names = [f.attname for f in model._meta.concrete_fields if isinstance(f, _TEXT_FIELDS)]
        if not names:
            continue
        for row in model._base_manager.values_list("pk", *names).iterator():
            for name, value in zip(names, row[1:], strict=True):
                for needle in _found(_text(value), needles):
                    hits.append(f"{model._meta.label}.{name} #{row[0]}: {needle}")
    return hits


def table_hits(needles: Iterable[str]) -> list[str]:
    """``table.column: needle`` for every value of every table the database lists."""
    needles = list(needles)
    hits: list[str] = []
    with connection.cursor() as cursor:
        tables = connection.introspection.table_names(cursor)
        for table in tables:
            quoted = connection.ops.quote_name(table)
            cursor.execute(f"SELECT * FROM {quoted}")  # noqa: S608 - names from the database
            columns = [c[0] for c in cursor.description or []]
            for row in cursor.fetchall():
                for column, value in zip(columns, row, strict=True):
                    for needle in _found(_text(value), needles):
                        hits.append(f"{table}.{column}: {needle}")
    return hits


def files_state(root: Path) -> dict[Path, tuple[int, int]]:
    """Each file under ``root`` with its modification time and size, to tell later which ones
    were written since (the data dir is shared by the tests run before)."""
    state: dict[Path, tuple[int, int]] = {}
    for folder, _dirs, files in os.walk(root):
        for name in files:
            path = Path(folder, name).resolve()
            stat = path.stat()
            state[path] = (stat.st_mtime_ns, stat.st_size)
    return state


def file_hits(
    root: Path,
    needles: Iterable[str],
    *,
    skip: Iterable[Path] = (),
    unchanged_since: dict[Path, tuple[int, int]] | None = None,
) -> list[str]:
    """``path: needle`` for every file under ``root`` (but ``skip``, and but the files that are
    as they were in ``unchanged_since``) that holds a needle."""
    needles = list(needles)
    skipped = {p.resolve() for p in skip}
    before = unchanged_since or {}
    hits: list[str] = []
    for folder, _dirs, files in os.walk(root):
        for name in files:
            path = Path(folder, name)
            if path.resolve() in skipped:
                continue
            stat = path.stat()
            if before.get(path.resolve()) == (stat.st_mtime_ns, stat.st_size):
                continue
            hits.extend(f"{path}: {needle}" for needle in _found(_file_text(path), needles))
    return hits


def _file_text(path: Path) -> str:
    """A file's text as a reader would see it: a mail decoded (MIME headers, base64 and
    quoted-printable parts), a zip (an Excel file) member by member, any file as bytes."""
    data = path.read_bytes()
    texts = [data.decode(encoding, "ignore") for encoding in ("utf-8", "cp932", "utf-16")]
    if path.suffix in (".eml", ".tmp"):
        message = BytesParser(policy=policy.default).parsebytes(data)
        texts += [str(value) for _name, value in message.items()]
        for part in message.walk():
            if not part.is_multipart():
                content = part.get_content()
                texts.append(content if isinstance(content, str) else _text(content))
    if data.startswith(b"PK\x03\x04"):
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            texts += [archive.read(name).decode("utf-8", "ignore") for name in archive.namelist()]
    return " ".join(texts)
