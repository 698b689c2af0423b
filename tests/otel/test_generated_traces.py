"""Traces generated here by the real instrumentation packages (OpenInference, the official
openai-v2, OpenLLMetry; OTel SDK in-memory exporter
-> the OTLP exporter's encoder -> OTLP/JSON) of the example agent's loop incident: they
import, triage right, and ``replay run`` reproduces the incident offline through the real
agent code; the fixed agent gets a verdict. Each trace is made in its own process (the
instrumentations patch the openai SDK process-wide)."""

from __future__ import annotations

from pathlib import Path

import pytest

from replay.otel.read import read_runs
from replay.otel.to_cassette import import_trace
from replay.signals import signals_of
from tests.otel.conftest import cli, generate
from tests.process import run_python

RELEASED = "examples.support_agent.agent:run"
FIXED = "examples.support_agent.fixed:run"


def _export(folder: Path, name: str, *args: str) -> Path:
    out = folder / f"{name}.otlp.jsonl"
    generate("-m", "examples.support_agent.traced", "--out", str(out), *args)
    return out


@pytest.fixture(scope="module")
def traces(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("traces")
    return {
        "openinference": _export(folder, "openinference", "--instrumentation", "openinference"),
        "openai-v2": _export(folder, "openai-v2", "--instrumentation", "openai-v2"),
        "openllmetry": _export(folder, "openllmetry", "--instrumentation", "openllmetry"),
        "both": _export(
            folder, "both", "--instrumentation", "openinference", "--instrumentation", "openai-v2"
        ),
        "no-content": _export(
            folder, "no-content", "--instrumentation", "openai-v2", "--no-content"
        ),
    }


def _cassette(path: Path):
    (run,) = list(read_runs(path))
    return import_trace(run)


@pytest.mark.parametrize("name", ["openinference", "openai-v2", "openllmetry"])
def test_the_loop_incident_triages_from_its_trace(traces, name):
    cassette = _cassette(traces[name])
    signals = signals_of(cassette)
    assert cassette.outcome.stop_reason == "max_steps"
    assert [s.kind for s in cassette.steps] == ["llm", "tool"] * 5
    assert signals.repeated_tools == {"search_docs": 5}
    assert signals.hypotheses[0].name == "loop"
    assert cassette.context.release == "2026.11.3"
    assert any("rebuilt without tool spans" in n for n in cassette.provenance["reconstructed"])


def test_openinference_records_the_agents_own_stop_reason_and_input(traces):
    cassette = _cassette(traces["openinference"])
    assert cassette.provenance["stop_reason"]["inferred"] is False
    assert cassette.context.input["question"] == "Can I return an opened item?"
    assert cassette.provenance["instrumentation"][0] == "openinference (openai)"


def test_two_instrumentations_on_one_client_count_each_model_call_once(traces):
    cassette = _cassette(traces["both"])
    assert [s.kind for s in cassette.steps].count("llm") == 5
    assert cassette.provenance["duplicate_spans_dropped"] == 5


@pytest.mark.parametrize("name", ["openinference", "openai-v2", "openllmetry"])
def test_replay_reproduces_the_incident_and_the_fix_gets_a_verdict(traces, name, tmp_path):
    imported = tmp_path / f"{name}.yaml"
    assert cli("import", traces[name], "-o", imported).code == 0
    reproduced = cli("run", imported, "--agent", RELEASED, "-n", "2", "--json")
    assert reproduced.code == 1, reproduced
    verdict = reproduced.json()
    assert verdict["verdict"] == "reproduced"
    assert verdict["mode"] == "hypothesis"
    assert any("synthesized" in a for a in verdict["approximations"])
    assert any("limit not in the trace" in a for a in verdict["approximations"])
    assert verdict["diff"]["changes"] == []
    fixed = cli("run", imported, "--agent", FIXED, "-n", "1", "--json")
    assert fixed.code == 0, fixed
    assert fixed.json()["verdict"] == "fixed"
    assert fixed.json()["mode"] == "hypothesis"
    human = cli("run", imported, "--agent", FIXED, "-n", "1")
    assert "a hypothesis because the replay rested on" in human.stdout


def test_a_changed_prompt_diverges_naming_the_message(traces, tmp_path):
    imported = tmp_path / "loop.yaml"
    assert cli("import", traces["openinference"], "-o", imported).code == 0
    changed = cli("run", imported, "--agent", "tests.otel.agents:reworded", "-n", "1", "--json")
    assert changed.code == 2, changed
    divergence = changed.json()["divergence"]
    assert divergence["kind"] == "llm"
    assert "messages[0].content" in divergence["reason"]


def test_without_captured_content_triage_works_and_replay_says_why_in_one_line(traces, tmp_path):
    inspected = cli("inspect", traces["no-content"], "--json")
    assert inspected.code == 0, inspected
    assert inspected.json()["stop_reason"] == "max_steps"
    assert inspected.json()["provenance"]["content_captured"] is False
    imported = tmp_path / "metadata-only.yaml"
    result = cli("import", traces["no-content"], "-o", imported)
    assert result.code == 0, result
    assert "can be triaged (replay inspect) but not replayed" in result.stderr
    replayed = cli("run", imported, "--agent", RELEASED)
    assert replayed.code == 3
    assert replayed.stderr.strip().count("\n") == 0
    assert "cannot replay: the trace holds no model content" in replayed.stderr


def test_a_trace_without_genai_spans_is_one_line(tmp_path):
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from examples.support_agent.traced import otlp_json_lines

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    with provider.get_tracer("web").start_as_current_span("GET /health"):
        pass
    path = tmp_path / "health.otlp.jsonl"
    path.write_text(otlp_json_lines(exporter.get_finished_spans()))
    result = cli("inspect", path)
    assert result.code == 3
    assert result.stderr.strip().count("\n") == 0
    assert "has no GenAI spans" in result.stderr and "GET /health" in result.stderr
    assert f"{path}:1" in result.stderr


def test_inspect_names_the_extra_to_install_without_opentelemetry_proto(traces):
    script = (
        "import sys; sys.modules['opentelemetry.proto'] = None; "
        "from replay.cli import main; main(sys.argv[1:])"
    )
    proc = run_python("-c", script, "inspect", traces["openinference"])
    assert proc.returncode == 3
    assert "pip install 'agent-replay[otel]'" in proc.stderr
    assert proc.stderr.strip().count("\n") == 0


def test_importing_replay_and_its_cli_loads_no_protobuf_or_opentelemetry():
    script = (
        "import sys, replay, replay.cli; "
        "print([m for m in sys.modules if m.startswith(('google.protobuf', 'opentelemetry'))])"
    )
    proc = run_python("-c", script, check=True)
    assert proc.stdout.strip() == "[]"
