"""``python -m benchmarks``: run the benchmark sections and print PASS/FAIL per target.

Options: ``--only core`` (repeatable) runs some sections; ``--quick`` measures 100 and
1,000 steps with fewer repetitions; ``--sizes 100,5000`` picks sizes; ``--strict`` exits
with status 1 when a target fails (the default only reports it).
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from benchmarks import (
    capture,
    core,
    entry_costs,
    golden,
    html_report,
    http_sdk,
    otel,
    streaming,
    vcrpy_peer,
)
from benchmarks.report import Report

Section = Callable[[Report, Sequence[int], Path], None]
SECTIONS: dict[str, tuple[str, Section]] = {
    "core": ("cassette load, replay overhead per step, diff", core.run),
    "vcrpy": ("plain vcrpy replaying the same calls over HTTP", vcrpy_peer.run),
    "http": ("real openai/anthropic SDKs: replay vs in-memory transport, vcrpy", http_sdk.run),
    "cli": ("replay --help and replay inspect vs the import floor", entry_costs.run_cli),
    "scenarios": ("pytest scenarios of a 6-step incident vs trivial tests",
                  entry_costs.run_scenarios),
    "golden": ("golden set: 1,000 runs x 30 steps, serial and -n 2", golden.run_section),
    "otel": ("replay inspect over 1 GB of OTLP/JSON traces vs bare json.loads", otel.run),
    "capture": ("replay.capture overhead per model call and with a saturated writer", capture.run),
    "streaming": ("time to first chunk, live vs while recording", streaming.run),
    "html": ("the HTML report of a 10,000-step run, opened in Chromium", html_report.run),
}
SIZES = (100, 1_000, 10_000)
QUICK_SIZES = (100, 1_000)


def _sizes(text: str) -> tuple[int, ...]:
    try:
        sizes = tuple(sorted({int(part.replace("_", "")) for part in text.split(",")}))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected sizes like 100,1000; got {text!r}") from None
    if not sizes or min(sizes) < 10:
        raise argparse.ArgumentTypeError("each size must be at least 10 steps")
    return sizes


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="agent-replay benchmarks (issue 2): load, replay overhead, diff, vcrpy.",
    )
    parser.add_argument(
        "--only",
        action="append",
        choices=list(SECTIONS),
        help="run only this section (repeatable); default: all, in order",
    )
    parser.add_argument(
        "--quick", action="store_true", help="100 and 1,000 steps, fewer repetitions"
    )
    parser.add_argument("--sizes", type=_sizes, help="comma-separated step counts")
    parser.add_argument(
        "--strict", action="store_true", help="exit with status 1 when a target fails"
    )
    parser.add_argument(
        "--golden-runs",
        type=int,
        metavar="N",
        help="runs in the golden section's set (default 1,000; 200 with --quick)",
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    sizes = args.sizes or (QUICK_SIZES if args.quick else SIZES)
    names = [name for name in SECTIONS if not args.only or name in args.only]
    report = Report(quick=args.quick, golden_runs=args.golden_runs)
    started = time.perf_counter()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(
        f"agent-replay benchmarks: Python {platform.python_version()}, "
        f"{os.cpu_count()} cores, load average {load:.2f} at start"
    )
    print(
        f"sizes: {', '.join(f'{s:,}' for s in sizes)} steps; synthetic agent alternating "
        "@replay.llm (~2 KB chat request, ~2 KB completion)\nand @replay.tool (small args, "
        "~2 KB result) calls; times are medians of several runs (time.perf_counter)"
    )
    if load > (os.cpu_count() or 1) * 0.5:
        print("warning: the machine is busy; timings will be noisy and high")
    with tempfile.TemporaryDirectory(prefix="agent-replay-bench-") as folder:
        for name in names:
            SECTIONS[name][1](report, sizes, Path(folder))
    passed = report.print_checks()
    print(f"\ntotal time {time.perf_counter() - started:.0f} s")
    return 1 if args.strict and not passed else 0


if __name__ == "__main__":
    sys.exit(main())
