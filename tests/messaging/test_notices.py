"""Internal notices reach staff only. A lead with a mail address and a LINE user id triggers
every internal notice — the sales alert, the SLA reminder and escalation, the stalled-deal
notice and a sequence's owner notice — on a LINE, Slack and JSON-webhook channel and by mail;
a real local HTTP server receives the chat posts and a real SMTP server the mail, and nothing
is ever addressed to the lead. A notice is not shown on the lead's timeline as a mail or chat
message the lead received."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest

from sokyaku.activity.models import Event, EventType
from sokyaku.contacts.models import Contact
from sokyaku.core import clock
from sokyaku.core import services as core_services
from sokyaku.deals import services as deal_services
from sokyaku.handoff import services
from sokyaku.handoff.services import alerting
from sokyaku.messaging.models import (
    ChatChannel,
    ChatKind,
    Message,
    MessageStatus,
    RecipientKind,
)
from sokyaku.messaging.services import delivery
from sokyaku.messaging.services.notices import Notice, notice_enqueue
from sokyaku.sequences.models import StepKind
from sokyaku.sequences.services.editing import StepInput
from sokyaku.sequences.services.enrollment import sequence_enroll
from sokyaku.sequences.services.tick import sequences_tick
from tests.deals.factories import deal_make
from tests.handoff.factories import (
    act,
    lead_make,
    open_handoff,
    rep_make,
    team_make,
    transactional_sender,
    trigger_make,
    webhook,
)
from tests.sequences.factories import sequence_make

pytestmark = pytest.mark.django_db

LEAD_MAIL = "lead@customer.example"
LEAD_LINE = "U" + "1" * 32
REP_LINE = "U" + "a" * 32
REP_SLACK = "U0REP1234"
TEAM_GROUP = "C" + "b" * 32


def _lead(owner: Any = None) -> Contact:
    lead = lead_make(email=LEAD_MAIL, owner_id=owner.pk if owner else None)
    Contact.objects.filter(pk=lead.pk).update(custom_fields={"line_user_id": LEAD_LINE})
    lead.refresh_from_db()
    return lead


def _channel(kind: str, url: str, *, team_to: str = "") -> ChatChannel:
    return ChatChannel.objects.create(
        name=f"営業アラート {kind}",
        kind=kind,
        url=url,
        secret="line-token" if kind == ChatKind.LINE else "",
        team_to=team_to,
        created_at=clock.now(),
    )


def _rep(*, line: str = REP_LINE, slack: str = REP_SLACK, email: str = "rep@sales.example"):  # type: ignore[no-untyped-def]
    rep = rep_make("田中", "健太", email=email)
    core_services.staff_identity_save(
        user=rep, slack_member_id=slack, line_user_id=line, actor=None
    )
    return rep


def _alert_on(channel: ChatChannel, rep: Any, capture: Any) -> Contact:
    transactional_sender()
    services.routing_rule_save(
        rule=None,
        data={"name": "営業部", "kind": "round_robin", "team": team_make(rep)},
        actor=None,
    )
    trigger_make()
    services.handoff_settings_save(alert_chat_channel=channel, queue_notify=None, actor=None)
    lead = _lead()
    with capture(execute=True):
        act(lead, "demo_requested", product="ITインフラ更新ソリューション")
    return lead


def test_a_line_alert_goes_to_the_reps_own_line_id_not_to_the_leads(
    settings,  # type: ignore[no-untyped-def]
    django_capture_on_commit_callbacks,  # type: ignore[no-untyped-def]
) -> None:
    # given a LINE channel as the alert channel, a rep with their own LINE user id, and a lead
    # who has a LINE user id of their own
    settings.CHAT_ALLOW_PRIVATE = True
    rep = _rep()
    with webhook() as hook:
        channel = _channel(ChatKind.LINE, hook.url)
        # when the lead requests a demo
        _alert_on(channel, rep, django_capture_on_commit_callbacks)
        # then the push goes to the rep's LINE, never to the lead's
        (body,) = hook.bodies
    payload = json.loads(body)
    assert payload["to"] == REP_LINE
    assert LEAD_LINE not in body.decode()
    assert "デモ申し込み" in payload["messages"][0]["text"]


def test_a_line_alert_for_a_rep_without_a_line_id_goes_to_the_teams_group(
    settings,  # type: ignore[no-untyped-def]
    django_capture_on_commit_callbacks,  # type: ignore[no-untyped-def]
) -> None:
    settings.CHAT_ALLOW_PRIVATE = True
    rep = _rep(line="")
    with webhook() as hook:
        _alert_on(
            _channel(ChatKind.LINE, hook.url, team_to=TEAM_GROUP),
            rep,
            django_capture_on_commit_callbacks,
        )
        (body,) = hook.bodies
    assert json.loads(body)["to"] == TEAM_GROUP


def test_a_line_alert_with_no_staff_destination_is_held_back_not_sent_to_the_lead(
    settings,  # type: ignore[no-untyped-def]
    django_capture_on_commit_callbacks,  # type: ignore[no-untyped-def]
) -> None:
    # given a LINE channel without a team group and a rep without a LINE user id
    settings.CHAT_ALLOW_PRIVATE = True
    rep = _rep(line="")
    with webhook() as hook:
        lead = _alert_on(_channel(ChatKind.LINE, hook.url), rep, django_capture_on_commit_callbacks)
        # then nothing is pushed at all
        assert hook.bodies == []
    chat = Message.objects.get(contact=lead, channel="chat")
    assert chat.status == MessageStatus.SUPPRESSED
    assert "no team group id" in chat.suppressed_reason


def test_a_slack_alert_mentions_the_rep(
    settings,  # type: ignore[no-untyped-def]
    django_capture_on_commit_callbacks,  # type: ignore[no-untyped-def]
) -> None:
    settings.CHAT_ALLOW_PRIVATE = True
    rep = _rep()
    with webhook() as hook:
        _alert_on(_channel(ChatKind.SLACK, hook.url), rep, django_capture_on_commit_callbacks)
        (body,) = hook.bodies
    assert json.loads(body)["text"].startswith(f"<@{REP_SLACK}> ")


def test_a_webhook_alert_names_the_staff_recipient(
    settings,  # type: ignore[no-untyped-def]
    django_capture_on_commit_callbacks,  # type: ignore[no-untyped-def]
) -> None:
    settings.CHAT_ALLOW_PRIVATE = True
    rep = _rep()
    with webhook() as hook:
        _alert_on(_channel(ChatKind.GENERIC, hook.url), rep, django_capture_on_commit_callbacks)
        (body,) = hook.bodies
    recipient = json.loads(body)["recipient"]
    assert recipient["kind"] == RecipientKind.TEAM_CHANNEL
    assert recipient["user"]["email"] == "rep@sales.example"
    assert recipient["user"]["line_user_id"] == REP_LINE


@pytest.mark.parametrize("kind", [ChatKind.LINE, ChatKind.SLACK, ChatKind.GENERIC])
def test_no_internal_notice_is_addressed_to_the_lead_on_any_channel(
    kind: str,
    settings,  # type: ignore[no-untyped-def]
    smtp_server,  # type: ignore[no-untyped-def]
    django_capture_on_commit_callbacks,  # type: ignore[no-untyped-def]
) -> None:
    settings.CHAT_ALLOW_PRIVATE = True
    manager = rep_make("部長", "花子", email="manager@sales.example")
    rep = _rep()
    with webhook() as hook:
        channel = _channel(kind, hook.url, team_to=TEAM_GROUP)
        # the sales alert (mail and chat), then the reminder and the escalation
        lead = _alert_on(channel, rep, django_capture_on_commit_callbacks)
        handoff = open_handoff(lead)
        handoff.team = team_make(rep, manager=manager)
        handoff.save(update_fields=["team"])
        with django_capture_on_commit_callbacks(execute=True):
            alerting.reminder_send(handoff=handoff)
            alerting.escalation_send(handoff=handoff)
        # a stalled deal of the lead
        with django_capture_on_commit_callbacks(execute=True):
            with clock.frozen(clock.now() - timedelta(days=30)):
                deal = deal_make(owner=rep, contact=lead)
            deal_services.stagnation_tick()
        # a sequence's owner notices, by chat and by mail
        Contact.objects.filter(pk=lead.pk).update(owner=rep)
        lead.refresh_from_db()
        sequence = sequence_make(
            steps=[
                StepInput(
                    StepKind.NOTIFY_OWNER,
                    "",
                    {
                        "text": "{{ contact.family_name }}様が料金ページを見ました",
                        "channel": channel.pk,
                    },
                ),
                StepInput(StepKind.NOTIFY_OWNER, "", {"subject": "フォロー", "text": "フォローを"}),
            ]
        )
        with django_capture_on_commit_callbacks(execute=True):
            sequence_enroll(sequence=sequence, contact=lead)
            sequences_tick()
        posted = [json.loads(body) for body in hook.bodies]
    mails = smtp_server.wait_for(5)
    # every notice about the lead went to staff: by mail to rep and manager, by chat to staff
    notices = list(Message.objects.filter(contact=lead))
    assert len(notices) == 7
    assert {m.recipient_kind for m in notices} <= {
        RecipientKind.STAFF_USER,
        RecipientKind.TEAM_CHANNEL,
    }
    assert all(m.status == MessageStatus.SENT for m in notices), [
        (m.dedupe_key, m.suppressed_reason) for m in notices
    ]
    recipients = {str(mail["To"]) for mail in mails}
    assert recipients == {"rep@sales.example", "manager@sales.example"}
    assert len(posted) == 2
    for payload in posted:
        assert LEAD_LINE not in json.dumps(payload)
        assert payload.get("to", REP_LINE) == REP_LINE
    assert "山田様が料金ページを見ました" in json.dumps(posted, ensure_ascii=False)
    # and the lead's timeline shows no mail or chat message the lead received
    received = Event.objects.filter(
        contact_id=lead.pk,
        type__in=[EventType.EMAIL_SENT, EventType.CHAT_SENT, EventType.EMAIL_BOUNCED],
    )
    assert not received.exists()
    assert Message.objects.filter(context__deal=deal.pk, to_address="rep@sales.example").exists()


def test_a_contact_cannot_be_the_recipient_of_an_internal_notice() -> None:
    lead = _lead()
    with pytest.raises(TypeError):
        notice_enqueue(
            dedupe_key="x",
            recipient=lead,  # type: ignore[arg-type]
            notice=Notice(subject="s", text="t"),
            about=lead,
        )
    assert not Message.objects.exists()


def test_the_contact_facing_line_message_still_goes_to_the_contacts_line_id(
    settings,  # type: ignore[no-untyped-def]
) -> None:
    # The contact path is separate: a sequence's LINE step to a contact uses their LINE id.
    from sokyaku.messaging.models import MessageChannel, Stream
    from sokyaku.messaging.services.outbox import message_enqueue

    settings.CHAT_ALLOW_PRIVATE = True
    lead = _lead()
    with webhook() as hook:
        message, _ = message_enqueue(
            dedupe_key="contact-line",
            contact=lead,
            channel=MessageChannel.CHAT,
            stream=Stream.TRANSACTIONAL,
            chat_channel=_channel(ChatKind.LINE, hook.url),
            context={"text": "ご注文ありがとうございます"},
        )
        delivery.messages_deliver(message_ids=[message.pk])
        (body,) = hook.bodies
    assert json.loads(body)["to"] == LEAD_LINE


def test_a_line_channel_refuses_a_malformed_team_group_id() -> None:
    from sokyaku.core.errors import ValidationError
    from sokyaku.messaging.services.content import ChatChannelInput, chat_channel_create

    with pytest.raises(ValidationError) as refused:
        chat_channel_create(
            data=ChatChannelInput(
                name="営業LINE", kind=ChatKind.LINE, secret="token", team_to="営業チーム"
            ),
            actor=None,
        )
    assert "team_to" in refused.value.field_errors
    assert not ChatChannel.objects.exists()
    channel = chat_channel_create(
        data=ChatChannelInput(name="営業LINE", kind=ChatKind.LINE, secret="t", team_to=TEAM_GROUP),
        actor=None,
    )
    assert channel.team_to == TEAM_GROUP


def test_a_rep_clicking_a_link_in_an_owner_notice_is_not_the_leads_click(
    smtp_server,  # type: ignore[no-untyped-def]
) -> None:
    # given an owner notice written from a mail template with a link, sent to the rep
    from sokyaku.messaging.services.notices import StaffMail
    from sokyaku.messaging.services.tracking import message_click_record
    from tests.sequences.factories import template_make

    transactional_sender()
    rep = _rep()
    lead = _lead(owner=rep)
    message = notice_enqueue(
        dedupe_key="owner-notice",
        recipient=StaffMail(user=rep),
        notice=Notice(subject="フォロー", text="フォローを"),
        about=lead,
        template=template_make(),
    )
    delivery.messages_deliver(message_ids=[message.pk])
    (mail,) = smtp_server.wait_for(1)
    assert mail["To"] == "rep@sales.example"
    # when the rep opens the link on their phone ten minutes later
    with clock.frozen(clock.now() + timedelta(minutes=10)):
        url = message_click_record(
            message_id=message.pk,
            position=0,
            ip="203.0.113.7",
            user_agent="Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Mobile/15E148",
        )
    # then it leads to the page, and nothing is recorded as the lead's engagement
    assert url == "https://sample.example/demo"
    assert not Event.objects.filter(
        contact_id=lead.pk,
        type__in=[EventType.EMAIL_SENT, EventType.EMAIL_OPENED, EventType.EMAIL_CLICKED],
    ).exists()
