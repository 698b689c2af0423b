"""The common shape of a model call, and which wire format a request path speaks.

Every format parser turns a provider's response (whole or streamed) into one shape::

    {"id", "model",
     "message": {"role", "content", "tool_calls": [{"id", "name", "arguments"}]},
     "finish_reason", "usage": {"input_tokens", "output_tokens", "total_tokens"}}

``arguments`` is parsed JSON; when the model sent text that is not JSON it stays text
and ``arguments_error`` says why (a malformed tool call is evidence, not a crash).
``finish_reason`` keeps the provider's word (``stop``/``tool_calls``, ``end_turn``/
``tool_use``, ``completed``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from replay.http.sse import Event


@dataclass(frozen=True, slots=True)
class WireFormat:
    """A model API: how to read its whole response and its streamed events."""

    name: str
    parse: Callable[[Any], dict[str, Any]]
    assemble: Callable[[Iterable[Event]], dict[str, Any]]


def detect(path: str) -> WireFormat | None:
    """The model API a request path belongs to (None: a generic HTTP request)."""
    path = path.rstrip("/")
    for suffix, wire in _formats or _load_formats():
        if path.endswith(suffix):
            return wire
    return None


_formats: tuple[tuple[str, WireFormat], ...] = ()


def _load_formats() -> tuple[tuple[str, WireFormat], ...]:
    # The format modules import this one: read them on first use, once.
    global _formats
    from replay.http import anthropic, openai

    _formats = (
        ("/chat/completions", openai.CHAT_COMPLETIONS),
        ("/responses", openai.RESPONSES),
        ("/messages", anthropic.MESSAGES),
    )
    return _formats


def tool_call_entry(call_id: Any, name: Any, arguments: Any) -> dict[str, Any]:
    """One tool call in the common shape, ``arguments`` parsed when they are JSON text."""
    entry: dict[str, Any] = {"id": call_id, "name": name}
    if isinstance(arguments, str):
        try:
            entry["arguments"] = json.loads(arguments)
        except ValueError as exc:
            entry["arguments"] = arguments
            entry["arguments_error"] = f"not valid JSON: {exc}"
    else:
        entry["arguments"] = arguments
    return entry


def usage_entry(
    input_tokens: Any, output_tokens: Any, total: Any = None, **extra: Any
) -> dict[str, Any] | None:
    """Token usage in the common shape (None when the provider sent none)."""
    if input_tokens is None and output_tokens is None:
        return None
    usage: dict[str, Any] = {"input_tokens": input_tokens, "output_tokens": output_tokens}
    if total is None and isinstance(input_tokens, int) and isinstance(output_tokens, int):
        total = input_tokens + output_tokens
    usage["total_tokens"] = total
    usage.update({k: v for k, v in extra.items() if v is not None})
    return usage


def llm_result(
    *,
    id: Any,
    model: Any,
    content: str | None,
    tool_calls: list[dict[str, Any]],
    finish_reason: Any,
    usage: dict[str, Any] | None,
    role: str = "assistant",
    **extra: Any,
) -> dict[str, Any]:
    message: dict[str, Any] = {"role": role, "content": content, "tool_calls": tool_calls}
    message.update({k: v for k, v in extra.items() if v is not None})
    return {
        "id": id,
        "model": model,
        "message": message,
        "finish_reason": finish_reason,
        "usage": usage,
    }


def error_entry(data: Any) -> dict[str, Any]:
    """The error a provider sent (OpenAI ``{"error": {...}}``, Anthropic ``{"type": "error",
    "error": {...}}``), or the body as it is."""
    if isinstance(data, dict) and "error" in data:
        error = data["error"]
        if isinstance(error, dict):
            return {k: error[k] for k in ("type", "code", "message") if error.get(k) is not None}
        return {"message": error}
    return {"body": data}


def as_dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}
