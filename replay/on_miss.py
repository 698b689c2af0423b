"""On-miss policies: how a replay answers a call the recording holds no answer for.

Evidence stops where the recording does: a fix that sends a new request (a reworded
prompt, a repaired tool call) meets a recorded world without an answer, and the verdict
is ``diverged``. A policy answers such a call instead, under an assumption it names; the
verdict that follows is a ``hypothesis``, never evidence, and lists every call it served.

    nearest  the recorded answer of the most similar call of the same kind and name
             (unserved ones first): "the model answers as recorded after the change"
    repeat   the last recorded answer of that tool or model: "the tool stays degraded"
    error    the last recorded error of that tool or model: "the tool keeps failing"
    live     the real tool or model answers (only with allow_network); its answers are
             kept in a derived cassette next to the original, which replays on evidence

A call that the recording answers is always served from it: a policy only fills gaps, so
a fix that merely removes a call is still judged on evidence alone.
"""

from __future__ import annotations

import datetime as _dt
import enum
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from replay.errors import ReplayError

if TYPE_CHECKING:
    from replay.cassette import Cassette, Step
    from replay.engine import ReplayResult


class OnMiss(enum.StrEnum):
    """The declared answer to a call the recording does not hold."""

    NEAREST = "nearest"
    REPEAT = "repeat"
    ERROR = "error"
    LIVE = "live"


POLICY_NAMES = tuple(policy.value for policy in OnMiss)


class OnMissError(ReplayError):
    """An on-miss policy cannot be used as given (unknown name, live without network)."""


LIVE_NEEDS_NETWORK = (
    "--on-miss live asks the real model and tools for the answers the recording does not "
    "hold, which reaches the network: pass --allow-network to allow it (or choose "
    "--on-miss nearest, repeat or error, which stay offline)"
)


def parse_on_miss(value: Any, *, where: str = "--on-miss") -> OnMiss | None:
    """``value`` as a policy (None stays None); ``OnMissError`` naming ``where`` otherwise."""
    if value is None or isinstance(value, OnMiss):
        return value
    try:
        return OnMiss(str(value).strip().lower())
    except ValueError:
        raise OnMissError(
            f"{where}: {value!r} is not an on-miss policy; use one of {', '.join(POLICY_NAMES)}"
        ) from None


def require_network(policy: OnMiss | None, *, allow_network: bool) -> None:
    """Refuse ``live`` unless the network was allowed explicitly."""
    if policy is OnMiss.LIVE and not allow_network:
        raise OnMissError(LIVE_NEEDS_NETWORK)


@dataclass(frozen=True, slots=True)
class AssumedCall:
    """One call answered by a policy instead of the recording.

    ``answered_by`` is the recorded step whose answer was served (None: answered live);
    ``host`` is where a live HTTP answer came from.
    """

    step: int
    kind: str
    name: str
    policy: str
    answered_by: int | None = None
    host: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "step": self.step,
            "kind": self.kind,
            "name": self.name,
            "policy": self.policy,
            "answered_by": self.answered_by,
            "host": self.host,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> AssumedCall:
        return cls(
            step=int(data["step"]),
            kind=str(data["kind"]),
            name=str(data["name"]),
            policy=str(data["policy"]),
            answered_by=data.get("answered_by"),
            host=data.get("host"),
        )


def _names(calls: Sequence[AssumedCall]) -> str:
    names = list(dict.fromkeys(f"'{call.name}'" for call in calls))
    return ", ".join(names) if len(names) <= 3 else ", ".join(names[:3]) + ", ..."


def assumption(policy: OnMiss | str, calls: Sequence[AssumedCall]) -> str:
    """The assumption a policy's answers stand on, in words (after "assuming")."""
    policy = OnMiss(policy)
    kinds = {call.kind for call in calls}
    if policy is OnMiss.NEAREST:
        if kinds <= {"llm"}:
            return "the model answers as recorded after the prompt change"
        if kinds <= {"tool", "mcp"}:
            return "the tools answer as recorded after their arguments changed"
        return "the model and tools answer as recorded after the change"
    plural = len({call.name for call in calls}) != 1
    if policy is OnMiss.REPEAT:
        verb = "keep" if plural else "keeps"
        return f"{_names(calls)} {verb} answering as last recorded (the tool stays degraded)"
    if policy is OnMiss.ERROR:
        verb = "keep" if plural else "keeps"
        return f"{_names(calls)} {verb} failing with the recorded error"
    return "the live answers stand for what the recorded model and tools would have answered"


def served_note(policy: OnMiss | str, calls: Sequence[AssumedCall]) -> str:
    """``2 calls served by nearest`` (``answered live`` for live)."""
    count = len(calls)
    noun = "call" if count == 1 else "calls"
    if OnMiss(policy) is OnMiss.LIVE:
        return f"{count} {noun} answered live"
    return f"{count} {noun} served by {OnMiss(policy).value}"


def headline(verdict: str, policy: OnMiss | str, calls: Sequence[AssumedCall]) -> str:
    """``fixed, assuming the model answers as recorded after the prompt change (2 calls
    served by nearest)``."""
    return f"{verdict}, assuming {assumption(policy, calls)} ({served_note(policy, calls)})"


# --------------------------------------------------------------- derived cassettes

DERIVED_SOURCE = "derived"
"""``provenance.source`` of a cassette that adds live answers to a recorded run."""
DERIVED_SUFFIX = ".live"


def derived_path(path: str | os.PathLike[str]) -> Path:
    """Where the derived cassette of ``path`` goes: ``run.yaml`` -> ``run.live.yaml``, next
    to it (a derived cassette derives into itself)."""
    source = Path(path)
    if source.stem.endswith(DERIVED_SUFFIX):
        return source
    return source.with_name(f"{source.stem}{DERIVED_SUFFIX}{source.suffix or '.yaml'}")


def is_derived_name(path: str | os.PathLike[str]) -> bool:
    """Whether a file is named as a derived cassette (``*.live.yaml``)."""
    return Path(path).stem.endswith(DERIVED_SUFFIX)


def derive_cassette(original: Cassette, result: ReplayResult) -> Cassette:
    """The original run plus the answers a live replay got for calls it did not hold.

    The recorded steps stay as they are (the original run, its outcome and its failing
    step); each live answer is appended as a step after them, in the order asked, so a
    replay of the fix finds every answer (matching is by call, not position) and is
    judged on evidence, while a replay of the released code still meets its own run.
    ``provenance`` says which steps were added, by which code, from which host.
    """
    from replay.boundary import span_id_for

    live = [call for call in result.assumed if call.policy == OnMiss.LIVE.value]
    by_index = {step.index: step for step in result.history}
    start = len(original.steps)
    clock = max((s.started_at_ms + s.latency_ms for s in original.steps), default=0.0)
    added: list[Step] = []
    root = original.steps[0].parent_span_id if original.steps else None
    for call in live:
        step = by_index[call.step]
        index = start + len(added)
        added.append(
            replace(
                step,
                index=index,
                started_at_ms=round(clock, 3),
                span_id=span_id_for(original.context.trace_id, index),
                parent_span_id=root,
            )
        )
        clock += step.latency_ms
    previous = dict(original.provenance or {})
    if previous.get("source") != DERIVED_SOURCE:
        previous = {
            "source": DERIVED_SOURCE,
            "derived_from": Path(original.path).name if original.path else original.run_id,
            "recorded_steps": len(original.steps),
            "live_answers": [],
        }
    answered_at = _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")
    answers = list(previous.get("live_answers") or [])
    for call, step in zip(live, added, strict=True):
        answers.append(
            {
                "step": step.index,
                "kind": step.kind,
                "name": step.name,
                "host": call.host,
                "asked_by": result.agent,
                "answered_at": answered_at,
            }
        )
    previous["live_answers"] = answers
    previous["note"] = (
        f"steps 0-{previous['recorded_steps'] - 1} are the recorded run; later steps are "
        "live answers to calls it did not hold (replay run --on-miss live), kept so the "
        "code that asked for them replays on evidence"
    )
    return replace(original, steps=(*original.steps, *added), provenance=previous, path=None)
