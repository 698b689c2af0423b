"""Section ``otel``: ``replay inspect`` over a large OTLP/JSON file vs bare ``json.loads``.

The file is generated here (never committed): the real exports of ``tests/otel/fixtures``
repeated with a fresh trace id per copy until it reaches the size (1 GB, 200 MB with
``--quick``): many runs of every instrumentation family, one export request per line.
Measured in the same run, interleaved: reading the file line by line with bare
``json.loads`` (the floor for any JSON reader), and ``replay inspect FILE --json`` as the
user runs it (a subprocess: it splits the work over 2 processes for inputs this size),
with its peak memory, at half and at full size (flat memory: bounded by the traces open
at once, not the file; the table of runs waits in a temporary file). The full mode
measures 1 GB for real; the load average is printed with the figures (the machine may be
shared).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from benchmarks.report import Report, measure_interleaved, ratio, seconds

FIXTURES = Path(__file__).resolve().parents[1] / "tests" / "otel" / "fixtures"
TARGET_SECONDS_PER_GB = 60.0


def generate(path: Path, size_bytes: int) -> int:
    """Write ``size_bytes`` of OTLP/JSON lines to ``path``; returns the number of runs."""
    templates = []
    for source in sorted(FIXTURES.glob("*.otlp.jsonl")):
        if ".logs." in source.name:
            continue
        for line in source.read_text().splitlines():
            first = json.loads(line)["resourceSpans"][0]["scopeSpans"][0]["spans"][0]
            templates.append((line, first["traceId"]))
    runs = written = 0
    with path.open("w", encoding="utf-8") as handle:
        while written < size_bytes:
            line, trace_id = templates[runs % len(templates)]
            text = line.replace(trace_id, f"{runs:032x}") + "\n"
            handle.write(text)
            written += len(text)
            runs += 1
    return runs


def bare_json(path: Path) -> None:
    with path.open("rb") as handle:
        for line in handle:
            json.loads(line)


_MEASURE = """
import resource, subprocess, sys, time
started = time.perf_counter()
proc = subprocess.run(sys.argv[1:], stdout=open(sys.argv[-1] + '.out.json', 'w'))
elapsed = time.perf_counter() - started
print(proc.returncode, elapsed, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
"""


def inspect_cli(path: Path) -> tuple[float, float, dict]:
    """Wall seconds, peak RSS (MB, the largest of its processes) and the JSON of
    ``replay inspect PATH --json``, measured from a fresh process of its own."""
    command = [sys.executable, "-m", "replay", "inspect", "--json", str(path)]
    proc = subprocess.run(
        [sys.executable, "-c", _MEASURE, *command], capture_output=True, text=True, check=False
    )
    code, elapsed, peak_kb = proc.stdout.split()
    out = Path(str(path) + ".out.json")
    if code != "0":
        raise RuntimeError(f"replay inspect failed: {proc.stderr.strip()}")
    data = json.loads(out.read_text())
    out.unlink()
    return float(elapsed), int(peak_kb) / 1024, data


def run(report: Report, sizes: Sequence[int], workdir: Path) -> None:
    """Section "otel" of ``python -m benchmarks`` (``sizes`` are for the step sections)."""
    size = 200_000_000 if report.quick else 1_000_000_000
    report.section(f"otel: replay inspect over {size / 1e6:,.0f} MB of OTLP/JSON")
    half, full = workdir / "half.otlp.jsonl", workdir / "full.otlp.jsonl"
    started = time.perf_counter()
    half_runs = generate(half, size // 2)
    full_runs = generate(full, size)
    report.line(
        f"generated {full_runs:,} runs ({full.stat().st_size / 1e6:,.0f} MB) and "
        f"{half_runs:,} ({half.stat().st_size / 1e6:,.0f} MB) in "
        f"{time.perf_counter() - started:.0f} s; {os.cpu_count()} cores, load average "
        f"{os.getloadavg()[0]:.1f} before measuring"
    )
    samples = measure_interleaved({"json": (lambda: bare_json(full), None)}, repeat=1, warmup=0)
    bare = samples["json"].median
    half_s, half_mb, _ = inspect_cli(half)
    full_s, full_mb, data = inspect_cli(full)
    listed = len(data.get("runs", ()))
    report.table(
        ["input", "bare json.loads", "replay inspect", "ratio", "peak memory"],
        [
            [f"{size / 2e6:,.0f} MB", "", seconds(half_s), "", f"{half_mb:,.0f} MB"],
            [
                f"{size / 1e6:,.0f} MB",
                seconds(bare),
                seconds(full_s),
                ratio(full_s / bare),
                f"{full_mb:,.0f} MB",
            ],
        ],
    )
    report.line(
        f"runs listed: {listed:,} of {full_runs:,}; load average {os.getloadavg()[0]:.1f} after"
    )
    per_gb = full_s * 1e9 / size
    report.check(
        f"replay inspect over 1 GB of OTLP/JSON < {TARGET_SECONDS_PER_GB:.0f} s",
        f"{per_gb:.1f} s per GB ({ratio(full_s / bare)} bare json.loads)",
        per_gb < TARGET_SECONDS_PER_GB and listed == full_runs,
    )
    report.check(
        "inspect memory flat in file size (full / half peak < 1.5)",
        f"{half_mb:,.0f} MB at half, {full_mb:,.0f} MB at full",
        full_mb < 1.5 * half_mb,
    )
    for path in (half, full):
        path.unlink()
