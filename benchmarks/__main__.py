"""``python -m benchmarks`` (``make bench``): run the cases on fresh databases, print a table.

By default every case runs on SQLite (a temporary data dir) and, when ``DATABASE_URL`` is set, on
PostgreSQL too (a throwaway database on that server). Each backend runs in a child process; the
parent collects the measurements and prints them with their ratios to the baseline.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from benchmarks import speed_to_lead
from benchmarks.backends import BACKENDS, backend_prepare
from benchmarks.results import Measurement, table

# case name -> "module:function"; the function takes (size, backend, data_dir).
CASES = {
    "ingest": "benchmarks.ingest:ingest_run",
    "imports": "benchmarks.imports:imports_run",
    "scoring": "benchmarks.scoring:scoring_run",
    "segments": "benchmarks.segments:segments_run",
    "delivery": "benchmarks.delivery:delivery_run",
    "speed_to_lead": "benchmarks.speed_to_lead:speed_to_lead_run",
    "analytics": "benchmarks.analytics:analytics_run",
}
CHILD_TIMEOUT = 240  # seconds per case and backend at the default size
DEFAULT_SIZE = 20_000


def _case(name: str) -> Callable[..., list[Measurement]]:
    import importlib

    module, _sep, function = CASES[name].partition(":")
    run: Callable[..., list[Measurement]] = getattr(importlib.import_module(module), function)
    return run


def _child(args: argparse.Namespace) -> int:
    """Inside a backend's process: migrate the fresh database, run the cases, write results."""
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    measurements: list[Measurement] = []
    for name in args.only or sorted(CASES):
        measurements += _case(name)(
            size=args.size, backend=args.child, data_dir=Path(os.environ["SOKYAKU_DATA_DIR"])
        )
    with connection.cursor() as cursor:
        sqlite = connection.vendor == "sqlite"
        cursor.execute("SELECT sqlite_version()" if sqlite else "SHOW server_version")
        version = str(cursor.fetchone()[0])
    Path(args.results).write_text(
        json.dumps(
            {"version": version, "measurements": [m.to_json() for m in measurements]},
            ensure_ascii=False,
        )
    )
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="Measure sokyaku's paths against their physical limits on this machine "
        "and print the ratios. See benchmarks/README.md.",
    )
    parser.add_argument(
        "--size",
        type=int,
        default=DEFAULT_SIZE,
        help="rows per path and case (default %(default)s)",
    )
    parser.add_argument(
        "--only",
        action="append",
        choices=sorted(CASES),
        metavar="CASE",
        help=f"run only this case (repeatable; cases: {', '.join(sorted(CASES))})",
    )
    parser.add_argument(
        "--backend",
        choices=(*BACKENDS, "all"),
        help="database to run on (default: sqlite, plus postgresql when DATABASE_URL is set)",
    )
    parser.add_argument(
        "--speed-modes",
        default=os.environ.get(speed_to_lead.MODES_ENV, ""),
        metavar="MODES",
        help="speed_to_lead's modes, comma-separated: "
        f"{', '.join(speed_to_lead.MODES)} (default: ${speed_to_lead.MODES_ENV}, else "
        f"{','.join(speed_to_lead.MODES_DEFAULT)})",
    )
    parser.add_argument("--child", choices=BACKENDS, help=argparse.SUPPRESS)
    parser.add_argument("--results", help=argparse.SUPPRESS)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.size < 1:
        parser.error("--size must be at least 1")
    try:
        speed_modes = speed_to_lead.modes_parse(args.speed_modes)
    except ValueError as exc:
        parser.error(f"--speed-modes: {exc}")
    if args.child:
        return _child(args)
    if args.backend in (None, "all"):
        backends = ["sqlite", *(["postgresql"] if os.environ.get("DATABASE_URL") else [])]
        if args.backend == "all" and len(backends) == 1:
            parser.error("--backend all needs DATABASE_URL for PostgreSQL")
    else:
        backends = [args.backend]
    if "postgresql" in backends and not os.environ.get("DATABASE_URL"):
        parser.error("--backend postgresql needs DATABASE_URL")
    cases = args.only or sorted(CASES)
    measurements: list[Measurement] = []
    versions: dict[str, str] = {}
    started = time.perf_counter()
    # Sizes above the default get proportionally longer (``--size 100000``: 20 minutes).
    timeout = CHILD_TIMEOUT * max(1.0, args.size / DEFAULT_SIZE)
    for name in backends:
        # Each case gets a fresh database: a case's data (demo contacts) is not the next one's.
        for case in cases:
            print(f"running {case} on {name} …", file=sys.stderr, flush=True)
            with backend_prepare(name) as backend:
                backend.env[speed_to_lead.MODES_ENV] = ",".join(speed_modes)
                results = backend.data_dir / "results.json"
                command = [
                    sys.executable, "-m", "benchmarks", "--child", name, "--size",
                    str(args.size), "--results", str(results), "--only", case,
                ]  # fmt: skip
                limit = timeout
                if case == "speed_to_lead":
                    limit += speed_to_lead.modes_seconds(speed_modes)
                try:
                    done = subprocess.run(
                        command,
                        env=backend.env,
                        cwd=Path(__file__).resolve().parent.parent,
                        timeout=limit,
                        check=False,
                    )
                except subprocess.TimeoutExpired:
                    print(f"{case} on {name}: gave up after {limit:.0f} s", file=sys.stderr)
                    return 1
                if done.returncode != 0:
                    print(
                        f"{case} on {name}: the benchmark failed (exit {done.returncode})",
                        file=sys.stderr,
                    )
                    return 1
                data = json.loads(results.read_text())
            versions[name] = f"{name} {data['version']}"
            measurements += [Measurement(**m) for m in data["measurements"]]
    print(
        f"sokyaku benchmarks: {args.size:,} rows per path; {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}, {', '.join(versions.values())}; "
        f"{time.perf_counter() - started:.0f} s in all"
    )
    print(table(measurements))
    return 0


if __name__ == "__main__":
    sys.exit(main())
