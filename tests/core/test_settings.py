"""Settings: the embedded SQLite default, the persisted secret key, production checks."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]


def _run(code: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )


@pytest.mark.django_db
def test_sqlite_connection_uses_wal_full_sync_and_busy_timeout():
    if connection.vendor != "sqlite":
        pytest.skip("the suite runs on PostgreSQL (DATABASE_URL): no SQLite PRAGMAs to check")
    # given a connection opened with the embedded default settings
    with connection.cursor() as cursor:
        # when the PRAGMAs are read back
        journal = cursor.execute("PRAGMA journal_mode").fetchone()[0]
        synchronous = cursor.execute("PRAGMA synchronous").fetchone()[0]
        busy = cursor.execute("PRAGMA busy_timeout").fetchone()[0]
        foreign_keys = cursor.execute("PRAGMA foreign_keys").fetchone()[0]
    # then they are WAL, FULL (2), a 20 s busy timeout and enforced foreign keys
    assert (journal, synchronous, busy, foreign_keys) == ("wal", 2, 20000, 1)


def test_embedded_default_is_an_sqlite_file_in_the_data_dir(tmp_path: Path):
    code = (
        "import os; os.environ.pop('DATABASE_URL', None); os.environ.pop('REDIS_URL', None);"
        "import sokyaku.settings as s;"
        "print(s.DATABASES['default']['ENGINE']); print(s.DATABASES['default']['NAME']);"
        "print(s.HUEY['huey_class'])"
    )
    env = {"SOKYAKU_DATA_DIR": str(tmp_path), "DATABASE_URL": "", "REDIS_URL": ""}
    result = _run(code, env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "django.db.backends.sqlite3",
        str(tmp_path / "sokyaku.sqlite3"),
        "huey.SqliteHuey",
    ]


def test_database_url_and_redis_url_switch_to_the_scaled_mode(tmp_path: Path):
    code = (
        "import sokyaku.settings as s; d = s.DATABASES['default'];"
        "print(d['ENGINE'], d['HOST'], d['NAME']); print(s.HUEY['huey_class'],"
        " s.HUEY['connection']['url'])"
    )
    env = {
        "SOKYAKU_DATA_DIR": str(tmp_path),
        "DATABASE_URL": "postgres://u@db.example:5432/sokyaku",
        "REDIS_URL": "redis://cache.example:6379/1",
    }
    result = _run(code, env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "django.db.backends.postgresql",
        "db.example",
        "sokyaku",
        "huey.PriorityRedisHuey",
        "redis://cache.example:6379/1",
    ]


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("smtp://127.0.0.1:2525", "127.0.0.1 2525 False False  "),
        ("smtp://u:p%40ss@mail.example:587?tls=1", "mail.example 587 True False u p@ss"),
        ("smtps://u:pw@mail.example", "mail.example 465 False True u pw"),
    ],
)
def test_smtp_url_configures_the_mail_server(tmp_path: Path, url: str, expected: str):
    code = (
        "import sokyaku.settings as s; print(s.EMAIL_HOST, s.EMAIL_PORT, s.EMAIL_USE_TLS,"
        " s.EMAIL_USE_SSL, s.EMAIL_HOST_USER, s.EMAIL_HOST_PASSWORD)"
    )
    result = _run(code, {"SOKYAKU_DATA_DIR": str(tmp_path), "SOKYAKU_SMTP_URL": url})
    assert result.returncode == 0, result.stderr
    assert result.stdout.rstrip("\n") == expected


def test_secret_key_is_generated_once_and_kept(tmp_path: Path):
    code = "import sokyaku.settings as s; print(s.SECRET_KEY)"
    env = {"SOKYAKU_DATA_DIR": str(tmp_path), "SOKYAKU_SECRET_KEY": ""}
    first = _run(code, env)
    second = _run(code, env)
    assert first.returncode == 0, first.stderr
    assert first.stdout == second.stdout
    assert len(first.stdout.strip()) >= 50
    assert (tmp_path / "secret_key").read_text() == first.stdout.strip()
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


def test_debug_is_off_by_default():
    assert settings.DEBUG is False


def test_check_deploy_passes_under_production_settings(tmp_path: Path):
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        env={**os.environ, "SOKYAKU_DATA_DIR": str(tmp_path), "SOKYAKU_HTTPS": "1"},
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, "django.core.cache.backends.filebased.FileBasedCache {data}/cache"),
        (
            {"DATABASE_URL": "postgres://u@db.example:5432/sokyaku"},
            "django.core.cache.backends.db.DatabaseCache sokyaku_cache",
        ),
        (
            {
                "DATABASE_URL": "postgres://u@db.example:5432/sokyaku",
                "REDIS_URL": "redis://cache.example:6379/1",
            },
            "django.core.cache.backends.redis.RedisCache redis://cache.example:6379/1",
        ),
    ],
)
def test_the_rate_limit_counters_live_where_every_web_process_sees_them(
    tmp_path: Path, env: dict[str, str], expected: str
):
    code = (
        "import sokyaku.settings as s; c = s.CACHES['default']; print(c['BACKEND'], c['LOCATION'])"
    )
    environment = {"DATABASE_URL": "", "REDIS_URL": "", "SOKYAKU_DATA_DIR": str(tmp_path), **env}
    result = _run(code, environment)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == expected.format(data=tmp_path.resolve())
