"""The same submission arriving twice at the same moment (a double click on a slow line) is one
contact, one event and one submission, on SQLite and on PostgreSQL."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection

from sokyaku.activity.models import Event, EventType
from sokyaku.capture.models import Submission
from sokyaku.capture.services import submission as pipeline
from sokyaku.capture.tokens import render_token_issue
from sokyaku.consent.models import ConsentRecord
from sokyaku.contacts.models import Contact
from sokyaku.core import clock
from tests.capture.conftest import answers, lead_form

pytestmark = pytest.mark.django_db(transaction=True)


def test_two_simultaneous_posts_of_one_rendered_form_store_it_once(topics, now):
    # given a rendered form, filled in
    form = lead_form()
    posted = {k: [v] for k, v in answers().items()}
    posted["_token"] = [render_token_issue(form_id=form.pk, purpose_text_id=None)]
    clock.advance(timedelta(seconds=10))
    barrier = threading.Barrier(2)
    statuses: list[str] = []
    errors: list[BaseException] = []

    def send() -> None:
        try:
            barrier.wait(timeout=10)
            fresh = type(form).objects.get(pk=form.pk)
            result = pipeline.submission_process(
                form=fresh, posted=posted, arrival=pipeline.Arrival(ip="203.0.113.1")
            )
            statuses.append(result.status)
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            errors.append(exc)
        finally:
            connection.close()

    # when both arrive at once
    threads = [threading.Thread(target=send) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    # then one stored it and the other was told it is the same submission
    assert errors == []
    assert sorted(statuses) == [pipeline.CREATED, pipeline.DUPLICATE]
    assert Submission.objects.count() == 1
    assert Contact.objects.count() == 1
    assert Event.objects.filter(type=EventType.FORM_SUBMITTED).count() == 1
    assert ConsentRecord.objects.count() == 1
