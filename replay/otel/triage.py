"""Triage of many traced runs: one row per run, and the seed's segmentation.

Each run is imported (``to_cassette``) and its signals computed by ``replay.signals``,
exactly as for a recorded cassette; only a small ``RunRow`` is kept per run, so a day of
traces is summarised in memory proportional to the number of runs, not of spans.
Segments count runs and failures by release, workflow and model, and calls and errors by
tool.
"""

from __future__ import annotations

import multiprocessing
import sys
from collections import Counter
from collections.abc import Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from replay.cassette import Cassette
from replay.errors import TraceError
from replay.otel.read import TraceRun, read_runs
from replay.otel.to_cassette import analyse, to_cassette
from replay.signals import RunSignals, bare_class_name, signals_of

SEGMENT_KEYS = ("release", "workflow", "model")


@dataclass(frozen=True, slots=True)
class RunRow:
    """One traced run in the table of runs."""

    trace_id: str
    run_id: str
    release: str | None
    workflow: str | None
    model: str | None
    stop_reason: str
    stop_reason_inferred: bool
    failed: bool
    first_error: str | None
    duration_ms: float
    steps: int
    conclusion: str
    tools: dict[str, tuple[int, int]]

    def to_dict(self) -> dict[str, Any]:
        return {
            "trace_id": self.trace_id,
            "run_id": self.run_id,
            "release": self.release,
            "workflow": self.workflow,
            "model": self.model,
            "stop_reason": self.stop_reason,
            "stop_reason_inferred": self.stop_reason_inferred,
            "failed": self.failed,
            "first_error": self.first_error,
            "duration_ms": round(self.duration_ms, 3),
            "steps": self.steps,
            "conclusion": self.conclusion,
        }


@dataclass(frozen=True, slots=True)
class Segment:
    """Runs (or, for tools, calls) of one value of a dimension, and how many failed."""

    dimension: str
    value: str
    total: int
    failed: int

    @property
    def failure_rate(self) -> float:
        return self.failed / self.total if self.total else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "value": self.value,
            "total": self.total,
            "failed": self.failed,
            "failure_rate": round(self.failure_rate, 4),
        }


@dataclass
class Triage:
    """The table of runs (failing first), the segments, and the traces that were skipped."""

    rows: list[RunRow] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    def sorted_rows(self) -> list[RunRow]:
        return sorted(self.rows, key=lambda r: (not r.failed, -r.duration_ms))

    def segments(self) -> dict[str, list[Segment]]:
        result: dict[str, list[Segment]] = {}
        for key in SEGMENT_KEYS:
            totals: Counter[str] = Counter()
            failed: Counter[str] = Counter()
            for row in self.rows:
                value = getattr(row, key) or "-"
                totals[value] += 1
                failed[value] += int(row.failed)
            result[key] = _segments(key, totals, failed)
        calls: Counter[str] = Counter()
        errors: Counter[str] = Counter()
        for row in self.rows:
            for name, (count, failures) in row.tools.items():
                calls[name] += count
                errors[name] += failures
        result["tool"] = _segments("tool", calls, errors)
        return result

    def to_dict(self) -> dict[str, Any]:
        return {
            "runs": [row.to_dict() for row in self.sorted_rows()],
            "segments": {k: [s.to_dict() for s in v] for k, v in self.segments().items()},
            "skipped": list(self.skipped),
        }


def _segments(dimension: str, totals: Counter[str], failed: Counter[str]) -> list[Segment]:
    segments = [Segment(dimension, value, totals[value], failed[value]) for value in totals]
    return sorted(segments, key=lambda s: (-s.failure_rate, -s.total, s.value))


def row_of(cassette: Cassette, signals: RunSignals, duration_ms: float) -> RunRow:
    first = signals.first_error_span
    first_error = None
    if first is not None:
        first_error = f"{first.kind} {first.name}"
        if first.error_class:
            first_error += f" ({bare_class_name(first.error_class)})"
    tools: dict[str, list[int]] = {}
    for step in cassette.steps:
        if step.kind == "tool":
            entry = tools.setdefault(step.name, [0, 0])
            entry[0] += 1
            entry[1] += int(step.error is not None)
    provenance = cassette.provenance or {}
    return RunRow(
        trace_id=cassette.context.trace_id,
        run_id=cassette.run_id,
        release=cassette.context.release,
        workflow=cassette.context.workflow,
        model=cassette.context.model,
        stop_reason=cassette.outcome.stop_reason,
        stop_reason_inferred=bool((provenance.get("stop_reason") or {}).get("inferred", False)),
        failed=cassette.outcome.failed,
        first_error=first_error,
        duration_ms=duration_ms,
        steps=len(cassette.steps),
        conclusion=signals.conclusion,
        tools={name: (c, f) for name, (c, f) in tools.items()},
    )


def trace_duration_ms(trace: TraceRun) -> float:
    start = min(span.start_ns for span in trace.spans)
    end = max(span.end_ns for span in trace.spans)
    return (end - start) / 1e6


def triage_files(paths: Sequence[str | Path], *, workers: int = 1) -> Triage:
    """``triage`` of every run in ``paths``, split over ``workers`` processes by trace id
    (each reads the files and decodes only the lines of its own traces)."""
    if workers <= 1:
        return triage(read_runs(list(paths)))
    context = multiprocessing.get_context("fork" if sys.platform != "win32" else "spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        parts = list(pool.map(_triage_shard, [(list(paths), k, workers) for k in range(workers)]))
    merged = Triage()
    for part in parts:
        merged.rows.extend(part.rows)
        merged.skipped.extend(part.skipped)
    return merged


def _triage_shard(job: tuple[list[str | Path], int, int]) -> Triage:
    paths, index, count = job
    return triage(read_runs(paths, shard=(index, count)))


def triage(traces: Iterable[TraceRun]) -> Triage:
    """Import and triage every run; traces without GenAI spans are listed as skipped."""
    result = Triage()
    for trace in traces:
        try:
            # Nothing is written and a row holds no free text: no redaction pass needed.
            cassette = to_cassette(analyse(trace))
        except TraceError as exc:
            result.skipped.append(str(exc))
            continue
        result.rows.append(row_of(cassette, signals_of(cassette), trace_duration_ms(trace)))
    return result
