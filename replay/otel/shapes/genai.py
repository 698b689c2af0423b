"""The GenAI semantic conventions: official openai-v2 (util-genai), hand-written spans.

Model calls: ``gen_ai.operation.name`` chat / text_completion / generate_content (or the
older ``llm.request.type``), with content in, by preference:

* ``gen_ai.input.messages`` / ``gen_ai.output.messages`` (span-only mode), or a
  ``gen_ai.client.inference.operation.details`` log record of the span (event-only mode);
* the older flattened attributes ``gen_ai.prompt.{i}.role|content|tool_call_id|
  tool_calls.{j}.*`` and ``gen_ai.completion.{i}.*``, tools in ``llm.request.functions.{i}``
  (OpenLLMetry before 0.59);
* the older per-message events ``gen_ai.{system,user,assistant,tool}.message`` and
  ``gen_ai.choice``, as log records tied to the span (OpenLLMetry's
  ``use_attributes=False``, openai-v2 before util-genai) or as span events, the body's
  fields as attributes (semconv 1.27-1.36).

Tools: ``execute_tool`` spans. Agents: ``invoke_agent``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from replay.otel.messages import (
    as_text,
    from_parts,
    from_system_instructions,
    merged_answer,
    parse_json,
)
from replay.otel.messages import tool_call as message_tool_call
from replay.otel.read import OtelLogRecord, OtelSpan
from replay.otel.shapes import (
    AgentRun,
    Classified,
    LlmCall,
    ToolCall,
    attr_list,
    exception_of,
    first_present,
)

NAME = "genai-semconv"
CHAT_OPERATIONS = frozenset({"chat", "text_completion", "generate_content"})
LEGACY_REQUEST_TYPES = {"chat": "chat", "completion": "text_completion"}
DETAILS_EVENT = "gen_ai.client.inference.operation.details"
MESSAGE_EVENTS = {
    "gen_ai.system.message": "system",
    "gen_ai.user.message": "user",
    "gen_ai.assistant.message": "assistant",
    "gen_ai.tool.message": "tool",
}
CHOICE_EVENT = "gen_ai.choice"
_PARAMS = ("temperature", "max_tokens", "top_p", "frequency_penalty", "presence_penalty", "seed")


def family_of(span: OtelSpan) -> str:
    if span.scope.startswith("opentelemetry.util.genai"):
        return "openai-v2 (util-genai)"
    if span.scope.startswith("opentelemetry.instrumentation.openai_v2"):
        return "openai-v2"
    return NAME


def classify(span: OtelSpan, logs: Sequence[OtelLogRecord]) -> Classified | None:
    operation = span.attributes.get("gen_ai.operation.name") or LEGACY_REQUEST_TYPES.get(
        span.attributes.get("llm.request.type")  # type: ignore[arg-type]
    )
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
    input_tokens = first_present(attrs, "gen_ai.usage.input_tokens", "gen_ai.usage.prompt_tokens")
    output_tokens = first_present(
        attrs, "gen_ai.usage.output_tokens", "gen_ai.usage.completion_tokens"
    )
    if input_tokens is not None or output_tokens is not None:
        call.usage = {"input_tokens": input_tokens, "output_tokens": output_tokens}
    stream = first_present(
        attrs, "gen_ai.request.stream", "gen_ai.is_streaming", "llm.is_streaming"
    )
    call.streamed = bool(stream) if stream is not None else None
    fill_content(call, source)
    if call.messages is None and "gen_ai.prompt.0.role" in attrs:
        fill_flattened(call, attrs)
    if call.messages is None:
        fill_from_events(call, span, logs)
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


def fill_flattened(call: LlmCall, attrs: Mapping[str, Any]) -> None:
    """The older flattened form: ``gen_ai.prompt.{i}.*`` / ``gen_ai.completion.{i}.*``."""
    call.messages = [_flat_message(item) for item in attr_list(attrs, "gen_ai.prompt.")]
    completions = attr_list(attrs, "gen_ai.completion.")
    if completions:  # the first choice is the answer the agent saw
        call.answer = {**_flat_message(completions[0]), "role": "assistant"}
    if call.finish_reason is None and completions and completions[0].get("finish_reason"):
        call.finish_reason = str(completions[0]["finish_reason"])
    functions = attr_list(attrs, "llm.request.functions.")
    if functions and call.tools is None:
        call.tools = [
            {
                "type": "function",
                "name": f.get("name"),
                "description": f.get("description"),
                "parameters": parse_json(f.get("parameters")),
            }
            for f in functions
        ]
    call.notes.append(
        "content read from the flattened gen_ai.prompt / gen_ai.completion attributes"
    )


def _flat_message(item: Mapping[str, Any]) -> dict[str, Any]:
    calls = item.get("tool_calls")
    if isinstance(calls, Mapping):
        calls = [calls[k] for k in sorted((k for k in calls if k.isdigit()), key=int)]
    else:
        calls = []
    message: dict[str, Any] = {
        "role": str(item.get("role") or "user"),
        "content": item.get("content"),
    }
    if calls:
        message["tool_calls"] = [
            message_tool_call(c.get("id"), c.get("name"), c.get("arguments")) for c in calls
        ]
    if item.get("tool_call_id") is not None:
        message["tool_call_id"] = item["tool_call_id"]
    return message


def fill_from_events(call: LlmCall, span: OtelSpan, logs: Sequence[OtelLogRecord]) -> None:
    """The older per-message events, as log records of the span or as span events.
    Content counts as captured when a message event carries a ``content`` field."""
    events = [
        (r.event_name, _body(r.body, r.attributes)) for r in logs if r.span_id == span.span_id
    ]
    source = "log records"
    if not any(name in MESSAGE_EVENTS or name == CHOICE_EVENT for name, _ in events):
        events = [(e.name, _body(None, e.attributes)) for e in span.events]
        source = "span events"
    messages = []
    choices = []
    for name, body in events:
        if name in MESSAGE_EVENTS:
            messages.append(_event_message(MESSAGE_EVENTS[name], body))
        elif name == CHOICE_EVENT:
            choices.append(body)
    if not messages or not any(
        "content" in body for name, body in events if name in MESSAGE_EVENTS
    ):
        return
    call.messages = messages
    answers = []
    for choice in sorted(choices, key=lambda c: c.get("index") or 0):
        message = parse_json(choice.get("message"))
        message = dict(message) if isinstance(message, Mapping) else {}
        if "tool_calls" in choice and "tool_calls" not in message:
            message["tool_calls"] = choice["tool_calls"]
        answers.append(_event_message("assistant", message))
        if call.finish_reason is None and choice.get("finish_reason"):
            call.finish_reason = str(choice["finish_reason"])
    if answers:
        call.answer = {**(merged_answer(answers[:1]) or {}), "role": "assistant"}
    call.notes.append(
        f"content read from the per-message gen_ai.*.message / gen_ai.choice {source}"
    )


def _body(body: Any, attributes: Mapping[str, Any]) -> dict[str, Any]:
    """An event's fields: the log record's body, else its attributes (span events)."""
    if isinstance(body, Mapping) and body:
        return dict(body)
    return {
        key.removeprefix("gen_ai.event."): parse_json(value)
        for key, value in attributes.items()
        if key not in ("gen_ai.system", "gen_ai.provider.name")
    }


def _event_message(role: str, body: Mapping[str, Any]) -> dict[str, Any]:
    calls = parse_json(body.get("tool_calls"))
    message: dict[str, Any] = {
        "role": str(body.get("role") or role),
        "content": _content_text(body.get("content")),
    }
    tool_calls = [
        message_tool_call(
            c.get("id"),
            (c.get("function") or {}).get("name", c.get("name")),
            (c.get("function") or {}).get("arguments", c.get("arguments")),
        )
        for c in (calls if isinstance(calls, list) else ())
        if isinstance(c, Mapping)
    ]
    if tool_calls:
        message["tool_calls"] = tool_calls
    if role == "tool" and body.get("id") is not None:
        message["tool_call_id"] = str(body["id"])
    return message


def _content_text(content: Any) -> str | None:
    if content is None or isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(
            str(p.get("text", p.get("content", ""))) if isinstance(p, Mapping) else str(p)
            for p in content
        )
    return as_text(content)


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
