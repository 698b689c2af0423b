"""Anthropic's messages wire format (``/v1/messages``), whole or streamed.

Pure functions over parsed JSON; the ``anthropic`` SDK is never imported here.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from replay.http.sse import Event
from replay.http.wire import WireFormat, as_dict, llm_result, tool_call_entry, usage_entry


def _usage(usage: dict[str, Any]) -> dict[str, Any] | None:
    if not usage:
        return None
    return usage_entry(
        usage.get("input_tokens"),
        usage.get("output_tokens"),
        cached_input_tokens=usage.get("cache_read_input_tokens") or None,
        cache_creation_input_tokens=usage.get("cache_creation_input_tokens") or None,
    )


def _from_blocks(
    data: dict[str, Any], blocks: list[dict[str, Any]], usage: dict[str, Any]
) -> dict[str, Any]:
    text: list[str] = []
    thinking: list[str] = []
    calls: list[dict[str, Any]] = []
    for block in blocks:
        kind = block.get("type")
        if kind == "text":
            text.append(block.get("text") or "")
        elif kind == "thinking":
            thinking.append(block.get("thinking") or "")
        elif kind in ("tool_use", "server_tool_use"):
            calls.append(tool_call_entry(block.get("id"), block.get("name"), block.get("input")))
    return llm_result(
        id=data.get("id"),
        model=data.get("model"),
        role=data.get("role") or "assistant",
        content="".join(text) if text else None,
        tool_calls=calls,
        finish_reason=data.get("stop_reason"),
        usage=_usage(usage),
        thinking="".join(thinking) if thinking else None,
    )


def parse_message(data: Any) -> dict[str, Any]:
    """A ``message`` object in the common shape."""
    data = as_dict(data)
    blocks = [as_dict(b) for b in data.get("content") or []]
    return _from_blocks(data, blocks, as_dict(data.get("usage")))


def assemble_message(events: Iterable[Event]) -> dict[str, Any]:
    """The message a stream of ``message_start`` ... ``message_stop`` events adds up to."""
    message: dict[str, Any] = {}
    usage: dict[str, Any] = {}
    blocks: dict[int, dict[str, Any]] = {}
    partial_json: dict[int, str] = {}
    for event in events:
        data = as_dict(event.json())
        kind = data.get("type")
        if kind == "message_start":
            message = dict(as_dict(data.get("message")))
            usage.update(as_dict(message.get("usage")))
        elif kind == "content_block_start":
            index = data.get("index", len(blocks))
            blocks[index] = dict(as_dict(data.get("content_block")))
        elif kind == "content_block_delta":
            index = data.get("index", 0)
            block = blocks.setdefault(index, {"type": "text", "text": ""})
            delta = as_dict(data.get("delta"))
            if delta.get("type") == "text_delta":
                block["text"] = (block.get("text") or "") + (delta.get("text") or "")
            elif delta.get("type") == "input_json_delta":
                partial_json[index] = partial_json.get(index, "") + (
                    delta.get("partial_json") or ""
                )
            elif delta.get("type") == "thinking_delta":
                block["thinking"] = (block.get("thinking") or "") + (delta.get("thinking") or "")
        elif kind == "message_delta":
            message.update({k: v for k, v in as_dict(data.get("delta")).items() if v is not None})
            usage.update({k: v for k, v in as_dict(data.get("usage")).items() if v is not None})
        elif kind == "error":
            message["stop_reason"] = "error"
            message["error"] = as_dict(data.get("error"))
    for index, text in partial_json.items():
        # The SDK parses the joined partial JSON; keep it as text when it is not JSON.
        try:
            blocks[index]["input"] = json.loads(text) if text else {}
        except ValueError:
            blocks[index]["input"] = text
    return _from_blocks(message, [blocks[i] for i in sorted(blocks)], usage)


MESSAGES = WireFormat("anthropic.messages", parse_message, assemble_message)
