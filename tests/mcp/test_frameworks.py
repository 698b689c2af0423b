"""openai-agents and pydantic-ai with tools from the orders MCP server, the models on the
fake LLM server: recorded live, replayed with the server command unavailable and the
HTTP port closed."""

from __future__ import annotations

from pathlib import Path

import pytest

from replay.engine import record_run
from replay.testing.fake_llm import reply, tool_call
from replay.verdict import verdict_for
from tests.mcp.server import MISSING

FRAMEWORKS = ["openai_agents", "pydantic_ai"]
TRANSPORTS = ["stdio", "http"]


def record(env, fake_llm, path: Path, framework: str, order_id: str, transport: str):
    fake_llm.add(tool_call("lookup_order", {"order_id": order_id}), reply(f"Order {order_id}: ok"))
    env.live()
    cassette = record_run(
        f"tests.mcp.agents:{framework}",
        path,
        input={"order_id": order_id, "transport": transport},
    )
    env.offline()
    return cassette


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_healthy_run_matches(env, fake_llm, tmp_path, framework, transport):
    cassette = record(env, fake_llm, tmp_path / "ok.yaml", framework, "A1", transport)
    assert cassette.outcome.stop_reason == "completed", cassette.outcome
    names = [(step.kind, step.name) for step in cassette.steps]
    assert ("tool", "orders.lookup_order") in names
    assert [kind for kind, _ in names].count("llm") == 2  # MCP traffic is no model call
    starts = env.starts()

    verdict = verdict_for(cassette, repeats=1)

    assert verdict.verdict == "match", verdict.reason
    assert env.starts() == starts


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_failing_tool_reproduces_and_fix_is_fixed(env, fake_llm, tmp_path, framework, transport):
    cassette = record(env, fake_llm, tmp_path / "fail.yaml", framework, MISSING, transport)
    assert cassette.outcome.error_class == "tests.mcp.agents.OrderLookupFailed", cassette.outcome
    failing = next(step for step in cassette.steps if step.error is not None)
    assert (failing.kind, failing.name) == ("tool", "orders.lookup_order")

    assert verdict_for(cassette, repeats=1).verdict == "reproduced"
    fixed = verdict_for(cassette, agent=f"tests.mcp.agents:{framework}_fixed", repeats=1)
    assert fixed.verdict == "fixed", fixed.reason
