"""OpenAI's wire formats: chat completions and the Responses API, whole or streamed.

Pure functions over parsed JSON; the ``openai`` SDK is never imported here. Also fits
the many OpenAI-compatible servers (Azure, vLLM, Ollama, OpenRouter, ...).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from replay.http.sse import Event
from replay.http.wire import WireFormat, as_dict, llm_result, tool_call_entry, usage_entry


def _chat_usage(usage: Any) -> dict[str, Any] | None:
    usage = as_dict(usage)
    if not usage:
        return None
    cached = as_dict(usage.get("prompt_tokens_details")).get("cached_tokens")
    return usage_entry(
        usage.get("prompt_tokens"),
        usage.get("completion_tokens"),
        usage.get("total_tokens"),
        cached_input_tokens=cached or None,
    )


def parse_chat(data: Any) -> dict[str, Any]:
    """A ``chat.completion`` object in the common shape (first choice)."""
    data = as_dict(data)
    choices = data.get("choices") or []
    choice = as_dict(choices[0]) if choices else {}
    message = as_dict(choice.get("message"))
    calls = [
        tool_call_entry(
            call.get("id"),
            as_dict(call.get("function")).get("name"),
            as_dict(call.get("function")).get("arguments"),
        )
        for call in map(as_dict, message.get("tool_calls") or [])
    ]
    return llm_result(
        id=data.get("id"),
        model=data.get("model"),
        role=message.get("role") or "assistant",
        content=message.get("content"),
        tool_calls=calls,
        finish_reason=choice.get("finish_reason"),
        usage=_chat_usage(data.get("usage")),
        refusal=message.get("refusal"),
        choices=len(choices) if len(choices) > 1 else None,
    )


def assemble_chat(events: Iterable[Event]) -> dict[str, Any]:
    """The message a stream of ``chat.completion.chunk`` events adds up to."""
    ident = model = finish = refusal = None
    usage: dict[str, Any] | None = None
    role = "assistant"
    content: list[str] = []
    calls: dict[int, dict[str, Any]] = {}
    for event in events:
        chunk = event.json()
        if not isinstance(chunk, dict):
            continue
        ident = ident or chunk.get("id")
        model = model or chunk.get("model")
        if chunk.get("usage"):
            usage = _chat_usage(chunk["usage"])
        for choice in map(as_dict, chunk.get("choices") or []):
            if choice.get("index", 0) != 0:
                continue
            delta = as_dict(choice.get("delta"))
            role = delta.get("role") or role
            if delta.get("content"):
                content.append(delta["content"])
            if delta.get("refusal"):
                refusal = (refusal or "") + delta["refusal"]
            for call in map(as_dict, delta.get("tool_calls") or []):
                slot = calls.setdefault(
                    call.get("index", 0), {"id": None, "name": "", "arguments": ""}
                )
                slot["id"] = call.get("id") or slot["id"]
                function = as_dict(call.get("function"))
                slot["name"] += function.get("name") or ""
                slot["arguments"] += function.get("arguments") or ""
            finish = choice.get("finish_reason") or finish
    return llm_result(
        id=ident,
        model=model,
        role=role,
        content="".join(content) if content else None,
        tool_calls=[
            tool_call_entry(c["id"], c["name"], c["arguments"]) for _, c in sorted(calls.items())
        ],
        finish_reason=finish,
        usage=usage,
        refusal=refusal,
    )


def parse_response(data: Any) -> dict[str, Any]:
    """A Responses API ``response`` object in the common shape."""
    data = as_dict(data)
    text: list[str] = []
    calls: list[dict[str, Any]] = []
    refusal = None
    for item in map(as_dict, data.get("output") or []):
        kind = item.get("type")
        if kind == "message":
            for part in map(as_dict, item.get("content") or []):
                if part.get("type") == "output_text":
                    text.append(part.get("text") or "")
                elif part.get("type") == "refusal":
                    refusal = part.get("refusal")
        elif kind == "function_call":
            calls.append(
                tool_call_entry(
                    item.get("call_id") or item.get("id"), item.get("name"), item.get("arguments")
                )
            )
    usage = as_dict(data.get("usage"))
    incomplete = as_dict(data.get("incomplete_details")).get("reason")
    return llm_result(
        id=data.get("id"),
        model=data.get("model"),
        content="".join(text) if text else None,
        tool_calls=calls,
        finish_reason=f"incomplete: {incomplete}" if incomplete else data.get("status"),
        usage=usage_entry(
            usage.get("input_tokens"), usage.get("output_tokens"), usage.get("total_tokens")
        )
        if usage
        else None,
        refusal=refusal,
    )


_FINAL_EVENTS = ("response.completed", "response.incomplete", "response.failed")


def assemble_response(events: Iterable[Event]) -> dict[str, Any]:
    """A streamed Responses API call: its final ``response`` object, or the text deltas
    when the stream ended without one."""
    deltas: list[str] = []
    started: dict[str, Any] = {}
    for event in events:
        data = as_dict(event.json())
        kind = data.get("type")
        if kind in _FINAL_EVENTS and isinstance(data.get("response"), dict):
            return parse_response(data["response"])
        if kind == "response.created":
            started = as_dict(data.get("response"))
        elif kind == "response.output_text.delta":
            deltas.append(data.get("delta") or "")
    return llm_result(
        id=started.get("id"),
        model=started.get("model"),
        content="".join(deltas) if deltas else None,
        tool_calls=[],
        finish_reason="interrupted",
        usage=None,
    )


CHAT_COMPLETIONS = WireFormat("openai.chat_completions", parse_chat, assemble_chat)
RESPONSES = WireFormat("openai.responses", parse_response, assemble_response)
