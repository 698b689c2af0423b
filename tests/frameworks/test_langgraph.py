"""langgraph + langchain-openai: a ToolNode agent recorded against the fake model server
and replayed offline."""

from __future__ import annotations

import json

import replay
from replay.verdict import judge
from tests.cli.conftest import cli
from tests.frameworks.agents import services
from tests.frameworks.conftest import (
    assert_loop_reproduced_then_fixed,
    assert_parallel_tools_match,
    assert_tool_error_reproduced_then_fixed,
    record,
    tool_order,
)

AGENT = "tests.frameworks.agents.langgraph_agent:run"
FIXED = "tests.frameworks.agents.langgraph_agent:run_fixed"


def test_a_healthy_run_replays_match_with_the_cli(model_server, tmp_path):
    cassette = record(AGENT, tmp_path, "ok", model=services.HEALTHY, server=model_server)
    assert cassette.outcome.stop_reason == "completed"
    assert cassette.outcome.output == "Summary: rain, 7C"
    assert [(s.kind, s.name) for s in cassette.steps] == [
        ("llm", services.HEALTHY),
        ("tool", "get_weather"),
        ("llm", services.HEALTHY),
    ]
    result = cli("run", cassette.path, "--json")
    assert result.code == 0, result
    assert json.loads(result.stdout)["verdict"] == "match"


def test_tool_node_threads_replay_match_every_time(model_server, tmp_path):
    cassette = record(AGENT, tmp_path, "parallel", model=services.PARALLEL, server=model_server)
    assert cassette.outcome.output == "Summary: rain, 7C | sun, 21C | no alerts in EU"
    assert_parallel_tools_match(cassette)


def test_a_tool_error_the_tool_node_raises_is_reproduced_then_fixed(model_server, tmp_path):
    cassette = record(AGENT, tmp_path, "outage", model=services.BROKEN, server=model_server)
    assert_tool_error_reproduced_then_fixed(cassette, FIXED)


def test_the_recursion_limit_is_max_steps_reproduced_then_fixed(model_server, tmp_path):
    cassette = record(AGENT, tmp_path, "loop", model=services.LOOP, server=model_server)
    assert_loop_reproduced_then_fixed(cassette, FIXED, "langgraph.errors.GraphRecursionError")


def test_two_concurrent_tool_errors_reproduce_every_time(model_server, tmp_path):
    """Which failing call reached the boundary first is a race; the failing step the
    verdict compares is the one that started first, in the recording and in every replay."""
    cassette = record(AGENT, tmp_path, "storm", model=services.STORM, server=model_server)
    assert cassette.outcome.error_class == "tests.frameworks.agents.services.WeatherUnavailable"
    assert sorted(tool_order(cassette.steps)) == ["Atlantis", "Atlantis"]
    assert all(s.error is not None for s in cassette.steps if s.kind == "tool")
    results = [replay.replay(cassette) for _ in range(30)]
    for result in results:
        assert judge(cassette, [result]).kind.value == "reproduced", result.diff.to_dict()
    assert judge(cassette, results).kind.value == "reproduced"
