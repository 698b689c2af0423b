"""Section "html": how fast the HTML report of a long run renders and opens in Chromium.

A run of 10,000 steps (and the step sizes asked for) is rendered with
``replay.report.html.render_run`` and opened from ``file://`` in the system Chromium
(``replay.testing.browser``, off the network); "open" is the time from navigation to the
end of DOMContentLoaded, by which the page's inline script has parsed the steps and drawn
the waterfall (Navigation Timing, read in the page). The peer is the same page for a
10-step run, opened in the same browser in turns, so the ratio says what the steps cost.
Target: a 10,000-step run opens in under a second.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Sequence
from pathlib import Path

from benchmarks.report import Report, ratio, seconds
from replay.canonical import stable_hash
from replay.cassette import Cassette, ErrorInfo, Outcome, RunContext, Step

TARGET_STEPS = 10_000
TARGET_SECONDS = 1.0
PEER_STEPS = 10


def long_run(steps: int) -> Cassette:
    """Model and tool calls two at a time, each with a ~200-byte result, one failing."""
    built = []
    for index in range(steps):
        args = {"page": index, "query": f"order status {index}"}
        failed = index == steps // 2
        built.append(
            Step(
                index=index,
                kind="tool" if index % 3 else "llm",
                name="fetch_page" if index % 3 else "gpt-4o-mini",
                args=args,
                args_hash=stable_hash(args),
                result=None if failed else {"page": index, "text": "lorem ipsum " * 16},
                error=ErrorInfo("shop.PageGone", f"page {index} is gone") if failed else None,
                started_at_ms=float(index // 2 * 10),
                latency_ms=8.0 + index % 2,
            )
        )
    return Cassette(
        context=RunContext(run_id=f"bench_{steps}", trace_id="0" * 32, workflow="bench"),
        steps=tuple(built),
        outcome=Outcome(stop_reason="completed", output="done"),
    )


def _open_ms(browser, path: Path, width: int) -> tuple[float, int]:
    """Milliseconds from navigation to the drawn waterfall, and rows drawn."""
    from replay.testing.browser import open_report

    check = open_report(browser, path, width=width)
    try:
        if check.problems:
            raise RuntimeError(f"{path.name}: {check.problems}")
        ready = check.page.evaluate(
            "performance.getEntriesByType('navigation')[0].domContentLoadedEventEnd"
        )
        rows = check.page.locator(".waterfall .vrow").count()
        return float(ready), rows
    finally:
        check.page.close()


def run(report: Report, sizes: Sequence[int], workdir: Path) -> None:
    """Section "html" of ``python -m benchmarks``."""
    from replay.report.html import render_run
    from replay.testing.browser import chromium, chromium_path

    report.section("html: the HTML report of a long run, rendered and opened in Chromium")
    if chromium_path() is None:
        report.line("skipped: no chromium on the PATH (apt-get install -y chromium)")
        report.notes.append("html section skipped: no Chromium")
        return
    counts = sorted({PEER_STEPS, *sizes, TARGET_STEPS})
    pages: dict[int, tuple[Path, float, int]] = {}
    for steps in counts:
        cassette = long_run(steps)
        started = time.perf_counter()
        html = render_run(cassette)
        rendered = time.perf_counter() - started
        path = workdir / f"report-{steps}.html"
        path.write_text(html, encoding="utf-8")
        pages[steps] = (path, rendered, len(html.encode()))
    repeat = 3 if report.quick else 7
    opened: dict[int, list[float]] = {steps: [] for steps in counts}
    drawn: dict[int, int] = {}
    with chromium(workdir / "chromium-profile") as browser:
        _open_ms(browser, pages[PEER_STEPS][0], 1280)  # warm up
        for _ in range(repeat):
            for steps in counts:  # in turns: load on the machine hits all sizes alike
                ms, rows = _open_ms(browser, pages[steps][0], 1280)
                opened[steps].append(ms / 1000)
                drawn[steps] = rows
    peer = statistics.median(opened[PEER_STEPS])
    rows = []
    for steps in counts:
        path, rendered, size = pages[steps]
        median = statistics.median(opened[steps])
        rows.append(
            [
                f"{steps:,} steps",
                f"{size / 1e6:.2f} MB",
                seconds(rendered),
                seconds(median),
                ratio(median / peer) if steps != PEER_STEPS else "peer",
                f"{drawn[steps]:,}",
            ]
        )
    report.table(
        ["run", "page", "render (Python)", "open in Chromium", f"vs {PEER_STEPS} steps", "rows"],
        rows,
    )
    target = statistics.median(opened[TARGET_STEPS])
    report.check(
        f"a {TARGET_STEPS:,}-step run opens in Chromium in < {TARGET_SECONDS:.0f} s",
        f"{seconds(target)} to a drawn waterfall ({ratio(target / peer)} the "
        f"{PEER_STEPS}-step page; {drawn[TARGET_STEPS]} rows drawn)",
        target < TARGET_SECONDS,
    )
