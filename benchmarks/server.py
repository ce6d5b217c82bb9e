"""The production web server, started the way ``sokyaku serve`` starts it (gunicorn with the same
arguments), on a free loopback port, for cases that go through HTTP."""

from __future__ import annotations

import os
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from sokyaku.cli import _server_argv

WORKERS = 2
THREADS = 4


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def server_running(*, log: Path, timeout: float = 30) -> Iterator[str]:
    """Start gunicorn on 127.0.0.1 with this process's environment (so the same data dir and
    database); yields its base URL once ``/healthz`` answers, stops it on exit. Its output goes
    to ``log``."""
    port = _free_port()
    argv = _server_argv("127.0.0.1", port, WORKERS, THREADS)
    with log.open("wb") as output:
        proc = subprocess.Popen(argv, env=dict(os.environ), stdout=output, stderr=subprocess.STDOUT)
        try:
            url = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + timeout
            while True:
                if proc.poll() is not None:
                    raise RuntimeError(f"gunicorn exited while starting; see {log}")
                try:
                    if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"gunicorn did not answer within {timeout:.0f} s; see {log}")
                time.sleep(0.1)
            yield url
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
