"""A write on a full disk answers 503 with a clear message (a Japanese page in the UI, JSON in the
API) instead of a 500, and stores nothing.

The full disk is the database driver's own error, raised for every write statement through
Django's query hook (``connection.execute_wrapper``), as SQLite raises it when the file cannot
grow, PostgreSQL when it cannot extend a file, and the operating system when a file cannot be
written."""

from __future__ import annotations

import errno
import json
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import psycopg.errors
import pytest
from django.db import connection
from django.test import Client

from sokyaku.contacts.models import Contact
from sokyaku.messaging.models import FrequencyCap

# Requests run in autocommit, as in production (a failed write inside the test's own
# transaction would poison it for the page that reports the failure).
pytestmark = pytest.mark.django_db(transaction=True)

FULL: list[Callable[[], BaseException]] = [
    lambda: sqlite3.OperationalError("database or disk is full"),
    lambda: psycopg.errors.DiskFull('could not extend file "base/16384/16390"'),
    lambda: OSError(errno.ENOSPC, "No space left on device"),
]
WRITES = ("INSERT", "UPDATE", "DELETE")


@contextmanager
def disk_full(error: Callable[[], BaseException]) -> Iterator[None]:
    def refuse_writes(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        if sql.lstrip().upper().startswith(WRITES):
            raise error()
        return execute(sql, params, many, context)

    with connection.execute_wrapper(refuse_writes):
        yield


@pytest.mark.parametrize("error", FULL)
def test_a_ui_write_on_a_full_disk_answers_a_japanese_503_page(
    client: Client, marketer: Any, error: Callable[[], BaseException]
) -> None:
    # given a marketer on the frequency cap page (in Japanese, the default)
    client.force_login(marketer)

    # when they save it while the disk is full
    with disk_full(error):
        response = client.post("/messaging/frequency/", {"per_day": "3"})

    # then they read, in Japanese, that nothing was saved; nothing was
    assert response.status_code == 503
    assert response["Retry-After"]
    page = response.content.decode()
    assert "ディスクの空き容量がありません" in page
    assert "保存できませんでした" in page
    assert not FrequencyCap.objects.exists()


@pytest.mark.parametrize("error", FULL)
def test_an_api_write_on_a_full_disk_answers_503_with_a_detail(
    api: Client, error: Callable[[], BaseException]
) -> None:
    with disk_full(error):
        response = api.post(
            "/api/v1/contacts",
            json.dumps({"family_name": "山田", "email": "yamada@example.co.jp"}),
            content_type="application/json",
        )

    assert response.status_code == 503
    assert response.json() == {
        "detail": "The server's storage is full; nothing was stored. Try again later."
    }
    assert not Contact.objects.exists()


def test_other_database_errors_are_not_taken_for_a_full_disk(client: Client, marketer: Any) -> None:
    client.force_login(marketer)
    client.raise_request_exception = False

    with disk_full(lambda: sqlite3.OperationalError("no such table: messaging_frequencycap")):
        response = client.post("/messaging/frequency/", {"per_day": "3"})

    assert response.status_code == 500
