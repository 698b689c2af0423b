"""Traces of an OpenAI Agents SDK agent via openinference-instrumentation-openai-agents
and via OpenLLMetry's opentelemetry-instrumentation-openai-agents: the tool error the SDK
redacts, "Max turns exceeded" as max_steps, the missing instructions and the changing
call ids tolerated, and replay answering the real agent in the Responses format."""

from __future__ import annotations

from pathlib import Path

import pytest

from replay.otel.read import read_runs
from replay.otel.to_cassette import UNKNOWN_ERROR, import_trace
from replay.signals import signals_of
from tests.otel.conftest import cli, generate

AGENT = "tests.otel.agents_sdk_agent:run"


INSTRUMENTATIONS = {"openinference": (), "openllmetry": ("--traceloop",)}


@pytest.fixture(scope="module")
def traces(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str], Path]:
    folder = tmp_path_factory.mktemp("agents")
    script = "import sys; from tests.otel.agents_sdk_agent import main; main(sys.argv[1:])"
    made = {}
    for name, flags in INSTRUMENTATIONS.items():
        for scenario in ("tools", "loop"):
            out = folder / f"{name}-{scenario}.otlp.jsonl"
            generate("-c", script, "--scenario", scenario, "--out", str(out), *flags)
            made[(name, scenario)] = out
    return made


def _cassette(path: Path):
    (run,) = list(read_runs(path))
    return import_trace(run)


@pytest.mark.parametrize("name", sorted(INSTRUMENTATIONS))
def test_tools_run_completes_with_the_redacted_tool_error_first(traces, name):
    cassette = _cassette(traces[(name, "tools")])
    signals = signals_of(cassette)
    assert cassette.outcome.stop_reason == "completed"
    assert cassette.context.workflow == "support_agent"
    assert [s.name for s in cassette.steps if s.kind == "tool"] == [
        "get_weather",
        "get_carrier_status",
        "get_weather",
    ]
    assert signals.first_error_span.name == "get_carrier_status"
    carrier = next(s for s in cassette.steps if s.name == "get_carrier_status")
    assert carrier.error.error_class == UNKNOWN_ERROR
    assert "redacted" in carrier.error.message
    assert cassette.provenance["instrumentation"][0].startswith(name)


@pytest.mark.parametrize("name", sorted(INSTRUMENTATIONS))
def test_max_turns_exceeded_is_max_steps_with_the_tool_repeated(traces, name):
    cassette = _cassette(traces[(name, "loop")])
    signals = signals_of(cassette)
    assert cassette.outcome.stop_reason == "max_steps"
    assert "Max turns exceeded" in cassette.provenance["stop_reason"]["how"]
    assert signals.repeated_tools == {"get_ticket": 4}


@pytest.mark.parametrize("name", sorted(INSTRUMENTATIONS))
@pytest.mark.parametrize(
    ("scenario", "verdict", "code"), [("tools", "match", 0), ("loop", "reproduced", 1)]
)
def test_replay_answers_the_real_agent_in_the_responses_format(
    traces, tmp_path, name, scenario, verdict, code
):
    imported = tmp_path / f"{scenario}.yaml"
    assert cli("import", traces[(name, scenario)], "-o", imported).code == 0
    result = cli("run", imported, "--agent", AGENT, "-n", "1", "--json")
    assert result.code == code, result
    data = result.json()
    assert (data["verdict"], data["mode"]) == (verdict, "hypothesis")
    assert any("responses wire format" in a for a in data["approximations"])
    assert any("system prompt not in the trace" in a for a in data["approximations"])
