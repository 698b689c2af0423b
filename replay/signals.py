"""Triage signals of one recorded run, and ranked hypotheses about what went wrong.

Pure functions over a cassette's steps and outcome (no I/O, no clock): where the first
error is, which span was slowest, which tools were called again with the same arguments,
how many tokens the model used, and a ranked list of guesses (``Hypothesis``) with the
evidence behind each. ``signals_of(cassette).conclusion`` is the top guess in a few
words, e.g. "tool degraded + retries" or "loop without explicit error".

The hypotheses are heuristics: their ``score`` (0..1) ranks them, it is not a
probability. Names: tool_failure, tool_degraded, model_bad_tool_args, model_call_failed,
model_failure, output_truncated, loop, step_budget_exhausted, repeated_calls,
agent_error, replay_diverged, latency_bottleneck, healthy, unexplained, outcome_unknown.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from replay.canonical import short_class_name
from replay.cassette import CALL_KINDS, Cassette, Outcome, RunContext, Step
from replay.usage import tokens_of

# Error classes that say "the service was unavailable or slow", not "the call was wrong".
_AVAILABILITY_WORDS = (
    "timeout",
    "connection",
    "unavailable",
    "ratelimit",
    "rate_limit",
    "overloaded",
    "internalserver",
    "servererror",
    "apierror",
    "503",
    "502",
    "504",
)
# Error classes that say "the arguments were wrong": for a tool, often the model's doing.
_BAD_INPUT_WORDS = ("valueerror", "typeerror", "keyerror", "validation", "badrequest", "invalid")
_TRUNCATION_REASONS = frozenset({"length", "max_tokens", "max_output_tokens"})


@dataclass(frozen=True, slots=True)
class Span:
    """One step as a triage signal names it: index, kind, name, error class, latency."""

    index: int
    kind: str
    name: str
    latency_ms: float
    error_class: str | None = None
    error_message: str | None = None
    inferred: bool = False

    @classmethod
    def of(cls, step: Step, *, inferred: bool = False) -> Span:
        return cls(
            index=step.index,
            kind=step.kind,
            name=step.name,
            latency_ms=step.latency_ms,
            error_class=short_class_name(step.error.error_class) if step.error else None,
            error_message=step.error.message if step.error else None,
            inferred=inferred,
        )

    def describe(self) -> str:
        """``#3 tool lookup_order (TimeoutError, 1.20 s)``: the form tables show."""
        details = [bare_class_name(self.error_class)] if self.error_class else []
        details.append(format_ms(self.latency_ms))
        if self.inferred:
            details.append("inferred")
        return f"#{self.index} {self.kind} {self.name} ({', '.join(details)})"

    def to_dict(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "kind": self.kind,
            "name": self.name,
            "error_class": self.error_class,
            "error_message": self.error_message,
            "latency_ms": self.latency_ms,
            "inferred": self.inferred,
        }


@dataclass(frozen=True, slots=True)
class TokenUsage:
    """Tokens reported by the model calls that carried a ``usage`` block."""

    input_tokens: int
    output_tokens: int
    calls: int

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens

    def to_dict(self) -> dict[str, Any]:
        return {
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "total_tokens": self.total_tokens,
            "calls": self.calls,
        }


@dataclass(frozen=True, slots=True)
class Hypothesis:
    """A guess at what went wrong: a stable ``name``, a ranking ``score`` (0..1), a
    ``summary`` short enough for a table cell, and the ``evidence`` lines behind it."""

    name: str
    score: float
    summary: str
    evidence: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "score": round(self.score, 2),
            "summary": self.summary,
            "evidence": list(self.evidence),
        }


@dataclass(frozen=True, slots=True)
class RunSignals:
    """The debugging signals of one run, and the hypotheses they support, ranked."""

    run_id: str | None
    stop_reason: str
    error_class: str | None
    error_message: str | None
    first_error_span: Span | None
    slowest_span: Span | None
    repeated_tools: dict[str, int]
    retries: dict[str, int]
    step_count: int
    steps_by_kind: dict[str, int]
    total_latency_ms: float
    wall_ms: float
    tokens: TokenUsage | None
    hypotheses: tuple[Hypothesis, ...]
    release: str | None = None
    workflow: str | None = None
    failed: bool = field(default=False)

    @property
    def conclusion(self) -> str:
        """The top hypothesis in a few words (the last column of an incident table)."""
        return self.hypotheses[0].summary if self.hypotheses else "no signal"

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "release": self.release,
            "workflow": self.workflow,
            "stop_reason": self.stop_reason,
            "error_class": self.error_class,
            "error_message": self.error_message,
            "failed": self.failed,
            "first_error_span": self.first_error_span.to_dict() if self.first_error_span else None,
            "slowest_span": self.slowest_span.to_dict() if self.slowest_span else None,
            "repeated_tools": dict(self.repeated_tools),
            "retries": dict(self.retries),
            "step_count": self.step_count,
            "steps_by_kind": dict(self.steps_by_kind),
            "total_latency_ms": round(self.total_latency_ms, 3),
            "wall_ms": round(self.wall_ms, 3),
            "tokens": self.tokens.to_dict() if self.tokens else None,
            "conclusion": self.conclusion,
            "hypotheses": [h.to_dict() for h in self.hypotheses],
        }


def format_ms(ms: float) -> str:
    """``850 ms`` below a second, ``1.25 s`` above, ``0.08 ms`` below a millisecond."""
    if ms >= 1000:
        return f"{ms / 1000:.2f} s"
    if ms >= 10:
        return f"{ms:.0f} ms"
    return f"{ms:.1f} ms" if ms >= 1 else f"{ms:.2f} ms"


def bare_class_name(error_class: str | None) -> str | None:
    """``OrdersUnavailable`` for ``shop.tools.OrdersUnavailable``: for narrow columns."""
    return error_class.rpartition(".")[2] if error_class else error_class


def first_error_span(steps: Sequence[Step]) -> Span | None:
    """The first step (in history order) that recorded an error."""
    failing = next((step for step in steps if step.error is not None), None)
    return Span.of(failing) if failing is not None else None


# The stop reasons of a run that failed in the agent's own handling of an answer.
_FAILED_ON_ANSWER = ("step_error", "exception")


def inferred_error_span(steps: Sequence[Step], outcome: Outcome) -> Span | None:
    """The model call a failed run most likely failed on, when no step recorded an error:
    the run ended with ``step_error``/``exception`` right after an LLM step (an HTTP 200
    whose answer the agent could not use, e.g. a malformed tool call). Marked ``inferred``:
    the step itself succeeded."""
    if not outcome.failed or outcome.stop_reason not in _FAILED_ON_ANSWER:
        return None
    if any(step.error is not None for step in steps):
        return None
    last = next((s for s in reversed(steps) if s.kind in CALL_KINDS), None)
    return Span.of(last, inferred=True) if last is not None and last.kind == "llm" else None


# What ``error_class`` an entrypoint's outcome gets when it reports its error as text.
_GENERIC_ERROR_CLASSES = frozenset({"error", "Error", "exception", "Exception"})
# ``CarrierUnavailable: ...`` / ``shop.errors.CarrierUnavailable: ...`` at the start of a
# message: a class name (CamelCase, or ending like one) then a colon.
_CLASS_PREFIX = re.compile(
    r"^\s*((?:[A-Za-z_]\w*\.)*(?:[A-Z][a-z0-9]+(?:[A-Z][A-Za-z0-9]*)+|[A-Z]\w*"
    r"(?:Error|Exception|Timeout|Exceeded)))\s*:"
)


def run_error_class(steps: Sequence[Step], outcome: Outcome) -> str | None:
    """The class of the error that ended the run, as ``module.QualName`` when known.

    The outcome's own class, unless it is the generic one an entrypoint gets by
    reporting its error as text (``{"error": "CarrierUnavailable: ..."}``); then the
    failing step that the text names (by class, else by message), else the class the
    text starts with, else the last failing step's. With no error reported at all: the
    first failing step's class, if any.
    """
    reported = outcome.error_class
    if reported and reported not in _GENERIC_ERROR_CLASSES:
        return reported
    failing = [
        step.error
        for step in sorted(steps, key=lambda s: (s.started_at_ms, s.index))
        if step.error is not None
    ]
    if outcome.error is None:
        return failing[0].error_class if failing else None
    message = outcome.error.message
    named = _CLASS_PREFIX.match(message)
    if named:
        bare = named.group(1).rpartition(".")[2]
        for error in failing:
            if error.error_class.rpartition(".")[2] == bare:
                return error.error_class
    for error in reversed(failing):
        if error.message and error.message in message:
            return error.error_class
    if named:
        return named.group(1)
    return failing[-1].error_class if failing else reported


def timed_steps(steps: Sequence[Step]) -> list[Step]:
    """Tool and LLM steps: clock/uuid/random reads take no real time worth ranking, and an
    MCP session's setup (``mcp`` steps) is not a call the agent chose."""
    return [step for step in steps if step.kind in CALL_KINDS]


def slowest_span(steps: Sequence[Step]) -> Span | None:
    """The tool or LLM step with the largest latency (the earliest one on a tie)."""
    candidates = timed_steps(steps)
    if not candidates:
        return None
    slowest = max(candidates, key=lambda step: (step.latency_ms, -step.index))
    return Span.of(slowest)


def repeated_tools(steps: Sequence[Step]) -> dict[str, int]:
    """Per tool, how many of its calls repeat another call's exact arguments.

    ``{"search_docs": 3}`` means three calls of ``search_docs`` shared their args hash
    with another call (for instance the same search made three times).
    """
    groups = Counter((step.name, step.args_hash) for step in steps if step.kind == "tool")
    counts: Counter[str] = Counter()
    for (name, _), size in groups.items():
        if size > 1:
            counts[name] += size
    return dict(sorted(counts.items()))


def retries(steps: Sequence[Step]) -> dict[str, int]:
    """Per tool or model, how many calls repeat a call with the same args that failed."""
    failed: set[tuple[str, str, str]] = set()
    counts: Counter[str] = Counter()
    for step in steps:
        if step.kind not in CALL_KINDS:
            continue
        if step.key in failed:
            counts[step.name] += 1
        if step.error is not None:
            failed.add(step.key)
    return dict(sorted(counts.items()))


def loop_repeats(steps: Sequence[Step]) -> dict[str, int]:
    """Per tool, calls that repeat an identical call that had succeeded: a loop, not a
    retry (a retry follows a failure)."""
    succeeded: set[tuple[str, str, str]] = set()
    counts: Counter[str] = Counter()
    for step in steps:
        if step.kind != "tool":
            continue
        if step.key in succeeded:
            counts[step.name] += 1
        if step.error is None:
            succeeded.add(step.key)
    return dict(sorted(counts.items()))


def token_usage(steps: Sequence[Step]) -> TokenUsage | None:
    """Tokens summed over LLM steps whose result carries a ``usage`` block (read by
    ``replay.usage.tokens_of``, as the release diff reads them); None when none does."""
    input_tokens = output_tokens = calls = 0
    for step in steps:
        if step.kind != "llm":
            continue
        tokens = tokens_of(step.result)
        if tokens is None:
            continue
        calls += 1
        input_tokens += tokens[0]
        output_tokens += tokens[1]
    if calls == 0:
        return None
    return TokenUsage(input_tokens=input_tokens, output_tokens=output_tokens, calls=calls)


def truncated_outputs(steps: Sequence[Step]) -> list[Step]:
    """LLM steps whose answer was cut by the token limit (finish/stop reason says so)."""
    return [step for step in steps if step.kind == "llm" and _finish_reason(step.result)]


def _finish_reason(result: Any) -> bool:
    if not isinstance(result, Mapping):
        return False
    reasons = [result.get("finish_reason"), result.get("stop_reason")]
    choices = result.get("choices")
    if isinstance(choices, list):
        reasons.extend(c.get("finish_reason") for c in choices if isinstance(c, Mapping))
    details = result.get("incomplete_details")
    if isinstance(details, Mapping):
        reasons.append(details.get("reason"))
    return any(isinstance(r, str) and r in _TRUNCATION_REASONS for r in reasons)


def signals_of(cassette: Cassette) -> RunSignals:
    """The signals of a recorded run (see ``compute_signals``)."""
    return compute_signals(cassette.steps, cassette.outcome, context=cassette.context)


def compute_signals(
    steps: Sequence[Step], outcome: Outcome, *, context: RunContext | None = None
) -> RunSignals:
    """Every signal of one run's steps and outcome, with ranked hypotheses."""
    first_error = first_error_span(steps)
    error_class = short_class_name(run_error_class(steps, outcome))
    error_message = (
        outcome.error.message
        if outcome.error
        else (first_error.error_message if first_error else None)
    )
    timed = timed_steps(steps)
    total = sum(step.latency_ms for step in timed)
    wall = max((step.started_at_ms + step.latency_ms for step in steps), default=0.0)
    facts = _Facts(
        steps=steps,
        outcome=outcome,
        release=context.release if context else None,
        first_error=first_error,
        error_class=error_class,
        error_message=error_message,
        slowest=slowest_span(steps),
        total_latency_ms=total,
        repeated=repeated_tools(steps),
        retries=retries(steps),
        loops=loop_repeats(steps),
        truncated=truncated_outputs(steps),
    )
    return RunSignals(
        run_id=context.run_id if context else None,
        release=context.release if context else None,
        workflow=context.workflow if context else None,
        stop_reason=outcome.stop_reason,
        error_class=error_class,
        error_message=error_message,
        failed=outcome.failed,
        first_error_span=first_error or inferred_error_span(steps, outcome),
        slowest_span=facts.slowest,
        repeated_tools=facts.repeated,
        retries=facts.retries,
        step_count=len(steps),
        steps_by_kind=dict(Counter(step.kind for step in steps)),
        total_latency_ms=total,
        wall_ms=wall,
        tokens=token_usage(steps),
        hypotheses=rank_hypotheses(facts),
    )


@dataclass(frozen=True, slots=True)
class _Facts:
    """What the hypothesis rules look at, computed once."""

    steps: Sequence[Step]
    outcome: Outcome
    release: str | None
    first_error: Span | None
    error_class: str | None
    error_message: str | None
    slowest: Span | None
    total_latency_ms: float
    repeated: dict[str, int]
    retries: dict[str, int]
    loops: dict[str, int]
    truncated: list[Step]

    @property
    def failed(self) -> bool:
        return self.outcome.failed

    def last_timed_step(self) -> Step | None:
        return next((s for s in reversed(self.steps) if s.kind in CALL_KINDS), None)

    def ending(self) -> str:
        text = f"stop_reason {self.outcome.stop_reason}"
        if self.error_class:
            text += f" with {bare_class_name(self.error_class)}"
            if self.error_message:
                text += f": {_clip(self.error_message)}"
        return text


def rank_hypotheses(facts: _Facts) -> tuple[Hypothesis, ...]:
    """Every rule that fires, best score first (ties keep the rule order)."""
    found: list[Hypothesis] = []
    for rule in _RULES:
        found.extend(rule(facts))
    if facts.failed and not any(h.score >= 0.5 for h in found):
        found.append(
            Hypothesis(
                "unexplained",
                0.2,
                f"failure without a recorded cause ({facts.outcome.stop_reason})",
                (f"the run ended with {facts.ending()}", "no step recorded an error"),
            )
        )
    ranked = sorted(enumerate(found), key=lambda pair: (-pair[1].score, pair[0]))
    return tuple(h for _, h in ranked)


def _tool_failure(facts: _Facts) -> list[Hypothesis]:
    first = facts.first_error
    if first is None or first.kind != "tool":
        return []
    failures = [s for s in facts.steps if s.kind == "tool" and s.error is not None]
    same_tool = [s for s in failures if s.name == first.name]
    retried = facts.retries.get(first.name, 0)
    evidence = [f"first error at {first.describe()}: {_clip(first.error_message or '')}"]
    if len(same_tool) > 1:
        evidence.append(f"'{first.name}' failed {len(same_tool)} times")
    if retried:
        evidence.append(f"{retried} retr{'y' if retried == 1 else 'ies'} of '{first.name}'")
    availability = _looks_like(first.error_class, _AVAILABILITY_WORDS)
    bad_input = _looks_like(first.error_class, _BAD_INPUT_WORDS)
    degraded = retried > 0 or len(same_tool) > 1
    if not facts.failed:
        evidence.append(_after_recovery(facts))
        return [
            Hypothesis(
                "tool_degraded",
                0.45 if degraded else 0.35,
                "tool degraded" if facts.outcome.unknown else "tool degraded, run recovered",
                tuple(evidence),
            )
        ]
    score = 0.6
    if facts.outcome.stop_reason == "tool_error" or facts.error_class == first.error_class:
        score += 0.25
        evidence.append(f"the run ended with {facts.ending()}")
    if availability:
        score += 0.05
        evidence.append(f"{bare_class_name(first.error_class)} reads as an availability problem")
    if bad_input:
        score -= 0.2
    if degraded:
        score += 0.05
    summary = "tool degraded + retries" if degraded else "tool failure"
    return [Hypothesis("tool_failure", min(score, 0.95), summary, tuple(evidence))]


def _model_bad_tool_args(facts: _Facts) -> list[Hypothesis]:
    first = facts.first_error
    if first is None or first.kind != "tool" or not facts.failed:
        return []
    if not _looks_like(first.error_class, _BAD_INPUT_WORDS):
        return []
    before = [s for s in facts.steps[: first.index] if s.kind == "llm"]
    if not before:
        return []
    return [
        Hypothesis(
            "model_bad_tool_args",
            0.7,
            "model sent invalid tool arguments",
            (
                f"{first.describe()} rejected its arguments",
                f"the arguments follow llm step #{before[-1].index} '{before[-1].name}'",
            ),
        )
    ]


def _model_call_failed(facts: _Facts) -> list[Hypothesis]:
    first = facts.first_error
    if first is None or first.kind != "llm":
        return []
    evidence = [f"first error at {first.describe()}: {_clip(first.error_message or '')}"]
    retried = facts.retries.get(first.name, 0)
    if retried:
        evidence.append(f"{retried} retr{'y' if retried == 1 else 'ies'} of the model call")
    if not facts.failed:
        evidence.append(_after_recovery(facts))
        summary = "model call failed" + ("" if facts.outcome.unknown else ", run recovered")
        return [Hypothesis("model_call_failed", 0.35, summary, tuple(evidence))]
    evidence.append(f"the run ended with {facts.ending()}")
    return [Hypothesis("model_call_failed", 0.85, "model call failed", tuple(evidence))]


def _model_failure(facts: _Facts) -> list[Hypothesis]:
    """The run failed with no failing step right after a model answer: the agent could
    not use what the model said (bad format, unknown tool, refusal...)."""
    if not facts.failed or facts.first_error is not None:
        return []
    if facts.outcome.stop_reason not in ("step_error", "exception"):
        return []
    last = facts.last_timed_step()
    if last is None or last.kind != "llm":
        return []
    score = 0.8 if facts.outcome.stop_reason == "step_error" else 0.65
    summary = f"model failure after release {facts.release}" if facts.release else "model failure"
    evidence = (
        f"the run ended with {facts.ending()}",
        f"no step failed; the last call was llm #{last.index} '{last.name}': its answer was "
        "not usable",
    )
    return [Hypothesis("model_failure", score, summary, evidence)]


def _output_truncated(facts: _Facts) -> list[Hypothesis]:
    if not facts.truncated:
        return []
    step = facts.truncated[0]
    score = 0.7 if facts.failed else 0.3
    return [
        Hypothesis(
            "output_truncated",
            score,
            "model output truncated (max tokens)",
            (
                f"llm #{step.index} '{step.name}' stopped at its token limit",
                f"{len(facts.truncated)} truncated answer(s)",
            ),
        )
    ]


def _loop(facts: _Facts) -> list[Hypothesis]:
    loops = facts.loops
    max_steps = facts.outcome.stop_reason == "max_steps"
    worst = max(loops.items(), key=lambda item: (item[1], item[0]), default=None)
    if max_steps and worst is not None:
        name, count = worst
        explicit = facts.first_error is not None
        evidence = [
            f"'{name}' called again {count} time(s) with arguments it had already succeeded with",
            "the run ended with stop_reason max_steps",
        ]
        if explicit:
            evidence.append(f"an error was recorded too: {facts.first_error.describe()}")
            return [Hypothesis("loop", 0.7, "loop", tuple(evidence))]
        evidence.append("no step recorded an error")
        return [Hypothesis("loop", 0.85, "loop without explicit error", tuple(evidence))]
    if max_steps:
        calls = len([s for s in facts.steps if s.kind in ("llm", "tool")])
        return [
            Hypothesis(
                "step_budget_exhausted",
                0.6,
                "step budget exhausted",
                (
                    "the run ended with stop_reason max_steps",
                    f"{calls} tool/model calls, no identical call repeated",
                ),
            )
        ]
    if worst is not None and worst[1] >= 2:
        name, count = worst
        return [
            Hypothesis(
                "repeated_calls",
                0.4 if facts.failed else 0.3,
                "repeated tool calls",
                (f"'{name}' called again {count} time(s) with the same arguments",),
            )
        ]
    return []


def _agent_error(facts: _Facts) -> list[Hypothesis]:
    if facts.outcome.stop_reason != "exception" or facts.first_error is not None:
        return []
    last = facts.last_timed_step()
    if last is not None and last.kind == "llm":
        return []  # _model_failure covers it
    where = f"after {last.kind} #{last.index} '{last.name}'" if last else "before any call"
    return [
        Hypothesis(
            "agent_error",
            0.6,
            "agent code error",
            (f"the run ended with {facts.ending()}", f"raised in the agent's own code {where}"),
        )
    ]


def _replay_diverged(facts: _Facts) -> list[Hypothesis]:
    if facts.outcome.stop_reason != "diverged":
        return []
    return [
        Hypothesis(
            "replay_diverged",
            0.9,
            "code diverged from the recording",
            (f"the run ended with {facts.ending()}",),
        )
    ]


def _latency(facts: _Facts) -> list[Hypothesis]:
    slowest = facts.slowest
    timed = timed_steps(facts.steps)
    if slowest is None or len(timed) < 2 or facts.total_latency_ms <= 0:
        return []
    share = slowest.latency_ms / facts.total_latency_ms
    if share < 0.5:
        return []
    # A model call dominating the time is the usual shape of an agent run; a tool is not.
    score = (0.25 + 0.35 * share) if slowest.kind == "tool" else (0.15 + 0.25 * share)
    return [
        Hypothesis(
            "latency_bottleneck",
            score,
            f"latency bottleneck: {slowest.name}",
            (
                f"{slowest.describe()} took {share:.0%} of the time spent in calls "
                f"({format_ms(facts.total_latency_ms)})",
            ),
        )
    ]


def _after_recovery(facts: _Facts) -> str:
    if facts.outcome.unknown:
        return "how the run ended was not recorded (stop_reason unknown)"
    return "the run still completed"


def _outcome_unknown(facts: _Facts) -> list[Hypothesis]:
    """The recording does not say how the run ended: say so before any other guess."""
    if not facts.outcome.unknown:
        return []
    return [
        Hypothesis(
            "outcome_unknown",
            0.9,
            "outcome not recorded",
            (
                facts.outcome.note or "the run's ending was not reported",
                "neither a failure nor a success can be concluded; record the run with its "
                "outcome (set_result, or replay record)",
            ),
        )
    ]


def _healthy(facts: _Facts) -> list[Hypothesis]:
    if facts.failed or facts.outcome.unknown or facts.first_error is not None:
        return []
    return [
        Hypothesis(
            "healthy",
            0.45,
            "completed without errors",
            (f"stop_reason completed, {len(facts.steps)} steps, no step recorded an error",),
        )
    ]


_RULES = (
    _outcome_unknown,
    _replay_diverged,
    _tool_failure,
    _model_bad_tool_args,
    _model_call_failed,
    _model_failure,
    _output_truncated,
    _loop,
    _agent_error,
    _latency,
    _healthy,
)


def _looks_like(error_class: str | None, words: tuple[str, ...]) -> bool:
    if not error_class:
        return False
    text = error_class.lower().replace(".", "")
    return any(word in text for word in words)


def _clip(text: str, width: int = 80) -> str:
    line = " ".join(text.split())
    return line if len(line) <= width else line[: width - 3] + "..."
