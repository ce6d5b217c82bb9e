"""The contacts UI through the Django test client: list, search, detail, timeline, notes, edit,
merge, permissions and escaping."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse

from sokyaku.activity import events
from sokyaku.activity import services as activity_services
from sokyaku.activity.models import Event, EventSource, EventType
from sokyaku.contacts import services
from sokyaku.contacts.models import Contact, FieldDefinition, FieldType, MergeRecord
from sokyaku.core import clock
from sokyaku.scoring.models import ScoreState, Temperature

pytestmark = pytest.mark.django_db

LIST = reverse("contacts:list")
HTMX = {"HX-Request": "true"}


def _contact(**fields) -> Contact:
    return services.contact_upsert(data=services.ContactInput(**fields)).contact


def _detail(contact: Contact) -> str:
    return reverse("contacts:detail", kwargs={"contact_id": contact.pk})


def _url(name: str, contact: Contact) -> str:
    return reverse(f"contacts:{name}", kwargs={"contact_id": contact.pk})


def _rows(html: str) -> int:
    return len(re.findall(r'class="contact-link"', html))


@pytest.fixture
def yamada() -> Contact:
    services.company_upsert(name="株式会社サンプル", industry="G", employee_count=120)
    return _contact(
        family_name="山田",
        given_name="太郎",
        family_name_kana="ヤマダ",
        given_name_kana="タロウ",
        email="taro.yamada@sample.example",
        phone="090-1234-5678",
        company_name="株式会社サンプル",
        department="情報システム部",
        title="部長",
        postal_code="100-0001",
        address="千代田区千代田1-1",
        tags=["展示会2026", "資料DL"],
    )


@pytest.fixture
def suzuki() -> Contact:
    return _contact(
        family_name="鈴木",
        given_name="花子",
        family_name_kana="スズキ",
        given_name_kana="ハナコ",
        email="hanako@other.example",
        prefecture="大阪府",
    )


@pytest.fixture
def viewer(client: Client) -> Client:
    """A signed-in user who may see every contact but not change them."""
    user = get_user_model().objects.create_user(username="viewer", password="x")
    user.user_permissions.add(
        *Permission.objects.filter(codename__in=["view_contact", "view_all_contacts"])
    )
    client.force_login(user)
    return client


# --- List -----------------------------------------------------------------------------------


def test_list_shows_surname_first_with_kana_and_the_columns(logged_in, yamada):
    # when
    response = logged_in.get(LIST)
    # then
    html = response.content.decode()
    assert response.status_code == 200
    assert "山田 太郎" in html
    assert '<span class="kana">ヤマダ タロウ</span>' in html
    for value in (
        "株式会社サンプル",
        "情報システム部",
        "部長",
        "taro.yamada@sample.example",
        "東京都",
        "展示会2026",
    ):
        assert value in html
    assert '<html lang="ja">' in html


@pytest.mark.parametrize("query", ["山田", "やまだ", "ヤマダ", "ﾔﾏﾀﾞ", "yamada", "YAMADA taro"])
def test_search_finds_a_contact_by_kanji_kana_and_romaji(logged_in, yamada, suzuki, query):
    # when
    html = logged_in.get(LIST, {"q": query}).content.decode()
    # then
    assert "山田 太郎" in html
    assert "鈴木 花子" not in html


def test_live_search_answers_htmx_with_the_results_fragment(logged_in, yamada, suzuki):
    # when
    response = logged_in.get(LIST, {"q": "すずき"}, headers=HTMX)
    # then
    html = response.content.decode()
    assert "<html" not in html
    assert "鈴木 花子" in html
    assert "山田 太郎" not in html
    assert "HX-Request" in response["Vary"]


def test_search_without_matches_says_so(logged_in, yamada):
    # when
    html = logged_in.get(LIST, {"q": "存在しない名前"}).content.decode()
    # then
    assert _rows(html) == 0
    assert "条件に一致するコンタクトはありません" in html


def test_filters_narrow_the_list(logged_in, yamada, suzuki, sales_rep):
    # given
    services.contact_update(contact=suzuki, data=services.ContactInput(owner_id=sales_rep.pk))
    # when / then
    assert "鈴木 花子" in logged_in.get(LIST, {"prefecture": 27}).content.decode()
    assert "山田 太郎" not in logged_in.get(LIST, {"prefecture": 27}).content.decode()
    assert _rows(logged_in.get(LIST, {"tag": "資料DL"}).content.decode()) == 1
    assert "山田 太郎" in logged_in.get(LIST, {"industry": "G"}).content.decode()
    assert _rows(logged_in.get(LIST, {"industry": "E"}).content.decode()) == 0
    assert "鈴木 花子" in logged_in.get(LIST, {"owner": sales_rep.pk}).content.decode()
    assert _rows(logged_in.get(LIST, {"owner": sales_rep.pk}).content.decode()) == 1


def test_a_stale_filter_value_is_ignored_not_an_error(logged_in, yamada):
    # when
    response = logged_in.get(LIST, {"prefecture": "99", "tag": "gone", "owner": "x"})
    # then
    assert response.status_code == 200
    assert _rows(response.content.decode()) == 1


def test_the_list_pages_by_fifty_and_keeps_the_search(logged_in):
    # given
    for i in range(51):
        _contact(family_name="田中", given_name=f"{i}号", email=f"t{i}@example.jp")
    # when
    first = logged_in.get(LIST, {"q": "田中"}).content.decode()
    second = logged_in.get(LIST, {"q": "田中", "page": 2}).content.decode()
    # then
    assert _rows(first) == 50
    assert _rows(second) == 1
    assert "?q=%E7%94%B0%E4%B8%AD&amp;page=2" in first


@pytest.mark.parametrize("count", [3, 60])
def test_the_list_page_query_count_does_not_grow_with_rows(
    logged_in, django_assert_max_num_queries, count
):
    # given contacts with companies, owners and tags
    owner = get_user_model().objects.get(username="marketer")
    for i in range(count):
        _contact(
            email=f"c{i}@example.jp",
            family_name="佐藤",
            company_name=f"会社{i % 7}",
            owner_id=owner.pk,
            tags=[f"tag{i % 3}", "共通"],
        )
    # when / then (the page's scores, their rule set and the stages are three of these; the
    # data-access log entry one more)
    with django_assert_max_num_queries(13):
        response = logged_in.get(LIST)
    assert _rows(response.content.decode()) == min(count, 50)


def test_anonymous_visitors_are_sent_to_the_login_page(client):
    # when
    response = client.get(LIST)
    # then
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_a_user_without_view_permission_gets_403(client):
    # given
    user = get_user_model().objects.create_user(username="nobody", password="x")
    client.force_login(user)
    # when / then
    assert client.get(LIST).status_code == 403


# --- Detail ---------------------------------------------------------------------------------


def test_detail_shows_every_field(logged_in, yamada, marketer):
    # given
    FieldDefinition.objects.create(key="budget", label="年間予算", type=FieldType.NUMBER)
    services.contact_update(
        contact=yamada,
        data=services.ContactInput(custom_fields={"budget": 500}, owner_id=marketer.pk),
    )
    # when
    response = logged_in.get(_detail(yamada))
    # then
    html = response.content.decode()
    assert response.status_code == 200
    for value in (
        "山田 太郎",
        "ヤマダ タロウ",
        "taro.yamada@sample.example",
        "090-1234-5678",
        "株式会社サンプル",
        "情報通信業",
        "100〜299人",
        "情報システム部",
        "部長",
        "〒100-0001",
        "東京都千代田区千代田1-1",
        "marketer",
        "展示会2026",
        "年間予算",
        "500",
    ):
        assert value in html, value


def test_timeline_shows_translated_labels_key_properties_and_tokyo_time(logged_in, yamada):
    # given a page view at 01:30 UTC, which is 10:30 in Tokyo
    at = datetime(2026, 4, 1, 1, 30, tzinfo=UTC)
    activity_services.event_ingest(
        event=events.page_view(
            occurred_at=at,
            url="https://example.jp/pricing",
            title="料金プラン",
            contact_id=yamada.pk,
        )
    )
    activity_services.event_ingest(
        event=events.event_build(
            type=EventType.PURCHASE,
            occurred_at=at,
            source=EventSource.API,
            contact_id=yamada.pk,
            properties={"amount_jpy": 1234567},
        )
    )
    activity_services.event_ingest(
        event=events.event_build(
            type=EventType.WEBINAR_ATTENDED,
            occurred_at=at,
            source=EventSource.API,
            contact_id=yamada.pk,
            properties={"webinar": "MA入門ウェビナー", "minutes": 45},
        )
    )
    # when
    html = logged_in.get(_detail(yamada)).content.decode()
    # then
    assert "ページを閲覧" in html
    assert "料金プラン" in html
    assert 'href="https://example.jp/pricing"' in html
    assert "2026/04/01 10:30" in html
    assert "¥1,234,567" in html
    assert "MA入門ウェビナー" in html
    assert "ウェビナーに参加" in html


def test_a_javascript_url_in_an_event_is_never_a_link(logged_in, yamada):
    # given
    activity_services.event_ingest(
        event=events.page_view(
            occurred_at=clock.now(), url="javascript:alert(1)", contact_id=yamada.pk
        )
    )
    # when
    html = logged_in.get(_detail(yamada)).content.decode()
    # then
    assert "javascript:alert(1)" in html
    assert 'href="javascript:' not in html


def test_the_timeline_pages_with_a_more_button(logged_in, yamada):
    # given 30 page views (plus the creation event)
    start = clock.now() - timedelta(days=1)
    activity_services.event_ingest_batch(
        events=[
            events.page_view(
                occurred_at=start + timedelta(minutes=i),
                url=f"https://example.jp/p{i}",
                contact_id=yamada.pk,
            )
            for i in range(30)
        ]
    )
    # when
    first = logged_in.get(_detail(yamada)).content.decode()
    more_url = re.search(r'hx-get="([^"]*/timeline/[^"]*)"', first).group(1).replace("&amp;", "&")
    second = logged_in.get(more_url, headers=HTMX).content.decode()
    # then the newest 20 (the creation and p29 … p11) first, the rest next, nothing twice
    assert "https://example.jp/p29" in first
    assert 'https://example.jp/p11"' in first
    assert 'https://example.jp/p10"' not in first
    assert "<html" not in second
    assert 'https://example.jp/p10"' in second
    assert 'https://example.jp/p0"' in second
    assert 'https://example.jp/p11"' not in second
    assert "hx-get" not in second


def test_the_more_link_works_without_javascript(logged_in, yamada):
    # given
    activity_services.event_ingest_batch(
        events=[
            events.page_view(
                occurred_at=clock.now() - timedelta(minutes=i),
                url=f"https://example.jp/q{i}",
                contact_id=yamada.pk,
            )
            for i in range(25)
        ]
    )
    first = logged_in.get(_detail(yamada)).content.decode()
    href = re.search(r'<a class="btn btn--ghost" href="([^"]*before=[^"]*)"', first).group(1)
    # when
    page = logged_in.get(href.replace("&amp;", "&").split("#")[0]).content.decode()
    # then
    assert "https://example.jp/q24" in page
    assert 'https://example.jp/q0"' not in page


def test_a_garbled_timeline_cursor_shows_the_newest_page(logged_in, yamada):
    # when
    response = logged_in.get(
        _url("timeline", yamada), {"before": "yesterday", "before_id": "9" * 40}, headers=HTMX
    )
    # then
    assert response.status_code == 200
    assert "コンタクト作成" in response.content.decode()


def test_unknown_contact_is_404(logged_in):
    assert (
        logged_in.get(reverse("contacts:detail", kwargs={"contact_id": 999999})).status_code == 404
    )


def test_detail_query_count_is_bounded(logged_in, yamada, django_assert_max_num_queries):
    # given
    activity_services.event_ingest_batch(
        events=[
            events.page_view(
                occurred_at=clock.now(), url=f"https://example.jp/{i}", contact_id=yamada.pk
            )
            for i in range(40)
        ]
    )
    # when / then: a fixed number whatever the timeline holds (the consent panel reads the
    # ledger and the topics: two of these; the pending changes one; the panels of lifecycle,
    # score, prediction, segments and sequences eleven together; handoffs three, the contact's
    # deals, orders and referrals four, the company's deals two)
    with django_assert_max_num_queries(33):
        logged_in.get(_detail(yamada))


# --- Notes ----------------------------------------------------------------------------------


def test_a_note_lands_on_the_timeline(logged_in, yamada):
    # when
    response = logged_in.post(_url("note_add", yamada), {"text": "来週デモの約束\n担当：佐藤"})
    # then
    assert response.status_code == 302
    html = logged_in.get(_detail(yamada)).content.decode()
    assert "来週デモの約束<br>担当：佐藤" in html
    assert "メモを追加しました" in html


def test_a_note_by_htmx_answers_with_the_refreshed_activity(logged_in, yamada):
    # when
    response = logged_in.post(
        _url("note_add", yamada), {"text": "電話で資料送付を依頼"}, headers=HTMX
    )
    # then
    html = response.content.decode()
    assert "<html" not in html
    assert 'id="activity"' in html
    assert "電話で資料送付を依頼" in html


def test_an_empty_note_is_refused_with_a_message(logged_in, yamada):
    # when
    response = logged_in.post(_url("note_add", yamada), {"text": "   "}, headers=HTMX)
    # then
    assert "このフィールドは必須です" in response.content.decode()
    assert not Event.objects.filter(contact=yamada, type=EventType.NOTE).exists()


# --- Edit -----------------------------------------------------------------------------------


def _form(contact: Contact, **changes: str) -> dict[str, str]:
    data = {
        "family_name": contact.family_name,
        "given_name": contact.given_name,
        "family_name_kana": contact.family_name_kana,
        "given_name_kana": contact.given_name_kana,
        "email": contact.email,
        "phone": contact.phone,
        "company_name": contact.company.name if contact.company else "",
        "department": contact.department,
        "title": contact.title,
        "postal_code": contact.postal_code,
        "prefecture": str(contact.prefecture or ""),
        "address": contact.address,
        "owner": "",
        "tags": ", ".join(contact.tags.values_list("name", flat=True)),
    }
    data.update(changes)
    return data


def test_the_edit_form_is_filled_with_the_contact(logged_in, yamada):
    # when
    html = logged_in.get(_url("edit", yamada)).content.decode()
    # then
    assert 'value="taro.yamada@sample.example"' in html
    assert 'value="山田"' in html
    assert 'value="株式会社サンプル"' in html


def test_editing_saves_through_the_service_and_records_the_change(logged_in, yamada):
    # when
    response = logged_in.post(
        _url("edit", yamada),
        _form(yamada, title="取締役", phone="03-1234-5678", tags="VIP、展示会2026"),
    )
    # then
    assert response.status_code == 302
    yamada.refresh_from_db()
    assert yamada.title == "取締役"
    assert yamada.phone == "+81312345678"
    assert sorted(yamada.tags.values_list("name", flat=True)) == ["VIP", "展示会2026"]
    update = Event.objects.filter(contact=yamada, type=EventType.CONTACT_UPDATED).get()
    assert update.source == EventSource.UI
    assert "役職" in logged_in.get(_detail(yamada)).content.decode()


def test_a_name_with_a_line_break_is_refused_on_its_field(logged_in, yamada):
    # when the form is saved with a line break inside the family name
    response = logged_in.post(_url("edit", yamada), _form(yamada, family_name="山\r\n田"))
    # then the field says why, in Japanese, and nothing changed
    assert response.status_code == 200
    assert "改行や制御文字" in response.content.decode()
    yamada.refresh_from_db()
    assert yamada.family_name == "山田"


def test_a_bad_email_is_shown_on_its_field_and_an_unreadable_phone_is_kept(logged_in, yamada):
    # when the form is saved with an invalid email and a phone number that cannot be read
    response = logged_in.post(_url("edit", yamada), _form(yamada, email="not-an-email", phone="12"))
    # then the email is refused on its field, the phone is not
    html = response.content.decode()
    assert response.status_code == 200
    assert "有効なメールアドレスを入力してください。" in html
    assert "有効な電話番号を入力してください。" not in html
    assert html.count('class="field field--invalid"') == 1
    yamada.refresh_from_db()
    assert yamada.email == "taro.yamada@sample.example"
    # and once the email is right, the phone is kept as written and flagged for review
    logged_in.post(_url("edit", yamada), _form(yamada, phone="12"))
    yamada.refresh_from_db()
    assert (yamada.phone, yamada.phone_written, yamada.phone_needs_review) == ("", "12", True)
    assert "電話番号を確認" in logged_in.get(_detail(yamada)).content.decode()


def test_a_bad_custom_field_value_is_shown_on_its_field(logged_in, yamada):
    # given
    FieldDefinition.objects.create(key="budget", label="年間予算", type=FieldType.NUMBER)
    # when
    response = logged_in.post(_url("edit", yamada), _form(yamada, cf_budget="たくさん"))
    # then
    html = response.content.decode()
    assert "年間予算" in html
    assert "有効な値を入力してください。" in html
    yamada.refresh_from_db()
    assert yamada.custom_fields == {}


def test_taking_another_contacts_email_is_a_form_level_conflict(logged_in, yamada, suzuki):
    # when
    response = logged_in.post(_url("edit", yamada), _form(yamada, email="hanako@other.example"))
    # then
    html = response.content.decode()
    assert response.status_code == 200
    assert "既に別のコンタクト" in html
    assert _url("merge", yamada) in html
    yamada.refresh_from_db()
    assert yamada.email == "taro.yamada@sample.example"


def test_a_user_without_change_permission_gets_403_on_every_write(viewer, yamada, suzuki):
    # when / then
    assert viewer.get(_detail(yamada)).status_code == 200
    assert viewer.get(_url("edit", yamada)).status_code == 403
    assert viewer.post(_url("edit", yamada), _form(yamada, title="x")).status_code == 403
    assert viewer.post(_url("note_add", yamada), {"text": "x"}).status_code == 403
    assert viewer.post(_url("merge", yamada), {"other": suzuki.pk}).status_code == 403
    assert f'href="{_url("edit", yamada)}"' not in viewer.get(_detail(yamada)).content.decode()
    yamada.refresh_from_db()
    assert yamada.title == "部長"


def test_sales_reps_can_edit(client, sales_rep, yamada):
    # given a contact of the rep's
    services.contact_update(contact=yamada, data=services.ContactInput(owner_id=sales_rep.pk))
    client.force_login(sales_rep)
    # when
    response = client.post(_url("edit", yamada), _form(yamada, title="課長"))
    # then
    assert response.status_code == 302


# --- Merge ----------------------------------------------------------------------------------


@pytest.fixture
def duplicate() -> Contact:
    return _contact(
        family_name="山田",
        given_name="太郎",
        phone="03-5555-0000",
        company_name="(株)サンプル別",
        tags=["名刺"],
    )


def test_merge_search_lists_candidates_and_a_confirm_page(logged_in, yamada, duplicate):
    # when
    search = logged_in.get(_url("merge", yamada)).content.decode()
    confirm = logged_in.get(_url("merge", yamada), {"other": duplicate.pk}).content.decode()
    # then the duplicate is suggested by name, and the confirm page shows both sides
    assert f"?other={duplicate.pk}" in search
    assert f"?other={yamada.pk}" not in search
    assert "03-5555-0000" in confirm
    assert "taro.yamada@sample.example" in confirm


def test_merge_then_the_old_id_redirects_and_undo_restores(logged_in, yamada, duplicate):
    # when merged
    response = logged_in.post(_url("merge", yamada), {"other": duplicate.pk})
    # then
    assert response.status_code == 302
    assert logged_in.get(_detail(duplicate)).url == _detail(yamada)
    page = logged_in.get(_detail(yamada)).content.decode()
    assert "名刺" in page  # the duplicate's tag
    assert "最近の統合" in page
    record = MergeRecord.objects.get(winner_id=yamada.pk, loser_id=duplicate.pk)
    undo_url = reverse(
        "contacts:merge_undo", kwargs={"contact_id": yamada.pk, "merge_id": record.pk}
    )
    assert undo_url in page

    # when undone
    response = logged_in.post(undo_url)
    # then
    assert response.status_code == 302
    assert logged_in.get(_detail(duplicate)).status_code == 200
    record.refresh_from_db()
    assert record.undone_at is not None
    assert "取り消し済み" in logged_in.get(_detail(yamada)).content.decode()


def test_merging_a_contact_with_itself_is_refused(logged_in, yamada):
    # when
    response = logged_in.get(_url("merge", yamada), {"other": yamada.pk}, follow=True)
    # then
    assert "自分自身と統合することはできません" in response.content.decode()
    assert not MergeRecord.objects.exists()


# --- Escaping and unusual names -------------------------------------------------------------


@pytest.fixture
def hostile() -> Contact:
    return _contact(
        family_name="<script>alert(1)</script>",
        given_name='"><img src=x onerror=alert(2)>',
        email="evil@example.jp",
        department="<b>営業</b>",
    )


@pytest.fixture
def unusual() -> Contact:
    return _contact(
        family_name="髙﨑",
        given_name="太郎　😀",
        family_name_kana="タカサキ",
        email="takasaki@example.jp",
    )


def test_markup_in_names_is_escaped_on_list_and_detail(logged_in, hostile):
    # when
    pages = [logged_in.get(LIST).content.decode(), logged_in.get(_detail(hostile)).content.decode()]
    # then
    for html in pages:
        assert "<script>alert(1)</script>" not in html
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
        assert "<img src=x" not in html
        assert "<b>営業</b>" not in html


def test_markup_in_a_note_is_escaped(logged_in, yamada):
    # when
    logged_in.post(_url("note_add", yamada), {"text": "<script>alert(3)</script>"})
    # then
    html = logged_in.get(_detail(yamada)).content.decode()
    assert "<script>alert(3)</script>" not in html
    assert "&lt;script&gt;alert(3)&lt;/script&gt;" in html


def test_itaiji_emoji_and_full_width_spaces_render_intact(logged_in, unusual):
    # when
    pages = [
        logged_in.get(LIST).content.decode(),
        logged_in.get(_detail(unusual)).content.decode(),
        logged_in.get(LIST, {"q": "高崎"}).content.decode(),
    ]
    # then
    for html in pages:
        assert "髙﨑 太郎　😀" in html


# --- English --------------------------------------------------------------------------------


def test_the_pages_speak_english_when_chosen(logged_in, yamada):
    # given
    logged_in.post(reverse("set_language"), {"language": "en", "next": LIST})
    # when
    html_list = logged_in.get(LIST).content.decode()
    html_detail = logged_in.get(_detail(yamada)).content.decode()
    # then
    assert '<html lang="en">' in html_list
    assert ">Contacts<" in html_list
    assert "Tokyo" in html_list
    assert "Information and communications" in html_detail
    assert "Contact created" in html_detail


def test_the_list_shows_score_and_stage_and_filters_by_them(logged_in):
    # given a hot contact (a score row the scoring app keeps) and a cold one without any
    hot = _contact(email="hot@example.jp", family_name="熱田")
    _contact(email="cold@example.jp", family_name="冷泉")
    written = clock.now()
    ScoreState.objects.update_or_create(
        contact=hot,
        defaults={
            "engagement": 60.0,
            "engagement_epoch": written.timestamp(),
            "fit": 23,
            "temperature": Temperature.HOT,
            "updated_at": written,
        },
    )
    # when the list is filtered to hot contacts, at the moment the score was written (the
    # shown score is rounded down: a moment later 60 has decayed below 60 and 83 shows as 82)
    with clock.frozen(written):
        page = logged_in.get(LIST, {"temperature": "hot"}).content.decode()
    # then only the hot one is listed, with its score and stage
    assert "熱田" in page and "冷泉" not in page
    assert "temp--hot" in page
    assert ">83<" in page
    # and the cold filter finds the contact without a score row
    cold = logged_in.get(LIST, {"temperature": "cold"}).content.decode()
    assert "冷泉" in cold and "熱田" not in cold
