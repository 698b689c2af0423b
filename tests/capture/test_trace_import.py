"""The cassette of a trace: a run captured inside an instrumented service carries the
trace's id and each model call's span id, so ``replay import`` of the same trace lines up
with the captured cassette step by step."""

from __future__ import annotations

import pytest

import replay
from tests.process import run_python, run_replay


@pytest.mark.slow
def test_the_captured_cassette_lines_up_with_the_imported_trace(tmp_path):
    made = run_python("-m", "tests.capture.traced_capture", tmp_path, timeout=300)
    assert made.returncode == 0, made.stderr
    imported_path = tmp_path / "imported.yaml"
    done = run_replay("import", tmp_path / "trace.otlp.jsonl", "-o", imported_path)
    assert done.code == 0, done.stderr

    (captured_path,) = (tmp_path / "incidents").rglob("*.yaml")
    captured = replay.load_cassette(captured_path)
    imported = replay.load_cassette(imported_path)

    assert captured.context.trace_id == imported.context.trace_id
    calls = [s for s in captured.steps if s.kind in ("llm", "tool")]
    assert [(s.kind, s.name) for s in calls] == [(s.kind, s.name) for s in imported.steps]
    model_spans = [s.span_id for s in captured.steps if s.kind == "llm"]
    assert model_spans == [s.span_id for s in imported.steps if s.kind == "llm"]
    assert len(set(model_spans)) == len(model_spans) == 5
    assert captured.outcome.stop_reason == imported.outcome.stop_reason == "max_steps"
