"""The ``sokyaku`` command: run, set up and administer an installation.

Every subcommand has ``--help``. Errors print one line to stderr and exit non-zero.
"""

from __future__ import annotations

import argparse
import getpass
import logging
import os
import secrets
import signal
import socket
import subprocess
import sys
import textwrap
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from types import FrameType
from typing import Any

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000


class CliError(Exception):
    """A problem to report to the user in one line (exit status 2)."""


def _django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sokyaku.settings")
    import django
    from django.utils import translation

    django.setup()
    # Messages follow the operator's locale (LANG=ja_JP.UTF-8 → Japanese), English otherwise.
    locale = os.environ.get("LC_ALL") or os.environ.get("LC_MESSAGES") or os.environ.get("LANG", "")
    translation.activate("ja" if locale.startswith("ja") else "en")


@dataclass(frozen=True)
class _Preset:
    key: str
    install: Callable[[], object]
    # An installation from before the keys: does it have this preset already?
    already: Callable[[], bool] | None = None


def _presets() -> list[_Preset]:
    """Every preset ``migrate`` installs, in order, under its stable key. A new version of a
    preset gets a new key (``scoring.preset.2026``: the upgrade of the first scoring preset)."""
    from sokyaku.consent.models import ConsentTopic
    from sokyaku.consent.services import topics_default_install
    from sokyaku.deals.models import Pipeline
    from sokyaku.deals.services import pipeline_presets_install
    from sokyaku.handoff.models import HandoffTrigger
    from sokyaku.handoff.services import trigger_presets_install
    from sokyaku.lifecycle.models import MqlRule
    from sokyaku.lifecycle.services import lifecycle_rebuild_initial, mql_presets_install_if_missing
    from sokyaku.messaging.models import SenderProfile, Template
    from sokyaku.messaging.presets import messaging_presets_install_if_missing
    from sokyaku.scoring.models import RuleSet
    from sokyaku.scoring.services import preset_install_if_missing, preset_upgrade_if_untouched
    from sokyaku.sequences.models import Sequence
    from sokyaku.sequences.presets import sequences_presets_install_if_missing

    return [
        _Preset("consent.topics", topics_default_install, ConsentTopic.objects.exists),
        _Preset("scoring.preset", preset_install_if_missing, RuleSet.objects.exists),
        _Preset("scoring.preset.2026", preset_upgrade_if_untouched),
        _Preset("lifecycle.mql_rules", mql_presets_install_if_missing, MqlRule.objects.exists),
        # Contacts from before the lifecycle app get their first stage, once.
        _Preset("lifecycle.initial_stages", lifecycle_rebuild_initial),
        _Preset(
            "messaging.senders_templates",
            messaging_presets_install_if_missing,
            lambda: SenderProfile.objects.exists() or Template.objects.exists(),
        ),
        _Preset("sequences.presets", sequences_presets_install_if_missing, Sequence.objects.exists),
        _Preset("handoff.triggers", trigger_presets_install, HandoffTrigger.objects.exists),
        _Preset("deals.pipeline", pipeline_presets_install, Pipeline.objects.exists),
    ]


def presets_install() -> list[str]:
    """Install each preset whose key was never recorded (``core.presets``); the keys installed.

    On an installation that has them all, this is one query: nothing a marketer renamed, paused
    or deleted comes back, and no contact is touched."""
    from sokyaku.core.presets import preset_install_once, presets_installed

    recorded = presets_installed()
    return [
        preset.key
        for preset in _presets()
        if preset.key not in recorded
        and preset_install_once(
            key=preset.key, install=preset.install, already=preset.already, recorded=recorded
        )
    ]


def _migrate(verbosity: int = 1) -> None:
    """Create or upgrade the tables, then install once what each app starts with: consent
    topics, the seed's scoring rules and MQL rules, mail templates and sender profiles, the
    seed's sequences (onboarding active, the others as drafts), the default handoff triggers
    and the default sales pipeline; contacts from before the lifecycle app get their initial
    stage. An installation still running the first shipped scoring preset unchanged gets the
    current preset as a new rule set version. Each preset is installed once (``presets_install``):
    a later migrate leaves what the operator made of it alone."""
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=verbosity)
    # The rate-limit counters' table when the cache is the database (no REDIS_URL).
    call_command("createcachetable", verbosity=verbosity)
    presets_install()


# --- migrate --------------------------------------------------------------------------------


def cmd_migrate(args: argparse.Namespace) -> int:
    _django()
    _migrate(verbosity=args.verbosity)
    return 0


# --- users and keys -------------------------------------------------------------------------


def _password(args: argparse.Namespace) -> str:
    if args.password:
        return str(args.password)
    if env := os.environ.get("SOKYAKU_ADMIN_PASSWORD"):
        return env
    if not sys.stdin.isatty():
        raise CliError("no password given: use --password, SOKYAKU_ADMIN_PASSWORD or a terminal")
    first = getpass.getpass("Password: ")
    if first != getpass.getpass("Password (again): "):
        raise CliError("the two passwords differ")
    return first


def cmd_createadmin(args: argparse.Namespace) -> int:
    args.role = "admin"
    return cmd_createuser(args)


def cmd_createuser(args: argparse.Namespace) -> int:
    _django()
    from sokyaku.core import services

    services.user_create(
        username=args.username, password=_password(args), role=args.role, email=args.email
    )
    print(f"Created {args.role} user {args.username}.")
    return 0


def cmd_createapikey(args: argparse.Namespace) -> int:
    _django()
    from django.contrib.auth import get_user_model

    from sokyaku.core import services

    scopes = [s.strip() for s in args.scopes.split(",") if s.strip()]
    user = None
    if args.user:
        user = get_user_model().objects.filter(username=args.user).first()
        if user is None:
            raise CliError(f"no user {args.user!r}")
    new = services.apikey_create(
        name=args.name, scopes=scopes, created_by=user, system=user is None
    )
    holder = f"user {args.user}" if user else "system key, acts for the installation"
    print(f"API key {new.api_key.name!r} ({holder}; scopes: {', '.join(new.api_key.scopes)}).")
    print("It is shown only this once; store it now:")
    print(new.token)
    return 0


def cmd_revokeapikey(args: argparse.Namespace) -> int:
    _django()
    from sokyaku.core import services

    key = services.apikey_revoke(prefix=args.prefix)
    print(f"Revoked API key {key.name!r} ({key.prefix}).")
    return 0


# --- import / export ------------------------------------------------------------------------


def cmd_import(args: argparse.Namespace) -> int:
    """Import a contacts file; print one JSON line of counts (exit 0 even with row errors)."""
    import json

    _django()
    from sokyaku.campaigns import selectors as campaign_selectors
    from sokyaku.contacts.imports import report, run, selectors

    try:
        data = Path(args.file).read_bytes()
        mapping = json.loads(Path(args.mapping).read_text("utf-8")) if args.mapping else None
    except OSError as exc:
        raise CliError(f"cannot read {exc.filename}: {exc.strerror}") from exc
    except ValueError as exc:
        raise CliError(f"{args.mapping} is not a JSON object of column → field: {exc}") from exc
    if mapping is not None and not (
        isinstance(mapping, dict) and all(isinstance(v, str) for v in mapping.values())
    ):
        raise CliError(f"{args.mapping} is not a JSON object of column → field")
    channel = campaign = None
    if args.channel:
        channel = campaign_selectors.channel_list(user=None).filter(key=args.channel).first()
        if channel is None:
            raise CliError(f"no channel with key {args.channel!r}")
    if args.campaign:
        campaign = (
            campaign_selectors.campaign_list(user=None).filter(utm_campaign=args.campaign).first()
        )
        if campaign is None:
            raise CliError(f"no campaign with utm_campaign {args.campaign!r}")
    policies = {"*": args.update}
    policies.update({name: "overwrite" for name in args.overwrite})
    policies.update({name: "keep" for name in args.keep})
    options = run.ImportOptions(
        source=args.source,
        legal_basis=args.legal_basis or "",
        tags=args.tag,
        channel_id=channel.pk if channel else None,
        campaign_id=campaign.pk if campaign else None,
        policies=policies,
    )
    job = run.import_file(
        data=data, filename=Path(args.file).name, mapping=mapping, options=options
    )
    if job.status != job.Status.DONE:
        raise CliError(job.message or "the import did not finish")
    if job.legal_basis:
        from sokyaku.consent import selectors as consent_selectors

        if not any(topic.is_active for topic in consent_selectors.topic_list()):
            print(
                "note: there are no active consent topics; no legal basis was recorded",
                file=sys.stderr,
            )
    errors = selectors.import_row_errors(user=None, job=job)
    labels = report.field_labels()
    for error in errors[:20]:
        text = report.problems_text(report.problems(error.errors, labels=labels))
        print(f"row {error.row_number}: {text}", file=sys.stderr)
    if job.error_count > 20:
        print(f"… {job.error_count - 20} more rows with errors", file=sys.stderr)
    if args.error_report and job.error_count:
        from sokyaku.contacts import export

        rows = report.error_report_rows(job, errors.iterator())
        Path(args.error_report).write_bytes(export.rows_to_bytes(rows, file_format=export.CSV))
    counts = {"created": job.created_count, "updated": job.updated_count, "errors": job.error_count}
    print(json.dumps(counts))
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    """Write the contacts (optionally searched and filtered) as CSV or XLSX, or one person."""
    _django()
    if args.entity == "person":
        return _export_person(args)
    from sokyaku.contacts import export, selectors
    from sokyaku.contacts.prefectures import prefecture_code

    prefecture = None
    if args.prefecture:
        given = args.prefecture.strip()
        prefecture = int(given) if given.isdecimal() else prefecture_code(given)
        if prefecture is None:
            raise CliError(f"unknown prefecture {args.prefecture!r}")
    if args.format == "xlsx" and not args.output and sys.stdout.isatty():
        raise CliError("an Excel file is not for a terminal: use --output FILE or redirect")
    contacts = selectors.contact_list(user=None, q=args.q, tag=args.tag, prefecture=prefecture)
    chunks = export.contact_export_file(
        contacts=contacts,
        file_format=args.format,
        definitions=selectors.field_definition_list(user=None),
    )
    if args.output:
        with open(args.output, "wb") as out:
            out.writelines(chunks)
    else:
        sys.stdout.buffer.writelines(chunks)
        sys.stdout.buffer.flush()
    return 0


def _export_person(args: argparse.Namespace) -> int:
    """Write everything held on the person with ``--email`` as one JSON document."""
    from sokyaku.contacts import selectors
    from sokyaku.privacy import export

    if not args.email.strip():
        raise CliError("say whose data to export: --email ADDRESS")
    _migrated()
    contact = selectors.contact_find(email=args.email)
    if contact is None:
        raise CliError(f"no contact with the email address {args.email.strip()!r}")
    if args.output:
        with open(args.output, "wb") as out:
            out.writelines(export.person_export(contact=contact))
        print(f"Exported contact {contact.pk} to {args.output}.", file=sys.stderr)
    else:
        sys.stdout.buffer.writelines(export.person_export(contact=contact))
        sys.stdout.buffer.flush()
    return 0


# --- privacy --------------------------------------------------------------------------------


def cmd_erase(args: argparse.Namespace) -> int:
    """Erase the person with this email (docs/privacy.md); exit 2 when there is none."""
    _django()
    from sokyaku.contacts import normalize
    from sokyaku.privacy.erasure_selectors import contacts_by_email
    from sokyaku.privacy.models import ErasureVia
    from sokyaku.privacy.services.deletion import contact_delete

    try:
        email = normalize.email_normalize(args.email)
    except normalize.InvalidValue as exc:
        raise CliError(f"{args.email!r} is not an email address: {exc}") from exc
    contacts = contacts_by_email(email=email)
    if not contacts:
        raise CliError(f"no contact with the email {email} (nothing was erased)")
    logs = {}
    for contact in contacts:
        log = contact_delete(contact=contact, by=None, reason=args.reason, via=ErasureVia.CLI)
        logs[log.pk] = log
    for log in logs.values():
        rows = sum(log.counts.values())
        print(f"Erased contact #{log.contact_id}: {rows} rows changed (erasure log #{log.pk}).")
    return 0


# --- analytics ------------------------------------------------------------------------------


def _migrated() -> None:
    """Refuse a database ``sokyaku migrate`` has not set up yet."""
    from django.db import connection

    from sokyaku.analytics.models import DailyCount
    from sokyaku.contacts.models import Contact

    tables = set(connection.introspection.table_names())
    if not {Contact._meta.db_table, DailyCount._meta.db_table} <= tables:
        raise CliError("the database is not set up yet: run `sokyaku migrate` first")


def cmd_loadexample(args: argparse.Namespace) -> int:
    """Load the seeds' channel example into an empty database and say which month it is."""
    _django()
    _migrated()
    from sokyaku.demo.example import example_channels_load

    quiet = logging.getLogger("sokyaku")
    level = quiet.level
    quiet.setLevel(logging.WARNING)  # one line per service call is noise here
    try:
        result = example_channels_load()
    finally:
        quiet.setLevel(level)
    print(result)
    return 0


def _day(value: str | None, option: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise CliError(f"{option} {value!r} is not a date (YYYY-MM-DD)") from None


def cmd_analytics_rebuild(args: argparse.Namespace) -> int:
    """Recompute the daily rollups of a range of Tokyo days (default: all there is data for)."""
    first, last = _day(args.first, "--from"), _day(args.last, "--to")
    if first and last and last < first:
        raise CliError(f"--to {last} is before --from {first}")
    _django()
    _migrated()
    from sokyaku.analytics.rollups import rollups_rebuild

    started = time.monotonic()
    rows = rollups_rebuild(first, last)
    span = f"{first or 'the first day with data'} – {last or 'the last day with data'}"
    print(
        f"Rebuilt the daily rollups of {span}: {rows:,} rows in {time.monotonic() - started:.1f} s."
    )
    return 0


# --- sending -------------------------------------------------------------------------------


def _sender(name: str) -> Any:
    from sokyaku.messaging.models import SenderProfile

    profile = SenderProfile.objects.filter(name=name).first()
    if profile is None:
        known = ", ".join(SenderProfile.objects.values_list("name", flat=True)) or "none"
        raise CliError(f"no sender profile named {name!r} (there are: {known})")
    return profile


def cmd_sending(args: argparse.Namespace) -> int:
    """Pause or resume all marketing sending, or one sender profile; or show what is paused."""
    _django()
    _migrated()
    from sokyaku.messaging import selectors
    from sokyaku.messaging.services import pausing

    if args.action == "status":
        switch = pausing.sending_pause_get()
        if switch.marketing_paused_at is not None:
            reason = f" ({switch.reason})" if switch.reason else ""
            since = f"{switch.marketing_paused_at:%Y-%m-%d %H:%M %Z}"
            print(f"Marketing sending: paused since {since}{reason}.")
        else:
            print("Marketing sending: on.")
        print(f"Marketing messages waiting: {selectors.marketing_waiting_count()}.")
        for profile in selectors.sender_profile_list(user=None):
            state = f"paused: {profile.pause_reason}" if profile.paused_at else "on"
            print(f"Sender profile {profile.name!r} ({profile.stream}): {state}")
        return 0
    if args.sender:
        profile = _sender(args.sender)
        if args.action == "pause":
            pausing.sender_profile_pause(profile=profile, actor=None, reason=args.reason)
            print(f"Sender profile {profile.name!r} is paused: its mail waits in the queue.")
        else:
            released = pausing.sender_profile_resume(profile=profile, actor=None)
            print(f"Sender profile {profile.name!r} resumed; {released} waiting messages go now.")
        return 0
    if args.action == "pause":
        pausing.marketing_sending_pause(actor=None, reason=args.reason)
        print(
            "All marketing sending is paused: marketing mail stays queued; transactional mail "
            "and internal notices still go. Resume with `sokyaku sending resume`."
        )
    else:
        waiting = pausing.marketing_sending_resume(actor=None)
        print(f"Marketing sending resumed; {waiting} marketing messages are waiting to go.")
    return 0


def cmd_outbox_resend(args: argparse.Namespace) -> int:
    """Queue failed messages again (same Message-ID; consent checked again at sending)."""
    since = _day(args.failed_since, "--failed-since")
    raw_ids = [raw.strip() for raw in (args.ids or "").split(",") if raw.strip()]
    if not all(raw.isdigit() for raw in raw_ids):
        raise CliError(f"--ids {args.ids!r} is not a list of message ids (1,2,3)")
    ids = [int(raw) for raw in raw_ids] or None
    if since is None and ids is None:
        raise CliError("give --failed-since YYYY-MM-DD or --ids")
    _django()
    _migrated()
    from datetime import datetime as _datetime
    from datetime import time as _time

    from sokyaku.core.clock import TOKYO
    from sokyaku.messaging.services.resend import messages_resend

    count = messages_resend(
        ids=ids,
        failed_since=_datetime.combine(since, _time(0, 0), tzinfo=TOKYO) if since else None,
        sender=_sender(args.sender) if args.sender else None,
        actor=None,
    )
    print(f"Queued {count} failed messages to be sent again.")
    return 0


# --- processes ------------------------------------------------------------------------------


def _check_port_free(host: str, port: int) -> None:
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            raise CliError(f"cannot listen on {host}:{port}: {exc.strerror}") from exc


def _server_argv(host: str, port: int, workers: int, threads: int) -> list[str]:
    bind = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    return [
        sys.executable, "-m", "gunicorn", "sokyaku.wsgi:application",
        "--bind", bind,
        "--workers", str(workers),
        "--worker-class", "gthread",
        "--threads", str(threads),
        "--access-logfile", "-",
        "--graceful-timeout", "10",
        "--no-control-socket",
    ]  # fmt: skip


_ANY_ADDRESS = frozenset({"", "0.0.0.0", "::"})  # noqa: S104 - names, not a bind


def site_url(*, host: str, port: int) -> str:
    """The public address links point at: ``SOKYAKU_SITE_URL`` when set, else the address this
    server listens on (``--host``/``--port``), so form URLs, mailed links and the tracking
    snippet of ``sokyaku demo --port 8123`` lead to port 8123, not to the default 8000."""
    configured = os.environ.get("SOKYAKU_SITE_URL", "").strip()
    if configured:
        return configured.rstrip("/")
    # Listening on every interface: this machine's loopback address reaches it.
    shown = "127.0.0.1" if host in _ANY_ADDRESS else host
    if ":" in shown:
        shown = f"[{shown}]"
    return f"http://{shown}:{port}"


def site_url_export(*, host: str, port: int) -> str:
    """Put ``site_url`` into the environment the settings (``SITE_URL``) read, for this process
    and the processes it starts (web server, worker). Returns it."""
    url = site_url(host=host, port=port)
    os.environ["SOKYAKU_SITE_URL"] = url
    return url


def cmd_serve(args: argparse.Namespace) -> int:
    _check_port_free(args.host, args.port)
    site_url_export(host=args.host, port=args.port)
    argv = _server_argv(args.host, args.port, args.workers, args.threads)
    os.execv(sys.executable, argv)  # noqa: S606 - replace this process with the server
    return 0  # pragma: no cover


def cmd_worker(args: argparse.Namespace) -> int:
    _django()
    from django.core.management import call_command

    call_command("run_huey", workers=args.threads)
    return 0


def _demo_login(data_dir: Path) -> tuple[str, str | None]:
    """The demo admin's username and password (created on first run, kept in the data dir).

    ``None`` as password: an ``admin`` user existed already (made with ``createadmin``).
    """
    from django.contrib.auth import get_user_model

    from sokyaku.core import roles, services

    path = data_dir / "demo_login"
    username = "admin"
    if path.exists():
        return username, path.read_text().strip()
    if get_user_model().objects.filter(username=username).exists():
        return username, None
    password = secrets.token_urlsafe(12)
    services.user_create(username=username, password=password, role=roles.ADMIN)
    path.write_text(password)
    path.chmod(0o600)
    return username, password


def _wait_healthy(url: str, proc: subprocess.Popen[bytes], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise CliError("the web server stopped while starting (see its output above)")
        try:
            with urllib.request.urlopen(url + "healthz", timeout=2) as response:  # noqa: S310
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.2)
    raise CliError(f"the web server did not answer at {url} within {timeout:.0f} s")


def _interrupt(signum: int, frame: FrameType | None) -> None:
    """SIGTERM stops ``demo`` the same way Ctrl-C does."""
    raise KeyboardInterrupt


def cmd_demo(args: argparse.Namespace) -> int:
    _check_port_free(args.host, args.port)
    site_url_export(host=args.host, port=args.port)
    _django()
    from django.conf import settings

    from sokyaku.contacts.models import Contact

    print("Preparing the database …", flush=True)
    _migrate(verbosity=0)
    username, password = _demo_login(Path(settings.DATA_DIR))
    if not args.no_data and not Contact.objects.exists():
        from sokyaku.demo.generator import demo_load

        print(f"Loading Japanese demo data ({args.size} contacts) …", flush=True)
        quiet = logging.getLogger("sokyaku")
        level = quiet.level
        quiet.setLevel(logging.WARNING)  # one line per batch and stitch is noise here
        try:
            summary = demo_load(contacts=args.size)
        finally:
            quiet.setLevel(level)
        print(textwrap.indent(str(summary), "  "), flush=True)
    from django.db import connections

    connections.close_all()

    host_in_url = f"[{args.host}]" if ":" in args.host else args.host
    url = f"http://{host_in_url}:{args.port}/"
    env = {**os.environ, "SOKYAKU_DATA_DIR": str(settings.DATA_DIR)}
    web = subprocess.Popen(_server_argv(args.host, args.port, workers=2, threads=4), env=env)
    worker = subprocess.Popen(
        [sys.executable, "-m", "sokyaku.cli", "worker", "--threads", "2"], env=env
    )
    children = [web, worker]

    def stop() -> None:
        for child in children:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        for child in children:
            try:
                child.wait(timeout=15)
            except subprocess.TimeoutExpired:
                child.kill()

    signal.signal(signal.SIGTERM, _interrupt)
    try:
        _wait_healthy(url, web)
        print()
        print(f"  sokyaku is running at {url}")
        if password:
            print(f"  log in as: {username} / {password}")
        else:
            print(f"  log in as: {username} (the password you gave createadmin)")
        print(f"  data directory: {settings.DATA_DIR}")
        command = sys.argv[0] if sys.argv[0].endswith("sokyaku") else "sokyaku"
        print(
            f"  API key: {command} createapikey --name demo --scopes "
            "contacts:read,contacts:write,events:read,events:write,analytics:read"
        )
        print("  Press Ctrl-C to stop.", flush=True)
        while all(child.poll() is None for child in children):
            time.sleep(0.5)
        raise CliError("a process stopped unexpectedly (see its output above)")
    except KeyboardInterrupt:
        print("\nStopping …", flush=True)
        stop()
        return 0
    except CliError:
        stop()
        raise


# --- entry point ----------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sokyaku",
        description="sokyaku: marketing automation and lead management. "
        "Data lives in $SOKYAKU_DATA_DIR (default ./var) or $DATABASE_URL.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    demo = sub.add_parser("demo", help="migrate, load demo data, run web + worker")
    demo.add_argument("--host", default=DEFAULT_HOST, help="address to listen on (%(default)s)")
    demo.add_argument(
        "--port",
        type=int,
        default=DEFAULT_PORT,
        help="port (%(default)s); links in forms and mail use it unless SOKYAKU_SITE_URL is set",
    )
    demo.add_argument("--no-data", action="store_true", help="start with an empty database")
    demo.add_argument("--size", type=int, default=2000, help="demo contacts (%(default)s)")
    demo.set_defaults(func=cmd_demo)

    serve = sub.add_parser("serve", help="run the production web server (gunicorn)")
    serve.add_argument("--host", default=DEFAULT_HOST, help="address to listen on (%(default)s)")
    serve.add_argument(
        "--port",
        type=int,
        default=DEFAULT_PORT,
        help="port (%(default)s); links in forms and mail use it unless SOKYAKU_SITE_URL is set",
    )
    serve.add_argument("--workers", type=int, default=2, help="processes (%(default)s)")
    serve.add_argument("--threads", type=int, default=4, help="threads per process (%(default)s)")
    serve.set_defaults(func=cmd_serve)

    worker = sub.add_parser("worker", help="run the background worker (Huey consumer)")
    worker.add_argument("--threads", type=int, default=4, help="worker threads (%(default)s)")
    worker.set_defaults(func=cmd_worker)

    migrate = sub.add_parser("migrate", help="create or upgrade the database tables")
    migrate.add_argument("-v", "--verbosity", type=int, default=1, choices=[0, 1, 2, 3])
    migrate.set_defaults(func=cmd_migrate)

    for name, helptext, with_role in (
        ("createadmin", "create an administrator", False),
        ("createuser", "create a user with a role", True),
    ):
        p = sub.add_parser(name, help=helptext)
        p.add_argument(
            "--username",
            default="admin" if not with_role else None,
            required=with_role,
            help="login name",
        )
        p.add_argument("--email", default="", help="email address")
        p.add_argument("--password", help="password (else $SOKYAKU_ADMIN_PASSWORD or a prompt)")
        if with_role:
            p.add_argument("--role", required=True, choices=["admin", "marketer", "sales_rep"])
        p.set_defaults(func=cmd_createuser if with_role else cmd_createadmin)

    key = sub.add_parser("createapikey", help="create an API key (printed once)")
    key.add_argument("--name", required=True, help="what the key is for")
    key.add_argument(
        "--scopes",
        required=True,
        help="comma-separated, e.g. contacts:write,events:write (docs/api.md lists them all; "
        "an unknown scope is refused with the list)",
    )
    key.add_argument(
        "--user",
        help="the user the key acts as (it dies with them; only scopes their role allows are "
        "accepted); without it, a system key that acts for the installation",
    )
    key.set_defaults(func=cmd_createapikey)

    revoke = sub.add_parser("revokeapikey", help="revoke an API key by its prefix")
    revoke.add_argument("--prefix", required=True, help="the 8 characters after sk_")
    revoke.set_defaults(func=cmd_revokeapikey)

    imp = sub.add_parser(
        "import",
        help="import contacts from a CSV or XLSX file",
        description="Import contacts; prints one JSON line {created, updated, errors}. "
        "Rows with errors are listed on stderr and do not stop the others.",
    )
    imp.add_argument("entity", choices=["contacts"], help="what the file holds")
    imp.add_argument("file", help="CSV (UTF-8, UTF-8 with BOM, Shift_JIS) or XLSX")
    imp.add_argument("--source", default="", help="where the people were met (展示会 X 2026)")
    imp.add_argument(
        "--legal-basis",
        choices=["business_card", "opt_in", "transaction", "published_address"],
        help="record this basis for marketing mail for every contact and active topic",
    )
    imp.add_argument(
        "--tag", action="append", default=[], metavar="T", help="add a tag (repeatable)"
    )
    imp.add_argument("--channel", metavar="KEY", help="first-touch channel where none is set")
    imp.add_argument("--campaign", metavar="UTM", help="record a touch of this utm_campaign")
    imp.add_argument(
        "--mapping", metavar="FILE.json", help='{"column": "field", …} (default: from the header)'
    )
    imp.add_argument("--error-report", metavar="FILE.csv", help="write the rows not imported")
    imp.add_argument(
        "--update",
        choices=["fill", "overwrite", "keep"],
        default="fill",
        help="what a row does to a value a known contact already has: fill empty fields only, "
        "overwrite, or keep (%(default)s)",
    )
    imp.add_argument(
        "--overwrite",
        action="append",
        default=[],
        metavar="FIELD",
        help="overwrite this field (title, company_name, cf:<key> …; repeatable)",
    )
    imp.add_argument(
        "--keep",
        action="append",
        default=[],
        metavar="FIELD",
        help="never change this field of a known contact (repeatable)",
    )
    imp.set_defaults(func=cmd_import)

    exp = sub.add_parser(
        "export",
        help="export contacts as CSV or XLSX, or everything held on one person as JSON",
        description="contacts: the contacts (optionally searched and filtered) as CSV or XLSX. "
        "person --email E: everything held on the person with that email as one JSON "
        "document (docs/privacy.md, Export).",
    )
    exp.add_argument("entity", choices=["contacts", "person"], help="what to export")
    exp.add_argument("--email", default="", help="person: the person's email address")
    exp.add_argument("--format", choices=["csv", "xlsx"], default="csv", help="(%(default)s)")
    exp.add_argument("--q", default="", help="search (name, kana, romaji, email, phone …)")
    exp.add_argument("--tag", default="", help="only contacts with this tag")
    exp.add_argument("--prefecture", default="", help="only this prefecture (東京都, Tokyo, 13)")
    exp.add_argument("-o", "--output", metavar="FILE", help="write here instead of stdout")
    exp.set_defaults(func=cmd_export)

    example = sub.add_parser(
        "loadexample",
        help="load a worked example into an empty database",
        description="Load the seeds' channel-evaluation example (SEO blog, paid social, "
        "webinar: costs, leads and won deals of the previous calendar month in Tokyo) into a "
        "database without contacts, and print the month to look at.",
    )
    example.add_argument("example", choices=["channels"], help="which example")
    example.set_defaults(func=cmd_loadexample)

    erase = sub.add_parser(
        "erase",
        help="erase a person (the right to be forgotten)",
        description="Erase the person with this email from every table and stored file, as an "
        "admin's deletion does (docs/privacy.md): the contact stays as an anonymous row for the "
        "reports, the consent records keep their proof under a keyed hash, and the address "
        "stays unmailable until the person opts in again. Exits 2 when no contact has it.",
    )
    erase.add_argument("--email", required=True, help="the person's email address")
    erase.add_argument("--reason", default="", help="why (kept in the erasure log)")
    erase.set_defaults(func=cmd_erase)

    analytics = sub.add_parser("analytics", help="maintain the analytics rollups")
    analytics_sub = analytics.add_subparsers(dest="action", metavar="ACTION", required=True)
    rebuild = analytics_sub.add_parser(
        "rebuild",
        help="recompute the daily rollups (after a bulk load or a restore)",
        description="Recompute the daily rollups of the Tokyo days --from … --to (inclusive; "
        "default: every day there is data for). The dashboard stays right without this: "
        "rollups are kept current as data changes.",
    )
    rebuild.add_argument("--from", dest="first", metavar="YYYY-MM-DD", help="first day")
    rebuild.add_argument("--to", dest="last", metavar="YYYY-MM-DD", help="last day")
    rebuild.set_defaults(func=cmd_analytics_rebuild)

    sending = sub.add_parser(
        "sending",
        help="pause or resume marketing sending (all of it, or one sender profile)",
        description="pause: all marketing mail stays queued (transactional mail, sales alerts "
        "and internal notices still go); a running broadcast stops within the batch on the "
        "wire. resume: the queued mail goes out. With --sender: only that sender profile "
        "(any stream). status: what is paused and how much marketing mail waits.",
    )
    sending.add_argument("action", choices=["pause", "resume", "status"])
    sending.add_argument("--sender", metavar="NAME", help="a sender profile's name")
    sending.add_argument("--reason", default="", help="why (shown on the sending page)")
    sending.set_defaults(func=cmd_sending)

    outbox = sub.add_parser("outbox", help="act on the outbox")
    outbox_sub = outbox.add_subparsers(dest="action", metavar="ACTION", required=True)
    resend = outbox_sub.add_parser(
        "resend",
        help="send failed messages again (after a mail server outage)",
        description="Queue failed messages again: those failed since --failed-since (a Tokyo "
        "day), optionally of one --sender, or those given by --ids. Each keeps its Message-ID; "
        "consent and the suppression list are checked again when it is sent.",
    )
    resend.add_argument("--failed-since", metavar="YYYY-MM-DD", help="failed on or after this day")
    resend.add_argument("--sender", metavar="NAME", help="only this sender profile's messages")
    resend.add_argument("--ids", metavar="ID,ID", help="these messages (comma-separated ids)")
    resend.set_defaults(func=cmd_outbox_resend)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from sokyaku.core.errors import SokyakuError

    try:
        return int(args.func(args))
    except (CliError, SokyakuError) as exc:
        print(f"sokyaku {args.command}: {exc}", file=sys.stderr)
        return 2
    finally:
        if "django.utils.translation" in sys.modules:
            from django.utils import translation

            translation.deactivate()


if __name__ == "__main__":
    sys.exit(main())
