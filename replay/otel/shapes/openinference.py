"""OpenInference: ``openinference.span.kind`` LLM / TOOL / AGENT spans.

LLM spans carry the whole SDK request as ``input.value`` (JSON of the call's kwargs: chat
``messages``, Anthropic ``system`` + ``messages``, or openai-agents' Responses input
items) and the whole response as ``output.value``; the flattened ``llm.input_messages.*``
/ ``llm.output_messages.*`` attributes are the fallback. TOOL spans (``@tracer.tool``,
openai-agents) have ``tool.name``, ``input.value`` (the call's arguments) and
``output.value``, but no tool call id. With ``OPENINFERENCE_ENABLE_GENAI_SEMCONV`` the
same spans also carry gen_ai.* keys, where ``gen_ai.tool.call.arguments`` holds the
tool's *schema*: this module reads the OpenInference keys only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from replay.otel.messages import (
    answer_of_response,
    from_anthropic,
    from_openai_chat,
    from_responses_input,
    parse_json,
)
from replay.otel.read import OtelLogRecord, OtelSpan
from replay.otel.shapes import AgentRun, Classified, LlmCall, ToolCall, attr_list, exception_of

NAME = "openinference"
KIND = "openinference.span.kind"


def classify(span: OtelSpan, logs: Sequence[OtelLogRecord]) -> Classified | None:
    kind = span.attributes.get(KIND)
    if kind is None:
        return None
    family = _family(span)
    if kind == "LLM":
        return llm_call(span, family)
    if kind == "TOOL":
        return tool_call(span, family)
    if kind == "AGENT":
        value = _value(span, "input")
        return AgentRun(
            span=span,
            family=family,
            name=span.attributes.get("agent.name") or span.name,
            input=value,
            output=_value(span, "output"),
            error_class=exception_of(span)[0] if span.failed else None,
            error_message=exception_of(span)[1] if span.failed else None,
        )
    return None


def _family(span: OtelSpan) -> str:
    scope = span.scope
    if "openai_agents" in scope or "openai-agents" in scope:
        return "openinference (openai-agents)"
    if scope.startswith("openinference.instrumentation."):
        return f"openinference ({scope.removeprefix('openinference.instrumentation.')})"
    return NAME


def _value(span: OtelSpan, which: str) -> Any:
    value = span.attributes.get(f"{which}.value")
    if value is None:
        return None
    if span.attributes.get(f"{which}.mime_type") == "application/json":
        return parse_json(value)
    return value


def llm_call(span: OtelSpan, family: str) -> LlmCall:
    attrs = span.attributes
    params = parse_json(attrs.get("llm.invocation_parameters"))
    params = dict(params) if isinstance(params, Mapping) else {}
    call = LlmCall(
        span=span,
        family=family,
        model=attrs.get("llm.model_name") or params.get("model"),
        finish_reason=attrs.get("llm.finish_reason"),
    )
    anthropic = attrs.get("llm.provider") == "anthropic" or attrs.get("llm.system") == "anthropic"
    request = _value(span, "input")
    if isinstance(request, Mapping) and ("messages" in request or "input" in request):
        if "input" in request and "messages" not in request:
            call.messages = from_responses_input(request["input"], request.get("instructions"))
        elif anthropic:
            call.messages = from_anthropic(request["messages"], request.get("system"))
        else:
            call.messages = from_openai_chat(request["messages"])
        if isinstance(request.get("tools"), list):
            call.tools = request["tools"]
        params.update(
            {k: v for k, v in request.items() if k not in ("messages", "input", "tools", "system")}
        )
    elif isinstance(request, list):
        call.messages = from_responses_input(request)
        call.notes.append("the agent's instructions (system prompt) are not in the trace")
    elif any(k.startswith("llm.input_messages.") for k in attrs):
        call.messages = from_openai_chat(_flat_messages(attr_list(attrs, "llm.input_messages.")))
    if call.tools is None:
        schemas = [
            parse_json(t.get("tool", {}).get("json_schema")) for t in attr_list(attrs, "llm.tools.")
        ]
        call.tools = [s for s in schemas if s is not None] or None
    params.pop("model", None)
    call.streamed = (
        bool(params.pop("stream", False)) or span.event("First Token Stream Event") is not None
    )
    params.pop("stream_options", None)
    call.params = params
    response = _value(span, "output")
    answer = answer_of_response(response)
    if answer is None and any(k.startswith("llm.output_messages.") for k in attrs):
        outputs = from_openai_chat(_flat_messages(attr_list(attrs, "llm.output_messages.")))
        if outputs:
            answer = {"message": {**outputs[0], "role": "assistant"}}
    if answer is not None:
        call.answer = answer["message"]
        call.response_id = answer.get("id")
        call.finish_reason = answer.get("finish_reason") or call.finish_reason
        call.usage = answer.get("usage")
    if call.usage is None and attrs.get("llm.token_count.prompt") is not None:
        call.usage = {
            "input_tokens": attrs.get("llm.token_count.prompt"),
            "output_tokens": attrs.get("llm.token_count.completion"),
        }
    return call


def _flat_messages(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``llm.*_messages.{i}.message.*`` as chat messages (Anthropic's contents folded in)."""
    out = []
    for item in items:
        message = item.get("message", {})
        content = message.get("content")
        if content is None and "contents" in message:
            contents = attr_list({f"c.{k}": v for k, v in _flat(message["contents"]).items()}, "c.")
            content = (
                "".join(
                    str(c.get("message_content", {}).get("text", ""))
                    for c in contents
                    if c.get("message_content", {}).get("type") == "text"
                )
                or None
            )
        calls = [
            {
                "id": c.get("tool_call", {}).get("id"),
                "function": c.get("tool_call", {}).get("function", {}),
            }
            for c in attr_list(_prefixed(message.get("tool_calls")), "t.")
        ]
        entry: dict[str, Any] = {"role": message.get("role"), "content": content}
        if calls:
            entry["tool_calls"] = calls
        if message.get("tool_call_id"):
            entry["tool_call_id"] = message["tool_call_id"]
        out.append(entry)
    return out


def _prefixed(node: Any) -> dict[str, Any]:
    return {f"t.{k}": v for k, v in _flat(node).items()}


def _flat(node: Any, prefix: str = "") -> dict[str, Any]:
    if not isinstance(node, Mapping):
        return {}
    flat: dict[str, Any] = {}
    for key, value in node.items():
        if isinstance(value, Mapping):
            flat.update(_flat(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def tool_call(span: OtelSpan, family: str) -> ToolCall:
    attrs = span.attributes
    call = ToolCall(span=span, family=family, name=str(attrs.get("tool.name") or span.name))
    if "input.value" in attrs:
        call.args = parse_json(attrs["input.value"])
        call.args_captured = True
    if "output.value" in attrs:
        call.result = parse_json(attrs["output.value"])
        call.result_captured = True
    if span.failed:
        call.error_class, call.error_message = exception_of(span)
        if call.error_class is None:
            call.notes.append("the tool's error class is not in the trace (redacted by the SDK)")
    return call
