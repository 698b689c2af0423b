"""One normalised form for model conversations, from every shape a trace or a request has.

A message is ``{"role", "content", "tool_calls": [{"id", "name", "arguments"}],
"tool_call_id"}`` (keys only where they apply; ``arguments`` parsed JSON). The same form
is built from OpenAI chat messages, Anthropic messages, Responses input items, the GenAI
semantic-convention "parts" form and OpenInference's flattened attributes, so a model
request seen in a trace and the request a replayed agent sends can be compared
(``compare_conversations``) with the tolerance traces need: tool call ids, whitespace and
JSON formatting are not evidence of a different question.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any


def parse_json(value: Any) -> Any:
    """JSON text parsed; anything else (or text that is not JSON) as it is."""
    if isinstance(value, str):
        text = value.strip()
        if text[:1] in ("{", "[", '"') or text in ("true", "false", "null") or _numeric(text):
            try:
                return json.loads(text)
            except ValueError:
                return value
    return value


def _numeric(text: str) -> bool:
    return bool(text) and (text[0].isdigit() or (text[0] == "-" and text[1:2].isdigit()))


def as_text(value: Any) -> str:
    """A tool result or content as the text a model would be sent."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


def _text_of(content: Any) -> str | None:
    """Text of a content field: a string, or a list of text parts."""
    if content is None:
        return None
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        texts = []
        for part in content:
            if isinstance(part, str):
                texts.append(part)
            elif isinstance(part, Mapping):
                text = part.get("text", part.get("content"))
                if isinstance(text, str):
                    texts.append(text)
        return "".join(texts)
    return as_text(content)


def tool_call(call_id: Any, name: Any, arguments: Any) -> dict[str, Any]:
    return {"id": call_id or None, "name": name, "arguments": parse_json(arguments)}


def _message(
    role: str,
    content: str | None,
    tool_calls: list[dict[str, Any]] | None = None,
    tool_call_id: str | None = None,
) -> dict[str, Any]:
    message: dict[str, Any] = {"role": role, "content": content}
    if tool_calls:
        message["tool_calls"] = tool_calls
    if tool_call_id is not None:
        message["tool_call_id"] = tool_call_id
    return message


# --- request and response bodies of the provider APIs --------------------------------------


def from_openai_chat(messages: Sequence[Any]) -> list[dict[str, Any]]:
    """OpenAI chat-completions ``messages``."""
    out = []
    for raw in messages:
        if not isinstance(raw, Mapping):
            continue
        calls = [
            tool_call(
                c.get("id"),
                (c.get("function") or {}).get("name"),
                (c.get("function") or {}).get("arguments"),
            )
            for c in raw.get("tool_calls") or ()
            if isinstance(c, Mapping)
        ]
        role = str(raw.get("role") or "user")
        if role == "developer":
            role = "system"
        out.append(_message(role, _text_of(raw.get("content")), calls, raw.get("tool_call_id")))
    return out


def from_anthropic(messages: Sequence[Any], system: Any = None) -> list[dict[str, Any]]:
    """Anthropic messages ``messages`` (+ ``system``): tool_result blocks become tool messages."""
    out = []
    if system:
        out.append(_message("system", _text_of(system)))
    for raw in messages:
        if not isinstance(raw, Mapping):
            continue
        role = str(raw.get("role") or "user")
        content = raw.get("content")
        if isinstance(content, str):
            out.append(_message(role, content))
            continue
        texts, calls = [], []
        for block in content or ():
            if not isinstance(block, Mapping):
                continue
            kind = block.get("type")
            if kind == "text":
                texts.append(str(block.get("text", "")))
            elif kind == "tool_use":
                calls.append(tool_call(block.get("id"), block.get("name"), block.get("input")))
            elif kind == "tool_result":
                out.append(
                    _message("tool", _text_of(block.get("content")), None, block.get("tool_use_id"))
                )
        if texts or calls:
            out.append(_message(role, "".join(texts) if texts else None, calls))
    return out


def from_responses_input(items: Any, instructions: Any = None) -> list[dict[str, Any]]:
    """Responses API ``input`` (text or items) and ``instructions``."""
    out = []
    if instructions:
        out.append(_message("system", _text_of(instructions)))
    if isinstance(items, str):
        return [*out, _message("user", items)]
    for item in items or ():
        if not isinstance(item, Mapping):
            continue
        kind = item.get("type", "message")
        if kind == "message":
            role = str(item.get("role") or "user")
            out.append(
                _message("system" if role == "developer" else role, _text_of(item.get("content")))
            )
        elif kind == "function_call":
            call = tool_call(
                item.get("call_id") or item.get("id"), item.get("name"), item.get("arguments")
            )
            if out and out[-1]["role"] == "assistant" and out[-1]["content"] is None:
                out[-1].setdefault("tool_calls", []).append(call)
            else:
                out.append(_message("assistant", None, [call]))
        elif kind == "function_call_output":
            out.append(_message("tool", _text_of(item.get("output")), None, item.get("call_id")))
    return out


def from_parts(messages: Any) -> list[dict[str, Any]]:
    """GenAI semantic-convention messages: ``[{"role", "parts": [...]}]`` (JSON text or
    already structured, as event-mode log records carry them)."""
    messages = parse_json(messages)
    out = []
    for raw in messages if isinstance(messages, list) else ():
        if not isinstance(raw, Mapping):
            continue
        role = str(raw.get("role") or "user")
        texts, calls, responses = [], [], []
        for part in raw.get("parts") or ():
            if not isinstance(part, Mapping):
                continue
            kind = part.get("type")
            if kind == "text":
                texts.append(as_text(part.get("content")))
            elif kind == "tool_call":
                calls.append(tool_call(part.get("id"), part.get("name"), part.get("arguments")))
            elif kind == "tool_call_response":
                response = part.get("response")
                text = _text_of(response) if isinstance(response, list) else as_text(response)
                responses.append(_message("tool", text, None, part.get("id")))
        out.extend(responses)
        if texts or calls or not responses:
            out.append(_message(role, "".join(texts) if texts else None, calls))
    return out


def from_system_instructions(value: Any) -> str | None:
    """``gen_ai.system_instructions``: parts (JSON text or structured) or plain text."""
    parsed = parse_json(value)
    if isinstance(parsed, list):
        return "".join(as_text(p.get("content")) for p in parsed if isinstance(p, Mapping)) or None
    return _text_of(parsed)


def request_conversation(body: Mapping[str, Any], endpoint: str) -> list[dict[str, Any]]:
    """The conversation a provider request body sends (by its endpoint path)."""
    if endpoint.rstrip("/").endswith("/messages"):
        return from_anthropic(body.get("messages") or (), body.get("system"))
    if endpoint.rstrip("/").endswith("/responses"):
        return from_responses_input(body.get("input"), body.get("instructions"))
    return from_openai_chat(body.get("messages") or ())


def answer_of_response(body: Any) -> dict[str, Any] | None:
    """The assistant answer (normalised message + finish_reason, usage, id) of a provider
    response object (chat completion, Anthropic message or Response)."""
    if not isinstance(body, Mapping):
        return None
    if isinstance(body.get("choices"), list) and body["choices"]:
        choice = body["choices"][0]
        message = from_openai_chat([choice.get("message") or {}])[0]
        usage = body.get("usage") or {}
        return {
            "id": body.get("id"),
            "model": body.get("model"),
            "message": {**message, "role": "assistant"},
            "finish_reason": choice.get("finish_reason"),
            "usage": _usage(usage.get("prompt_tokens"), usage.get("completion_tokens")),
        }
    if body.get("type") == "message" and isinstance(body.get("content"), list):
        messages = from_anthropic([{"role": "assistant", "content": body["content"]}])
        usage = body.get("usage") or {}
        return {
            "id": body.get("id"),
            "model": body.get("model"),
            "message": messages[0] if messages else _message("assistant", None),
            "finish_reason": body.get("stop_reason"),
            "usage": _usage(usage.get("input_tokens"), usage.get("output_tokens")),
        }
    if isinstance(body.get("output"), list):
        items = from_responses_input(
            [
                {**i, "role": "assistant"} if i.get("type") == "message" else i
                for i in body["output"]
                if isinstance(i, Mapping)
            ]
        )
        merged = _message("assistant", None)
        for item in items:
            if item.get("content"):
                merged["content"] = (merged["content"] or "") + item["content"]
            if item.get("tool_calls"):
                merged.setdefault("tool_calls", []).extend(item["tool_calls"])
        usage = body.get("usage") or {}
        return {
            "id": body.get("id"),
            "model": body.get("model"),
            "message": merged,
            "finish_reason": "tool_calls" if merged.get("tool_calls") else body.get("status"),
            "usage": _usage(usage.get("input_tokens"), usage.get("output_tokens")),
        }
    return None


def _usage(input_tokens: Any, output_tokens: Any) -> dict[str, Any] | None:
    if input_tokens is None and output_tokens is None:
        return None
    total = (
        input_tokens + output_tokens
        if isinstance(input_tokens, int) and isinstance(output_tokens, int)
        else None
    )
    return {"input_tokens": input_tokens, "output_tokens": output_tokens, "total_tokens": total}


# --- comparing a traced conversation with a replayed request -------------------------------


def _canonical(value: Any) -> Any:
    """Text compared without surrounding or repeated whitespace; JSON text by its data."""
    if isinstance(value, str):
        parsed = parse_json(value)
        if parsed is not value and not isinstance(parsed, str):
            return _canonical(parsed)
        return " ".join(value.split())
    if isinstance(value, Mapping):
        return {k: _canonical(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_canonical(v) for v in value]
    return value


def _python_repr_equal(traced: str, sent: str) -> bool:
    """A traced ``str(dict)`` (openai-agents) against the JSON the agent sends."""
    try:
        import ast

        return _canonical(ast.literal_eval(traced)) == _canonical(parse_json(sent))
    except (ValueError, SyntaxError):
        return False


def merged_tool_turns(messages: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Consecutive assistant messages that only call tools, as one message: some shapes
    give each parallel tool call a message of its own (Responses items, OpenLLMetry)."""
    out: list[dict[str, Any]] = []
    for message in messages:
        previous = out[-1] if out else None
        if (
            previous is not None
            and message.get("role") == previous.get("role") == "assistant"
            and not message.get("content")
            and not previous.get("content")
            and message.get("tool_calls")
        ):
            previous["tool_calls"] = [*previous.get("tool_calls", ()), *message["tool_calls"]]
            continue
        out.append(dict(message))
    return out


def merged_answer(messages: Sequence[Mapping[str, Any]]) -> dict[str, Any] | None:
    """The output messages of one model call as one assistant message (text joined, tool
    calls in order): some shapes give each output item a message of its own."""
    if not messages:
        return None
    texts = [m["content"] for m in messages if m.get("content")]
    calls = [call for m in messages for call in m.get("tool_calls") or ()]
    return _message("assistant", "".join(texts) if texts else None, calls)


def compare_conversations(
    traced: Sequence[Mapping[str, Any]], sent: Sequence[Mapping[str, Any]]
) -> tuple[list[str], list[str]]:
    """``(differences, tolerated)`` between a traced conversation and a replayed request.

    ``differences`` are real (another question was asked): each names the message and
    field. ``tolerated`` says what was compared loosely (ids, whitespace, a missing system
    prompt the instrumentation does not record, a Python repr against JSON).
    """
    differences: list[str] = []
    tolerated: set[str] = set()
    traced = merged_tool_turns(traced)
    sent = merged_tool_turns(sent)
    if (
        sent
        and sent[0].get("role") == "system"
        and (not traced or traced[0].get("role") != "system")
    ):
        sent = sent[1:]
        tolerated.add("system prompt not in the trace: not compared")
    if len(traced) != len(sent):
        differences.append(f"{len(sent)} messages sent, the trace has {len(traced)}")
    for i, (old, new) in enumerate(zip(traced, sent, strict=False)):
        where = f"messages[{i}]"
        if old.get("role") != new.get("role"):
            differences.append(f"{where}.role: {old.get('role')!r} -> {new.get('role')!r}")
            continue
        old_text, new_text = old.get("content") or "", new.get("content") or ""
        if old_text != new_text:
            if _canonical(old_text) == _canonical(new_text):
                tolerated.add("whitespace or JSON formatting of message content")
            elif old.get("role") == "tool" and _python_repr_equal(old_text, new_text):
                tolerated.add("tool result traced as a Python repr, sent as JSON")
            else:
                differences.append(f"{where}.content: {_clip(old_text)!r} -> {_clip(new_text)!r}")
        old_calls, new_calls = old.get("tool_calls") or [], new.get("tool_calls") or []
        if len(old_calls) != len(new_calls):
            differences.append(f"{where}.tool_calls: {len(old_calls)} -> {len(new_calls)}")
            continue
        for j, (a, b) in enumerate(zip(old_calls, new_calls, strict=False)):
            if a.get("name") != b.get("name"):
                differences.append(
                    f"{where}.tool_calls[{j}].name: {a.get('name')} -> {b.get('name')}"
                )
            elif _canonical(a.get("arguments")) != _canonical(b.get("arguments")):
                differences.append(f"{where}.tool_calls[{j}].arguments differ")
            if a.get("id") != b.get("id"):
                tolerated.add("tool call ids (traces do not keep them reliably)")
        if old.get("tool_call_id") != new.get("tool_call_id"):
            tolerated.add("tool call ids (traces do not keep them reliably)")
    return differences, sorted(tolerated)


def _clip(text: str, width: int = 60) -> str:
    line = " ".join(str(text).split())
    return line if len(line) <= width else line[: width - 3] + "..."
