"""Benchmark: a golden set of 1,000 recorded runs x 30 steps, serial and with 2 workers.

The runs are recorded through the real path (``replay.record``) from the synthetic agent
of ``benchmarks.synthetic`` (LLM-sized steps: ~2 KB requests and answers, ~110 KB per
cassette), whose entrypoint ``benchmarks.golden:synthetic_agent`` is importable, so the
golden set replays it exactly as ``replay golden`` would. Each mode runs in a fresh
process with an empty parse cache (a CI machine's first run); a last run with two
workers reuses the cache. Printed: runs per second, the speedup, peak RSS of the main
process and of the workers, RSS as the set goes by (it must stay flat), and, with two
workers, tracemalloc's peak in the parent over the run and over writing every report.

    python -m benchmarks --only golden [--golden-runs 10000]   (section "golden")
    python -m benchmarks.golden [--runs 1000] [--steps 30] [--workers 2]

Target: the 1,000-run set under 30 s on 2 cores.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import replay
from benchmarks import synthetic

if TYPE_CHECKING:
    from benchmarks.report import Report

ENTRYPOINT = "benchmarks.golden:synthetic_agent"
WORKFLOWS = ("refund", "faq", "billing")
TARGET_SECONDS = 30.0
REPO = Path(__file__).resolve().parents[1]


@functools.lru_cache(maxsize=4)
def _plan(steps: int, seed: int) -> list[synthetic.PlannedCall]:
    # Generating a plan's pseudo-text costs more than replaying it; the repeated
    # replays of one run share it, so the benchmark measures the harness, not the text.
    return synthetic.plan_run(steps, seed=seed)


def synthetic_agent(seed: int, steps: int = 30) -> int:
    """The golden set's agent: the synthetic run of ``steps`` calls for ``seed``.

    Live (recording) the boundary functions answer from the plan; replayed, every
    answer comes from the cassette and the queued plan answers are never read.
    """
    plan = _plan(steps, seed)
    synthetic.arm_live(plan)
    try:
        return synthetic.make_agent(plan)()
    finally:
        synthetic.arm_live([])


def _record_one(folder: str, seed: int, steps: int) -> None:
    workflow = WORKFLOWS[seed % len(WORKFLOWS)]
    path = Path(folder) / workflow / f"run-{seed:05d}.yaml"
    with replay.record(
        path,
        entrypoint=ENTRYPOINT,
        input={"seed": seed, "steps": steps},
        run_id=f"bench-{seed:05d}",
        release="bench-1",
        workflow=workflow,
    ) as recording:
        recording.set_result(synthetic_agent(seed, steps))


def _record_batch(folder: str, seeds: list[int], steps: int) -> int:
    for seed in seeds:
        _record_one(folder, seed, steps)
    return len(seeds)


def make_golden_set(folder: Path, *, runs: int, steps: int, workers: int) -> float:
    """Record ``runs`` cassettes into ``folder`` (in parallel); returns the seconds taken."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    started = time.perf_counter()
    seeds = list(range(runs))
    batches = [seeds[i : i + 50] for i in range(0, runs, 50)]
    context = multiprocessing.get_context("forkserver")
    with ProcessPoolExecutor(max_workers=max(1, workers), mp_context=context) as pool:
        done = sum(
            pool.map(_record_batch, [str(folder)] * len(batches), batches, [steps] * len(batches))
        )
    assert done == runs
    return time.perf_counter() - started


def _rss_mb(pid: int | str = "self", field: str = "VmRSS") -> float:
    """Resident memory of a process from /proc (0 where /proc is missing)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return 0.0


def _descendants(root: int) -> list[int]:
    """Process ids below ``root`` (the forkserver and its workers), from /proc."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir() if Path("/proc").is_dir() else ():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        parents.setdefault(ppid, []).append(int(entry.name))
    out, stack = [], [root]
    while stack:
        for child in parents.get(stack.pop(), ()):
            out.append(child)
            stack.append(child)
    return out


def write_reports(report: Any, folder: Path) -> None:
    """What ``replay golden --json --junit --markdown --html`` writes for ``report``."""
    from replay.cli.golden import write_report_files

    write_report_files(
        report,
        junit=folder / "golden.xml",
        markdown=folder / "golden.md",
        html=folder / "golden.html",
    )
    with open(folder / "golden.json", "w", encoding="utf-8") as out:
        out.writelines(report.iter_json())


def measure(
    folder: Path, *, workers: int, repeat: int, trace: bool = False, reports: bool = False
) -> dict[str, Any]:
    """Run the golden set once in this process and return timings and memory.

    ``trace``: tracemalloc's peak of this process (the parent of the workers) over the
    run, and over writing every report file when ``reports`` (JSON, JUnit, markdown,
    HTML, to a temporary folder) apart. It slows what the parent does itself, so the
    serial mode (which replays in the parent) is measured without it.
    """
    import tracemalloc

    from replay import golden

    if trace:
        tracemalloc.start()

    samples: dict[int, float] = {}
    worker_peak = tree_peak = 0.0
    done = 0
    marks: set[int] = set()

    def on_start(total: int) -> None:
        # the set's size from the run itself: discovering it here too would add a
        # tuple of every entry to the traced peak
        marks.update(max(1, total * k // 10) for k in range(1, 11))

    def on_result(_record: golden.RunRecord) -> None:
        nonlocal done, worker_peak, tree_peak
        done += 1
        if done in marks:
            samples[done] = round(_rss_mb(), 1)
            tree = samples[done]
            for pid in _descendants(os.getpid()):
                worker_peak = max(worker_peak, _rss_mb(pid, "VmHWM"))
                tree += _rss_mb(pid)
            tree_peak = max(tree_peak, tree)

    started = time.perf_counter()
    report = golden.run_golden(
        [folder], repeat=repeat, workers=workers, on_start=on_start, on_result=on_result
    )
    elapsed = time.perf_counter() - started
    # VmHWM, not getrusage's ru_maxrss: Linux carries ru_maxrss across exec, so it
    # would report the benchmark parent this process was forked from.
    peak_rss = round(_rss_mb("self", "VmHWM"), 1)
    traced: dict[str, Any] = {}
    if trace:
        traced["traced_peak_mb"] = round(tracemalloc.get_traced_memory()[1] / 2**20, 2)
    if reports:
        tracemalloc.reset_peak()
        before = tracemalloc.get_traced_memory()[0]
        with tempfile.TemporaryDirectory(prefix="replay-golden-reports-") as out:
            started = time.perf_counter()
            write_reports(report, Path(out))
            traced["reports_s"] = round(time.perf_counter() - started, 2)
        if trace:
            peak = tracemalloc.get_traced_memory()[1] - before
            traced["reports_traced_peak_mb"] = round(peak / 2**20, 2)
        traced["peak_rss_after_reports_mb"] = round(_rss_mb("self", "VmHWM"), 1)
    tracemalloc.stop()
    return {
        "runs": len(report.runs),
        "seconds": round(elapsed, 2),
        "runs_per_s": round(len(report.runs) / elapsed, 1),
        "verdicts": {k: v for k, v in report.counts.items() if v},
        "exit_code": report.exit_code,
        "peak_rss_mb": peak_rss,  # the run's, before any report is written
        "worker_peak_rss_mb": round(worker_peak, 1),
        "tree_peak_rss_mb": round(max(tree_peak, peak_rss), 1),
        "rss_by_runs_mb": samples,
        **traced,
    }


def _measure_in_subprocess(
    folder: Path,
    workers: int,
    repeat: int,
    cache: str,
    *,
    trace: bool = False,
    reports: bool = False,
) -> dict[str, Any]:
    env = {**os.environ, "REPLAY_CACHE_DIR": cache}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    command = [sys.executable, "-m", "benchmarks.golden", "--measure", str(folder)]
    command += ["--workers", str(workers), "--repeat", str(repeat)]
    command += ["--trace"] * trace + ["--reports"] * reports
    done = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"measuring failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _burn(n: int) -> int:
    total = 0
    for i in range(n):
        total += i * i
    return total


def parallel_capacity(workers: int = 2, n: int = 5_000_000) -> float:
    """How much faster ``workers`` processes burn CPU than one: the speedup this machine
    can give at all right now (a shared or busy VM gives less than ``workers``)."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    started = time.perf_counter()
    for _ in range(workers):
        _burn(n)
    serial = time.perf_counter() - started
    context = multiprocessing.get_context("forkserver")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        list(pool.map(_burn, [1] * workers))  # start the workers off the clock
        started = time.perf_counter()
        list(pool.map(_burn, [n] * workers))
        parallel = time.perf_counter() - started
    return round(serial / parallel, 2)


def run(*, runs: int = 1000, steps: int = 30, workers: int = 2, repeat: int = 2) -> dict[str, Any]:
    """Record the set, then replay it: serial and ``workers`` without the parse cache
    (pure replay cost), ``workers`` with an empty cache (a CI machine's first run, which
    fills it) and again with the cache filled."""
    with tempfile.TemporaryDirectory(prefix="replay-golden-bench-") as tmp:
        folder = Path(tmp) / "golden"
        setup = make_golden_set(folder, runs=runs, steps=steps, workers=workers)
        size_mb = sum(p.stat().st_size for p in folder.rglob("*.yaml")) / 1e6
        cache = str(Path(tmp) / "cache")
        modes = {
            "serial": _measure_in_subprocess(folder, 0, repeat, "off"),
            "parallel": _measure_in_subprocess(
                folder, workers, repeat, "off", trace=True, reports=True
            ),
            "parallel_cold_cache": _measure_in_subprocess(
                folder, workers, repeat, cache, trace=True
            ),
            "parallel_warm_cache": _measure_in_subprocess(
                folder, workers, repeat, cache, trace=True
            ),
        }
    slowest = max(modes["parallel"]["seconds"], modes["parallel_cold_cache"]["seconds"])
    return {
        "runs": runs,
        "steps": steps,
        "repeat": repeat,
        "workers": workers,
        "cores": os.cpu_count(),
        "load_average": round(os.getloadavg()[0], 2),
        "set_mb": round(size_mb, 1),
        "record_s": round(setup, 1),
        **modes,
        "speedup": round(modes["serial"]["seconds"] / modes["parallel"]["seconds"], 2),
        "machine_speedup": parallel_capacity(workers),
        "target_met": slowest < TARGET_SECONDS,
    }


def print_results(result: dict[str, Any]) -> None:
    """The benchmark's lines, as ``python -m benchmarks`` prints its sections."""
    w = result["workers"]
    print(
        f"golden set: {result['runs']} runs x {result['steps']} steps "
        f"({result['set_mb']} MB of YAML, recorded in {result['record_s']} s), "
        f"{result['repeat']} replays per run, {result['cores']} cores, "
        f"load average {result['load_average']}"
    )
    for label, key in (
        ("serial (-n 0), no cache", "serial"),
        (f"-n {w}, no cache", "parallel"),
        (f"-n {w}, empty cache (fills it)", "parallel_cold_cache"),
        (f"-n {w}, warm cache", "parallel_warm_cache"),
    ):
        m = result[key]
        peak = f"peak RSS {m['peak_rss_mb']} MB"
        if m["worker_peak_rss_mb"]:
            peak += f" (workers {m['worker_peak_rss_mb']} MB)"
        print(f"  {label:32} {m['seconds']:7.2f} s {m['runs_per_s']:7.1f} runs/s  {peak}")
    print(
        f"  speedup -n {w} vs serial: {result['speedup']}x (pure-CPU control: "
        f"{result['machine_speedup']}x); verdicts {result['serial']['verdicts']}"
    )
    rss = result["serial"]["rss_by_runs_mb"]
    print("  serial RSS after n runs: " + ", ".join(f"{k}: {v}" for k, v in rss.items()) + " MB")
    verdict = "met" if result["target_met"] else "MISSED"
    print(f"  target: {result['runs']} runs under {TARGET_SECONDS:.0f} s with -n {w}: {verdict}")


def run_section(report: Report, sizes: Sequence[int], workdir: Path) -> None:
    """Section "golden" of ``python -m benchmarks`` (``sizes`` are for the step
    sections; this one is 1,000 runs x 30 steps, 200 runs with ``--quick``, N with
    ``--golden-runs N``)."""
    runs = report.golden_runs or (200 if report.quick else 1000)
    report.section(f"golden set: {runs:,} runs x 30 steps, serial and -n 2")
    result = run(runs=runs, steps=30, workers=2, repeat=2)
    report.line(
        f"{result['set_mb']} MB of YAML recorded in {result['record_s']} s; "
        f"{result['repeat']} replays per run; verdicts {result['serial']['verdicts']}"
    )
    rows = []
    for label, key in (
        ("serial, no parse cache", "serial"),
        ("-n 2, no parse cache", "parallel"),
        ("-n 2, empty cache (fills it)", "parallel_cold_cache"),
        ("-n 2, warm cache", "parallel_warm_cache"),
    ):
        m = result[key]
        workers = f"{m['worker_peak_rss_mb']} MB" if m["worker_peak_rss_mb"] else "-"
        rows.append(
            (
                label,
                f"{m['seconds']:.2f} s",
                f"{m['runs_per_s']:.1f}",
                f"{m['peak_rss_mb']} MB",
                workers,
                f"{m['tree_peak_rss_mb']} MB",
            )
        )
    report.table(
        ("mode", "time", "runs/s", "parent peak RSS", "worker peak RSS", "tree peak RSS"), rows
    )
    report.line(
        "peak RSS is the golden run's own processes (VmHWM of the measuring process, which "
        "runs the set; its\nworkers; tree = the largest sum of their RSS sampled during the "
        "run), not the benchmark's."
    )
    parallel = result["parallel"]
    report.line(
        f"parent tracemalloc peak (-n 2, no cache): {parallel['traced_peak_mb']} MB over the "
        f"run; {parallel['reports_traced_peak_mb']} MB writing JSON, JUnit, markdown and "
        f"HTML ({parallel['reports_s']} s); parent peak RSS after them "
        f"{parallel['peak_rss_after_reports_mb']} MB"
    )
    rss = result["serial"]["rss_by_runs_mb"]
    report.line("serial RSS after n runs: " + ", ".join(f"{k}: {v}" for k, v in rss.items()))
    report.line(
        f"speedup -n 2 vs serial: {result['speedup']}x (a pure-CPU control on this machine "
        f"now: {result['machine_speedup']}x with 2 processes)"
    )
    slowest = max(result["parallel"]["seconds"], result["parallel_cold_cache"]["seconds"])
    if runs == 1000:
        report.check(
            "golden set of 1,000 runs x 30 steps under 30 s on 2 cores (-n 2)",
            f"{result['parallel']['seconds']:.1f} s without cache, "
            f"{result['parallel_cold_cache']['seconds']:.1f} s filling the cache, "
            f"{result['parallel_warm_cache']['seconds']:.1f} s warm",
            slowest < TARGET_SECONDS,
        )
    samples = list(rss.values())
    growth = samples[-1] - samples[len(samples) // 2 - 1] if len(samples) > 1 else 0.0
    report.check(
        "golden set memory flat (serial RSS growth over the second half of the set < 5 MB)",
        f"+{growth:.1f} MB, peak {result['serial']['peak_rss_mb']} MB",
        growth < 5.0,
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.golden", description=__doc__)
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--measure", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--trace", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--reports", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.measure is not None:
        result = measure(
            args.measure,
            workers=args.workers,
            repeat=args.repeat,
            trace=args.trace,
            reports=args.reports,
        )
        print(json.dumps(result))
        return
    print_results(run(runs=args.runs, steps=args.steps, workers=args.workers, repeat=args.repeat))


if __name__ == "__main__":
    main()
