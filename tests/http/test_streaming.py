"""Server-sent-event responses: recorded whole, replayed one chunk per event."""

from __future__ import annotations

from pathlib import Path

import httpx2
import pytest

import replay
from replay.testing.fake_llm import FakeLLM, reply, tool_call
from tests.http.test_anthropic import record_anthropic
from tests.http.test_openai import QUESTION

STREAMING_AGENTS = [
    ("tests.http.agents:openai_support", "openai_url"),
    ("tests.http.agents:openai_support_async", "openai_url"),
    ("tests.http.agents:anthropic_support", "anthropic_url"),
    ("tests.http.agents:anthropic_support_async", "anthropic_url"),
]


@pytest.mark.parametrize(("entrypoint", "url"), STREAMING_AGENTS)
def test_streaming_agent_records_the_assembled_message_and_replays(
    entrypoint: str, url: str, cassette: Path
) -> None:
    script = [tool_call("search_docs", {"query": "refunds"}), reply("Refunds take five days.")]
    with FakeLLM(script) as llm:
        inputs = {"base_url": getattr(llm, url), "question": QUESTION, "stream": True}
        with replay.record(cassette, entrypoint=entrypoint, input=inputs) as recording:
            fn = replay.engine.import_entrypoint(entrypoint)
            recording.set_result(replay.engine.call_entrypoint(fn, inputs))
    recorded = replay.load_cassette(cassette)

    result = replay.replay(cassette)

    assert recorded.outcome.output == "Refunds take five days."
    first, _tool, last = recorded.steps
    assert first.args["stream"] is True
    assert first.result["streamed"] is True
    assert first.result["message"]["tool_calls"][0]["name"] == "search_docs"
    assert first.result["message"]["tool_calls"][0]["arguments"] == {"query": "refunds"}
    assert last.result["message"]["content"] == "Refunds take five days."
    assert len(last.http["response"]["events"]) > 3
    assert "body" not in last.http["response"]
    assert result.divergence is None and result.diff.identical
    assert result.outcome.output == "Refunds take five days."


def test_anthropic_stream_result_matches_the_whole_message(cassette: Path) -> None:
    whole = record_anthropic(cassette, "tests.http.agents:anthropic_support", [reply("Hi there.")])
    streamed = record_anthropic(
        cassette, "tests.http.agents:anthropic_support", [reply("Hi there.")], stream=True
    )

    plain = {k: v for k, v in streamed.steps[0].result.items() if k != "streamed"}
    assert plain == whole.steps[0].result


def _raw_chunks(url: str, body: dict) -> list[bytes]:
    with httpx2.Client() as client, client.stream("POST", url, json=body) as response:
        return list(response.iter_raw())


def test_replay_serves_one_chunk_per_event(cassette: Path) -> None:
    body = {"model": "m", "stream": True, "messages": [{"role": "user", "content": "hi"}]}
    with FakeLLM([reply("one two three four")]) as llm:
        url = f"{llm.openai_url}/chat/completions"
        with replay.record(cassette):
            recorded_chunks = _raw_chunks(url, body)

    with replay.replaying(cassette) as replaying:
        replayed_chunks = _raw_chunks(url, body)

    events = replay.load_cassette(cassette).steps[0].http["response"]["events"]
    assert len(replayed_chunks) == len(events) == 7
    assert replayed_chunks == recorded_chunks
    assert replayed_chunks[-1] == b"data: [DONE]\n\n"
    assert replaying.result is not None and replaying.result.divergence is None


def test_responses_api_stream_is_assembled_from_its_final_event(cassette: Path) -> None:
    with FakeLLM([reply("Refunds take 5 days.")]) as llm:
        inputs = {"base_url": llm.openai_url, "question": QUESTION, "stream": True}
        with replay.record(cassette, input=inputs) as recording:
            from tests.http.agents import responses_support

            recording.set_result(responses_support(**inputs))

    step = replay.load_cassette(cassette).steps[0]
    assert step.result["message"]["content"] == "Refunds take 5 days."
    assert step.result["finish_reason"] == "completed"
    with replay.replaying(cassette) as replaying:
        from tests.http.agents import responses_support

        replaying.set_result(responses_support(**inputs))
    assert replaying.result is not None and replaying.result.diff.identical
