"""A fresh, throwaway database per benchmark run, and the process that runs the cases on it.

- ``sqlite``: a temporary ``SOKYAKU_DATA_DIR`` (the embedded default: WAL, synchronous=FULL, Huey
  on SQLite: ``REDIS_URL`` is not passed on).
- ``postgresql``: a database ``sokyaku_bench_<pid>`` created on the server ``DATABASE_URL``
  points at and dropped afterwards. The database named in ``DATABASE_URL`` is only connected to
  (to issue CREATE/DROP DATABASE); its tables are never touched.

Settings are read once per process, so each backend runs in its own child process
(``python -m benchmarks --child <backend>``) with its environment.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

BACKENDS = ("sqlite", "postgresql")


@dataclass(frozen=True)
class Backend:
    name: str
    data_dir: Path
    env: dict[str, str]


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


def _admin(url: str, statement: str, name: str) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(sql.SQL(statement).format(sql.Identifier(name)))


@contextmanager
def backend_prepare(name: str) -> Iterator[Backend]:
    """A fresh database of kind ``name`` and the environment a child process needs to use it;
    everything is removed on exit."""
    data_dir = Path(tempfile.mkdtemp(prefix=f"sokyaku-bench-{name}-"))
    env = {
        **os.environ,
        "SOKYAKU_DATA_DIR": str(data_dir),
        "SOKYAKU_LOG_LEVEL": "WARNING",
        "DJANGO_SETTINGS_MODULE": "sokyaku.settings",
    }
    env.pop("SOKYAKU_TASKS_IMMEDIATE", None)
    server_url = env.pop("DATABASE_URL", "")
    if name == "sqlite":
        env.pop("REDIS_URL", None)  # the embedded default queues in SQLite too
    database = f"sokyaku_bench_{os.getpid()}"
    created = False
    try:
        if name == "postgresql":
            if not server_url:
                raise RuntimeError("the postgresql backend needs DATABASE_URL")
            _admin(server_url, "DROP DATABASE IF EXISTS {} WITH (FORCE)", database)
            _admin(server_url, "CREATE DATABASE {}", database)
            created = True
            env["DATABASE_URL"] = _with_database(server_url, database)
        yield Backend(name=name, data_dir=data_dir, env=env)
    finally:
        if created:
            _admin(server_url, "DROP DATABASE IF EXISTS {} WITH (FORCE)", database)
        shutil.rmtree(data_dir, ignore_errors=True)
