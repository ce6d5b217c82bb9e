"""Moving finished mail bytes: SMTP connections (reused, several at once) or the local sink.

The engine (``services/delivery.py``) hands over ``Outgoing`` items (the exact bytes, envelope
sender and recipient) and gets one ``Outcome`` per item back. No database access happens here,
so the thread pool never touches Django's per-thread connections.

Where mail goes follows Django's mail settings (themselves derived from ``SOKYAKU_SMTP_URL``):
the SMTP backend → real SMTP through ``smtplib``; anything else (the embedded default's file
backend) → the local sink: each message is written as ``<message id>.eml`` under
``EMAIL_FILE_PATH`` (``$SOKYAKU_DATA_DIR/outbox``) — named by the row, so a retry overwrites
rather than duplicates — and the Outbox page shows the stored rendering.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from django.conf import settings

logger = logging.getLogger(__name__)

_SMTP_BACKEND = "django.core.mail.backends.smtp.EmailBackend"


class Result(StrEnum):
    SENT = "sent"
    # The server answered 4xx for this message: try again later.
    RETRY = "retry"
    # The server could not be reached or dropped us: the message waits, it is not its fault.
    UNREACHABLE = "unreachable"
    # 5xx at RCPT: the address does not exist or is refused (a hard bounce).
    REJECTED = "rejected"
    # 5xx elsewhere (content, sender): failed, but the address is not to blame.
    FAILED = "failed"


@dataclass(frozen=True)
class Outgoing:
    message_id: int
    envelope_from: str
    recipient: str
    data: bytes


@dataclass(frozen=True)
class Outcome:
    message_id: int
    result: Result
    detail: str = ""


@dataclass(frozen=True)
class SmtpTarget:
    host: str
    port: int
    username: str
    password: str
    use_tls: bool
    use_ssl: bool
    timeout: float


def smtp_target() -> SmtpTarget | None:
    """The SMTP server from the settings, or ``None`` for the local sink."""
    if settings.EMAIL_BACKEND != _SMTP_BACKEND:
        return None
    return SmtpTarget(
        host=settings.EMAIL_HOST,
        port=int(settings.EMAIL_PORT),
        username=getattr(settings, "EMAIL_HOST_USER", "") or "",
        password=getattr(settings, "EMAIL_HOST_PASSWORD", "") or "",
        use_tls=bool(getattr(settings, "EMAIL_USE_TLS", False)),
        use_ssl=bool(getattr(settings, "EMAIL_USE_SSL", False)),
        timeout=float(getattr(settings, "EMAIL_TIMEOUT", None) or 30),
    )


def sink_dir() -> Path:
    return Path(getattr(settings, "EMAIL_FILE_PATH", "") or Path(settings.DATA_DIR) / "outbox")


def _sink_write(items: Sequence[Outgoing]) -> list[Outcome]:
    folder = sink_dir()
    folder.mkdir(parents=True, exist_ok=True)
    outcomes = []
    for item in items:
        path = folder / f"{item.message_id}.eml"
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(item.data)
        tmp.replace(path)  # atomic: a reader never sees half a message
        outcomes.append(Outcome(item.message_id, Result.SENT))
    return outcomes


def _connect(target: SmtpTarget) -> smtplib.SMTP:
    smtp: smtplib.SMTP
    if target.use_ssl:
        smtp = smtplib.SMTP_SSL(
            target.host, target.port, timeout=target.timeout, context=ssl.create_default_context()
        )
    else:
        smtp = smtplib.SMTP(target.host, target.port, timeout=target.timeout)
        if target.use_tls:
            smtp.starttls(context=ssl.create_default_context())
    if target.username:
        smtp.login(target.username, target.password)
    return smtp


def _classify(exc: smtplib.SMTPException, recipient: str) -> tuple[Result, str]:
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        code, reply = exc.recipients.get(recipient, (550, b"refused"))
        text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
        detail = f"{code} {text}"
        return (Result.RETRY if 400 <= code < 500 else Result.REJECTED), detail
    if isinstance(exc, smtplib.SMTPResponseException):
        code = exc.smtp_code
        error = exc.smtp_error
        text = error.decode("utf-8", "replace") if isinstance(error, bytes) else str(error)
        detail = f"{code} {text}"
        return (Result.RETRY if 400 <= code < 500 else Result.FAILED), detail
    return Result.UNREACHABLE, str(exc) or type(exc).__name__


def _smtp_send(target: SmtpTarget, items: Sequence[Outgoing]) -> list[Outcome]:
    """Send ``items`` over one connection, reconnecting once when the server drops it."""
    outcomes: list[Outcome] = []
    smtp: smtplib.SMTP | None = None
    try:
        for index, item in enumerate(items):
            for attempt in (1, 2):
                if smtp is None:
                    try:
                        smtp = _connect(target)
                    except (smtplib.SMTPException, OSError) as exc:
                        # Down, refusing us or refusing our login: every message left waits.
                        detail = str(exc) or type(exc).__name__
                        outcomes.extend(
                            Outcome(rest.message_id, Result.UNREACHABLE, detail)
                            for rest in items[index:]
                        )
                        return outcomes
                try:
                    smtp.sendmail(item.envelope_from, [item.recipient], item.data)
                    outcomes.append(Outcome(item.message_id, Result.SENT))
                    break
                except smtplib.SMTPServerDisconnected as exc:
                    smtp = None
                    if attempt == 2:
                        outcomes.append(Outcome(item.message_id, Result.UNREACHABLE, str(exc)))
                except smtplib.SMTPException as exc:
                    result, detail = _classify(exc, item.recipient)
                    outcomes.append(Outcome(item.message_id, result, detail))
                    try:
                        smtp.rset()  # a refused transaction must not leak into the next
                    except (smtplib.SMTPException, OSError):
                        smtp = None
                    break
                except OSError as exc:  # the connection broke mid-transaction
                    smtp = None
                    if attempt == 2:
                        outcomes.append(Outcome(item.message_id, Result.UNREACHABLE, str(exc)))
    finally:
        if smtp is not None:
            try:
                smtp.quit()
            except (smtplib.SMTPException, OSError):
                smtp.close()
    return outcomes


def mail_transmit(*, items: Sequence[Outgoing], connections: int | None = None) -> list[Outcome]:
    """Send every item, over up to ``connections`` SMTP connections at once (or to the sink).

    Never raises for delivery problems: each item gets an ``Outcome``.
    """
    if not items:
        return []
    target = smtp_target()
    if target is None:
        return _sink_write(items)
    count = max(1, min(connections or settings.MAIL_CONNECTIONS, len(items)))
    if count == 1:
        return _smtp_send(target, items)
    # Round-robin shares, one connection each; all SMTP I/O, no database work in the threads.
    shares = [list(items[i::count]) for i in range(count)]
    with ThreadPoolExecutor(max_workers=count, thread_name_prefix="smtp") as pool:
        results = list(pool.map(lambda share: _smtp_send(target, share), shares))
    return [outcome for share_outcomes in results for outcome in share_outcomes]
