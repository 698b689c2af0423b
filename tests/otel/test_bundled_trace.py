"""The production-trace incident ``make demo`` shows: the bundled OTLP/JSON trace of the
example agent's loop incident, exported by its OpenInference-traced deployment."""

from __future__ import annotations

from replay.otel.read import read_runs
from replay.otel.to_cassette import import_trace
from replay.signals import signals_of
from replay.verdict import verdict_for
from tests.otel.conftest import REPO

TRACE = REPO / "cassettes" / "traces" / "run_d77c.otlp.jsonl"


def test_the_bundled_trace_triages_imports_reproduces_and_verifies_the_fix():
    (run,) = list(read_runs(TRACE))
    cassette = import_trace(run)
    signals = signals_of(cassette)
    assert (cassette.outcome.stop_reason, signals.conclusion) == (
        "max_steps",
        "loop without explicit error",
    )
    assert cassette.context.input["question"] == "Can I return an opened item?"
    assert "sk-" not in TRACE.read_text()
    released = verdict_for(cassette, agent="examples.support_agent.agent:run", repeats=2)
    assert (released.verdict, released.mode) == ("reproduced", "hypothesis")
    fixed = verdict_for(cassette, agent="examples.support_agent.fixed:run", repeats=1)
    assert (fixed.verdict, fixed.mode) == ("fixed", "hypothesis")
    assert any("clock is not traced" in a for a in fixed.approximations)
