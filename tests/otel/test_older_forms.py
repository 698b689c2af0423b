"""The older GenAI forms: flattened ``gen_ai.prompt.{i}.*`` / ``gen_ai.completion.{i}.*``
attributes (a real OpenLLMetry 0.53.4 export, ``older_forms/``) and per-message
``gen_ai.*.message`` / ``gen_ai.choice`` events (log records generated here by OpenLLMetry
0.62 with ``use_attributes=False``; span events written with the OTel SDK). Each imports
with its content, and the loop incident replays through the real agent."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from examples.support_agent.traced import otlp_json_lines
from replay.otel.read import read_runs
from replay.otel.to_cassette import import_trace
from replay.signals import signals_of
from tests.otel.conftest import cli, generate

LEGACY = Path(__file__).parent / "older_forms" / "openllmetry-0.53.4__run_d77c.otlp.jsonl"
RELEASED = "examples.support_agent.agent:run"
FIXED = "examples.support_agent.fixed:run"
SYSTEM = "You are a support agent for an online shop. Answer from the help centre. Today is "
QUESTION = "Can I return an opened item?"
SEARCH = {"query": "returns opened item"}


@pytest.fixture(scope="module")
def events(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("events")
    made = {}
    for name, extra in (("content", ()), ("no-content", ("--no-content",))):
        out = folder / f"{name}.otlp.jsonl"
        generate(
            "-m", "examples.support_agent.traced", "--out", str(out),
            "--instrumentation", "openllmetry-events", *extra,
        )  # fmt: skip
        made[name] = out
    return made


def _cassette(path: Path):
    (run,) = list(read_runs(path))
    return import_trace(run)


def _check_loop_incident(cassette, how: str, finish_reason: str) -> None:
    llm = [s for s in cassette.steps if s.kind == "llm"]
    assert [s.kind for s in cassette.steps] == ["llm", "tool"] * 5
    first = llm[0].args["messages"]
    assert [m["role"] for m in first] == ["system", "user"]
    assert first[0]["content"].startswith(SYSTEM)
    assert first[1]["content"] == QUESTION
    # The second request carries the first answer's tool call and the tool's result.
    second = llm[1].args["messages"]
    assert [m["role"] for m in second] == ["system", "user", "assistant", "tool"]
    assert second[2]["tool_calls"][0]["name"] == "search_docs"
    assert second[2]["tool_calls"][0]["arguments"] == SEARCH
    assert json.loads(second[3]["content"])[0]["topic"] == "returns"
    answer = llm[0].result
    assert answer["message"]["tool_calls"][0]["arguments"] == SEARCH
    assert answer["finish_reason"] == finish_reason
    assert cassette.outcome.stop_reason == "max_steps"
    assert signals_of(cassette).repeated_tools == {"search_docs": 5}
    assert cassette.provenance["content_captured"] is True
    assert any(how in note for note in cassette.provenance["reconstructed"])


def test_flattened_attributes_of_openllmetry_0_53_import_with_their_content():
    cassette = _cassette(LEGACY)
    _check_loop_incident(cassette, "flattened gen_ai.prompt / gen_ai.completion", "tool_calls")
    tools = cassette.steps[0].args["tools"]
    assert [t["name"] for t in tools] == ["search_docs", "get_order", "create_ticket"]
    assert tools[1]["parameters"]["required"] == ["order_id"]
    assert cassette.steps[1].args == SEARCH


def test_event_log_records_of_openllmetry_import_with_their_content(events):
    # 0.62 maps the span's finish reasons to the semconv word ("tool_call").
    _check_loop_incident(_cassette(events["content"]), "gen_ai.choice log records", "tool_call")


def test_event_records_without_content_are_triage_only(events):
    cassette = _cassette(events["no-content"])
    assert cassette.provenance["content_captured"] is False
    assert cassette.outcome.stop_reason == "max_steps"


@pytest.mark.parametrize("form", ["flattened", "events"])
def test_the_older_forms_replay_the_incident_and_verify_the_fix(form, events, tmp_path):
    trace = LEGACY if form == "flattened" else events["content"]
    imported = tmp_path / f"{form}.yaml"
    assert cli("import", trace, "-o", imported).code == 0
    reproduced = cli("run", imported, "--agent", RELEASED, "-n", "2", "--json")
    assert reproduced.code == 1, reproduced
    assert reproduced.json()["verdict"] == "reproduced"
    assert reproduced.json()["mode"] == "hypothesis"
    assert reproduced.json()["diff"]["changes"] == []
    fixed = cli("run", imported, "--agent", FIXED, "-n", "1", "--json")
    assert fixed.code == 0, fixed
    assert fixed.json()["verdict"] == "fixed"


def test_span_events_of_the_semconv_event_form(tmp_path):
    """One chat span whose content is in span events, each event's fields as attributes
    (tool calls as JSON text): the messages and the answer are read from them."""
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("my.instrumentation")
    function = {"name": "get_order", "arguments": '{"order_id": "A-7"}'}
    call = {"id": "c1", "type": "function", "function": function}
    with tracer.start_as_current_span(
        "chat gpt-4o-mini",
        attributes={"gen_ai.operation.name": "chat", "gen_ai.request.model": "gpt-4o-mini"},
    ) as span:
        span.add_event("gen_ai.system.message", {"gen_ai.system": "openai", "content": "Be brief."})
        span.add_event("gen_ai.user.message", {"content": "Where is A-7?"})
        span.add_event("gen_ai.assistant.message", {"tool_calls": json.dumps([call])})
        span.add_event("gen_ai.tool.message", {"content": '{"status": "shipped"}', "id": "c1"})
        span.add_event(
            "gen_ai.choice",
            {"index": 0, "finish_reason": "stop", "message": '{"content": "It has shipped."}'},
        )
    path = tmp_path / "events.otlp.jsonl"
    path.write_text(otlp_json_lines(exporter.get_finished_spans()))
    cassette = _cassette(path)
    (step,) = cassette.steps
    assert step.args["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Where is A-7?"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [{"id": "c1", "name": "get_order", "arguments": {"order_id": "A-7"}}],
        },
        {"role": "tool", "content": '{"status": "shipped"}', "tool_call_id": "c1"},
    ]
    assert step.result["message"] == {"role": "assistant", "content": "It has shipped."}
    assert step.result["finish_reason"] == "stop"
    assert any("span events" in n for n in cassette.provenance["reconstructed"])
