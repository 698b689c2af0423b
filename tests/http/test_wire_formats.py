"""The wire formats reduce to the common shape, whole or streamed."""

from __future__ import annotations

import json
from dataclasses import replace

from replay.http import anthropic, openai, wire
from replay.http.exchange import WireRequest, WireResponse, describe_request, encode_response
from replay.http.options import HttpOptions
from replay.http.redact import Redactor
from replay.http.sse import parse_event, split_events


def _events(*texts: str) -> list:
    return [parse_event(t) for t in texts]


def _data(payload: dict, event: str | None = None) -> str:
    line = "data: " + json.dumps(payload)
    return f"event: {event}\n{line}" if event else line


def _block(index: int, block: dict) -> str:
    return _data({"type": "content_block_start", "index": index, "content_block": block})


def _delta(index: int, delta: dict) -> str:
    return _data({"type": "content_block_delta", "index": index, "delta": delta})


def test_sse_is_split_into_events_whatever_the_line_endings() -> None:
    text = "data: a\r\n\r\nevent: x\ndata: b\ndata: c\n\n: comment\n\n"
    events = split_events(text)
    assert events == ["data: a", "event: x\ndata: b\ndata: c", ": comment"]
    assert parse_event(events[1]).name == "x"
    assert parse_event(events[1]).data == "b\nc"


def test_chat_stream_assembles_text_tool_calls_and_usage() -> None:
    chunk = '{"id":"c1","model":"m","choices":[{"index":0,"delta":%s,"finish_reason":%s}]}'
    events = _events(
        "data: " + chunk % ('{"role":"assistant","content":""}', "null"),
        "data: " + chunk % ('{"content":"Hel"}', "null"),
        "data: " + chunk % ('{"content":"lo"}', "null"),
        "data: "
        + chunk
        % (
            '{"tool_calls":[{"index":0,"id":"t1","function":{"name":"f","arguments":"{\\"a\\""}}]}',
            "null",
        ),
        "data: " + chunk % ('{"tool_calls":[{"index":0,"function":{"arguments":":1}"}}]}', "null"),
        "data: " + chunk % ("{}", '"tool_calls"'),
        'data: {"id":"c1","choices":[],"usage":{"prompt_tokens":3,"completion_tokens":4}}',
        "data: [DONE]",
    )
    result = openai.assemble_chat(events)
    assert result == {
        "id": "c1",
        "model": "m",
        "message": {
            "role": "assistant",
            "content": "Hello",
            "tool_calls": [{"id": "t1", "name": "f", "arguments": {"a": 1}}],
        },
        "finish_reason": "tool_calls",
        "usage": {"input_tokens": 3, "output_tokens": 4, "total_tokens": 7},
    }


def test_malformed_tool_arguments_stay_text_with_the_reason() -> None:
    entry = wire.tool_call_entry("t1", "f", '{"a": ')
    assert entry["arguments"] == '{"a": '
    assert entry["arguments_error"].startswith("not valid JSON: Expecting value")


def test_anthropic_message_and_stream_agree() -> None:
    message = {
        "id": "m1",
        "model": "claude",
        "role": "assistant",
        "content": [
            {"type": "thinking", "thinking": "hmm"},
            {"type": "text", "text": "Let me look."},
            {"type": "tool_use", "id": "t1", "name": "f", "input": {"q": "x"}},
        ],
        "stop_reason": "tool_use",
        "usage": {"input_tokens": 5, "output_tokens": 6, "cache_read_input_tokens": 2},
    }
    start = {
        "id": "m1",
        "model": "claude",
        "role": "assistant",
        "content": [],
        "usage": {"input_tokens": 5, "output_tokens": 1, "cache_read_input_tokens": 2},
    }
    events = _events(
        _data({"type": "message_start", "message": start}, "message_start"),
        _block(0, {"type": "thinking", "thinking": ""}),
        _delta(0, {"type": "thinking_delta", "thinking": "hmm"}),
        _block(1, {"type": "text", "text": ""}),
        _delta(1, {"type": "text_delta", "text": "Let me "}),
        _delta(1, {"type": "text_delta", "text": "look."}),
        _block(2, {"type": "tool_use", "id": "t1", "name": "f", "input": {}}),
        _delta(2, {"type": "input_json_delta", "partial_json": '{"q": '}),
        _delta(2, {"type": "input_json_delta", "partial_json": '"x"}'}),
        _data(
            {
                "type": "message_delta",
                "delta": {"stop_reason": "tool_use"},
                "usage": {"output_tokens": 6},
            }
        ),
        _data({"type": "message_stop"}),
    )
    whole = anthropic.parse_message(message)
    assert anthropic.assemble_message(events) == whole
    assert whole["message"] == {
        "role": "assistant",
        "content": "Let me look.",
        "tool_calls": [{"id": "t1", "name": "f", "arguments": {"q": "x"}}],
        "thinking": "hmm",
    }
    assert whole["usage"] == {
        "input_tokens": 5,
        "output_tokens": 6,
        "total_tokens": 11,
        "cached_input_tokens": 2,
    }


def test_responses_output_items_become_the_message() -> None:
    response = {
        "id": "r1",
        "model": "m",
        "status": "incomplete",
        "incomplete_details": {"reason": "max_output_tokens"},
        "output": [
            {"type": "reasoning", "id": "rs1", "summary": []},
            {"type": "message", "content": [{"type": "output_text", "text": "Hi"}]},
            {"type": "function_call", "call_id": "c1", "name": "f", "arguments": "{}"},
        ],
        "usage": {"input_tokens": 1, "output_tokens": 2, "total_tokens": 3},
    }
    result = openai.parse_response(response)
    assert result["message"]["content"] == "Hi"
    assert result["message"]["tool_calls"] == [{"id": "c1", "name": "f", "arguments": {}}]
    assert result["finish_reason"] == "incomplete: max_output_tokens"


def test_paths_pick_the_format() -> None:
    assert wire.detect("/v1/chat/completions") is openai.CHAT_COMPLETIONS
    assert wire.detect("/openai/deployments/d/chat/completions") is openai.CHAT_COMPLETIONS
    assert wire.detect("/v1/responses") is openai.RESPONSES
    assert wire.detect("/v1/messages") is anthropic.MESSAGES
    assert wire.detect("/v1/embeddings") is None
    assert wire.error_entry({"type": "error", "error": {"type": "x", "message": "m"}}) == {
        "type": "x",
        "message": "m",
    }


def test_an_answer_the_parser_cannot_read_is_kept_raw() -> None:
    request = WireRequest("POST", "http://h/v1/messages", (), b'{"model": "m"}')
    described = describe_request(request, HttpOptions(), Redactor())
    failing = wire.WireFormat("broken", lambda data: 1 / 0, lambda events: {})
    described = replace(described, format=failing)
    response = WireResponse.received(200, "OK", (("content-type", "application/json"),), b"{}")

    result, http = encode_response(described, response, Redactor())

    assert result == {"status": 200, "parse_error": "ZeroDivisionError: division by zero"}
    assert http["response"]["body"] == "{}"
