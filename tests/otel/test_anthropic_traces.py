"""Traces of an anthropic-SDK agent, generated with the SDK's native tracing (content
mode) alone and with openinference-instrumentation-anthropic beside it: the native span
next to the instrumentor's counts once, Anthropic messages are normalised, and replay
answers the real agent in the Anthropic wire format, streamed or not."""

from __future__ import annotations

from pathlib import Path

import pytest

from replay.otel.read import read_runs
from replay.otel.to_cassette import import_trace
from replay.signals import signals_of
from tests.otel.conftest import cli, generate

AGENT = "tests.otel.anthropic_agent:run"


def _export(folder: Path, name: str, *args: str) -> Path:
    out = folder / f"{name}.otlp.jsonl"
    generate("-m", "tests.otel.anthropic_agent", "--out", str(out), *args)
    return out


@pytest.fixture(scope="module")
def traces(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("anthropic")
    return {
        "native": _export(folder, "native"),
        "openinference-stream": _export(folder, "oi", "--openinference", "--stream"),
    }


def test_the_native_span_beside_openinference_counts_once(traces):
    (run,) = list(read_runs(traces["openinference-stream"]))
    assert sum(span.scope == "com.anthropic.sdk.python" for span in run.spans) == 3
    cassette = import_trace(run)
    assert [s.kind for s in cassette.steps] == ["llm", "tool", "tool", "llm", "tool", "llm"]
    assert cassette.provenance["duplicate_spans_dropped"] == 3
    assert cassette.provenance["instrumentation"][0] == "openinference (anthropic)"
    first = cassette.steps[0]
    assert first.args["messages"][0] == {
        "role": "system",
        "content": "You are a support agent. Use tools.",
    }
    assert first.result["finish_reason"] == "tool_use"


def test_native_tracing_alone_gives_the_same_steps_and_signals(traces):
    (run,) = list(read_runs(traces["native"]))
    cassette = import_trace(run)
    signals = signals_of(cassette)
    assert cassette.provenance["instrumentation"][0] == "anthropic-native"
    assert [s.name for s in cassette.steps if s.kind == "tool"] == [
        "get_weather",
        "get_carrier_status",
        "get_weather",
    ]
    carrier = cassette.steps[2]
    assert carrier.result == {"error": "carrier API returned 503 for order A-17"}
    assert cassette.outcome.stop_reason == "completed"
    assert signals.tokens is not None and signals.tokens.calls == 3


@pytest.mark.parametrize("name", ["native", "openinference-stream"])
def test_replay_answers_the_real_agent_in_the_anthropic_format(traces, name, tmp_path):
    imported = tmp_path / f"{name}.yaml"
    assert cli("import", traces[name], "-o", imported).code == 0
    result = cli("run", imported, "--agent", AGENT, "-n", "1", "--json")
    assert result.code == 0, result
    verdict = result.json()
    assert (verdict["verdict"], verdict["mode"]) == ("match", "hypothesis")
    synthesized = [a for a in verdict["approximations"] if "synthesized" in a]
    assert synthesized and "anthropic.messages" in synthesized[0]
    assert ("as a stream" in synthesized[0]) == (name == "openinference-stream")
