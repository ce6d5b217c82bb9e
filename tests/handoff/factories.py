"""Factories for the handoff tests: reps and teams, leads with a company, a transactional
sender, hot actions stored through the event stream, and a local chat webhook receiver."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

from django.contrib.auth.models import User

from sokyaku.activity import services as activity_services
from sokyaku.activity.events import event_build
from sokyaku.activity.models import Event, EventSource
from sokyaku.contacts import services as contact_services
from sokyaku.contacts.models import Company, Contact
from sokyaku.core import clock, roles
from sokyaku.core import services as core_services
from sokyaku.core.calendar import TOKYO
from sokyaku.core.models import Team
from sokyaku.handoff import services
from sokyaku.handoff.models import Handoff, HandoffTrigger
from sokyaku.messaging.models import SenderProfile, Stream

_counter = iter(range(1, 10**9))


def tokyo(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=TOKYO)


def rep_make(
    family: str = "田中",
    given: str = "健太",
    *,
    role: str = roles.SALES_REP,
    active: bool = True,
    email: str | None = None,
) -> User:
    n = next(_counter)
    user = core_services.user_create(
        username=f"rep{n}",
        password="x",
        role=role,
        email=email if email is not None else f"rep{n}@sales.example",
        check_password=False,
    )
    user.last_name, user.first_name, user.is_active = family, given, active
    user.save(update_fields=["last_name", "first_name", "is_active"])
    return user


def team_make(*members: User, manager: User | None = None, name: str = "") -> Team:
    return services.team_save(
        team=None,
        name=name or f"営業{next(_counter)}課",
        manager=manager,
        share_records=False,
        member_ids=[m.pk for m in members],
        actor=None,
    )


def lead_make(
    *,
    email: str = "",
    family_name: str = "山田",
    given_name: str = "太郎",
    company_name: str = "",
    industry: str | None = None,
    company_prefecture: int | None = None,
    **fields: Any,
) -> Contact:
    n = next(_counter)
    company = company_name or f"株式会社テスト{n}"
    if industry or company_prefecture:
        contact_services.company_upsert(
            name=company, industry=industry, prefecture=company_prefecture
        )
    return contact_services.contact_upsert(
        data=contact_services.ContactInput(
            family_name=family_name,
            given_name=given_name,
            email=email or f"lead{n}@example.jp",
            company_name=company,
            **fields,
        ),
        source=EventSource.API,
    ).contact


def company_owner_set(contact: Contact, owner: User) -> None:
    assert contact.company_id is not None
    Company.objects.filter(pk=contact.company_id).update(owner=owner)
    contact.refresh_from_db()


def transactional_sender() -> SenderProfile:
    now = clock.now()
    return SenderProfile.objects.create(
        name=f"営業連絡 {next(_counter)}",
        stream=Stream.TRANSACTIONAL,
        from_name="株式会社サンプル 営業部",
        from_email="sales@sample.example",
        sender_name="株式会社サンプル",
        is_default=True,
        created_at=now,
        updated_at=now,
    )


def trigger_make(**data: Any) -> HandoffTrigger:
    values: dict[str, Any] = {
        "name": f"trigger {next(_counter)}",
        "kind": "event",
        "event_type": "demo_requested",
        "action_label": "デモ申し込み",
        "next_action": "デモ希望内容を確認後、24時間以内にメールまたは電話でご連絡ください。",
    }
    values.update(data)
    return services.trigger_save(trigger=None, data=values, actor=None)


def act(contact: Contact, type: str = "demo_requested", **properties: Any) -> Event | None:
    """The lead does something (stored through the event stream, listeners and all)."""
    return activity_services.event_ingest(
        event=event_build(
            type=type,
            occurred_at=clock.now(),
            source=EventSource.API,
            properties=properties,
            contact_id=contact.pk,
        )
    )


def open_handoff(contact: Contact) -> Handoff:
    return Handoff.objects.get(contact=contact, status="open")


def text_of(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    return part.get_content()  # type: ignore[no-any-return]


def to(messages: list[EmailMessage], address: str) -> list[EmailMessage]:
    return [m for m in messages if address in str(m["To"] or "")]


class Webhook:
    """A local HTTP server that keeps every POSTed body (the chat channel's receiver)."""

    def __init__(self) -> None:
        self.bodies: list[bytes] = []
        received = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                received.bodies.append(self.rfile.read(int(self.headers["Content-Length"])))
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/hook"


@contextmanager
def webhook() -> Iterator[Webhook]:
    server = Webhook()
    thread = threading.Thread(target=server.httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.httpd.shutdown()
        server.httpd.server_close()
