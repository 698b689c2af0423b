"""Every real export in fixtures/ imports, with the signals the issue names."""

from __future__ import annotations

import pytest

from replay.otel.read import read_runs
from replay.otel.to_cassette import import_trace
from replay.signals import signals_of
from replay.storage import dumps
from tests.otel.conftest import FIXTURES, fixture

NAMES = sorted(
    p.name.removesuffix(".otlp.jsonl")
    for p in FIXTURES.glob("*.otlp.jsonl")
    if ".logs." not in p.name
)


def _imported(name: str):
    (run,) = list(read_runs(fixture(name)))
    return import_trace(run)


@pytest.mark.parametrize("name", NAMES)
def test_every_fixture_imports_with_release_workflow_and_provenance(name: str):
    cassette = _imported(name)
    assert cassette.context.release == "2026.11.3"
    assert cassette.context.workflow == "support_agent"
    assert cassette.context.model == "gpt-4o-mini"
    assert cassette.context.input
    assert cassette.provenance["source"] == "opentelemetry"
    assert cassette.provenance["content_captured"] is True
    assert cassette.provenance["duplicate_spans_dropped"] == 0
    assert all(step.span_id for step in cassette.steps)


@pytest.mark.parametrize("name", [n for n in NAMES if n.endswith(("__tools", "__tools_stream"))])
def test_tools_runs_complete_with_the_carrier_tool_as_first_error(name: str):
    cassette = _imported(name)
    signals = signals_of(cassette)
    assert cassette.outcome.stop_reason == "completed"
    assert [s.name for s in cassette.steps if s.kind == "tool"] == [
        "get_weather",
        "get_carrier_status",
        "get_weather",
    ]
    assert [s.kind for s in cassette.steps].count("llm") == 3
    assert signals.first_error_span is not None
    assert (signals.first_error_span.kind, signals.first_error_span.name) == (
        "tool",
        "get_carrier_status",
    )
    assert "503" in (signals.first_error_span.error_message or "")
    weather = next(s for s in cassette.steps if s.name == "get_weather")
    assert weather.args == {"city": "Paris"}
    assert weather.result["city"] == "Paris"
    assert cassette.provenance["stop_reason"]["inferred"] is True


@pytest.mark.parametrize("name", [n for n in NAMES if n.endswith("__loop")])
def test_loop_runs_stop_on_max_steps_with_get_ticket_repeated(name: str):
    cassette = _imported(name)
    signals = signals_of(cassette)
    assert cassette.outcome.stop_reason == "max_steps"
    assert signals.repeated_tools == {"get_ticket": 4}
    assert signals.hypotheses[0].name == "loop"
    assert "loop limit" in cassette.provenance["stop_reason"]["how"]


def test_pydantic_ai_tool_exception_ends_in_exception_with_its_class():
    cassette = _imported("pydantic-ai__tool_exception")
    signals = signals_of(cassette)
    assert cassette.outcome.stop_reason == "exception"
    assert cassette.outcome.error.error_class == "harness.CarrierUnavailable"
    assert signals.error_class.endswith("CarrierUnavailable")
    assert signals.first_error_span.name == "get_carrier_status"


def test_event_only_content_comes_from_the_logs_file():
    cassette = _imported("openai-v2-latest-events__tools")
    first = cassette.steps[0]
    assert first.kind == "llm"
    assert first.args["messages"][-1]["role"] == "user"
    assert [c["name"] for c in first.result["message"]["tool_calls"]] == [
        "get_weather",
        "get_carrier_status",
    ]
    weather = next(s for s in cassette.steps if s.name == "get_weather")
    assert weather.args == {"city": "Paris"}  # rebuilt: event-only tool spans carry no args
    assert any("rebuilt" in note for note in cassette.provenance["reconstructed"])


def test_llm_steps_hold_the_normalised_request_and_answer():
    cassette = _imported("openinference-openai__tools")
    first, last = cassette.steps[0], cassette.steps[-1]
    assert first.args["messages"][0]["role"] == "system"
    assert first.args["temperature"] == 0.0
    assert [t["function"]["name"] for t in first.args["tools"]][:2] == [
        "get_weather",
        "get_carrier_status",
    ]
    assert first.result["finish_reason"] == "tool_calls"
    assert first.result["usage"]["input_tokens"] == 43
    assert last.result["message"]["content"].startswith("Paris: 18 C")
    tool_messages = [m for m in last.args["messages"] if m["role"] == "tool"]
    assert "CarrierUnavailable" in tool_messages[1]["content"]


def test_secrets_in_a_trace_are_redacted_on_import(tmp_path):
    key = "sk-proj-" + "A1b2C3d4E5f6G7h8J9k0" * 2
    text = fixture("openinference-openai__tools").read_text()
    leaked = tmp_path / "leaked.otlp.jsonl"
    leaked.write_text(text.replace("where is my order A-17?", f"where is my order A-17? {key}"))
    (run,) = list(read_runs(leaked))
    cassette = import_trace(run)
    written = dumps(cassette)
    assert key not in written
    assert "<redacted>" in cassette.steps[0].args["messages"][1]["content"]
    assert "<redacted>" in cassette.context.input
