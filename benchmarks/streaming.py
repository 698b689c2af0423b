"""Section ``streaming``: time to first chunk of a streamed model call, recorded or not.

The openai SDK (sync, ``stream=True``) calls the fake model server on 127.0.0.1, which
streams a 24-event answer with a pause between events (a slow model). Each round times
the same call in turns: live (no session), inside ``replay.record`` (the events are
passed through as they arrive), inside ``replay.capture`` (production capture, when
present), and under plain vcrpy recording (which
buffers the whole response: the peer that shows what "after the whole stream" looks
like). For each: time to the first chunk the agent sees, and to the end of the stream.
Before each timed call the capture writer is flushed, garbage collected and the machine
left alone for 50 ms, so no way pays for the background work of the way before it.
"""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from benchmarks.report import Report, ratio, seconds

WORDS = 22  # + the role event and the finish event: 24 events
STREAM_DELAY = 0.010  # seconds between events: a ~0.23 s stream
PAUSE = 0.05  # seconds of quiet before each timed call
NOISE = 0.005  # seconds of time-to-first-chunk within which two ways count as the same


def _timed_stream(client: Any) -> tuple[float, float]:
    """Seconds to the first chunk and to the end of one streamed chat completion."""
    started = time.perf_counter()
    stream = client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}], stream=True
    )
    first = None
    for _ in stream:
        if first is None:
            first = time.perf_counter() - started
    return first or 0.0, time.perf_counter() - started


def _ways(client: Any, folder: Path) -> dict[str, Callable[[], tuple[float, float]]]:
    import vcr

    import replay

    counter = iter(range(1_000_000))

    def live() -> tuple[float, float]:
        return _timed_stream(client)

    def recording() -> tuple[float, float]:
        with replay.record(folder / f"run-{next(counter)}.yaml"):
            return _timed_stream(client)

    def vcrpy_recording() -> tuple[float, float]:
        path = folder / f"vcr-{next(counter)}.yaml"
        with vcr.VCR(record_mode="all").use_cassette(str(path)):
            return _timed_stream(client)

    ways = {"live": live, "replay.record": recording}
    if hasattr(replay, "capture"):  # production capture (issue 13), keeping every run
        from replay.capturing import release_seams

        def capturing() -> tuple[float, float]:
            try:
                with replay.capture(folder / "captured", keep="all", run_id=f"s{next(counter)}"):
                    return _timed_stream(client)
            finally:
                # Capture keeps the HTTP patches installed; the live way runs without them.
                release_seams()

        ways["replay.capture"] = capturing
    ways["vcrpy (buffers)"] = vcrpy_recording
    return ways


def run(report: Report, sizes: Sequence[int], workdir: Path) -> None:
    import openai

    import replay
    from replay.testing.fake_llm import FakeLLM, reply

    report.section("streaming: time to first chunk while recording (openai SDK, sync)")
    repeat = 5 if report.quick else 15
    text = " ".join(f"word{i}" for i in range(WORDS))
    folder = workdir / "streaming"
    folder.mkdir(exist_ok=True)
    with FakeLLM(lambda request: reply(text, stream_delay=STREAM_DELAY)) as llm:
        client = openai.OpenAI(base_url=llm.openai_url, api_key="sk-bench", max_retries=0)
        ways = _ways(client, folder)
        runs: dict[str, list[tuple[float, float]]] = {name: [] for name in ways}
        for round_number in range(repeat + 1):  # the first round warms up
            for name, way in ways.items():
                # Each way starts from the same quiet state: no garbage or written
                # cassette of the way before it still being dealt with.
                if hasattr(replay, "flush_captures"):
                    replay.flush_captures(30)
                gc.collect()
                time.sleep(PAUSE)
                figures = way()
                if round_number:
                    runs[name].append(figures)
        client.close()
    first = {name: statistics.median(f for f, _ in values) for name, values in runs.items()}
    whole = {name: statistics.median(w for _, w in values) for name, values in runs.items()}
    report.line(
        f"{WORDS + 2} events, {seconds(STREAM_DELAY)} apart; medians of {repeat} rounds, "
        "the ways in turns"
    )
    report.table(
        ["", "first chunk", "whole stream", "first / whole"],
        [
            [name, seconds(first[name]), seconds(whole[name]), ratio(first[name] / whole[name])]
            for name in ways
        ],
    )
    # Noise: how much the live call's own first chunk varies in this run (its
    # interquartile range), and never less than NOISE.
    q1, _, q3 = statistics.quantiles([f for f, _ in runs["live"]], n=4)
    noise = max(NOISE, q3 - q1)
    report.line(f"noise: live first chunk interquartile range {seconds(q3 - q1)}")
    for name in ("replay.record", "replay.capture"):
        if name not in first:
            continue
        added = first[name] - first["live"]
        report.check(
            f"time to first chunk under {name} = live within noise (max of "
            f"{seconds(NOISE)} and live's interquartile range), not after the whole stream",
            f"{seconds(first[name])} vs {seconds(first['live'])} live ({added * 1e3:+.1f} ms, "
            f"noise {seconds(noise)}); whole stream {seconds(whole['live'])}, vcrpy's first "
            f"chunk {seconds(first['vcrpy (buffers)'])}",
            added <= noise and first[name] < whole["live"] / 4,
        )
