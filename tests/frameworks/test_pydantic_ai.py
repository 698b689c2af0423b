"""pydantic-ai: an agent with parallel plain tools recorded against the fake model server
and replayed offline."""

from __future__ import annotations

import json

from tests.cli.conftest import cli
from tests.frameworks.agents import services
from tests.frameworks.conftest import (
    assert_loop_reproduced_then_fixed,
    assert_parallel_tools_match,
    assert_tool_error_reproduced_then_fixed,
    record,
)

AGENT = "tests.frameworks.agents.pydantic_ai_agent:run"
FIXED = "tests.frameworks.agents.pydantic_ai_agent:run_fixed"


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


def test_parallel_plain_tools_replay_match_every_time(model_server, tmp_path):
    cassette = record(AGENT, tmp_path, "parallel", model=services.PARALLEL, server=model_server)
    assert cassette.outcome.output == "Summary: rain, 9C | sun, 21C | no alerts in EU"
    assert_parallel_tools_match(cassette)


def test_a_tool_error_the_agent_raises_is_reproduced_then_fixed(model_server, tmp_path):
    cassette = record(AGENT, tmp_path, "outage", model=services.BROKEN, server=model_server)
    assert_tool_error_reproduced_then_fixed(cassette, FIXED)


def test_the_usage_limit_is_max_steps_reproduced_then_fixed(model_server, tmp_path):
    cassette = record(AGENT, tmp_path, "loop", model=services.LOOP, server=model_server)
    assert_loop_reproduced_then_fixed(cassette, FIXED, "pydantic_ai.exceptions.UsageLimitExceeded")
