"""What N replays of a cassette prove: the verdict, and whether it stands on evidence.

    reproduced  the original failed and every replay fails the same way     evidence
    fixed       the original failed; every replay completes, all served     evidence
    match       the original succeeded; the replay has the same history     evidence
    regressed   the replay now fails, fails differently, or behaves
                differently from a successful original                      evidence
    diverged    the code asked for a call the cassette does not hold        hypothesis
    flaky       the replays disagree with each other                        hypothesis

A failure's signature is its stop_reason, error class and failing step (kind and name of
the step with an error that started first); "the same way" means the same signature.

When the recording does not say how the original run ended (``stop_reason: unknown``),
outcomes cannot be compared: the verdict rests on the step histories alone (``match``
when the replay makes the recorded calls, ``regressed`` when it behaves differently) and
is a ``hypothesis``, never evidence of a fix or a reproduction (exit status 2).
"""

from __future__ import annotations

import enum
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from replay.canonical import short_class_name
from replay.cassette import Cassette, Outcome, Step
from replay.diff import HistoryDiff, diff_histories
from replay.engine import ReplayResult
from replay.engine import replay as replay_once
from replay.matching import comparable_steps
from replay.signals import run_error_class
from replay.storage import load_cassette


class VerdictKind(enum.StrEnum):
    REPRODUCED = "reproduced"
    FIXED = "fixed"
    DIVERGED = "diverged"
    FLAKY = "flaky"
    MATCH = "match"
    REGRESSED = "regressed"

    @property
    def mode(self) -> str:
        """``evidence`` when the verdict stands on recorded answers alone."""
        return "hypothesis" if self in (VerdictKind.DIVERGED, VerdictKind.FLAKY) else "evidence"

    @property
    def exit_code(self) -> int:
        """0 match/fixed, 1 reproduced/regressed, 2 diverged/flaky."""
        if self in (VerdictKind.MATCH, VerdictKind.FIXED):
            return 0
        if self in (VerdictKind.REPRODUCED, VerdictKind.REGRESSED):
            return 1
        return 2


@dataclass(frozen=True, slots=True)
class FailureSignature:
    """How a run failed: stop_reason, error class, and the first failing step."""

    stop_reason: str
    error_class: str | None
    step_kind: str | None
    step_name: str | None
    step_index: int | None

    @classmethod
    def of(cls, steps: Sequence[Step], outcome: Outcome) -> FailureSignature:
        # The failing step that started first: steps that ran concurrently (a thread pool's
        # tool calls) take their indices in a race, and a replayed step keeps the timing of
        # the recorded step that answered it.
        failing = min(
            (s for s in steps if s.error is not None),
            key=lambda s: (s.started_at_ms, s.index),
            default=None,
        )
        error_class = run_error_class(steps, outcome)
        return cls(
            stop_reason=outcome.stop_reason,
            error_class=error_class,
            step_kind=failing.kind if failing else None,
            step_name=failing.name if failing else None,
            step_index=failing.index if failing else None,
        )

    @property
    def key(self) -> tuple[str, str | None, str | None, str | None]:
        """What "fails the same way" compares (the index may shift with a changed history)."""
        return (self.stop_reason, self.error_class, self.step_kind, self.step_name)

    def to_dict(self) -> dict[str, Any]:
        return {
            "stop_reason": self.stop_reason,
            "error_class": self.error_class,
            "failing_step": (
                None
                if self.step_index is None
                else {"index": self.step_index, "kind": self.step_kind, "name": self.step_name}
            ),
        }


def run_summary(steps: Sequence[Step], outcome: Outcome) -> dict[str, Any]:
    """The ``original`` / ``replay`` blocks of a verdict report."""
    signature = FailureSignature.of(steps, outcome)
    summary = {
        "stop_reason": outcome.stop_reason,
        "error_class": short_class_name(signature.error_class),
        "steps": len(steps),
        "failing_step": signature.to_dict()["failing_step"],
    }
    if outcome.note is not None:
        summary["note"] = outcome.note
    return summary


@dataclass(frozen=True)
class Verdict:
    """The judgement of N replays of one cassette, with the evidence behind it."""

    kind: VerdictKind
    reason: str
    cassette: Cassette
    results: tuple[ReplayResult, ...]
    diff: HistoryDiff
    first_divergence: int | None
    flaky_step: int | None = None
    original_outcome_unknown: bool = False

    @property
    def verdict(self) -> str:
        return self.kind.value

    @property
    def mode(self) -> str:
        return "hypothesis" if self.original_outcome_unknown else self.kind.mode

    @property
    def exit_code(self) -> int:
        """The kind's exit status; 2 (undecided) for a verdict that is not evidence."""
        return 2 if self.original_outcome_unknown else self.kind.exit_code

    @property
    def replay(self) -> ReplayResult:
        """The first replay (all agree unless the verdict is flaky)."""
        return self.results[0]

    def to_dict(self) -> dict[str, Any]:
        first = self.replay
        return {
            "verdict": self.verdict,
            "mode": self.mode,
            "reason": self.reason,
            "cassette": self.cassette.path,
            "run_id": self.cassette.run_id,
            "agent": first.agent,
            "repeats": len(self.results),
            "first_divergence": self.first_divergence,
            "divergence": first.divergence.to_dict() if first.divergence else None,
            "flaky_step": self.flaky_step,
            "original": run_summary(self.cassette.steps, self.cassette.outcome),
            "replay": run_summary(first.history, first.outcome),
            "diff": self.diff.to_dict(),
        }


def judge(cassette: Cassette, results: Sequence[ReplayResult]) -> Verdict:
    """The verdict for replays of ``cassette``; pure: the replays have already run."""
    if not results:
        raise ValueError("judge() needs at least one replay result")
    results = tuple(results)
    first = results[0]
    for other in results[1:]:
        policies = {**first.policies, **other.policies}
        disagreement = diff_histories(
            comparable_steps(first.history, policies),
            comparable_steps(other.history, policies),
            original_outcome=first.outcome,
            new_outcome=other.outcome,
        )
        if not disagreement.identical or (first.divergence is None) != (other.divergence is None):
            step = disagreement.first_divergence
            where = f"step {step}" if step is not None else "the outcome"
            return Verdict(
                VerdictKind.FLAKY,
                f"the {len(results)} replays disagree at {where}: nondeterminism not captured "
                "(wrap it in replay.now()/uuid4()/random() or a @replay.tool)",
                cassette,
                results,
                disagreement,
                first.diff.first_divergence,
                flaky_step=step,
            )
    diff = first.diff
    if first.divergence is not None:
        info = first.divergence
        return Verdict(
            VerdictKind.DIVERGED,
            f"step {info.step}: {info.kind} '{info.name}' has no recorded answer; the outcome "
            "cannot be decided on evidence",
            cassette,
            results,
            diff,
            info.step,
        )
    original = FailureSignature.of(cassette.steps, cassette.outcome)
    replayed = FailureSignature.of(first.history, first.outcome)
    if cassette.outcome.unknown:
        return _against_unknown_outcome(cassette, results, replayed)
    if cassette.outcome.failed:
        if not first.outcome.failed:
            return Verdict(
                VerdictKind.FIXED,
                f"the original ended with {_describe(original)}; every replay completes, "
                "served entirely from recorded answers",
                cassette,
                results,
                diff,
                diff.first_divergence,
            )
        if replayed.key == original.key:
            return Verdict(
                VerdictKind.REPRODUCED,
                f"every replay fails like the original: {_describe(original)}",
                cassette,
                results,
                diff,
                diff.first_divergence,
            )
        return Verdict(
            VerdictKind.REGRESSED,
            f"the original ended with {_describe(original)}; the replay fails differently: "
            f"{_describe(replayed)}",
            cassette,
            results,
            diff,
            diff.first_divergence,
        )
    if first.outcome.failed:
        return Verdict(
            VerdictKind.REGRESSED,
            f"the original completed; the replay now ends with {_describe(replayed)}",
            cassette,
            results,
            diff,
            diff.first_divergence,
        )
    if diff.identical:
        return Verdict(
            VerdictKind.MATCH,
            "the replay follows the recorded history to the same outcome",
            cassette,
            results,
            diff,
            None,
        )
    return Verdict(
        VerdictKind.REGRESSED,
        f"the replay completes but behaves differently from step {diff.first_divergence}"
        if diff.first_divergence is not None
        else "the replay completes with a different output",
        cassette,
        results,
        diff,
        diff.first_divergence,
    )


def _against_unknown_outcome(
    cassette: Cassette, results: tuple[ReplayResult, ...], replayed: FailureSignature
) -> Verdict:
    """Judge on the step histories alone: the original's ending is not known, so neither
    "fixed" nor "reproduced" (nor a matching outcome) can be claimed on evidence."""
    first = results[0]
    diff = first.diff
    ending = _describe(replayed) if first.outcome.failed else f"stop_reason {replayed.stop_reason}"
    unknown = (
        "the recording does not say how the original run ended (stop_reason unknown: "
        f"{cassette.outcome.note or 'not reported'}), so this is a hypothesis, not evidence "
        "of a fix or a reproduction; record the run with its outcome to decide on evidence"
    )
    if not diff.changes:
        return Verdict(
            VerdictKind.MATCH,
            f"the replay makes the recorded calls and ends with {ending}; {unknown}",
            cassette,
            results,
            diff,
            None,
            original_outcome_unknown=True,
        )
    return Verdict(
        VerdictKind.REGRESSED,
        f"the replay behaves differently from step {diff.first_divergence} and ends with "
        f"{ending}; {unknown}",
        cassette,
        results,
        diff,
        diff.first_divergence,
        original_outcome_unknown=True,
    )


def _describe(signature: FailureSignature) -> str:
    text = f"stop_reason {signature.stop_reason}"
    if signature.error_class:
        text += f" ({short_class_name(signature.error_class)})"
    if signature.step_index is not None:
        text += f" at step {signature.step_index} {signature.step_kind} '{signature.step_name}'"
    return text


def verdict_for(
    cassette: str | os.PathLike[str] | Cassette,
    *,
    agent: str | Callable[..., Any] | None = None,
    repeats: int = 3,
    on_replay: Callable[[int, ReplayResult], None] | None = None,
) -> Verdict:
    """Replay ``cassette`` ``repeats`` times against ``agent`` and judge the results.

    ``on_replay(i, result)`` is called after each replay (for progress display).
    """
    if repeats < 1:
        raise ValueError("repeats must be at least 1")
    original = cassette if isinstance(cassette, Cassette) else load_cassette(cassette)
    results = []
    for i in range(repeats):
        result = replay_once(original, agent=agent)
        results.append(result)
        if on_replay is not None:
            on_replay(i, result)
    return judge(original, results)
