"""Nothing lives only in the queue: with the worker stopped, people submit forms and a site posts
events; the queue's storage is then deleted (the SQLite file, or the Redis database) and the
worker starts. Within two ticks every consequence has happened, exactly once: download mails,
double opt-in mails, sales alerts, sequence enrolments (on a form and on a download) and
segment entries.

The queue is a real Huey storage (SQLite, and Redis when configured); the worker is what the
consumer does: each minute it queues the periodic tasks that are due, and it runs what is queued.
Mail goes over SMTP to a real sink."""

from __future__ import annotations

import collections
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from huey import PriorityRedisHuey, SqliteHuey
from huey.contrib.djhuey import HUEY

from sokyaku.activity.models import Event, PendingReaction
from sokyaku.capture.services import assets as asset_services
from sokyaku.contacts.models import Contact
from sokyaku.core import clock
from sokyaku.handoff import services as handoff_services
from sokyaku.handoff.models import RuleKind
from sokyaku.segments import services as segment_services
from sokyaku.sequences.models import Enrollment, TriggerKind
from tests.capture.conftest import START, answers, lead_form, rendered_token, topics  # noqa: F401
from tests.conftest import SmtpSink, skip_or_fail
from tests.handoff.factories import rep_make, team_make, transactional_sender, trigger_make
from tests.sequences.factories import sequence_make

pytestmark = pytest.mark.django_db(transaction=True)

DOWNLOADERS = [f"dl{n}@example.co.jp" for n in range(3)]
CONFIRMERS = [f"doi{n}@example.co.jp" for n in range(2)]
READERS = [f"reader{n}@example.co.jp" for n in range(3)]


@dataclass
class Queue:
    """The suite runs tasks at once; ``stop`` puts a real queue in its place with no worker, as
    when the worker is down; ``lose`` deletes its storage (as an operator who lost or flushed it
    would) and leaves the new, empty one for the worker that starts."""

    make: Callable[[], Any]
    path: Path | None

    def stop(self) -> None:
        HUEY._immediate = False
        HUEY.storage = self.make().storage
        HUEY.storage.flush_all()

    def lose(self) -> None:
        HUEY.storage.flush_all()
        if self.path is not None:
            HUEY.storage.close()
            os.remove(self.path)
        HUEY.storage = self.make().storage


@pytest.fixture(params=["sqlite", "redis"])
def queue(request, tmp_path: Path) -> Iterator[Queue]:  # type: ignore[no-untyped-def]
    if request.param == "redis":
        url = os.environ.get("REDIS_URL", "")
        if not url:
            skip_or_fail("REDIS_URL is not set: the Redis queue is not tested")
        import redis

        try:
            redis.Redis.from_url(url).ping()
        except redis.RedisError as exc:
            skip_or_fail(f"Redis at {url} is not reachable: {exc}")
        chosen = Queue(lambda: PriorityRedisHuey("sokyaku-lost-queue", url=url, utc=True), None)
    else:
        path = tmp_path / "tasks.sqlite3"
        chosen = Queue(lambda: SqliteHuey("sokyaku-lost-queue", filename=str(path), utc=True), path)
    saved = HUEY.storage, HUEY._immediate
    try:
        yield chosen
    finally:
        if not HUEY._immediate:
            HUEY.storage.flush_all()
        HUEY.storage, HUEY._immediate = saved


def _worker_minute(at: datetime) -> None:
    """One minute of the worker: the periodic tasks due at ``at``, then everything queued."""
    with clock.frozen(at):
        for task in HUEY.read_periodic(at.astimezone(UTC).replace(tzinfo=None)):
            HUEY.enqueue(task)
        for _ in range(500):
            task = HUEY.dequeue()
            if task is None:
                break
            HUEY.execute(task)


def _recipients(sink: SmtpSink, subject: str) -> collections.Counter[str]:
    return collections.Counter(str(m["To"]) for m in sink.messages if subject in str(m["Subject"]))


def _submit(client: Client, slug: str, email: str, wait: int = 5) -> None:
    token = rendered_token(client, slug)
    clock.advance(timedelta(seconds=wait))
    data = answers(email=email, title="部長")
    response = client.post(f"/f/{slug}", {**data, "_token": token})
    assert response.status_code in (200, 302, 303), response.status_code


def test_a_lost_queue_delays_the_work_and_loses_none_of_it(
    queue,
    smtp_server: SmtpSink,
    api: Client,
    topics,  # noqa: F811 - the consent topics of the capture tests
) -> None:  # type: ignore[no-untyped-def]
    with clock.frozen(START):
        # given a download form, a double opt-in form, a sequence for readers of the white
        # paper, a segment of department heads and an alert to the team when a paper is read
        asset = asset_services.asset_create(
            data=asset_services.AssetInput(
                title="2026年版 マーケティング白書",
                kind="whitepaper",
                url="https://files.example.jp/whitepaper.pdf",
            )
        )
        paper_form = lead_form(kind="asset_download", kind_options={"asset": asset.pk})
        lead_form(slug="newsletter", name="メルマガ登録", double_opt_in=True)
        transactional_sender()
        rep = rep_make(email="kenta@sales.example")
        handoff_services.routing_rule_save(
            rule=None,
            data={"name": "順番に", "kind": RuleKind.ROUND_ROBIN, "team": team_make(rep)},
            actor=None,
        )
        trigger_make(
            event_type="form_submitted",
            action_label="資料請求",
            conditions=[{"property": "form", "op": "eq", "value": "whitepaper"}],
        )
        trigger_make(event_type="asset_downloaded", action_label="資料ダウンロード")
        follow_up = sequence_make(
            name="資料請求フォロー",
            trigger_kind=TriggerKind.FORM_SUBMITTED,
            trigger_config={"form": paper_form.pk},
        )
        readers = sequence_make(
            name="白書読者フォロー",
            trigger_kind=TriggerKind.FORM_SUBMITTED,
            trigger_config={"asset": asset.pk},
        )
        segment = segment_services.segment_create(
            name="部長以上",
            kind="dynamic",
            definition={
                "op": "and",
                "conditions": [{"field": "title_level", "op": "gte", "value": 4}],
            },
        )
        for email in READERS:
            response = api.post(
                "/api/v1/contacts",
                {"email": email, "family_name": "読者", "title": "課長"},
                content_type="application/json",
            )
            assert response.status_code in (200, 201), response.content

        # when, with the worker stopped, people submit and the site posts events
        queue.stop()
        client = Client()
        for email in DOWNLOADERS:
            _submit(client, "whitepaper", email)
        for email in CONFIRMERS:
            _submit(client, "newsletter", email)
        for email in READERS:
            response = api.post(
                "/api/v1/events",
                {"type": "asset_downloaded", "email": email, "properties": {"asset": asset.pk}},
                content_type="application/json",
            )
            assert response.status_code == 200, response.content
        submitted_at = clock.now()

    # then nothing has happened yet, and the work waits in the queue …
    assert HUEY.pending_count() > 0
    assert smtp_server.messages == []
    assert not Enrollment.objects.exists()
    assert not Event.objects.filter(type="segment_entered").exists()
    assert PendingReaction.objects.exists()

    # … which is lost; the worker starts on an empty queue and runs for two minutes
    queue.lose()
    assert HUEY.pending_count() == 0
    _worker_minute(submitted_at + timedelta(seconds=61))
    _worker_minute(submitted_at + timedelta(seconds=121))

    # then every consequence happened exactly once
    paper = _recipients(smtp_server, "2026年版 マーケティング白書")
    assert paper == collections.Counter(DOWNLOADERS)
    assert _recipients(smtp_server, "ご登録を完了してください") == collections.Counter(CONFIRMERS)
    alerts = [m for m in smtp_server.messages if str(m["To"]) == "kenta@sales.example"]
    assert len(alerts) == len(DOWNLOADERS) + len(READERS)
    enrolled = collections.Counter(
        Enrollment.objects.values_list("sequence__name", "contact__email")
    )
    assert enrolled == collections.Counter(
        [(follow_up.name, email) for email in DOWNLOADERS]
        + [(readers.name, email) for email in READERS]
    )
    entered = collections.Counter(
        Event.objects.filter(type="segment_entered", properties__segment=segment.pk).values_list(
            "contact__email", flat=True
        )
    )
    assert entered == collections.Counter(DOWNLOADERS + CONFIRMERS)
    assert not PendingReaction.objects.exists()
    assert Contact.objects.filter(email__in=DOWNLOADERS + CONFIRMERS + READERS).count() == 8

    # and a third minute changes nothing
    sent = len(smtp_server.messages)
    _worker_minute(submitted_at + timedelta(seconds=181))
    assert len(smtp_server.messages) == sent
    assert Enrollment.objects.count() == len(DOWNLOADERS + READERS)
