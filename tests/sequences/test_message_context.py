"""What a sequence mail knows about the action that started it: the document a person asked
for on a download form is named in the mail, also when the sequence starts on the form itself."""

from __future__ import annotations

import pytest

from sokyaku.activity import events as event_factories
from sokyaku.activity import services as activity_services
from sokyaku.activity.models import EventSource, EventType
from sokyaku.capture.models import Submission
from sokyaku.capture.services import assets as asset_services
from sokyaku.capture.services import forms as form_services
from sokyaku.capture.services.forms import FieldSpec, FormInput
from sokyaku.core import clock
from sokyaku.sequences.models import StepKind
from sokyaku.sequences.services.editing import (
    SequenceInput,
    StepInput,
    sequence_activate,
    sequence_create,
)
from sokyaku.sequences.services.enrollment import sequence_enroll
from sokyaku.sequences.services.tick import message_context
from tests.sequences.factories import TOPIC, contact_make, sender_make, topic_make

pytestmark = pytest.mark.django_db


def test_a_download_forms_submission_names_its_asset_in_the_mail_context() -> None:
    # given a download form for the checklist and a follow-up started by hand
    checklist = asset_services.asset_create(
        data=asset_services.AssetInput(
            title="MA導入チェックリスト", url="https://www.example.co.jp/checklist.pdf"
        )
    )
    form = form_services.form_create(
        data=FormInput(
            name="資料DL",
            slug="dl",
            kind="asset_download",
            kind_options={"asset": checklist.pk},
            fields=[FieldSpec(type="email", label="メールアドレス", required=True)],
        )
    )
    topic_make()
    sequence = sequence_create(
        data=SequenceInput(name="資料DLフォロー", sender_id=sender_make().pk, topic_key=TOPIC),
        steps=[StepInput(StepKind.WAIT, "", {"amount": 3, "unit": "business_days"})],
    )
    sequence_activate(sequence=sequence)
    lead = contact_make(email="aya@example.jp")
    submission = Submission.objects.create(
        form=form, contact=lead, token="t1", submitted_at=clock.now(), data={}
    )
    # when the person is enrolled on the form's submission (not on the later download)
    event = activity_services.event_ingest(
        event=event_factories.event_build(
            type=EventType.FORM_SUBMITTED,
            occurred_at=clock.now(),
            source=EventSource.FORM,
            properties={"form": form.slug, "kind": form.kind, "submission_id": submission.pk},
            contact_id=lead.pk,
        )
    )
    enrollment = sequence_enroll(sequence=sequence, contact=lead, trigger_event=event)
    # then the mails name the checklist, with a download link for this submission
    asset = message_context(enrollment)["asset"]
    assert asset["title"] == "MA導入チェックリスト"
    assert "/a/" in asset["url"]
