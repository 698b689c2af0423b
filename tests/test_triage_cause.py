"""Triage names the cause: the run's error class when the entrypoint reports its error as
text, and the model call a run failed on when no step recorded an error."""

from __future__ import annotations

import pytest

import replay
from replay.canonical import stable_hash
from replay.cassette import ErrorInfo, Outcome, Step
from replay.signals import compute_signals, inferred_error_span, run_error_class, signals_of
from replay.verdict import verdict_for

AGENT = "tests.agents.text_errors:run"
CARRIER = "tests.agents.text_errors.CarrierUnavailable"


@pytest.mark.parametrize("style", ["prefixed", "message"])
def test_an_error_reported_as_text_takes_the_failing_steps_class(tmp_path, style):
    path = tmp_path / f"{style}.yaml"
    cassette = replay.record_run(AGENT, path, input={"order_id": "A-7", "style": style})
    assert cassette.outcome.error is not None
    assert cassette.outcome.error.error_class == "error"  # what the entrypoint reported
    signals = signals_of(cassette)
    assert signals.error_class == CARRIER
    assert signals.hypotheses[0].name == "tool_failure"
    assert any("the run ended with" in line for line in signals.hypotheses[0].evidence)
    verdict = verdict_for(path, repeats=1)
    assert verdict.verdict == "reproduced"
    assert verdict.to_dict()["original"]["error_class"] == CARRIER


def step(index: int, kind: str, name: str, error: ErrorInfo | None = None) -> Step:
    return Step(index, kind, name, {}, stable_hash({}), error=error, latency_ms=5.0)


def text_failure(message: str) -> Outcome:
    return Outcome("exception", error=ErrorInfo("error", message))


def test_a_class_named_at_the_start_of_the_text_is_the_error_class():
    assert run_error_class((), text_failure("QuotaExceeded: daily limit reached")) == (
        "QuotaExceeded"
    )
    assert run_error_class((), text_failure("shop.errors.CarrierUnavailable: down")) == (
        "shop.errors.CarrierUnavailable"
    )


def test_text_that_names_no_class_keeps_the_generic_class():
    assert run_error_class((), text_failure("Note: the carrier was down")) == "error"
    assert run_error_class((), text_failure("carrier down")) == "error"


def test_the_step_named_by_the_text_wins_over_the_last_failing_step():
    steps = (
        step(0, "tool", "a", ErrorInfo("pkg.CarrierUnavailable", "down")),
        step(1, "tool", "b", ErrorInfo("builtins.KeyError", "'x'")),
    )
    outcome = text_failure("CarrierUnavailable: gave up after retries")
    assert run_error_class(steps, outcome) == "pkg.CarrierUnavailable"
    assert run_error_class(steps, text_failure("gave up")) == "builtins.KeyError"
    assert run_error_class(steps, text_failure("QuotaExceeded: no budget")) == "QuotaExceeded"


def test_a_reported_class_is_kept():
    steps = (step(0, "tool", "a", ErrorInfo("pkg.CarrierUnavailable", "down")),)
    outcome = Outcome("tool_error", error=ErrorInfo("pkg.BookingFailed", "no booking"))
    assert run_error_class(steps, outcome) == "pkg.BookingFailed"


def test_a_run_failed_after_a_model_answer_infers_that_llm_span():
    steps = (step(0, "clock", "now"), step(1, "tool", "t"), step(2, "llm", "gpt"))
    outcome = Outcome("step_error", error=ErrorInfo("pkg.MalformedToolCall", "bad JSON"))
    signals = compute_signals(steps, outcome)
    span = signals.first_error_span
    assert (span.index, span.kind, span.inferred) == (2, "llm", True)
    assert span.to_dict()["inferred"] is True
    assert "inferred" in span.describe()
    assert signals.hypotheses[0].name == "model_failure"


@pytest.mark.parametrize(
    "steps, outcome",
    [
        # a step recorded the error: that step is the first error span, not inferred
        (
            (step(0, "llm", "gpt"), step(1, "tool", "t", ErrorInfo("pkg.E", "x"))),
            Outcome("step_error", error=ErrorInfo("pkg.E", "x")),
        ),
        # the run failed after a tool call: nothing to infer about the model
        ((step(0, "llm", "gpt"), step(1, "tool", "t")), Outcome("exception")),
        # a loop stopped by the budget is not a failed answer
        ((step(0, "tool", "t"), step(1, "llm", "gpt")), Outcome("max_steps")),
        ((step(0, "llm", "gpt"),), Outcome("completed")),
    ],
)
def test_no_span_is_inferred_otherwise(steps, outcome):
    assert inferred_error_span(steps, outcome) is None
    first = compute_signals(steps, outcome).first_error_span
    assert first is None or not first.inferred
