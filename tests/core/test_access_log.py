"""The data-access log: every export and every list of personal data is on record (who, when,
what, which fields, how many rows), and admins read it on one page."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from sokyaku.cli import main
from sokyaku.contacts.imports import run
from sokyaku.contacts.models import Contact
from sokyaku.contacts.services import ContactInput, contact_upsert
from sokyaku.core import clock
from sokyaku.core import services as core_services
from sokyaku.core.models import AccessKind, ApiScope, DataAccessLog
from sokyaku.segments import services as segment_services
from tests.contacts.import_files import utf8_csv

pytestmark = pytest.mark.django_db

LIST = reverse("contacts:list")
EXPORT = reverse("contacts:export")
ACCESS_LOG = reverse("core:access_log")


def _person(n: int, owner: User | None = None, tags: list[str] | None = None) -> Contact:
    return contact_upsert(
        data=ContactInput(
            family_name="山田",
            given_name=f"太郎{n}",
            email=f"taro{n}@sample.example",
            owner_id=owner.pk if owner else None,
            tags=tags,
        )
    ).contact


@pytest.fixture
def people() -> list[Contact]:
    """Three people, the first two tagged 展示会."""
    return [_person(0, tags=["展示会"]), _person(1, tags=["展示会"]), _person(2)]


def _entries(**filters: object) -> list[DataAccessLog]:
    return list(DataAccessLog.objects.filter(**filters).order_by("id"))


def test_a_page_of_the_contact_list_is_logged_with_what_it_shows(
    logged_in: Client, marketer: User, people: list[Contact]
) -> None:
    # when the marketer searches the list
    assert logged_in.get(LIST, {"q": "山田", "tag": "展示会"}).status_code == 200
    # then one entry says who listed which columns of how many people, with which search
    [entry] = _entries()
    assert (entry.kind, entry.resource, entry.rows, entry.user) == (
        AccessKind.BULK_VIEW,
        "contacts.list",
        2,
        marketer,
    )
    assert {"name", "email", "company", "owner"} <= set(entry.fields)
    assert entry.filters == {"q": "山田", "tag": "展示会", "page": 1}


def test_a_list_that_shows_nobody_is_not_logged(logged_in: Client, people: list[Contact]) -> None:
    logged_in.get(LIST, {"q": "該当なし"})
    assert _entries() == []


def test_an_export_is_logged_with_its_columns_rows_and_filters(
    logged_in: Client, marketer: User, people: list[Contact]
) -> None:
    # when the marketer exports the list's selection
    response = logged_in.get(EXPORT, {"tag": "展示会", "format": "csv"})
    assert response.status_code == 200
    # then the export is on record before a byte is read
    [entry] = _entries(kind=AccessKind.EXPORT)
    assert (entry.resource, entry.rows, entry.user) == ("contacts.export", 2, marketer)
    assert "Email address" in entry.fields and "Phone number" in entry.fields
    assert entry.filters == {"tag": "展示会", "format": "csv"}
    assert b"taro0@sample.example" in b"".join(response.streaming_content)  # type: ignore[attr-defined]


def test_a_sales_rep_cannot_export_and_is_not_offered_to(client: Client, sales_rep: User) -> None:
    # given contacts of the rep's own
    _person(1, owner=sales_rep)
    client.force_login(sales_rep)
    # when the rep opens the list and tries the export URL
    page = client.get(LIST).content.decode()
    response = client.get(EXPORT, {"format": "csv"})
    # then there is no export link, the export is refused, and only the list view is logged
    assert EXPORT not in page
    assert response.status_code == 403
    assert [e.kind for e in _entries()] == [AccessKind.BULK_VIEW]


def test_the_export_link_is_offered_to_marketers(logged_in: Client, people: list[Contact]) -> None:
    assert EXPORT in logged_in.get(LIST).content.decode()


def test_a_command_line_export_is_logged_as_the_system(people: list[Contact], tmp_path) -> None:  # type: ignore[no-untyped-def]
    # when an operator exports on the command line
    assert main(["export", "contacts", "--output", str(tmp_path / "all.csv")]) == 0
    # then the export is logged without a user or key
    [entry] = _entries()
    assert (entry.kind, entry.rows, entry.user, entry.api_key) == (AccessKind.EXPORT, 3, None, None)


def test_an_import_error_report_is_an_export(logged_in: Client, marketer: User) -> None:
    # given an import with two refused rows
    rows = [["氏名", "メールアドレス"], ["山田 太郎", "taro@sample.example"], ["鈴木", "bad@"]]
    job = run.import_file(data=utf8_csv(rows + [["田中", "also-bad@"]]), filename="cards.csv")
    # when its error report is downloaded
    response = logged_in.get(reverse("contacts:import_errors", args=[job.pk]))
    # then it is logged with the file's columns and the refused rows
    assert response.status_code == 200
    [entry] = _entries()
    assert (entry.kind, entry.resource, entry.rows) == (
        AccessKind.EXPORT,
        "contacts.import_errors",
        2,
    )
    assert "メールアドレス" in entry.fields


def test_the_api_list_is_logged_with_its_key(api: Client, people: list[Contact]) -> None:
    # when a system key lists contacts
    assert api.get("/api/v1/contacts", {"page_size": 2}).status_code == 200
    # then the entry names the key (no user: a key without creator)
    [entry] = _entries()
    assert entry.api_key is not None and entry.api_key.name == "tests"
    assert (entry.resource, entry.rows, entry.user) == ("contacts.api_list", 2, None)
    assert "email" in entry.fields and entry.filters == {"page": 1, "page_size": 2}


def test_a_reps_key_is_logged_as_the_rep(sales_rep: User) -> None:
    _person(1, owner=sales_rep)
    token = core_services.apikey_create(
        name="rep's CRM sync", scopes=[ApiScope.CONTACTS_READ], created_by=sales_rep
    ).token
    client = Client(headers={"Authorization": f"Bearer {token}"})
    body = client.get("/api/v1/contacts").json()
    [entry] = _entries()
    assert body["count"] == 1
    assert (entry.user, entry.rows) == (sales_rep, 1)


def test_segment_members_and_audience_exports_are_logged(
    logged_in: Client, api: Client, people: list[Contact]
) -> None:
    # given a list of two people
    segment = segment_services.segment_create(name="展示会", kind="static")
    segment_services.segment_members_add(segment=segment, contact_ids=[p.pk for p in people[:2]])
    # when its members are shown, read through the API and exported as an audience
    logged_in.get(reverse("segments:detail", args=[segment.pk]))
    api.get(f"/api/v1/segments/{segment.pk}/contacts")
    export = logged_in.post(reverse("segments:export", args=[segment.pk, "google"]))
    # then each is on record
    assert export.status_code == 200
    logged = [(e.kind, e.resource, e.rows) for e in _entries()]
    assert logged == [
        (AccessKind.BULK_VIEW, "segments.members", 2),
        (AccessKind.BULK_VIEW, "segments.members", 2),
        # the audience holds the people who consented to ads: nobody here
        (AccessKind.EXPORT, "segments.audience_export", 0),
    ]


# --- The page -------------------------------------------------------------------------------


def _log(
    user: User | None,
    kind: str = AccessKind.EXPORT,
    *,
    resource: str = "contacts.export",
    rows: int = 120,
) -> DataAccessLog:
    return core_services.data_access_log(
        kind=kind,
        resource=resource,
        fields=["Email address", "Phone number"],
        rows=rows,
        user=user,
        filters={"tag": "展示会<script>"},
    )


def test_admins_read_who_accessed_what(
    client: Client, admin_user: User, marketer: User, english: None
) -> None:
    # given an export and a list view
    with clock.frozen(datetime(2026, 5, 1, 1, 0, tzinfo=UTC)):  # 10:00 in Tokyo
        _log(marketer)
    _log(admin_user, AccessKind.BULK_VIEW, resource="segments.members", rows=3)
    client.force_login(admin_user)
    # when the admin opens the log
    page = client.get(ACCESS_LOG).content.decode()
    # then each entry shows who, when (in Tokyo), what, which fields and how many rows
    assert "Contact export" in page and "Segment members" in page
    assert "2026/05/01 10:00" in page
    assert "Email address, Phone number" in page
    assert ">120<" in page
    assert "tag=展示会&lt;script&gt;" in page  # escaped
    assert f'href="{ACCESS_LOG}"' in page  # in the menu


def test_the_log_filters_by_user_and_kind(
    client: Client, admin_user: User, marketer: User, sales_rep: User
) -> None:
    _log(marketer, rows=11)
    _log(sales_rep, AccessKind.BULK_VIEW, rows=22)
    _log(marketer, AccessKind.BULK_VIEW, rows=33)
    client.force_login(admin_user)
    by_user = client.get(ACCESS_LOG, {"user": str(marketer.pk)}).context["rows"]
    by_kind = client.get(ACCESS_LOG, {"kind": AccessKind.BULK_VIEW}).context["rows"]
    both = client.get(ACCESS_LOG, {"user": str(marketer.pk), "kind": "bulk_view"}).context["rows"]
    assert [r["entry"].rows for r in by_user] == [33, 11]
    assert [r["entry"].rows for r in by_kind] == [33, 22]
    assert [r["entry"].rows for r in both] == [33]


def test_the_log_is_paged(client: Client, admin_user: User) -> None:
    start = clock.now()
    for n in range(51):
        with clock.frozen(start + timedelta(seconds=n)):
            _log(admin_user, rows=n)
    client.force_login(admin_user)
    first = client.get(ACCESS_LOG).context
    second = client.get(ACCESS_LOG, {"page": 2}).context
    assert [r["entry"].rows for r in first["rows"]][:2] == [50, 49]
    assert len(first["rows"]) == 50
    assert [r["entry"].rows for r in second["rows"]] == [0]


def test_only_admins_read_the_log(client: Client, marketer: User, sales_rep: User) -> None:
    for user in (marketer, sales_rep):
        client.force_login(user)
        assert client.get(ACCESS_LOG).status_code == 403
        assert f'href="{ACCESS_LOG}"' not in client.get(LIST).content.decode()
