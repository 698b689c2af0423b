"""A call belongs to a run iff its context carries the run's session; nothing is guessed.

Threads started with the run's context (``copy_context().run``, ``asyncio.to_thread``)
are the run; a plain ``ThreadPoolExecutor`` or ``loop.run_in_executor`` thread is not,
and a ``@replay.tool`` called there says so instead of being silently left out.
"""

from __future__ import annotations

import asyncio
import contextvars
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

import replay
from replay.errors import SessionError

CALLS: list[str] = []


@replay.tool
def lookup_order(order_id: str) -> str:
    CALLS.append(order_id)
    return f"order {order_id}: shipped"


def in_plain_pool(order_id: str) -> str:
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(lookup_order, order_id).result()


def in_pool_with_context(order_id: str) -> str:
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(contextvars.copy_context().run, lookup_order, order_id).result()


def in_to_thread(order_id: str) -> str:
    async def main() -> str:
        return await asyncio.to_thread(lookup_order, order_id)

    return asyncio.run(main())


def in_run_in_executor(order_id: str) -> str:
    async def main() -> str:
        return await asyncio.get_running_loop().run_in_executor(None, lookup_order, order_id)

    return asyncio.run(main())


@pytest.fixture(autouse=True)
def fresh(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    CALLS.clear()


@pytest.mark.parametrize("agent", [in_pool_with_context, in_to_thread])
def test_a_thread_started_with_the_run_s_context_is_the_run(tmp_path: Path, agent) -> None:
    cassette = tmp_path / "run.yaml"
    with replay.record(cassette) as recording:
        recording.set_result(agent("A-1"))

    result = replay.replay(cassette, agent=lambda: agent("A-1"))

    assert [s.name for s in replay.load_cassette(cassette).steps] == ["lookup_order"]
    assert CALLS == ["A-1"], "served in replay, not run again"
    assert result.outcome.output == "order A-1: shipped"
    assert result.diff.identical


@pytest.mark.parametrize("agent", [in_plain_pool, in_run_in_executor])
def test_a_tool_in_a_thread_without_the_context_is_no_step_and_says_why(
    tmp_path: Path, agent
) -> None:
    cassette = tmp_path / "run.yaml"
    with pytest.warns(RuntimeWarning) as warned, replay.record(cassette) as recording:
        recording.set_result(agent("A-1"))

    assert CALLS == ["A-1"], "it ran live"
    assert replay.load_cassette(cassette).steps == ()
    message = str(warned[0].message)
    assert message.startswith(
        "@replay.tool 'lookup_order' was called from a thread that "
        "does not carry the run's context"
    )
    assert "it ran live and was not recorded" in message
    assert "pool.submit(ctx.run, fn, *args)" in message

    with replay.replaying(cassette), pytest.raises(SessionError) as refused:
        agent("A-1")
    assert "replay cannot serve it" in str(refused.value)
    assert "contextvars.copy_context()" in str(refused.value)
    assert CALLS == ["A-1"], "not run again in replay"


def test_a_thread_without_the_context_is_a_plain_call_when_no_run_is_open() -> None:
    assert in_plain_pool("B-2") == "order B-2: shipped"
    assert CALLS == ["B-2"]
