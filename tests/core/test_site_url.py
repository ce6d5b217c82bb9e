"""``sokyaku serve --port P`` and ``sokyaku demo --port P``: the links the product hands out
(form URLs, embed codes, mailed links, the tracking snippet and notice) lead to the port it
serves on, unless ``SOKYAKU_SITE_URL`` names the public address."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from sokyaku import cli

ROOT = Path(__file__).resolve().parents[2]


class _Started(Exception):
    """Stands in for the web server replacing the process."""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def site_url_in_new_process(env: dict[str, str], data_dir: Path) -> str:
    """SITE_URL as the settings module computes it in a process started with ``env``."""
    result = subprocess.run(
        [sys.executable, "-c", "import sokyaku.settings as s; print(s.SITE_URL)"],
        env={**env, "SOKYAKU_DATA_DIR": str(data_dir)},
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


@pytest.fixture
def no_site_url(monkeypatch: pytest.MonkeyPatch) -> None:
    # set, then removed: the environment is restored to what it was after the test
    monkeypatch.setenv("SOKYAKU_SITE_URL", "unset")
    monkeypatch.delenv("SOKYAKU_SITE_URL")


@pytest.fixture
def started(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The environment the web server of ``serve`` starts with (instead of starting it)."""
    seen: dict[str, str] = {}

    def execv(path: str, argv: list[str]) -> None:
        seen.update(os.environ)
        raise _Started

    monkeypatch.setattr(cli.os, "execv", execv)
    return seen


def test_serve_on_another_port_points_every_link_at_that_port(
    no_site_url: None, started: dict[str, str], tmp_path: Path
) -> None:
    port = _free_port()
    # when the server is started on another port than 8000
    with pytest.raises(_Started):
        cli.main(["serve", "--port", str(port)])
    # then the settings of the server it starts give that address as the site's
    assert site_url_in_new_process(started, tmp_path) == f"http://127.0.0.1:{port}"


def test_demo_on_another_port_points_every_link_at_that_port(
    no_site_url: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    port = _free_port()

    def setup() -> None:  # the demo loads its data from here on: stop before
        raise _Started

    monkeypatch.setattr(cli, "_django", setup)
    with pytest.raises(_Started):
        cli.main(["demo", "--port", str(port)])
    assert site_url_in_new_process(dict(os.environ), tmp_path) == f"http://127.0.0.1:{port}"


def test_a_configured_site_url_wins_over_the_port(
    monkeypatch: pytest.MonkeyPatch, started: dict[str, str], tmp_path: Path
) -> None:
    monkeypatch.setenv("SOKYAKU_SITE_URL", "https://crm.example.co.jp/")
    with pytest.raises(_Started):
        cli.main(["serve", "--port", str(_free_port())])
    assert site_url_in_new_process(started, tmp_path) == "https://crm.example.co.jp"


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("127.0.0.1", "http://127.0.0.1:8123"),
        ("0.0.0.0", "http://127.0.0.1:8123"),  # noqa: S104
        ("::1", "http://[::1]:8123"),
        ("crm.local", "http://crm.local:8123"),
    ],
)
def test_the_address_follows_the_host_it_listens_on(
    no_site_url: None, host: str, expected: str
) -> None:
    assert cli.site_url(host=host, port=8123) == expected
