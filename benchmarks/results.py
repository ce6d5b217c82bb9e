"""Measurements and the table they are printed as.

Every case measures one or more paths that do the same work, one of them the baseline (the
physical limit: the bare database operation the path reduces to). The table shows rows per second
and how many times longer than the baseline each path took. Paths of a case measured under
another load (a ``group``) are compared with that group's baseline.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class Measurement:
    case: str
    backend: str
    path: str
    rows: int
    seconds: float
    baseline: bool = False
    note: str = ""
    # ``seconds`` is one item's latency (a median), not the time for all rows: no rate.
    latency: bool = False
    # Paths of one case measured another way (another load) have their own baseline.
    group: str = ""
    # False: not the same work as the baseline (a throughput over a fixed time), so no ratio.
    compare: bool = True

    @property
    def rate(self) -> float:
        return self.rows / self.seconds if self.seconds > 0 else float("inf")

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


class Stopwatch:
    """Accumulates the time spent inside ``with watch.running():`` blocks."""

    def __init__(self) -> None:
        self.seconds = 0.0

    @contextmanager
    def running(self) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self.seconds += time.perf_counter() - started


def table(measurements: Sequence[Measurement]) -> str:
    """The measurements as an aligned text table, with each path's time ÷ its baseline's."""
    baselines = {(m.case, m.backend, m.group): m for m in measurements if m.baseline}
    header = ("case", "backend", "path", "rows", "seconds", "rows/s", "time ÷ raw", "note")
    lines = [header]
    for m in measurements:
        base = baselines.get((m.case, m.backend, m.group)) if m.compare else None
        ratio = f"{m.seconds / base.seconds:.1f}×" if base and base.seconds > 0 else "–"
        lines.append(
            (
                m.case,
                m.backend,
                m.path,
                f"{m.rows:,}",
                f"{m.seconds:.2f}",
                "–" if m.latency else f"{m.rate:,.0f}",
                ratio,
                m.note,
            )
        )
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    right = {3, 4, 5, 6}
    return "\n".join(
        "  ".join(
            cell.rjust(widths[i]) if i in right else cell.ljust(widths[i])
            for i, cell in enumerate(line)
        ).rstrip()
        for line in lines
    )
