"""openai-agents: Responses API (JSON and SSE) and chat completions models, recorded
against the fake model server and replayed offline."""

from __future__ import annotations

import pytest

from tests.cli.conftest import cli
from tests.frameworks.agents import services
from tests.frameworks.conftest import (
    assert_loop_reproduced_then_fixed,
    assert_parallel_tools_match,
    assert_tool_error_reproduced_then_fixed,
    record,
    verdict,
)

AGENT = "tests.frameworks.agents.openai_agents_agent:run"
FIXED = "tests.frameworks.agents.openai_agents_agent:run_fixed"
MODELS = [
    pytest.param({"api": "responses", "stream": False}, id="responses-json"),
    pytest.param({"api": "responses", "stream": True}, id="responses-sse"),
    pytest.param({"api": "chat", "stream": False}, id="chat-completions"),
]


@pytest.mark.parametrize("options", MODELS)
def test_a_healthy_run_replays_match(model_server, tmp_path, options):
    cassette = record(AGENT, tmp_path, "ok", model=services.HEALTHY, server=model_server, **options)
    assert (cassette.outcome.stop_reason, cassette.outcome.output) == (
        "completed",
        "Summary: rain, 7C",
    )
    assert [(s.kind, s.name) for s in cassette.steps] == [
        ("llm", services.HEALTHY),
        ("tool", "get_weather"),
        ("llm", services.HEALTHY),
    ]
    path = "/v1/responses" if options["api"] == "responses" else "/v1/chat/completions"
    assert cassette.steps[0].http["request"]["url"].endswith(path)
    result = verdict(cassette)
    assert (result.kind.value, result.mode) == ("match", "evidence"), result.reason


@pytest.mark.parametrize("options", MODELS)
def test_a_tool_error_raised_by_the_runner_is_reproduced_then_fixed(
    model_server, tmp_path, options
):
    cassette = record(
        AGENT, tmp_path, "outage", model=services.BROKEN, server=model_server, **options
    )
    assert_tool_error_reproduced_then_fixed(cassette, FIXED, "agents.exceptions.UserError")


def test_max_turns_is_max_steps_reproduced_then_fixed_with_the_cli(model_server, tmp_path):
    cassette = record(AGENT, tmp_path, "loop", model=services.LOOP, server=model_server)
    assert_loop_reproduced_then_fixed(cassette, FIXED, "agents.exceptions.MaxTurnsExceeded")
    released = cli("run", cassette.path, "--repeat", "1", "--json")
    assert released.code == 1, released
    assert released.json()["verdict"] == "reproduced"
    assert released.json()["replay"]["stop_reason"] == "max_steps"
    repaired = cli("run", cassette.path, "--agent", FIXED, "--repeat", "1", "--json")
    assert (repaired.code, repaired.json()["verdict"]) == (0, "fixed"), repaired


def test_sync_tools_run_in_threads_replay_match_every_time(model_server, tmp_path):
    cassette = record(AGENT, tmp_path, "parallel", model=services.PARALLEL, server=model_server)
    assert cassette.outcome.output == "Summary: rain, 9C | sun, 21C | no alerts in EU"
    assert_parallel_tools_match(cassette)
