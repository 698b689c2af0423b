"""Section ``http``: the real openai and anthropic SDKs, like for like.

Every variant runs the same agent code on the same SDK client class: ``calls`` chat
calls (a system prompt and a user turn naming the call, ~1 KB per request; a ~40-word
answer), JSON or streamed (SSE, one event per word, each event read by the agent
through the SDK's stream iterator). Only what answers the client's HTTP changes:

- ``live``: the local fake model server (``replay.testing.FakeLLM``) on 127.0.0.1;
- ``record``: the same, inside ``replay.record()``, cassette written (atomic, fsync);
- ``floor``: an ``httpx2.MockTransport`` in memory serving the recorded bytes in
  order: the cheapest any replay can be (the SDK's own work and nothing else);
- ``ours warm``: ``replay.replaying(cassette)`` of the cassette already loaded, session
  setup (HTTP seams, hermetic guard, index) and the final diff included;
- ``ours disk``: the same from the file, the in-memory cache cleared (the parse comes
  from the JSON disk cache: what a second CI process sees); ``ours cold`` also without
  the disk cache (a YAML parse), printed for information;
- ``vcrpy default`` / ``vcrpy body``: vcrpy replaying its own cassette of the same
  interactions (recorded by vcrpy from the same server), default ``match_on`` and with
  ``body`` added; its cassette load is left out of the timing.

Clients are built once, outside the timing, so each figure is what the calls cost.
Variants run interleaved, round by round, and each figure is a median: ratios between
them hold on a busy machine better than the absolute times. vcrpy with body matching is
O(N^2) per replay; at 1,000 calls it is timed on evenly spaced requests (unbiased for
the mean), every other variant replays every call.

Targets (issue 17): ours warm ≤ 1.10x the floor at 100 calls and ≤ 1.30x at one call;
ours from disk ≤ 1.30x at 100 calls; recording ≤ 250 µs per call over live.
"""

from __future__ import annotations

import gc
import logging
import os
import shutil
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.report import Report, ratio, seconds

COUNTS = (1, 10, 100, 1_000)
PROVIDERS = ("openai", "anthropic")
MODELS = {"openai": "gpt-4o-mini", "anthropic": "claude-sonnet-4-5"}
API_KEY = "sk-bench-0123456789abcdefghij"
WARM_TARGETS = {1: 1.30, 100: 1.10}
DISK_TARGET = (100, 1.30)
RECORD_TARGET_US = 250.0
RECORD_TARGET_AT = 100
BODY_SAMPLE = {True: 20, False: 50}  # vcrpy body matching at 1,000 calls: quick / full

_SYSTEM = (
    "You are a careful support agent for an online store. Answer using only the tools "
    "provided; never invent order numbers; escalate refunds above the policy limit. "
) * 4
_ANSWER = (
    "the order was shipped on monday and should arrive within three working days "
    "please keep the tracking number for your records and contact us again if the "
    "parcel has not arrived by friday we are sorry for the delay and thank you for "
    "your patience"
)
_WORDS = tuple(_ANSWER.split(" "))


def answer_text(index: int) -> str:
    """The fake model's answer to request ``index``: ~40 words, one SSE event each."""
    words = [_WORDS[(index + k) % len(_WORDS)] for k in range(40)]
    return f"Answer {index}: " + " ".join(words) + "."


def _messages(index: int) -> list[dict[str, str]]:
    return [{"role": "user", "content": f"Ticket #{index:05d}: where is my order? " * 8}]


def call_once(provider: str, stream: bool, client: Any, index: int) -> int:
    """Model call number ``index`` of the agent; returns the characters of answer read."""
    model = MODELS[provider]
    read = 0
    if provider == "openai":
        messages = [{"role": "system", "content": _SYSTEM}, *_messages(index)]
        if stream:
            for chunk in client.chat.completions.create(
                model=model, messages=messages, stream=True
            ):
                if chunk.choices and chunk.choices[0].delta.content:
                    read += len(chunk.choices[0].delta.content)
        else:
            answer = client.chat.completions.create(model=model, messages=messages)
            read += len(answer.choices[0].message.content)
        return read
    kwargs = {"model": model, "max_tokens": 512, "system": _SYSTEM, "messages": _messages(index)}
    if stream:
        for event in client.messages.create(**kwargs, stream=True):
            if event.type == "content_block_delta" and event.delta.type == "text_delta":
                read += len(event.delta.text)
    else:
        answer = client.messages.create(**kwargs)
        read += len(answer.content[0].text)
    return read


def make_agent(provider: str, stream: bool, calls: int) -> Callable[[Any], int]:
    """The agent: ``calls`` model calls on the given client; returns characters read."""

    def agent(client: Any) -> int:
        return sum(call_once(provider, stream, client, index) for index in range(calls))

    return agent


def make_client(provider: str, base_url: str, http_client: Any) -> Any:
    """The provider's real SDK client over ``http_client`` (no retries: none are needed)."""
    if provider == "openai":
        import openai

        return openai.OpenAI(
            api_key=API_KEY, base_url=f"{base_url}/v1", http_client=http_client, max_retries=0
        )
    import anthropic

    return anthropic.Anthropic(
        api_key=API_KEY, base_url=base_url, http_client=http_client, max_retries=0
    )


class Floor:
    """An in-memory ``httpx2.MockTransport`` serving recorded responses in order, in the
    chunks a replay hands over (and the server sent): one per SSE event, else one."""

    def __init__(self, responses: Sequence[tuple[int, list[tuple[str, str]], list[bytes]]]):
        import httpx2

        class Chunks(httpx2.SyncByteStream):
            def __init__(self, chunks: list[bytes]) -> None:
                self.chunks = chunks

            def __iter__(self) -> Any:
                yield from self.chunks

        self.stream = Chunks
        self.responses = list(responses)
        self.next = 0

    def handler(self, request: Any) -> Any:
        import httpx2

        status, headers, chunks = self.responses[self.next]
        self.next += 1
        return httpx2.Response(status, headers=headers, stream=self.stream(chunks))


def recorded_responses(path: Path) -> list[tuple[int, list[tuple[str, str]], list[bytes]]]:
    """The responses a cassette holds, as bytes: what the floor serves."""
    from replay import storage
    from replay.http.exchange import decode_response

    cassette = storage.load_cassette(path)
    out = []
    for step in cassette.steps:
        wire = decode_response(step)
        out.append((wire.status, list(wire.headers), list(wire.chunks())))
    return out


@dataclass
class Case:
    """One provider, format and call count, with everything its variants need."""

    provider: str
    stream: bool
    calls: int
    workdir: Path
    server_url: str

    @property
    def label(self) -> str:
        return f"{self.provider} {'SSE' if self.stream else 'JSON'}"

    @property
    def stem(self) -> str:
        return f"{self.provider}-{'sse' if self.stream else 'json'}-{self.calls}"


def _timed(action: Callable[[], Any]) -> float:
    gc.collect()
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def _variants(case: Case, quick: bool) -> dict[str, Callable[[], float]]:
    """Each variant as a function returning the seconds its calls took."""
    import httpx2
    import vcr

    import replay
    from replay import storage

    agent = make_agent(case.provider, case.stream, case.calls)
    live_client = make_client(case.provider, case.server_url, httpx2.Client())
    cassette_path = case.workdir / f"{case.stem}.yaml"
    record_path = case.workdir / f"{case.stem}-rerecord.yaml"

    with replay.record(cassette_path, entrypoint=None) as recording:
        recording.set_result(agent(live_client))
    responses = recorded_responses(cassette_path)
    if len(responses) != case.calls:
        raise AssertionError(f"{case.stem}: recorded {len(responses)} of {case.calls} calls")

    floor = Floor(responses)
    floor_client = make_client(
        case.provider, case.server_url, httpx2.Client(transport=httpx2.MockTransport(floor.handler))
    )
    replay_client = make_client(case.provider, case.server_url, httpx2.Client())
    cache = case.workdir / "parse-cache"
    os.environ[storage.CACHE_ENV] = str(cache)
    storage.clear_memory_cache()
    loaded = storage.load_cassette(cassette_path)

    def floor_run() -> float:
        floor.next = 0
        return _timed(lambda: agent(floor_client))

    def warm() -> float:
        def run() -> None:
            with replay.replaying(loaded) as replayed:
                replayed.set_result(agent(replay_client))
            _require_identical(replayed.result, case)

        return _timed(run)

    def from_disk(*, cold: bool) -> Callable[[], float]:
        def run() -> float:
            storage.clear_memory_cache()
            if cold:
                shutil.rmtree(cache, ignore_errors=True)

            def replayed_from_file() -> None:
                with replay.replaying(cassette_path) as replayed:
                    replayed.set_result(agent(replay_client))
                _require_identical(replayed.result, case)

            return _timed(replayed_from_file)

        return run

    def live() -> float:
        return _timed(lambda: agent(live_client))

    def record() -> float:
        def run() -> None:
            with replay.record(record_path, entrypoint=None) as again:
                again.set_result(agent(live_client))

        return _timed(run)

    vcr_path = case.workdir / f"{case.stem}-vcrpy.yaml"
    logging.getLogger("vcr").setLevel(logging.WARNING)
    with vcr.VCR(record_mode="all").use_cassette(str(vcr_path)):
        agent(live_client)
    vcr_client = make_client(case.provider, case.server_url, httpx2.Client())

    def vcrpy(match_on: tuple[str, ...]) -> Callable[[], float]:
        recorder = vcr.VCR(record_mode="none", match_on=match_on)

        def run() -> float:
            with recorder.use_cassette(str(vcr_path)):  # the load is not timed
                return _timed(lambda: agent(vcr_client))

        return run

    default_match = ("method", "scheme", "host", "port", "path", "query")
    variants = {
        "floor": floor_run,
        "warm": warm,
        "disk": from_disk(cold=False),
        "cold": from_disk(cold=True),
        "live": live,
        "record": record,
        "vcrpy default": vcrpy(default_match),
    }
    if case.calls < 1_000:
        variants["vcrpy body"] = vcrpy((*default_match, "body"))
    return variants


def _require_identical(result: Any, case: Case) -> None:
    if result is None or not result.identical or result.diverged:
        raise AssertionError(f"{case.stem}: the replay is not identical to the recording")


def _vcrpy_body_sample(case: Case, quick: bool, rounds: int) -> float:
    """Mean seconds per call of vcrpy with body matching over evenly spaced requests."""
    import httpx2
    import vcr

    sample = BODY_SAMPLE[quick]
    step = case.calls / sample
    positions = sorted({min(case.calls - 1, int(step * k + step / 2)) for k in range(sample)})
    vcr_path = case.workdir / f"{case.stem}-vcrpy.yaml"
    match_on = ("method", "scheme", "host", "port", "path", "query", "body")
    recorder = vcr.VCR(record_mode="none", match_on=match_on)
    client = make_client(case.provider, case.server_url, httpx2.Client())
    means = []
    for _ in range(rounds):
        with recorder.use_cassette(str(vcr_path)):
            times = [
                _timed(lambda p=p: call_once(case.provider, case.stream, client, p))
                for p in positions
            ]
        means.append(statistics.fmean(times))
    return statistics.median(means)


def _rounds(calls: int, quick: bool) -> int:
    """Timed rounds per case (the smaller cases run first and warm everything up)."""
    return {1: 20, 10: 7, 100: 3, 1_000: 1}[calls] if quick else {1: 40, 10: 15, 100: 7,
                                                                    1_000: 3}[calls]


@dataclass
class Figures:
    """Median seconds per call of each variant, for one case."""

    case: Case
    per_call: dict[str, float]

    def over_floor(self, name: str) -> float:
        return self.per_call[name] / self.per_call["floor"]


def measure_case(case: Case, quick: bool) -> Figures:
    variants = _variants(case, quick)
    rounds = _rounds(case.calls, quick)
    runs: dict[str, list[float]] = {name: [] for name in variants}
    warmup = 1 if case.calls < 1_000 else 0
    for round_number in range(rounds + warmup):
        for name, variant in variants.items():
            elapsed = variant()
            if round_number >= warmup:
                runs[name].append(elapsed)
    per_call = {name: statistics.median(values) / case.calls for name, values in runs.items()}
    if "vcrpy body" not in per_call:
        per_call["vcrpy body"] = _vcrpy_body_sample(case, quick, rounds=1 if quick else 2)
    return Figures(case, per_call)


def run(report: Report, sizes: Sequence[int], workdir: Path) -> None:
    """Section "http" of ``python -m benchmarks`` (``sizes`` are for the step sections:
    this one always runs 1, 10, 100 and 1,000 calls)."""
    import vcr

    from replay import storage
    from replay.testing.fake_llm import FakeLLM, reply

    report.section(
        "http: real openai and anthropic SDKs, like for like (per call; ratios to the "
        "in-memory floor)"
    )
    folder = workdir / "http"
    folder.mkdir(exist_ok=True)
    previous_cache = os.environ.get(storage.CACHE_ENV)
    figures: list[Figures] = []
    try:
        with FakeLLM(lambda request: reply(answer_text(request.index))) as server:
            for provider in PROVIDERS:
                for stream in (False, True):
                    for calls in COUNTS:
                        case = Case(provider, stream, calls, folder, server.url)
                        print(f"  ... http: {case.label}, {calls:,} calls", file=sys.stderr,
                              flush=True)
                        figures.append(measure_case(case, report.quick))
    finally:
        if previous_cache is None:
            os.environ.pop(storage.CACHE_ENV, None)
        else:
            os.environ[storage.CACHE_ENV] = previous_cache
        storage.clear_memory_cache()
    rows = []
    for f in figures:
        p = f.per_call
        rows.append(
            [
                f.case.label,
                f"{f.case.calls:,}",
                seconds(p["floor"]),
                f"{seconds(p['warm'])} {ratio(f.over_floor('warm'))}",
                f"{seconds(p['disk'])} {ratio(f.over_floor('disk'))}",
                f"{seconds(p['cold'])} {ratio(f.over_floor('cold'))}",
                f"{seconds(p['vcrpy default'])} {ratio(f.over_floor('vcrpy default'))}",
                f"{seconds(p['vcrpy body'])} {ratio(f.over_floor('vcrpy body'))}",
                seconds(p["live"]),
                f"+{seconds(max(p['record'] - p['live'], 0.0))}",
            ]
        )
    report.table(
        ["case", "calls", "floor", "ours warm", "ours disk", "ours cold", "vcrpy default",
         "vcrpy body", "live", "record"],
        rows,
    )
    report.line(
        f"per call, median of interleaved rounds. floor = the SDK on an in-memory "
        f"httpx2.MockTransport serving the\nrecorded bytes; ours warm = replay.replaying() "
        f"of the loaded cassette (session setup and diff included);\nours disk = from the "
        f"file with the JSON parse cache, cold = without it (a YAML parse); vcrpy {vcr.__version__}"
        f" =\nits own cassette, load untimed (body matching at 1,000 calls: evenly spaced "
        f"requests); live = the local\nfake server on 127.0.0.1; record = what replay.record() "
        f"adds per call over live (cassette written)."
    )
    _checks(report, figures)


def _checks(report: Report, figures: list[Figures]) -> None:
    for calls, target in WARM_TARGETS.items():
        chosen = [f for f in figures if f.case.calls == calls]
        worst = max(chosen, key=lambda f: f.over_floor("warm"))
        report.check(
            f"warm HTTP replay ≤ {target:.2f}x the SDK on an in-memory transport at "
            f"{calls:,} call{'s' if calls > 1 else ''}",
            "worst "
            + f"{worst.over_floor('warm'):.2f}x ({worst.case.label}); "
            + ", ".join(f"{f.case.label} {f.over_floor('warm'):.2f}x" for f in chosen),
            worst.over_floor("warm") <= target,
        )
    calls, target = DISK_TARGET
    chosen = [f for f in figures if f.case.calls == calls]
    worst = max(chosen, key=lambda f: f.over_floor("disk"))
    report.check(
        f"HTTP replay with the cassette load from disk ≤ {target:.2f}x the floor at {calls} calls",
        f"worst {worst.over_floor('disk'):.2f}x ({worst.case.label}); "
        + ", ".join(f"{f.case.label} {f.over_floor('disk'):.2f}x" for f in chosen),
        worst.over_floor("disk") <= target,
    )
    chosen = [f for f in figures if f.case.calls == RECORD_TARGET_AT]
    extra = {f.case.label: (f.per_call["record"] - f.per_call["live"]) * 1e6 for f in chosen}
    worst_label = max(extra, key=extra.__getitem__)
    report.check(
        f"recording ≤ {RECORD_TARGET_US:.0f} µs per call over a live call to the local "
        f"server, at {RECORD_TARGET_AT} calls",
        f"worst +{extra[worst_label]:.0f} µs ({worst_label}); "
        + ", ".join(f"{k} +{v:.0f} µs" for k, v in extra.items()),
        extra[worst_label] <= RECORD_TARGET_US,
    )
    at = [f for f in figures if f.case.calls == 1_000]
    if at:
        headline = {
            f.case.label: (
                f.over_floor("vcrpy default"),
                f.over_floor("vcrpy body"),
                f.over_floor("warm"),
            )
            for f in at
        }
        report.notes.append(
            "like for like at 1,000 calls (vcrpy / ours, per call): "
            + "; ".join(
                f"{label}: default matchers {d / w:,.1f}x, body matching {b / w:,.0f}x"
                for label, (d, b, w) in headline.items()
            )
        )
