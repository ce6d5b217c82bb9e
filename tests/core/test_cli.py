"""The ``sokyaku`` command as an operator meets it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from sokyaku.cli import build_parser, main
from sokyaku.core import services
from sokyaku.core.models import ApiKey

COMMANDS = ["demo", "serve", "worker", "migrate", "createadmin", "createuser", "createapikey",
            "revokeapikey", "sending", "outbox"]  # fmt: skip


def _cli(*args: str, data_dir: Path, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sokyaku.cli", *args],
        # A private SQLite data dir, whatever database the suite itself runs on.
        env={
            **{k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")},
            "SOKYAKU_DATA_DIR": str(data_dir),
        },
        input=stdin,
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.mark.parametrize("command", [None, *COMMANDS])
def test_every_command_has_help(command, capsys):
    argv = ["--help"] if command is None else [command, "--help"]
    with pytest.raises(SystemExit) as exit_info:
        build_parser().parse_args(argv)
    assert exit_info.value.code == 0
    assert "usage: sokyaku" in capsys.readouterr().out


def test_migrate_then_createapikey_prints_a_working_key_once(tmp_path: Path, migrated_data_dir):
    # given a freshly migrated data dir
    migrated_data_dir(tmp_path)
    # when an operator creates a key
    result = _cli("createapikey", "--name", "crm", "--scopes", "contacts:read,events:write",
                  data_dir=tmp_path)  # fmt: skip
    # then the key is printed (once) and is a bearer token of the documented form
    assert result.returncode == 0, result.stderr
    token = result.stdout.strip().splitlines()[-1]
    assert token.startswith("sk_")
    assert "contacts:read, events:write" in result.stdout


def test_createapikey_with_an_unknown_scope_fails_with_a_message(tmp_path: Path, migrated_data_dir):
    migrated_data_dir(tmp_path)
    result = _cli("createapikey", "--name", "x", "--scopes", "everything", data_dir=tmp_path)
    assert result.returncode != 0
    assert "Unknown scope" in result.stderr
    assert result.stdout == ""


def test_createadmin_without_a_password_and_no_terminal_fails(tmp_path: Path):
    env_backup = os.environ.pop("SOKYAKU_ADMIN_PASSWORD", None)
    try:
        result = _cli("createadmin", "--username", "boss", data_dir=tmp_path)
    finally:
        if env_backup is not None:
            os.environ["SOKYAKU_ADMIN_PASSWORD"] = env_backup
    assert result.returncode != 0
    assert "no password given" in result.stderr


@pytest.mark.django_db
def test_createadmin_makes_a_superuser_in_the_admin_role(capsys):
    # when
    status = main(["createadmin", "--username", "boss", "--password", "a-long-pass-phrase-2026"])
    # then
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.get(username="boss")
    assert status == 0
    assert user.is_superuser
    assert list(user.groups.values_list("name", flat=True)) == ["admin"]
    assert user.check_password("a-long-pass-phrase-2026")


@pytest.mark.django_db
def test_createadmin_rejects_a_weak_password_and_creates_nothing(capsys, monkeypatch):
    monkeypatch.setenv("LANG", "C.UTF-8")
    status = main(["createadmin", "--username", "boss", "--password", "1234"])
    from django.contrib.auth import get_user_model

    assert status != 0
    assert "too short" in capsys.readouterr().err
    assert not get_user_model().objects.filter(username="boss").exists()


@pytest.mark.django_db
def test_revokeapikey_stops_the_key(capsys):
    new = services.apikey_create(name="old", scopes=["contacts:read"], system=True)
    assert main(["revokeapikey", "--prefix", new.api_key.prefix]) == 0
    assert services.apikey_authenticate(token=new.token) is None


@pytest.mark.django_db
def test_createapikey_makes_a_system_key_or_a_users_key(capsys):
    # given a marketer
    services.user_create(username="mika", password="x", role="marketer", check_password=False)
    # when an operator makes one key without and one with --user
    assert main(["createapikey", "--name", "sync", "--scopes", "contacts:read"]) == 0
    assert (
        main(["createapikey", "--name", "mine", "--scopes", "contacts:read", "--user", "mika"]) == 0
    )
    # then the first is a system key, the second the marketer's (and no system key)
    keys = {k.name: k for k in ApiKey.objects.select_related("created_by")}
    assert keys["sync"].is_system and keys["sync"].created_by is None
    assert not keys["mine"].is_system and keys["mine"].created_by.username == "mika"
    assert "system key" in capsys.readouterr().out


def test_a_new_installation_starts_with_consent_topics_that_are_then_left_alone(tmp_path: Path):
    import sqlite3

    # given a fresh data dir migrated by the operator
    assert _cli("migrate", "-v", "0", data_dir=tmp_path).returncode == 0
    db = tmp_path / "sokyaku.sqlite3"
    with sqlite3.connect(db) as conn:
        keys = sorted(k for (k,) in conn.execute("SELECT key FROM consent_consenttopic"))
        # when marketers deactivate and rename what they got
        conn.execute("UPDATE consent_consenttopic SET is_active = 0, name = 'x'")
    # then a later migrate (an upgrade) does not bring the defaults back
    assert _cli("migrate", "-v", "0", data_dir=tmp_path).returncode == 0
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT count(*), sum(is_active) FROM consent_consenttopic").fetchone()
    assert keys == ["newsletter", "product", "seminars"]
    assert rows == (3, 0)


def test_migrate_moves_an_untouched_first_scoring_preset_to_the_current_one(
    tmp_path: Path, migrated_data_dir
):
    import sqlite3

    # given an installation whose active rule set is the first shipped preset: v1 without the
    # demo, quote, trial, pricing and contact-page rules, installed before the upgrade's key
    migrated_data_dir(tmp_path)
    db = tmp_path / "sokyaku.sqlite3"
    newer = ("デモ申し込み", "見積依頼", "トライアル開始", "料金ページ閲覧", "問い合わせページ閲覧")
    with sqlite3.connect(db) as conn:
        conn.executemany("DELETE FROM scoring_rule WHERE name = ?", [(n,) for n in newer])
        conn.execute("DELETE FROM core_installedpreset WHERE key = 'scoring.preset.2026'")
    # when the operator upgrades
    assert _cli("migrate", "-v", "0", data_dir=tmp_path).returncode == 0
    # then the current preset is published as version 2 and a recompute is queued
    with sqlite3.connect(db) as conn:
        active = conn.execute(
            "SELECT id, version, comment FROM scoring_ruleset WHERE is_active = 1"
        ).fetchone()
        names = {n for (n,) in conn.execute("SELECT name FROM scoring_rule WHERE ruleset_id = ?",
                                            (active[0],))}  # fmt: skip
        runs = conn.execute(
            "SELECT count(*) FROM scoring_recomputerun WHERE ruleset_id = ?", (active[0],)
        ).fetchone()
    assert active[1:] == (2, "preset updated")
    assert set(newer) <= names
    assert runs == (1,)
    # and restoring the first preset on purpose is not undone by the next upgrade
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE scoring_ruleset SET is_active = 0")
        conn.execute("UPDATE scoring_ruleset SET is_active = 1 WHERE version = 1")
    assert _cli("migrate", "-v", "0", data_dir=tmp_path).returncode == 0
    with sqlite3.connect(db) as conn:
        versions = conn.execute("SELECT max(version) FROM scoring_ruleset").fetchone()
    assert versions == (2,)


@pytest.mark.django_db
def test_sending_pause_and_resume_from_the_command_line(capsys):
    from sokyaku.messaging.services import pausing

    assert main(["sending", "pause", "--reason", "誤配信の確認"]) == 0
    assert "All marketing sending is paused" in capsys.readouterr().out
    assert pausing.sending_pause_get().reason == "誤配信の確認"
    assert main(["sending", "status"]) == 0
    assert "paused since" in capsys.readouterr().out

    assert main(["sending", "resume"]) == 0
    assert not pausing.marketing_paused()


@pytest.mark.django_db
def test_sending_pause_of_one_sender_and_an_unknown_one(capsys):
    from tests.messaging.engine_factories import sender_make

    profile = sender_make(name="ニュースレター")
    assert main(["sending", "pause", "--sender", "ニュースレター"]) == 0
    profile.refresh_from_db()
    assert profile.paused_at is not None
    assert main(["sending", "resume", "--sender", "ニュースレター"]) == 0
    profile.refresh_from_db()
    assert profile.paused_at is None

    assert main(["sending", "pause", "--sender", "どこにもない"]) == 2
    assert "no sender profile named" in capsys.readouterr().err


@pytest.mark.django_db
def test_outbox_resend_queues_the_failed_messages_since_a_day(capsys):
    from sokyaku.messaging.models import Message, MessageStatus
    from tests.messaging.engine_factories import message_make

    message = message_make()
    Message.objects.filter(pk=message.pk).update(status=MessageStatus.FAILED)

    assert main(["outbox", "resend", "--failed-since", "2000-01-01"]) == 0
    assert "Queued 1 failed messages" in capsys.readouterr().out
    assert Message.objects.get(pk=message.pk).status != MessageStatus.FAILED

    assert main(["outbox", "resend"]) == 2
    assert main(["outbox", "resend", "--ids", "1,x"]) == 2
