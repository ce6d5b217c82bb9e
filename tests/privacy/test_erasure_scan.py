"""Done when: a person seeded through every path and then erased is found nowhere — in no table
(by the model registry and by the database's own table list), in no file of the data directory —
while every report gives the same numbers, and re-importing them leaves them unmailable until
they opt in again. Runs on SQLite, and on PostgreSQL when ``DATABASE_URL`` is set."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.db import connection
from django.test import Client

from sokyaku.analytics.models import DailyCount
from sokyaku.analytics.rollups import rollups_rebuild
from sokyaku.consent.models import ConsentRecord, HashedSuppression
from sokyaku.contacts.imports import run as imports
from sokyaku.contacts.models import Contact
from sokyaku.core import clock
from sokyaku.messaging.models import Message, MessageStatus
from sokyaku.messaging.services import delivery
from sokyaku.messaging.services.outbox import message_enqueue
from sokyaku.messaging.transport import sink_dir
from sokyaku.privacy.models import ErasureLog, ErasureVia
from sokyaku.privacy.services.erasure import erase_contact
from tests.capture.conftest import answers, rendered_token
from tests.handoff.factories import tokyo, webhook
from tests.messaging.engine_factories import sender_make, template_make
from tests.privacy import erasure_world
from tests.privacy.erasure_world import EMAIL, IMPORT_MAPPING, MOBILE, NEEDLES
from tests.privacy.scan import file_hits, files_state, model_hits, table_hits

pytestmark = pytest.mark.django_db

LATER = tokyo(2026, 12, 1, 11, 0)
PERIOD = "from=2026-11-01&to=2026-12-31"
REPORTS = (
    f"kpis?{PERIOD}",
    f"channels?{PERIOD}",
    f"funnel?{PERIOD}",
    f"funnel?{PERIOD}&mode=period",
    f"attribution?{PERIOD}",
    f"attribution?{PERIOD}&by=campaign",
    f"sequences?{PERIOD}",
    f"handoffs?{PERIOD}",
)


def _reports(api: Client) -> dict[str, Any]:
    answers_by_path = {}
    for path in REPORTS:
        response = api.get(f"/api/v1/analytics/{path}")
        assert response.status_code == 200, (path, response.content[:300])
        answers_by_path[path] = response.json()
    return answers_by_path


def _rollups() -> list[tuple[Any, ...]]:
    rollups_rebuild()
    rows = DailyCount.objects.values_list("day", "metric", "channel_id", "campaign_id", "value")
    return sorted(rows)


def _database_files() -> list[Path]:
    """The SQLite test database (scanned through its tables, not as bytes)."""
    name = str(connection.settings_dict["NAME"])
    return [Path(name + suffix) for suffix in ("", "-wal", "-shm", "-journal")]


def _files(before: dict[Path, tuple[int, int]]) -> list[str]:
    """Hits in the data dir's files written since ``before`` (files of earlier tests in the
    same data dir are not this person's, whatever names they hold)."""
    return file_hits(
        Path(django_settings.DATA_DIR), NEEDLES, skip=_database_files(), unchanged_since=before
    )


def test_an_erased_person_is_nowhere_the_numbers_stay_and_they_stay_unmailable(
    django_capture_on_commit_callbacks: Any, settings: Any
) -> None:
    # given a person who reached us through every path, and what the reports say of that
    files_before = files_state(Path(django_settings.DATA_DIR))
    with webhook() as hook:
        world = erasure_world.world_build(
            capture=django_capture_on_commit_callbacks, settings=settings, webhook=hook
        )
    person = world.person
    with clock.frozen(LATER):
        reports_before, rollups_before = _reports(world.api), _rollups()
        # (the search finds them everywhere they are: in tables, rows, mail and import files)
        tables = {hit.split(".")[0] + "." + hit.split(".")[1] for hit in model_hits(NEEDLES)}
        assert {
            "contacts.Contact", "activity.Event", "capture.Submission", "messaging.Message",
            "handoff.SalesActivity", "deals.Deal",
            "lifecycle.BantRecord", "contacts.PendingChange", "contacts.MergeRecord",
            "contacts.ImportRowError", "contacts.Company", "core.DataAccessLog",
        } <= tables  # fmt: skip
        assert table_hits(NEEDLES)
        found_in = {Path(hit.split(": ")[0]).parent.name for hit in _files(files_before)}
        assert sink_dir().name in found_in and len(found_in) >= 2

        # when an admin erases them
        log = erase_contact(person, by=world.admin, reason="本人からの削除依頼（鳥羽根様）")

        # then nothing of them is left: no field of any model, no column of any table, no file
        assert model_hits(NEEDLES) == []
        assert table_hits(NEEDLES) == []
        assert _files(files_before) == []
        # and every report and rollup gives the same numbers
        assert _reports(world.api) == reports_before
        assert _rollups() == rollups_before

    # and the log says who erased how much, with the keyed hash, and nothing of the person
    assert ErasureLog.objects.get() == log
    assert (log.erased_by, log.via, log.contact_id) == (world.admin, ErasureVia.UI, person.pk)
    assert len(log.email_hash) == 64 and log.reason == ""
    assert log.counts["contacts.Contact"] == 2  # the person and the row merged into them
    assert log.counts["consent.ConsentRecord"] >= 3
    assert log.counts["files"] >= 1 and log.counts["contacts.ImportJob"] == 1
    # and the consent proof is kept, under the same keyed hash, without IP or user agent
    proof = list(ConsentRecord.objects.filter(contact_id__in=[person.pk]))
    assert proof and {r.email_hash for r in proof} == {log.email_hash}
    assert all(r.ip is None and r.user_agent == "" and r.erased_at for r in proof)
    assert any(r.ip_hash and r.user_agent_hash for r in proof)
    # and the anonymous rows stay for the numbers; other people are untouched
    person.refresh_from_db()
    assert (person.email, person.family_name, person.erased_at) == ("", "", log.erased_at)
    assert all(Contact.objects.get(pk=o.pk).email for o in world.others)
    # and erasing again changes nothing
    assert erase_contact(person, by=world.admin, reason="") == log
    assert ErasureLog.objects.count() == 1

    # when the trade-show file is imported again (a business card: a legal basis)
    with clock.frozen(LATER + timedelta(days=1)), django_capture_on_commit_callbacks(execute=True):
        imports.import_file(
            data=erasure_world._import_csv(),
            filename="展示会2026.csv",
            mapping=IMPORT_MAPPING,
            options=imports.ImportOptions(source="物流展 2026", legal_basis="business_card"),
        )
    # then they exist again, as a new contact
    again = Contact.objects.get(email=EMAIL, merged_into__isnull=True)
    assert again.pk != person.pk
    # but no marketing mail reaches them: not a queued mail, not a broadcast
    sender, template = sender_make(), template_make()
    with clock.frozen(LATER + timedelta(days=1, hours=1)):
        mail = _mail(again, sender, template, "test:after-import")
        assert mail.status == MessageStatus.SUPPRESSED
        assert mail.suppressed_reason == delivery.ERASED_REFUSAL
        refusals = delivery.marketing_refusals(
            recipients=[(again.pk, again.email)], topic_key="newsletter"
        )
        assert refusals == {again.pk: delivery.ERASED_REFUSAL}

    # when they opt in again themselves on the form
    with clock.frozen(LATER + timedelta(days=2)), django_capture_on_commit_callbacks(execute=True):
        browser = Client()
        token = rendered_token(browser, "whitepaper")
        clock.advance(timedelta(seconds=20))
        response = browser.post(
            "/f/whitepaper",
            {**answers(email=EMAIL, phone=MOBILE, family_name="鳥羽根"), "_token": token},
        )
        assert response.status_code == 200
    # then the hashed entry is lifted and marketing mail goes again
    assert not HashedSuppression.objects.filter(email_hash=log.email_hash).exists()
    with clock.frozen(LATER + timedelta(days=2, hours=1)):
        mail = _mail(again, sender, template, "test:after-opt-in")
    assert mail.status == MessageStatus.SENT


def _mail(contact: Contact, sender: Any, template: Any, key: str) -> Message:
    message, _created = message_enqueue(
        dedupe_key=key, contact=contact, sender=sender, template=template, topic_key="newsletter"
    )
    delivery.messages_deliver(message_ids=[message.pk])
    return Message.objects.get(pk=message.pk)
