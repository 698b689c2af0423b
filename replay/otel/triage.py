"""Triage of many traced runs: one row per run, and the seed's segmentation.

Each run is imported (``to_cassette``) and its signals computed by ``replay.signals``,
exactly as for a recorded cassette; only a small ``RunRow`` is kept per run, in a
temporary file, so a day of traces is summarised in memory flat in the number of runs.
Segments count runs and failures by release, workflow and model, and calls and errors by
tool.
"""

from __future__ import annotations

import heapq
import multiprocessing
import os
import pickle
import shutil
import sqlite3
import sys
import tempfile
import weakref
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
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


class Triage:
    """The table of runs (failing first), the segments, and the traces that were skipped.

    Rows go to a temporary SQLite file as they come and are read back sorted
    (``sorted_rows``); only the counts of the segments stay in memory, so a day of traces
    is triaged in memory flat in the number of runs. A triage split over processes is the
    union of the parts' files (``merge``), read back in one sorted stream.
    """

    def __init__(self, folder: Path | None = None) -> None:
        self.skipped: list[str] = []
        self.count = 0
        self.failing = 0
        self._totals: dict[str, Counter[str]] = {key: Counter() for key in SEGMENT_KEYS}
        self._failed: dict[str, Counter[str]] = {key: Counter() for key in SEGMENT_KEYS}
        self._calls: Counter[str] = Counter()
        self._errors: Counter[str] = Counter()
        if folder is None:
            folder = Path(tempfile.mkdtemp(prefix="replay-triage-"))
            weakref.finalize(self, shutil.rmtree, folder, True)
        self.folder = folder
        self._files: list[Path] = []
        self._db: sqlite3.Connection | None = None

    def add(self, row: RunRow) -> None:
        if self._db is None:
            path = self.folder / f"rows-{os.getpid()}-{id(self)}.sqlite"
            self._db = sqlite3.connect(path)
            self._db.execute("PRAGMA journal_mode=OFF")
            self._db.execute("PRAGMA synchronous=OFF")
            self._db.execute("CREATE TABLE rows (failed INT, duration REAL, data BLOB)")
            self._files.append(path)
        data = pickle.dumps(row, protocol=pickle.HIGHEST_PROTOCOL)
        self._db.execute(
            "INSERT INTO rows VALUES (?, ?, ?)", (int(row.failed), row.duration_ms, data)
        )
        self.count += 1
        self.failing += int(row.failed)
        for key in SEGMENT_KEYS:
            value = getattr(row, key) or "-"
            self._totals[key][value] += 1
            self._failed[key][value] += int(row.failed)
        for name, (count, failures) in row.tools.items():
            self._calls[name] += count
            self._errors[name] += failures

    def merge(self, other: Triage) -> None:
        """Take in a part (from another process): its row files, counts and skipped."""
        other.close()
        self._files.extend(other._files)
        self.skipped.extend(other.skipped)
        self.count += other.count
        self.failing += other.failing
        for key in SEGMENT_KEYS:
            self._totals[key].update(other._totals[key])
            self._failed[key].update(other._failed[key])
        self._calls.update(other._calls)
        self._errors.update(other._errors)

    def close(self) -> None:
        if self._db is not None:
            self._db.commit()
            self._db.close()
            self._db = None

    def __getstate__(self) -> dict[str, Any]:
        self.close()
        return {k: v for k, v in self.__dict__.items() if k != "_db"} | {"_db": None}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)

    def sorted_rows(self) -> Iterator[RunRow]:
        """Every row, failing first, then the slowest first (reading order on ties)."""
        self.close()
        streams = [_sorted_file(path, index) for index, path in enumerate(self._files)]
        for _key, row in heapq.merge(*streams, key=lambda item: item[0]):
            yield row

    def segments(self) -> dict[str, list[Segment]]:
        result = {key: _segments(key, self._totals[key], self._failed[key]) for key in SEGMENT_KEYS}
        result["tool"] = _segments("tool", self._calls, self._errors)
        return result

    def to_dict(self) -> dict[str, Any]:
        return {
            "runs": [row.to_dict() for row in self.sorted_rows()],
            "segments": {k: [s.to_dict() for s in v] for k, v in self.segments().items()},
            "skipped": list(self.skipped),
        }


def _sorted_file(path: Path, index: int) -> Iterator[tuple[tuple[Any, ...], RunRow]]:
    db = sqlite3.connect(path)
    try:
        rows = db.execute(
            "SELECT failed, duration, rowid, data FROM rows "
            "ORDER BY failed DESC, duration DESC, rowid"
        )
        for failed, duration, rowid, data in rows:
            # Our own temporary file, written by Triage.add: unpickling it is safe.
            yield (-failed, -duration, index, rowid), pickle.loads(data)
    finally:
        db.close()


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
    merged = Triage()
    context = multiprocessing.get_context("fork" if sys.platform != "win32" else "spawn")
    jobs = [(list(paths), k, workers, merged.folder) for k in range(workers)]
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        for part in pool.map(_triage_shard, jobs):
            merged.merge(part)
    return merged


def _triage_shard(job: tuple[list[str | Path], int, int, Path]) -> Triage:
    paths, index, count, folder = job
    part = triage(read_runs(paths, shard=(index, count)), folder=folder)
    part.close()
    return part


def triage(traces: Iterable[TraceRun], *, folder: Path | None = None) -> Triage:
    """Import and triage every run; traces without GenAI spans are listed as skipped."""
    result = Triage(folder)
    for trace in traces:
        try:
            # Nothing is written and a row holds no free text: no redaction pass needed.
            cassette = to_cassette(analyse(trace))
        except TraceError as exc:
            result.skipped.append(str(exc))
            continue
        result.add(row_of(cassette, signals_of(cassette), trace_duration_ms(trace)))
    return result
