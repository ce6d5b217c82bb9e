"""Creating a sequence and editing its settings in the UI: one form over ``sequence_create`` /
``sequence_update``, the service's errors on the fields (nothing stored then), marketers only."""

from __future__ import annotations

from datetime import time
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from sokyaku.capture.models import Asset
from sokyaku.capture.services.assets import AssetInput, asset_create
from sokyaku.segments.services import segment_create
from sokyaku.sequences.models import ReentryPolicy, Sequence, TriggerKind
from tests.sequences.factories import TOPIC, sender_make, sequence_make, topic_make

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _topic(db) -> None:  # type: ignore[no-untyped-def]
    topic_make()


def whitepaper(title: str = "ITインフラ更新ガイド") -> Asset:
    return asset_create(
        data=AssetInput(title=title, kind="whitepaper", url="https://sample.example/wp.pdf")
    )


def settings_post(**changes: Any) -> dict[str, Any]:
    """A complete, valid settings form as a marketer fills it in (a manual sequence)."""
    return {
        "name": "資料請求フォロー",
        "description": "",
        "trigger_kind": TriggerKind.MANUAL,
        "reentry": ReentryPolicy.NEVER,
        "window_days": ["1", "2", "3", "4", "5"],
        "window_start": "09:00",
        "window_end": "18:00",
        "skip_holidays": "on",
        "closures": "",
        "topic_key": TOPIC,
        **changes,
    }


def shown_values(client: Client, url: str) -> dict[str, Any]:
    """The settings form's values as the page shows them, ready to be posted back."""
    form = client.get(url).context["form"]
    values = {name: form[name].value() for name in form.fields}
    return {name: value for name, value in values.items() if value not in (None, "")}


def test_a_marketer_creates_a_sequence_triggered_by_an_asset_download(
    logged_in: Client, english: None
) -> None:
    # given
    asset, sender = whitepaper(), sender_make()
    new_page = logged_in.get(reverse("sequences:create")).content.decode()
    # when
    response = logged_in.post(
        reverse("sequences:create"),
        settings_post(
            trigger_kind=TriggerKind.FORM_SUBMITTED,
            trigger_asset=str(asset.pk),
            window_start="10:00",
            window_end="17:00",
            closures="12-29〜01-03",
            exit_on=["mql", "bounced"],
            sender=str(sender.pk),
        ),
    )
    # then
    sequence = Sequence.objects.get()
    assert "12-29〜01-03" in new_page  # 年末年始 is offered as the default closure
    assert response.status_code == 302
    assert response["Location"] == reverse("sequences:detail", args=[sequence.pk])
    assert (sequence.name, sequence.status, sequence.trigger_config) == (
        "資料請求フォロー",
        "draft",
        {"asset": asset.pk},
    )
    assert (sequence.window_days, sequence.window_start, sequence.window_end) == (
        [1, 2, 3, 4, 5],
        time(10, 0),
        time(17, 0),
    )
    assert sequence.closures == [{"from": "12-29", "to": "01-03"}]
    assert (sequence.exit_on, sequence.sender_id, sequence.topic_key) == (
        ["mql", "bounced"],
        sender.pk,
        TOPIC,
    )
    list_page = logged_in.get(reverse("sequences:list")).content.decode()
    assert "資料請求フォロー" in list_page
    assert "New sequence" in list_page


def rows(*conditions: tuple[str, str, str]) -> dict[str, str]:
    """Entry-filter rows as the page posts them, with one empty row at the end."""
    posted: dict[str, str] = {}
    for index, (field, op, value) in enumerate([*conditions, ("", "eq", "")]):
        posted |= {f"where-{index}-property": field, f"where-{index}-op": op}
        posted[f"where-{index}-value"] = value
    return posted


def test_an_event_trigger_keeps_its_property_conditions(logged_in: Client) -> None:
    # The conditions a marketer used to type as JSON, now chosen row by row.
    typed = [
        {"field": "amount_jpy", "op": "gte", "value": 5000},
        {"field": "categories", "op": "in", "value": ["PC", "周辺機器"]},
        {"field": "url", "op": "startswith", "value": "/cart"},
        {"field": "topic", "op": "is_set", "value": True},
    ]
    response = logged_in.post(
        reverse("sequences:create"),
        settings_post(
            trigger_kind=TriggerKind.EVENT,
            event_type="cart_abandoned",
            **rows(
                ("amount_jpy", "gte", "５,０００"),
                ("categories", "in", "PC、 周辺機器"),
                ("url", "startswith", "/cart"),
                ("topic", "is_set", ""),
            ),
        ),
    )
    assert response.status_code == 302
    sequence = Sequence.objects.get()
    page = logged_in.get(reverse("sequences:settings", args=[sequence.pk])).content.decode()
    assert sequence.trigger_config == {"event_type": "cart_abandoned", "where": typed}
    assert '<option value="amount_jpy" selected>金額（円）</option>' in page
    assert '<option value="gte" selected>以上</option>' in page
    assert 'name="where-0-value" value="5000"' in page
    assert '<option value="in" selected>いずれか</option>' in page
    assert 'name="where-1-value" value="PC, 周辺機器"' in page
    assert '<option value="is_set" selected>値がある</option>' in page


def test_a_stored_is_not_set_condition_shows_and_saves_unchanged(logged_in: Client) -> None:
    sequence = sequence_make(
        trigger_kind=TriggerKind.DEAL_WON,
        trigger_config={
            "event_type": "",
            "where": [{"field": "categories", "op": "is_set", "value": False}],
        },
    )
    url = reverse("sequences:settings", args=[sequence.pk])
    page = logged_in.get(url).content.decode()
    assert '<option value="is_not_set" selected>値がない</option>' in page
    posted = settings_post(
        name=sequence.name,
        trigger_kind=TriggerKind.DEAL_WON,
        **rows(("categories", "is_not_set", "")),
    )
    assert logged_in.post(url, posted).status_code == 302
    sequence.refresh_from_db()
    assert sequence.trigger_config["where"] == [
        {"field": "categories", "op": "is_set", "value": False}
    ]


def test_an_entry_condition_without_a_number_is_an_error_in_japanese(logged_in: Client) -> None:
    response = logged_in.post(
        reverse("sequences:create"),
        settings_post(
            trigger_kind=TriggerKind.EVENT,
            event_type="purchase",
            **rows(("amount_jpy", "gte", "五千円")),
        ),
    )
    assert response.status_code == 200
    assert response.context["form"].errors["where"] == ["1行目：数値を入力してください。"]
    assert 'name="where-0-value" value="五千円"' in response.content.decode()
    assert not Sequence.objects.exists()


def test_a_marketer_edits_the_settings(logged_in: Client, english: None) -> None:
    # given
    asset = whitepaper()
    sequence = sequence_make(
        name="B2B 資料請求フォロー",
        trigger_kind=TriggerKind.FORM_SUBMITTED,
        trigger_config={"asset": asset.pk},
        window_start=time(10, 0),
        window_end=time(17, 0),
        closures=[{"from": "12-29", "to": "01-03"}],
    )
    url = reverse("sequences:settings", args=[sequence.pk])
    detail = logged_in.get(reverse("sequences:detail", args=[sequence.pk])).content.decode()
    values = shown_values(logged_in, url)
    # when
    response = logged_in.post(
        url, {**values, "window_end": "18:00", "reentry": "after_days", "reentry_days": "30"}
    )
    # then
    sequence.refresh_from_db()
    assert f'href="{url}"' in detail and "Edit settings" in detail
    assert response.status_code == 302
    assert (sequence.window_start, sequence.window_end) == (time(10, 0), time(18, 0))
    assert (sequence.reentry, sequence.reentry_days) == (ReentryPolicy.AFTER_DAYS, 30)
    assert (sequence.name, sequence.trigger_config, sequence.status) == (
        "B2B 資料請求フォロー",
        {"asset": asset.pk},
        "active",
    )
    assert sequence.closures == [{"from": "12-29", "to": "01-03"}]


@pytest.mark.parametrize(
    ("field", "changes", "shown"),
    [
        ("window_end", {"window_start": "17:00", "window_end": "10:00"}, "must be after the start"),
        (
            "segment",
            {"trigger_kind": TriggerKind.SEGMENT_ENTERED, "segment": "99999"},
            "Select a valid choice.",
        ),
        ("reentry_days", {"reentry": ReentryPolicy.AFTER_DAYS}, "Give the number of days."),
        ("closures", {"closures": "13-40〜01-03"}, "month-day like 12-29"),
        ("closures", {"closures": "年末年始"}, "Line 1: write a period as 12-29〜01-03."),
        (
            "where",
            {
                "trigger_kind": TriggerKind.EVENT,
                "event_type": "purchase",
                "where-0-property": "",
                "where-0-op": "eq",
                "where-0-value": "5000",
            },
            "Row 1: choose a property.",
        ),
        (
            "trigger_form",
            {"trigger_kind": TriggerKind.FORM_SUBMITTED},
            "Choose a form or an asset.",
        ),
        ("topic_key", {"topic_key": ""}, "Choose the consent topic the messages are sent under."),
    ],
)
def test_invalid_settings_show_field_errors_and_store_nothing(
    logged_in: Client, english: None, field: str, changes: dict[str, str], shown: str
) -> None:
    segment_create(name="展示会 2026", kind="static")
    response = logged_in.post(reverse("sequences:create"), settings_post(**changes))
    assert response.status_code == 200
    assert list(response.context["form"].errors) == [field]
    assert shown in response.content.decode()
    assert not Sequence.objects.exists()


def test_invalid_edit_leaves_the_sequence_as_it_was(logged_in: Client) -> None:
    sequence = sequence_make(window_start=time(10, 0), window_end=time(17, 0))
    url = reverse("sequences:settings", args=[sequence.pk])
    values = shown_values(logged_in, url)
    response = logged_in.post(url, {**values, "name": "新しい名前", "window_end": "08:00"})
    sequence.refresh_from_db()
    assert list(response.context["form"].errors) == ["window_end"]
    assert (sequence.name, sequence.window_end) == (values["name"], time(17, 0))


def test_a_taken_name_is_a_field_error(logged_in: Client, english: None) -> None:
    sequence_make(name="B2C ウェルカム")
    response = logged_in.post(reverse("sequences:create"), settings_post(name="B2C ウェルカム"))
    assert response.context["form"].errors == {
        "name": ["A sequence with this name exists already."]
    }
    assert Sequence.objects.count() == 1


def test_a_sales_rep_may_neither_create_nor_edit(client: Client, sales_rep, english: None) -> None:  # type: ignore[no-untyped-def]
    sequence = sequence_make()
    client.force_login(sales_rep)
    settings_url = reverse("sequences:settings", args=[sequence.pk])
    create_url = reverse("sequences:create")
    assert client.get(create_url).status_code == 403
    assert client.post(create_url, settings_post()).status_code == 403
    assert client.get(settings_url).status_code == 403
    assert client.post(settings_url, settings_post(name="x")).status_code == 403
    assert "New sequence" not in client.get(reverse("sequences:list")).content.decode()
    assert (
        "Edit settings"
        not in client.get(reverse("sequences:detail", args=[sequence.pk])).content.decode()
    )
    assert Sequence.objects.get().name == sequence.name


def test_settings_page_in_few_queries(logged_in: Client, django_assert_max_num_queries) -> None:  # type: ignore[no-untyped-def]
    for i in range(5):
        whitepaper(f"資料 {i}")
        segment = segment_create(name=f"セグメント {i}", kind="static")
        sender_make()
        topic_make(f"topic-{i}")
    sequence = sequence_make(
        trigger_kind=TriggerKind.SEGMENT_ENTERED, trigger_config={"segment": segment.pk}
    )
    # (+2: the other sequences for "do not enrol while in", and this one's exclusions)
    with django_assert_max_num_queries(13):
        response = logged_in.get(reverse("sequences:settings", args=[sequence.pk]))
    assert response.status_code == 200
    assert "資料 4" in response.content.decode()


def test_priority_and_exclusions_are_set_in_the_settings(logged_in: Client) -> None:
    # given the B2B sequence
    b2b = sequence_make(name="B2B 資料請求フォロー")
    # when the marketer creates the form's follow-up with a higher priority, excluding B2B
    response = logged_in.post(
        reverse("sequences:create"),
        settings_post(name="資料フォロー", priority="10", exclusions=[str(b2b.pk)]),
    )
    # then both are stored and shown again on the settings page
    assert response.status_code == 302
    follow_up = Sequence.objects.get(name="資料フォロー")
    assert follow_up.priority == 10
    assert list(follow_up.exclusions.all()) == [b2b]
    shown = shown_values(logged_in, reverse("sequences:settings", args=[follow_up.pk]))
    assert (shown["priority"], shown["exclusions"]) == (10, [b2b.pk])
    # and a priority out of range is a field error that stores nothing
    refused = logged_in.post(
        reverse("sequences:settings", args=[follow_up.pk]),
        {**shown, "priority": "500", "exclusions": []},
    )
    assert refused.status_code == 200 and refused.context["form"].errors["priority"]
    follow_up.refresh_from_db()
    assert (follow_up.priority, list(follow_up.exclusions.all())) == (10, [b2b])


def test_the_consent_topic_is_offered_by_its_name_only(logged_in: Client) -> None:
    page = logged_in.get(reverse("sequences:create")).content.decode()

    # the topic's name, as on the broadcast form, not its key in brackets
    assert f'<option value="{TOPIC}">製品・サービス情報</option>' in page
    assert f"({TOPIC})" not in page
