"""On SQLite the database is a file of the data directory: after an erasure the person's strings
are not in its bytes either (freed space zeroed by ``secure_delete``, the write-ahead log
checkpointed and emptied)."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.db import connection

from sokyaku.contacts.services import ContactInput, contact_note_add, contact_upsert
from sokyaku.core import roles
from sokyaku.core import services as core_services
from sokyaku.privacy.services.erasure import erase_contact

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "sqlite", reason="the SQLite file"),
]

STRINGS = (b"aoi.tobane@tsubame-sokuryo.example", "鳥羽根".encode(), b"09043218765")


def _file_bytes() -> bytes:
    name = str(connection.settings_dict["NAME"])
    files = [Path(name + suffix) for suffix in ("", "-wal", "-journal")]
    return b"".join(path.read_bytes() for path in files if path.exists())


def test_the_erased_strings_are_not_in_the_database_file() -> None:
    # given a person with a note, committed and checkpointed into the file
    admin = core_services.user_create(
        username="admin", password="x", role=roles.ADMIN, check_password=False
    )
    person = contact_upsert(
        data=ContactInput(
            family_name="鳥羽根",
            given_name="葵衣",
            email="aoi.tobane@tsubame-sokuryo.example",
            phone="090-4321-8765",
        )
    ).contact
    contact_note_add(contact=person, text="鳥羽根様 09043218765", author=admin)
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    assert all(s in _file_bytes() for s in STRINGS)
    # when they are erased
    erase_contact(person, by=admin, reason="")
    # then no byte of the database file (or its log) holds them
    assert [s for s in STRINGS if s in _file_bytes()] == []
