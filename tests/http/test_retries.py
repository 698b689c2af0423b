"""SDK retries: each HTTP interaction is its own step, replayed in order."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import openai

import replay
from replay.testing.fake_llm import FakeLLM, disconnect, error, reply, slow
from tests.http import agents
from tests.http.test_anthropic import record_anthropic
from tests.http.test_openai import QUESTION, record_support


def test_a_500_then_200_is_two_steps_replayed_in_order(cassette: Path) -> None:
    with FakeLLM([error(500, "boom"), reply("Five days.")]) as llm:
        recorded = record_support(cassette, llm, "tests.http.agents:openai_support")
        assert len(llm.requests) == 2

    result = replay.replay(cassette)

    failed, succeeded = recorded.steps
    assert failed.args_hash == succeeded.args_hash
    assert failed.result == {
        "status": 500,
        "error": {"type": "server_error", "message": "boom"},
    }
    assert failed.http["request"]["headers"]["x-stainless-retry-count"] == "0"
    assert succeeded.http["request"]["headers"]["x-stainless-retry-count"] == "1"
    assert succeeded.result["message"]["content"] == "Five days."
    assert result.divergence is None and result.diff.identical
    assert [s.result["status"] for s in result.history] == [500, 200]


def test_anthropic_overloaded_then_ok_replays(cassette: Path) -> None:
    recorded = record_anthropic(
        cassette, "tests.http.agents:anthropic_support", [error(529), error(429), reply("Ok.")]
    )
    result = replay.replay(cassette)
    assert [s.result["status"] for s in recorded.steps] == [529, 429, 200]
    assert recorded.steps[0].result["error"]["type"] == "overloaded_error"
    assert result.divergence is None and result.diff.identical


def test_a_dropped_connection_is_a_failed_step_raised_again_on_replay(cassette: Path) -> None:
    with FakeLLM([disconnect(), reply("Five days.")]) as llm:
        recorded = record_support(cassette, llm, "tests.http.agents:openai_support")

    result = replay.replay(cassette)

    failed = recorded.steps[0]
    assert failed.error is not None
    assert failed.error.error_class == "httpx2.RemoteProtocolError"
    assert failed.http["request"]["url"].endswith("/v1/chat/completions")
    assert recorded.steps[1].result["status"] == 200
    assert result.divergence is None and result.diff.identical
    assert result.history[0].error == failed.error


def _impatient(base_url: str, question: str) -> str | None:
    client = openai.OpenAI(base_url=base_url, timeout=0.2, max_retries=1)
    completion = client.chat.completions.create(
        model=agents.MODEL, messages=[{"role": "user", "content": question}]
    )
    return completion.choices[0].message.content


def test_a_timeout_then_an_answer_replays(cassette: Path) -> None:
    with FakeLLM([slow(5.0), reply("Five days.")]) as llm:
        inputs = {"base_url": llm.openai_url, "question": QUESTION}
        with replay.record(cassette, input=inputs) as recording:
            recording.set_result(_impatient(**inputs))

    result = replay.replay(cassette, agent=_impatient)

    steps = replay.load_cassette(cassette).steps
    assert result.outcome.output == "Five days."
    assert steps[0].error is not None and steps[0].error.error_class == "httpx2.ReadTimeout"
    assert result.divergence is None and result.diff.identical


def test_a_dropped_async_connection_is_a_failed_step_raised_again_on_replay(
    cassette: Path,
) -> None:
    with FakeLLM([disconnect(), reply("Five days.")]) as llm:
        recorded = record_support(cassette, llm, "tests.http.agents:openai_support_async")

    result = replay.replay(cassette)

    failed, answered = recorded.steps
    assert failed.error is not None and failed.result is None
    assert failed.error.error_class == "httpx2.RemoteProtocolError"
    assert failed.http["request"]["url"].endswith("/v1/chat/completions")
    assert answered.result["status"] == 200 and failed.args_hash == answered.args_hash
    assert recorded.outcome.output == result.outcome.output == "Five days."
    assert result.divergence is None and result.diff.identical
    assert result.history[0].error == failed.error


async def _ask_async(base_url: str, question: str) -> dict:
    """One async model call without SDK retries; a connection error ends the run."""
    client = openai.AsyncOpenAI(base_url=base_url, max_retries=0)
    try:
        completion = await client.chat.completions.create(
            model=agents.MODEL, messages=[{"role": "user", "content": question}]
        )
    except openai.APIConnectionError as exc:
        cause = exc.__cause__
        return {"stop_reason": "llm_error", "output": f"{type(cause).__module__}.{cause}"}
    return {"stop_reason": "completed", "output": completion.choices[0].message.content}


def test_a_refused_async_connection_while_recording_is_replayed(cassette: Path) -> None:
    with socket.socket() as closed:  # bound, never listening: connecting is refused
        closed.bind(("127.0.0.1", 0))
        inputs = {"base_url": f"http://127.0.0.1:{closed.getsockname()[1]}/v1", "question": "hi"}
        with replay.record(cassette, input=inputs) as recording:
            recording.set_result(asyncio.run(_ask_async(**inputs)))

    recorded = replay.load_cassette(cassette)
    (step,) = recorded.steps
    assert step.kind == "llm" and step.result is None
    assert step.error is not None and step.error.error_class == "httpx2.ConnectError"
    assert recorded.outcome.stop_reason == "llm_error"
    assert recorded.outcome.output == f"httpx2.{step.error.message}"

    result = replay.replay(cassette, agent=_ask_async)

    assert result.outcome == recorded.outcome
    assert result.divergence is None and result.diff.identical
