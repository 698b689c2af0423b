"""Provider wire responses built from a normalised answer, for runs that have no HTTP.

An imported trace keeps what the model answered (text, tool calls, finish reason, usage)
but not the bytes it sent. To re-drive the real agent, its SDK must get a response in the
format it asked for: OpenAI chat completions, the Responses API or Anthropic messages,
as one JSON body or as server-sent events when the request says ``"stream": true``.
``synthesize_response`` returns the same mapping a cassette stores under
``http.response`` (status, reason, headers, body or events), so the HTTP seam serves it
like a recorded one. The answer is the common shape of ``replay.http.wire``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping
from typing import Any

CHAT = "chat.completions"
RESPONSES = "responses"
MESSAGES = "anthropic.messages"

_TOOL_REASONS = frozenset({"tool_calls", "tool_call", "tool_use", "function_call"})
_LENGTH_REASONS = frozenset({"length", "max_tokens", "max_output_tokens"})


def api_of(endpoint: str) -> str | None:
    """The API a request path (or ``"POST /v1/..."`` endpoint) speaks."""
    path = endpoint.split(" ", 1)[-1].split("?", 1)[0].rstrip("/")
    if path.endswith("/chat/completions"):
        return CHAT
    if path.endswith("/responses"):
        return RESPONSES
    if path.endswith("/messages"):
        return MESSAGES
    return None


def synthesize_response(
    answer: Mapping[str, Any], *, endpoint: str, stream: bool = False, created: int = 0
) -> dict[str, Any]:
    """The ``http.response`` mapping answering a request to ``endpoint`` with ``answer``.

    Raises ``ValueError`` for an endpoint that is not a supported model API.
    """
    api = api_of(endpoint)
    if api is None:
        raise ValueError(f"no synthesized answers for {endpoint}: not a model API")
    message = answer.get("message") or {}
    calls = [_call(c, i, answer) for i, c in enumerate(message.get("tool_calls") or ())]
    parts = _Answer(
        id=str(answer.get("id") or _derived_id(answer)),
        model=str(answer.get("model") or "unknown-model"),
        text=message.get("content"),
        calls=calls,
        reason=answer.get("finish_reason"),
        usage=answer.get("usage") or {},
        created=created,
    )
    render = {CHAT: _Chat, RESPONSES: _Responses, MESSAGES: _Messages}[api]
    if stream:
        return {
            "status": 200,
            "reason": "OK",
            "headers": {"content-type": "text/event-stream"},
            "events": list(render.stream(parts)),
        }
    body = json.dumps(render.complete(parts), separators=(",", ":"), ensure_ascii=False)
    return {
        "status": 200,
        "reason": "OK",
        "headers": {"content-type": "application/json"},
        "body": body,
    }


def _derived_id(answer: Mapping[str, Any]) -> str:
    digest = hashlib.sha256(json.dumps(answer, sort_keys=True, default=str).encode()).hexdigest()
    return f"replay-{digest[:16]}"


def _call(call: Mapping[str, Any], index: int, answer: Mapping[str, Any]) -> dict[str, Any]:
    arguments = call.get("arguments")
    text = (
        arguments
        if isinstance(arguments, str)
        else json.dumps(
            arguments if arguments is not None else {}, separators=(",", ":"), ensure_ascii=False
        )
    )
    call_id = call.get("id") or f"call_{_derived_id(answer)[7:19]}_{index}"
    return {
        "id": str(call_id),
        "name": str(call.get("name")),
        "arguments": text,
        "input": arguments,
    }


class _Answer:
    def __init__(
        self,
        *,
        id: str,
        model: str,
        text: str | None,
        calls: list[dict[str, Any]],
        reason: Any,
        usage: Mapping[str, Any],
        created: int,
    ) -> None:
        self.id, self.model, self.text, self.calls = id, model, text, calls
        self.reason, self.created = reason, created
        self.input_tokens = int(usage.get("input_tokens") or 0)
        self.output_tokens = int(usage.get("output_tokens") or 0)

    def reason_for(self, tool: str, stop: str, length: str) -> str:
        if self.reason in _LENGTH_REASONS:
            return length
        if self.calls or self.reason in _TOOL_REASONS:
            return tool
        return stop


def _event(data: Any, name: str | None = None) -> str:
    text = data if isinstance(data, str) else json.dumps(data, separators=(",", ":"))
    return f"event: {name}\ndata: {text}" if name else f"data: {text}"


def _pieces(text: str, size: int = 16) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)] or [""]


class _Chat:
    @staticmethod
    def complete(a: _Answer) -> dict[str, Any]:
        message: dict[str, Any] = {"role": "assistant", "content": a.text, "refusal": None}
        if a.calls:
            message["tool_calls"] = [
                {
                    "id": c["id"],
                    "type": "function",
                    "function": {"name": c["name"], "arguments": c["arguments"]},
                }
                for c in a.calls
            ]
        return {
            "id": a.id,
            "object": "chat.completion",
            "created": a.created,
            "model": a.model,
            "choices": [
                {
                    "index": 0,
                    "message": message,
                    "logprobs": None,
                    "finish_reason": a.reason_for("tool_calls", "stop", "length"),
                }
            ],
            "usage": {
                "prompt_tokens": a.input_tokens,
                "completion_tokens": a.output_tokens,
                "total_tokens": a.input_tokens + a.output_tokens,
            },
        }

    @staticmethod
    def stream(a: _Answer) -> Iterator[str]:
        base = {
            "id": a.id,
            "object": "chat.completion.chunk",
            "created": a.created,
            "model": a.model,
        }

        def chunk(delta: dict[str, Any], finish: str | None = None) -> str:
            choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
            return _event({**base, "choices": [choice]})

        yield chunk({"role": "assistant", "content": ""})
        if a.text:
            for piece in _pieces(a.text):
                yield chunk({"content": piece})
        for i, c in enumerate(a.calls):
            yield chunk(
                {
                    "tool_calls": [
                        {
                            "index": i,
                            "id": c["id"],
                            "type": "function",
                            "function": {"name": c["name"], "arguments": ""},
                        }
                    ]
                }
            )
            for piece in _pieces(c["arguments"]):
                yield chunk({"tool_calls": [{"index": i, "function": {"arguments": piece}}]})
        yield chunk({}, a.reason_for("tool_calls", "stop", "length"))
        usage = {
            "prompt_tokens": a.input_tokens,
            "completion_tokens": a.output_tokens,
            "total_tokens": a.input_tokens + a.output_tokens,
        }
        yield _event({**base, "choices": [], "usage": usage})
        yield _event("[DONE]")


class _Responses:
    @staticmethod
    def complete(a: _Answer) -> dict[str, Any]:
        output: list[dict[str, Any]] = []
        if a.text is not None:
            output.append(
                {
                    "type": "message",
                    "id": f"msg_{a.id}",
                    "status": "completed",
                    "role": "assistant",
                    "content": [{"type": "output_text", "text": a.text, "annotations": []}],
                }
            )
        for i, c in enumerate(a.calls):
            output.append(
                {
                    "type": "function_call",
                    "id": f"fc_{a.id}_{i}",
                    "call_id": c["id"],
                    "name": c["name"],
                    "arguments": c["arguments"],
                    "status": "completed",
                }
            )
        return {
            "id": a.id,
            "object": "response",
            "created_at": a.created,
            "status": "incomplete" if a.reason in _LENGTH_REASONS else "completed",
            "model": a.model,
            "output": output,
            "parallel_tool_calls": True,
            "tool_choice": "auto",
            "tools": [],
            "usage": {
                "input_tokens": a.input_tokens,
                "output_tokens": a.output_tokens,
                "total_tokens": a.input_tokens + a.output_tokens,
            },
        }

    @classmethod
    def stream(cls, a: _Answer) -> Iterator[str]:
        final = cls.complete(a)
        counter = iter(range(1_000_000))

        def event(kind: str, **payload: Any) -> str:
            return _event({"type": kind, "sequence_number": next(counter), **payload}, kind)

        yield event("response.created", response={**final, "status": "in_progress", "output": []})
        for index, item in enumerate(final["output"]):
            yield event(
                "response.output_item.added",
                output_index=index,
                item={**item, "status": "in_progress"},
            )
            if item["type"] == "message":
                text = item["content"][0]["text"]
                for piece in _pieces(text):
                    yield event(
                        "response.output_text.delta",
                        item_id=item["id"],
                        output_index=index,
                        content_index=0,
                        delta=piece,
                    )
                yield event(
                    "response.output_text.done",
                    item_id=item["id"],
                    output_index=index,
                    content_index=0,
                    text=text,
                )
            else:
                yield event(
                    "response.function_call_arguments.done",
                    item_id=item["id"],
                    output_index=index,
                    arguments=item["arguments"],
                )
            yield event("response.output_item.done", output_index=index, item=item)
        yield event("response.completed", response=final)


class _Messages:
    @staticmethod
    def complete(a: _Answer) -> dict[str, Any]:
        content: list[dict[str, Any]] = []
        if a.text:
            content.append({"type": "text", "text": a.text})
        for c in a.calls:
            data = c["input"]
            content.append(
                {
                    "type": "tool_use",
                    "id": c["id"],
                    "name": c["name"],
                    "input": data if isinstance(data, Mapping) else {},
                }
            )
        return {
            "id": a.id,
            "type": "message",
            "role": "assistant",
            "model": a.model,
            "content": content,
            "stop_reason": a.reason_for("tool_use", "end_turn", "max_tokens"),
            "stop_sequence": None,
            "usage": {"input_tokens": a.input_tokens, "output_tokens": a.output_tokens},
        }

    @classmethod
    def stream(cls, a: _Answer) -> Iterator[str]:
        final = cls.complete(a)
        start = {
            **final,
            "content": [],
            "stop_reason": None,
            "usage": {"input_tokens": a.input_tokens, "output_tokens": 0},
        }
        yield _event({"type": "message_start", "message": start}, "message_start")
        for index, block in enumerate(final["content"]):
            if block["type"] == "text":
                opening: dict[str, Any] = {"type": "text", "text": ""}
                deltas = [{"type": "text_delta", "text": p} for p in _pieces(block["text"])]
            else:
                opening = {**block, "input": {}}
                text = json.dumps(block["input"], separators=(",", ":"))
                deltas = [{"type": "input_json_delta", "partial_json": p} for p in _pieces(text)]
            yield _event(
                {"type": "content_block_start", "index": index, "content_block": opening},
                "content_block_start",
            )
            for delta in deltas:
                yield _event(
                    {"type": "content_block_delta", "index": index, "delta": delta},
                    "content_block_delta",
                )
            yield _event({"type": "content_block_stop", "index": index}, "content_block_stop")
        yield _event(
            {
                "type": "message_delta",
                "delta": {"stop_reason": final["stop_reason"], "stop_sequence": None},
                "usage": {"output_tokens": a.output_tokens},
            },
            "message_delta",
        )
        yield _event({"type": "message_stop"}, "message_stop")
