"""The shape of a person's export (``format_version`` 1): one JSON object, every section always
present, in this order.

The classes are the document's definition: ``export.py`` builds every part from them (so what
is written cannot drift from what is documented), the API publishes them in its OpenAPI
document, and docs/privacy.md describes them for people. A change that removes or renames a
field, or changes its meaning, is a new ``format_version``; adding a field is not.

Conventions: times are ISO 8601 in Asia/Tokyo (``2026-04-01T10:00:00+09:00``), dates
``YYYY-MM-DD``; codes (statuses, sources, kinds) are the stable English keys the API uses;
amounts are whole yen; an empty text is ``""``, an unknown value ``null``. Staff appear by name
only where the record itself names them (a contact's owner, the rep a handoff went to, who
wrote a note); their addresses and chat identities never appear.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from sokyaku.core.clock import TOKYO

FORMAT_VERSION = 1


def _tokyo(value: datetime) -> datetime:
    return value.astimezone(TOKYO)


# A moment, written in Japan time whatever zone it is given in.
Time = Annotated[datetime, AfterValidator(_tokyo)]


class Part(BaseModel):
    """A part of the document: unknown fields are an error, so the shape is exactly this."""

    model_config = ConfigDict(extra="forbid")


class Phone(Part):
    as_written: str = Field(description="The number as it was given (03-1234-5678 内線12).")
    normalised: str = Field(description="E.164 (+81312345678); empty when it could not be read.")
    display: str = Field(description="The normalised number as written in Japan (03-1234-5678).")
    extension: str = Field(description="The extension (内線), if any.")
    needs_review: bool = Field(description="The number given could not be read.")


class ContactPart(Part):
    id: int
    family_name: str
    given_name: str
    family_name_kana: str
    given_name_kana: str
    email: str
    phone: Phone
    department: str
    title: str
    title_level: int = Field(description="0 unknown … 5 executive, derived from the title.")
    postal_code: str
    prefecture: int | None = Field(description="JIS code 1–47.")
    prefecture_name: str
    address: str
    owner: str = Field(description="The name of the staff member the contact is assigned to.")
    tags: list[str]
    custom_fields: dict[str, Any]
    first_touch_channel: str | None
    latest_touch_channel: str | None
    first_touch: dict[str, Any] = Field(description="UTM, referrer and page of the first touch.")
    latest_touch: dict[str, Any]
    created_at: Time
    updated_at: Time


class MergedContactPart(Part):
    """A duplicate record of the same person, merged into this one (its rows are included in
    the sections below)."""

    contact_id: int
    merged_at: Time
    fields: dict[str, Any] = Field(description="What that record held when it was merged.")


class CompanyPart(Part):
    id: int
    name: str
    name_kana: str
    domain: str
    industry: str = Field(description="JSIC division letter (G: information and communications).")
    employee_band: str
    revenue_band: str
    prefecture: int | None
    prefecture_name: str


class PurposeTextPart(Part):
    """A purpose-of-use (利用目的) text, exactly as it was shown."""

    key: str
    version: int
    title: str
    body: str
    sha256: str


class TopicStatePart(Part):
    topic: str
    name: str
    granted: bool
    legal_basis: str
    since: Time | None


class ConsentRecordPart(Part):
    """One row of the consent ledger, as recorded (the ledger is never edited)."""

    id: int
    topic: str = Field(description="The topic's key; `*` for every topic.")
    status: Literal["granted", "pending", "withdrawn"]
    legal_basis: str
    source: str
    source_detail: str
    recorded_at: Time
    ip: str | None
    user_agent: str
    purpose_text: PurposeTextPart | None
    text_version: int | None
    text_sha256: str
    confirms: int | None = Field(description="The pending record a confirmation completed.")


class SuppressionPart(Part):
    reason: str
    created_at: Time


class ConsentPart(Part):
    topics: list[TopicStatePart] = Field(description="The state per topic now.")
    records: list[ConsentRecordPart] = Field(description="The ledger, oldest first.")
    suppressed: SuppressionPart | None = Field(
        description="Whether the email address is on the suppression list (no marketing mail)."
    )


class EventPart(Part):
    id: int
    type: str
    occurred_at: Time
    received_at: Time
    source: str
    visitor_id: str
    properties: dict[str, Any]


class VisitorPart(Part):
    """A browser of the website tracking (first-party cookie id) that turned out to be them."""

    id: str
    first_seen_at: Time
    identified_at: Time | None


class SubmissionPart(Part):
    id: int
    form: str
    form_slug: str
    submitted_at: Time
    data: dict[str, Any] = Field(description="What was entered, field key → value.")
    utm: dict[str, Any]
    page_url: str
    referrer: str
    visitor_id: str
    ip: str | None
    user_agent: str
    purpose_text: PurposeTextPart | None
    confirmation_sent_at: Time | None
    confirmed_at: Time | None
    outcome: dict[str, Any]


class WebinarRegistrationPart(Part):
    webinar: str
    starts_at: Time
    ends_at: Time
    registered_at: Time
    source: str
    attended: bool | None
    minutes_attended: int | None


class AttachmentPart(Part):
    filename: str
    content_type: str
    text: str


class MessagePart(Part):
    """A mail or chat message to them, with what it said as it was sent."""

    id: int
    channel: str = Field(description="`email` or `chat`.")
    stream: str
    status: str
    kind: str = Field(description="A system mail's kind (download link …); empty otherwise.")
    template: str
    sequence: str
    broadcast: str
    topic: str
    to_address: str
    subject: str
    body_text: str
    body_html: str
    attachments: list[AttachmentPart]
    links: list[str]
    suppressed_reason: str
    created_at: Time
    sent_at: Time | None
    opened_at: Time | None
    clicked_at: Time | None
    bounced_at: Time | None
    complained_at: Time | None
    unsubscribed_at: Time | None


class NoticePart(Part):
    """An internal notice about them to staff (a sales alert, reminder, escalation, owner
    notice): what it said, not who received it or where."""

    id: int
    channel: str = Field(description="`email` or `chat`.")
    status: str
    subject: str
    text: str
    created_at: Time
    sent_at: Time | None


class MomentPart(Part):
    action: str
    interest: str
    acted_at: Time


class HandoffPart(Part):
    id: int
    trigger: str
    action: str
    interest: str
    acted_at: Time
    next_action: str
    assignee: str
    status: str
    created_at: Time
    sla_due_at: Time
    sla_state: str
    first_touch_at: Time | None
    closed_at: Time | None
    reject_reason: str
    reject_note: str
    outcome: str
    moments: list[MomentPart]
    alerts: list[NoticePart] = Field(description="The alerts, reminders and escalations sent.")


class SalesActivityPart(Part):
    id: int
    kind: str
    subject: str
    body: str
    occurred_at: Time
    by: str
    handoff: int | None


class DealLinePart(Part):
    item: str
    quantity: int
    unit_price: int


class DealStageChangePart(Part):
    from_stage: str
    to_stage: str
    at: Time


class DealPart(Part):
    id: int
    name: str
    pipeline: str
    stage: str
    status: str
    amount: int | None
    expected_close: date | None
    closed_at: Time | None
    lost_reason: str
    close_note: str
    owner: str
    created_at: Time
    updated_at: Time
    lines: list[DealLinePart]
    history: list[DealStageChangePart]


class OrderPart(Part):
    order_id: str
    ordered_at: Time
    amount: int
    lines: list[Any]
    created_at: Time


class ReferralCodePart(Part):
    code: str
    created_at: Time


class ReferralMadePart(Part):
    """Someone they referred: the code and the reward, never who that person is."""

    code: str
    attributed_at: Time
    reward_status: str
    reward_changed_at: Time | None


class ReferredByPart(Part):
    """They came through someone's referral code (who that was is the referrer's data)."""

    code: str
    attributed_at: Time


class FitRulePart(Part):
    rule: str
    points: int


class ScorePart(Part):
    engagement: float = Field(description="Behaviour points now, after decay.")
    fit: int
    total: float
    points: int
    temperature: Literal["cold", "warm", "hot"]
    band_drops_at: Time | None
    ruleset_version: int
    fit_rules: list[FitRulePart] = Field(description="The attribute rules that give `fit`.")


class ScoreEntryPart(Part):
    """Points one of their actions earned (the breakdown behind `engagement`)."""

    rule: str
    points: int
    worth_now: float
    occurred_at: Time
    event: int | None


class PredictionPart(Part):
    probability: float
    reasons: list[Any]
    computed_at: Time


class StageChangePart(Part):
    from_stage: str
    to_stage: str
    changed_at: Time
    source: str
    reason: str


class BantPart(Part):
    budget_amount_jpy: int | None
    budget_band: str
    authority: str
    need: str
    need_tags: list[Any]
    timeline_date: date | None
    timeline_band: str
    recorded_at: Time
    recorded_by: str


class LifecyclePart(Part):
    stage: str
    entered_at: Time | None
    history: list[StageChangePart]
    bant: list[BantPart]


class StepRunPart(Part):
    step: str
    ran_at: Time
    outcome: str
    detail: str
    message: int | None


class EnrollmentPart(Part):
    sequence: str
    status: str
    enrolled_at: Time
    finished_at: Time | None
    exit_reason: str
    steps: list[StepRunPart]


class SegmentMembershipPart(Part):
    segment: str
    kind: str
    entered_at: Time


class PendingChangePart(Part):
    values: dict[str, Any] = Field(description="What a form proposed for their record.")
    source: str
    submitted_at: Time
    status: str
    decided_at: Time | None


class PersonExport(Part):
    """Everything sokyaku holds on one person."""

    format_version: Literal[1]
    generated_at: Time
    time_zone: Literal["Asia/Tokyo"]
    contact: ContactPart
    merged_contacts: list[MergedContactPart]
    company: CompanyPart | None
    consent: ConsentPart
    events: list[EventPart] = Field(description="Everything they did, oldest first.")
    visitors: list[VisitorPart]
    form_submissions: list[SubmissionPart]
    webinar_registrations: list[WebinarRegistrationPart]
    messages: list[MessagePart]
    notices: list[NoticePart] = Field(description="Internal notices not about a handoff.")
    handoffs: list[HandoffPart]
    sales_activities: list[SalesActivityPart]
    deals: list[DealPart]
    orders: list[OrderPart]
    referral_code: ReferralCodePart | None
    referrals_made: list[ReferralMadePart]
    referred_by: ReferredByPart | None
    score: ScorePart
    score_entries: list[ScoreEntryPart]
    prediction: PredictionPart | None
    lifecycle: LifecyclePart
    sequence_enrollments: list[EnrollmentPart]
    segment_memberships: list[SegmentMembershipPart]
    pending_changes: list[PendingChangePart]
