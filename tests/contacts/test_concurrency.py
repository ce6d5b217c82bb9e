"""Two requests for the same new person at the same moment still make one contact.

On PostgreSQL both requests really race (both find nobody, both insert); the unique live
dedupe key makes one insert fail and that request retries into an update. On SQLite the writers
queue behind each other (BEGIN IMMEDIATE + busy timeout) and the second finds the first.
"""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from sokyaku.contacts.models import Company, Contact
from sokyaku.contacts.services import ContactInput, contact_upsert

pytestmark = pytest.mark.django_db(transaction=True)


def _race(inputs: list[ContactInput]) -> tuple[list[bool], list[BaseException]]:
    barrier = threading.Barrier(len(inputs))
    created: list[bool] = []
    errors: list[BaseException] = []

    def submit(data: ContactInput) -> None:
        try:
            barrier.wait(timeout=10)
            created.append(contact_upsert(data=data).created)
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=submit, args=(data,)) for data in inputs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return created, errors


def test_simultaneous_submissions_by_email_make_one_contact():
    # given two identical submissions arriving together (a double click)
    data = ContactInput(email="race@example.jp", family_name="競争", company_name="株式会社レース")
    # when both are processed at once
    created, errors = _race([data, data])
    # then one created the contact and the other updated it
    assert errors == []
    assert sorted(created) == [False, True]
    assert Contact.objects.filter(email="race@example.jp").count() == 1
    assert Company.objects.count() == 1


def test_many_simultaneous_variants_without_email_make_one_contact():
    # given the same card-only person in several spellings, all at once
    spellings = ["ｻﾝﾌﾟﾙ株式会社", "株式会社サンプル", "(株)サンプル", "㈱サンプル"]
    inputs = [
        ContactInput(family_name="山田", given_name="太郎", company_name=name) for name in spellings
    ]
    created, errors = _race(inputs)
    assert errors == []
    assert created.count(True) == 1
    assert Contact.objects.count() == 1
    assert Company.objects.count() == 1
