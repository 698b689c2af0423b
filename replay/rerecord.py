"""Accepting an intended change: the replay of the new code becomes the new baseline.

A golden run or a scenario's incident that differs from its recording because the code
changed on purpose (a reworded prompt, a repaired tool call) is re-recorded from its
replay: the replay's calls and answers become the cassette's steps, its ending the
cassette's outcome. Re-recording needs answers for the calls the old recording does not
hold, so the model source is one of: the old recording alone (the change only removed or
reordered calls), an on-miss policy's answers (``nearest``, ``repeat``, ``error``: an
assumption), or live answers (``--on-miss live --allow-network``; a fake model server on
loopback is live too). ``provenance`` states which, per step, so a replay against a
baseline holding assumed answers stays a hypothesis (``assumed_in_baseline``).
"""

from __future__ import annotations

import datetime as _dt
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from replay.on_miss import OnMiss, assumption

if TYPE_CHECKING:
    from replay.cassette import Cassette
    from replay.engine import ReplayResult

RERECORDED_SOURCE = "rerecorded"
"""``provenance.source`` of a baseline re-recorded from a replay of changed code."""


def model_source(result: ReplayResult) -> dict[str, Any]:
    """Where the re-recorded run's answers came from, as the provenance states it."""
    recorded = "the previous recording"
    if not result.assumed:
        return {"source": "recording", "says": f"every answer came from {recorded}"}
    policy = OnMiss(result.on_miss or result.assumed[0].policy)
    steps = [call.step for call in result.assumed]
    if policy is OnMiss.LIVE:
        hosts = sorted({call.host for call in result.assumed if call.host})
        loopback = [h for h in hosts if _is_loopback(h)]
        says = (
            f"steps {_steps(steps)} were answered live (the real tools and model"
            + (f" at {', '.join(hosts)}" if hosts else "")
            + (", a local server on loopback, e.g. a fake model server" if loopback else "")
            + f"); the others came from {recorded}"
        )
        return {"source": "live", "live_steps": steps, "hosts": hosts, "says": says}
    text = assumption(policy, result.assumed)
    return {
        "source": f"on-miss {policy.value}",
        "assumed_steps": steps,
        "answered_by": [
            {"step": call.step, "recorded_step": call.answered_by} for call in result.assumed
        ],
        "assumption": text,
        "says": (
            f"steps {_steps(steps)} hold answers assumed by on-miss {policy.value} ({text}), "
            f"not produced by a model for those calls; the others came from {recorded}"
        ),
    }


def _steps(steps: Sequence[int]) -> str:
    return ", ".join(str(step) for step in steps)


def _is_loopback(host: str) -> bool:
    from replay.hermetic import parse_host

    try:
        rule = parse_host(host, where="host")
    except Exception:
        return False
    ip = rule.ip
    return rule.host == "localhost" or (ip is not None and ip.is_loopback)


def rerecorded_cassette(
    original: Cassette,
    result: ReplayResult,
    *,
    release: str | None = None,
    reason: str = "",
) -> Cassette:
    """The replay ``result`` of ``original`` as the new baseline (not yet written).

    The run keeps its identity (run id, trace id, input, workflow, entrypoint); its
    release becomes ``release`` when given; the steps and outcome are the replay's.
    """
    now = _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")
    context = replace(
        original.context,
        release=release if release is not None else original.context.release,
        recorded_at=now,
    )
    provenance = {
        "source": RERECORDED_SOURCE,
        "rerecorded_from": {
            "file": Path(original.path).name if original.path else original.run_id,
            "release": original.context.release,
            "recorded_at": original.context.recorded_at,
        },
        "rerecorded_at": now,
        "agent": result.agent,
        "model": model_source(result),
    }
    if reason:
        provenance["accepted_change"] = reason
    return replace(
        original,
        context=context,
        steps=result.history,
        outcome=result.outcome,
        provenance=provenance,
        path=None,
    )


def assumed_in_baseline(cassette: Cassette, served: Sequence[int]) -> tuple[str, ...]:
    """The approximation a replay rests on when it was served answers that a re-recording
    assumed (on-miss nearest/repeat/error), not ones a model gave; () otherwise."""
    provenance = cassette.provenance
    if not isinstance(provenance, Mapping) or provenance.get("source") != RERECORDED_SOURCE:
        return ()
    model = provenance.get("model")
    if not isinstance(model, Mapping):
        return ()
    assumed = {int(step) for step in model.get("assumed_steps") or () if str(step).isdigit()}
    used = sorted(assumed.intersection(served))
    if not used:
        return ()
    return (
        f"the baseline was re-recorded with answers assumed by {model.get('source')} "
        f"({model.get('assumption')}) at step{'s' if len(used) > 1 else ''} {_steps(used)}: "
        "not answers a model gave; re-record it live (--on-miss live --allow-network) for "
        "evidence",
    )


@dataclass(frozen=True)
class Update:
    """One baseline to re-record: the new cassette, or why it cannot be (``refused``)."""

    path: str
    label: str
    original: Cassette | None
    cassette: Cassette | None = None
    result: ReplayResult | None = None
    refused: str | None = None

    @property
    def changes(self) -> tuple[str, ...]:
        """The difference being accepted, one line per change (the diff shown first)."""
        if self.result is None:
            return ()
        lines = []
        for change in self.result.diff.changes:
            where = change.new if change.new is not None else change.original
            lines.append(
                f"step {where}: {change.change} {change.kind} '{change.name}' ({change.cause})"
            )
            lines.extend(f"    {line}" for line in change.differences[:3])
        outcome = self.result.diff.outcome_change
        if outcome is not None:
            before, after = outcome.before, outcome.after
            lines.append(
                f"outcome: {before.stop_reason} -> {after.stop_reason}"
                + (" (output changed)" if "output" in outcome.fields else "")
            )
        return tuple(lines)

    @property
    def source(self) -> str:
        """What answered the re-recorded run (its provenance's ``model.says``)."""
        if self.cassette is None or not isinstance(self.cassette.provenance, Mapping):
            return ""
        return str((self.cassette.provenance.get("model") or {}).get("says", ""))

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "label": self.label,
            "refused": self.refused,
            "changes": list(self.changes),
            "model": (self.cassette.provenance or {}).get("model") if self.cassette else None,
        }


NEEDS_A_MODEL = (
    "re-recording needs an answer for it: pass --on-miss nearest, repeat or error (an "
    "assumption, stated in the new cassette), or --on-miss live --allow-network (the real "
    "model, or a fake model server)"
)


def plan_update(
    path: str | os.PathLike[str],
    *,
    label: str,
    agent: str | None = None,
    on_miss: str | None = None,
    allow_network: bool = False,
    release: str | None = None,
    must_fail: bool = False,
) -> Update:
    """Replay ``path`` once with the new code and build its re-recorded cassette.

    Refused (with the reason) when the cassette cannot be read, the replay still meets a
    call nothing answers, or, with ``must_fail`` (a scenario's incident), the new run no
    longer fails: re-recording would lose the incident.
    """
    from replay.engine import replay
    from replay.errors import ReplayError
    from replay.redact import redact_cassette
    from replay.storage import load_cassette

    original = None
    try:
        original = load_cassette(path)
        result = replay(original, agent=agent, on_miss=on_miss, allow_network=allow_network)
    except ReplayError as exc:
        return Update(str(path), label, original, refused=str(exc).splitlines()[0])
    if result.divergence is not None:
        info = result.divergence
        return Update(
            str(path),
            label,
            original,
            result=result,
            refused=f"step {info.step} {info.kind} '{info.name}' has no recorded answer; "
            + NEEDS_A_MODEL,
        )
    if must_fail and not result.outcome.failed:
        return Update(
            str(path),
            label,
            original,
            result=result,
            refused="the new code does not fail on this incident, so re-recording it would "
            "lose the incident: the change is a fix, not an intended difference (mark the "
            "scenario fixed, or keep it open and give it an on_miss policy)",
        )
    cassette = redact_cassette(rerecorded_cassette(original, result, release=release))
    return Update(str(path), label, original, cassette=cassette, result=result)


def write_update(update: Update) -> Path:
    """Write the re-recorded cassette over the baseline (atomically)."""
    from replay.storage import save_cassette

    if update.cassette is None:
        raise ValueError(f"{update.path}: nothing to write ({update.refused})")
    return save_cassette(update.cassette, update.path)
