"""demo_load: the same seed gives the same data, and the data looks like a real B2B database."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import datetime

import pytest
from django.db import transaction
from django.db.models import Count, F

from sokyaku.activity.models import Event, EventType, Visitor
from sokyaku.campaigns.models import Channel, ChannelCost
from sokyaku.contacts import normalize
from sokyaku.contacts.models import Company, Contact
from sokyaku.core import clock
from sokyaku.core.errors import Conflict
from sokyaku.demo.generator import DemoSummary, demo_load
from sokyaku.messaging.models import Message

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 4, 15, 9, 30, tzinfo=clock.TOKYO)
SIZE = 200


@pytest.fixture
def loaded() -> Iterator[DemoSummary]:
    yield demo_load(contacts=SIZE, seed=7, now=NOW)


# Properties that hold database ids (different in every load).
_ROW_IDS = frozenset(
    {
        "record_id", "bant_id", "segment", "sequence", "step", "rule", "message_id",
        # handoffs, deals and referrals name their rows, the people (contacts, users) involved
        "handoff", "deal", "referral", "referrer", "referred", "assignee", "order",
        "submission_id",
    }
)  # fmt: skip


def _digest() -> str:
    """Everything a person would see of the data, without database ids."""
    h = hashlib.sha256()
    contacts = Contact.objects.order_by("email").values_list(
        "family_name", "given_name", "family_name_kana", "given_name_kana", "email", "phone",
        "company__name", "department", "title", "postal_code", "prefecture", "address",
        "owner__username", "first_touch_channel__key", "created_at",
    )  # fmt: skip
    companies = Company.objects.order_by("match_key").values_list(
        "name", "name_kana", "domain", "industry", "employee_band", "revenue_band", "prefecture"
    )
    events = sorted(
        repr((*row, {k: v for k, v in properties.items() if k not in _ROW_IDS}))
        for *row, properties in Event.objects.values_list(
            "contact__email", "visitor_id", "type", "occurred_at", "source", "properties"
        )
    )
    costs = ChannelCost.objects.order_by("channel__key", "month").values_list(
        "channel__key", "month", "amount_jpy"
    )
    # Sorted whole: two mails to one person can tie on every ordered column (the database
    # returns ties in any order).
    mail_columns = (
        "contact__email", "to_address", "subject", "status", "topic_key", "template__name",
        "created_at", "sent_at", "opened_at", "clicked_at", "bounced_at",
    )  # fmt: skip
    mails = sorted(Message.objects.values_list(*mail_columns), key=repr)
    for part in (contacts, companies, events, costs, mails):
        h.update(repr(list(part)).encode())
    return h.hexdigest()


def _load_and_digest(seed: int) -> str:
    # Each load runs in a savepoint that is rolled back: both see a fresh database.
    with transaction.atomic():
        demo_load(contacts=SIZE, seed=seed, now=NOW)
        digest = _digest()
        transaction.set_rollback(True)
    return digest


def test_same_seed_gives_the_same_data():
    # given two loads with the same seed into fresh databases, and one with another seed
    first, second, other = _load_and_digest(7), _load_and_digest(7), _load_and_digest(8)
    # then the first two are identical to the last event and the third is not
    assert first == second
    assert other != first


def test_load_reports_what_it_wrote(loaded: DemoSummary):
    assert loaded.contacts == Contact.objects.count() == SIZE
    assert loaded.companies == Company.objects.count()
    assert SIZE / 10 < loaded.companies < SIZE / 3
    assert loaded.events + loaded.derived_events == Event.objects.count()
    assert [u.role for u in loaded.users] == ["marketer", "sales_rep", "sales_rep", "sales_rep"]
    assert all(u.password for u in loaded.users)


def test_people_have_surname_first_names_with_kana_and_valid_unique_emails(loaded: DemoSummary):
    contacts = list(Contact.objects.select_related("company"))
    assert all(c.family_name and c.given_name for c in contacts)
    assert all(c.display_name == f"{c.family_name} {c.given_name}" for c in contacts)
    assert all(c.family_name_kana and c.given_name_kana for c in contacts)
    assert all(normalize.email_normalize(c.email) == c.email for c in contacts)
    assert len({c.email for c in contacts}) == len(contacts)
    # company people write from the company's domain; the rest use free mail
    with_company = [c for c in contacts if c.company_id]
    at_company = [c for c in with_company if c.email.endswith("@" + c.company.domain)]
    assert len(at_company) > 0.9 * len(with_company)
    assert len(with_company) < len(contacts)
    # every address is under a zone reserved for examples
    assert all(".example" in c.email.rpartition("@")[2] for c in contacts)


def test_people_have_phones_titles_owners_tags_and_a_first_touch(loaded: DemoSummary):
    contacts = Contact.objects.all()
    assert contacts.exclude(phone="").count() > SIZE / 2
    assert contacts.filter(phone__startswith="+8190").exists()
    assert contacts.filter(title="部長").exists()
    assert contacts.filter(department="情報システム部").exists()
    assert contacts.exclude(postal_code="").filter(prefecture__isnull=False).exists()
    assert contacts.filter(owner__username__in=["kenta.tanaka", "yumi.suzuki"]).exists()
    assert contacts.filter(tags__name="資料DL").exists()
    assert not contacts.filter(first_touch_channel__isnull=True).exists()
    assert not contacts.filter(created_at__gt=NOW).exists()


def test_companies_have_unique_keys_and_real_attributes(loaded: DemoSummary):
    companies = list(Company.objects.all())
    keys = [c.match_key for c in companies]
    assert all(keys)
    assert len(set(keys)) == len(keys)
    assert len({c.domain for c in companies}) == len(companies)
    assert all(c.industry and c.employee_band and c.revenue_band for c in companies)
    assert {c.prefecture for c in companies} >= {13}  # Tokyo, at least
    assert any("株式会社" in c.name for c in companies)


def test_every_channel_has_costs_for_each_of_the_months(loaded: DemoSummary):
    months = Channel.objects.annotate(n=Count("costs__month", distinct=True))
    assert sorted(months.values_list("key", "n")) == sorted(
        (key, 6)
        for key in (
            "seo-blog", "paid-social", "paid-search", "webinar", "trade-show", "referral",
            "email", "direct",
        )
    )  # fmt: skip
    assert ChannelCost.objects.filter(channel__key="seo-blog", amount_jpy__gt=0).count() == 6


def test_events_of_many_types_up_to_now(loaded: DemoSummary):
    types = set(Event.objects.values_list("type", flat=True))
    assert types >= {
        EventType.PAGE_VIEW,
        EventType.FORM_SUBMITTED,
        EventType.ASSET_DOWNLOADED,
        EventType.WEBINAR_REGISTERED,
        EventType.EMAIL_OPENED,
        EventType.EMAIL_CLICKED,
        EventType.CONTACT_CREATED,
    }
    assert not Event.objects.filter(occurred_at__gt=NOW).exists()
    first_touches = Event.objects.filter(type=EventType.PAGE_VIEW, properties__has_key="utm_source")
    assert first_touches.exists()


def test_some_visitors_browsed_anonymously_and_were_stitched(loaded: DemoSummary):
    stitched = Visitor.objects.filter(contact__isnull=False, identified_at__isnull=False)
    assert loaded.stitched_visitors == stitched.count() > 0
    # page views from before the form was sent now belong to the contact
    before = Event.objects.filter(
        type=EventType.PAGE_VIEW,
        visitor_id__in=stitched.values("id"),
        contact__isnull=False,
        occurred_at__lt=F("contact__created_at"),
    )
    assert before.exists()
    # and some visitors never identified
    assert Event.objects.filter(contact__isnull=True).exclude(visitor_id="").exists()


def test_loading_twice_is_refused(loaded: DemoSummary):
    with pytest.raises(Conflict):
        demo_load(contacts=SIZE, seed=7, now=NOW)


def test_people_have_a_consent_history_with_legal_bases(loaded: DemoSummary):
    from sokyaku.consent.models import ConsentRecord, ConsentStatus, LegalBasis
    from sokyaku.consent.selectors import may_send

    bases = set(ConsentRecord.objects.values_list("legal_basis", flat=True))
    assert {LegalBasis.BUSINESS_CARD, LegalBasis.OPT_IN} <= bases
    assert loaded.consent_records == ConsentRecord.objects.count()
    opted_out = ConsentRecord.objects.filter(status=ConsentStatus.WITHDRAWN, topic=None).first()
    assert opted_out is not None
    assert may_send(contact_id=opted_out.contact_id, topic_key="newsletter") is False
    with_text = ConsentRecord.objects.filter(legal_basis=LegalBasis.OPT_IN).first()
    assert with_text is not None and with_text.text_version == 1


def test_demo_has_published_forms_a_webinar_and_a_landing_page(loaded: DemoSummary, client):
    assert loaded.forms == 7
    for path in ("/f/ma-checklist", "/f/demo-request", "/f/webinar-nurturing", "/p/ma-checklist"):
        response = client.get(path)
        assert response.status_code == 200, path
    assert "個人情報の取り扱いについて" in client.get("/f/ma-checklist").content.decode()


def test_each_forms_submission_count_is_what_the_timelines_show(loaded: DemoSummary, logged_in):
    from sokyaku.capture.models import Form, Submission

    # given the sent forms of the demo history, as the timelines show them
    sent = Event.objects.filter(type=EventType.FORM_SUBMITTED, contact__isnull=False)
    by_form = dict(sent.values("properties__form").annotate(n=Count("id")).values_list(
        "properties__form", "n"
    ))  # fmt: skip
    # then every one is a stored submission of a demo form, counted on that form
    assert sum(by_form.values()) == Submission.objects.count() > 100
    assert not sent.filter(properties__submission_id__isnull=True).exists()
    counts = dict(Form.objects.annotate(n=Count("submissions")).values_list("slug", "n"))
    assert {slug: n for slug, n in counts.items() if n} == by_form
    # and the forms page lists those counts
    html = logged_in.get("/capture/forms/").content.decode()
    for form in Form.objects.filter(slug__in=by_form):
        row = html[html.index(f"/f/{form.slug}<") :]
        assert f'<td class="num">{by_form[form.slug]}</td>' in row[: row.index("</tr>")]
