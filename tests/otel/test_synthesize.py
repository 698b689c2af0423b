"""Synthesized provider responses are what the real SDKs and our own wire parsers read."""

from __future__ import annotations

import json

import anthropic
import httpx2
import openai
import pytest

from replay.http import anthropic as anthropic_wire
from replay.http import openai as openai_wire
from replay.http.sse import join_events, parse_events
from replay.http.synthesize import synthesize_response

ANSWER = {
    "id": "chatcmpl-7",
    "model": "gpt-4o-mini",
    "message": {
        "role": "assistant",
        "content": "Let me look that order up for you, one moment.",
        "tool_calls": [{"id": "call_7", "name": "get_order", "arguments": {"order_id": "A-1"}}],
    },
    "finish_reason": "tool_call",
    "usage": {"input_tokens": 30, "output_tokens": 9},
}
FORMATS = [
    ("POST /v1/chat/completions", openai_wire.CHAT_COMPLETIONS, "tool_calls"),
    ("POST /v1/responses", openai_wire.RESPONSES, "completed"),
    ("POST /v1/messages", anthropic_wire.MESSAGES, "tool_use"),
]


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize(("endpoint", "wire", "finish"), FORMATS)
def test_the_recording_parsers_read_back_the_answer(endpoint, wire, finish, stream):
    response = synthesize_response(ANSWER, endpoint=endpoint, stream=stream)
    if stream:
        assert response["headers"]["content-type"] == "text/event-stream"
        parsed = wire.assemble(parse_events(response["events"]))
    else:
        parsed = wire.parse(json.loads(response["body"]))
    assert parsed["message"]["content"] == ANSWER["message"]["content"]
    assert parsed["message"]["tool_calls"] == ANSWER["message"]["tool_calls"]
    assert parsed["finish_reason"] == finish
    assert parsed["usage"]["input_tokens"] == 30


def _client_transport() -> httpx2.MockTransport:
    def handler(request: httpx2.Request) -> httpx2.Response:
        body = json.loads(request.content)
        response = synthesize_response(
            ANSWER, endpoint=request.url.path, stream=bool(body.get("stream"))
        )
        if "events" in response:
            content = b"".join(join_events(response["events"]))
        else:
            content = response["body"].encode()
        return httpx2.Response(200, headers=response["headers"], content=content)

    return httpx2.MockTransport(handler)


def test_the_openai_sdk_reads_chat_and_responses_whole_and_streamed():
    client = openai.OpenAI(
        api_key="sk-test",
        base_url="http://model.test/v1",
        http_client=httpx2.Client(transport=_client_transport()),
    )
    messages = [{"role": "user", "content": "where is A-1?"}]
    whole = client.chat.completions.create(model="gpt-4o-mini", messages=messages)
    assert whole.choices[0].message.tool_calls[0].function.name == "get_order"
    chunks = client.chat.completions.create(model="gpt-4o-mini", messages=messages, stream=True)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == ANSWER["message"]["content"]
    response = client.responses.create(model="gpt-4o-mini", input="where is A-1?")
    assert response.output_text == ANSWER["message"]["content"]
    with client.responses.stream(model="gpt-4o-mini", input="where is A-1?") as stream:
        final = stream.get_final_response()
    assert [item.type for item in final.output] == ["message", "function_call"]


def test_the_anthropic_sdk_reads_messages_whole_and_streamed():
    client = anthropic.Anthropic(
        api_key="sk-test",
        base_url="http://model.test",
        http_client=httpx2.Client(transport=_client_transport()),
    )
    messages = [{"role": "user", "content": "where is A-1?"}]
    whole = client.messages.create(model="claude", max_tokens=50, messages=messages)
    assert whole.stop_reason == "tool_use"
    assert whole.content[1].input == {"order_id": "A-1"}
    with client.messages.stream(model="claude", max_tokens=50, messages=messages) as stream:
        final = stream.get_final_message()
    assert final.content[0].text == ANSWER["message"]["content"]
    assert final.content[1].name == "get_order"
