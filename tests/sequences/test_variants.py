"""A/B variants of sequence mail steps: the split follows the weights, an enrolment keeps its
variant when a step runs again, the variant's subject line or template is what arrives, bad
variants are refused with field errors, the editor round-trips, and the sequence page shows
each variant's numbers."""

from __future__ import annotations

from collections import Counter
from email.message import EmailMessage
from typing import Any

import pytest
from django.db import transaction
from django.test import Client
from django.urls import reverse

from sokyaku.core import clock
from sokyaku.core.errors import ValidationError
from sokyaku.messaging.models import Message, MessageStatus, Template
from sokyaku.sequences import selectors
from sokyaku.sequences.models import Sequence, Step, StepKind, StepRun
from sokyaku.sequences.services.editing import (
    StepInput,
    step_add,
    step_update,
    step_variants_set,
)
from sokyaku.sequences.services.enrollment import sequence_enroll
from sokyaku.sequences.services.tick import sequences_tick
from tests.sequences.factories import contact_make, email, sequence_make, template_make, tokyo

pytestmark = pytest.mark.django_db

# A weekday morning inside every sequence's default send window.
MORNING = (2026, 11, 25, 10, 0)


def _ab_sequence(variants: list[dict[str, Any]], *, base: Template | None = None) -> Sequence:
    base = base or template_make("ご案内A")
    return sequence_make(
        steps=[StepInput(StepKind.EMAIL, "1通目", {"template": base.pk, "variants": variants})]
    )


def _enrol(sequence: Sequence, count: int, **contact: Any) -> None:
    for _ in range(count):
        sequence_enroll(sequence=sequence, contact=contact_make(**contact))


def _labels(sequence: Sequence) -> dict[int | None, Any]:
    """Each enrolment's variant label as its message recorded it."""
    return dict(
        Message.objects.filter(sequence_id=sequence.pk).values_list(
            "enrollment_id", "context__variant"
        )
    )


@pytest.mark.parametrize(
    ("variants", "expected"),
    [
        ([{"label": "B", "subject": "件名B", "weight": 50}], {"A": 0.5, "B": 0.5}),
        (
            [{"label": "B", "subject": "件名B", "weight": 30}, {"subject": "件名C", "weight": 20}],
            {"A": 0.5, "B": 0.3, "C": 0.2},
        ),
    ],
)
def test_the_split_follows_the_weights(
    variants: list[dict[str, Any]], expected: dict[str, float]
) -> None:
    # given a mail step with variants and 400 enrolments
    with clock.frozen(tokyo(*MORNING)):
        sequence = _ab_sequence(variants)
        _enrol(sequence, 400, consent=False)
        # when the step runs for everyone
        sequences_tick()
    # then every message carries a label, and each variant's share is within 7 points
    counts = Counter(_labels(sequence).values())
    assert sum(counts.values()) == 400
    assert set(counts) == set(expected)
    for label, share in expected.items():
        assert abs(counts[label] / 400 - share) < 0.07, counts


class _Crash(Exception):
    pass


def test_a_step_run_again_after_a_crash_sends_the_same_variant() -> None:
    # given an A/B step and twenty enrolments
    with clock.frozen(tokyo(*MORNING)):
        sequence = _ab_sequence([{"label": "B", "template": template_make("ご案内B").pk}])
        _enrol(sequence, 20, consent=False)
        # when the worker dies before committing its tick
        with pytest.raises(_Crash), transaction.atomic():
            sequences_tick()
            before_crash = _labels(sequence)
            raise _Crash
        assert not Message.objects.filter(sequence_id=sequence.pk).exists()
        # and the next tick runs the step again
        sequences_tick()
    # then each enrolment got the variant it had drawn the first time (both variants occur)
    assert _labels(sequence) == before_crash
    assert set(before_crash.values()) == {"A", "B"}
    # and the message's template is the variant's
    for message in Message.objects.filter(sequence_id=sequence.pk).select_related("template"):
        assert message.template is not None
        assert message.template.name == {"A": "ご案内A", "B": "ご案内B"}[message.context["variant"]]


def test_a_step_without_variants_records_no_label() -> None:
    with clock.frozen(tokyo(*MORNING)):
        sequence = sequence_make(steps=[email()])
        _enrol(sequence, 3, consent=False)
        sequences_tick()
    contexts = list(
        Message.objects.filter(sequence_id=sequence.pk).values_list("context", flat=True)
    )
    assert len(contexts) == 3
    assert all("variant" not in context for context in contexts)


def _by_recipient(mails: list[EmailMessage]) -> dict[str, EmailMessage]:
    return {str(mail["To"]): mail for mail in mails}


def _html(mail: EmailMessage) -> str:
    part = mail.get_body(preferencelist=("html",))
    assert part is not None
    return str(part.get_content())


def test_variant_b_subject_line_is_what_arrives(
    smtp_server: Any, django_capture_on_commit_callbacks: Any
) -> None:
    # given a step whose variant B keeps the template but changes the subject line
    with clock.frozen(tokyo(*MORNING)):
        sequence = _ab_sequence(
            [
                {
                    "label": "B",
                    "subject": "【限定】{{ contact.family_name }}様だけのご案内",
                    "weight": 50,
                }
            ]
        )
        _enrol(sequence, 12, family_name="田中")
        # when the step runs and the worker delivers at once
        with django_capture_on_commit_callbacks(execute=True):
            sequences_tick()
    mails = _by_recipient(smtp_server.wait_for(12))
    # then B's mail went out with B's subject, A's with the template's, same body for both
    messages = list(Message.objects.filter(sequence_id=sequence.pk))
    assert {m.context["variant"] for m in messages} == {"A", "B"}
    for message in messages:
        assert message.status == MessageStatus.SENT
        subject = {"A": "田中様へのお知らせ", "B": "【限定】田中様だけのご案内"}[
            message.context["variant"]
        ]
        assert message.subject == subject
        assert mails[message.to_address]["Subject"] == subject
        assert "田中様</p>" in _html(mails[message.to_address])


def test_variant_b_template_is_what_arrives(
    smtp_server: Any, django_capture_on_commit_callbacks: Any
) -> None:
    # given a step whose variant B sends another template
    with clock.frozen(tokyo(*MORNING)):
        other = Template.objects.create(
            name="事例紹介",
            subject="{{ contact.family_name }}様 導入事例のご紹介",
            body_html="<p>導入事例: 株式会社サンプルでは工数が半分に。</p>",
            created_at=clock.now(),
            updated_at=clock.now(),
        )
        sequence = _ab_sequence([{"label": "B", "template": other.pk, "weight": 50}])
        _enrol(sequence, 12, family_name="伊藤")
        with django_capture_on_commit_callbacks(execute=True):
            sequences_tick()
    mails = _by_recipient(smtp_server.wait_for(12))
    # then B's recipients got the case-study mail, A's the step's own
    for message in Message.objects.filter(sequence_id=sequence.pk, context__variant="B"):
        assert message.subject == "伊藤様 導入事例のご紹介"
        assert "工数が半分に" in message.body_html
        assert "工数が半分に" in _html(mails[message.to_address])
    for message in Message.objects.filter(sequence_id=sequence.pk, context__variant="A"):
        assert message.subject == "伊藤様へのお知らせ"
        assert "工数が半分に" not in message.body_html
    assert Message.objects.filter(sequence_id=sequence.pk, context__variant="B").exists()
    assert Message.objects.filter(sequence_id=sequence.pk, context__variant="A").exists()
    run = StepRun.objects.filter(message__context__variant="B").first()
    assert run is not None and run.detail == "事例紹介 [B]"


def _step(sequence: Sequence) -> Step:
    return Step.objects.get(sequence=sequence, kind=StepKind.EMAIL)


@pytest.mark.parametrize(
    ("variants", "field"),
    [
        ([{"label": "B", "subject": "件名B", "weight": 0}], "variants.B.weight"),
        ([{"label": "B", "subject": "件名B", "weight": 100}], "variants.B.weight"),
        ([{"label": "B", "subject": "件名B", "weight": "半分"}], "variants.B.weight"),
        (
            [
                {"label": "B", "subject": "B", "weight": 60},
                {"label": "C", "subject": "C", "weight": 40},
            ],
            "variants",
        ),
        ([{"label": "B", "template": 999_999, "weight": 50}], "variants.B.template"),
        ([{"label": "B", "weight": 50}], "variants.B.template"),
        ([{"label": "B", "subject": "{% if %}", "weight": 50}], "variants.B.subject"),
        ([{"label": "B", "subject": "x" * 301, "weight": 50}], "variants.B.subject"),
        ([{"subject": "B"}, {"subject": "C"}, {"subject": "D"}], "variants"),
        ([{"label": "B", "subject": "B"}, {"label": "B", "subject": "B2"}], "variants"),
        ([{"label": "D", "subject": "D", "weight": 10}], "variants"),
    ],
)
def test_bad_variants_are_refused_and_nothing_changes(
    variants: list[dict[str, Any]], field: str
) -> None:
    # given a mail step with a valid B
    sequence = sequence_make(active=False)
    step = _step(sequence)
    step_variants_set(step=step, variants=[{"label": "B", "subject": "件名B", "weight": 40}])
    stored = Step.objects.get(pk=step.pk).config
    # when the variants are replaced with bad ones
    with pytest.raises(ValidationError) as caught:
        step_variants_set(step=Step.objects.get(pk=step.pk), variants=variants)
    # then the error names the field and the stored step is unchanged
    assert field in caught.value.field_errors
    assert Step.objects.get(pk=step.pk).config == stored


def test_variants_are_checked_when_a_step_is_added_or_changed_too() -> None:
    sequence = sequence_make(active=False)
    bad = {"template": template_make().pk, "variants": [{"label": "B", "template": 999_999}]}
    with pytest.raises(ValidationError) as caught:
        step_add(sequence=sequence, data=StepInput(StepKind.EMAIL, "", bad))
    assert "variants.B.template" in caught.value.field_errors
    with pytest.raises(ValidationError):
        step_update(step=_step(sequence), data=StepInput(StepKind.EMAIL, "", bad))
    assert Step.objects.filter(sequence=sequence).count() == 1


def test_only_mail_steps_have_variants() -> None:
    sequence = sequence_make(steps=[StepInput(StepKind.WAIT, "", {"amount": 1, "unit": "days"})])
    with pytest.raises(ValidationError) as caught:
        step_variants_set(
            step=Step.objects.get(sequence=sequence), variants=[{"label": "B", "subject": "B"}]
        )
    assert "kind" in caught.value.field_errors


def test_a_weight_left_out_is_an_even_share() -> None:
    sequence = sequence_make(active=False)
    step = step_variants_set(
        step=_step(sequence), variants=[{"subject": "件名B"}, {"subject": "件名C"}]
    )
    assert [(v["label"], v["weight"]) for v in step.config["variants"]] == [("B", 33), ("C", 33)]


def test_editor_round_trip(logged_in: Client) -> None:
    # given a mail step and another template
    sequence = sequence_make(active=False)
    step = _step(sequence)
    other = template_make("セミナー案内")
    url = reverse("sequences:step_variants", args=[sequence.pk, step.pk])
    assert logged_in.get(url).status_code == 200
    # when the marketer adds B (another subject) and C (another template)
    response = logged_in.post(
        url,
        {
            "b_enabled": "on",
            "b_subject": "【再送】{{ contact.family_name }}様へ",
            "b_weight": "30",
            "c_enabled": "on",
            "c_template": str(other.pk),
            "c_weight": "20",
        },
    )
    # then both are stored and the editor shows them again
    assert response.status_code == 302
    assert Step.objects.get(pk=step.pk).config["variants"] == [
        {
            "label": "B",
            "template": None,
            "subject": "【再送】{{ contact.family_name }}様へ",
            "weight": 30,
        },
        {"label": "C", "template": other.pk, "subject": "", "weight": 20},
    ]
    page = logged_in.get(url).content.decode()
    assert 'value="【再送】{{ contact.family_name }}様へ"' in page
    assert f'<option value="{other.pk}" selected>' in page
    # and the sequence page lists A 50 %, B 30 %, C 20 %
    detail = logged_in.get(reverse("sequences:detail", args=[sequence.pk])).content.decode()
    assert "セミナー案内" in detail and "50 %" in detail and "30 %" in detail
    # when C is switched off, only B remains; "stop" ends the test
    logged_in.post(url, {"b_enabled": "on", "b_subject": "【再送】", "b_weight": "50"})
    assert [v["label"] for v in Step.objects.get(pk=step.pk).config["variants"]] == ["B"]
    logged_in.post(url, {"stop": "1"})
    assert "variants" not in Step.objects.get(pk=step.pk).config


def test_editor_shows_service_errors_on_the_fields(logged_in: Client, english: None) -> None:
    sequence = sequence_make(active=False)
    step = _step(sequence)
    url = reverse("sequences:step_variants", args=[sequence.pk, step.pk])
    response = logged_in.post(
        url,
        {
            "b_enabled": "on",
            "b_weight": "50",
            "c_enabled": "on",
            "c_subject": "C",
            "c_weight": "60",
        },
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert "choose another template or another subject line" in page
    assert "at most 99 per cent" in page
    assert "variants" not in Step.objects.get(pk=step.pk).config


def test_a_rep_cannot_edit_variants(client: Client, sales_rep) -> None:  # type: ignore[no-untyped-def]
    sequence = sequence_make(active=False)
    client.force_login(sales_rep)
    url = reverse("sequences:step_variants", args=[sequence.pk, _step(sequence).pk])
    assert client.get(url).status_code == 403


def test_sequence_page_shows_each_variants_numbers(
    logged_in: Client, django_assert_max_num_queries: Any
) -> None:
    # given an A/B step whose mail went out, and opens and clicks on some of it
    with clock.frozen(tokyo(*MORNING)):
        sequence = _ab_sequence([{"label": "B", "subject": "件名B", "weight": 50}])
        _enrol(sequence, 20, consent=False)
        sequences_tick()
    messages = Message.objects.filter(sequence_id=sequence.pk)
    messages.update(status=MessageStatus.SENT, sent_at=clock.now())
    b_ids = list(messages.filter(context__variant="B").values_list("pk", flat=True))
    messages.filter(pk__in=b_ids[:3]).update(opened_at=clock.now())
    messages.filter(pk__in=b_ids[:1]).update(clicked_at=clock.now())
    # when the sequence page is read
    step = _step(sequence)
    rows = {v.label: v for v in selectors.variant_metrics(sequence=sequence, steps=[step])[step.pk]}
    with django_assert_max_num_queries(20):
        page = logged_in.get(reverse("sequences:detail", args=[sequence.pk])).content.decode()
    # then each variant's sent, opens and clicks are shown beside the step's metrics
    assert set(rows) == {"A", "B"}
    assert rows["A"].sent + rows["B"].sent == 20
    assert (rows["B"].sent, rows["B"].opened, rows["B"].clicked) == (len(b_ids), 3, 1)
    assert (rows["A"].opened, rows["A"].clicked) == (0, 0)
    assert 'data-variant="B"' in page and 'data-variant="A"' in page
    assert f'<td class="num">{rows["B"].sent}</td>' in page
