"""A plain-anthropic tool agent: recorded from HTTP into one cassette, replayed offline."""

from __future__ import annotations

from pathlib import Path

import pytest

import replay
from replay.testing.fake_llm import FakeLLM, reply, tool_call
from tests.http import agents
from tests.http.test_openai import QUESTION


def record_anthropic(path: Path, entrypoint: str, script: list, **extra: object) -> replay.Cassette:
    with FakeLLM(script) as llm:
        inputs = {"base_url": llm.anthropic_url, "question": QUESTION, **extra}
        with replay.record(path, entrypoint=entrypoint, input=inputs) as recording:
            fn = replay.engine.import_entrypoint(entrypoint)
            recording.set_result(replay.engine.call_entrypoint(fn, inputs))
    return replay.load_cassette(path)


@pytest.mark.parametrize(
    "entrypoint",
    ["tests.http.agents:anthropic_support", "tests.http.agents:anthropic_support_async"],
)
def test_tool_use_agent_records_and_replays_offline(entrypoint: str, cassette: Path) -> None:
    script = [tool_call("search_docs", {"query": "refunds"}), reply("Refunds take 5 days.")]
    recorded = record_anthropic(cassette, entrypoint, script)

    result = replay.replay(cassette)

    assert [(s.kind, s.name) for s in recorded.steps] == [
        ("llm", agents.CLAUDE),
        ("tool", "search_docs"),
        ("llm", agents.CLAUDE),
    ]
    first = recorded.steps[0]
    assert first.args["endpoint"] == "POST /v1/messages"
    assert first.args["system"] == agents.SYSTEM
    assert first.args["tools"][0]["name"] == "search_docs"
    assert first.result["message"]["tool_calls"] == [
        {"id": "toolu_fake_0001_0", "name": "search_docs", "arguments": {"query": "refunds"}}
    ]
    assert first.result["finish_reason"] == "tool_use"
    assert recorded.steps[2].result["message"]["content"] == "Refunds take 5 days."
    assert recorded.steps[2].result["finish_reason"] == "end_turn"
    assert "anthropic-version" in first.http["request"]["headers"]
    assert result.divergence is None and result.diff.identical
    assert result.outcome.output == "Refunds take 5 days."
