"""A person's right of access: everything sokyaku holds on one person, as one JSON document.

``person_export(contact=…)`` answers the document (``export_schema.PersonExport``) as a stream
of UTF-8 chunks, section by section in the schema's order. Long lists — events, messages,
score entries, submissions — are read from the database in chunks and written as they are
read, so a person with a million events is exported in bounded memory. Every part is built
from its schema class, so the output is exactly the documented shape.

Who the person is: the contact and every duplicate record merged into it (a merge moves only
events and visitors; the duplicate's consents, mails, submissions … stay on its row and belong
to the same person). A merge that was undone made them two people again. Nothing of anyone
else is written: a referral names the code, never the other person; internal notices say what
they said, never to whom or where; a test mail to a colleague is not theirs.

Each export is written to the data-access log when it is asked for, before the first byte
(resource ``privacy.person_export``): the UI's and the API's as their user (and key), the
command line's as the system.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime
from typing import Any

from django.contrib.auth.models import User
from django.db.models import Model, Prefetch, Q, QuerySet
from pydantic import BaseModel

from sokyaku.activity.models import Event, EventType, Visitor
from sokyaku.capture.models import Submission, WebinarRegistration
from sokyaku.consent.models import ConsentRecord, PurposeText, Suppression
from sokyaku.consent.selectors import consent_state
from sokyaku.contacts.models import Company, Contact, MergeRecord, PendingChange
from sokyaku.contacts.normalize import phone_display
from sokyaku.contacts.prefectures import prefecture_name
from sokyaku.core import clock
from sokyaku.core.models import AccessKind, ApiKey
from sokyaku.core.services import data_access_log
from sokyaku.deals.models import Deal, DealStageChange, Order, Referral, ReferralCode
from sokyaku.handoff.models import Handoff, SalesActivity
from sokyaku.lifecycle.models import BantRecord, ContactStage, StageChange
from sokyaku.messaging.models import Message, MessageLink, RecipientKind
from sokyaku.messaging.services.delivery import address_hash
from sokyaku.privacy import export_schema as s
from sokyaku.scoring import decay
from sokyaku.scoring.compiled import compiled_active
from sokyaku.scoring.models import Prediction, ScoreEntry, ScoreState
from sokyaku.scoring.selectors import DEFAULT_HALF_LIFE_DAYS, score_breakdown
from sokyaku.segments.models import SegmentMembership
from sokyaku.sequences.models import Enrollment, Sequence, StepRun

RESOURCE = "privacy.person_export"
CONTENT_TYPE = "application/json; charset=utf-8"
# Rows read per query of a long list, and bytes gathered before a chunk is handed out.
_ROWS = 500
_CHUNK_BYTES = 64 * 1024
# A merge chain cannot be longer than the merges made; this bounds a corrupt one.
_MAX_MERGE_DEPTH = 50


def person_export(
    *, contact: Contact, user: User | None = None, api_key: ApiKey | None = None
) -> Iterator[bytes]:
    """The export of ``contact`` (a live contact, already permission-checked by the caller) as
    UTF-8 chunks of one JSON document.

    Side effect: one data-access log row, written now (not when the stream is read).
    """
    data_access_log(
        kind=AccessKind.EXPORT,
        resource=RESOURCE,
        fields=list(s.PersonExport.model_fields),
        rows=1,
        user=user,
        api_key=api_key,
        filters={"contact_id": contact.pk},
    )
    return _chunks(_document(contact=contact, at=clock.now()))


def export_filename(*, contact: Contact) -> str:
    """``sokyaku-contact-<id>-<YYYYMMDD>.json``, the day in Japan."""
    return f"sokyaku-contact-{contact.pk}-{clock.local_now():%Y%m%d}.json"


def _chunks(pieces: Iterable[str]) -> Iterator[bytes]:
    buffer: list[str] = []
    size = 0
    for piece in pieces:
        buffer.append(piece)
        size += len(piece)
        if size >= _CHUNK_BYTES:
            yield "".join(buffer).encode()
            buffer, size = [], 0
    if buffer:
        yield "".join(buffer).encode()


def _document(*, contact: Contact, at: datetime) -> Iterator[str]:
    ids = person_ids(contact=contact)
    header = {
        "format_version": json.dumps(s.FORMAT_VERSION),
        "generated_at": json.dumps(at.astimezone(clock.TOKYO).isoformat()),
        "time_zone": json.dumps("Asia/Tokyo"),
    }
    sections = _sections(contact=contact, ids=ids, at=at)
    yield "{" + ",".join(f"{json.dumps(key)}:{value}" for key, value in header.items())
    for key in s.PersonExport.model_fields:
        if key in header:
            continue
        yield f",{json.dumps(key)}:"
        value = sections[key]()
        if value is None:
            yield "null"
        elif isinstance(value, BaseModel):
            yield value.model_dump_json()
        else:
            yield "["
            for index, item in enumerate(value):
                yield ("," if index else "") + item.model_dump_json()
            yield "]"
    yield "}"


def person_ids(*, contact: Contact) -> list[int]:
    """The contact's id and those of every record merged into it, directly or in a chain."""
    ids = [contact.pk]
    frontier = [contact.pk]
    for _depth in range(_MAX_MERGE_DEPTH):
        frontier = list(
            Contact.objects.filter(merged_into_id__in=frontier)
            .exclude(pk__in=ids)
            .values_list("pk", flat=True)
        )
        if not frontier:
            break
        ids.extend(frontier)
    return ids


def _rows(queryset: QuerySet[Any]) -> Iterator[Any]:
    return queryset.iterator(chunk_size=_ROWS)


def _name(user: User | None) -> str:
    """A staff member as a record names them: surname first, else the user name."""
    if user is None:
        return ""
    return " ".join(p for p in (user.last_name, user.first_name) if p) or user.get_username()


Producer = Any  # a callable answering a part, None, or an iterator of parts


def _sections(*, contact: Contact, ids: list[int], at: datetime) -> Mapping[str, Producer]:
    """Each section of the document after the header, by key, built only when it is written."""
    return {
        "contact": lambda: _contact(contact),
        "merged_contacts": lambda: _merged(contact, ids),
        "company": lambda: _company(contact.company),
        "consent": lambda: _consent(contact, ids),
        "events": lambda: _events(ids),
        "visitors": lambda: _visitors(ids),
        "form_submissions": lambda: _submissions(ids),
        "webinar_registrations": lambda: _registrations(ids),
        "messages": lambda: _messages(ids),
        "notices": lambda: _notices(ids, handoff=None),
        "handoffs": lambda: _handoffs(ids),
        "sales_activities": lambda: _sales_activities(ids),
        "deals": lambda: _deals(ids),
        "orders": lambda: _orders(ids),
        "referral_code": lambda: _referral_code(ids),
        "referrals_made": lambda: _referrals_made(ids),
        "referred_by": lambda: _referred_by(ids),
        "score": lambda: _score(contact, at),
        "score_entries": lambda: _score_entries(ids, at),
        "prediction": lambda: _prediction(contact),
        "lifecycle": lambda: _lifecycle(contact, ids),
        "sequence_enrollments": lambda: _enrollments(ids),
        "segment_memberships": lambda: _memberships(ids),
        "pending_changes": lambda: _pending(ids),
    }


# --- The person's record --------------------------------------------------------------------


def _contact(contact: Contact) -> s.ContactPart:
    return s.ContactPart(
        id=contact.pk,
        family_name=contact.family_name,
        given_name=contact.given_name,
        family_name_kana=contact.family_name_kana,
        given_name_kana=contact.given_name_kana,
        email=contact.email,
        phone=s.Phone(
            as_written=contact.phone_written,
            normalised=contact.phone,
            display=phone_display(contact.phone) if contact.phone else "",
            extension=contact.phone_extension,
            needs_review=contact.phone_needs_review,
        ),
        department=contact.department,
        title=contact.title,
        title_level=contact.title_level,
        postal_code=contact.postal_code,
        prefecture=contact.prefecture,
        prefecture_name=prefecture_name(contact.prefecture),
        address=contact.address,
        owner=_name(contact.owner),
        tags=sorted(contact.tags.values_list("name", flat=True)),
        custom_fields=dict(contact.custom_fields or {}),
        first_touch_channel=contact.first_touch_channel.name
        if contact.first_touch_channel
        else None,
        latest_touch_channel=contact.latest_touch_channel.name
        if contact.latest_touch_channel
        else None,
        first_touch=dict(contact.first_touch or {}),
        latest_touch=dict(contact.latest_touch or {}),
        created_at=contact.created_at,
        updated_at=contact.updated_at,
    )


def _merged(contact: Contact, ids: list[int]) -> Iterator[s.MergedContactPart]:
    records = MergeRecord.objects.filter(
        kind=MergeRecord.Kind.CONTACT,
        winner_id__in=ids,
        loser_id__in=ids,
        undone_at__isnull=True,
    ).order_by("merged_at", "id")
    for record in records:
        fields = {k: v for k, v in (record.loser_before or {}).items() if k != "owner_id"}
        yield s.MergedContactPart(
            contact_id=record.loser_id, merged_at=record.merged_at, fields=fields
        )


def _company(company: Company | None) -> s.CompanyPart | None:
    if company is None:
        return None
    return s.CompanyPart(
        id=company.pk,
        name=company.name,
        name_kana=company.name_kana,
        domain=company.domain,
        industry=company.industry,
        employee_band=company.employee_band,
        revenue_band=company.revenue_band,
        prefecture=company.prefecture,
        prefecture_name=prefecture_name(company.prefecture),
    )


# --- Consent --------------------------------------------------------------------------------


def _purpose(text: PurposeText | None) -> s.PurposeTextPart | None:
    if text is None:
        return None
    return s.PurposeTextPart(
        key=text.key, version=text.version, title=text.title, body=text.body, sha256=text.sha256
    )


def _consent(contact: Contact, ids: list[int]) -> s.ConsentPart:
    states = consent_state(contact_id=contact.pk)
    records = (
        ConsentRecord.objects.filter(contact_id__in=ids)
        .select_related("topic", "purpose_text")
        .order_by("recorded_at", "id")
    )
    suppression = (
        Suppression.objects.filter(email_sha256=address_hash(contact.email)).first()
        if contact.email
        else None
    )
    return s.ConsentPart(
        topics=[
            s.TopicStatePart(
                topic=key,
                name=state.topic.name,
                granted=state.granted,
                legal_basis=state.legal_basis,
                since=state.since,
            )
            for key, state in states.items()
        ],
        records=[
            s.ConsentRecordPart(
                id=record.pk,
                topic=record.topic.key if record.topic else "*",
                status=record.status,  # type: ignore[arg-type]
                legal_basis=record.legal_basis,
                source=record.source,
                source_detail=record.source_detail,
                recorded_at=record.recorded_at,
                ip=record.ip,
                user_agent=record.user_agent,
                purpose_text=_purpose(record.purpose_text),
                text_version=record.text_version,
                text_sha256=record.text_sha256,
                confirms=record.confirms_id,
            )
            for record in records
        ],
        suppressed=s.SuppressionPart(reason=suppression.reason, created_at=suppression.created_at)
        if suppression
        else None,
    )


# --- What they did --------------------------------------------------------------------------


# Properties that name another person (by contact id): left out of their events.
_OTHER_PERSON = {EventType.REFERRED: "referrer", EventType.REFERRAL: "referred"}


def _events(ids: list[int]) -> Iterator[s.EventPart]:
    events = Event.objects.filter(contact_id__in=ids).order_by("occurred_at", "id")
    for event in _rows(events):
        properties = dict(event.properties or {})
        properties.pop(_OTHER_PERSON.get(event.type, ""), None)
        yield s.EventPart(
            id=event.pk,
            type=event.type,
            occurred_at=event.occurred_at,
            received_at=event.received_at,
            source=event.source,
            visitor_id=event.visitor_id,
            properties=properties,
        )


def _visitors(ids: list[int]) -> Iterator[s.VisitorPart]:
    for visitor in Visitor.objects.filter(contact_id__in=ids).order_by("first_seen_at", "id"):
        yield s.VisitorPart(
            id=visitor.pk, first_seen_at=visitor.first_seen_at, identified_at=visitor.identified_at
        )


def _submissions(ids: list[int]) -> Iterator[s.SubmissionPart]:
    submissions = (
        Submission.objects.filter(contact_id__in=ids)
        .select_related("form", "purpose_text")
        .order_by("submitted_at", "id")
    )
    for row in _rows(submissions):
        yield s.SubmissionPart(
            id=row.pk,
            form=row.form.name,
            form_slug=row.form.slug,
            submitted_at=row.submitted_at,
            data=dict(row.data or {}),
            utm=dict(row.utm or {}),
            page_url=row.page_url,
            referrer=row.referrer,
            visitor_id=row.visitor_id,
            ip=row.ip,
            user_agent=row.user_agent,
            purpose_text=_purpose(row.purpose_text),
            confirmation_sent_at=row.confirmation_sent_at,
            confirmed_at=row.confirmed_at,
            outcome=dict(row.outcome or {}),
        )


def _registrations(ids: list[int]) -> Iterator[s.WebinarRegistrationPart]:
    registrations = (
        WebinarRegistration.objects.filter(contact_id__in=ids)
        .select_related("webinar")
        .order_by("registered_at", "id")
    )
    for row in registrations:
        yield s.WebinarRegistrationPart(
            webinar=row.webinar.title,
            starts_at=row.webinar.starts_at,
            ends_at=row.webinar.ends_at,
            registered_at=row.registered_at,
            source=row.source,
            attended=row.attended,
            minutes_attended=row.minutes_attended,
        )


# --- Mail and chat --------------------------------------------------------------------------


def _messages(ids: list[int]) -> Iterator[s.MessagePart]:
    messages = (
        Message.objects.filter(contact_id__in=ids, recipient_kind=RecipientKind.CONTACT)
        .select_related("template", "broadcast")
        .prefetch_related(Prefetch("links", queryset=MessageLink.objects.order_by("position")))
        .order_by("created_at", "id")
    )
    sequences = dict(
        Sequence.objects.filter(
            pk__in=Message.objects.filter(contact_id__in=ids, sequence_id__isnull=False).values(
                "sequence_id"
            )
        ).values_list("pk", "name")
    )
    for row in _rows(messages):
        yield s.MessagePart(
            id=row.pk,
            channel=row.channel,
            stream=row.stream,
            status=row.status,
            kind=row.system_mail,
            template=row.template.name if row.template else "",
            sequence=sequences.get(row.sequence_id, "") if row.sequence_id else "",
            broadcast=row.broadcast.name if row.broadcast else "",
            topic=row.topic_key,
            to_address=row.to_address,
            subject=row.subject,
            body_text=row.body_text,
            body_html=row.body_html,
            attachments=[
                s.AttachmentPart(
                    filename=str(item.get("filename", "")),
                    content_type=str(item.get("content_type", "")),
                    text=str(item.get("text", "")),
                )
                for item in (row.attachments or [])
                if isinstance(item, Mapping)
            ],
            links=[link.url for link in row.links.all()],
            suppressed_reason=row.suppressed_reason,
            created_at=row.created_at,
            sent_at=row.sent_at,
            opened_at=row.opened_at,
            clicked_at=row.clicked_at,
            bounced_at=row.bounced_at,
            complained_at=row.complained_at,
            unsubscribed_at=row.unsubscribed_at,
        )


def _notice(row: Message) -> s.NoticePart:
    # What the notice said is its notification (subject and text as composed); the rendered
    # body of a chat notice may carry the staff member's chat mention, which is not theirs.
    notification = (row.context or {}).get("notification")
    composed = notification if isinstance(notification, Mapping) else {}
    return s.NoticePart(
        id=row.pk,
        channel=row.channel,
        status=row.status,
        subject=str(composed.get("subject") or row.subject),
        text=str(composed.get("text") or (row.body_text if row.channel == "email" else "")),
        created_at=row.created_at,
        sent_at=row.sent_at,
    )


def _notices_q(ids: list[int]) -> Q:
    return Q(contact_id__in=ids) & ~Q(recipient_kind=RecipientKind.CONTACT)


def _notices(ids: list[int], *, handoff: int | None) -> Iterator[s.NoticePart]:
    """Internal notices about the person: those of ``handoff``, or (``None``) those of none."""
    rows = Message.objects.filter(_notices_q(ids)).order_by("created_at", "id")
    for row in _rows(rows):
        if _handoff_of(row) == handoff:
            yield _notice(row)


def _handoff_of(row: Message) -> int | None:
    value = (row.context or {}).get("handoff")
    return value if isinstance(value, int) else None


# --- Sales ----------------------------------------------------------------------------------


def _handoffs(ids: list[int]) -> Iterator[s.HandoffPart]:
    handoffs = list(
        Handoff.objects.filter(contact_id__in=ids)
        .select_related("assignee")
        .prefetch_related("moments")
        .order_by("created_at", "id")
    )
    if not handoffs:
        return
    alerts: dict[int, list[s.NoticePart]] = {}
    for row in _rows(Message.objects.filter(_notices_q(ids)).order_by("created_at", "id")):
        handoff_id = _handoff_of(row)
        if handoff_id is not None:
            alerts.setdefault(handoff_id, []).append(_notice(row))
    for handoff in handoffs:
        yield s.HandoffPart(
            id=handoff.pk,
            trigger=handoff.trigger_kind,
            action=handoff.action_label,
            interest=handoff.interest,
            acted_at=handoff.acted_at,
            next_action=handoff.next_action,
            assignee=_name(handoff.assignee),
            status=handoff.status,
            created_at=handoff.created_at,
            sla_due_at=handoff.sla_due_at,
            sla_state=handoff.sla_state,
            first_touch_at=handoff.first_touch_at,
            closed_at=handoff.closed_at,
            reject_reason=handoff.reject_reason,
            reject_note=handoff.reject_note,
            outcome=handoff.outcome,
            moments=[
                s.MomentPart(action=m.action_label, interest=m.interest, acted_at=m.acted_at)
                for m in handoff.moments.all()
            ],
            alerts=alerts.get(handoff.pk, []),
        )


def _sales_activities(ids: list[int]) -> Iterator[s.SalesActivityPart]:
    activities = (
        SalesActivity.objects.filter(contact_id__in=ids)
        .select_related("user")
        .order_by("occurred_at", "id")
    )
    for row in _rows(activities):
        yield s.SalesActivityPart(
            id=row.pk,
            kind=row.kind,
            subject=row.subject,
            body=row.body,
            occurred_at=row.occurred_at,
            by=_name(row.user),
            handoff=row.handoff_id,
        )


def _deals(ids: list[int]) -> Iterator[s.DealPart]:
    deals = (
        Deal.objects.filter(contact_id__in=ids)
        .select_related("pipeline", "stage", "owner")
        .prefetch_related(
            "lines",
            Prefetch(
                "stage_changes",
                queryset=DealStageChange.objects.select_related("from_stage", "to_stage"),
            ),
        )
        .order_by("created_at", "id")
    )
    for deal in deals:
        yield s.DealPart(
            id=deal.pk,
            name=deal.name,
            pipeline=deal.pipeline.name,
            stage=deal.stage.name,
            status=deal.status,
            amount=deal.amount,
            expected_close=deal.expected_close,
            closed_at=deal.closed_at,
            lost_reason=deal.lost_reason,
            close_note=deal.close_note,
            owner=_name(deal.owner),
            created_at=deal.created_at,
            updated_at=deal.updated_at,
            lines=[
                s.DealLinePart(item=line.name, quantity=line.quantity, unit_price=line.unit_price)
                for line in deal.lines.all()
            ],
            history=[
                s.DealStageChangePart(
                    from_stage=_stage_name(change.from_stage),
                    to_stage=_stage_name(change.to_stage),
                    at=change.at,
                )
                for change in deal.stage_changes.all()
            ],
        )


def _stage_name(stage: Model | None) -> str:
    return str(getattr(stage, "name", "")) if stage is not None else ""


def _orders(ids: list[int]) -> Iterator[s.OrderPart]:
    for order in _rows(Order.objects.filter(contact_id__in=ids).order_by("ordered_at", "id")):
        yield s.OrderPart(
            order_id=order.external_id,
            ordered_at=order.ordered_at,
            amount=order.amount,
            lines=list(order.lines or []),
            created_at=order.created_at,
        )


def _referral_code(ids: list[int]) -> s.ReferralCodePart | None:
    code = ReferralCode.objects.filter(contact_id__in=ids).order_by("created_at", "id").first()
    return s.ReferralCodePart(code=code.code, created_at=code.created_at) if code else None


def _referrals_made(ids: list[int]) -> Iterator[s.ReferralMadePart]:
    referrals = Referral.objects.filter(referrer_id__in=ids).order_by("attributed_at", "id")
    for row in referrals:
        yield s.ReferralMadePart(
            code=row.code,
            attributed_at=row.attributed_at,
            reward_status=row.reward_status,
            reward_changed_at=row.reward_changed_at,
        )


def _referred_by(ids: list[int]) -> s.ReferredByPart | None:
    row = Referral.objects.filter(referred_id__in=ids).order_by("attributed_at", "id").first()
    return s.ReferredByPart(code=row.code, attributed_at=row.attributed_at) if row else None


# --- Scores and stages ----------------------------------------------------------------------


def _score(contact: Contact, at: datetime) -> s.ScorePart:
    breakdown = score_breakdown(contact_id=contact.pk, at=at, limit=0)
    state = ScoreState.objects.filter(contact_id=contact.pk).first()
    view = breakdown.score
    return s.ScorePart(
        engagement=view.engagement,
        fit=view.fit,
        total=view.total,
        points=view.points,
        temperature=view.temperature,  # type: ignore[arg-type]
        band_drops_at=breakdown.band_drops_at,
        ruleset_version=state.ruleset_version if state else 0,
        fit_rules=[s.FitRulePart(rule=line.rule, points=line.points) for line in breakdown.fit],
    )


def _score_entries(ids: list[int], at: datetime) -> Iterator[s.ScoreEntryPart]:
    compiled = compiled_active()
    half_life = compiled.half_life if compiled else DEFAULT_HALF_LIFE_DAYS * decay.DAY
    entries = (
        ScoreEntry.objects.filter(contact_id__in=ids)
        .select_related("rule")
        .order_by("occurred_at", "id")
    )
    for entry in _rows(entries):
        yield s.ScoreEntryPart(
            rule=entry.rule.name if entry.rule else "",
            points=entry.points,
            worth_now=decay.worth(
                entry.points, entry.occurred_at.timestamp(), at.timestamp(), half_life
            ),
            occurred_at=entry.occurred_at,
            event=entry.event_id,
        )


def _prediction(contact: Contact) -> s.PredictionPart | None:
    row = Prediction.objects.filter(contact_id=contact.pk).first()
    if row is None:
        return None
    return s.PredictionPart(
        probability=row.probability, reasons=list(row.reasons or []), computed_at=row.computed_at
    )


def _lifecycle(contact: Contact, ids: list[int]) -> s.LifecyclePart:
    current = ContactStage.objects.filter(contact_id=contact.pk).first()
    history = StageChange.objects.filter(contact_id__in=ids).order_by("changed_at", "id")
    bant = (
        BantRecord.objects.filter(contact_id__in=ids)
        .select_related("recorded_by")
        .order_by("recorded_at", "id")
    )
    return s.LifecyclePart(
        stage=current.stage if current else "",
        entered_at=current.entered_at if current else None,
        history=[
            s.StageChangePart(
                from_stage=row.from_stage,
                to_stage=row.to_stage,
                changed_at=row.changed_at,
                source=row.source,
                reason=row.reason,
            )
            for row in history
        ],
        bant=[
            s.BantPart(
                budget_amount_jpy=row.budget_amount_jpy,
                budget_band=row.budget_band,
                authority=row.authority,
                need=row.need,
                need_tags=list(row.need_tags or []),
                timeline_date=row.timeline_date,
                timeline_band=row.timeline_band,
                recorded_at=row.recorded_at,
                recorded_by=_name(row.recorded_by),
            )
            for row in bant
        ],
    )


def _enrollments(ids: list[int]) -> Iterator[s.EnrollmentPart]:
    enrollments = (
        Enrollment.objects.filter(contact_id__in=ids)
        .select_related("sequence")
        .prefetch_related(
            Prefetch("runs", queryset=StepRun.objects.select_related("step").order_by("ran_at"))
        )
        .order_by("enrolled_at", "id")
    )
    for row in enrollments:
        yield s.EnrollmentPart(
            sequence=row.sequence.name,
            status=row.status,
            enrolled_at=row.enrolled_at,
            finished_at=row.finished_at,
            exit_reason=row.exit_reason,
            steps=[
                s.StepRunPart(
                    step=(run.step.name or run.step.kind) if run.step else "",
                    ran_at=run.ran_at,
                    outcome=run.outcome,
                    detail=run.detail,
                    message=run.message_id,
                )
                for run in row.runs.all()
            ],
        )


def _memberships(ids: list[int]) -> Iterator[s.SegmentMembershipPart]:
    memberships = (
        SegmentMembership.objects.filter(contact_id__in=ids)
        .select_related("segment")
        .order_by("entered_at", "id")
    )
    for row in memberships:
        yield s.SegmentMembershipPart(
            segment=row.segment.name, kind=row.segment.kind, entered_at=row.entered_at
        )


def _pending(ids: list[int]) -> Iterator[s.PendingChangePart]:
    changes = PendingChange.objects.filter(contact_id__in=ids).order_by("submitted_at", "id")
    for row in changes:
        yield s.PendingChangePart(
            values=dict(row.values or {}),
            source=row.source,
            submitted_at=row.submitted_at,
            status=row.status,
            decided_at=row.decided_at,
        )
