"""Queueing the sales alerts, SLA reminders and escalations.

Every notice is an internal notice (``messaging.services.notices``): it goes to staff only —
a staff user's mail, their own LINE user id, or the team's chat channel — never to the lead it
is about, whatever the channel. It is on the **transactional** stream (never suppressed by a
marketing opt-out), created in the caller's transaction with a unique key, so a retried step
queues nothing twice; delivery starts right after commit.

- the alert (and a follow-up alert when a new hot action joins an open handoff) goes by mail to
  the assignee — to the ``queue_notify`` person, else the team manager, for an unassigned
  handoff — and to the alert chat channel when one is set: on LINE to the assignee's own LINE
  user id when they set one, else to the channel's team group; on Slack to the channel,
  mentioning the assignee; the mail has an HTML part with tap-to-call, mail and handoff links;
- the reminder goes to the assignee (the queue's recipient when unassigned);
- the escalation goes to the team's manager (the handoff's team, else the assignee's team with a
  manager), else to ``queue_notify``.

Keys: ``handoff:<id>:alert:<user>`` (+ ``:<assignment>`` after a reassignment),
``handoff:<id>:moment:<moment>:<user>``, ``handoff:<id>:reminder``, ``handoff:<id>:escalation``
(``…:chat`` for the chat copies).
"""

from __future__ import annotations

import logging

from django.contrib.auth.models import User

from sokyaku.core.models import TeamMember
from sokyaku.handoff import alerts
from sokyaku.handoff.models import Handoff, HandoffMoment, HandoffSettings
from sokyaku.messaging.models import Message
from sokyaku.messaging.services.notices import Notice, StaffMail, chat_recipient, notice_enqueue

logger = logging.getLogger(__name__)

REMINDER_SUBJECT = "【対応期限のリマインド】{name}様（{action}）"
REMINDER_OPENING = (
    "{name}様（{action}）への初回対応の期限は {deadline} です。\n"
    "まだ電話・メール・面談の記録がありません。期限までにご連絡をお願いします。"
)
ESCALATION_SUBJECT = "【SLA超過】{name}様（{action}）への対応期限を過ぎました"
ESCALATION_OPENING = (
    "{name}様（{action}）への初回対応の期限 {deadline} を過ぎましたが、"
    "対応の記録がありません。\n担当: {assignee}\n担当者への確認または再割り当てをお願いします。"
)
_SEPARATOR = "\n\n――――――――――――――――――――\n\n"


def settings_row() -> HandoffSettings:
    """The single settings row (created on first use)."""
    row = HandoffSettings.objects.select_related("alert_chat_channel", "queue_notify").first()
    if row is None:
        row = HandoffSettings.objects.create()
    return row


def _reachable(user: User | None) -> User | None:
    return user if user is not None and user.is_active and user.email else None


def queue_recipient(handoff: Handoff, row: HandoffSettings | None = None) -> User | None:
    """Who hears about an unassigned handoff: ``queue_notify``, else the team's manager."""
    row = row or settings_row()
    found = _reachable(row.queue_notify)
    if found is None and handoff.team is not None:
        found = _reachable(handoff.team.manager)
    return found


def manager_of(handoff: Handoff, row: HandoffSettings | None = None) -> User | None:
    """Who gets the escalation: the handoff's team manager, else the manager of a team of the
    assignee, else ``queue_notify``."""
    if handoff.team is not None and _reachable(handoff.team.manager):
        return handoff.team.manager
    if handoff.assignee_id is not None:
        membership = (
            TeamMember.objects.filter(
                user_id=handoff.assignee_id,
                team__manager__isnull=False,
                team__manager__is_active=True,
            )
            .exclude(team__manager__email="")
            .select_related("team__manager")
            .order_by("id")
            .first()
        )
        if membership is not None:
            return membership.team.manager
    row = row or settings_row()
    return _reachable(row.queue_notify)


def _mail(
    *,
    key: str,
    handoff: Handoff,
    user: User,
    subject: str,
    alert: alerts.Alert,
    preface: str = "",
) -> Message:
    text = f"{preface}{_SEPARATOR}{alert.text}" if preface else alert.text
    return notice_enqueue(
        dedupe_key=key,
        recipient=StaffMail(user=user),
        notice=Notice(
            subject=subject,
            text=text,
            url=alert.url,
            html=alerts.alert_html(alert=alert, contact=handoff.contact, preface=preface),
        ),
        about=handoff.contact,
        context={"handoff": handoff.pk},
    )


def _chat(
    *, key: str, handoff: Handoff, row: HandoffSettings, alert: alerts.Alert, user: User | None
) -> Message | None:
    channel = row.alert_chat_channel
    if channel is None or not channel.is_active:
        return None
    return notice_enqueue(
        dedupe_key=key,
        recipient=chat_recipient(channel=channel, user=user),
        notice=Notice(subject=alert.subject, text=alert.text, url=alert.url),
        about=handoff.contact,
        context={"handoff": handoff.pk},
    )


def alert_send(
    *,
    handoff: Handoff,
    moment: HandoffMoment | None = None,
    assignment_id: int | None = None,
    chat: bool = True,
) -> list[Message]:
    """Queue the alert for ``handoff`` (the follow-up alert for ``moment``) to its assignee or
    the queue's recipient, and to the alert chat channel (``chat``). Returns the messages."""
    row = settings_row()
    alert = alerts.alert_compose(handoff=handoff, moment=moment)
    user = _reachable(handoff.assignee) if handoff.assignee_id else queue_recipient(handoff, row)
    base = f"handoff:{handoff.pk}:" + (f"moment:{moment.pk}" if moment else "alert")
    messages: list[Message] = []
    if user is not None:
        key = f"{base}:{user.pk}" + (f":{assignment_id}" if assignment_id else "")
        messages.append(
            _mail(key=key, handoff=handoff, user=user, subject=alert.subject, alert=alert)
        )
    else:
        logger.warning("handoff.alert_no_recipient", extra={"handoff": handoff.pk})
    if chat:
        message = _chat(key=f"{base}:chat", handoff=handoff, row=row, alert=alert, user=user)
        if message is not None:
            messages.append(message)
    return messages


def _words(handoff: Handoff) -> dict[str, str]:
    return {
        "name": alerts.lead_name(handoff.contact),
        "action": handoff.action_label,
        "deadline": alerts.tokyo_text(handoff.sla_due_at),
        "assignee": alerts.user_label(handoff.assignee) if handoff.assignee else alerts.UNASSIGNED,
    }


def reminder_send(*, handoff: Handoff) -> Message | None:
    """Queue the SLA reminder to the rep (the queue's recipient when unassigned)."""
    user = _reachable(handoff.assignee) if handoff.assignee_id else queue_recipient(handoff)
    if user is None:
        return None
    alert = alerts.alert_compose(handoff=handoff)
    words = _words(handoff)
    return _mail(
        key=f"handoff:{handoff.pk}:reminder",
        handoff=handoff,
        user=user,
        subject=REMINDER_SUBJECT.format(**words),
        alert=alert,
        preface=REMINDER_OPENING.format(**words),
    )


def escalation_send(*, handoff: Handoff) -> Message | None:
    """Queue the SLA escalation to the team manager (see ``manager_of``)."""
    user = manager_of(handoff)
    if user is None:
        logger.warning("handoff.escalation_no_recipient", extra={"handoff": handoff.pk})
        return None
    alert = alerts.alert_compose(handoff=handoff)
    words = _words(handoff)
    return _mail(
        key=f"handoff:{handoff.pk}:escalation",
        handoff=handoff,
        user=user,
        subject=ESCALATION_SUBJECT.format(**words),
        alert=alert,
        preface=ESCALATION_OPENING.format(**words),
    )
