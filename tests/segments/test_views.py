"""Segments UI: list, create through the builder, live count, detail page, static lists,
the contact page panel, permissions and pinned query counts."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from sokyaku.segments import services
from sokyaku.segments.models import Segment, SegmentMembership

# Assertions read the English UI text.
pytestmark = pytest.mark.usefixtures("english")


def where(field: str, op: str, value: Any = None) -> dict[str, Any]:
    return {"op": "and", "conditions": [{"field": field, "op": op, "value": value}]}


@pytest.fixture
def built(people, django_capture_on_commit_callbacks) -> Segment:  # type: ignore[no-untyped-def]
    with django_capture_on_commit_callbacks(execute=True):
        return services.segment_create(
            name="製造業", kind="dynamic", definition=where("company.industry", "eq", "E")
        )


def test_list_shows_segments_with_counts(
    logged_in: Client, built, django_assert_max_num_queries
) -> None:  # type: ignore[no-untyped-def]

    for n in range(5):
        services.segment_create(name=f"list {n}", kind="static")

    with django_assert_max_num_queries(8):
        response = logged_in.get(reverse("segments:list"))

    body = response.content.decode()
    assert response.status_code == 200
    assert "製造業" in body and "list 4" in body
    assert ">2<" in body  # member count


def test_create_through_the_builder_fields(
    logged_in: Client, people, django_capture_on_commit_callbacks
) -> None:  # type: ignore[no-untyped-def]
    with django_capture_on_commit_callbacks(execute=True):
        response = logged_in.post(
            reverse("segments:create"),
            {
                "name": "東京の部長以上",
                "kind": "dynamic",
                "op": "and",
                "conditions.0.field": "title_level",
                "conditions.0.op": "gte",
                "conditions.0.value": "4",
                "conditions.1.field": "company.prefecture",
                "conditions.1.op": "eq",
                "conditions.1.value": "13",
            },
        )

    segment = Segment.objects.get(name="東京の部長以上")
    assert response.status_code == 302
    assert segment.definition["conditions"][1] == {
        "field": "company.prefecture",
        "op": "eq",
        "value": 13,
    }
    assert set(
        SegmentMembership.objects.filter(segment=segment).values_list("contact_id", flat=True)
    ) == {
        people["yamada"].pk,
        people["tanaka"].pk,
    }


def test_a_bad_condition_is_shown_next_to_it_and_the_input_kept(logged_in: Client, people) -> None:  # type: ignore[no-untyped-def]
    response = logged_in.post(
        reverse("segments:create"),
        {
            "name": "壊れた",
            "kind": "dynamic",
            "op": "and",
            "conditions.0.field": "company.employees",
            "conditions.0.op": "gte",
            "conditions.0.value": "たくさん",
        },
    )

    body = response.content.decode()
    assert response.status_code == 422
    assert "conditions.0.value" in body  # the errors JSON the builder places by path
    assert "たくさん" in body
    assert not Segment.objects.exists()


def test_live_count_answers_with_the_number_or_the_error(logged_in: Client, people) -> None:  # type: ignore[no-untyped-def]
    url = reverse("segments:count")
    ok = logged_in.post(
        url,
        {
            "op": "and",
            "conditions.0.field": "company.industry",
            "conditions.0.op": "eq",
            "conditions.0.value": "E",
        },
    )
    bad = logged_in.post(
        url,
        {
            "op": "and",
            "conditions.0.field": "company.industry",
            "conditions.0.op": "gte",
            "conditions.0.value": "E",
        },
    )

    assert 'data-count="2"' in ok.content.decode()
    assert "2 contacts match" in ok.content.decode()
    assert "conditions.0.op" in bad.content.decode()
    assert "data-count" not in bad.content.decode()


def test_live_count_with_a_prefix(logged_in: Client, people) -> None:  # type: ignore[no-untyped-def]
    response = logged_in.post(
        reverse("segments:count"),
        {
            "builder_prefix": "mql-",
            "mql-op": "or",
            "mql-conditions.0.field": "family_name",
            "mql-conditions.0.op": "in",
            "mql-conditions.0.value": "山田, 佐藤",
        },
    )

    assert 'data-count="2"' in response.content.decode()


def test_detail_lists_members_surname_first(
    logged_in: Client, built, django_assert_max_num_queries
) -> None:  # type: ignore[no-untyped-def]
    with django_assert_max_num_queries(9):
        response = logged_in.get(reverse("segments:detail", args=[built.pk]))

    body = response.content.decode()
    assert "山田 太郎" in body
    assert "田中" in body
    assert "鈴木" not in body
    assert reverse("segments:export", args=[built.pk, "google"]) in body


def test_editor_renders_the_builder_with_the_definition(logged_in: Client, built) -> None:  # type: ignore[no-untyped-def]
    response = logged_in.get(reverse("segments:edit", args=[built.pk]))

    body = response.content.decode()
    assert "data-segbuilder" in body
    assert "segments/builder.js" in body
    assert "company.industry" in body


def test_static_list_add_by_pasting_emails_and_remove(logged_in: Client, people) -> None:  # type: ignore[no-untyped-def]
    lst = services.segment_create(name="セミナー参加者", kind="static")

    logged_in.post(
        reverse("segments:members_add", args=[lst.pk]),
        {"emails": "TARO@acme.co.jp\nhanako@beta.example, nobody@example.com"},
    )
    assert set(
        SegmentMembership.objects.filter(segment=lst).values_list("contact_id", flat=True)
    ) == {
        people["yamada"].pk,
        people["suzuki"].pk,
    }
    logged_in.post(
        reverse("segments:members_remove", args=[lst.pk]), {"contact_id": [people["suzuki"].pk]}
    )
    assert list(
        SegmentMembership.objects.filter(segment=lst).values_list("contact_id", flat=True)
    ) == [people["yamada"].pk]


def test_contact_page_panel_shows_segments_and_adds_to_a_list(
    logged_in: Client, built, people
) -> None:  # type: ignore[no-untyped-def]
    lst = services.segment_create(name="VIPリスト", kind="static")
    url = reverse("contacts:detail", kwargs={"contact_id": people["yamada"].pk})

    body = logged_in.get(url).content.decode()
    assert "製造業" in body and "VIPリスト" in body
    response = logged_in.post(
        reverse("segments:members_add", args=[lst.pk]),
        {"contact_id": people["yamada"].pk, "next": url},
    )
    assert response["Location"] == url
    assert SegmentMembership.objects.filter(segment=lst, contact=people["yamada"]).exists()


def test_sales_rep_sees_but_cannot_change_or_export(client: Client, sales_rep, built) -> None:  # type: ignore[no-untyped-def]
    client.force_login(sales_rep)

    detail = client.get(reverse("segments:detail", args=[built.pk]))
    assert detail.status_code == 200
    assert reverse("segments:export", args=[built.pk, "google"]) not in detail.content.decode()
    assert client.post(reverse("segments:export", args=[built.pk, "google"])).status_code == 403
    assert client.get(reverse("segments:create")).status_code == 403
    assert client.post(reverse("segments:refresh", args=[built.pk])).status_code == 403


def test_archive_hides_from_the_list(logged_in: Client, built) -> None:  # type: ignore[no-untyped-def]
    logged_in.post(reverse("segments:archive", args=[built.pk]))

    assert "製造業" not in logged_in.get(reverse("segments:list")).content.decode()
    assert "製造業" in logged_in.get(reverse("segments:list") + "?archived=1").content.decode()


def test_the_name_field_is_called_the_segment_name_in_japanese(marketer) -> None:  # type: ignore[no-untyped-def]
    japanese = Client()
    japanese.force_login(marketer)
    body = japanese.get(reverse("segments:create")).content.decode()
    # a segment's name, not a person's (氏名), in a styled text box
    assert '<label for="id_name">セグメント名</label>' in body
    assert '<input type="text" id="id_name" name="name"' in body


def test_the_contact_page_says_since_when_in_the_japanese_date_format(
    logged_in: Client, built
) -> None:  # type: ignore[no-untyped-def]
    from zoneinfo import ZoneInfo

    membership = SegmentMembership.objects.filter(segment=built).first()
    assert membership is not None

    page = logged_in.get(reverse("contacts:detail", args=[membership.contact_id]))

    day = membership.entered_at.astimezone(ZoneInfo("Asia/Tokyo"))
    assert f"since {day:%Y/%m/%d}" in page.content.decode()
