"""The framework tests: real agent frameworks talking over HTTP to one fake model server.

The server answers from the request alone (the model name picks the scenario, the tool
results already sent pick the turn), so one server serves every test of the session.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import replay
from replay.cassette import Cassette
from replay.concurrent import concurrent_groups
from replay.testing.fake_llm import FakeLLM, ReceivedRequest, Reply, reply, tool_call, tool_calls
from replay.verdict import Verdict, judge
from tests.frameworks.agents import services


def weather_model(request: ReceivedRequest) -> Reply:
    """The scripted model: what it answers depends on the scenario and the turn."""
    results = [_text(r) for r in request.tool_results]
    model = request.model or ""
    if model == services.LOOP:
        return tool_call("get_weather", {"city": "Oslo"})
    if results:
        return reply("Summary: " + " | ".join(results))
    if model == services.BROKEN:
        return tool_call("get_weather", {"city": "Atlantis"})
    if model == services.PARALLEL:
        return tool_calls(
            ("get_weather", {"city": "Bergen"}),
            ("get_weather", {"city": "Rome"}),
            ("get_alerts", {"region": "EU"}),
        )
    return tool_call("get_weather", {"city": "Oslo"})


def _text(content: Any) -> str:
    if isinstance(content, list):
        return " ".join(
            _text(block.get("text", "")) for block in content if isinstance(block, dict)
        )
    return content if isinstance(content, str) else json.dumps(content)


@pytest.fixture(scope="session")
def model_server() -> Iterator[FakeLLM]:
    with FakeLLM(weather_model) as server:
        yield server


@pytest.fixture(autouse=True)
def _keys(monkeypatch: pytest.MonkeyPatch) -> None:
    """The SDKs want a key; the frameworks must not reach a real service."""
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-frameworks")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test-frameworks")
    for name in ("OPENAI_BASE_URL", "ANTHROPIC_BASE_URL", "LANGSMITH_TRACING"):
        monkeypatch.delenv(name, raising=False)


def record(
    entrypoint: str, folder: Path, name: str, *, model: str, server: FakeLLM, **extra: Any
) -> Cassette:
    """Record one run of ``entrypoint`` in-process against the fake server."""
    run_input = {"base_url": server.url, "model": model, **extra}
    return replay.record_run(entrypoint, folder / f"{name}.yaml", input=run_input)


def verdict(cassette: Cassette, *, agent: str | None = None, repeats: int = 2) -> Verdict:
    """Replay ``cassette`` in-process ``repeats`` times and judge it."""
    results = [replay.replay(cassette, agent=agent) for _ in range(repeats)]
    return judge(cassette, results)


def tool_order(steps: Any) -> tuple[str, ...]:
    """The tool calls of a history, by their one argument's value."""
    return tuple(next(iter(s.args.values())) for s in steps if s.kind == "tool")


def assert_parallel_tools_match(cassette: Cassette, replays: int = 50) -> set[tuple[str, ...]]:
    """Every in-process replay of a run with one turn of three concurrent tool calls is
    identical to the recording; returns the tool orders the replays took."""
    assert sorted(tool_order(cassette.steps)) == ["Bergen", "EU", "Rome"]
    assert concurrent_groups(cassette.steps) == [(1, 4)], "the three calls did not overlap"
    results = [replay.replay(cassette) for _ in range(replays)]
    for number, result in enumerate(results):
        assert result.identical, (number, result.diff.to_dict())
        assert judge(cassette, [result]).kind.value == "match"
    assert judge(cassette, results).kind.value == "match"
    return {tool_order(r.history) for r in results}


OUTAGE = "tests.frameworks.agents.services.WeatherUnavailable"


def assert_tool_error_reproduced_then_fixed(
    cassette: Cassette, fixed: str, error_class: str = OUTAGE, *, stop_reason: str = "exception"
) -> None:
    """The forecast outage surfaced by the framework (as ``error_class``) fails the run;
    replays fail the same way on recorded answers, and the fix completes on them."""
    assert cassette.outcome.stop_reason == stop_reason
    assert cassette.outcome.error_class == error_class
    failing = [s for s in cassette.steps if s.error is not None]
    assert [(s.kind, s.name, s.args) for s in failing] == [
        ("tool", "get_weather", {"city": "Atlantis"})
    ]
    assert failing[0].error.error_class == OUTAGE
    released = verdict(cassette)
    assert (released.kind.value, released.mode) == ("reproduced", "evidence"), released.reason
    repaired = verdict(cassette, agent=fixed)
    assert (repaired.kind.value, repaired.mode) == ("fixed", "evidence"), repaired.reason
    assert repaired.replay.outcome.output == services.FALLBACK


def assert_loop_reproduced_then_fixed(cassette: Cassette, fixed: str, error_class: str) -> None:
    """A loop the framework's own limit stopped is a max_steps ending, reproduced on
    recorded answers; the fix stops at the repeated call and completes."""
    assert cassette.outcome.stop_reason == "max_steps"
    assert cassette.outcome.error_class == error_class
    assert tool_order(cassette.steps).count("Oslo") >= 2
    released = verdict(cassette)
    assert (released.kind.value, released.mode) == ("reproduced", "evidence"), released.reason
    repaired = verdict(cassette, agent=fixed)
    assert (repaired.kind.value, repaired.mode) == ("fixed", "evidence"), repaired.reason
    assert repaired.replay.divergence is None
