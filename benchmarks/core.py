"""Section ``core``: cassette loading, replay overhead per step, and history diffing.

For each size it measures, on the synthetic cassette of ``benchmarks.synthetic``:

- the bare C-YAML parse of the file (``yaml.load`` with ``CSafeLoader``), the floor for
  any YAML cassette reader;
- a cold ``load_cassette`` (empty memory cache, ``REPLAY_CACHE_DIR`` a fresh empty
  folder), a warm one from the in-memory cache, and a warm one from the disk cache only
  (memory cleared: what a new CI process sees);
- the replay overhead per step: ``replay.replay()`` of the agent minus the same agent run
  live with trivial boundary functions, divided by the number of steps;
- ``diff_histories`` of two equal histories (loaded separately, so nothing is shared)
  and of two histories that differ in three steps.
"""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import os
import shutil
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import yaml

import replay
from benchmarks.report import Report, Sample, measure, measure_interleaved, ratio, seconds
from benchmarks.synthetic import Workload, arm_live, make_agent, workload
from replay import storage
from replay.boundary import copy_plain
from replay.canonical import stable_hash
from replay.cassette import Step
from replay.diff import diff_histories

OVERHEAD_TARGET_US = 20.0
FLAT_TOLERANCE = 1.5  # largest / smallest per-step overhead across sizes
COLD_OVER_BARE_TARGET = 1.5
WARM_SPEEDUP_TARGET = 10.0


def _repeats(steps: int, quick: bool) -> dict[str, int]:
    """Repetitions per measurement: fewer where one run is long (10,000-step YAML ~10 s)."""
    if steps >= 10_000:
        counts = {"parse": 3, "warm": 5, "replay": 5, "diff": 5}
    elif steps >= 1_000:
        counts = {"parse": 5, "warm": 9, "replay": 9, "diff": 9}
    else:
        counts = {"parse": 9, "warm": 15, "replay": 15, "diff": 15}
    if quick:
        counts = {name: max(3, count // 2) for name, count in counts.items()}
    return counts


def _progress(text: str) -> None:
    print(f"  ... {text}", file=sys.stderr, flush=True)


@contextlib.contextmanager
def _cache_dir(folder: Path) -> Iterator[Path]:
    """Point ``REPLAY_CACHE_DIR`` at ``folder`` for the block."""
    previous = os.environ.get(storage.CACHE_ENV)
    os.environ[storage.CACHE_ENV] = str(folder)
    try:
        yield folder
    finally:
        if previous is None:
            os.environ.pop(storage.CACHE_ENV, None)
        else:
            os.environ[storage.CACHE_ENV] = previous


@dataclasses.dataclass(frozen=True)
class LoadFigures:
    bare: Sample  # yaml.load as it runs in any process (garbage collector on)
    bare_paused: Sample  # the same with the garbage collector paused, as load_cassette does
    cold: Sample
    warm_memory: Sample
    warm_disk: Sample
    cache_dir: Path  # holds the parse of the cassette, for what follows


def measure_loads(work: Workload, folder: Path, repeats: dict[str, int]) -> LoadFigures:
    """Bare C-YAML parse, cold load, and warm loads (memory, disk) of one cassette file.

    Each cold load gets a new empty cache folder under ``folder``; the last one, which the
    warm loads read, is kept and returned in ``cache_dir``."""
    path = work.cassette_path
    fresh_dirs: list[Path] = []

    def bare() -> None:
        yaml.load(path.read_text(encoding="utf-8"), Loader=yaml.CSafeLoader)

    def bare_paused() -> None:
        gc.disable()
        try:
            bare()
        finally:
            gc.enable()

    def cold_setup() -> None:
        for old in fresh_dirs:
            shutil.rmtree(old, ignore_errors=True)
        fresh = folder / f"cold-cache-{len(fresh_dirs)}"
        fresh_dirs.append(fresh)
        os.environ[storage.CACHE_ENV] = str(fresh)
        storage.clear_memory_cache()

    def load() -> None:
        storage.load_cassette(path)

    _progress(f"{work.steps:,} steps: bare parses and cold load, {repeats['parse']} runs each")
    with _cache_dir(folder):
        parsed = measure_interleaved(
            {"bare": (bare, None), "bare_paused": (bare_paused, None), "cold": (load, cold_setup)},
            repeat=repeats["parse"],
            warmup=0,
        )
        # The last cold load left its parse in memory and on disk: the warm cases.
        warm_memory = measure(load, repeat=repeats["warm"], warmup=1)
        warm_disk = measure(load, setup=storage.clear_memory_cache, repeat=repeats["warm"])
    for old in fresh_dirs[:-1]:
        shutil.rmtree(old, ignore_errors=True)
    return LoadFigures(
        parsed["bare"], parsed["bare_paused"], parsed["cold"], warm_memory, warm_disk,
        fresh_dirs[-1],
    )


@dataclasses.dataclass(frozen=True)
class ReplayFigures:
    live: Sample
    replay: Sample
    serve: Sample
    fixed: Sample  # replay.replay() of a cassette with no steps: the cost per replay

    def per_step_us(self, sample: Sample, steps: int) -> float:
        return sample.median / steps * 1e6

    def overhead_us(self, steps: int) -> float:
        """What each step adds: (replay - live - the cost of a replay with no steps) / steps."""
        return (self.replay.median - self.live.median - self.fixed.median) / steps * 1e6

    def all_in_us(self, steps: int) -> float:
        """(replay - live) / steps: the per-replay cost spread over the steps."""
        return (self.replay.median - self.live.median) / steps * 1e6


def measure_replay(
    work: Workload, cassette: replay.Cassette, repeats: int, *, empty: replay.Cassette
) -> ReplayFigures:
    """The agent live, through ``replay.replay()``, and its serve loop alone (``replaying``);
    and ``replay.replay()`` of the ``empty`` cassette (no steps), interleaved."""
    result = replay.replay(cassette, agent=work.agent)
    if not result.identical or result.diverged:
        raise AssertionError(f"the synthetic replay of {work.steps} steps is not identical")
    no_steps = make_agent([])
    serve_runs: list[float] = []

    def via_replaying() -> None:
        with replay.replaying(cassette):
            started = time.perf_counter()
            work.agent()
            serve_runs.append(time.perf_counter() - started)

    samples = measure_interleaved(
        {
            "live": (work.agent, lambda: arm_live(work.plan)),
            "replay": (lambda: replay.replay(cassette, agent=work.agent), None),
            "replaying": (via_replaying, None),
            "empty": (lambda: replay.replay(empty, agent=no_steps), None),
        },
        repeat=repeats,
    )
    serve = Sample(tuple(serve_runs[-repeats:]))
    return ReplayFigures(samples["live"], samples["replay"], serve, samples["empty"])


def history_with_changes(steps: Sequence[Step]) -> list[Step]:
    """A copy of ``steps`` differing in three places: one model answer changed, one prompt
    changed, one tool call inserted (later steps renumbered)."""
    new = list(steps)
    llm_at = [i for i, step in enumerate(new) if step.kind == "llm"]
    answer_at = next(i for i in llm_at if i >= len(new) // 4)
    prompt_at = next(i for i in llm_at if i >= len(new) // 2)
    insert_at = next(i for i, s in enumerate(new) if s.kind == "tool" and i >= 3 * len(new) // 4)

    result = copy_plain(new[answer_at].result)
    result["choices"][0]["message"]["content"] += " (This answer changed.)"
    new[answer_at] = dataclasses.replace(new[answer_at], result=result)

    args = copy_plain(new[prompt_at].args)
    args["messages"][1]["content"] += " Please answer in French."
    new[prompt_at] = dataclasses.replace(new[prompt_at], args=args, args_hash=stable_hash(args))

    extra_args = copy_plain(new[insert_at].args)
    extra_args["query"] = "Refund policy for damaged items."
    extra = dataclasses.replace(new[insert_at], args=extra_args, args_hash=stable_hash(extra_args))
    new.insert(insert_at, extra)
    return [dataclasses.replace(step, index=i) for i, step in enumerate(new)]


def measure_diff(
    work: Workload, original: replay.Cassette, repeats: int
) -> tuple[Sample, Sample]:
    """``diff_histories`` of equal histories and of histories differing in three steps."""
    storage.clear_memory_cache()  # a second copy, from the disk cache: nothing shared
    copy = storage.load_cassette(work.cassette_path).steps
    changed = history_with_changes(copy)
    equal = diff_histories(original.steps, copy)
    differing = diff_histories(original.steps, changed)  # also imports deepdiff, untimed
    if not equal.identical or len(differing.changes) != 3:
        raise AssertionError(f"unexpected diff results for {work.steps} steps")
    samples = measure_interleaved(
        {
            "equal": (lambda: diff_histories(original.steps, copy), None),
            "differing": (lambda: diff_histories(original.steps, changed), None),
        },
        repeat=repeats,
    )
    return samples["equal"], samples["differing"]


def run(report: Report, sizes: Sequence[int], workdir: Path) -> None:
    """Measure every size, print the tables, and state the core targets."""
    report.section("core: cassette load (YAML file, parse cache keyed by content hash)")
    loads: dict[int, LoadFigures] = {}
    replays: dict[int, ReplayFigures] = {}
    diffs: dict[int, tuple[Sample, Sample]] = {}
    empty_path = workload(0, workdir).cassette_path
    for steps in sizes:
        _progress(f"{steps:,} steps: generating and recording the synthetic run")
        work = workload(steps, workdir)
        counts = _repeats(steps, report.quick)
        loads[steps] = measure_loads(work, workdir / f"cache-{steps}", counts)
        with _cache_dir(loads[steps].cache_dir):
            cassette = storage.load_cassette(work.cassette_path)
            empty = storage.load_cassette(empty_path)
            _progress(f"{steps:,} steps: replay, {counts['replay']} runs")
            replays[steps] = measure_replay(work, cassette, counts["replay"], empty=empty)
            _progress(f"{steps:,} steps: diff, {counts['diff']} runs")
            diffs[steps] = measure_diff(work, cassette, counts["diff"])
        report.figures[("replay_overhead_us", steps)] = replays[steps].overhead_us(steps)

    report.table(
        ["steps", "file", "bare C-YAML", "bare, GC paused", "cold load", "cold/bare",
         "cold/bare GC paused"],
        [
            [
                f"{steps:,}",
                f"{workload(steps, workdir).file_size / 1e6:.1f} MB",
                seconds(f.bare.median),
                seconds(f.bare_paused.median),
                seconds(f.cold.median),
                ratio(f.cold.median / f.bare.median),
                ratio(f.cold.median / f.bare_paused.median),
            ]
            for steps, f in loads.items()
        ],
    )
    report.line(
        "bare = yaml.load(text, Loader=yaml.CSafeLoader) of the file; 'GC paused' = the same "
        "with the cyclic garbage\ncollector paused, as load_cassette pauses it (the loader's "
        "~100 objects per step trigger collections\nthat cost more than the parse). cold = "
        "load_cassette with an empty memory cache and a fresh empty\nREPLAY_CACHE_DIR: parse, "
        "validate, check every args_hash, write the JSON disk cache (the file itself is\nin "
        "the OS page cache)."
    )
    report.line()
    report.table(
        ["steps", "cold load", "warm (memory)", "warm (disk)", "cold/warm memory",
         "cold/warm disk"],
        [
            [
                f"{steps:,}",
                seconds(f.cold.median),
                seconds(f.warm_memory.median),
                seconds(f.warm_disk.median),
                ratio(f.cold.median / f.warm_memory.median),
                ratio(f.cold.median / f.warm_disk.median),
            ]
            for steps, f in loads.items()
        ],
    )
    report.line(
        "warm (memory) = the unchanged file loaded again in the same process (read, hash, "
        "memory cache hit);\nwarm (disk) = memory cache cleared, the parse read back from the "
        "JSON disk cache: what a new CI\nprocess sees."
    )

    report.section("core: replay overhead per step (agent with trivial compute, every step served)")
    report.table(
        ["steps", "live/step", "replay()/step", "per replay", "all-in/step", "overhead/step",
         "serve loop/step"],
        [
            [
                f"{steps:,}",
                f"{r.per_step_us(r.live, steps):.2f} µs",
                f"{r.per_step_us(r.replay, steps):.2f} µs",
                seconds(r.fixed.median),
                f"{r.all_in_us(steps):.2f} µs",
                f"{r.overhead_us(steps):.2f} µs",
                f"{r.per_step_us(r.serve, steps):.2f} µs",
            ]
            for steps, r in replays.items()
        ],
    )
    report.line(
        "replay() = replay.replay(cassette, agent=...) of the loaded cassette: session and "
        "HTTP seams, index,\nevery call served, histories diffed. per replay = replay() of a "
        "cassette with no steps (a constant\nper run: HTTP seams, config). all-in = (replay() "
        "- live) / steps; overhead = (replay() - live -\nper replay) / steps, what each step "
        "adds. serve loop = the agent's loop inside replaying() alone."
    )

    report.section("core: diff_histories")
    report.table(
        ["steps", "equal histories", "per step", "3 steps differ", "per step"],
        [
            [
                f"{steps:,}",
                seconds(equal.median),
                seconds(equal.median / steps),
                seconds(differing.median),
                seconds(differing.median / steps),
            ]
            for steps, (equal, differing) in diffs.items()
        ],
    )
    report.line(
        "equal = two separately loaded copies (no shared objects); differ = one answer "
        "changed, one prompt changed,\none tool call inserted (alignment + deepdiff on the "
        "changed steps)."
    )
    _core_checks(report, loads, replays)


def _core_checks(
    report: Report, loads: dict[int, LoadFigures], replays: dict[int, ReplayFigures]
) -> None:
    overheads = {steps: r.overhead_us(steps) for steps, r in replays.items()}
    listed = ", ".join(f"{steps:,}: {us:.1f} µs" for steps, us in overheads.items())
    report.notes.append(
        "the per-step targets use what each step adds; replay() also costs a constant per run ("
        + ", ".join(f"{seconds(r.fixed.median)} at {s:,}" for s, r in replays.items())
        + ": session setup: the HTTP and MCP seams, the hermetic guard, the settings, the "
        "final diff). Spread over the steps (all-in): "
        + ", ".join(f"{s:,}: {r.all_in_us(s):.1f} µs" for s, r in replays.items())
        + "."
    )
    report.check(
        f"replay overhead per step < {OVERHEAD_TARGET_US:.0f} µs at every size",
        listed,
        all(us < OVERHEAD_TARGET_US for us in overheads.values()),
    )
    if len(overheads) > 1:
        smallest, largest = min(overheads), max(overheads)
        growth = max(overheads.values()) / max(min(overheads.values()), 1e-9)
        report.check(
            f"overhead flat from {smallest:,} to {largest:,} steps (largest/smallest "
            f"≤ {FLAT_TOLERANCE})",
            f"{growth:.2f}x ({listed})",
            growth <= FLAT_TOLERANCE,
        )
    for label, attribute in (("", "bare"), (" with the GC paused too", "bare_paused")):
        ratios = {s: f.cold.median / getattr(f, attribute).median for s, f in loads.items()}
        worst_steps = max(ratios, key=ratios.__getitem__)
        report.check(
            f"cold load ≤ {COLD_OVER_BARE_TARGET}x the bare C-YAML parse{label}",
            f"worst {ratios[worst_steps]:.2f}x at {worst_steps:,} steps ("
            + ", ".join(f"{s:,}: {v:.2f}x" for s, v in ratios.items())
            + ")",
            ratios[worst_steps] <= COLD_OVER_BARE_TARGET,
        )
    for label, attribute in (("memory", "warm_memory"), ("disk", "warm_disk")):
        speedups = {s: f.cold.median / getattr(f, attribute).median for s, f in loads.items()}
        slowest = min(speedups, key=speedups.__getitem__)
        report.check(
            f"warm load ({label} cache) ≥ {WARM_SPEEDUP_TARGET:.0f}x faster than cold",
            f"worst {speedups[slowest]:,.0f}x at {slowest:,} steps ("
            + ", ".join(f"{s:,}: {v:,.0f}x" for s, v in speedups.items())
            + ")",
            speedups[slowest] >= WARM_SPEEDUP_TARGET,
        )
