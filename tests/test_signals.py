"""Triage signals and hypotheses on hand-built cassettes (pure functions, no I/O)."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from replay.canonical import stable_hash
from replay.cassette import Cassette, ErrorInfo, Outcome, RunContext, Step
from replay.signals import (
    compute_signals,
    first_error_span,
    repeated_tools,
    retries,
    signals_of,
    slowest_span,
    token_usage,
)


def step(
    index: int,
    kind: str,
    name: str,
    args: Any = None,
    *,
    result: Any = None,
    error: str | None = None,
    latency: float = 1.0,
) -> Step:
    args = {} if args is None else args
    return Step(
        index=index,
        kind=kind,
        name=name,
        args=args,
        args_hash=stable_hash(args),
        result=None if error else result,
        error=ErrorInfo(error, "boom") if error else None,
        latency_ms=latency,
    )


def steps_of(*specs: tuple) -> tuple[Step, ...]:
    """``("tool", "search", {"q": 1}, {"error": "x"})`` tuples, indexed in order."""
    out = []
    for index, spec in enumerate(specs):
        kind, name, *rest = spec
        args = rest[0] if rest else None
        options = rest[1] if len(rest) > 1 else {}
        out.append(step(index, kind, name, args, **options))
    return tuple(out)


def cassette(steps: tuple[Step, ...], outcome: Outcome, release: str | None = None) -> Cassette:
    context = RunContext(run_id="run_1", trace_id="t1", release=release, workflow="support")
    return Cassette(context=context, steps=steps, outcome=outcome)


def failed(stop_reason: str, error_class: str | None = None) -> Outcome:
    return Outcome(stop_reason, error=ErrorInfo(error_class, "boom") if error_class else None)


COMPLETED = Outcome("completed", output="ok")


# --- single signals ---------------------------------------------------------------


def test_first_error_span_is_the_first_failing_step():
    steps = steps_of(
        ("llm", "gpt"),
        ("tool", "search", {"q": 1}, {"error": "builtins.TimeoutError", "latency": 30}),
        ("tool", "fetch", {}, {"error": "builtins.KeyError"}),
    )
    span = first_error_span(steps)
    assert (span.index, span.kind, span.name, span.error_class) == (
        1,
        "tool",
        "search",
        "TimeoutError",
    )
    assert span.latency_ms == 30
    assert span.describe() == "#1 tool search (TimeoutError, 30 ms)"
    assert first_error_span(steps_of(("llm", "gpt"))) is None


def test_slowest_span_ignores_clock_uuid_and_random_reads():
    steps = steps_of(
        ("clock", "now", {}, {"latency": 900}),
        ("llm", "gpt", {}, {"latency": 120}),
        ("tool", "search", {}, {"latency": 450}),
        ("uuid", "uuid4", {}, {"latency": 800}),
        ("random", "random", {}, {"latency": 700}),
    )
    span = slowest_span(steps)
    assert (span.index, span.name, span.latency_ms) == (2, "search", 450)
    assert slowest_span(steps_of(("clock", "now"))) is None


def test_slowest_span_tie_goes_to_the_earliest_step():
    steps = steps_of(("tool", "a", {}, {"latency": 5}), ("tool", "b", {}, {"latency": 5}))
    assert slowest_span(steps).name == "a"


def test_repeated_tools_counts_calls_with_identical_arguments_only():
    steps = steps_of(
        ("tool", "search", {"q": "refund"}),
        ("tool", "search", {"q": "refund"}),
        ("tool", "search", {"q": "refund"}),
        ("tool", "search", {"q": "other"}),
        ("tool", "fetch", {"id": 1}),
        ("tool", "fetch", {"id": 2}),
        ("llm", "gpt", {"m": 1}),
        ("llm", "gpt", {"m": 1}),
    )
    assert repeated_tools(steps) == {"search": 3}


def test_retries_follow_a_failure_of_the_same_call():
    steps = steps_of(
        ("tool", "search", {"q": 1}, {"error": "builtins.TimeoutError"}),
        ("tool", "search", {"q": 1}, {"error": "builtins.TimeoutError"}),
        ("tool", "search", {"q": 1}),
        ("tool", "fetch", {"id": 1}),
        ("tool", "fetch", {"id": 1}),  # a repeat after a success is not a retry
    )
    assert retries(steps) == {"search": 2}


@pytest.mark.parametrize(
    "result",
    [
        {"usage": {"prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120}},
        {"usage": {"input_tokens": 100, "output_tokens": 20}},
        {"body": {"id": "msg_1", "usage": {"input_tokens": 100, "output_tokens": 20}}},
    ],
    ids=["openai", "anthropic", "nested"],
)
def test_token_usage_reads_both_key_styles(result):
    steps = steps_of(
        ("llm", "gpt", {"m": 1}, {"result": result}),
        ("llm", "gpt", {"m": 2}, {"result": result}),
        ("tool", "search", {}, {"result": {"usage": {"input_tokens": 999}}}),  # not a model
        ("llm", "gpt", {"m": 3}, {"result": "plain text"}),
    )
    usage = token_usage(steps)
    assert (usage.input_tokens, usage.output_tokens, usage.total_tokens, usage.calls) == (
        200,
        40,
        240,
        2,
    )


def test_no_usage_recorded_means_no_token_signal():
    assert token_usage(steps_of(("llm", "gpt", {}, {"result": {"text": "hi"}}))) is None


# --- hypotheses --------------------------------------------------------------------


def top(signals) -> tuple[str, str]:
    return signals.hypotheses[0].name, signals.conclusion


def test_a_tool_outage_with_retries():
    steps = steps_of(
        ("llm", "gpt", {"m": 1}),
        ("tool", "search", {"q": 1}, {"error": "shop.SearchTimeout"}),
        ("tool", "search", {"q": 1}, {"error": "shop.SearchTimeout"}),
    )
    signals = compute_signals(steps, failed("tool_error", "shop.SearchTimeout"))
    assert top(signals) == ("tool_failure", "tool degraded + retries")
    evidence = " ".join(signals.hypotheses[0].evidence)
    assert "#1 tool search" in evidence and "retry" in evidence
    assert signals.first_error_span.index == 1
    assert signals.error_class == "shop.SearchTimeout"


def test_a_single_tool_failure_without_retries():
    steps = steps_of(("tool", "search", {"q": 1}, {"error": "builtins.ConnectionError"}))
    signals = compute_signals(steps, failed("tool_error", "builtins.ConnectionError"))
    assert top(signals) == ("tool_failure", "tool failure")


def test_a_tool_that_failed_but_the_run_recovered():
    steps = steps_of(
        ("tool", "search", {"q": 1}, {"error": "builtins.TimeoutError"}),
        ("tool", "search", {"q": 1}),
    )
    signals = compute_signals(steps, COMPLETED)
    assert top(signals) == ("tool_degraded", "tool degraded, run recovered")


def test_a_tool_rejecting_its_arguments_points_at_the_model():
    steps = steps_of(
        ("llm", "gpt", {"m": 1}),
        ("tool", "refund", {"amount": "all"}, {"error": "builtins.ValueError"}),
    )
    signals = compute_signals(steps, failed("tool_error", "builtins.ValueError"))
    names = [h.name for h in signals.hypotheses]
    assert names[0] == "model_bad_tool_args"
    assert "tool_failure" in names


def test_a_loop_without_an_explicit_error():
    steps = steps_of(
        ("llm", "gpt", {"turn": 1}),
        ("tool", "search", {"q": "status"}),
        ("llm", "gpt", {"turn": 2}),
        ("tool", "search", {"q": "status"}),
        ("llm", "gpt", {"turn": 3}),
        ("tool", "search", {"q": "status"}),
    )
    signals = compute_signals(steps, Outcome("max_steps"))
    assert top(signals) == ("loop", "loop without explicit error")
    assert signals.repeated_tools == {"search": 3}


def test_max_steps_without_repeated_calls_is_a_budget_problem():
    steps = steps_of(("tool", "search", {"q": 1}), ("tool", "search", {"q": 2}))
    signals = compute_signals(steps, Outcome("max_steps"))
    assert top(signals) == ("step_budget_exhausted", "step budget exhausted")


def test_a_model_failure_after_a_release():
    steps = steps_of(("tool", "search", {"q": 1}), ("llm", "gpt", {"m": 1}))
    c = cassette(steps, failed("step_error", "agent.MalformedToolCall"), release="2026.11.3")
    signals = signals_of(c)
    assert top(signals) == ("model_failure", "model failure after release 2026.11.3")
    assert signals.run_id == "run_1" and signals.release == "2026.11.3"


def test_a_model_failure_without_a_release():
    steps = steps_of(("llm", "gpt", {"m": 1}))
    assert top(compute_signals(steps, failed("step_error", "builtins.ValueError")))[1] == (
        "model failure"
    )


def test_a_failing_model_call():
    steps = steps_of(("llm", "gpt", {"m": 1}, {"error": "openai.RateLimitError"}))
    signals = compute_signals(steps, failed("exception", "openai.RateLimitError"))
    assert top(signals) == ("model_call_failed", "model call failed")


def test_an_exception_in_the_agents_own_code():
    steps = steps_of(("llm", "gpt", {"m": 1}), ("tool", "search", {"q": 1}))
    signals = compute_signals(steps, failed("exception", "builtins.KeyError"))
    assert top(signals) == ("agent_error", "agent code error")


def test_a_truncated_model_answer():
    truncated = {"choices": [{"finish_reason": "length", "message": {"content": "..."}}]}
    steps = steps_of(("llm", "gpt", {"m": 1}, {"result": truncated}))
    signals = compute_signals(steps, failed("step_error", "builtins.ValueError"))
    names = [h.name for h in signals.hypotheses]
    assert "output_truncated" in names
    assert "model_failure" in names


def test_a_slow_tool_in_a_healthy_run_is_a_latency_bottleneck():
    steps = steps_of(
        ("llm", "gpt", {}, {"latency": 100}),
        ("tool", "search", {}, {"latency": 900}),
    )
    signals = compute_signals(steps, COMPLETED)
    assert top(signals) == ("latency_bottleneck", "latency bottleneck: search")


def test_a_slow_model_in_a_healthy_run_is_just_healthy():
    steps = steps_of(
        ("llm", "gpt", {}, {"latency": 900}),
        ("tool", "search", {}, {"latency": 100}),
    )
    signals = compute_signals(steps, COMPLETED)
    assert top(signals) == ("healthy", "completed without errors")
    assert [h.name for h in signals.hypotheses] == ["healthy", "latency_bottleneck"]


def test_a_failure_nothing_explains():
    signals = compute_signals((), Outcome("cancelled"))
    assert top(signals) == ("unexplained", "failure without a recorded cause (cancelled)")


def test_a_diverged_run():
    signals = compute_signals((), failed("diverged", "replay.errors.Divergence"))
    assert top(signals)[0] == "replay_diverged"


def test_hypotheses_are_ranked_by_score():
    steps = steps_of(
        ("tool", "search", {"q": 1}, {"error": "builtins.TimeoutError", "latency": 900}),
        ("llm", "gpt", {}, {"latency": 10}),
    )
    ranked = compute_signals(steps, failed("tool_error")).hypotheses
    # tool failure: 0.6 + 0.25 (the run ended with tool_error) + 0.05 (a timeout reads as
    # availability); latency: a tool took 900 of 910 ms, 0.25 + 0.35 * 900 / 910
    assert [(h.name, round(h.score, 4)) for h in ranked] == [
        ("tool_failure", 0.9),
        ("latency_bottleneck", 0.5962),
    ]


def test_a_later_rule_with_a_higher_score_ranks_first():
    """The tool rule runs before the latency rule, but scores lower here: a run that
    recovered from one timeout (0.45) whose failed call took 900 of 1000 ms (0.25 + 0.35
    * 0.9 = 0.565)."""
    steps = steps_of(
        ("tool", "search", {"q": 1}, {"error": "builtins.TimeoutError", "latency": 900}),
        ("tool", "search", {"q": 1}, {"result": ["doc"], "latency": 50}),
        ("llm", "gpt", {}, {"latency": 50}),
    )
    ranked = compute_signals(steps, Outcome("completed")).hypotheses
    assert [(h.name, round(h.score, 4)) for h in ranked] == [
        ("latency_bottleneck", 0.565),
        ("tool_degraded", 0.45),
    ]


# --- the value ---------------------------------------------------------------------


def test_signals_are_frozen_and_serialise_with_the_documented_keys():
    steps = steps_of(
        ("clock", "now"),
        ("tool", "search", {"q": 1}, {"error": "builtins.TimeoutError", "latency": 12}),
    )
    signals = signals_of(cassette(steps, failed("tool_error", "builtins.TimeoutError")))
    with pytest.raises(dataclasses.FrozenInstanceError):
        signals.stop_reason = "completed"  # type: ignore[misc]
    data = signals.to_dict()
    assert {
        "run_id",
        "first_error_span",
        "slowest_span",
        "stop_reason",
        "error_class",
        "repeated_tools",
        "hypotheses",
        "conclusion",
    } <= set(data)
    assert data["first_error_span"] == {
        "index": 1,
        "kind": "tool",
        "name": "search",
        "error_class": "TimeoutError",
        "error_message": "boom",
        "latency_ms": 12,
        "inferred": False,
    }
    assert data["error_class"] == "TimeoutError"
    assert data["step_count"] == 2 and data["steps_by_kind"] == {"clock": 1, "tool": 1}
    assert data["conclusion"] == data["hypotheses"][0]["summary"]
    assert set(data["hypotheses"][0]) == {"name", "score", "summary", "evidence"}
