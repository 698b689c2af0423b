"""litellm: a tool loop on ``litellm.completion`` recorded against the fake model server
and replayed offline."""

from __future__ import annotations

import pytest

from tests.frameworks.agents import services
from tests.frameworks.conftest import (
    assert_tool_error_reproduced_then_fixed,
    record,
    tool_order,
    verdict,
)

AGENT = "tests.frameworks.agents.litellm_agent:run"
FIXED = "tests.frameworks.agents.litellm_agent:run_fixed"
ASYNC = "tests.frameworks.agents.litellm_agent:arun"


@pytest.mark.parametrize("agent", [AGENT, ASYNC], ids=["completion", "acompletion-aiohttp"])
def test_a_healthy_run_replays_match(model_server, tmp_path, agent):
    cassette = record(agent, tmp_path, "ok", model=services.HEALTHY, server=model_server)
    assert (cassette.outcome.stop_reason, cassette.outcome.output) == (
        "completed",
        "Summary: rain, 7C",
    )
    assert [(s.kind, s.name) for s in cassette.steps] == [
        ("llm", services.HEALTHY),
        ("tool", "get_weather"),
        ("llm", services.HEALTHY),
    ]
    result = verdict(cassette)
    assert (result.kind.value, result.mode) == ("match", "evidence"), result.reason


def test_a_tool_error_is_reproduced_then_fixed(model_server, tmp_path):
    cassette = record(AGENT, tmp_path, "outage", model=services.BROKEN, server=model_server)
    assert_tool_error_reproduced_then_fixed(cassette, FIXED)


def test_the_step_limit_is_max_steps_reproduced_then_fixed(model_server, tmp_path):
    cassette = record(AGENT, tmp_path, "loop", model=services.LOOP, server=model_server)
    assert cassette.outcome.stop_reason == "max_steps"
    assert tool_order(cassette.steps) == ("Oslo", "Oslo", "Oslo")
    assert verdict(cassette).kind.value == "reproduced"
    repaired = verdict(cassette, agent=FIXED)
    assert (repaired.kind.value, repaired.mode) == ("fixed", "evidence"), repaired.reason
    assert repaired.replay.outcome.output == services.FALLBACK
