"""One traced run as a ``Cassette``: steps from model and tool spans, an inferred outcome,
and a ``provenance`` block saying which instrumentation it came from and what had to be
reconstructed (so that a verdict resting on it says "hypothesis", never "evidence").

Steps are the model and tool calls in start-time order; span ids are the trace's own.
An llm step's ``args`` hold the normalised request (``model``, ``messages``, ``tools``
and the request parameters), its ``result`` the answer in the common shape of
``replay.http.wire`` (``message``, ``finish_reason``, ``usage``, ``id``). Tool steps come
from tool spans; where an instrumentation traces only model calls they are rebuilt from
the model's tool calls (args) and the next request's tool messages (result, as the text
the agent sent back).
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from replay.canonical import stable_hash
from replay.cassette import Cassette, ErrorInfo, RunContext, Step
from replay.errors import TraceError
from replay.otel.messages import parse_json
from replay.otel.outcome import infer_outcome
from replay.otel.read import OtelSpan, TraceRun
from replay.otel.shapes import AgentRun, LlmCall, ToolCall, classify, exception_of

PROVENANCE_SOURCE = "opentelemetry"
UNKNOWN_ERROR = "untraced.UnknownError"


@dataclass
class TracedRun:
    """A trace's GenAI spans, classified, deduplicated and in order."""

    trace: TraceRun
    llm_calls: list[LlmCall]
    tool_calls: list[ToolCall]
    agents: list[AgentRun]
    root: OtelSpan | None
    duplicates: int = 0
    families: list[str] = field(default_factory=list)

    @property
    def agent(self) -> AgentRun | None:
        """The agent span that speaks for the run: the outermost failing one, else the
        outermost one naming its agent (``agent.name`` / ``gen_ai.agent.name``: a
        framework's "Agent workflow" wrapper names none), else the outermost one."""
        failing = [a for a in self.agents if a.span.failed]
        if failing:
            return failing[0]
        named = [a for a in self.agents if _names_agent(a)]
        if named:
            return named[0]
        return self.agents[0] if self.agents else None

    @property
    def content_captured(self) -> bool:
        return bool(self.llm_calls) and all(c.content_captured for c in self.llm_calls)


def analyse(trace: TraceRun) -> TracedRun:
    """Classify a trace's spans and drop the ones that duplicate another."""
    by_id = {span.span_id: span for span in trace.spans}
    llm_calls: list[LlmCall] = []
    tool_calls: list[ToolCall] = []
    agents: list[AgentRun] = []
    for span in sorted(trace.spans, key=lambda s: (s.start_ns, -s.end_ns)):
        found = classify(span, trace.logs)
        if isinstance(found, LlmCall):
            llm_calls.append(found)
        elif isinstance(found, ToolCall):
            tool_calls.append(found)
        elif isinstance(found, AgentRun):
            agents.append(found)
    roots = [s for s in trace.spans if s.parent_span_id is None or s.parent_span_id not in by_id]
    root = min(roots, key=lambda s: s.start_ns) if roots else None
    kept_llm, dropped_llm = _dedupe(llm_calls, by_id, _same_llm_call)
    kept_tools, dropped_tools = _dedupe(tool_calls, by_id, _same_tool_call)
    families = list(dict.fromkeys(c.family for c in [*kept_llm, *kept_tools, *agents]))
    return TracedRun(
        trace=trace,
        llm_calls=kept_llm,
        tool_calls=kept_tools,
        agents=sorted(agents, key=lambda a: _has_agent_ancestor(a, agents, by_id)),
        root=root,
        duplicates=dropped_llm + dropped_tools,
        families=families,
    )


def _names_agent(agent: AgentRun) -> bool:
    attributes = agent.span.attributes
    return bool(attributes.get("agent.name") or attributes.get("gen_ai.agent.name"))


def _ancestors(span: OtelSpan, by_id: Mapping[str, OtelSpan]) -> Iterable[str]:
    seen = 0
    parent = span.parent_span_id
    while parent is not None and seen < 256:
        yield parent
        node = by_id.get(parent)
        parent = node.parent_span_id if node is not None else None
        seen += 1


def _has_agent_ancestor(
    agent: AgentRun, agents: Sequence[AgentRun], by_id: Mapping[str, OtelSpan]
) -> bool:
    ids = {a.span.span_id for a in agents}
    return any(p in ids for p in _ancestors(agent.span, by_id))


def _related(a: OtelSpan, b: OtelSpan, by_id: Mapping[str, OtelSpan]) -> bool:
    """Same parent or one inside the other, and their times overlap."""
    overlap = a.start_ns <= b.end_ns and b.start_ns <= a.end_ns
    if not overlap:
        return False
    return (
        a.parent_span_id == b.parent_span_id
        or a.span_id in set(_ancestors(b, by_id))
        or b.span_id in set(_ancestors(a, by_id))
    )


def _same_llm_call(a: LlmCall, b: LlmCall, by_id: Mapping[str, OtelSpan]) -> bool:
    if not _related(a.span, b.span, by_id):
        return False
    if a.response_id and b.response_id:
        return a.response_id == b.response_id
    if a.messages is not None and b.messages is not None:
        return stable_hash(a.messages) == stable_hash(b.messages)
    return a.model == b.model or not a.model or not b.model


def _same_tool_call(a: ToolCall, b: ToolCall, by_id: Mapping[str, OtelSpan]) -> bool:
    if a.name != b.name or not _related(a.span, b.span, by_id):
        return False
    if a.call_id and b.call_id:
        return a.call_id == b.call_id
    if a.args_captured and b.args_captured:
        return stable_hash(_args_dict(a.args)) == stable_hash(_args_dict(b.args))
    return True


def _dedupe(calls: list, by_id: Mapping[str, OtelSpan], same: Any) -> tuple[list, int]:
    """Keep one of each group of duplicates: the one with the most content."""
    kept: list = []
    dropped = 0
    for call in calls:
        twin = next((k for k in kept if same(k, call, by_id)), None)
        if twin is None:
            kept.append(call)
            continue
        dropped += 1
        if _richness(call) > _richness(twin):
            kept[kept.index(twin)] = call
    return kept, dropped


def _richness(call: LlmCall | ToolCall) -> tuple[int, int]:
    if isinstance(call, LlmCall):
        return (
            int(call.messages is not None) + int(call.answer is not None),
            int(call.family != "anthropic-native"),
        )
    return (int(call.args_captured) + int(call.result_captured), int(call.error_class is not None))


# --- building the cassette -------------------------------------------------------------------


def _args_dict(args: Any) -> dict[str, Any]:
    args = parse_json(args)
    if isinstance(args, Mapping):
        return dict(args)
    return {} if args is None else {"input": args}


def _ms(ns: int, origin: int) -> float:
    return round((ns - origin) / 1e6, 3)


def _llm_step(index: int, call: LlmCall, origin: int) -> Step:
    args: dict[str, Any] = {"model": call.model}
    if call.messages is not None:
        args["messages"] = call.messages
    if call.tools:
        args["tools"] = call.tools
    args.update(call.params)
    error = None
    result: Any = None
    if call.span.failed:
        error_class, message = exception_of(call.span)
        error = ErrorInfo(error_class or UNKNOWN_ERROR, message or "")
    else:
        result = {
            "id": call.response_id,
            "model": call.model,
            "message": call.answer,
            "finish_reason": call.finish_reason,
            "usage": _usage(call.usage),
        }
        if call.streamed:
            result["streamed"] = True
    return _step(index, "llm", call.model or call.span.name, args, result, error, call.span, origin)


def _usage(usage: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if not usage:
        return None
    inp, out = usage.get("input_tokens"), usage.get("output_tokens")
    total = inp + out if isinstance(inp, int) and isinstance(out, int) else None
    return {"input_tokens": inp, "output_tokens": out, "total_tokens": total}


def _step(
    index: int,
    kind: str,
    name: str,
    args: Any,
    result: Any,
    error: ErrorInfo | None,
    span: OtelSpan | None,
    origin: int,
    *,
    started: float | None = None,
) -> Step:
    return Step(
        index=index,
        kind=kind,
        name=name,
        args=args,
        args_hash=stable_hash(args),
        result=None if error is not None else result,
        error=error,
        started_at_ms=started
        if started is not None
        else _ms(span.start_ns, origin)
        if span
        else 0.0,
        latency_ms=round(span.duration_ms, 3) if span is not None else 0.0,
        span_id=span.span_id if span is not None else "",
        parent_span_id=span.parent_span_id if span is not None else None,
    )


@dataclass
class _ToolPlan:
    """A tool step to write: from its span, or rebuilt from the model's messages."""

    name: str
    args: Any
    result: Any
    error: ErrorInfo | None
    span: OtelSpan | None
    start_ns: int
    call_id: str | None


def _tool_results_after(llm_calls: Sequence[LlmCall], position: int) -> dict[str, Any]:
    """The tool messages the next model request sent back after the last assistant turn
    (the answers to this call's tool calls), by tool call id and by order (``#0``...)."""
    if position + 1 >= len(llm_calls) or llm_calls[position + 1].messages is None:
        return {}
    latest: list[dict[str, Any]] = []
    for message in llm_calls[position + 1].messages or ():
        if message.get("role") == "assistant":
            latest = []
        elif message.get("role") == "tool":
            latest.append(message)
    results: dict[str, Any] = {}
    for order, message in enumerate(latest):
        if message.get("tool_call_id"):
            results[message["tool_call_id"]] = message.get("content")
        results[f"#{order}"] = message.get("content")
    return results


def _plan_tools(run: TracedRun, notes: list[str]) -> list[_ToolPlan]:
    """Tool steps: from tool spans, filling what they lack from the model's messages; or
    wholly rebuilt from the model's messages where no tool spans exist."""
    requested: list[tuple[int, int, dict[str, Any], LlmCall]] = []
    for position, call in enumerate(run.llm_calls):
        for order, tool in enumerate((call.answer or {}).get("tool_calls") or ()):
            requested.append((position, order, tool, call))
    plans: list[_ToolPlan] = []
    if run.tool_calls:
        used: set[int] = set()
        filled = 0
        for tool in run.tool_calls:
            match = next(
                (
                    i
                    for i, (_, _, t, _) in enumerate(requested)
                    if i not in used
                    and (
                        (tool.call_id and t.get("id") == tool.call_id)
                        or (not tool.call_id and t.get("name") == tool.name)
                    )
                ),
                None,
            )
            if match is not None:
                used.add(match)
            args, result = tool.args, tool.result
            if match is not None and not tool.args_captured:
                args = requested[match][2].get("arguments")
                filled += 1
            if match is not None and not tool.result_captured and not tool.failed:
                position, order, t, _ = requested[match]
                sent = _tool_results_after(run.llm_calls, position)
                key = t.get("id") if t.get("id") in sent else f"#{order}"
                if key in sent:
                    result = parse_json(sent[key])
                    filled += 1
            error = None
            if tool.failed:
                error = ErrorInfo(tool.error_class or UNKNOWN_ERROR, tool.error_message or "")
                if tool.error_class is None:
                    notes.append(
                        f"tool '{tool.name}' failed but the trace has no error class "
                        f"(recorded as {UNKNOWN_ERROR})"
                    )
            plans.append(
                _ToolPlan(
                    tool.name, args, result, error, tool.span, tool.span.start_ns, tool.call_id
                )
            )
        if filled:
            notes.append(
                f"{filled} tool argument/result value(s) rebuilt from the model's tool calls and "
                "the next request's tool messages (the tool spans did not capture them)"
            )
        return plans
    rebuilt = 0
    unknown = []
    for position, order, tool, call in requested:
        sent = _tool_results_after(run.llm_calls, position)
        key = tool.get("id") if tool.get("id") in sent else f"#{order}"
        result = parse_json(sent[key]) if key in sent else None
        if key not in sent:
            unknown.append(str(tool.get("name")))
        plans.append(
            _ToolPlan(
                str(tool.get("name")),
                tool.get("arguments"),
                result,
                None,
                None,
                call.span.end_ns,
                tool.get("id"),
            )
        )
        rebuilt += 1
    if rebuilt:
        notes.append(
            f"{rebuilt} tool step(s) rebuilt without tool spans: args from the model's tool "
            "calls, results from the next request's tool messages (the text the agent sent "
            "back, not the tool's return value; no error class, no timing)"
        )
    if unknown:
        notes.append(
            f"result of the last tool call(s) unknown ({', '.join(unknown)}): no later model "
            "request shows it"
        )
    return plans


def to_cassette(run: TracedRun, *, sources: Sequence[str] = ()) -> Cassette:
    """The cassette of one analysed trace (raises ``TraceError`` when it has no GenAI spans)."""
    trace = run.trace
    if not run.llm_calls and not run.tool_calls:
        seen = ", ".join(sorted({s.name for s in trace.spans})[:5])
        where = trace.spans[0].where if trace.spans else "?"
        raise TraceError(
            f"{where}: trace {trace.trace_id} has no GenAI spans (no model or tool calls from a "
            f"known instrumentation; its spans: {seen}); instrument the model client with "
            "OpenInference, OpenLLMetry or opentelemetry-instrumentation-openai-v2"
        )
    origin = run.root.start_ns if run.root is not None else min(s.start_ns for s in trace.spans)
    reconstructed: list[str] = []
    tools = _plan_tools(run, reconstructed)
    entries: list[tuple[int, int, Any]] = [(c.span.start_ns, 0, c) for c in run.llm_calls]
    entries += [(t.start_ns, 1, t) for t in tools]
    entries.sort(key=lambda e: (e[0], e[1]))
    steps = []
    for index, (start_ns, _, entry) in enumerate(entries):
        if isinstance(entry, LlmCall):
            steps.append(_llm_step(index, entry, origin))
        else:
            args = _args_dict(entry.args)
            steps.append(
                _step(
                    index,
                    "tool",
                    entry.name,
                    args,
                    entry.result,
                    entry.error,
                    entry.span,
                    origin,
                    started=_ms(start_ns, origin),
                )
            )
    inferred = infer_outcome(run.agent, run.root, run.llm_calls)
    outcome = inferred.outcome
    last_answer = (run.llm_calls[-1].answer or {}) if run.llm_calls else {}
    if outcome.stop_reason == "completed" and outcome.output is None and last_answer.get("content"):
        outcome = replace(outcome, output=last_answer["content"])
        reconstructed.append("run output taken from the last model answer (no agent span output)")
    resource = (run.root or trace.spans[0]).resource
    agent = run.agent
    context = RunContext(
        run_id=_run_id(run),
        trace_id=trace.trace_id,
        entrypoint=None,
        input=agent.input
        if agent is not None and agent.input is not None
        else _first_user_message(run),
        release=_text(resource.get("service.version")),
        workflow=_text(
            agent.name if agent is not None and agent.name else resource.get("service.name")
        ),
        model=next((c.model for c in run.llm_calls if c.model), None),
        recorded_at=_dt.datetime.fromtimestamp(origin / 1e9, _dt.UTC).isoformat(
            timespec="milliseconds"
        ),
    )
    for call in run.llm_calls:
        reconstructed.extend(n for n in call.notes if n not in reconstructed)
    not_captured = [c for c in run.llm_calls if not c.content_captured]
    if not_captured:
        reconstructed.append(
            f"model content not captured on {len(not_captured)} of {len(run.llm_calls)} model "
            f"call(s) ({not_captured[0].family}): triage only, this run cannot be replayed"
        )
    if any(c.streamed for c in run.llm_calls):
        reconstructed.append("streamed answers are the reassembled message (chunking not traced)")
    if agent is None or agent.input is None:
        reconstructed.append("run input taken from the first user message (no agent span input)")
    provenance: dict[str, Any] = {
        "source": PROVENANCE_SOURCE,
        "instrumentation": run.families,
        "files": list(sources or trace.sources),
        "content_captured": run.content_captured,
        "stop_reason": {"inferred": inferred.inferred, "how": inferred.how},
        "reconstructed": reconstructed,
        "duplicate_spans_dropped": run.duplicates,
    }
    return Cassette(context=context, steps=tuple(steps), outcome=outcome, provenance=provenance)


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _run_id(run: TracedRun) -> str:
    for span in (run.agent.span,) if run.agent is not None else ():
        for key in ("gen_ai.agent.call.id", "gen_ai.conversation.id"):
            if span.attributes.get(key):
                return str(span.attributes[key])
    return f"trace_{run.trace.trace_id[:12]}"


def _first_user_message(run: TracedRun) -> Any:
    for call in run.llm_calls:
        for message in call.messages or ():
            if message.get("role") == "user" and message.get("content"):
                return message["content"]
    return None


def import_trace(trace: TraceRun) -> Cassette:
    """``analyse`` + ``to_cassette`` (the one call site for the redaction of imported data)."""
    return redact_imported(to_cassette(analyse(trace)))


def redact_imported(cassette: Cassette) -> Cassette:
    """The single place imported data passes through redaction before it is written: the
    same pass as recorded cassettes (``replay.redact.redact_cassette``, the project's
    ``[tool.replay]`` rules and hook), on every step, the run input and the outcome."""
    from replay.redact import redact_cassette

    return redact_cassette(cassette)
