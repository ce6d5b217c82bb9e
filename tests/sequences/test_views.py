"""The sequences UI: list, sequence page (flow, metrics, preview), step editing with errors,
pause/resume, and the contact panel's manual enrol/remove (marketers; reps for their own)."""

from __future__ import annotations

import re
from html import unescape

import pytest
from django import forms
from django.template import Context, Template
from django.test import Client, RequestFactory
from django.urls import reverse

from sokyaku.capture.models import Form
from sokyaku.contacts.services import ContactInput, contact_update
from sokyaku.core import clock
from sokyaku.sequences.forms import SequenceSettingsForm
from sokyaku.sequences.models import Enrollment, Sequence, SequenceStatus, Step, StepKind
from sokyaku.sequences.presets import sequences_presets_install_if_missing
from sokyaku.sequences.services.editing import StepInput
from sokyaku.sequences.services.enrollment import MANUAL, enrollment_exit, sequence_enroll
from sokyaku.sequences.services.tick import sequences_tick
from tests.sequences.factories import (
    contact_make,
    email,
    sequence_make,
    template_make,
    tokyo,
    wait,
)

pytestmark = pytest.mark.django_db


def test_list_shows_numbers_in_few_queries(
    logged_in: Client, django_assert_max_num_queries
) -> None:  # type: ignore[no-untyped-def]
    for i in range(5):
        sequence = sequence_make(name=f"ナーチャリング {i}")
        sequence_enroll(sequence=sequence, contact=contact_make())
    with django_assert_max_num_queries(12):
        response = logged_in.get(reverse("sequences:list"))
    assert response.status_code == 200
    assert "ナーチャリング 4" in response.content.decode()


def test_sequence_page_shows_flow_enrolments_and_preview(
    logged_in: Client,
    django_assert_max_num_queries,  # type: ignore[no-untyped-def]
) -> None:
    with clock.frozen(tokyo(2026, 11, 19, 10, 0)):
        sequence = sequence_make(steps=[email(), wait(4), email()])
        contacts = [contact_make(family_name=f"山本{i}") for i in range(10)]
        for contact in contacts:
            sequence_enroll(sequence=sequence, contact=contact)
        sequences_tick()
    url = reverse("sequences:detail", args=[sequence.pk])
    with django_assert_max_num_queries(20):
        response = logged_in.get(url, {"contact": contacts[0].pk, "start": "2026-11-20T19:30"})
    html = response.content.decode()
    assert response.status_code == 200
    assert "山本0" in html
    assert "2026-11-24" in html  # the preview skipped 勤労感謝の日


def test_step_form_shows_validation_errors_and_keeps_steps(logged_in: Client) -> None:
    sequence = sequence_make(active=False)
    url = reverse("sequences:step_add", args=[sequence.pk])

    response = logged_in.post(url, {"kind": "wait", "amount": "", "unit": "fortnights"})

    # the wait form comes back open at its place with the errors on its fields
    html = response.content.decode()
    assert response.status_code == 422
    assert 'role="alert"' in html
    assert 'id="new_amount"' in html and 'id="new_unit"' in html
    assert html.count('class="field__error"') == 2
    assert Step.objects.filter(sequence=sequence).count() == 1


def _flow(html: str) -> str:
    start = html.index('id="seq-flow"')
    return html[start : html.index("</section>", start)]


def test_choosing_a_kind_opens_a_form_with_only_that_kinds_fields(logged_in: Client) -> None:
    # given mail 1 and mail 2
    sequence = sequence_make(active=False, steps=[email(name="1通目"), email(name="2通目")])

    # when "wait" is chosen on the + between them
    response = logged_in.get(
        reverse("sequences:detail", args=[sequence.pk]), {"insert": 2, "kind": "wait"}
    )

    # then a wait form opens at that place: amount and unit (3 business days offered), nothing else
    flow = _flow(response.content.decode())
    slot = flow[flow.index('id="insert-2"') : flow.index('id="step-2"')]
    assert 'name="position" value="2"' in slot
    assert 'id="new_amount"' in slot and 'value="3"' in slot
    assert '<option value="business_days" selected>営業日</option>' in slot
    for other in ("new_template", "new_channel", "new_condition", "new_yes", "new_tag"):
        assert f'id="{other}"' not in slot


def test_insert_a_branch_between_steps_and_see_its_paths(logged_in: Client) -> None:
    # given 1 mail, 2 wait, 3 mail 2, 4 mail 3
    first, second, third = (template_make(n) for n in ("お礼と資料", "事例紹介", "デモのご案内"))
    sequence = sequence_make(
        active=False,
        steps=[email(first, "1通目"), wait(3), email(second, "2通目"), email(third, "3通目")],
    )
    mail2 = Step.objects.get(sequence=sequence, name="2通目")
    mail3 = Step.objects.get(sequence=sequence, name="3通目")

    # when a branch "opened the previous mail? yes → mail 2, no → mail 3" is inserted at 3
    response = logged_in.post(
        reverse("sequences:step_add", args=[sequence.pk]),
        {
            "kind": "branch",
            "position": "3",
            "condition": "opened",
            "yes": str(mail2.pk),
            "no": str(mail3.pk),
        },
    )
    assert response.status_code == 302

    # then the flow shows the steps in order, the branch in words with its labelled targets
    flow = _flow(logged_in.get(response.url).content.decode())
    titles = re.findall(r'class="seq-step__title">([^<]*)<', flow)
    assert titles == ["1通目", "3営業日後", "直前のメールを開封した", "2通目", "3通目"]
    assert 'data-answer="yes"' in flow
    yes = flow[flow.index('data-answer="yes"') : flow.index('data-answer="no"')]
    no = flow[flow.index('data-answer="no"') :]
    assert "はい" in yes and "4. 2通目" in yes
    assert "いいえ" in no and "5. 3通目" in no[: no.index("</div>")]
    assert "ステップ3の「いいえ」から" in flow
    assert "business_days" not in flow.replace('value="business_days"', "")


def test_a_branch_target_can_be_the_end_and_is_kept_after_editing(logged_in: Client) -> None:
    sequence = sequence_make(active=False, steps=[email(name="1通目"), email(name="2通目")])
    logged_in.post(
        reverse("sequences:step_add", args=[sequence.pk]),
        {"kind": "branch", "position": "2", "condition": "clicked", "yes": "", "no": "end"},
    )
    branch = Step.objects.get(sequence=sequence, kind="branch")
    assert branch.config["no"] == 4

    page = logged_in.get(reverse("sequences:detail", args=[sequence.pk])).content.decode()
    assert "ステップメール終了" in page
    # the edit form shows the stored targets chosen
    edit = page[page.index(f'id="step{branch.pk}_no"') :]
    assert '<option value="end" selected>' in edit[: edit.index("</select>")]


def test_edit_a_wait_in_place(logged_in: Client) -> None:
    sequence = sequence_make(active=False, steps=[email(name="1通目"), wait(3)])
    step = Step.objects.get(sequence=sequence, kind="wait")

    response = logged_in.post(
        reverse("sequences:step_edit", args=[sequence.pk, step.pk]),
        {"amount": "5", "unit": "days", "name": ""},
    )

    assert response.status_code == 302
    step.refresh_from_db()
    assert step.config == {"amount": 5, "unit": "days"}
    assert "5日後" in logged_in.get(response.url).content.decode()


def test_edit_with_bad_input_keeps_the_step_and_shows_the_error(logged_in: Client) -> None:
    sequence = sequence_make(active=False, steps=[email(name="1通目"), wait(3)])
    step = Step.objects.get(sequence=sequence, kind="wait")

    response = logged_in.post(
        reverse("sequences:step_edit", args=[sequence.pk, step.pk]),
        {"amount": "-1", "unit": "days"},
    )

    assert response.status_code == 422
    assert "field__error" in response.content.decode()
    step.refresh_from_db()
    assert step.config == {"amount": 3, "unit": "business_days"}


def test_move_a_step_to_a_place_and_a_refused_move_says_why(logged_in: Client) -> None:
    sequence = sequence_make(
        active=False,
        steps=[
            email(name="1通目"),
            StepInput(
                StepKind.BRANCH, "分岐", {"condition": {"kind": "opened"}, "yes": 3, "no": 4}
            ),
            email(name="2通目"),
            email(name="3通目"),
        ],
    )
    mail3 = Step.objects.get(sequence=sequence, name="3通目")
    branch = Step.objects.get(sequence=sequence, name="分岐")

    response = logged_in.post(
        reverse("sequences:step_move", args=[sequence.pk, mail3.pk]), {"position": "3"}
    )
    assert response.status_code == 302
    assert list(
        Step.objects.filter(sequence=sequence).order_by("position").values_list("name", flat=True)
    ) == ["1通目", "分岐", "3通目", "2通目"]

    response = logged_in.post(
        reverse("sequences:step_move", args=[sequence.pk, branch.pk]), {"position": "3"}
    )
    assert response.status_code == 422
    assert "分岐の進み先は分岐より下のステップだけです" in response.content.decode()
    branch.refresh_from_db()
    assert branch.position == 2


def test_trigger_and_settings_read_in_words(logged_in: Client) -> None:
    form = Form.objects.create(
        name="資料請求", slug="shiryo", created_at=clock.now(), updated_at=clock.now()
    )
    sequence = sequence_make(
        trigger_kind="form_submitted",
        trigger_config={"form": form.pk},
        steps=[email(name="1通目"), wait(3)],
        exit_on=["mql", "unsubscribed"],
    )

    html = logged_in.get(reverse("sequences:detail", args=[sequence.pk])).content.decode()

    assert "フォーム「資料請求」の送信" in html
    assert "月〜金 9:00–18:00" in html
    assert "3営業日後" in html
    assert "MQLになった、配信停止" in html
    for raw in ("{'form'", "business_days<", "1, 2, 3", "form_submitted"):
        assert raw not in html
    listing = logged_in.get(reverse("sequences:list")).content.decode()
    assert "フォーム「資料請求」の送信" in listing


def test_add_move_remove_steps(logged_in: Client) -> None:
    sequence = sequence_make(active=False)
    logged_in.post(
        reverse("sequences:step_add", args=[sequence.pk]),
        {"kind": "wait", "amount": "3", "unit": "days"},
    )
    wait_step = Step.objects.get(sequence=sequence, kind="wait")
    logged_in.post(reverse("sequences:step_change", args=[sequence.pk, wait_step.pk, "up"]))
    assert list(Step.objects.filter(sequence=sequence).values_list("kind", flat=True)) == [
        "wait",
        "email",
    ]
    logged_in.post(reverse("sequences:step_change", args=[sequence.pk, wait_step.pk, "remove"]))
    assert list(Step.objects.filter(sequence=sequence).values_list("kind", "position")) == [
        ("email", 1)
    ]


def test_pause_and_resume(logged_in: Client) -> None:
    sequence = sequence_make()
    logged_in.post(reverse("sequences:status", args=[sequence.pk, "pause"]))
    sequence.refresh_from_db()
    assert sequence.status == SequenceStatus.PAUSED
    logged_in.post(reverse("sequences:status", args=[sequence.pk, "resume"]))
    sequence.refresh_from_db()
    assert sequence.status == SequenceStatus.ACTIVE


def test_a_rep_enrols_own_contact_but_not_others(client: Client, sales_rep) -> None:  # type: ignore[no-untyped-def]
    sequence = sequence_make(steps=[wait(1), email()])
    own, other = contact_make(), contact_make()
    contact_update(contact=own, data=ContactInput(owner_id=sales_rep.pk))
    client.force_login(sales_rep)
    ok = client.post(reverse("sequences:contact_enroll", args=[own.pk]), {"sequence": sequence.pk})
    refused = client.post(
        reverse("sequences:contact_enroll", args=[other.pk]), {"sequence": sequence.pk}
    )
    assert ok.status_code == 302 and refused.status_code == 404  # another's contact: not there
    assert list(Enrollment.objects.values_list("contact_id", flat=True)) == [own.pk]
    assert (
        client.post(reverse("sequences:step_add", args=[sequence.pk]), {"kind": "goal"}).status_code
        == 403
    )


def test_contact_panel_shows_next_step_and_run_time(marketer) -> None:  # type: ignore[no-untyped-def]
    with clock.frozen(tokyo(2026, 11, 19, 10, 0)):
        sequence = sequence_make(
            name="B2B 資料請求フォロー", steps=[email(name="お礼"), wait(4), email(name="事例")]
        )
        contact = contact_make()
        sequence_enroll(sequence=sequence, contact=contact)
        sequences_tick()
    request = RequestFactory().get("/")
    request.user = marketer
    html = Template("{% load sequences_ui %}{% sequences_panel contact %}").render(
        Context({"contact": contact, "request": request, "csrf_token": "t"})
    )
    assert "B2B 資料請求フォロー" in html
    assert "3. 事例" in html
    # the date as the rest of the Japanese UI writes it, in a table that scrolls in its card
    assert "2026/11/26 10:00" in html
    assert '<div class="tablewrap">' in html


def test_a_setting_added_to_the_form_shows_on_the_settings_page(
    logged_in: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given the settings form has a field the page's layout does not name
    extra = forms.IntegerField(label="最大登録数", required=False)
    monkeypatch.setitem(SequenceSettingsForm.base_fields, "max_enrolments", extra)
    sequence = sequence_make(active=False)

    html = logged_in.get(reverse("sequences:settings", args=[sequence.pk])).content.decode()

    # then it is shown, once, under その他の設定
    assert "その他の設定" in html
    assert html.count('name="max_enrolments"') == 1


def test_every_preset_reads_in_words(logged_in: Client) -> None:
    # given the preset sequences (asset and event triggers, waits, goals, B2C windows)
    presets = sequences_presets_install_if_missing()

    for sequence in presets:
        html = logged_in.get(reverse("sequences:detail", args=[sequence.pk])).content.decode()
        text = unescape(re.sub(r"<[^>]+>", " ", html))  # what a person reads, not attributes

        for raw in ("business_days", "{'", "[{", "['", "_abandoned", "form_submitted", "None"):
            assert raw not in text, (sequence.name, raw)
    b2b = Sequence.objects.get(name="B2B 資料請求フォロー")
    html = logged_in.get(reverse("sequences:detail", args=[b2b.pk])).content.decode()
    assert "月〜金 9:00–18:00" in html
    assert "12月29日〜1月3日" in html
    assert "4営業日後" in html
    assert "登録後に「" in html  # the goal: a demo request since enrolment
    cross_sell = Sequence.objects.get(name="クロスセル提案")
    html = logged_in.get(reverse("sequences:detail", args=[cross_sell.pk])).content.decode()
    assert "商談の受注（条件: 商品カテゴリ ∉ オプション）" in html


def test_a_score_branch_reads_as_a_whole_number_and_can_be_edited(logged_in: Client) -> None:
    condition = {"kind": "score_gte", "value": 50}
    sequence = sequence_make(
        active=False,
        steps=[email(name="1通目"), StepInput(StepKind.BRANCH, "", {"condition": condition})],
    )
    branch = Step.objects.get(sequence=sequence, kind="branch")

    html = logged_in.get(reverse("sequences:detail", args=[sequence.pk])).content.decode()
    assert "スコアが50点以上" in html
    score_input = re.search(rf'<input[^>]*id="step{branch.pk}_score"[^>]*>', html)
    assert score_input is not None and 'value="50"' in score_input.group(0)

    response = logged_in.post(
        reverse("sequences:step_edit", args=[sequence.pk, branch.pk]),
        {"condition": "score_gte", "score": "60", "yes": "", "no": ""},
    )
    assert response.status_code == 302
    branch.refresh_from_db()
    assert branch.config["condition"] == {"kind": "score_gte", "value": 60.0}


def test_a_sales_rep_may_not_edit_or_move_steps(client: Client, sales_rep) -> None:  # type: ignore[no-untyped-def]
    sequence = sequence_make(active=False, steps=[email(name="1通目"), wait(3)])
    step = Step.objects.get(sequence=sequence, kind="wait")
    client.force_login(sales_rep)

    edit = client.post(
        reverse("sequences:step_edit", args=[sequence.pk, step.pk]), {"amount": 1, "unit": "days"}
    )
    move = client.post(reverse("sequences:step_move", args=[sequence.pk, step.pk]), {"position": 1})
    page = client.get(reverse("sequences:detail", args=[sequence.pk])).content.decode()

    assert (edit.status_code, move.status_code) == (403, 403)
    step.refresh_from_db()
    assert (step.position, step.config["amount"]) == (2, 3)
    assert "seq-insert" not in page and "seq-step__handle" not in page


def test_contact_panel_and_enrolments_say_why_an_enrolment_ended(
    logged_in: Client, marketer
) -> None:  # type: ignore[no-untyped-def]
    sequence = sequence_make(name="ウェビナー後フォロー")
    contact = contact_make()
    enrollment = sequence_enroll(sequence=sequence, contact=contact)
    enrollment_exit(enrollment=enrollment, reason=MANUAL, actor=marketer)

    request = RequestFactory().get("/")
    request.user = marketer
    panel = Template("{% load sequences_ui %}{% sequences_panel contact %}").render(
        Context({"contact": contact, "request": request, "csrf_token": "t"})
    )
    page = logged_in.get(reverse("sequences:detail", args=[sequence.pk])).content.decode()

    assert "(手動で解除)" in panel and "manual" not in panel
    assert "<td>手動で解除</td>" in page


def test_the_timeline_calls_a_sequence_what_the_menu_calls_it() -> None:
    from django.utils import translation

    from sokyaku.activity.models import EventType

    # the menu and the pages say ステップメール; the contact's timeline must not say シナリオ
    with translation.override("ja"):
        assert str(EventType.SEQUENCE_ENROLLED.label) == "ステップメールに登録"
        assert str(EventType.SEQUENCE_EXITED.label) == "ステップメールから離脱"
        # nor シーケンス on the settings page
        assert (
            translation.gettext("Do not enrol while in") == "次のステップメールに登録中は開始しない"
        )
