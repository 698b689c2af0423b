"""The bundled example: its cassettes load, replay with their known verdicts, re-record
stably, and ``make demo``'s job ends with the expected table."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import replay
from examples.support_agent.record import record_runs
from examples.support_agent.scenarios import GOLDEN, INCIDENTS
from replay.signals import signals_of
from replay.verdict import VerdictKind, verdict_for
from tests.process import run_python

ROOT = Path(__file__).resolve().parents[2]
CASSETTES = ROOT / "cassettes"
FIXED = "examples.support_agent.fixed:run"
ALL = sorted(CASSETTES.rglob("*.yaml"))

# run_id: (verdict on the released code, verdict on the fixed code, conclusion)
INCIDENT_TABLE = {
    "run_9fd2": ("reproduced", "fixed", "tool degraded + retries"),
    "run_a113": ("reproduced", "diverged", "model failure after release 2026.11.3"),
    "run_d77c": ("reproduced", "fixed", "loop without explicit error"),
}


def test_the_bundle_has_three_incidents_and_a_golden_set():
    assert {p.stem for p in (CASSETTES / "incidents").glob("*.yaml")} == set(INCIDENT_TABLE)
    golden = list((CASSETTES / "golden").glob("*.yaml"))
    assert len(golden) >= 20
    workflows = {replay.load_cassette(p).context.workflow for p in golden}
    assert workflows == {"support", "orders", "escalation"}


@pytest.mark.parametrize("path", ALL, ids=lambda p: p.stem)
def test_every_bundled_cassette_loads_with_no_secret(path):
    cassette = replay.load_cassette(path, cache=False)
    assert cassette.context.entrypoint == "examples.support_agent.agent:run"
    assert "sk-demo" not in path.read_text()


@pytest.mark.parametrize("run_id", sorted(INCIDENT_TABLE))
def test_incidents_replay_with_their_verdicts(run_id):
    released, fixed, conclusion = INCIDENT_TABLE[run_id]
    path = CASSETTES / "incidents" / f"{run_id}.yaml"
    assert verdict_for(path, repeats=2).verdict == released
    fix = verdict_for(path, agent=FIXED, repeats=2)
    assert fix.verdict == fixed
    assert fix.mode == ("hypothesis" if fixed == "diverged" else "evidence")
    assert signals_of(replay.load_cassette(path)).conclusion == conclusion


@pytest.mark.parametrize("run_id", sorted(INCIDENT_TABLE))
def test_the_fixes_under_on_miss_nearest(run_id):
    """A fix that only drops calls stays evidence; run_a113's repair asks the model anew:
    if it answers as recorded (the malformed call again), the fix loops to max_steps."""
    fix = verdict_for(
        CASSETTES / "incidents" / f"{run_id}.yaml", agent=FIXED, repeats=2, on_miss="nearest"
    )
    if run_id != "run_a113":
        assert (fix.verdict, fix.mode, fix.assumed) == ("fixed", "evidence", ())
        return
    assert (fix.verdict, fix.mode) == ("regressed", "hypothesis")
    assert fix.replay.outcome.stop_reason == "max_steps"  # max_steps=5 model turns
    assert [(c.step, c.answered_by) for c in fix.assumed] == [(2, 1), (3, 1), (4, 1), (5, 1)]
    assert fix.headline == (
        "regressed, assuming the model answers as recorded after the prompt change "
        "(4 calls served by nearest)"
    )


def test_incident_signals_match_the_snapshot():
    rows = {}
    for run_id in INCIDENT_TABLE:
        signals = signals_of(replay.load_cassette(CASSETTES / "incidents" / f"{run_id}.yaml"))
        first = signals.first_error_span
        slowest = signals.slowest_span
        rows[run_id] = (
            first and (first.kind, first.name, first.inferred),
            (slowest.kind, slowest.name),
            signals.stop_reason,
        )
    # As the seed's snapshot: run_a113 failed on the model's answer (an HTTP 200 holding a
    # malformed tool call), so its first error span is that llm call, marked inferred.
    assert rows == {
        "run_9fd2": (("tool", "search_docs", False), ("tool", "search_docs"), "tool_error"),
        "run_a113": (("llm", "gpt-4o-mini", True), ("llm", "gpt-4o-mini"), "step_error"),
        "run_d77c": (None, ("llm", "gpt-4o-mini"), "max_steps"),
    }


@pytest.mark.parametrize(
    "path", sorted((CASSETTES / "golden").glob("*.yaml")), ids=lambda p: p.stem
)
def test_golden_runs_match_on_the_released_code(path):
    assert verdict_for(path, repeats=1).kind is VerdictKind.MATCH


_VOLATILE = [
    (re.compile(r"\d{4}-\d{2}-\d{2}(T[\d:.]+(\+00:00)?)?"), "<date>"),
    (re.compile(r"(started_at_ms|latency_ms): [\d.]+"), r"\1: <ms>"),
    (re.compile(r"args_hash: [0-9a-f]{16}"), "args_hash: <hash of args>"),
    (re.compile(r"127\.0\.0\.1:\d+"), "127.0.0.1:<port>"),
]


def _masked(text: str) -> str:
    for pattern, replacement in _VOLATILE:
        text = pattern.sub(replacement, text)
    return text


def test_rerecording_is_byte_stable_apart_from_timestamps(tmp_path):
    """args_hash is masked only because the prompt holds today's date; each re-recorded
    file is loaded, which checks every hash against its args."""
    written = record_runs(INCIDENTS, tmp_path / "incidents") + record_runs(
        GOLDEN, tmp_path / "golden"
    )
    assert len(written) == len(ALL)
    for path in written:
        replay.load_cassette(path, cache=False)
        committed = CASSETTES / path.relative_to(tmp_path)
        assert _masked(path.read_text()) == _masked(committed.read_text()), path.name


def test_demo_prints_the_verdicts_and_the_signals_table(tmp_path):
    def files() -> dict[Path, tuple[bytes, int, int]]:
        # an atomic rewrite, even to the same bytes, makes a new inode and mtime
        return {
            p: (p.read_bytes(), p.stat().st_ino, p.stat().st_mtime_ns)
            for p in sorted((ROOT / "scenarios").glob("*.yaml"))
        }

    scenarios = files()
    reports = tmp_path / "reports"
    shown = run_python("-m", "examples.demo", cwd=ROOT, env={"REPLAY_DEMO_REPORTS": str(reports)})
    assert shown.returncode == 0, shown.stdout + shown.stderr
    # replay run is read-only: the tracked scenarios of the incidents are not rewritten
    assert scenarios and files() == scenarios
    out = shown.stdout
    assert "Incident signals" in out and "Replay verdicts" in out
    assert re.search(r"run_9fd2\s+reproduced \(evidence\)\s+fixed \(evidence\)", out)
    # The fix's repair under on-miss nearest, then with live answers from the model server.
    assert re.search(r"run_a113\s+reproduced \(evidence\)\s+regressed \(hypothesis\)", out)
    assert re.search(r"run_a113 live\s+reproduced \(evidence\)\s+fixed \(evidence\)", out)
    assert "regressed, assuming the model answers as recorded after the prompt change" in out
    assert re.search(r"run_d77c\s+reproduced \(evidence\)\s+fixed \(evidence\)", out)
    assert re.search(r"run_9fd2\s+tool search_docs\s+tool", out)
    assert re.search(r"run_a113\s+llm gpt-4o-mini\s+llm gpt-4o-mini\s+step_error", out)
    assert re.search(r"\(inferred\)", out)
    # It ends with the HTML reports it wrote: each incident's run and fixed replay, golden.
    names = [
        f"{i}{kind}.html" for i in ("run_9fd2", "run_a113", "run_d77c") for kind in ("", ".fixed")
    ]
    assert sorted(p.name for p in reports.iterdir()) == sorted([*names, "golden.html"])
    golden = re.escape(str(reports / "golden.html"))
    assert re.search(rf"golden set on the released code +{golden}\n", out)
    assert f"open them in a browser: {reports.as_uri()}/" in out
