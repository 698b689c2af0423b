"""The fake model server: scripted answers in each provider's wire format."""

from __future__ import annotations

import json

import anthropic
import httpx2
import openai
import pytest

from replay.testing.fake_llm import (
    CREATED,
    FakeLLM,
    ReceivedRequest,
    disconnect,
    error,
    malformed_tool_call,
    raw,
    reply,
    slow,
    tool_call,
    tool_calls,
)

MESSAGES = [{"role": "user", "content": "hi"}]


def _chat(llm: FakeLLM, **options: object) -> object:
    client = openai.OpenAI(base_url=llm.openai_url, max_retries=0)
    return client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, **options)


def test_fixture_serves_a_scripted_chat_completion(fake_llm: FakeLLM) -> None:
    fake_llm.add(reply("Hello there."))
    completion = _chat(fake_llm)
    assert completion.choices[0].message.content == "Hello there."
    assert completion.id == "chatcmpl-fake-0001"
    assert completion.created == CREATED
    assert completion.usage.total_tokens > 0
    (request,) = fake_llm.requests
    assert request.endpoint == "openai.chat"
    assert request.model == "gpt-4o-mini"
    assert request.messages == MESSAGES
    assert request.headers["authorization"].startswith("Bearer ")


def test_tool_calls_parallel_and_malformed(fake_llm: FakeLLM) -> None:
    fake_llm.add(tool_calls(("a", {"x": 1}), ("b", {})), malformed_tool_call("c"))
    first = _chat(fake_llm).choices[0]
    assert first.finish_reason == "tool_calls"
    assert [
        (c.function.name, json.loads(c.function.arguments)) for c in first.message.tool_calls
    ] == [
        ("a", {"x": 1}),
        ("b", {}),
    ]
    second = _chat(fake_llm).choices[0].message.tool_calls[0]
    with pytest.raises(ValueError):
        json.loads(second.function.arguments)


def test_openai_stream_delivers_words_and_tool_arguments(fake_llm: FakeLLM) -> None:
    fake_llm.add(reply("one two three"), tool_call("f", {"query": "refunds"}))
    deltas = [c.choices[0].delta.content for c in _chat(fake_llm, stream=True) if c.choices]
    assert deltas == ["", "one ", "two ", "three", None]
    client = openai.OpenAI(base_url=fake_llm.openai_url)
    with client.chat.completions.stream(model="m", messages=MESSAGES) as stream:
        final = stream.get_final_completion()
    assert final.choices[0].message.tool_calls[0].function.arguments == '{"query":"refunds"}'


def test_responses_api_whole_and_streamed(fake_llm: FakeLLM) -> None:
    fake_llm.add(reply("Hi."), reply("Streamed hi."))
    client = openai.OpenAI(base_url=fake_llm.openai_url)
    assert client.responses.create(model="m", input="hi").output_text == "Hi."
    with client.responses.stream(model="m", input="hi") as stream:
        assert stream.get_final_response().output_text == "Streamed hi."


def test_anthropic_messages_whole_and_streamed(fake_llm: FakeLLM) -> None:
    fake_llm.add(tool_call("lookup", {"id": 3}), reply("Hello there."))
    client = anthropic.Anthropic(base_url=fake_llm.anthropic_url)
    message = client.messages.create(model="claude-fake-1", max_tokens=10, messages=MESSAGES)
    assert message.stop_reason == "tool_use"
    assert message.content[0].input == {"id": 3}
    with client.messages.stream(model="claude-fake-1", max_tokens=10, messages=MESSAGES) as stream:
        assert list(stream.text_stream) == ["Hello ", "there."]
        assert stream.get_final_message().stop_reason == "end_turn"


def test_errors_carry_status_and_provider_format(fake_llm: FakeLLM) -> None:
    fake_llm.add(error(429, "slow down"), error(400, "bad", should_retry=False))
    with pytest.raises(openai.RateLimitError) as limited:
        _chat(fake_llm)
    assert limited.value.status_code == 429
    assert limited.value.body["message"] == "slow down"
    client = anthropic.Anthropic(base_url=fake_llm.anthropic_url, max_retries=0)
    with pytest.raises(anthropic.BadRequestError) as bad:
        client.messages.create(model="claude-fake-1", max_tokens=10, messages=MESSAGES)
    assert bad.value.body["error"] == {"type": "invalid_request_error", "message": "bad"}


def test_a_responder_scripts_dynamically_and_sees_each_request() -> None:
    seen: list[ReceivedRequest] = []

    def respond(request: ReceivedRequest) -> object:
        seen.append(request)
        return reply(f"echo: {request.messages[-1]['content']}")

    with FakeLLM(respond) as llm:
        assert _chat(llm).choices[0].message.content == "echo: hi"
        assert _chat(llm).choices[0].message.content == "echo: hi"
    assert [r.index for r in seen] == [0, 1]


def test_a_broken_responder_is_a_clear_500() -> None:
    def respond(request: ReceivedRequest) -> object:
        raise KeyError("nope")

    with FakeLLM([respond]) as llm:
        with pytest.raises(openai.InternalServerError) as failed:
            _chat(llm)
        assert "fake LLM responder raised KeyError" in str(failed.value)
        assert isinstance(llm.errors[0], KeyError)


def test_an_exhausted_script_says_which_request_had_no_answer(fake_llm: FakeLLM) -> None:
    with pytest.raises(openai.InternalServerError) as failed:
        _chat(fake_llm)
    assert "script exhausted: request 0 (POST /v1/chat/completions)" in str(failed.value)
    fake_llm.fallback = reply("again")
    assert _chat(fake_llm).choices[0].message.content == "again"
    assert _chat(fake_llm).choices[0].message.content == "again"


def test_disconnect_and_slow_answers_are_client_errors(fake_llm: FakeLLM) -> None:
    fake_llm.add(disconnect(), slow(5.0))
    with pytest.raises(openai.APIConnectionError):
        _chat(fake_llm)
    client = openai.OpenAI(base_url=fake_llm.openai_url, max_retries=0, timeout=0.2)
    with pytest.raises(openai.APITimeoutError):
        client.chat.completions.create(model="m", messages=MESSAGES)


def test_raw_replies_and_unknown_paths(fake_llm: FakeLLM) -> None:
    fake_llm.add(raw(200, "not json", content_type="text/plain"))
    with httpx2.Client() as client:
        response = client.post(f"{fake_llm.openai_url}/chat/completions", json={})
        assert response.text == "not json"
        missing = client.get(f"{fake_llm.url}/v1/nowhere")
        assert missing.status_code == 404
        assert missing.headers["x-should-retry"] == "false"
    assert [r.endpoint for r in fake_llm.requests] == ["openai.chat", "other"]
    assert len(fake_llm.model_requests) == 1


def test_the_same_script_gives_the_same_bytes() -> None:
    bodies = []
    for _ in range(2):
        with FakeLLM([reply("same"), tool_call("f", {"a": 1})]) as llm, httpx2.Client() as client:
            for stream in (False, True):
                response = client.post(
                    f"{llm.openai_url}/chat/completions",
                    json={"model": "m", "messages": MESSAGES, "stream": stream},
                )
                bodies.append((response.content, sorted(response.headers.items())))
    assert bodies[:2] == bodies[2:]


def test_a_stopped_server_refuses_connections() -> None:
    llm = FakeLLM([reply("hi")]).start()
    url = llm.openai_url
    llm.stop()
    assert llm.openai_url == url
    with pytest.raises(openai.APIConnectionError):
        openai.OpenAI(base_url=url, max_retries=0).models.list()


def test_chunked_request_bodies_are_read(fake_llm: FakeLLM) -> None:
    fake_llm.add(reply("ok"))
    body = json.dumps({"model": "m", "messages": MESSAGES}).encode()
    with httpx2.Client() as client:
        response = client.post(
            f"{fake_llm.openai_url}/chat/completions",
            content=iter([body[:10], body[10:]]),
            headers={"content-type": "application/json"},
        )
    assert response.json()["choices"][0]["message"]["content"] == "ok"
    assert fake_llm.requests[0].headers.get("transfer-encoding") == "chunked"
    assert fake_llm.requests[0].messages == MESSAGES
