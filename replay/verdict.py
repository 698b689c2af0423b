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

A call the recording holds no answer for may be answered by a declared on-miss policy
(``replay.on_miss``): the verdict is then judged as usual, with the arguments of calls
served by a recorded stand-in taken as the intended change, and is a ``hypothesis`` that
names its assumption (``headline``) and lists the calls served under it.

When the recording does not say how the original run ended (``stop_reason: unknown``),
outcomes cannot be compared: the verdict rests on the step histories alone (``match``
when the replay makes the recorded calls, ``regressed`` when it behaves differently) and
is a ``hypothesis``, never evidence of a fix or a reproduction (exit status 2).
"""

from __future__ import annotations

import enum
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from replay import on_miss as policies
from replay.canonical import short_class_name
from replay.cassette import Cassette, Outcome, Step
from replay.diff import HistoryDiff, diff_histories
from replay.engine import ReplayResult
from replay.engine import replay as replay_once
from replay.matching import comparable_steps
from replay.on_miss import AssumedCall
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
    approximations: tuple[str, ...] = ()
    on_miss: str | None = None
    assumed: tuple[AssumedCall, ...] = ()
    derived_cassette: str | None = None

    @property
    def verdict(self) -> str:
        return self.kind.value

    @property
    def mode(self) -> str:
        """``hypothesis`` also when the original outcome is unknown, the replay rested on
        anything approximate (e.g. a run imported from a trace: ``approximations``), or a
        call was answered by an on-miss policy (``assumed``)."""
        if self.original_outcome_unknown or self.approximations or self.assumed:
            return "hypothesis"
        return self.kind.mode

    @property
    def assumption(self) -> str | None:
        """What the on-miss answers assume, in words; None when no call needed one."""
        if not self.assumed or self.on_miss is None:
            return None
        return policies.assumption(self.on_miss, self.assumed)

    @property
    def headline(self) -> str:
        """The verdict in one line: ``fixed``, or ``fixed, assuming the model answers as
        recorded after the prompt change (2 calls served by nearest)``."""
        if not self.assumed or self.on_miss is None:
            return self.verdict
        return policies.headline(self.verdict, self.on_miss, self.assumed)

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
            "approximations": list(self.approximations),
            "headline": self.headline,
            "on_miss": self.on_miss,
            "assumption": self.assumption,
            "assumed_calls": [call.to_dict() for call in self.assumed],
            "derived_cassette": self.derived_cassette,
            "original": run_summary(self.cassette.steps, self.cassette.outcome),
            "replay": run_summary(first.history, first.outcome),
            "diff": self.diff.to_dict(),
        }


def judge(cassette: Cassette, results: Sequence[ReplayResult]) -> Verdict:
    """The verdict for replays of ``cassette``; pure: the replays have already run."""
    verdict = _judge(cassette, results)
    approximations = tuple(dict.fromkeys(a for r in verdict.results for a in r.approximations))
    if approximations:
        verdict = replace(verdict, approximations=approximations)
    first = verdict.results[0]
    if first.assumed:
        verdict = replace(verdict, on_miss=first.on_miss, assumed=first.assumed)
    return verdict


def _beyond_assumption(cassette: Cassette, result: ReplayResult) -> HistoryDiff:
    """The diff the verdict is decided on: a call answered by a recorded stand-in (on-miss
    nearest, repeat, error) is compared with the args of that stand-in, as its changed
    args are the change the assumption takes as intended. Without such calls, the diff."""
    stand_ins = {
        call.step: cassette.steps[call.answered_by]
        for call in result.assumed
        if call.answered_by is not None and call.answered_by < len(cassette.steps)
    }
    if not stand_ins:
        return result.diff
    history = tuple(
        replace(step, args=stand_ins[step.index].args, args_hash=stand_ins[step.index].args_hash)
        if step.index in stand_ins
        else step
        for step in result.history
    )
    return diff_histories(
        comparable_steps(cassette.steps, result.policies),
        comparable_steps(history, result.policies),
        original_outcome=cassette.outcome,
        new_outcome=result.outcome,
    )


def _judge(cassette: Cassette, results: Sequence[ReplayResult]) -> Verdict:
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
    judged = _beyond_assumption(cassette, first)
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
            served = (
                f"{len(first.assumed)} of its calls answered by on-miss {first.on_miss}, not "
                "from the recording"
                if first.assumed
                else "served entirely from recorded answers"
            )
            return Verdict(
                VerdictKind.FIXED,
                f"the original ended with {_describe(original)}; every replay completes, {served}",
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
    if judged.identical:
        stand_ins = (
            f", apart from the arguments of the {len(first.assumed)} changed calls that "
            f"on-miss {first.on_miss} answered"
            if first.assumed
            else ""
        )
        return Verdict(
            VerdictKind.MATCH,
            f"the replay follows the recorded history to the same outcome{stand_ins}",
            cassette,
            results,
            diff,
            None,
        )
    return Verdict(
        VerdictKind.REGRESSED,
        f"the replay completes but behaves differently from step {judged.first_divergence}"
        if judged.first_divergence is not None
        else "the replay completes with a different output",
        cassette,
        results,
        diff,
        judged.first_divergence,
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
    on_miss: str | None = None,
    allow_network: bool = False,
    keep_derived: bool = True,
) -> Verdict:
    """Replay ``cassette`` ``repeats`` times against ``agent`` and judge the results.

    ``on_replay(i, result)`` is called after each replay (for progress display).
    ``on_miss`` answers calls the cassette does not hold (``replay.on_miss``). With
    ``live`` (which needs ``allow_network``) only the first replay asks the live model:
    its answers are added to a derived cassette (written next to the original, see
    ``derived_path``), and the other replays are served from that, so they check that
    the run is deterministic given those answers. ``keep_derived=False`` does not write
    the derived cassette (the other replays are still served from it).
    """
    from replay.on_miss import OnMiss, parse_on_miss, require_network

    if repeats < 1:
        raise ValueError("repeats must be at least 1")
    policy = parse_on_miss(on_miss)
    require_network(policy, allow_network=allow_network)
    original = cassette if isinstance(cassette, Cassette) else load_cassette(cassette)
    results = []
    served_from, derived_at = original, None
    for i in range(repeats):
        result = replay_once(served_from, agent=agent, on_miss=policy, allow_network=allow_network)
        if i == 0 and policy is OnMiss.LIVE and any(c.policy == "live" for c in result.assumed):
            served_from, derived_at = _derive(original, result, write=keep_derived)
            policy = None
        results.append(result)
        if on_replay is not None:
            on_replay(i, result)
    verdict = judge(original, results)
    return replace(verdict, derived_cassette=derived_at) if derived_at else verdict


def _derive(
    original: Cassette, result: ReplayResult, *, write: bool
) -> tuple[Cassette, str | None]:
    """The derived cassette of a live replay (written when the original has a file)."""
    from replay.on_miss import derive_cassette, derived_path
    from replay.redact import redact_cassette
    from replay.storage import save_cassette

    derived = redact_cassette(derive_cassette(original, result))
    if original.path is None or not write:
        return derived, None
    target = derived_path(original.path)
    save_cassette(derived, target)
    return derived.with_path(str(target)), str(target)
