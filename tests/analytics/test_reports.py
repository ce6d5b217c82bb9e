"""The sequence, handoff and forecast reports and their pages: numbers computed by hand on small
stories played through the real services, exports, permissions and bad input."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from sokyaku.analytics.metrics import Metric, raw_counts
from sokyaku.analytics.period import Filters, Period, filters_resolve
from sokyaku.analytics.selectors import reports
from sokyaku.analytics.selectors.reports import MailCounts
from sokyaku.core import clock
from sokyaku.core.errors import ValidationError
from sokyaku.messaging.models import Message
from sokyaku.messaging.services import broadcasts
from sokyaku.sequences.models import Sequence, Step, StepKind
from sokyaku.sequences.services.editing import StepInput
from sokyaku.sequences.services.enrollment import sequence_enroll
from sokyaku.sequences.services.tick import sequences_tick
from tests.analytics import reports_stories
from tests.analytics.reports_factories import click_mail, deliver, goal_action, mail, open_mail
from tests.analytics.reports_stories import Nurture, SalesWeek, mail_steps
from tests.handoff.factories import team_make
from tests.messaging.content_helpers import static_segment
from tests.sequences.factories import (
    TOPIC,
    contact_make,
    email,
    sender_make,
    sequence_make,
    template_make,
    tokyo,
)

pytestmark = pytest.mark.django_db

nurture = reports_stories.nurture
ab_test = reports_stories.ab_test
sales_week = reports_stories.sales_week
two_reps = reports_stories.two_reps

JUNE_1 = Period(first=date(2026, 6, 1), last=date(2026, 6, 1))
JUNE = Period(first=date(2026, 6, 1), last=date(2026, 6, 30))


def _csv(response) -> list[list[str]]:  # type: ignore[no-untyped-def]
    text = response.content.decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text)))


# --- sequences ------------------------------------------------------------------------------


def test_a_sequence_step_counts_what_happened_to_the_mails_sent_in_the_period(
    nurture: Nurture,
) -> None:
    rows = reports.sequence_report(JUNE_1)

    [row] = rows
    assert (row.kind, row.name, row.enrolled, row.goal_reached) == (
        "sequence",
        "資料請求フォロー",
        4,
        1,
    )
    assert row.goal_rate == 0.25
    first, second = row.steps
    assert (first.position, first.name) == (1, "お礼")
    assert first.counts == MailCounts(
        sent=4, delivered=3, opened=2, clicked=1, converted=1, unsubscribed=1, bounced=1
    )
    assert (first.counts.open_rate, first.counts.ctr, first.counts.conversion_rate) == (
        2 / 3,
        1 / 3,
        1 / 3,
    )
    assert [v.variant for v in first.variants] == [""] and not first.has_variants
    # mail 2 went out on Tuesday: listed, with nothing to count, and no rate rather than 0 %
    assert (second.name, second.counts.sent, second.counts.open_rate) == ("事例", 0, None)
    assert row.counts == first.counts


def test_a_longer_period_adds_the_next_step_and_keeps_the_first(nurture: Nurture) -> None:
    [row] = reports.sequence_report(Period(first=date(2026, 6, 1), last=date(2026, 6, 2)))

    first, second = row.steps
    assert first.counts.sent == 4
    # 佐藤 reached the goal and 高橋 opted out: 鈴木 gets mail 2; 田中's address is suppressed
    assert second.counts.sent == 1
    assert row.counts.sent == first.counts.sent + second.counts.sent


def test_the_report_counts_mails_as_the_kpis_do(nurture: Nurture) -> None:
    start, end = JUNE.bounds()
    raw = raw_counts(start, end)
    kpi = {m: sum(v for k, v in raw.items() if k[1] == m) for m in Metric}

    total = reports.sequence_report_total(reports.sequence_report(JUNE))

    assert (
        total.sent,
        total.delivered,
        total.opened,
        total.clicked,
        total.converted,
        total.unsubscribed,
        total.bounced,
    ) == (
        kpi[Metric.SENT],
        kpi[Metric.DELIVERED],
        kpi[Metric.OPENED],
        kpi[Metric.CLICKED],
        kpi[Metric.CONVERTED],
        kpi[Metric.UNSUBSCRIBED],
        kpi[Metric.BOUNCED],
    )


def test_variants_of_a_step_are_counted_apart_and_add_up_to_the_step(
    ab_test: tuple[Sequence, list[Step]],
) -> None:
    sequence, _ = ab_test

    [row] = reports.sequence_report(JUNE, sequence_id=sequence.pk)

    first, second = row.steps
    assert first.has_variants
    variants = {v.variant: v.counts for v in first.variants}
    assert list(variants) == ["A", "B"]
    assert variants["A"] == MailCounts(sent=3, delivered=3, opened=2, clicked=1, converted=1)
    assert variants["B"] == MailCounts(sent=2, delivered=2, opened=2)
    assert variants["B"].open_rate == 1.0 and variants["A"].ctr == 1 / 3
    assert first.counts == variants["A"] + variants["B"]
    assert not second.has_variants and second.counts.opened == 1


def test_variants_drawn_by_the_sequence_engine_are_the_report_s_variants() -> None:
    # given a mail step tested with a second subject line, and twenty leads going through it
    with clock.frozen(tokyo(2026, 6, 2, 10, 0)):
        base = template_make()
        sequence = sequence_make(
            steps=[
                StepInput(
                    StepKind.EMAIL,
                    "1通目",
                    {
                        "template": base.pk,
                        "variants": [{"label": "B", "subject": "件名B", "weight": 50}],
                    },
                )
            ]
        )
        for _ in range(20):
            sequence_enroll(sequence=sequence, contact=contact_make())
        sequences_tick()
        sent = [deliver(m) for m in Message.objects.filter(sequence_id=sequence.pk)]
    with clock.frozen(tokyo(2026, 6, 2, 11, 0)):
        for message in sent:
            if message.context.get("variant") == "B":
                open_mail(message)

    # when
    [row] = reports.sequence_report(JUNE, sequence_id=sequence.pk)

    # then the step's mail splits into A and B as the engine labelled it, B all opened
    [step] = row.steps
    labelled = {label: sum(1 for m in sent if m.context.get("variant") == label) for label in "AB"}
    assert {v.variant: v.counts.sent for v in step.variants} == labelled
    assert sum(labelled.values()) == 20 and all(labelled.values())
    by_label = {v.variant: v.counts for v in step.variants}
    assert by_label["B"].open_rate == 1.0 and by_label["A"].opened == 0


def test_a_click_without_a_goal_action_within_seven_days_is_not_a_conversion() -> None:
    sender, template = sender_make(), template_make()
    with clock.frozen(tokyo(2026, 6, 1, 10, 0)):
        sequence = sequence_make(steps=[email()])
        [step] = mail_steps(sequence)
        late, early = contact_make(), contact_make()
        late_mail = mail(contact=late, sender=sender, template=template, step=step)
        early_mail = mail(contact=early, sender=sender, template=template, step=step)
    with clock.frozen(tokyo(2026, 6, 1, 10, 30)):
        goal_action(early)  # before the click: not caused by the mail
    with clock.frozen(tokyo(2026, 6, 1, 11, 0)):
        click_mail(late_mail)
        click_mail(early_mail)
    with clock.frozen(tokyo(2026, 6, 8, 10, 1)):  # seven days and a minute after sending
        goal_action(late)

    [row] = reports.sequence_report(JUNE)

    assert (row.counts.clicked, row.counts.converted) == (2, 0)


def test_broadcasts_are_rows_of_their_own_and_left_out_for_one_sequence(
    nurture: Nurture,
) -> None:
    readers = [contact_make(), contact_make()]
    with clock.frozen(tokyo(2026, 6, 1, 15, 0)):
        broadcast = broadcasts.broadcast_create(
            name="6月号ニュースレター", template=template_make(), sender=sender_make(),
            segment=static_segment("読者", readers), topic_key=TOPIC, actor=None,
        )  # fmt: skip
        broadcasts.broadcast_schedule(broadcast=broadcast, at=None, actor=None)
        broadcasts.broadcast_start(broadcast=broadcast)
        sent = [deliver(m) for m in Message.objects.filter(broadcast=broadcast)]
    with clock.frozen(tokyo(2026, 6, 1, 16, 0)):
        open_mail(sent[0])

    rows = reports.sequence_report(JUNE_1)
    narrowed = reports.sequence_report(JUNE_1, sequence_id=nurture.sequence.pk)

    assert [(r.kind, r.name) for r in rows] == [
        ("sequence", "資料請求フォロー"),
        ("broadcast", "6月号ニュースレター"),
    ]
    assert rows[1].counts == MailCounts(sent=2, delivered=2, opened=1)
    assert rows[1].steps == [] and rows[1].enrolled is None and rows[1].goal_rate is None
    assert [r.kind for r in narrowed] == ["sequence"]


def test_an_empty_period_answers_zeros_and_the_sequence_asked_for(nurture: Nurture) -> None:
    may = Period(first=date(2026, 5, 1), last=date(2026, 5, 31))

    everything = reports.sequence_report(may)
    one = reports.sequence_report(may, sequence_id=nurture.sequence.pk)

    assert everything == []
    assert reports.sequence_report_is_empty(everything)
    [row] = one
    assert row.counts == MailCounts() and row.enrolled == 0 and row.goal_rate is None
    assert [s.name for s in row.steps] == ["お礼", "事例"]
    assert reports.sequence_report_is_empty(one)


def test_an_unknown_sequence_is_refused() -> None:
    with pytest.raises(ValidationError) as refused:
        reports.sequence_report(JUNE, sequence_id=999_999)
    assert "sequence" in refused.value.field_errors


def test_the_report_reads_the_same_number_of_queries_for_one_sequence_or_many(
    django_assert_num_queries: Any,
) -> None:
    sender, template = sender_make(), template_make()

    def sequence_with_mail(steps: int) -> None:
        sequence = sequence_make(steps=[email() for _ in range(steps)])
        for step in mail_steps(sequence):
            mail(contact=contact_make(), sender=sender, template=template, step=step, variant="A")

    with clock.frozen(tokyo(2026, 6, 1, 10, 0)):
        sequence_with_mail(1)
    with django_assert_num_queries(5):
        reports.sequence_report(JUNE)
    with clock.frozen(tokyo(2026, 6, 1, 10, 0)):
        sequence_with_mail(3)
        sequence_with_mail(2)
    with django_assert_num_queries(5):
        rows = reports.sequence_report(JUNE)
    assert sum(len(r.steps) for r in rows) == 6


# --- handoffs -------------------------------------------------------------------------------


def test_the_handoff_report_counts_outcomes_sla_speed_and_opportunities(
    sales_week: SalesWeek,
) -> None:
    report = reports.handoff_report(JUNE, Filters())

    total = report.total
    assert (total.handoffs, total.accepted, total.rejected, total.open) == (4, 1, 2, 1)
    assert (total.sla_met, total.sla_breached, total.sla_met_rate) == (2, 1, 2 / 3)
    assert (total.converted, total.opportunity_rate) == (1, 0.25)
    # speed to lead: 30 min, 2 h (the rejection), 49 h → the median is 2 h
    assert total.median_speed_minutes == 120
    assert [(r.reason, r.count, r.share) for r in report.reject_reasons] == [("no_budget", 2, 1.0)]
    assert not report.no_data


def test_the_handoff_report_per_rep_and_per_trigger(sales_week: SalesWeek, english: None) -> None:
    report = reports.handoff_report(JUNE, Filters())

    reps = {g.label: g.counts for g in report.by_rep}
    assert list(reps) == ["田中 健太", "鈴木 花子"]
    tanaka, suzuki = reps["田中 健太"], reps["鈴木 花子"]
    assert (tanaka.handoffs, tanaka.accepted, tanaka.rejected, tanaka.sla_met) == (2, 1, 1, 2)
    assert (tanaka.median_speed_minutes, tanaka.opportunity_rate) == (75, 0.5)
    assert (suzuki.open, suzuki.sla_breached, suzuki.sla_met_rate) == (1, 1, 0.0)
    assert (suzuki.median_speed_minutes, suzuki.opportunity_rate) == (49 * 60, 0.0)
    triggers = {g.label: g.counts.handoffs for g in report.by_trigger}
    assert triggers == {"デモ申し込み": 2, "料金ページ閲覧": 2}
    assert report.reject_reasons[0].label == "No budget"


def test_the_handoff_report_narrows_to_an_owner_or_a_team(sales_week: SalesWeek) -> None:
    team = team_make(sales_week.suzuki, name="第二営業課")

    by_owner = reports.handoff_report(JUNE, filters_resolve(owner=sales_week.tanaka.pk))
    by_team = reports.handoff_report(JUNE, filters_resolve(team=team.pk))

    assert [g.key for g in by_owner.by_rep] == [sales_week.tanaka.pk]
    assert by_owner.total.handoffs == 2
    assert [g.key for g in by_team.by_rep] == [sales_week.suzuki.pk]
    assert by_team.total.rejected == 1


def test_a_period_without_handoffs_is_zeros_and_no_data(sales_week: SalesWeek) -> None:
    report = reports.handoff_report(Period(date(2026, 7, 1), date(2026, 7, 31)), Filters())

    assert report.no_data
    assert report.total.handoffs == 0 and report.total.opportunity_rate is None
    assert report.total.median_speed_minutes is None and report.by_rep == []


# --- forecast -------------------------------------------------------------------------------


def test_forecast_against_won_per_month_and_rep(two_reps: tuple[User, User]) -> None:
    sato, suzuki = two_reps

    report = reports.forecast_report(Period(first=date(2026, 5, 10), last=date(2026, 6, 20)))

    assert report.months == [date(2026, 5, 1), date(2026, 6, 1)]
    may, june = report.month_totals
    assert (may.weighted, may.won, may.created, may.created_amount) == (
        300_000,
        800_000,
        4,
        2_700_000,
    )
    assert (june.weighted, june.won, june.created, june.pipeline) == (300_000, 400_000, 0, 500_000)
    assert (may.variance, may.attainment) == (500_000, 800_000 / 300_000)
    rows = {r.owner_id: r for r in report.rows}
    assert [r.name for r in report.rows] == ["佐藤 一郎", "鈴木 次郎"]
    assert [c.weighted for c in rows[sato.pk].cells] == [300_000, 300_000]
    assert rows[sato.pk].total.won == 0 and rows[sato.pk].total.created_amount == 1_500_000
    assert [c.won for c in rows[suzuki.pk].cells] == [800_000, 400_000]
    assert report.total.attainment == 2.0 and not report.no_data


def test_forecast_of_a_period_longer_than_three_years(two_reps: tuple[User, User]) -> None:
    report = reports.forecast_report(Period(first=date(2023, 1, 1), last=date(2026, 12, 31)))

    assert len(report.months) == 48
    assert report.total.won == 999 + 800_000 + 400_000
    assert report.total.weighted == 600_000


def test_forecast_of_empty_months_is_no_data() -> None:
    report = reports.forecast_report(Period(first=date(2026, 1, 1), last=date(2026, 1, 31)))

    assert report.no_data and report.rows == []
    assert report.total.attainment is None


# --- pages ----------------------------------------------------------------------------------


@pytest.fixture
def page(logged_in: Client, english: None) -> Iterator[Client]:
    with clock.frozen(tokyo(2026, 6, 15, 9, 0)):
        yield logged_in


def test_the_sequence_page_shows_steps_variants_and_the_funnel(
    page: Client, ab_test: tuple[Sequence, list[Step]]
) -> None:
    sequence, _ = ab_test

    response = page.get(reverse("analytics:sequences"), {"from": "2026-06-01", "to": "2026-06-30"})

    assert response.status_code == 200
    html = response.content.decode()
    assert "ウェビナー案内" in html
    assert 'data-variant="A"' in html and 'data-variant="B"' in html
    assert "data-figure=" in html  # the funnel chart
    assert "66.7%" in html  # variant A's open rate (2 of 3)
    assert 'aria-current="page" data-tab="sequences"' in html
    one = page.get(
        reverse("analytics:sequences"),
        {"from": "2026-06-01", "to": "2026-06-30", "sequence": str(sequence.pk)},
    )
    assert one.status_code == 200 and "Rates by step" in one.content.decode()


def test_the_sequence_tables_download_as_csv_and_xlsx(
    page: Client, ab_test: tuple[Sequence, list[Step]]
) -> None:
    params = {"from": "2026-06-01", "to": "2026-06-30", "format": "csv"}

    summary = page.get(reverse("analytics:sequences"), params)
    steps = page.get(reverse("analytics:sequences"), {**params, "table": "steps"})
    xlsx = page.get(reverse("analytics:sequences"), {**params, "format": "xlsx"})

    assert summary["Content-Type"].startswith("text/csv")
    header, *rows = _csv(summary)
    assert header[:3] == ["Kind", "Sequence or broadcast", "Enrolments"]
    assert rows[0][:2] == ["Sequence", "ウェビナー案内"]
    step_rows = _csv(steps)
    assert step_rows[0][:4] == ["Sequence", "Step", "Step name", "Variant"]
    assert [(r[1], r[3], r[4]) for r in step_rows[1:]] == [
        ("1", "A", "3"),
        ("1", "B", "2"),
        ("2", "", "1"),
    ]
    assert xlsx["Content-Type"].startswith("application/vnd.openxmlformats")
    assert xlsx.content[:2] == b"PK"


def test_formula_like_names_are_neutralised_in_downloads(page: Client) -> None:
    with clock.frozen(tokyo(2026, 6, 1, 10, 0)):
        sequence_make(name="=HYPERLINK(1)", steps=[email()])
        sequence = Sequence.objects.get(name="=HYPERLINK(1)")
        sequence_enroll(sequence=sequence, contact=contact_make())

    rows = _csv(page.get(reverse("analytics:sequences"), {"from": "2026-06-01", "format": "csv"}))

    assert rows[1][1] == "'=HYPERLINK(1)"


def test_an_empty_period_shows_no_data(page: Client) -> None:
    response = page.get(reverse("analytics:sequences"), {"from": "2026-05-01", "to": "2026-05-31"})

    html = response.content.decode()
    assert response.status_code == 200
    assert "No data" in html and "data-no-data" in html


def test_an_end_before_the_start_is_explained_on_every_report_page(page: Client) -> None:
    for name in ("sequences", "handoffs", "forecast"):
        response = page.get(
            reverse(f"analytics:{name}"), {"from": "2026-06-30", "to": "2026-06-01"}
        )

        html = response.content.decode()
        assert "is before the start date" in html, name
        assert "data-no-data" not in html and "<table" not in html


def test_an_unknown_sequence_is_a_field_error(page: Client) -> None:
    response = page.get(reverse("analytics:sequences"), {"sequence": "999999"})

    assert "Sequence 999999 does not exist." in response.content.decode()


def test_the_handoff_page_with_reasons_reps_and_filters(
    page: Client, sales_week: SalesWeek
) -> None:
    url = reverse("analytics:handoffs")
    june: dict[str, str | int] = {"from": "2026-06-01", "to": "2026-06-30"}

    response = page.get(url, june)
    narrowed = page.get(url, {**june, "owner": sales_week.suzuki.pk})
    reasons = _csv(page.get(url, {**june, "format": "csv", "table": "reasons"}))
    reps = _csv(page.get(url, {**june, "format": "csv"}))

    html = response.content.decode()
    assert response.status_code == 200
    assert "田中 健太" in html and "鈴木 花子" in html and "No budget" in html
    assert "1 h 15 min" in html  # 田中's median speed to lead
    assert "田中 健太" not in narrowed.content.decode().split('id="handoff-reps"')[1]
    assert reasons == [
        ["Reject reason", "Rejected", "Share of rejections"],
        ["No budget", "2", "1"],
    ]
    assert reps[0][0] == "Rep" and reps[-1][:2] == ["Total", "4"]


def test_the_forecast_page_charts_won_against_forecast(
    page: Client, two_reps: tuple[User, User]
) -> None:
    url = reverse("analytics:forecast")

    response = page.get(url, {"from": "2026-05-01", "to": "2026-06-30"})
    months = _csv(page.get(url, {"from": "2026-05-01", "to": "2026-06-30", "format": "csv"}))

    html = response.content.decode()
    assert response.status_code == 200
    assert "data-figure=" in html and "¥800,000" in html
    assert months[1][:3] == ["2026-05", "300000", "800000"]
    assert months[-1][0] == "Total"


def test_the_sequence_report_is_marketings_the_sales_reports_open_to_reps(
    client: Client, sales_rep: User
) -> None:
    for name in ("sequences", "handoffs", "forecast"):
        anonymous = client.get(reverse(f"analytics:{name}"))
        assert anonymous.status_code == 302
    client.force_login(sales_rep)
    assert client.get(reverse("analytics:sequences")).status_code == 403
    # narrowed to the rep's own numbers (tests/analytics/test_team_reports.py)
    for name in ("handoffs", "forecast"):
        assert client.get(reverse(f"analytics:{name}")).status_code == 200


def test_a_month_is_forecast_as_it_stood_when_it_began(db) -> None:  # type: ignore[no-untyped-def]
    # given a deal in 提案 expected to close on June 20 (open on June 1), won on June 15
    from sokyaku.deals import services as deal_services
    from tests.deals.factories import deal_make

    with clock.frozen(reports_stories.tokyo(2026, 5, 20, 10, 0)):
        deal = deal_make(amount=1_000_000, stage_name="提案", expected_close=date(2026, 6, 20))
    with clock.frozen(reports_stories.tokyo(2026, 6, 15, 10, 0)):
        deal_services.deal_win(deal=deal, actor=None)
    # when June is reported after the win
    with clock.frozen(reports_stories.tokyo(2026, 7, 2, 10, 0)):
        june = reports.forecast_report(Period(first=date(2026, 6, 1), last=date(2026, 6, 30)))
    # then June's forecast is the deal at 提案's probability (as on June 1), not zero because
    # the deal is no longer open, and the attainment is won against that forecast
    probability = deal.stage.probability
    (cell,) = june.month_totals
    assert probability > 0
    assert cell.weighted == 1_000_000 * probability // 100
    assert cell.won == 1_000_000
    assert cell.attainment == 1_000_000 / cell.weighted
