"""HTTP steps of a capture are kept raw on the request path and described when written:
the cassette must be the one ``replay.record`` writes for the same run, secrets and all
redacted the same way."""

from __future__ import annotations

import contextlib
import datetime as dt

import openai

import replay
from replay.testing.fake_llm import FakeLLM, disconnect, error, reply, tool_call

KEY = "sk-capture-0123456789abcdefghij"


def agent(url: str) -> dict:
    client = openai.OpenAI(base_url=url, api_key=KEY, max_retries=0)
    first = client.chat.completions.create(
        model="gpt-4o-mini",
        messages=[{"role": "user", "content": f"my key is {KEY}, look up order A-1"}],
    )
    second = client.chat.completions.create(
        model="gpt-4o-mini",
        messages=[{"role": "user", "content": "and now?"}],
        temperature=0.5,
    )
    with contextlib.suppress(openai.InternalServerError):
        client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "x"}])
    with contextlib.suppress(openai.APIConnectionError):
        client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "y"}])
    return {"stop_reason": "tool_error", "output": [first.id, second.choices[0].message.content]}


def script():
    return [
        tool_call("get_order", {"order_id": "A-1"}),
        reply("Shipped."),
        error(500, "down"),
        disconnect(),
    ]


def comparable(cassette: replay.Cassette) -> list[dict]:
    steps = []
    for step in cassette.steps:
        data = step.to_dict()
        for volatile in ("started_at_ms", "latency_ms", "span_id", "parent_span_id"):
            data.pop(volatile)
        data["http"]["request"].pop("url")
        steps.append(data)
    return steps


def test_a_captured_cassette_is_the_recorded_one(tmp_path, writer):
    with FakeLLM(script()) as llm, replay.record(tmp_path / "recorded.yaml") as recording:
        recording.set_result(agent(llm.openai_url))
    with FakeLLM(script()) as llm, replay.capture(tmp_path, run_id="cap", writer=writer) as run:
        run.set_result(agent(llm.openai_url))
    assert writer.flush(timeout=30)
    recorded = replay.load_cassette(tmp_path / "recorded.yaml")
    day = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d")
    captured = replay.load_cassette(tmp_path / day / "cap.yaml")

    assert [s.name for s in captured.steps] == ["gpt-4o-mini", "gpt-4o-mini", "gpt-4o", "gpt-4o"]
    assert captured.steps[2].result["status"] == 500  # an answer, not a failed call
    assert captured.steps[3].error is not None  # the connection dropped: a failed call
    assert comparable(captured) == comparable(recorded)
    assert captured.context.model == "gpt-4o-mini"
    text = (tmp_path / day / "cap.yaml").read_text()
    assert KEY not in text and "my key is <redacted>" in text


def streaming_agent(url: str) -> dict:
    client = openai.OpenAI(base_url=url, api_key=KEY, max_retries=0)
    stream = client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "stream it"}], stream=True
    )
    text = "".join(chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices)
    return {"stop_reason": "max_steps", "output": text}


def test_a_captured_stream_is_the_recorded_one_and_replays(tmp_path, writer):
    answer = "A streamed answer, in several events."
    with FakeLLM([reply(answer)]) as llm, replay.record(tmp_path / "recorded.yaml") as recording:
        recording.set_result(streaming_agent(llm.openai_url))
    with (
        FakeLLM([reply(answer)]) as llm,
        replay.capture(tmp_path, run_id="s", writer=writer) as run,
    ):
        run.set_result(streaming_agent(llm.openai_url))
    assert run.outcome.output == answer
    assert writer.flush(timeout=30)
    day = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d")
    captured = replay.load_cassette(tmp_path / day / "s.yaml")
    assert captured.steps[0].http["response"]["events"]
    assert comparable(captured) == comparable(replay.load_cassette(tmp_path / "recorded.yaml"))
    with replay.replaying(captured) as replayed:
        replayed.set_result(streaming_agent("http://127.0.0.1:9/v1"))
    assert replayed.result.divergence is None
    assert replayed.result.outcome.output == answer
