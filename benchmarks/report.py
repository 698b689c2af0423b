"""Timing and reporting shared by every benchmark section.

A section measures with ``measure`` (``time.perf_counter``, several repetitions, the
median reported), prints its tables through ``Report``, records figures other sections
may need (``Report.figures``) and states its targets as ``Check``s; ``__main__`` prints
every check at the end as PASS/FAIL.
"""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class Sample:
    """Seconds taken by each repetition of one measurement."""

    runs: tuple[float, ...]

    @property
    def median(self) -> float:
        return statistics.median(self.runs)

    @property
    def spread(self) -> float:
        """(max - min) / median: how noisy the repetitions were."""
        return (max(self.runs) - min(self.runs)) / self.median if self.median else 0.0


def measure(
    action: Callable[[], Any],
    *,
    repeat: int,
    setup: Callable[[], Any] | None = None,
    warmup: int = 0,
) -> Sample:
    """Time ``action`` ``repeat`` times with ``perf_counter``; ``setup`` runs untimed first.

    The garbage collector stays on (a replay runs with it on) but is emptied before each
    repetition, so one run's garbage is not collected on the next one's clock.
    """
    for _ in range(warmup):
        if setup is not None:
            setup()
        action()
    runs = []
    for _ in range(repeat):
        if setup is not None:
            setup()
        gc.collect()
        started = time.perf_counter()
        action()
        runs.append(time.perf_counter() - started)
    return Sample(tuple(runs))


def measure_interleaved(
    actions: dict[str, tuple[Callable[[], Any], Callable[[], Any] | None]],
    *,
    repeat: int,
    warmup: int = 1,
) -> dict[str, Sample]:
    """Time several ``(action, setup)`` pairs in turns, so that a burst of load on the
    machine hits all of them alike rather than one (ratios between them stay fair)."""
    runs: dict[str, list[float]] = {name: [] for name in actions}
    for round_number in range(warmup + repeat):
        for name, (action, setup) in actions.items():
            if setup is not None:
                setup()
            gc.collect()
            started = time.perf_counter()
            action()
            elapsed = time.perf_counter() - started
            if round_number >= warmup:
                runs[name].append(elapsed)
    return {name: Sample(tuple(values)) for name, values in runs.items()}


def seconds(value: float) -> str:
    """A duration in the unit that reads best: ns, µs, ms or s."""
    if value < 1e-6:
        return f"{value * 1e9:.0f} ns"
    if value < 1e-3:
        return f"{value * 1e6:.1f} µs"
    if value < 1.0:
        return f"{value * 1e3:.1f} ms"
    return f"{value:.2f} s"


def ratio(value: float) -> str:
    """``1.04x``, ``37x``, ``1/2,840``: a ratio with the precision that matters."""
    if value <= 0:
        return "n/a"
    if value < 0.1:
        return f"1/{1 / value:,.0f}"
    if value < 10:
        return f"{value:.2f}x"
    return f"{value:,.0f}x"


@dataclass(frozen=True, slots=True)
class Check:
    """One target: what it demands, what was measured, and whether that meets it."""

    target: str
    measured: str
    passed: bool


@dataclass
class Report:
    """What a benchmark run printed, the figures sections share, and the targets checked."""

    quick: bool = False
    golden_runs: int | None = None  # --golden-runs: the golden section's set size
    checks: list[Check] = field(default_factory=list)
    figures: dict[tuple[str, int], float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def section(self, title: str) -> None:
        print(f"\n== {title} ==", flush=True)

    def line(self, text: str = "") -> None:
        print(text, flush=True)

    def table(self, header: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
        """Print a right-aligned table (the first column left-aligned)."""
        widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]

        def fmt(row: Sequence[str]) -> str:
            cells = [
                str(cell).ljust(widths[i]) if i == 0 else str(cell).rjust(widths[i])
                for i, cell in enumerate(row)
            ]
            return "  ".join(cells).rstrip()

        print(fmt(header))
        for row in rows:
            print(fmt(row), flush=True)

    def check(self, target: str, measured: str, passed: bool) -> None:
        self.checks.append(Check(target, measured, passed))

    def print_checks(self) -> bool:
        """Print every target as PASS/FAIL; True when all passed."""
        self.section("targets")
        if not self.checks:
            print("(none for the sections and sizes run)")
        for check in self.checks:
            print(f"{'PASS' if check.passed else 'FAIL'}  {check.target}: {check.measured}")
        for note in self.notes:
            print(f"note: {note}")
        return all(check.passed for check in self.checks)
