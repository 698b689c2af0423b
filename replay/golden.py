"""Golden sets: replay recorded runs against a new build and report the release diff.

A golden set is a folder of healthy recorded runs (``cassettes/golden/`` by default).
Before a release every run is replayed against the new build, judged (``match``,
``regressed``, ``diverged``, ``flaky``; ``fixed`` for a failed baseline that now
completes; ``error`` when the cassette cannot be loaded or replayed at all), and the
recorded runs (the baseline release) are compared with the replays (this build) on
figures: error rate, stop reasons, p50/p95 run latency, steps per run, repeated tool
calls, tokens and tool calls, overall and by workflow, model and tool. A figure that got
worse beyond its threshold (``[tool.replay.golden]``) is flagged.

Like Temporal's replayer, failures are collected per run (by cassette path), never
raised: a broken cassette is an ``error`` record, not the end of the set. Workers return
one small ``RunRecord`` of raw figures per run and no histories, so memory stays flat as
the set grows, and every aggregate can be recomputed exactly from the records: shard
reports merge into the same report an unsharded run gives.

Run latency is the sum of the run's steps' ``latency_ms``. In a replay a served step
carries its recorded latency, so the build's latency is "what the recorded world would
have cost", not wall time: it tracks calls added or dropped.

A run whose replay diverged stopped where the recording has no answer: it has no
measured latency or outcome of this build. Such runs are counted apart (``diverged`` in
each segment) and every figure, on both sides, is computed over the runs replayed to the
end only, so a prompt change that diverges every run reads "no run replayed", never as
"+100 pts error rate, -100% latency".
"""

from __future__ import annotations

import functools
import hashlib
import heapq
import itertools
import json
import math
import os
import subprocess
import tempfile
from array import array
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from replay.errors import ReplayError
from replay.on_miss import DERIVED_SUFFIX, is_derived_name
from replay.spool import Spool
from replay.usage import tokens_of

if TYPE_CHECKING:
    from replay.cassette import Cassette, Outcome, Step
    from replay.verdict import Verdict

DEFAULT_DIR = "cassettes/golden"
DEFAULT_REPEAT = 2
REPORT_SCHEMA = "agent-replay/golden-report"
REPORT_VERSION = 1
CASSETTE_SUFFIXES = (".yaml", ".yml")
FAILING_VERDICTS = ("regressed", "diverged", "flaky")
VERDICT_ORDER = ("match", "fixed", "regressed", "diverged", "flaky", "error")
MAX_CHANGE_LINES = 5
UNKNOWN = "(none)"


class GoldenError(ReplayError):
    """A golden-set command cannot run: no cassettes, a bad option, a report that cannot
    be merged. Per-run problems are never this: they are ``error`` records."""


# --------------------------------------------------------------------------- settings


@dataclass(frozen=True, slots=True)
class Thresholds:
    """How much worse a figure may get before it is flagged; None disables a check.

    ``*_pct`` are percentage increases over the baseline; ``max_error_rate_increase`` is
    an absolute increase of the failed-run fraction (0.05 = five points);
    ``max_repeated_tool_calls_increase`` is a count of extra repeated calls.
    """

    max_error_rate_increase: float | None = 0.0
    max_p95_latency_increase_pct: float | None = 10.0
    max_p50_latency_increase_pct: float | None = None
    max_steps_increase_pct: float | None = 10.0
    max_repeated_tool_calls_increase: float | None = 0.0
    max_tokens_increase_pct: float | None = 10.0
    max_tool_calls_increase_pct: float | None = None

    def to_dict(self) -> dict[str, float | None]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, where: str = "thresholds") -> Thresholds:
        """Validated thresholds: numbers >= 0, or ``false`` (None in JSON) to disable."""
        allowed = {f.name for f in fields(cls)}
        values: dict[str, float | None] = {}
        for key, value in data.items():
            if key not in allowed:
                raise GoldenError(
                    f"{where}: unknown threshold '{key}' (allowed: {', '.join(sorted(allowed))})"
                )
            values[key] = _threshold_value(value, f"{where}.{key}")
        return cls(**values)


def _threshold_value(value: Any, where: str) -> float | None:
    if value is None or value is False:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise GoldenError(f"{where} must be a number >= 0 or false (to disable), not {value!r}")
    if value < 0:
        raise GoldenError(f"{where} must be >= 0, not {value!r}")
    return float(value)


@dataclass(frozen=True, slots=True)
class GoldenSettings:
    """``[tool.replay.golden]``: the set's folder, replays per run, workers, thresholds,
    and the on-miss policy (``replay.on_miss``) its replays answer missing calls with."""

    dir: str = DEFAULT_DIR
    repeat: int = DEFAULT_REPEAT
    workers: str = "auto"
    thresholds: Thresholds = field(default_factory=Thresholds)
    on_miss: str | None = None


SETTING_KEYS = ("dir", "repeat", "workers", "on_miss")


def settings_from_config(table: Mapping[str, Any]) -> GoldenSettings:
    """Validate a ``[tool.replay.golden]`` table (unknown keys are refused by name)."""
    from replay.config import ConfigError

    where = "[tool.replay.golden]"
    threshold_keys = {f.name for f in fields(Thresholds)}
    unknown = [k for k in table if k not in threshold_keys and k not in SETTING_KEYS]
    if unknown:
        allowed = ", ".join(sorted([*SETTING_KEYS, *threshold_keys]))
        raise ConfigError(
            f"{where} in pyproject.toml: unknown key '{unknown[0]}' (allowed: {allowed}); "
            "fix the spelling or remove it"
        )
    try:
        thresholds = Thresholds.from_dict(
            {k: v for k, v in table.items() if k in threshold_keys}, where=where
        )
    except GoldenError as exc:
        raise ConfigError(f"{exc} (in pyproject.toml)") from None
    folder = table.get("dir", DEFAULT_DIR)
    if not isinstance(folder, str) or not folder:
        raise ConfigError(f"{where} dir must be a folder path (text), not {folder!r}")
    repeat = table.get("repeat", DEFAULT_REPEAT)
    if isinstance(repeat, bool) or not isinstance(repeat, int) or repeat < 1:
        raise ConfigError(f"{where} repeat must be a whole number >= 1, not {repeat!r}")
    workers = str(table.get("workers", "auto"))
    try:
        resolve_workers(workers)
    except GoldenError as exc:
        raise ConfigError(f"{where} workers: {exc}") from None
    from replay.on_miss import OnMissError, parse_on_miss

    try:
        on_miss = parse_on_miss(table.get("on_miss"), where=f"{where} on_miss in pyproject.toml")
    except OnMissError as exc:
        raise ConfigError(str(exc)) from None
    return GoldenSettings(
        dir=folder,
        repeat=repeat,
        workers=workers,
        thresholds=thresholds,
        on_miss=on_miss.value if on_miss is not None else None,
    )


def resolve_workers(spec: str | int | None) -> int:
    """Worker processes for ``-n``: "auto" = the usable cores, 0 = serial in-process."""
    if spec is None or spec == "auto":
        try:
            return max(1, len(os.sched_getaffinity(0)))
        except AttributeError:  # not on Linux
            return max(1, os.cpu_count() or 1)
    try:
        count = int(spec)
    except (TypeError, ValueError):
        raise GoldenError(
            f"-n must be 'auto' or a number of worker processes, not {spec!r}"
        ) from None
    if count < 0:
        raise GoldenError(f"-n must be 0 (serial) or more, not {count}")
    return count


def default_release_label(cwd: str | os.PathLike[str] | None = None) -> str:
    """This build's name: ``git describe --tags --always --dirty`` when git answers
    quickly, else "HEAD"."""
    try:
        done = subprocess.run(
            ["git", "describe", "--tags", "--always", "--dirty"],
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=2,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return "HEAD"
    label = done.stdout.strip()
    return label if done.returncode == 0 and label else "HEAD"


# -------------------------------------------------------------------- the set, shards


@dataclass(frozen=True, slots=True, order=True)
class GoldenEntry:
    """One cassette of the set. ``key`` (its path relative to the golden folder, with
    "/") names the run in reports, shards and merges; ``path`` is the file to load."""

    key: str
    path: str


def discover(dirs: Sequence[str | os.PathLike[str]]) -> tuple[GoldenEntry, ...]:
    """Every ``*.yaml``/``*.yml`` under ``dirs`` (recursive, hidden folders skipped), by key.

    With several folders each key is prefixed by its folder as given; a file given
    instead of a folder is one entry keyed by its name. ``run_golden`` does not hold
    this tuple: it spools ``iter_entries`` to disk (``spool_entries``).
    """
    entries = tuple(iter_entries(dirs))
    if not entries:
        raise _no_cassettes(dirs)
    return entries


def iter_entries(dirs: Sequence[str | os.PathLike[str]]) -> Iterator[GoldenEntry]:
    """``discover``'s entries one at a time, in key order, without holding them: each
    folder is walked in key order (``_walk``) and the folders' entries are merged.

    A missing folder raises before anything is yielded; a key found under several
    folders (a folder given twice, or one inside another) is the last folder's, as
    ``discover`` always kept it.
    """
    streams: list[Iterator[GoldenEntry]] = []
    for given in dirs:
        root = Path(given)
        prefix = f"{root.as_posix().rstrip('/')}/" if len(dirs) > 1 else ""
        if root.is_file():
            streams.append(iter((GoldenEntry(prefix or root.name, str(root)),)))
            continue
        if not root.is_dir():
            raise GoldenError(
                f"{root}: no such golden set folder; record runs and promote them with "
                "'replay golden add CASSETTE', or pass the folder that holds them"
            )
        streams.append(_walk(root, str(root), "", prefix))
    merged = streams[0] if len(streams) == 1 else heapq.merge(*streams, key=_entry_key)
    previous: GoldenEntry | None = None
    for entry in merged:
        if previous is not None and entry.key != previous.key:
            yield previous
        previous = entry
    if previous is not None:
        yield previous


def _entry_key(entry: GoldenEntry) -> str:
    return entry.key


def _walk(root: Path, folder: str, relative: str, prefix: str) -> Iterator[GoldenEntry]:
    """The cassettes under ``folder`` in key order (what ``os.walk`` with sorted folders
    and names finds, sorted by key). A subfolder ``d`` is listed as ``d/``: every key
    under it starts so, and a file name (no "/") sorts against all of them as it sorts
    against ``d/``, so walking the listing in order gives the keys in order."""
    base = str(root)  # str(root / key) without a Path per file (pathlib interns parts)
    base = "" if base == "." else base if base.endswith("/") else base + "/"
    for name in _listing(folder):
        if name.endswith("/"):
            yield from _walk(root, os.path.join(folder, name[:-1]), relative + name, prefix)
        else:
            key = relative + name
            yield GoldenEntry(prefix + key, base + key)


DISCOVERY_CHUNK = 4096  # names of one folder sorted in memory at once; more merge from disk


def _listing(folder: str) -> Iterator[str]:
    """The cassette files and the subfolders to walk (as ``name/``) of ``folder``,
    sorted. Hidden names, other files and symlinked folders are left out, as
    ``os.walk`` leaves them; an unreadable folder is skipped, as it does. A folder of
    more than ``DISCOVERY_CHUNK`` names is sorted by chunks spilled to temporary
    files and merged, so a flat folder of 100,000 runs is never held in memory."""
    chunk: list[str] = []
    spilled: list[IO[bytes]] = []
    try:
        with os.scandir(folder) as scan:
            for item in scan:
                name = item.name
                if name.startswith("."):
                    continue
                try:
                    is_dir = item.is_dir()
                except OSError:
                    is_dir = False
                if is_dir:
                    try:
                        linked = item.is_symlink()
                    except OSError:
                        linked = False
                    if not linked:
                        chunk.append(name + "/")
                elif name.endswith(CASSETTE_SUFFIXES) and not _derived(name):
                    chunk.append(name)
                if len(chunk) >= DISCOVERY_CHUNK:
                    spilled.append(_spill(chunk))
                    chunk = []
    except OSError:
        for run in spilled:
            run.close()
        return
    chunk.sort()
    if not spilled:
        yield from chunk
        return
    spilled.append(_spill(chunk))
    del chunk
    try:
        yield from heapq.merge(*(_spilled_names(run) for run in spilled))
    finally:
        for run in spilled:
            run.close()


def _derived(name: str) -> bool:
    """``is_derived_name`` of a file name ending with a cassette suffix, without a
    ``Path`` (its stem is the name less that suffix): a ``--on-miss live`` replay's
    answers, no baseline."""
    return name.rpartition(".")[0].endswith(DERIVED_SUFFIX)


def _spill(names: list[str]) -> IO[bytes]:
    names.sort()
    # Unbuffered, read back in small blocks: a merge reads every spilled chunk at once.
    run = tempfile.TemporaryFile(buffering=0, prefix="replay-golden-names-")  # noqa: SIM115
    # NUL ends a name: the one byte no file name holds
    data = memoryview(b"".join(name.encode("utf-8", "surrogateescape") + b"\0" for name in names))
    while data:
        data = data[run.write(data) or 0 :]
    run.seek(0)
    return run


def _spilled_names(run: IO[bytes]) -> Iterator[str]:
    rest = b""
    while block := run.read(4096):
        *names, rest = (rest + block).split(b"\0")
        for name in names:
            yield name.decode("utf-8", "surrogateescape")


def _no_cassettes(dirs: Sequence[str | os.PathLike[str]]) -> GoldenError:
    shown = ", ".join(str(d) for d in dirs)
    return GoldenError(
        f"no cassettes (*.yaml) in {shown}; promote recorded runs with "
        "'replay golden add CASSETTE'"
    )


def spool_entries(
    dirs: Sequence[str | os.PathLike[str]], *, shard: tuple[int, int] | None = None
) -> Spool[GoldenEntry]:
    """The entries of ``dirs`` (of shard ``i/n`` only when given) in key order, on disk:
    one walk, so the set is fixed when discovered, and its size is known (the progress
    total, the pool's batches) without holding an entry per run. Close it when done."""
    entries: Spool[GoldenEntry] = Spool(to_dict=_entry_dict, from_dict=_entry_of)
    found = 0
    try:
        for entry in iter_entries(dirs):
            found += 1
            if shard is None or shard_of(entry.key, shard[1]) == shard[0]:
                entries.append(entry)
        if not found:
            raise _no_cassettes(dirs)
    except BaseException:
        entries.close()
        raise
    return entries


def _entry_dict(entry: GoldenEntry) -> dict[str, Any]:
    return {"key": entry.key, "path": entry.path}


def _entry_of(data: dict[str, Any]) -> GoldenEntry:
    return GoldenEntry(data["key"], data["path"])


def parse_shard(text: str) -> tuple[int, int]:
    """``"i/n"`` -> (i, n), 1 <= i <= n."""
    index, sep, count = text.partition("/")
    try:
        i, n = int(index), int(count)
    except ValueError:
        i = n = 0
    if not sep or n < 1 or not 1 <= i <= n:
        raise GoldenError(
            f"--shard must be 'i/n' with 1 <= i <= n (e.g. --shard 2/4), not {text!r}"
        )
    return i, n


def shard_of(key: str, count: int) -> int:
    """The 1-based shard a run belongs to: a stable hash of its key, the same everywhere."""
    digest = hashlib.sha256(key.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % count + 1


def select_shard(entries: Iterable[GoldenEntry], index: int, count: int) -> tuple[GoldenEntry, ...]:
    """The entries of shard ``index`` of ``count``; the shards partition the set."""
    return tuple(e for e in entries if shard_of(e.key, count) == index)


# ----------------------------------------------------------------- per-run figures


@dataclass(frozen=True, slots=True)
class RunFigures:
    """The raw figures of one run (recorded or replayed), from which every aggregate of
    the release diff is computed. Tool-keyed counts are sorted by tool name."""

    stop_reason: str
    failed: bool
    latency_ms: float
    steps: int
    llm_calls: int
    input_tokens: int
    output_tokens: int
    tool_calls: dict[str, int]
    repeated_tool_calls: dict[str, int]

    @classmethod
    def of(cls, steps: Sequence[Step], outcome: Outcome) -> RunFigures:
        """Figures of a step history; a repeated call is the same tool with the same
        args hash as an earlier call of the run."""
        tool_calls: Counter[str] = Counter()
        repeated: Counter[str] = Counter()
        seen: set[tuple[str, str]] = set()
        llm_calls = input_tokens = output_tokens = 0
        latency = 0.0
        for step in steps:
            latency += step.latency_ms
            if step.kind == "tool":
                tool_calls[step.name] += 1
                if (step.name, step.args_hash) in seen:
                    repeated[step.name] += 1
                else:
                    seen.add((step.name, step.args_hash))
            elif step.kind == "llm":
                llm_calls += 1
                tokens_in, tokens_out = tokens_of(step.result) or (0, 0)
                input_tokens += tokens_in
                output_tokens += tokens_out
        return cls(
            stop_reason=outcome.stop_reason,
            failed=outcome.failed,
            latency_ms=round(latency, 3),
            steps=len(steps),
            llm_calls=llm_calls,
            input_tokens=input_tokens,
            output_tokens=output_tokens,
            tool_calls=dict(sorted(tool_calls.items())),
            repeated_tool_calls=dict(sorted(repeated.items())),
        )

    @property
    def repeated_total(self) -> int:
        return sum(self.repeated_tool_calls.values())

    def to_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RunFigures:
        return cls(
            stop_reason=str(data["stop_reason"]),
            failed=bool(data["failed"]),
            latency_ms=float(data["latency_ms"]),
            steps=int(data["steps"]),
            llm_calls=int(data["llm_calls"]),
            input_tokens=int(data["input_tokens"]),
            output_tokens=int(data["output_tokens"]),
            tool_calls={str(k): int(v) for k, v in sorted(data["tool_calls"].items())},
            repeated_tool_calls={
                str(k): int(v) for k, v in sorted(data["repeated_tool_calls"].items())
            },
        )


@dataclass(frozen=True, slots=True)
class RunRecord:
    """What the golden set keeps of one run: identity, verdict, where it changed, and
    the baseline and candidate figures (None for an ``error`` run). No histories."""

    key: str
    path: str
    verdict: str
    reason: str
    run_id: str | None = None
    workflow: str | None = None
    model: str | None = None
    release: str | None = None
    first_divergence: int | None = None
    flaky_step: int | None = None
    divergence: dict[str, Any] | None = None
    outcome_change: dict[str, Any] | None = None
    changes: tuple[str, ...] = ()
    baseline: RunFigures | None = None
    candidate: RunFigures | None = None
    assumption: str | None = None
    assumed_calls: tuple[dict[str, Any], ...] = ()

    @property
    def failing(self) -> bool:
        return self.verdict in FAILING_VERDICTS

    @property
    def measured(self) -> bool:
        return self.baseline is not None and self.candidate is not None

    @property
    def replayed(self) -> bool:
        """Replayed to the end: the figures of both sides count in the release diff. A
        replay that diverged stopped at a call the recording cannot answer, so its
        latency and outcome say nothing about this build."""
        return (
            self.candidate is not None
            and self.baseline is not None
            and self.divergence is None
            and self.candidate.stop_reason != "diverged"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "path": self.path,
            "run_id": self.run_id,
            "workflow": self.workflow,
            "model": self.model,
            "release": self.release,
            "verdict": self.verdict,
            "reason": self.reason,
            "first_divergence": self.first_divergence,
            "flaky_step": self.flaky_step,
            "divergence": self.divergence,
            "outcome_change": self.outcome_change,
            "changes": list(self.changes),
            "baseline": self.baseline.to_dict() if self.baseline else None,
            "candidate": self.candidate.to_dict() if self.candidate else None,
            "assumption": self.assumption,
            "assumed_calls": list(self.assumed_calls),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RunRecord:
        return cls(
            key=str(data["key"]),
            path=str(data["path"]),
            verdict=str(data["verdict"]),
            reason=str(data["reason"]),
            run_id=data.get("run_id"),
            workflow=data.get("workflow"),
            model=data.get("model"),
            release=data.get("release"),
            first_divergence=data.get("first_divergence"),
            flaky_step=data.get("flaky_step"),
            divergence=data.get("divergence"),
            outcome_change=data.get("outcome_change"),
            changes=tuple(data.get("changes") or ()),
            baseline=RunFigures.from_dict(data["baseline"]) if data.get("baseline") else None,
            candidate=RunFigures.from_dict(data["candidate"]) if data.get("candidate") else None,
            assumption=data.get("assumption"),
            assumed_calls=tuple(data.get("assumed_calls") or ()),
        )


def record_from_verdict(entry: GoldenEntry, cassette: Cassette, verdict: Verdict) -> RunRecord:
    """The record of a judged run (pure: the replays have already run)."""
    from replay.verdict import VerdictKind

    first = verdict.replay
    name = verdict.kind.value
    if verdict.kind is VerdictKind.REPRODUCED:
        # A failed baseline that fails the same way: for a golden set, unchanged
        # behaviour is a match; the same failure by another path is a change.
        name = "match" if first.diff.identical else "regressed"
    change = first.diff.outcome_change
    outcome_change = None
    if change is not None:
        outcome_change = {
            "fields": list(change.fields),
            "before": {
                "stop_reason": change.before.stop_reason,
                "error_class": change.before.error_class,
            },
            "after": {
                "stop_reason": change.after.stop_reason,
                "error_class": change.after.error_class,
            },
        }
    lines = []
    for item in first.diff.changes[:MAX_CHANGE_LINES]:
        where = item.new if item.new is not None else item.original
        lines.append(f"step {where}: {item.change} {item.kind} '{item.name}' ({item.cause})")
    hidden = len(first.diff.changes) - MAX_CHANGE_LINES
    if hidden > 0:
        lines.append(f"... and {hidden} more change{'s' if hidden > 1 else ''}")
    context = cassette.context
    return RunRecord(
        key=entry.key,
        path=entry.path,
        verdict=name,
        reason=verdict.reason,
        run_id=context.run_id,
        workflow=context.workflow,
        model=context.model,
        release=context.release,
        first_divergence=verdict.first_divergence,
        flaky_step=verdict.flaky_step,
        divergence=first.divergence.to_dict() if first.divergence else None,
        outcome_change=outcome_change,
        changes=tuple(lines),
        baseline=RunFigures.of(cassette.steps, cassette.outcome),
        candidate=RunFigures.of(first.history, first.outcome),
        assumption=verdict.assumption,
        assumed_calls=tuple(call.to_dict() for call in verdict.assumed),
    )


def error_record(
    entry: GoldenEntry, exc: BaseException, cassette: Cassette | None = None
) -> RunRecord:
    """An ``error`` record: the run could not be loaded or replayed at all."""
    message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    if not isinstance(exc, ReplayError):
        message = f"{type(exc).__name__}: {message}"
    context = cassette.context if cassette is not None else None
    return RunRecord(
        key=entry.key,
        path=entry.path,
        verdict="error",
        reason=message,
        run_id=context.run_id if context else None,
        workflow=context.workflow if context else None,
        model=context.model if context else None,
        release=context.release if context else None,
    )


def evaluate(
    entry: GoldenEntry,
    *,
    agent: str | None = None,
    repeat: int = DEFAULT_REPEAT,
    on_miss: str | None = None,
    allow_network: bool = False,
) -> RunRecord:
    """Load, replay ``repeat`` times and judge one run; any failure becomes its record.
    ``on_miss`` answers calls the cassette does not hold (``replay.on_miss``); live
    answers are not written next to the set (``replay golden --update`` keeps them)."""
    from replay.storage import load_cassette
    from replay.verdict import verdict_for

    cassette = None
    try:
        cassette = load_cassette(entry.path)
        verdict = verdict_for(
            cassette,
            agent=agent,
            repeats=repeat,
            on_miss=on_miss,
            allow_network=allow_network,
            keep_derived=False,
        )
        return record_from_verdict(entry, cassette, verdict)
    except Exception as exc:  # collected per run: one bad cassette must not end the set
        return error_record(entry, exc, cassette)


def _evaluate_batch(
    entries: Sequence[GoldenEntry],
    agent: str | None,
    repeat: int,
    on_miss: str | None = None,
    allow_network: bool = False,
) -> list[RunRecord]:
    """A worker's unit of work. The agent's prints go to stderr, as in the serial path:
    stdout carries only the report (``--json``)."""
    import contextlib
    import sys

    with contextlib.redirect_stdout(sys.stderr):
        return [
            evaluate(
                entry, agent=agent, repeat=repeat, on_miss=on_miss, allow_network=allow_network
            )
            for entry in entries
        ]


def _batches(
    entries: Iterable[tuple[int, GoldenEntry]], size: int
) -> Iterator[tuple[int, list[GoldenEntry]]]:
    """``(position of the first, entries)`` by ``size``, read from ``entries`` as needed."""
    iterator = iter(entries)
    while batch := list(itertools.islice(iterator, size)):
        yield batch[0][0], [entry for _, entry in batch]


def run_set(
    entries: Sequence[GoldenEntry],
    *,
    agent: str | None = None,
    repeat: int = DEFAULT_REPEAT,
    workers: int = 0,
    on_result: Callable[[RunRecord], None] | None = None,
    on_miss: str | None = None,
    allow_network: bool = False,
) -> Spool[RunRecord]:
    """Evaluate every entry, serially (``workers=0``) or in a pool of worker processes.

    Workers stream small records back batch by batch (at most a few batches in flight),
    and each record goes to a ``Spool`` on disk at its entry's position as it arrives,
    so neither histories nor results pile up in memory: the parent stays flat in the
    size of the set (``entries`` may be a ``Spool`` too: ``run_golden``'s). The pool
    uses forkserver (spawn where that is missing), never fork: the caller may run
    threads (a progress bar). Records come back sorted by key (entries in key order,
    as ``discover`` gives them, need no sort), so any ``workers`` gives the same result.
    """
    if repeat < 1:
        raise GoldenError(f"--repeat must be at least 1, not {repeat}")
    records = record_spool()
    ascending = [True]

    def keep(position: int, record: RunRecord) -> None:
        records.append(record, at=position)
        if on_result is not None:
            on_result(record)

    if workers <= 0 or len(entries) <= 1:
        for position, entry in _positions(entries, ascending):
            keep(
                position,
                evaluate(
                    entry, agent=agent, repeat=repeat, on_miss=on_miss, allow_network=allow_network
                ),
            )
    else:
        _run_in_pool(
            _positions(entries, ascending),
            len(entries),
            agent=agent,
            repeat=repeat,
            workers=workers,
            keep=keep,
            on_miss=on_miss,
            allow_network=allow_network,
        )
    if not ascending[0]:
        records.sort()
    return records


def _positions(
    entries: Iterable[GoldenEntry], ascending: list[bool]
) -> Iterator[tuple[int, GoldenEntry]]:
    """``enumerate(entries)``, clearing ``ascending[0]`` when a key sorts before the one
    before it (a caller's own order: the records are then sorted by key at the end)."""
    previous: str | None = None
    for position, entry in enumerate(entries):
        if previous is not None and entry.key < previous:
            ascending[0] = False
        previous = entry.key
        yield position, entry


def record_spool() -> Spool[RunRecord]:
    """An empty ``Spool`` of run records (on disk, read back in position order;
    ``sort()`` puts them in key order)."""
    return Spool(to_dict=RunRecord.to_dict, from_dict=RunRecord.from_dict, key=_record_key)


def _record_key(record: RunRecord) -> str:
    return record.key


def _run_in_pool(
    entries: Iterable[tuple[int, GoldenEntry]],
    total: int,
    *,
    agent: str | None,
    repeat: int,
    workers: int,
    keep: Callable[[int, RunRecord], None],
    on_miss: str | None = None,
    allow_network: bool = False,
) -> None:
    import multiprocessing
    from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
    from concurrent.futures.process import BrokenProcessPool

    from replay.hermetic import allow_in_worker, allowed_hosts

    method = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
    context = multiprocessing.get_context(method)
    if method == "forkserver":
        # Workers fork from a server that has the replay engine imported already.
        context.set_forkserver_preload(["replay.golden", "replay.verdict"])
    workers = min(workers, total)
    size = max(1, min(16, total // (workers * 4)))
    batches = _batches(entries, size)
    try:
        with ProcessPoolExecutor(
            max_workers=workers,
            mp_context=context,
            initializer=allow_in_worker,
            initargs=(allowed_hosts(),),  # --allow-host reaches the workers' replays
        ) as pool:
            pending: dict[Future[list[RunRecord]], int] = {}  # -> position of its first

            def fill() -> None:
                while len(pending) < workers * 2:
                    start, batch = next(batches, (0, None))
                    if batch is None:
                        return
                    future = pool.submit(
                        _evaluate_batch, batch, agent, repeat, on_miss, allow_network
                    )
                    pending[future] = start

            fill()
            while pending:
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    start = pending.pop(future)
                    for offset, record in enumerate(future.result()):
                        keep(start + offset, record)
                fill()
    except BrokenProcessPool as exc:
        raise GoldenError(
            f"a worker process died ({exc}); an agent may have crashed the interpreter: "
            "rerun with -n 0 to see which cassette"
        ) from None


# ----------------------------------------------------------------- the release diff


def percentile(values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile (a value that occurred; independent of input order)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100.0 * len(ordered)))
    return ordered[rank - 1]


SIDE_FIGURES = (
    "error_rate",
    "p50_latency_ms",
    "p95_latency_ms",
    "steps",
    "steps_per_run",
    "llm_calls",
    "tool_calls",
    "repeated_tool_calls",
    "input_tokens",
    "output_tokens",
    "tokens",
)


class _SideTally:
    """The aggregate figures of one side of a segment, fed one run at a time.

    Sums and counts are O(1); the exact nearest-rank p50/p95 need every latency: kept
    as 8-byte floats (``_Latencies``), in memory up to ``LATENCIES_IN_MEMORY`` and on
    disk beyond, so a side holds no more for 100,000 runs than for 4,096."""

    __slots__ = (
        "errors",
        "input_tokens",
        "latencies",
        "llm_calls",
        "output_tokens",
        "repeated",
        "runs",
        "steps",
        "stop_reasons",
        "tool_calls",
    )

    def __init__(self) -> None:
        self.runs = self.errors = self.steps = self.llm_calls = 0
        self.tool_calls = self.repeated = self.input_tokens = self.output_tokens = 0
        self.stop_reasons: Counter[str] = Counter()
        self.latencies = _Latencies()

    def add(self, figures: RunFigures) -> None:
        self.runs += 1
        self.errors += figures.failed
        self.stop_reasons[figures.stop_reason] += 1
        self.latencies.append(figures.latency_ms)
        self.steps += figures.steps
        self.llm_calls += figures.llm_calls
        self.tool_calls += sum(figures.tool_calls.values())
        self.repeated += figures.repeated_total
        self.input_tokens += figures.input_tokens
        self.output_tokens += figures.output_tokens

    def result(self) -> dict[str, Any]:
        """Over no runs every figure is None (nothing was measured, which is not 0)."""
        runs = self.runs
        if not runs:
            return {"runs": 0, "errors": 0, "stop_reasons": {}, **dict.fromkeys(SIDE_FIGURES)}
        p50, p95 = self.latencies.nearest_ranks(50, 95)
        return {
            "runs": runs,
            "errors": self.errors,
            "error_rate": self.errors / runs,
            "stop_reasons": dict(sorted(self.stop_reasons.items())),
            "p50_latency_ms": p50,
            "p95_latency_ms": p95,
            "steps": self.steps,
            "steps_per_run": self.steps / runs,
            "llm_calls": self.llm_calls,
            "tool_calls": self.tool_calls,
            "repeated_tool_calls": self.repeated,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "tokens": self.input_tokens + self.output_tokens,
        }


def _nearest_rank(ordered: Sequence[float], pct: float) -> float:
    return ordered[max(1, math.ceil(pct / 100.0 * len(ordered))) - 1]


LATENCIES_IN_MEMORY = 4096  # latencies a side keeps in memory; more go to a temporary file
_BUCKETS = 256


class _Latencies:
    """Floats appended one at a time; their exact nearest-rank percentiles.

    Up to ``LATENCIES_IN_MEMORY`` values they are sorted in memory, as ever. Beyond,
    they go to a temporary file (8 bytes each) and a percentile is found by narrowing:
    each pass over the file counts the values of the current range into buckets by
    value, keeps the bucket that holds the wanted rank, until its values are few enough
    to sort (or all equal). Which value is at a rank does not depend on how it is
    found, so the figures are those of one big sort."""

    __slots__ = ("count", "file", "finite", "high", "low", "memory")

    def __init__(self) -> None:
        self.memory = array("d")
        self.file: IO[bytes] | None = None  # unbuffered: written in blocks of the limit
        self.count = 0
        self.low, self.high = math.inf, -math.inf
        self.finite = True

    def append(self, value: float) -> None:
        self.memory.append(value)
        self.count += 1
        if math.isfinite(value):
            self.low, self.high = min(self.low, value), max(self.high, value)
        else:
            self.finite = False
        if len(self.memory) >= LATENCIES_IN_MEMORY:
            if self.file is None:
                self.file = tempfile.TemporaryFile(  # noqa: SIM115 (closed by nearest_ranks)
                    buffering=0, prefix="replay-golden-latencies-"
                )
            data = memoryview(self.memory.tobytes())
            while data:
                data = data[self.file.write(data) or 0 :]
            self.memory = array("d")

    def _values(self) -> Iterator[float]:
        if self.file is not None:
            self.file.seek(0)
            while block := self.file.read(8 * 2048):
                yield from array("d", block)
        yield from self.memory

    def nearest_ranks(self, *pcts: float) -> list[float]:
        """The nearest-rank percentile ``pct`` of the values, for each of ``pcts``; the
        temporary file, if any, is closed after."""
        try:
            if self.file is None or not self.finite:  # non-finite values: the plain sort
                ordered = sorted(self._values())
                return [_nearest_rank(ordered, pct) for pct in pcts]
            return [self._select(max(1, math.ceil(pct / 100.0 * self.count))) for pct in pcts]
        finally:
            if self.file is not None:
                self.file.close()
                self.file = None

    def _select(self, rank: int) -> float:
        """The ``rank``-th smallest (1-based) of finite values on disk. A bucket is a
        range of values (the bucket index grows with the value), so the values of the
        kept bucket are those between its smallest and largest."""
        below = 0  # values smaller than the range kept
        low, high, count = self.low, self.high, self.count
        while True:
            if low == high:  # all equal: the one at the rank, in the order given (0.0, -0.0)
                wanted = rank - below
                for value in self._values():
                    if value == low:
                        wanted -= 1
                        if not wanted:
                            return value
            width = (high - low) / _BUCKETS
            if count <= LATENCIES_IN_MEMORY or not 0.0 < width < math.inf:
                ordered = sorted(v for v in self._values() if low <= v <= high)
                return ordered[rank - below - 1]
            counts = [0] * _BUCKETS
            lows = [math.inf] * _BUCKETS
            highs = [-math.inf] * _BUCKETS
            for value in self._values():
                if low <= value <= high:
                    index = min(_BUCKETS - 1, int((value - low) / width))
                    counts[index] += 1
                    lows[index] = min(lows[index], value)
                    highs[index] = max(highs[index], value)
            index = 0
            while below + counts[index] < rank:
                below += counts[index]
                index += 1
            low, high, count = lows[index], highs[index], counts[index]


class _SegmentTally:
    """``runs`` of a segment, how many were ``replayed`` to the end (the rest
    ``diverged``), how many of those are ``assumed`` (some call answered by an
    ``--on-miss`` policy, so their figures rest on that assumption); both sides are
    over the replayed runs only."""

    __slots__ = ("assumed", "baseline", "candidate", "replayed", "runs")

    def __init__(self) -> None:
        self.runs = self.replayed = self.assumed = 0
        self.baseline = _SideTally()
        self.candidate = _SideTally()

    def add(self, record: RunRecord) -> None:
        self.runs += 1
        if not record.replayed:
            return
        assert record.baseline is not None and record.candidate is not None
        self.replayed += 1
        self.assumed += bool(record.assumed_calls)
        self.baseline.add(record.baseline)
        self.candidate.add(record.candidate)

    def result(self) -> dict[str, Any]:
        return {
            "runs": self.runs,
            "replayed": self.replayed,
            "diverged": self.runs - self.replayed,
            "assumed": self.assumed,
            "baseline": self.baseline.result(),
            "candidate": self.candidate.result(),
        }


class ReleaseTally:
    """The release diff fed one record at a time (``add``), read with ``result()``.

    What it keeps does not grow with the records: counts and sums by segment and tool,
    and the latencies of the runs replayed to the end (8 bytes per run, per side, in
    the overall segment and in its workflow's and model's) for exact percentiles. The
    order of the records does not matter.
    """

    __slots__ = ("models", "overall", "tools", "workflows")

    def __init__(self) -> None:
        self.overall = _SegmentTally()
        self.workflows: dict[str, _SegmentTally] = {}
        self.models: dict[str, _SegmentTally] = {}
        # tool -> [calls, repeated, runs using it] for the baseline, then the candidate
        self.tools: dict[str, list[int]] = {}

    def add(self, record: RunRecord) -> None:
        if not record.measured:
            return
        self.overall.add(record)
        workflow = record.workflow or UNKNOWN
        model = record.model or UNKNOWN
        if workflow not in self.workflows:
            self.workflows[workflow] = _SegmentTally()
        self.workflows[workflow].add(record)
        if model not in self.models:
            self.models[model] = _SegmentTally()
        self.models[model].add(record)
        if record.replayed:
            assert record.baseline is not None and record.candidate is not None
            for offset, figures in ((0, record.baseline), (3, record.candidate)):
                for tool, calls in figures.tool_calls.items():
                    counts = self.tools.setdefault(tool, [0] * 6)
                    counts[offset] += calls
                    counts[offset + 2] += 1
                for tool, repeated in figures.repeated_tool_calls.items():
                    self.tools.setdefault(tool, [0] * 6)[offset + 1] += repeated

    def result(self) -> dict[str, Any]:
        """The release diff (the dict ``release_diff`` returns)."""
        return {
            "overall": self.overall.result(),
            "workflows": {n: s.result() for n, s in sorted(self.workflows.items())},
            "models": {n: s.result() for n, s in sorted(self.models.items())},
            "tools": {
                tool: {
                    "baseline": {"calls": c[0], "repeated": c[1], "runs": c[2]},
                    "candidate": {"calls": c[3], "repeated": c[4], "runs": c[5]},
                }
                for tool, c in sorted(self.tools.items())
                if c[2] or c[5]  # a tool some replayed run called (not repeats alone)
            },
        }


def release_diff(records: Iterable[RunRecord]) -> dict[str, Any]:
    """Baseline vs candidate, overall and by workflow, model and tool (no run ids).

    Segments hold the runs with figures on both sides (``error`` runs are listed
    apart); the figures are those of the runs replayed to the end (diverged runs are
    counted, not measured). A run is grouped by its recorded workflow and model on both
    sides, so each segment compares the same runs. One pass over ``records`` (a
    ``Spool`` is read one record at a time): see ``ReleaseTally``.
    """
    tally = ReleaseTally()
    for record in records:
        tally.add(record)
    return tally.result()


# (figure, label, threshold, "pct" | "delta") checked on the overall, workflow and model
# segments; tools get "calls" and "repeated".
SEGMENT_CHECKS = (
    ("error_rate", "error rate", "max_error_rate_increase", "delta"),
    ("p95_latency_ms", "p95 latency", "max_p95_latency_increase_pct", "pct"),
    ("p50_latency_ms", "p50 latency", "max_p50_latency_increase_pct", "pct"),
    ("steps_per_run", "steps per run", "max_steps_increase_pct", "pct"),
    ("repeated_tool_calls", "repeated tool calls", "max_repeated_tool_calls_increase", "delta"),
    ("tokens", "tokens", "max_tokens_increase_pct", "pct"),
)
TOOL_CHECKS = (
    ("calls", "calls", "max_tool_calls_increase_pct", "pct"),
    ("repeated", "repeated calls", "max_repeated_tool_calls_increase", "delta"),
)


@dataclass(frozen=True, slots=True)
class Check:
    """One figure of one segment held against its threshold; ``flagged`` when it got
    worse by more than the threshold allows."""

    segment: str
    name: str
    figure: str
    label: str
    baseline: float
    candidate: float
    threshold: str
    limit: float
    flagged: bool
    runs: int = 0
    replayed: int = 0

    @property
    def where(self) -> str:
        """The segment, and over how many of its runs when some diverged."""
        name = "all runs" if self.segment == "overall" else f"{self.segment} {self.name}"
        if self.replayed < self.runs:
            name += f" ({coverage_text(self.runs, self.replayed)})"
        return name

    @property
    def change(self) -> str:
        """The change as read: points for rates, a count or a percentage otherwise."""
        return describe_change(self.figure, self.baseline, self.candidate)

    @property
    def message(self) -> str:
        return (
            f"{self.where}: {self.label} {format_figure(self.figure, self.baseline)} -> "
            f"{format_figure(self.figure, self.candidate)} ({self.change}; "
            f"{self.threshold} = {self.limit:g})"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "segment": self.segment,
            "name": self.name,
            "figure": self.figure,
            "label": self.label,
            "baseline": self.baseline,
            "candidate": self.candidate,
            "change": self.change,
            "threshold": self.threshold,
            "limit": self.limit,
            "flagged": self.flagged,
            "runs": self.runs,
            "replayed": self.replayed,
            "message": self.message,
        }


def format_figure(figure: str, value: float | None) -> str:
    """A figure's value as people read it (rates in %, latency in ms; "-" for none)."""
    if value is None:
        return "-"
    if figure == "error_rate":
        return f"{value * 100:.1f}%"
    if figure.endswith("latency_ms"):
        return f"{value:.1f} ms"
    if figure == "steps_per_run":
        return f"{value:.2f}"
    return f"{value:g}"


def describe_change(figure: str, baseline: float | None, candidate: float | None) -> str:
    """``+50.0 pts`` for rates, ``+3`` for counts checked by delta, ``+12.5%`` otherwise.

    "n/a" when a side measured nothing (no run replayed to the end). A latency that
    fell to 0 ms is no measurement either (no call the recording timed), so it reads
    "not measured", never "-100%".
    """
    if baseline is None or candidate is None:
        return "n/a"
    delta = candidate - baseline
    if delta == 0:
        return "="
    if figure == "error_rate":
        return f"{delta * 100:+.1f} pts"
    if figure in ("repeated_tool_calls", "repeated"):
        return f"{delta:+g}"
    if figure.endswith("latency_ms") and candidate <= 0:
        return "not measured"
    if baseline == 0:
        return "new"
    return f"{delta / baseline * 100:+.1f}%"


def coverage_text(runs: int, replayed: int, errors: int = 0, assumed: int = 0) -> str:
    """Over which runs the figures are: ``over 3 of 4 runs; 1 diverged``, naming the
    replayed runs whose figures rest on an ``--on-miss`` assumption."""
    total = runs + errors
    hedge = f" ({assumed} under an on-miss assumption)" if assumed else ""
    if replayed == total:
        return f"over {total} run{'s' if total != 1 else ''}{hedge}"
    apart = [f"{assumed} under an on-miss assumption"] if assumed else []
    if runs > replayed:
        apart.append(f"{runs - replayed} diverged")
    if errors:
        apart.append(f"{errors} could not be replayed")
    return f"over {replayed} of {total} run{'s' if total != 1 else ''}; {', '.join(apart)}"


def _worse(kind: str, baseline: float, candidate: float, limit: float) -> bool:
    if kind == "delta":
        return candidate - baseline > limit
    # candidate > baseline * (1 + limit/100), kept in products so that 10 -> 11 against
    # 10% is not flagged by rounding; any increase from 0 is flagged.
    return (candidate - baseline) * 100 > limit * baseline if baseline > 0 else candidate > 0


def checks_of(diff: Mapping[str, Any], thresholds: Thresholds) -> tuple[Check, ...]:
    """Every enabled threshold held against every segment of a release diff."""
    out: list[Check] = []
    segments: list[tuple[str, str, Mapping[str, Any]]] = [("overall", "", diff["overall"])]
    segments += [("workflow", n, s) for n, s in diff["workflows"].items()]
    segments += [("model", n, s) for n, s in diff["models"].items()]
    for segment, name, data in segments:
        if not data["replayed"]:
            continue
        for figure, label, threshold, kind in SEGMENT_CHECKS:
            limit = getattr(thresholds, threshold)
            if limit is None:
                continue
            before, after = data["baseline"][figure], data["candidate"][figure]
            out.append(
                Check(
                    segment,
                    name,
                    figure,
                    label,
                    before,
                    after,
                    threshold,
                    limit,
                    _worse(kind, before, after, limit),
                    data["runs"],
                    data["replayed"],
                )
            )
    overall = diff["overall"]
    for tool, data in diff["tools"].items():
        for figure, label, threshold, kind in TOOL_CHECKS:
            limit = getattr(thresholds, threshold)
            if limit is None:
                continue
            before, after = data["baseline"][figure], data["candidate"][figure]
            out.append(
                Check(
                    "tool",
                    tool,
                    figure,
                    label,
                    before,
                    after,
                    threshold,
                    limit,
                    _worse(kind, before, after, limit),
                    overall["runs"],
                    overall["replayed"],
                )
            )
    return tuple(out)


# ------------------------------------------------------------------------- the report


@dataclass(slots=True)
class RunTally:
    """What the reports say about the runs beyond the release diff, fed one record at a
    time: counts by verdict, by baseline release, failing and changed runs by workflow,
    the runs judged under an ``--on-miss`` assumption. Small: counts by name only."""

    runs: int = 0
    verdicts: Counter[str] = field(default_factory=Counter)
    releases: Counter[str] = field(default_factory=Counter)
    failing: dict[str, Counter[str]] = field(default_factory=dict)  # workflow -> verdicts
    changed: Counter[str] = field(default_factory=Counter)  # workflow -> runs not "match"
    assumed: int = 0
    assumptions: set[str] = field(default_factory=set)

    def add(self, record: RunRecord) -> None:
        self.runs += 1
        self.verdicts[record.verdict] += 1
        workflow = record.workflow or UNKNOWN
        if record.verdict != "error":
            self.releases[record.release or UNKNOWN] += 1
        if record.verdict != "match":
            self.changed[workflow] += 1
        if record.failing:
            self.failing.setdefault(workflow, Counter())[record.verdict] += 1
        if record.assumed_calls:
            self.assumed += 1
            if record.assumption:
                self.assumptions.add(record.assumption)


@dataclass(frozen=True)
class GoldenReport:
    """The result of replaying a golden set (or of merging shard reports): per-run
    records, the release diff recomputed from them, and every threshold check.

    The records may be a ``Spool`` on disk (``run_set``'s): the diff and the tallies
    are computed in one pass, and the reports read the records again one at a time, so
    a report of 10,000 runs holds no more of them than one of 1,000.
    """

    runs: Sequence[RunRecord]  # a tuple, or the Spool run_set wrote
    candidate_release: str
    thresholds: Thresholds
    golden_dirs: tuple[str, ...]
    agent: str | None = None
    repeat: int = DEFAULT_REPEAT
    shard: tuple[int, int] | None = None
    on_miss: str | None = None
    diff: dict[str, Any] = field(init=False, repr=False, compare=False)
    checks: tuple[Check, ...] = field(init=False, repr=False, compare=False)
    tally: RunTally = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # A Spool (run_set's records, on disk) is already in key order and stays there.
        runs = self.runs
        if not isinstance(runs, Spool):
            runs = tuple(sorted(runs, key=_record_key))
        object.__setattr__(self, "runs", runs)
        release, tally = ReleaseTally(), RunTally()
        for record in runs:
            release.add(record)
            tally.add(record)
        diff = release.result()
        object.__setattr__(self, "diff", diff)
        object.__setattr__(self, "tally", tally)
        object.__setattr__(self, "checks", checks_of(diff, self.thresholds))

    @functools.cached_property
    def flags(self) -> tuple[Check, ...]:
        return tuple(c for c in self.checks if c.flagged)

    def runs_where(self, keep: Callable[[RunRecord], bool]) -> Iterator[RunRecord]:
        """The runs ``keep`` accepts, in key order, read one at a time."""
        return (r for r in self.runs if keep(r))

    # The tuples below are read from the runs on each access (not kept: a failing
    # build can fail every run); reports iterate ``runs_where`` and count with ``tally``.
    @property
    def errors(self) -> tuple[RunRecord, ...]:
        return tuple(self.runs_where(lambda r: r.verdict == "error"))

    @property
    def failing(self) -> tuple[RunRecord, ...]:
        return tuple(self.runs_where(lambda r: r.failing))

    @property
    def changed(self) -> tuple[RunRecord, ...]:
        """Runs that did not replay as recorded (failing, fixed, or error)."""
        return tuple(self.runs_where(lambda r: r.verdict != "match"))

    @property
    def diverged(self) -> tuple[RunRecord, ...]:
        """Runs whose replay stopped at a divergence: counted apart, not measured."""
        return tuple(self.runs_where(lambda r: r.measured and not r.replayed))

    @property
    def error_count(self) -> int:
        return self.tally.verdicts["error"]

    @property
    def diverged_count(self) -> int:
        return int(self.diff["overall"]["diverged"])

    @property
    def coverage(self) -> str:
        """Over which runs the release diff is: ``over 3 of 4 runs; 1 diverged``."""
        overall = self.diff["overall"]
        return coverage_text(
            overall["runs"], overall["replayed"], self.error_count, overall.get("assumed", 0)
        )

    @functools.cached_property
    def counts(self) -> dict[str, int]:
        return {kind: self.tally.verdicts.get(kind, 0) for kind in VERDICT_ORDER}

    @functools.cached_property
    def baseline_releases(self) -> dict[str, int]:
        return dict(sorted(self.tally.releases.items()))

    @property
    def baseline_label(self) -> str:
        names = list(self.baseline_releases)
        return ", ".join(names) if names else "recorded"

    @property
    def affected_workflows(self) -> tuple[str, ...]:
        """Workflows with a failing run or a flagged figure of their own."""
        names = set(self.tally.failing)
        names.update(c.name for c in self.flags if c.segment == "workflow")
        return tuple(sorted(names))

    @property
    def exit_code(self) -> int:
        """3 when a run could not be replayed at all (the diff is incomplete), 1 when a
        run regressed/diverged/was flaky or a figure crossed its threshold, else 0."""
        if self.error_count:
            return 3
        return 1 if self.tally.failing or self.flags else 0

    def reproduce_command(self, record: RunRecord) -> str:
        command = f"replay run {record.path}"
        return f"{command} --agent {self.agent}" if self.agent else command

    def header_dict(self) -> dict[str, Any]:
        """The JSON report without its ``runs`` (``to_dict``'s last key)."""
        return {
            "schema": REPORT_SCHEMA,
            "version": REPORT_VERSION,
            "candidate_release": self.candidate_release,
            "baseline_releases": self.baseline_releases,
            "agent": self.agent,
            "repeat": self.repeat,
            "on_miss": self.on_miss,
            "golden_dirs": list(self.golden_dirs),
            "shard": None
            if self.shard is None
            else {"index": self.shard[0], "count": self.shard[1]},
            "thresholds": self.thresholds.to_dict(),
            "exit_code": self.exit_code,
            "passed": self.exit_code == 0,
            "summary": {
                "runs": len(self.runs),
                **self.counts,
                "replayed": self.diff["overall"]["replayed"],
            },
            "affected_workflows": list(self.affected_workflows),
            "flags": [c.to_dict() for c in self.flags],
            "checks": len(self.checks),
            "diff": self.diff,
        }

    def to_dict(self) -> dict[str, Any]:
        """The JSON report (docs/golden.md): settings, summary, flags, diff and runs."""
        return {**self.header_dict(), "runs": [r.to_dict() for r in self.runs]}

    def iter_json(self, extra: Mapping[str, Any] | None = None) -> Iterator[str]:
        """``to_json()`` in pieces, one run at a time (with ``extra`` keys after
        ``runs``): the same text, without holding every run's dict."""
        yield from _json_object_pieces(
            {**self.header_dict(), "runs": None, **(extra or {})},
            "runs",
            (r.to_dict() for r in self.runs),
        )

    def to_json(self) -> str:
        return "".join(self.iter_json())


def _json_object_pieces(
    data: Mapping[str, Any], streamed: str, items: Iterable[Any]
) -> Iterator[str]:
    """``json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\\n"`` in pieces,
    where the list under key ``streamed`` (a placeholder in ``data``) comes from
    ``items``, dumped one by one. JSON strings hold no raw newline, so indenting a
    dumped item is adding spaces after each newline."""

    def dumped(value: Any, depth: int) -> str:
        text = json.dumps(value, indent=2, ensure_ascii=False, default=str)
        return text.replace("\n", "\n" + "  " * depth)

    yield "{"
    for number, (key, value) in enumerate(data.items()):
        yield ("\n  " if number == 0 else ",\n  ") + json.dumps(key, ensure_ascii=False) + ": "
        if key != streamed:
            yield dumped(value, 1)
            continue
        empty = True
        for item in items:
            yield ("[\n    " if empty else ",\n    ") + dumped(item, 2)
            empty = False
        yield "[]" if empty else "\n  ]"
    yield "\n}\n" if data else "}\n"


def run_golden(
    dirs: Sequence[str | os.PathLike[str]],
    *,
    agent: str | None = None,
    repeat: int = DEFAULT_REPEAT,
    workers: int = 0,
    release: str = "HEAD",
    thresholds: Thresholds | None = None,
    shard: tuple[int, int] | None = None,
    on_start: Callable[[int], None] | None = None,
    on_result: Callable[[RunRecord], None] | None = None,
    on_miss: str | None = None,
    allow_network: bool = False,
) -> GoldenReport:
    """Discover, shard, replay and judge a golden set; return its report.

    A bad ``agent`` is refused up front (every run would be an error otherwise).
    ``on_start(total)`` and ``on_result(record)`` drive a progress display.
    """
    entries = spool_entries(dirs, shard=shard)  # on disk: nothing held per run
    try:
        if agent is not None:
            from replay.engine import import_entrypoint

            import_entrypoint(agent)
        from replay.on_miss import parse_on_miss, require_network

        require_network(parse_on_miss(on_miss), allow_network=allow_network)
        if on_start is not None:
            on_start(len(entries))
        records = run_set(
            entries,
            agent=agent,
            repeat=repeat,
            workers=workers,
            on_result=on_result,
            on_miss=on_miss,
            allow_network=allow_network,
        )
    finally:
        entries.close()
    return GoldenReport(
        runs=records,
        candidate_release=release,
        thresholds=thresholds or Thresholds(),
        golden_dirs=tuple(str(d) for d in dirs),
        agent=agent,
        repeat=repeat,
        shard=shard,
        on_miss=on_miss,
    )


def report_from_dict(data: Any, *, source: str = "report") -> GoldenReport:
    """Rebuild a report from its JSON form (aggregates are recomputed from the runs)."""
    if not isinstance(data, Mapping) or data.get("schema") != REPORT_SCHEMA:
        raise GoldenError(
            f"{source}: not a golden-set JSON report (expected schema '{REPORT_SCHEMA}'); "
            "write one with 'replay golden --json'"
        )
    if data.get("version") != REPORT_VERSION:
        raise GoldenError(
            f"{source}: golden report version {data.get('version')!r} is not supported; this "
            f"build reads version {REPORT_VERSION} (rerun the shard with this build)"
        )
    runs = record_spool()
    try:
        shard = data.get("shard")
        ascending = [True]
        for _, record in _positions(map(RunRecord.from_dict, data["runs"]), ascending):
            runs.append(record)
        if not ascending[0]:
            runs.sort()
        return GoldenReport(
            runs=runs,  # on disk: a merge holds no shard's records in memory
            candidate_release=str(data["candidate_release"]),
            thresholds=Thresholds.from_dict(data["thresholds"], where=f"{source}: thresholds"),
            golden_dirs=tuple(str(d) for d in data["golden_dirs"]),
            agent=data.get("agent"),
            repeat=int(data["repeat"]),
            shard=None if shard is None else (int(shard["index"]), int(shard["count"])),
            on_miss=data.get("on_miss"),
        )
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        runs.close()
        raise GoldenError(
            f"{source}: malformed golden report ({type(exc).__name__}: {exc})"
        ) from None
    except BaseException:
        runs.close()
        raise


def load_report(path: str | os.PathLike[str]) -> GoldenReport:
    """Read a JSON report written by ``replay golden --json``."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise GoldenError(f"{path}: cannot read the report ({exc.strerror})") from None
    except ValueError as exc:
        raise GoldenError(f"{path}: not JSON ({exc}); pass files written by --json") from None
    return report_from_dict(data, source=str(path))


def merge_reports(
    reports: Sequence[GoldenReport], *, sources: Sequence[str] = (), partial: bool = False
) -> GoldenReport:
    """Combine shard reports into the report of the whole set.

    The shards must come from the same build and settings (release, agent, repeat,
    thresholds, folders), be shards of the same count, and not overlap; unless
    ``partial``, every shard must be there. The merged report equals the unsharded one.
    """
    if not reports:
        raise GoldenError("nothing to merge: pass the JSON reports of the shards")
    names = list(sources) or [f"report {i + 1}" for i in range(len(reports))]
    first = reports[0]
    for name, report in zip(names[1:], reports[1:], strict=False):
        for attribute in (
            "candidate_release",
            "agent",
            "repeat",
            "thresholds",
            "golden_dirs",
            "on_miss",
        ):
            mine, theirs = getattr(report, attribute), getattr(first, attribute)
            if mine != theirs:
                raise GoldenError(
                    f"{name}: {attribute} is {_shown(mine)} but {names[0]} has {_shown(theirs)}; "
                    "merge shards of one run of one build"
                )
    shards = [r.shard for r in reports]
    if any(s is None for s in shards) and len(reports) > 1:
        raise GoldenError(
            "only shard reports can be merged (run each with --shard i/n); "
            f"{names[shards.index(None)]} is a whole-set report"
        )
    if shards[0] is not None:
        counts = {s[1] for s in shards if s is not None}
        if len(counts) > 1:
            raise GoldenError(f"the reports are shards of different counts: {sorted(counts)}")
        count = counts.pop()
        seen: dict[int, str] = {}
        for name, shard in zip(names, shards, strict=False):
            assert shard is not None
            if shard[0] in seen:
                raise GoldenError(f"{name} and {seen[shard[0]]} are both shard {shard[0]}/{count}")
            seen[shard[0]] = name
        missing = sorted(set(range(1, count + 1)) - set(seen))
        if missing and not partial:
            raise GoldenError(
                f"shard{'s' if len(missing) > 1 else ''} {', '.join(map(str, missing))} of "
                f"{count} missing; pass every shard's report (or --partial for a partial diff)"
            )
    named = list(zip(names, reports, strict=False))
    _refuse_overlap([report for _, report in named], [name for name, _ in named])
    runs = record_spool()  # every report's runs are in key order: merged, no sort
    for record in heapq.merge(*(report.runs for _, report in named), key=_record_key):
        runs.append(record)
    return GoldenReport(
        runs=runs,
        candidate_release=first.candidate_release,
        thresholds=first.thresholds,
        golden_dirs=first.golden_dirs,
        agent=first.agent,
        repeat=first.repeat,
        shard=None,
        on_miss=first.on_miss,
    )


def _refuse_overlap(reports: Sequence[GoldenReport], names: Sequence[str]) -> None:
    """A run in two reports is an error naming the first such run of the later report
    and the earlier report that has it (reports in the order given, runs in key
    order). Found by walking each report against the earlier ones, all in key order,
    without collecting every key."""
    for later, report in enumerate(reports):
        earlier = [iter(r.runs) for r in reports[:later]]
        heads = [next(runs, None) for runs in earlier]
        previous: str | None = None
        for record in report.runs:
            for number, runs in enumerate(earlier):
                head = heads[number]
                while head is not None and head.key < record.key:
                    head = next(runs, None)
                heads[number] = head
                if head is not None and head.key == record.key:
                    raise _overlap(record.key, names[number], names[later])
            if record.key == previous:  # twice in one report
                raise _overlap(record.key, names[later], names[later])
            previous = record.key


def _overlap(key: str, first: str, second: str) -> GoldenError:
    return GoldenError(
        f"run '{key}' is in both {first} and {second}; "
        "were the shards run with different --shard counts?"
    )


def _shown(value: Any) -> str:
    if isinstance(value, Thresholds):
        return json.dumps(value.to_dict(), sort_keys=True)
    return repr(value)


# ---------------------------------------------------------------- promoting a run


def add_to_golden(
    cassette: str | os.PathLike[str],
    *,
    to: str | os.PathLike[str] = DEFAULT_DIR,
    force: bool = False,
) -> tuple[Path, bool]:
    """Copy a recorded run into the golden set, atomically; returns (path, copied).

    The copy goes through the project's redaction policy (``redact.redact_cassette``): a
    run recorded before the policy named a secret, or edited by hand, reaches the golden
    set without it (the source file is left as it is). A failed run is refused unless
    ``force``. The file keeps its name; when another
    cassette already has that name the run id is used (``<run_id>.yaml``). Adding the
    same file again is a no-op (``copied`` False).
    """
    from replay.redact import redact_cassette
    from replay.storage import atomic_write_text, dumps, load_cassette

    source = Path(cassette)
    loaded = load_cassette(source)
    outcome = loaded.outcome
    if outcome.unknown and not force:
        raise GoldenError(
            f"{source}: the recording does not say how the run ended (stop_reason unknown); "
            "a golden set holds runs known to be healthy. Re-record it with its outcome, "
            "or pass --force to add it anyway"
        )
    if outcome.failed and not force:
        error = f" ({outcome.error.error_class}: {outcome.error.message})" if outcome.error else ""
        raise GoldenError(
            f"{source}: the run failed (stop_reason {outcome.stop_reason}{error}); a golden "
            "set holds healthy runs. Pass --force to add it anyway"
        )
    text = source.read_text(encoding="utf-8")
    redacted = redact_cassette(loaded)
    if dumps(redacted) != dumps(loaded):
        text = dumps(redacted)
    folder = Path(to)
    suffix = source.suffix if source.suffix in CASSETTE_SUFFIXES else ".yaml"
    name = source.name
    if is_derived_name(source):  # run.live.yaml (--on-miss live) joins the set as run.yaml
        name = source.stem.removesuffix(".live") + suffix
    candidates = [folder / name, folder / f"{_safe_name(loaded.run_id)}{suffix}"]
    for target in candidates:
        if not target.exists():
            atomic_write_text(target, text)
            return target, True
        if target.read_text(encoding="utf-8") == text:
            return target, False
    raise GoldenError(
        f"{folder}: both {candidates[0].name} and {candidates[1].name} already hold other "
        "runs; rename the cassette before adding it"
    )


def _safe_name(run_id: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in run_id) or "run"
