"""Replaying a run imported from a trace: tolerant matching, synthesized model answers.

A trace loses what a recording keeps: the exact request bytes, tool call ids, defaults
of tool arguments, the clock. ``ImportedSession`` is a ``ReplayingSession`` whose calls
are matched the way a trace allows: model requests in order, their conversations compared
by ``compare_conversations`` (ids, whitespace and JSON formatting tolerated, real
differences refused as a divergence); tool calls by name and the traced arguments (extra
arguments, e.g. defaults, tolerated). Model answers are synthesized in the wire format
the agent's SDK asked for (``replay.http.synthesize``). Everything tolerated is collected
in ``approximations``: a verdict resting on it is a hypothesis, never evidence.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from replay.boundary import Call, ReplayingSession, default_decode, default_encode, rebuild_error
from replay.canonical import canonical_json
from replay.cassette import Cassette, Step
from replay.errors import TraceError
from replay.matching import RecordedIndex
from replay.otel.messages import compare_conversations, parse_json, request_conversation
from replay.otel.to_cassette import PROVENANCE_SOURCE, UNKNOWN_ERROR


def is_imported(cassette: Cassette) -> bool:
    """Whether the cassette came from a trace (its provenance says so)."""
    provenance = cassette.provenance
    return isinstance(provenance, Mapping) and provenance.get("source") == PROVENANCE_SOURCE


class _ImportedIndex(RecordedIndex):
    def mark_served(self, index: int) -> None:
        self._consumed[index] = 1

    def served(self, index: int) -> bool:
        return bool(self._consumed[index])


def _canonical_args(value: Any) -> Any:
    value = parse_json(value)
    if isinstance(value, Mapping):
        return {k: _canonical_args(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_canonical_args(v) for v in value]
    if isinstance(value, str):
        return " ".join(value.split())
    return value


class ImportedSession(ReplayingSession):
    """Serves a replay from an imported cassette (see the module docstring)."""

    def __init__(self, cassette: Cassette) -> None:
        provenance = cassette.provenance or {}
        if not provenance.get("content_captured", False):
            raise TraceError(
                f"{cassette.path or cassette.run_id}: cannot replay: the trace holds no model "
                "content (request and answer messages), so there is nothing to answer the "
                "agent's model calls with; enable content capture in the instrumentation "
                "(see docs/traces.md) - this run can still be triaged with replay inspect"
            )
        super().__init__(
            cassette.steps, trace_id=cassette.context.trace_id, cassette_path=cassette.path
        )
        self.index = _ImportedIndex(cassette.steps)
        self.approximations: list[str] = [
            f"imported from a trace: {note}" for note in provenance.get("reconstructed") or ()
        ]
        how = provenance.get("stop_reason") or {}
        if how.get("inferred"):
            self.approximations.append(f"the original stop_reason was inferred ({how.get('how')})")
        self._recorded = cassette.steps
        self._started = _parse_time(cassette.context.recorded_at)

    def note(self, text: str) -> None:
        with self._lock:
            if text not in self.approximations:
                self.approximations.append(text)

    def make_call(self, kind: str, name: str, args: Any, policy: Any) -> Call:
        """The call with its args redacted as the imported cassette's were."""
        call = Call.of(kind, name, args, policy)
        if self.redactor is None:
            return call
        clean = self.redactor.call_args(kind, name, call.args)
        return call if clean is call.args else Call.of_plain(kind, name, clean, policy)

    def call(self, call, live, *, encode=default_encode, decode=default_decode):  # type: ignore[override]
        return self._serve_imported(call, decode)

    async def acall(self, call, live, *, encode=default_encode, decode=default_decode):  # type: ignore[override]
        return self._serve_imported(call, decode)

    def _serve_imported(self, call: Call, decode: Any) -> Any:
        if call.kind == "clock" and self._started is not None:
            self.note(
                "the clock is not traced: replay.now() was served the trace's start time "
                f"({self._started.isoformat()})"
            )
            synthetic = Step(0, "clock", call.name, {}, call.args_hash, self._started.isoformat())
            return decode(synthetic)
        if call.kind in ("clock", "uuid", "random"):
            raise self.diverge(
                None,
                call,
                reason=f"{call.kind} values are never traced, so a run that reads "
                f"{call.name}() cannot be rebuilt from its trace",
                compare=False,
            )
        with self._lock:
            recorded, reason, notes = (
                self._match_llm(call) if call.kind == "llm" else self._match_tool(call)
            )
            if recorded is not None:
                self.index.mark_served(recorded.index)
                self._steps.append(None)
                index = len(self._steps) - 1
        if recorded is None:
            raise self.diverge(None, call, reason=reason)
        for text in notes:
            self.note(text)
        served = recorded
        if call.kind == "llm" and recorded.error is None:
            served = replace(recorded, http={"response": self._synthesize(call, recorded)})
        self._steps[index] = replace(
            served,
            index=index,
            span_id=recorded.span_id,
            parent_span_id=recorded.parent_span_id,
        )
        if recorded.error is not None:
            if recorded.error.error_class == UNKNOWN_ERROR:
                self.note(
                    f"{recorded.kind} '{recorded.name}' failed in the trace without an error "
                    f"class; replayed as {UNKNOWN_ERROR}"
                )
            raise rebuild_error(recorded.error, step=recorded.index, cassette=self.cassette_path)
        return decode(served)

    def _match_llm(self, call: Call) -> tuple[Step | None, str, list[str]]:
        args = call.args if isinstance(call.args, Mapping) else {}
        endpoint = str(args.get("endpoint") or "")
        if " " not in endpoint or ("messages" not in args and "input" not in args):
            return (
                None,
                (
                    "only model calls made over HTTP (an SDK's chat, Responses or messages "
                    "request) can be answered from a trace"
                ),
                [],
            )
        upcoming = next(
            (s for s in self._recorded if s.kind == "llm" and not self.index.served(s.index)),
            None,
        )
        served = sum(1 for s in self._recorded if s.kind == "llm" and self.index.served(s.index))
        if upcoming is None:
            return None, f"the trace holds no more model calls ({served} already served)", []
        traced = upcoming.args.get("messages") if isinstance(upcoming.args, Mapping) else None
        sent = request_conversation(args, endpoint.split(" ", 1)[1])
        differences, tolerated = compare_conversations(traced or [], sent)
        model = upcoming.args.get("model") if isinstance(upcoming.args, Mapping) else None
        if model and args.get("model") and model != args.get("model"):
            differences.insert(0, f"model: {model} -> {args.get('model')}")
        if differences:
            reason = (
                f"the request differs from traced model call #{served + 1} (step "
                f"{upcoming.index}): " + "; ".join(differences[:3])
            )
            return None, reason, []
        return upcoming, "", [f"model requests compared loosely: {text}" for text in tolerated]

    def _match_tool(self, call: Call) -> tuple[Step | None, str, list[str]]:
        got = _canonical_args(call.args)
        loose: tuple[Step, list[str]] | None = None
        for step in self._recorded:
            if step.kind != call.kind or step.name != call.name or self.index.served(step.index):
                continue
            traced = _canonical_args(step.args)
            if traced == got:
                return step, "", []
            if (
                loose is None
                and isinstance(traced, dict)
                and isinstance(got, dict)
                and all(key in got and got[key] == value for key, value in traced.items())
            ):
                loose = (step, sorted(set(got) - set(traced)))
        if loose is not None:
            step, extra = loose
            note = (
                f"{call.kind} '{call.name}': argument(s) {', '.join(extra)} not in the trace "
                "(defaults are not traced); matched on the traced arguments"
            )
            return step, "", [note]
        reason = (
            f"the trace holds no unserved {call.kind} call '{call.name}' with arguments "
            f"{canonical_json(call.args)[:120]}"
        )
        return None, reason, []

    def _synthesize(self, call: Call, recorded: Step) -> dict[str, Any]:
        from replay.http.synthesize import api_of, synthesize_response

        args = call.args if isinstance(call.args, Mapping) else {}
        endpoint = str(args.get("endpoint") or "")
        stream = bool(args.get("stream"))
        result = recorded.result if isinstance(recorded.result, Mapping) else {}
        self.note(
            f"model answers synthesized in the {api_of(endpoint)} wire format"
            + (" as a stream" if stream else "")
            + " from the trace's output messages"
        )
        created = int(self._started.timestamp()) if self._started is not None else 0
        return synthesize_response(result, endpoint=endpoint, stream=stream, created=created)


def _parse_time(text: str | None) -> _dt.datetime | None:
    if not text:
        return None
    try:
        return _dt.datetime.fromisoformat(text)
    except ValueError:
        return None
