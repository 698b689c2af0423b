"""Honest outcomes: a ``replay.record()`` block left without ``set_result`` and without an
exception records that its ending is unknown, and nothing built on it claims evidence."""

from __future__ import annotations

from pathlib import Path

import pytest

import replay
from replay.cassette import cassette_from_dict
from replay.errors import CassetteError, EntrypointError
from replay.golden import GoldenError, add_to_golden
from replay.scenarios import ScenarioError, new_scenario
from replay.signals import signals_of
from replay.verdict import verdict_for
from tests.agents import text_errors, volatile_args


def record_without_result(path: Path, entrypoint: str, input: dict, run) -> None:
    with replay.record(path, entrypoint=entrypoint, input=input):
        run(**input)


@pytest.fixture
def unreported(tmp_path: Path) -> Path:
    """A healthy run recorded without reporting its ending."""
    path = tmp_path / "unreported.yaml"
    record_without_result(
        path, "tests.agents.volatile_args:run", {"order_id": "A-1"}, volatile_args.run
    )
    return path


def test_a_block_without_set_result_records_an_unknown_outcome(unreported):
    text = unreported.read_text()
    assert "stop_reason: unknown" in text and "completed" not in text
    outcome = replay.load_cassette(unreported, cache=False).outcome
    assert outcome.unknown and not outcome.failed
    assert outcome.note and "set_result" in outcome.note
    assert (outcome.output, outcome.error) == (None, None)


def test_set_result_and_exceptions_still_report_the_ending(tmp_path):
    with replay.record(tmp_path / "ok.yaml") as recording:
        recording.set_result(None)
    assert replay.load_cassette(tmp_path / "ok.yaml").outcome.stop_reason == "completed"
    with pytest.raises(RuntimeError), replay.record(tmp_path / "raised.yaml"):
        raise RuntimeError("boom")
    assert replay.load_cassette(tmp_path / "raised.yaml").outcome.stop_reason == "exception"


def _outcome_data(**outcome) -> dict:
    return {"version": 1, "run": {"run_id": "r", "trace_id": "t"}, "outcome": outcome, "steps": []}


@pytest.mark.parametrize(
    ("outcome", "field"),
    [
        ({"stop_reason": "unknown", "error": {"class": "E", "message": "m"}}, "outcome.error"),
        ({"stop_reason": "unknown", "output": "done"}, "outcome.output"),
        ({"stop_reason": "unknown", "note": ["a"]}, "outcome.note"),
    ],
)
def test_an_unknown_outcome_is_validated_on_load(outcome, field):
    with pytest.raises(CassetteError) as raised:
        cassette_from_dict(_outcome_data(**outcome), path="x.yaml")
    assert raised.value.field == field
    assert "x.yaml" in str(raised.value)


def test_triage_says_the_outcome_is_unknown(unreported):
    signals = signals_of(replay.load_cassette(unreported))
    assert signals.stop_reason == "unknown" and not signals.failed
    assert signals.hypotheses[0].name == "outcome_unknown"
    assert signals.conclusion == "outcome not recorded"
    assert all(h.name != "healthy" for h in signals.hypotheses)


def test_a_replay_against_an_unknown_outcome_is_a_hypothesis(unreported):
    verdict = verdict_for(unreported, repeats=2)
    assert (verdict.verdict, verdict.mode, verdict.exit_code) == ("match", "hypothesis", 2)
    assert "stop_reason unknown" in verdict.reason
    assert verdict.to_dict()["original"]["note"]


def test_a_failing_replay_against_an_unknown_outcome_is_not_a_reproduction(tmp_path):
    path = tmp_path / "failing.yaml"
    record_without_result(
        path, "tests.agents.text_errors:run", {"order_id": "A-7"}, text_errors.run
    )
    verdict = verdict_for(path, repeats=1)
    assert verdict.verdict != "reproduced" and verdict.mode == "hypothesis"
    assert "stop_reason tool_error" in verdict.reason and "unknown" in verdict.reason


def test_an_unknown_outcome_is_neither_an_incident_nor_a_golden_run(unreported, tmp_path):
    with pytest.raises(ScenarioError) as raised:
        new_scenario(
            replay.load_cassette(unreported), cassette_path="u.yaml", scenario_id="unknown-1"
        )
    assert "unknown" in str(raised.value)
    with pytest.raises(GoldenError) as refused:
        add_to_golden(unreported, to=tmp_path / "golden")
    assert "unknown" in str(refused.value)


def test_a_cassette_without_entrypoint_names_the_python_keyword(tmp_path):
    path = tmp_path / "bare.yaml"
    with replay.record(path) as recording:
        recording.set_result(volatile_args.run("A-1"))
    with pytest.raises(EntrypointError) as raised:
        replay.replay(path)
    assert "agent='module:function'" in str(raised.value)


def test_a_replaying_block_without_set_result_does_not_claim_the_recorded_ending(tmp_path):
    path = tmp_path / "ok.yaml"
    with replay.record(path) as recording:
        recording.set_result(volatile_args.run("A-1"))
    with replay.replaying(path) as replaying:
        volatile_args.run("A-1")
    result = replaying.result
    assert result is not None and result.divergence is None
    assert result.outcome.unknown and "set_result" in (result.outcome.note or "")
    assert not result.identical
    assert result.diff.outcome_change is not None
    assert result.diff.outcome_change.fields[0] == "stop_reason"
    with replay.replaying(path) as replaying:
        replaying.set_result(volatile_args.run("A-1"))
    assert replaying.result is not None and replaying.result.identical
