"""Verdicts from real replays of a real agent: each reached by a real code change."""

from __future__ import annotations

import itertools

import pytest

import replay
from replay.verdict import FailureSignature, VerdictKind, verdict_for

AGENT = "tests.agents.core_support"
_counter = itertools.count()


def flaky_run(question: str, max_steps: int = 4, retries: int = 2) -> dict:
    """Uncaptured nondeterminism: a module-level counter decides the search query."""
    from tests.agents import core_support

    core_support.search_docs(question if next(_counter) % 2 else question + "?")
    return {"stop_reason": "completed", "output": None}


def test_reproduced_then_fixed(tmp_path, backend):
    backend["search_fails"] = 10
    path = tmp_path / "incident.yaml"
    replay.record_run(f"{AGENT}:run", path, input={"question": "refund"})
    verdict = verdict_for(path, repeats=3)
    assert verdict.kind is VerdictKind.REPRODUCED and verdict.mode == "evidence"
    assert verdict.exit_code == 1 and len(verdict.results) == 3
    data = verdict.to_dict()
    assert data["original"]["stop_reason"] == "tool_error"
    assert data["original"]["failing_step"] == {"index": 2, "kind": "tool", "name": "search_docs"}
    fixed = verdict_for(path, agent=f"{AGENT}:run_graceful", repeats=2)
    assert fixed.kind is VerdictKind.FIXED and fixed.exit_code == 0
    assert fixed.to_dict()["replay"]["stop_reason"] == "completed"


def test_match_regressed_and_diverged(tmp_path, backend):
    path = tmp_path / "healthy.yaml"
    replay.record_run(f"{AGENT}:run", path, input={"question": "refund"})
    assert verdict_for(path).kind is VerdictKind.MATCH
    diverged = verdict_for(path, agent=f"{AGENT}:run_changed_prompt")
    assert diverged.kind is VerdictKind.DIVERGED and diverged.mode == "hypothesis"
    assert diverged.first_divergence == 2 and diverged.exit_code == 2
    regressed = verdict_for(path, agent=f"{AGENT}:crash", repeats=1)
    assert regressed.kind is VerdictKind.REGRESSED and regressed.mode == "evidence"


def test_regressed_when_a_healthy_run_now_fails(tmp_path, backend):
    path = tmp_path / "crash.yaml"
    replay.record_run(f"{AGENT}:crash", path, input={"question": "refund"})
    healthy = tmp_path / "ok.yaml"
    with replay.record(healthy, entrypoint=f"{AGENT}:crash", input={"question": "refund"}) as rec:
        from tests.agents import core_support

        rec.set_result(core_support.search_docs("refund"))
    verdict = verdict_for(healthy, repeats=2)
    assert verdict.kind is VerdictKind.REGRESSED
    assert "now ends with stop_reason exception (RuntimeError)" in verdict.reason


def test_flaky_when_replays_disagree(tmp_path, backend):
    path = tmp_path / "flaky.yaml"
    replay.record_run(f"{__name__}:flaky_run", path, input={"question": "q"})
    verdict = verdict_for(path, agent=f"{__name__}:flaky_run", repeats=3)
    assert verdict.kind is VerdictKind.FLAKY and verdict.flaky_step == 0
    assert verdict.exit_code == 2


def test_failure_signature_of_a_cassette(tmp_path, backend):
    backend["search_fails"] = 10
    path = tmp_path / "incident.yaml"
    cassette = replay.record_run(f"{AGENT}:run", path, input={"question": "refund"})
    signature = FailureSignature.of(cassette.steps, cassette.outcome)
    assert signature.key == (
        "tool_error",
        "tests.agents.core_support.SearchTimeout",
        "tool",
        "search_docs",
    )


def test_repeats_must_be_positive(tmp_path, backend):
    path = tmp_path / "x.yaml"
    replay.record_run(f"{AGENT}:run", path, input={"question": "q"})
    with pytest.raises(ValueError, match=r"^repeats must be at least 1$"):
        verdict_for(path, repeats=0)


def test_the_failing_step_is_the_one_that_started_first():
    """Two tool calls ran at once and both failed; which took the lower index was a race,
    and a replayed step keeps the recorded timing: the signature must not depend on it."""
    from replay.canonical import stable_hash
    from replay.cassette import ErrorInfo, Outcome, Step

    def failed(index: int, name: str, started: float) -> Step:
        args = {"city": "Lemuria"}
        error = ErrorInfo(f"services.{name}Unavailable", "down")
        return Step(
            index,
            "tool",
            name,
            args,
            stable_hash(args),
            error=error,
            started_at_ms=started,
            latency_ms=50.0,
        )

    outcome = Outcome("exception", error=ErrorInfo("services.forecastUnavailable", "down"))
    recorded = [failed(0, "forecast", 10.0), failed(1, "alerts", 12.0)]
    replayed = [failed(0, "alerts", 12.0), failed(1, "forecast", 10.0)]
    first = FailureSignature.of(recorded, outcome)
    assert first.key == FailureSignature.of(replayed, outcome).key
    assert (first.step_name, first.step_index) == ("forecast", 0)
