"""Attendance import: Zoom's participant report and Teams' attendance list, in the encodings
they come in, give registrants attended (minutes summed over their join/leave rows) or no-show,
add attendees who never registered, report bad rows, and change nothing when imported again."""

from __future__ import annotations

import codecs

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from sokyaku.activity.models import Event, EventType
from sokyaku.capture import attendance
from sokyaku.capture.models import Webinar, WebinarRegistration
from sokyaku.capture.services import webinars as webinar_services
from sokyaku.contacts.models import Contact
from sokyaku.contacts.services import ContactInput, contact_merge, contact_upsert
from sokyaku.core import clock
from sokyaku.core.errors import ValidationError
from tests.capture.test_webinars import make_webinar

pytestmark = pytest.mark.django_db

ZOOM = (
    "Meeting ID,Topic,Start Time,End Time,User Email,Duration (Minutes),Participants\n"
    "812 3456 7890,MA活用セミナー,04/10/2026 01:55:12 PM,04/10/2026 03:31:40 PM,"
    "host@example.jp,97,4\n"
    "\n"
    "Name (Original Name),User Email,Join Time,Leave Time,Duration (Minutes),Guest\n"
    "山田 太郎,Taro.Yamada@Example.co.jp,04/10/2026 01:58:03 PM,04/10/2026 02:40:10 PM,43,Yes\n"
    "山田 太郎,taro.yamada@example.co.jp,04/10/2026 02:45:00 PM,04/10/2026 03:30:00 PM,45,Yes\n"
    "鈴木 一郎 (Ichiro),ichiro.suzuki@example.jp,04/10/2026 02:00:00 PM,"
    "04/10/2026 03:30:00 PM,90,Yes\n"
    "匿名の参加者,,04/10/2026 02:00:00 PM,04/10/2026 02:05:00 PM,5,Yes\n"
)

TEAMS = (
    "1. Summary\n"
    "Meeting title\tMA活用セミナー\n"
    "Attended participants\t3\n"
    "\n"
    "2. Participants\n"
    "Name\tFirst Join\tLast Leave\tIn-Meeting Duration\tEmail\tParticipant ID (UPN)\tRole\n"
    "山田 太郎\t4/10/26, 1:58:03 PM\t4/10/26, 3:30:00 PM\t1h 28m 30s\ttaro.yamada@example.co.jp"
    "\ttaro.yamada@example.co.jp\tAttendee\n"
    "高橋 花子\t4/10/26, 2:10:00 PM\t4/10/26, 2:40:00 PM\t30m\t\thanako.takahashi@example.jp"
    "\tAttendee\n"
    "\n"
    "3. In-Meeting Activities\n"
    "Name\tJoin Time\tLeave Time\tDuration\tEmail\tRole\n"
    "山田 太郎\t4/10/26, 1:58:03 PM\t4/10/26, 2:40:00 PM\t41m 57s\ttaro.yamada@example.co.jp"
    "\tAttendee\n"
)


@pytest.fixture
def webinar(now) -> Webinar:
    return make_webinar()


def _register(webinar: Webinar, email: str, family: str, given: str) -> WebinarRegistration:
    contact = contact_upsert(
        data=ContactInput(email=email, family_name=family, given_name=given)
    ).contact
    return WebinarRegistration.objects.create(
        webinar=webinar, contact=contact, registered_at=clock.now()
    )


@pytest.fixture
def registrants(webinar) -> dict[str, WebinarRegistration]:
    return {
        "taro": _register(webinar, "taro.yamada@example.co.jp", "山田", "太郎"),
        "ichiro": _register(webinar, "ichiro.suzuki@example.jp", "鈴木", "一郎"),
        "jiro": _register(webinar, "jiro.sato@example.jp", "佐藤", "次郎"),
    }


def _events(type: str) -> list[Event]:
    return list(Event.objects.filter(type=type).order_by("id"))


def test_a_shift_jis_zoom_report_marks_attendance_with_summed_minutes(webinar, registrants):
    # given Zoom's report as Excel in Japan saves it: Shift_JIS, meeting rows first
    data = ZOOM.encode("cp932")
    # when it is imported
    result = webinar_services.attendance_import(webinar=webinar, data=data)
    # then Taro's two visits are summed, Ichiro attended, Jiro is a no-show
    assert result.encoding == "cp932"
    assert (result.attended, result.no_shows, result.added) == (2, 1, [])
    taro, ichiro, jiro = (
        WebinarRegistration.objects.get(pk=registrants[k].pk) for k in ("taro", "ichiro", "jiro")
    )
    assert (taro.attended, taro.minutes_attended) == (True, 88)
    assert (ichiro.attended, ichiro.minutes_attended) == (True, 90)
    assert (jiro.attended, jiro.minutes_attended) == (False, None)
    attended = {e.contact_id: e.properties["minutes"] for e in _events(EventType.WEBINAR_ATTENDED)}
    assert attended == {taro.contact_id: 88, ichiro.contact_id: 90}
    assert [e.contact_id for e in _events(EventType.WEBINAR_NO_SHOW)] == [jiro.contact_id]
    # and the row without an email is reported with its line number
    (problem,) = result.problems
    assert problem.line == 8
    assert problem.message == attendance.MSG_NO_EMAIL


def test_importing_the_same_report_again_changes_nothing(webinar, registrants):
    data = ZOOM.encode("utf-8-sig")
    webinar_services.attendance_import(webinar=webinar, data=data)
    before = (Event.objects.count(), Contact.objects.count(), WebinarRegistration.objects.count())
    again = webinar_services.attendance_import(webinar=webinar, data=data)
    after = (Event.objects.count(), Contact.objects.count(), WebinarRegistration.objects.count())
    assert after == before
    assert (again.attended, again.no_shows) == (2, 1)


def test_a_utf16_teams_list_reads_durations_and_adds_unregistered_attendees(webinar, registrants):
    # given Teams' attendance list: UTF-16 with tabs, a summary section first, an activity
    # section after the participants (which must not be counted twice)
    data = codecs.BOM_UTF16_LE + TEAMS.encode("utf-16-le")
    # when it is imported
    result = webinar_services.attendance_import(webinar=webinar, data=data)
    # then Taro attended 1h 28m 30s (89 minutes), Ichiro and Jiro are no-shows
    assert result.encoding == "utf-16"
    assert (result.attended, result.no_shows) == (2, 2)
    taro = WebinarRegistration.objects.get(pk=registrants["taro"].pk)
    assert (taro.attended, taro.minutes_attended) == (True, 89)
    # and Hanako, who came without registering (known by her UPN), is added and reported
    hanako = Contact.objects.get(email="hanako.takahashi@example.jp")
    assert (hanako.family_name, hanako.given_name) == ("高橋", "花子")
    added = WebinarRegistration.objects.get(contact=hanako)
    assert (added.source, added.attended, added.minutes_attended) == ("import", True, 30)
    assert result.added == ["高橋 花子 <hanako.takahashi@example.jp>"]
    assert result.problems == []


def test_a_zoom_report_with_japanese_headers_is_read(webinar, registrants):
    # given the participant report of Zoom set to Japanese, full-width brackets included
    report = (
        "名前（元の名前）,ユーザーメール,参加時間,退出時間,期間（分）,ゲスト\n"
        "山田 太郎,ＴＡＲＯ.yamada@example.co.jp,2026/04/10 13:58:03,2026/04/10 15:30:00,92,はい\n"
    )
    result = webinar_services.attendance_import(webinar=webinar, data=report.encode("cp932"))
    taro = WebinarRegistration.objects.get(pk=registrants["taro"].pk)
    assert (result.attended, result.no_shows) == (1, 2)
    assert (taro.attended, taro.minutes_attended) == (True, 92)


def test_a_registrant_merged_into_another_contact_is_found_by_the_new_address(webinar, registrants):
    # given Taro registered, then was merged into the contact with his new address
    newer = contact_upsert(data=ContactInput(email="t.yamada@newco.example.jp")).contact
    contact_merge(winner=newer, loser=registrants["taro"].contact)
    report = ZOOM.replace("Taro.Yamada@Example.co.jp", "t.yamada@newco.example.jp").replace(
        "taro.yamada@example.co.jp", "t.yamada@newco.example.jp"
    )
    # when the report lists the new address
    result = webinar_services.attendance_import(webinar=webinar, data=report.encode("utf-8"))
    # then his registration is the one marked, nobody is added twice
    taro = WebinarRegistration.objects.get(pk=registrants["taro"].pk)
    assert (taro.attended, taro.minutes_attended) == (True, 88)
    assert result.added == []
    assert WebinarRegistration.objects.count() == 3
    event = Event.objects.get(type=EventType.WEBINAR_ATTENDED, properties__minutes=88)
    assert event.contact_id == newer.pk


def test_durations_in_the_shapes_reports_use():
    assert attendance.duration_seconds("45") == 45 * 60
    assert attendance.duration_seconds("1h 2m 3s") == 3723
    assert attendance.duration_seconds("58m 3s") == 3483
    assert attendance.duration_seconds("1時間 2分 3秒") == 3723
    assert attendance.duration_seconds("01:02:03") == 3723
    assert attendance.duration_seconds("soon") is None


def test_a_file_without_a_participant_table_is_refused(webinar, registrants):
    with pytest.raises(ValidationError) as refused:
        webinar_services.attendance_import(webinar=webinar, data=b"a,b,c\n1,2,3\n")
    assert "file" in refused.value.field_errors
    assert Event.objects.filter(type=EventType.WEBINAR_NO_SHOW).count() == 0


def test_the_upload_page_shows_the_summary_and_problems(logged_in: Client, webinar, registrants):
    upload = SimpleUploadedFile("participants.csv", ZOOM.encode("cp932"), "text/csv")
    page = logged_in.post(f"/capture/webinars/{webinar.pk}/attendance/", {"file": upload})
    html = page.content.decode()
    assert page.status_code == 200
    assert "4 行を読み込みました：参加 2 名、欠席 1 名" in html
    assert "鈴木 一郎" in html
    assert '<td class="num">88</td>' in html
    assert "この行にメールアドレスがありません。" in html
    assert "匿名の参加者" in html  # the row without an email, shown with its problem


def test_an_unreadable_upload_is_answered_with_the_reason(logged_in: Client, webinar):
    upload = SimpleUploadedFile("notes.csv", b"a,b\n1,2\n", "text/csv")
    page = logged_in.post(f"/capture/webinars/{webinar.pk}/attendance/", {"file": upload})
    assert page.status_code == 422
    assert "参加者の表が見つかりません" in page.content.decode()


def test_the_registrants_list_takes_the_same_queries_for_many_registrants(
    logged_in: Client, webinar, registrants, django_assert_num_queries
):
    with CaptureQueriesContext(connection) as few:
        logged_in.get(f"/capture/webinars/{webinar.pk}/")
    for n in range(10):
        _register(webinar, f"guest{n}@example.jp", "来場", f"{n}号")
    with django_assert_num_queries(len(few.captured_queries)):
        page = logged_in.get(f"/capture/webinars/{webinar.pk}/")
    assert page.content.decode().count("来場 ") == 10
