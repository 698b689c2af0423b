"""The GenAI semantic conventions: official openai-v2 (util-genai), hand-written spans.

Model calls: ``gen_ai.operation.name`` chat / text_completion / generate_content, with
content in ``gen_ai.input.messages`` / ``gen_ai.output.messages`` (span-only mode) or in
a ``gen_ai.client.inference.operation.details`` log record of the same span (event-only
mode). The older forms (flattened ``gen_ai.prompt.{i}.*`` attributes, per-message
``gen_ai.user.message`` / ``gen_ai.choice`` events) are not read: such a run imports
without content (triage only). Tools: ``execute_tool`` spans. Agents: ``invoke_agent``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from replay.otel.messages import (
    from_parts,
    from_system_instructions,
    merged_answer,
    parse_json,
)
from replay.otel.read import OtelLogRecord, OtelSpan
from replay.otel.shapes import (
    AgentRun,
    Classified,
    LlmCall,
    ToolCall,
    exception_of,
    first_present,
)

NAME = "genai-semconv"
CHAT_OPERATIONS = frozenset({"chat", "text_completion", "generate_content"})
DETAILS_EVENT = "gen_ai.client.inference.operation.details"
_PARAMS = ("temperature", "max_tokens", "top_p", "frequency_penalty", "presence_penalty", "seed")


def family_of(span: OtelSpan) -> str:
    if span.scope.startswith("opentelemetry.util.genai"):
        return "openai-v2 (util-genai)"
    if span.scope.startswith("opentelemetry.instrumentation.openai_v2"):
        return "openai-v2"
    return NAME


def classify(span: OtelSpan, logs: Sequence[OtelLogRecord]) -> Classified | None:
    operation = span.attributes.get("gen_ai.operation.name")
    if operation in CHAT_OPERATIONS:
        return llm_call(span, logs, family=family_of(span))
    if operation == "execute_tool":
        return tool_call(span, family=family_of(span))
    if operation in ("invoke_agent", "create_agent", "invoke_workflow"):
        return agent_run(span, family=family_of(span))
    return None


def details_record(span: OtelSpan, logs: Sequence[OtelLogRecord]) -> OtelLogRecord | None:
    return next(
        (r for r in logs if r.span_id == span.span_id and r.event_name == DETAILS_EVENT), None
    )


def llm_call(span: OtelSpan, logs: Sequence[OtelLogRecord], *, family: str) -> LlmCall:
    attrs: Mapping[str, Any] = span.attributes
    record = details_record(span, logs)
    source = attrs
    notes = []
    if "gen_ai.input.messages" not in attrs and record is not None:
        source = {**record.attributes, **attrs}
        notes.append("content read from the event-only log record " + DETAILS_EVENT)
    call = LlmCall(
        span=span,
        family=family,
        model=first_present(attrs, "gen_ai.request.model", "gen_ai.response.model"),
        params={
            key: attrs[f"gen_ai.request.{key}"]
            for key in _PARAMS
            if attrs.get(f"gen_ai.request.{key}") is not None
        },
        response_id=attrs.get("gen_ai.response.id"),
        notes=notes,
    )
    reasons = attrs.get("gen_ai.response.finish_reasons")
    if isinstance(reasons, list) and reasons:
        call.finish_reason = str(reasons[0])
    if (
        attrs.get("gen_ai.usage.input_tokens") is not None
        or attrs.get("gen_ai.usage.output_tokens") is not None
    ):
        call.usage = {
            "input_tokens": attrs.get("gen_ai.usage.input_tokens"),
            "output_tokens": attrs.get("gen_ai.usage.output_tokens"),
        }
    stream = first_present(attrs, "gen_ai.request.stream", "gen_ai.is_streaming")
    call.streamed = bool(stream) if stream is not None else None
    fill_content(call, source)
    return call


def fill_content(call: LlmCall, attrs: Mapping[str, Any]) -> None:
    """Messages, tools and the answer from semconv attributes (parts or flattened form)."""
    if attrs.get("gen_ai.input.messages") is not None:
        messages = from_parts(attrs["gen_ai.input.messages"])
        system = from_system_instructions(attrs.get("gen_ai.system_instructions"))
        if system and not (messages and messages[0]["role"] == "system"):
            messages.insert(0, {"role": "system", "content": system})
        call.messages = messages
    tools = parse_json(attrs.get("gen_ai.tool.definitions"))
    if isinstance(tools, list):
        call.tools = tools
    output = None
    if attrs.get("gen_ai.output.messages") is not None:
        raw = parse_json(attrs["gen_ai.output.messages"])
        output = merged_answer(from_parts(raw))
        if call.finish_reason is None and isinstance(raw, list) and raw:
            last = raw[-1]
            if isinstance(last, Mapping) and last.get("finish_reason"):
                call.finish_reason = str(last["finish_reason"])
    if output is not None:
        call.answer = {**output, "role": "assistant"}


def tool_call(span: OtelSpan, *, family: str) -> ToolCall:
    attrs = span.attributes
    name = attrs.get("gen_ai.tool.name") or span.name.removeprefix("execute_tool ").strip()
    call = ToolCall(
        span=span, family=family, name=str(name), call_id=attrs.get("gen_ai.tool.call.id")
    )
    if "gen_ai.tool.call.arguments" in attrs:
        call.args = parse_json(attrs["gen_ai.tool.call.arguments"])
        call.args_captured = True
    if "gen_ai.tool.call.result" in attrs:
        call.result = parse_json(attrs["gen_ai.tool.call.result"])
        call.result_captured = True
    if span.failed:
        call.error_class, call.error_message = exception_of(span)
    return call


def agent_run(span: OtelSpan, *, family: str) -> AgentRun:
    attrs = span.attributes
    run = AgentRun(span=span, family=family, name=attrs.get("gen_ai.agent.name"))
    inputs = from_parts(attrs["gen_ai.input.messages"]) if "gen_ai.input.messages" in attrs else []
    users = [m for m in inputs if m["role"] == "user" and m.get("content")]
    if users:
        run.input = users[0]["content"]
    outputs = (
        from_parts(attrs["gen_ai.output.messages"]) if "gen_ai.output.messages" in attrs else []
    )
    if outputs and outputs[-1].get("content"):
        run.output = outputs[-1]["content"]
    if span.failed:
        run.error_class, run.error_message = exception_of(span)
    return run
