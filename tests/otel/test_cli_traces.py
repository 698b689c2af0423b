"""``replay inspect`` on trace files and ``replay import``, through the real command."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from replay.storage import load_cassette
from tests.otel.conftest import FIXTURES, cli, fixture


def test_inspect_one_trace_gives_the_cassette_report_and_where_it_came_from():
    result = cli("inspect", fixture("openinference-openai__loop"))
    assert result.code == 0, result
    assert "max_steps (MaxStepsExceeded)" in result.stdout
    assert "get_ticket x4" in result.stdout
    assert "loop without explicit error" in result.stdout
    assert "stop_reason inferred: max_steps" in result.stdout
    assert "openinference (openai)" in result.stdout


def test_inspect_one_trace_json_has_the_signals_and_provenance():
    result = cli("inspect", fixture("pydantic-ai__tool_exception"), "--json")
    assert result.code == 0, result
    data = result.json()
    assert data["stop_reason"] == "exception"
    assert data["error_class"] == "harness.CarrierUnavailable"
    assert data["first_error_span"]["name"] == "get_carrier_status"
    assert data["provenance"]["instrumentation"] == ["pydantic-ai"]
    assert data["trace_id"] == "6ab052936b88022757b49dcc4a7bebac"


def test_inspect_many_runs_lists_failing_first_with_segments(tmp_path: Path):
    result = cli("inspect", FIXTURES, "--json")
    assert result.code == 0, result
    data = result.json()
    runs = data["runs"]
    assert len(runs) == 14
    failed = [run["failed"] for run in runs]
    assert failed == sorted(failed, reverse=True)
    assert sum(failed) == 5
    assert {run["stop_reason"] for run in runs if run["failed"]} == {"max_steps", "exception"}
    assert {run["release"] for run in runs} == {"2026.11.3"}
    tools = {seg["value"]: seg for seg in data["segments"]["tool"]}
    assert tools["get_carrier_status"]["failed"] == tools["get_carrier_status"]["total"] == 10
    assert data["segments"]["workflow"][0] == {
        "value": "support_agent",
        "total": 14,
        "failed": 5,
        "failure_rate": round(5 / 14, 4),
    }
    human = cli("inspect", FIXTURES)
    assert human.code == 0, human
    assert "14 runs, 5 failing" in human.stdout
    assert "By tool" in human.stdout
    assert all(len(line) <= 80 for line in human.stdout.splitlines())


def test_inspect_of_more_runs_than_the_table_shows_says_how_many_are_left_out(tmp_path: Path):
    """The terminal table stops at ``TABLE_RUNS`` runs, failing first, and says how many
    runs (and failing runs) it left out; ``--json`` still lists every one. The input is
    the real exports of the fixtures, each run copied under new trace ids."""
    from replay.cli.traces import TABLE_RUNS

    templates = []
    for source in sorted(FIXTURES.glob("*.otlp.jsonl")):
        if ".logs." not in source.name:
            for line in source.read_text().splitlines():
                span = json.loads(line)["resourceSpans"][0]["scopeSpans"][0]["spans"][0]
                templates.append((line, span["traceId"]))
    day = tmp_path / "day.jsonl"
    count = TABLE_RUNS + len(templates)
    with day.open("w", encoding="utf-8") as out:
        for number in range(count):
            line, trace_id = templates[number % len(templates)]
            out.write(line.replace(trace_id, f"{number + 1:04x}{'ab' * 14}") + "\n")

    every = cli("inspect", day, "--json")
    assert every.code == 0, every
    runs = every.json()["runs"]
    assert len(runs) == count
    failing = sum(run["failed"] for run in runs)
    shown_failing = sum(run["failed"] for run in runs[:TABLE_RUNS])

    human = cli("inspect", day)
    assert human.code == 0, human
    assert f"{count} runs, {failing} failing" in human.stdout
    left = count - TABLE_RUNS
    assert (
        f"... and {left} more runs ({failing - shown_failing} of them failing): "
        "replay inspect --json lists every run"
    ) in " ".join(human.stdout.split())
    listed = [run["trace_id"][:12] for run in runs]
    assert all(trace in human.stdout for trace in listed[:TABLE_RUNS])
    assert not any(trace in human.stdout for trace in listed[TABLE_RUNS:])


def test_import_writes_a_cassette_that_loads_and_names_its_provenance(tmp_path: Path):
    out = tmp_path / "loop.yaml"
    result = cli("import", fixture("openai-v2-latest__loop"), "-o", out)
    assert result.code == 0, result
    assert "stop_reason max_steps" in result.stdout
    cassette = load_cassette(out)
    assert cassette.outcome.stop_reason == "max_steps"
    assert cassette.provenance["instrumentation"] == ["openai-v2 (util-genai)"]
    assert [s.kind for s in cassette.steps] == ["llm", "tool"] * 4


def test_import_many_needs_a_trace_id_or_an_out_dir(tmp_path: Path):
    folder = tmp_path / "traces"
    folder.mkdir()
    for name in ("pydantic-ai__loop", "pydantic-ai__tools"):
        shutil.copy(fixture(name), folder)
    refused = cli("import", folder, "-o", tmp_path / "x.yaml")
    assert refused.code == 3
    assert "holds several runs" in refused.stderr and "--trace-id" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1
    picked = cli("import", folder, "--trace-id", "195FBD2E", "-o", tmp_path / "one.yaml", "--json")
    assert picked.code == 0, picked
    assert picked.json()["stop_reason"] == "max_steps"
    everything = cli("import", folder, "--out-dir", tmp_path / "all", "--json")
    assert everything.code == 0, everything
    assert len(everything.json()["imported"]) == 2
    assert len(list((tmp_path / "all").glob("*.yaml"))) == 2
    missing = cli("import", folder, "--trace-id", "ffff", "-o", tmp_path / "none.yaml")
    assert missing.code == 3
    assert "no trace id starting with 'ffff'" in missing.stderr


def test_bad_trace_input_is_one_line_on_stderr(tmp_path: Path):
    metrics = tmp_path / "metrics.jsonl"
    metrics.write_text('{"resourceMetrics": [{"scopeMetrics": []}]}\n')
    result = cli("inspect", metrics)
    assert result.code == 3
    assert result.stderr.strip().count("\n") == 0
    assert f"{metrics}:1: this line holds metrics" in result.stderr
    truncated = tmp_path / "cut.jsonl"
    truncated.write_text(fixture("pydantic-ai__tools").read_text()[:5000] + "\n")
    result = cli("import", truncated, "-o", tmp_path / "x.yaml")
    assert result.code == 3
    assert f"{truncated}:1: not valid JSON (truncated" in result.stderr
    assert "Traceback" not in result.stderr
