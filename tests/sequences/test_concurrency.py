"""Two workers on PostgreSQL advance the same due enrolments without a duplicate message."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection, connections

from sokyaku.core import clock
from sokyaku.messaging.models import Message
from sokyaku.sequences.models import StepRun
from sokyaku.sequences.services.enrollment import sequence_enroll
from sokyaku.sequences.services.tick import sequences_tick
from tests.conftest import skip_or_fail
from tests.sequences.factories import contact_make, email, sequence_make, tokyo, wait


@pytest.mark.django_db(transaction=True)
def test_two_workers_never_send_a_step_twice() -> None:
    if connection.vendor != "postgresql":
        skip_or_fail("needs PostgreSQL (set DATABASE_URL) for FOR UPDATE SKIP LOCKED")
    with clock.frozen(tokyo(2026, 11, 25, 10, 0)):
        sequence = sequence_make(steps=[email(), wait(1), email()])
        # due in a minute, so the "at once" kick after commit leaves them to the workers
        soon = clock.now() + timedelta(minutes=1)
        enrollments = [
            sequence_enroll(sequence=sequence, contact=contact_make(), first_run_at=soon)
            for _ in range(60)
        ]
        clock.advance(timedelta(minutes=2))
        counts: list[int] = []
        barrier = threading.Barrier(4)

        def worker() -> None:
            try:
                barrier.wait()
                counts.append(sequences_tick())
            finally:
                connections.close_all()

        threads = [threading.Thread(target=worker) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert sum(counts) == len(enrollments)
    assert Message.objects.count() == len(enrollments)
    assert StepRun.objects.filter(step__kind="email").count() == len(enrollments)
