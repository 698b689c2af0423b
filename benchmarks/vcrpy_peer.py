"""The vcrpy peer: plain vcrpy replaying the same calls as HTTP interactions.

The cassette is built programmatically with vcrpy's own serializer (no server, no
network), one interaction per synthetic step: a JSON ``POST`` with the step's arguments
as body and its answer as response, with the headers an SDK sends. Replay goes through
an ``httpx2.Client`` under ``record_mode="none"`` and ``match_on=["method", "path",
"body"]``, as a replay harness for LLMs must match on the body (FACTS.md).

vcrpy scans every stored interaction for every request (twice: ``can_play_response_for``
then ``play_response``), so request ``i`` of a replay costs about ``2 * i`` comparisons.
Timing every request is O(N^2); ``requests_to_time`` picks an evenly spaced sample whose
mean is the mean of a full replay, or the last requests (the worst case) when asked.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from benchmarks.report import Report, ratio, seconds

BASE_URL = "http://127.0.0.1:9"  # never contacted: every request is served by vcrpy
REQUEST_HEADERS = {
    "content-type": "application/json",
    "accept": "application/json",
    "authorization": "Bearer sk-bench-redacted",
    "user-agent": "OpenAI/Python 3.0.0",
}
RESPONSE_HEADERS = {
    "content-type": ["application/json"],
    "openai-processing-ms": ["812"],
    "x-request-id": ["req_bench"],
}


def write_vcr_cassette(interactions: Sequence[tuple[str, bytes, bytes]], path: Path) -> Path:
    """Write ``(path, request body, response body)`` interactions as a vcrpy YAML cassette."""
    from vcr.request import Request
    from vcr.serialize import serialize
    from vcr.serializers import yamlserializer

    requests = [
        Request("POST", BASE_URL + url_path, body, dict(REQUEST_HEADERS))
        for url_path, body, _ in interactions
    ]
    responses = [
        {
            "status": {"code": 200, "message": "OK"},
            "headers": dict(RESPONSE_HEADERS),
            "body": {"string": body},
        }
        for _, _, body in interactions
    ]
    text = serialize({"requests": requests, "responses": responses}, yamlserializer)
    path.write_text(text, encoding="utf-8")
    return path


def requests_to_time(total: int, sample: int | None, *, last: bool = False) -> list[int]:
    """Positions of the requests to time: all of them when ``sample`` is None or covers
    them, else ``sample`` evenly spaced ones (unbiased for the mean) or the last ones."""
    if sample is None or sample >= total:
        return list(range(total))
    if last:
        return list(range(total - sample, total))
    step = total / sample
    return sorted({min(total - 1, int(step * k + step / 2)) for k in range(sample)})


def time_vcr_replay(
    cassette: Path,
    interactions: Sequence[tuple[str, bytes, bytes]],
    positions: Sequence[int],
) -> list[float]:
    """Seconds per request for the requests at ``positions`` (in order), replayed by vcrpy.

    The cassette is loaded (by entering ``use_cassette``) before timing starts.
    """
    import time

    import httpx2
    import vcr

    logging.getLogger("vcr").setLevel(logging.WARNING)
    recorder = vcr.VCR(record_mode="none", match_on=["method", "path", "body"])
    timings: list[float] = []
    with (
        recorder.use_cassette(str(cassette)),
        httpx2.Client(base_url=BASE_URL, headers=REQUEST_HEADERS) as client,
    ):
        for position in positions:
            url_path, body, expected = interactions[position]
            started = time.perf_counter()
            response = client.post(url_path, content=body)
            content = response.content
            timings.append(time.perf_counter() - started)
            if content != expected:
                raise AssertionError(f"vcrpy served the wrong answer for request {position}")
    return timings


def time_plain_httpx2(interactions: Sequence[tuple[str, bytes, bytes]], repeat: int) -> float:
    """Seconds per request of the same client answering from a ``MockTransport`` (no vcrpy):
    the cost of httpx2 itself, subtracted to get vcrpy's own cost per call."""
    import statistics
    import time

    import httpx2

    answers = {body: answer for _, body, answer in interactions}
    headers = [(name, value) for name, values in RESPONSE_HEADERS.items() for value in values]

    def handler(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(200, content=answers[request.content], headers=headers)

    sample = list(interactions[: min(len(interactions), 200)])
    runs = []
    with httpx2.Client(
        base_url=BASE_URL, headers=REQUEST_HEADERS, transport=httpx2.MockTransport(handler)
    ) as client:
        for _ in range(repeat):
            started = time.perf_counter()
            for url_path, body, _ in sample:
                client.post(url_path, content=body).read()
            runs.append((time.perf_counter() - started) / len(sample))
    return statistics.median(runs)


# How many requests to time per size (None: all of them, a full replay), and whether the
# sample is the last requests (worst case) or evenly spaced ones (the mean of a full replay).
FULL_REPLAY_UP_TO = 100
SAMPLE = {1_000: 50, 10_000: 20}
QUICK_SAMPLE = {1_000: 20, 10_000: 10}
LAST_FROM = 10_000
RATIO_TARGET_STEPS = 1_000
RATIO_TARGET = 1 / 100


def _sample_plan(steps: int, quick: bool) -> tuple[int | None, bool]:
    """(how many requests to time, None for all; whether they are the last ones)."""
    if steps <= FULL_REPLAY_UP_TO:
        return None, False
    table = QUICK_SAMPLE if quick else SAMPLE
    size = table[max((k for k in table if k <= steps), default=min(table))]
    return size, steps >= LAST_FROM


def run(report: Report, sizes: Sequence[int], workdir: Path) -> None:
    """Time vcrpy replaying the synthetic runs as HTTP, and compare with our overhead."""
    import statistics
    import time

    import vcr

    from benchmarks.core import measure_replay
    from benchmarks.synthetic import http_interactions, workload
    from replay import storage

    report.section(
        f"vcrpy {vcr.__version__} peer: httpx2 client, record_mode='none', "
        "match_on=['method', 'path', 'body']"
    )
    rows = []
    for steps in sizes:
        work = workload(steps, workdir)
        interactions = http_interactions(work.plan)
        path = write_vcr_cassette(interactions, workdir / f"vcrpy-{steps}.yaml")
        sample, last = _sample_plan(steps, report.quick)
        positions = requests_to_time(steps, sample, last=last)
        rounds = 3 if sample is None else 1
        print(
            f"  ... {steps:,} interactions: vcrpy replaying {len(positions)} requests"
            f"{'' if rounds == 1 else f', {rounds} times'}",
            file=sys.stderr,
            flush=True,
        )
        means, load_times = [], []
        for _ in range(rounds):
            started = time.perf_counter()
            timings = time_vcr_replay(path, interactions, positions)
            load_times.append(time.perf_counter() - started - sum(timings))
            means.append(statistics.fmean(timings))
        vcr_call = statistics.median(means)
        client_call = time_plain_httpx2(interactions, repeat=5)
        vcr_own = max(vcr_call - client_call, 1e-9)
        ours_us = report.figures.get(("replay_overhead_us", steps))
        if ours_us is None:  # the core section did not run: measure ours here
            cassette = storage.load_cassette(work.cassette_path)
            empty = storage.load_cassette(workload(0, workdir).cassette_path)
            ours_us = measure_replay(work, cassette, 5, empty=empty).overhead_us(steps)
            report.figures[("replay_overhead_us", steps)] = ours_us
        ours = ours_us / 1e6
        report.figures[("vcrpy_own_per_call_us", steps)] = vcr_own * 1e6
        if sample is None:
            timed = f"all {steps:,} (full replay)"
        elif last:
            timed = f"last {len(positions)} of {steps:,}"
        else:
            timed = f"{len(positions)} evenly spaced"
        rows.append(
            [
                f"{steps:,}",
                f"{path.stat().st_size / 1e6:.1f} MB",
                seconds(statistics.median(load_times)),
                timed,
                seconds(vcr_call),
                seconds(client_call),
                seconds(vcr_own),
                f"{ours_us:.1f} µs",
                ratio(ours / vcr_own),
            ]
        )
    report.table(
        ["interactions", "file", "vcrpy load", "requests timed", "vcrpy/call",
         "httpx2 alone", "vcrpy own/call", "ours/step", "ours/vcrpy"],
        rows,
    )
    report.line(
        "vcrpy/call = mean time of client.post() under vcrpy for the requests timed; vcrpy "
        "scans every stored\ninteraction per request (request i costs ~2i body comparisons), "
        "so a full replay is O(N^2): evenly\nspaced requests give the mean of a full replay, "
        "the last requests its worst case (~2x the mean).\nvcrpy own = vcrpy/call - the same "
        "httpx2 client on a MockTransport; ours = replay overhead per step\n(core section). "
        "vcrpy has no parse cache: every load is cold."
    )
    if RATIO_TARGET_STEPS in sizes:
        ours_us = report.figures[("replay_overhead_us", RATIO_TARGET_STEPS)]
        vcr_us = report.figures[("vcrpy_own_per_call_us", RATIO_TARGET_STEPS)]
        report.check(
            f"at {RATIO_TARGET_STEPS:,} interactions, ours ≤ 1/100 of vcrpy's cost per call",
            f"ours {ours_us:.1f} µs vs vcrpy {seconds(vcr_us / 1e6)}: "
            f"{ratio(ours_us / vcr_us)}",
            ours_us / vcr_us <= RATIO_TARGET,
        )
