"""The anthropic SDK's tool runner, recorded against the fake model server and replayed
offline (the runner reports a tool's error to the model; the agent ends the run)."""

from __future__ import annotations

from tests.cli.conftest import cli
from tests.frameworks.agents import services
from tests.frameworks.conftest import (
    assert_tool_error_reproduced_then_fixed,
    record,
    tool_order,
    verdict,
)

AGENT = "tests.frameworks.agents.anthropic_runner_agent:run"
FIXED = "tests.frameworks.agents.anthropic_runner_agent:run_fixed"


def test_a_healthy_run_replays_match_with_the_cli(model_server, tmp_path):
    cassette = record(AGENT, tmp_path, "ok", model=services.HEALTHY, server=model_server)
    assert (cassette.outcome.stop_reason, cassette.outcome.output) == (
        "completed",
        "Summary: rain, 7C",
    )
    assert [(s.kind, s.name) for s in cassette.steps] == [
        ("llm", services.HEALTHY),
        ("tool", "get_weather"),
        ("llm", services.HEALTHY),
    ]
    assert cassette.steps[0].http["request"]["url"].endswith("/v1/messages")
    result = cli("run", cassette.path, "--json")
    assert result.code == 0, result
    assert (result.json()["verdict"], result.json()["mode"]) == ("match", "evidence")


def test_a_tool_error_the_runner_reports_is_reproduced_then_fixed(model_server, tmp_path):
    cassette = record(AGENT, tmp_path, "outage", model=services.BROKEN, server=model_server)
    assert cassette.outcome.stop_reason == "tool_error"
    assert_tool_error_reproduced_then_fixed(cassette, FIXED, "error", stop_reason="tool_error")


def test_max_iterations_is_max_steps_reproduced_then_fixed(model_server, tmp_path):
    cassette = record(AGENT, tmp_path, "loop", model=services.LOOP, server=model_server)
    assert cassette.outcome.stop_reason == "max_steps"
    assert tool_order(cassette.steps) == ("Oslo", "Oslo", "Oslo")
    assert verdict(cassette).kind.value == "reproduced"
    repaired = verdict(cassette, agent=FIXED)
    assert (repaired.kind.value, repaired.mode) == ("fixed", "evidence"), repaired.reason
    assert repaired.replay.outcome.output == services.FALLBACK
