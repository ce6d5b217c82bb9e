"""Form kinds: the extra event of built-in kinds, and an after-submit handler registered by
another app (how webinar registration and document download plug in)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import pytest

from sokyaku.activity.models import Event, EventType
from sokyaku.capture import kinds
from sokyaku.capture.models import Submission
from sokyaku.contacts.models import Contact
from tests.capture.conftest import lead_form

pytestmark = pytest.mark.django_db

JSON = {"Accept": "application/json"}


def test_an_inquiry_form_also_records_an_inquiry(topics, now, submit):
    lead_form(kind="inquiry")
    submit("whitepaper")
    contact = Contact.objects.get()
    assert Event.objects.filter(type=EventType.FORM_SUBMITTED, contact=contact).count() == 1
    assert Event.objects.filter(type=EventType.INQUIRY, contact=contact).count() == 1


@pytest.fixture
def download_kind() -> Iterator[list[kinds.AfterSubmit]]:
    seen: list[kinds.AfterSubmit] = []

    def after_submit(context: kinds.AfterSubmit) -> Mapping[str, Any]:
        seen.append(context)
        if context.values.get("question") == "boom":
            raise RuntimeError("the handler failed")
        return {
            "message": "資料をダウンロードできます。",
            "links": [{"label": "PDFを開く", "url": "https://example.co.jp/wp.pdf"}],
        }

    def options_clean(options: Mapping[str, Any]) -> dict[str, Any]:
        from sokyaku.core.errors import ValidationError

        if not options.get("asset"):
            raise ValidationError("Choose a document.", field_errors={"asset": "required"})
        return {"asset": str(options["asset"])}

    kinds.form_kind_register(
        kinds.FormKind(
            key="test_download",
            label="資料ダウンロード",
            event_type=EventType.ASSET_DOWNLOADED,
            after_submit=after_submit,
            options_clean=options_clean,
        )
    )
    yield seen
    kinds._REGISTRY.pop("test_download")


def test_a_registered_handler_runs_after_the_pipeline_and_shapes_the_thanks(
    topics, now, submit, download_kind
):
    lead_form(kind="test_download", kind_options={"asset": "wp-2026"})
    response = submit("whitepaper", headers=JSON)
    body = response.json()
    assert body["message"] == "資料をダウンロードできます。"
    assert body["links"] == [{"label": "PDFを開く", "url": "https://example.co.jp/wp.pdf"}]
    (context,) = download_kind
    assert context.contact_created and context.form.kind_options == {"asset": "wp-2026"}
    assert context.submission.pk == Submission.objects.get().pk
    assert Submission.objects.get().outcome["links"][0]["url"].endswith("wp.pdf")


def test_the_kind_validates_its_options(topics, now, download_kind):
    from sokyaku.core.errors import ValidationError

    with pytest.raises(ValidationError) as caught:
        lead_form(kind="test_download")
    assert "kind_options.asset" in caught.value.field_errors


def test_a_failing_handler_rolls_the_whole_submission_back(topics, now, submit, download_kind):
    from tests.capture.conftest import answers

    lead_form(kind="test_download", kind_options={"asset": "wp"})
    with pytest.raises(RuntimeError):
        submit("whitepaper", answers(question="boom"))
    assert not Contact.objects.exists()
    assert not Submission.objects.exists()
    assert not Event.objects.exists()
