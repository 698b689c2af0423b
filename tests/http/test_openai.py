"""A plain-openai tool agent: recorded from HTTP into one cassette, replayed offline."""

from __future__ import annotations

from pathlib import Path

import replay
from replay.testing.fake_llm import FakeLLM, reply, tool_call
from tests.http import agents

QUESTION = "How long do refunds take?"


def record_support(path: Path, llm: FakeLLM, entrypoint: str, **extra: object) -> replay.Cassette:
    inputs = {"base_url": llm.openai_url, "question": QUESTION, **extra}
    with replay.record(path, entrypoint=entrypoint, input=inputs) as recording:
        fn = replay.engine.import_entrypoint(entrypoint)
        recording.set_result(replay.engine.call_entrypoint(fn, inputs))
    return replay.load_cassette(path)


def test_tool_agent_is_one_cassette_in_true_order(fake_llm: FakeLLM, cassette: Path) -> None:
    fake_llm.add(tool_call("search_docs", {"query": "refunds"}), reply("Refunds take 5 days."))

    recorded = record_support(cassette, fake_llm, "tests.http.agents:openai_support")

    assert recorded.outcome.output == "Refunds take 5 days."
    assert [(s.kind, s.name) for s in recorded.steps] == [
        ("llm", "gpt-4o-mini"),
        ("tool", "search_docs"),
        ("llm", "gpt-4o-mini"),
    ]
    first, tool, second = recorded.steps
    assert first.args["endpoint"] == "POST /v1/chat/completions"
    assert first.args["messages"][0] == {"role": "system", "content": agents.SYSTEM}
    assert first.args["tools"][0]["function"]["name"] == "search_docs"
    assert first.result["message"]["tool_calls"] == [
        {"id": "call_fake_0001_0", "name": "search_docs", "arguments": {"query": "refunds"}}
    ]
    assert first.result["finish_reason"] == "tool_calls"
    assert first.result["usage"]["input_tokens"] > 0
    assert tool.args == {"query": "refunds"}
    assert second.args["messages"][-1]["role"] == "tool"
    assert second.result["message"]["content"] == "Refunds take 5 days."
    assert isinstance(second.latency_ms, float) and second.latency_ms >= 0.0
    assert first.started_at_ms <= tool.started_at_ms <= second.started_at_ms
    assert second.http["request"]["method"] == "POST"
    assert second.http["request"]["url"].endswith("/v1/chat/completions")
    assert second.http["response"]["status"] == 200
    assert '"Refunds take 5 days."' in second.http["response"]["body"]
    assert recorded.context.model == "gpt-4o-mini"
    assert not list(cassette.parent.glob("*.yml")), "no separate vcrpy file"


def test_replay_with_the_server_down_is_identical(cassette: Path) -> None:
    with FakeLLM([tool_call("search_docs", {"query": "refunds"}), reply("5 days.")]) as llm:
        record_support(cassette, llm, "tests.http.agents:openai_support")
        served = len(llm.requests)

    result = replay.replay(cassette)

    assert served == 2
    assert result.divergence is None
    assert result.diff.identical
    assert result.outcome.output == "5 days."
    assert [s.kind for s in result.history] == ["llm", "tool", "llm"]


def test_a_prompt_change_diverges_at_the_step_with_the_message_diff(cassette: Path) -> None:
    with FakeLLM([tool_call("search_docs", {"query": "refunds"}), reply("5 days.")]) as llm:
        record_support(cassette, llm, "tests.http.agents:openai_support")

    result = replay.replay(cassette, agent="tests.http.agents:openai_support_new_prompt")

    divergence = result.divergence
    assert divergence is not None
    assert (divergence.step, divergence.kind, divergence.name) == (0, "llm", "gpt-4o-mini")
    assert divergence.nearest_step == 0
    assert any(
        line.startswith("args.messages[0].content:")
        and "'You are a support agent. Use the tools.'" in line
        and "'You are a terse support agent.'" in line
        for line in divergence.args_diff
    ), divergence.args_diff
    assert "step 0: llm call 'gpt-4o-mini' diverged" in divergence.message
    assert result.outcome.stop_reason == "diverged"
    assert not result.diff.identical
    assert result.diff.changes[0].cause == "prompt changed"


def test_async_tool_agent_records_and_replays(cassette: Path) -> None:
    with FakeLLM([tool_call("search_docs", {"query": "refunds"}), reply("5 days.")]) as llm:
        recorded = record_support(cassette, llm, "tests.http.agents:openai_support_async")

    result = replay.replay(cassette)

    assert [s.kind for s in recorded.steps] == ["llm", "tool", "llm"]
    assert recorded.steps[0].http["request"]["headers"]["x-stainless-async"].startswith("async")
    assert result.divergence is None and result.diff.identical


def test_responses_api_is_parsed_into_the_common_shape(cassette: Path) -> None:
    with FakeLLM([reply("Refunds take 5 days.")]) as llm:
        recorded = record_support(cassette, llm, "tests.http.agents:responses_support")

    result = replay.replay(cassette)

    (step,) = recorded.steps
    assert step.args["endpoint"] == "POST /v1/responses"
    assert step.args["input"] == QUESTION
    assert step.result["message"]["content"] == "Refunds take 5 days."
    assert step.result["finish_reason"] == "completed"
    assert result.divergence is None and result.diff.identical
    assert result.outcome.output == "Refunds take 5 days."


def test_a_malformed_tool_call_is_recorded_as_evidence(cassette: Path) -> None:
    script = [tool_call("search_docs", '{"query": "refu'), reply("Sorry, try again.")]
    with FakeLLM(script) as llm:
        recorded = record_support(cassette, llm, "tests.http.agents:openai_support")

    (call,) = recorded.steps[0].result["message"]["tool_calls"]
    assert call["arguments"] == '{"query": "refu'
    assert call["arguments_error"].startswith("not valid JSON")
    assert replay.replay(cassette).diff.identical
