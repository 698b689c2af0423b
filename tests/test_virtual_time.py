"""Virtual time: in replay, the waits an agent asks for return at once and the virtual
clock moves on by them, while ``replay.now()`` moves on as it did in the recording.
Recording, and code outside the replay's context, keep real waits.

No test asserts how fast anything runs: a replay that asks for 30 s of waiting is checked
through the virtual clock (30 s) against ``time.monotonic()`` (far less than that).
"""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path

import pytest

import replay
from replay import timers
from replay.verdict import verdict_for
from tests.agents import backoff

AGENT = "tests.agents.backoff"
INPUT = {"symbol": "ACME", "backoff_s": 0.5}


@pytest.fixture
def rate_limited():
    """The quotes backend refuses twice, then answers."""
    backoff.BACKEND["failures_left"] = 2
    yield backoff.BACKEND
    backoff.BACKEND["failures_left"] = 0


def record(tmp_path: Path, entry: str) -> tuple[Path, replay.Cassette, float]:
    path = tmp_path / f"{entry}.yaml"
    started = time.monotonic()
    cassette = replay.record_run(f"{AGENT}:{entry}", path, input=INPUT)
    return path, cassette, time.monotonic() - started


@pytest.mark.parametrize(
    ("entry", "patient"), [("run", "run_patient"), ("run_async", "run_async_patient")]
)
def test_replay_skips_the_waits_and_replay_now_moves_as_recorded(
    tmp_path, rate_limited, entry, patient
):
    path, cassette, recording_took = record(tmp_path, entry)
    assert [s.error is not None for s in cassette.steps if s.kind == "tool"] == [True, True, False]
    assert recording_took >= 1.0  # recording kept its two real 0.5 s waits
    recorded_took = cassette.outcome.output["took_s"]
    assert recorded_took >= 1.0

    same = replay.replay(path)
    assert same.identical and same.virtual_wait_s == pytest.approx(1.0)

    started = time.monotonic()
    result = replay.replay(path, agent=f"{AGENT}:{patient}")
    replay_took = time.monotonic() - started
    assert result.identical  # same calls, answers and outcome: replay.now() is the recorded one
    assert result.outcome.output["took_s"] == recorded_took
    assert result.virtual_wait_s == pytest.approx(30.0)
    assert replay_took < 5.0  # 30 s were asked for; none was waited


def test_the_verdict_of_a_replay_with_long_waits_is_match(tmp_path, rate_limited):
    path, _, _ = record(tmp_path, "run")
    verdict = verdict_for(path, agent=f"{AGENT}:run_patient", repeats=3)
    assert (verdict.verdict, verdict.mode) == ("match", "evidence")
    assert [r.virtual_wait_s for r in verdict.results] == [30.0, 30.0, 30.0]


def _in_replay(path: Path, body) -> replay.ReplayResult:
    with replay.replaying(path) as replaying:
        body()
    assert replaying.result is not None
    return replaying.result


def test_threads_outside_the_replays_context_wait_for_real(tmp_path):
    path = tmp_path / "empty.yaml"
    with replay.record(path) as recording:
        recording.set_result(None)
    finished = []

    def elsewhere() -> None:
        started = time.monotonic()
        time.sleep(0.2)
        finished.append(time.monotonic() - started)

    def agent() -> None:
        thread = threading.Thread(target=elsewhere)  # a plain thread: a fresh context
        thread.start()
        thread.join()

    result = _in_replay(path, agent)
    assert result.virtual_wait_s == 0
    assert finished[0] >= 0.2


def test_a_thread_started_with_the_replays_context_waits_virtually(tmp_path):
    import contextvars

    path = tmp_path / "empty.yaml"
    with replay.record(path) as recording:
        recording.set_result(None)

    def agent() -> None:
        context = contextvars.copy_context()
        thread = threading.Thread(target=context.run, args=(time.sleep, 12.0))
        thread.start()
        thread.join()

    assert _in_replay(path, agent).virtual_wait_s == 12.0


def test_zero_waits_keep_yielding_to_the_event_loop(tmp_path):
    path = tmp_path / "empty.yaml"
    with replay.record(path) as recording:
        recording.set_result(None)
    order: list[str] = []

    async def worker(name: str, wait: float) -> None:
        order.append(f"{name} start")
        await asyncio.sleep(wait)
        order.append(f"{name} end")

    async def both() -> str:
        await asyncio.gather(worker("a", 0), worker("b", 10.0))
        return await asyncio.sleep(5.0, result="kept")

    outcome: list[str] = []
    result = _in_replay(path, lambda: outcome.append(asyncio.run(both())))
    assert order[:2] == ["a start", "b start"]  # each wait still let the other task run
    assert outcome == ["kept"] and result.virtual_wait_s == 15.0


def test_outside_any_session_waits_are_real_and_bad_values_still_fail():
    timers.install()
    assert timers.current_clock() is None
    started = time.monotonic()
    time.sleep(0.05)
    assert time.monotonic() - started >= 0.05
    with pytest.raises(ValueError):
        time.sleep(-1)
    with pytest.raises(ValueError):
        asyncio.run(_negative_anyio())


async def _negative_anyio() -> None:
    import anyio

    await anyio.sleep(-1)
