"""Recording passes server-sent events through live: the agent gets each event as it
arrives (not after the whole stream), and the step is stored when the stream ends,
however it ends (read through, dropped by the server, closed by the agent, left open).

The server holds every stream after its first event until the agent, having seen that
event, releases it: an agent that only got the stream at its end would wait forever
(the server gives up after ``HOLD_TIMEOUT``, and the test fails).
"""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

import anthropic
import httpx2
import openai
import pytest

import replay
from replay.capturing import CaptureWriter, release_seams
from replay.http.streaming import CLOSED_EARLY, RUN_ENDED, EventChunker
from replay.testing import fake_llm
from replay.testing.fake_llm import FakeLLM, reply

MESSAGES = [{"role": "user", "content": "Where is my refund?"}]
ANSWER = "Refunds take five business days."


@pytest.fixture(autouse=True)
def short_hold(monkeypatch: pytest.MonkeyPatch) -> None:
    """A stream never released fails the test in seconds, not half a minute."""
    monkeypatch.setattr(fake_llm, "HOLD_TIMEOUT", 5.0)


@replay.tool
def note(text: str) -> str:
    return f"noted: {text}"


class Pacer:
    """Releases the held stream when the agent has its first chunk, noting whether the
    server was still holding the rest back at that moment."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.first_before_rest: bool | None = None

    def first_chunk(self) -> None:
        if self.first_before_rest is None:
            self.first_before_rest = not self.release.is_set()
            self.release.set()


def openai_sync(base_url: str, pacer: Pacer) -> dict[str, Any]:
    client = openai.OpenAI(base_url=base_url, max_retries=0)
    stream = client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, stream=True)
    text, first = "", True
    for chunk in stream:
        if first:
            pacer.first_chunk()
            note("first chunk")  # a tool call while the model call still streams
            first = False
        text += (chunk.choices[0].delta.content or "") if chunk.choices else ""
    return {"stop_reason": "completed", "output": text}


async def openai_async(base_url: str, pacer: Pacer) -> dict[str, Any]:
    client = openai.AsyncOpenAI(base_url=base_url, max_retries=0)
    stream = await client.chat.completions.create(
        model="gpt-4o-mini", messages=MESSAGES, stream=True
    )
    text = ""
    async for chunk in stream:
        pacer.first_chunk()
        text += (chunk.choices[0].delta.content or "") if chunk.choices else ""
    return {"stop_reason": "completed", "output": text}


def anthropic_sync(base_url: str, pacer: Pacer) -> dict[str, Any]:
    client = anthropic.Anthropic(base_url=base_url, max_retries=0)
    stream = client.messages.create(
        model="claude-fake-1", max_tokens=64, messages=MESSAGES, stream=True
    )
    text = ""
    for event in stream:
        pacer.first_chunk()
        if event.type == "content_block_delta":
            text += event.delta.text
    return {"stop_reason": "completed", "output": text}


async def anthropic_async(base_url: str, pacer: Pacer) -> dict[str, Any]:
    client = anthropic.AsyncAnthropic(base_url=base_url, max_retries=0)
    stream = await client.messages.create(
        model="claude-fake-1", max_tokens=64, messages=MESSAGES, stream=True
    )
    text = ""
    async for event in stream:
        pacer.first_chunk()
        if event.type == "content_block_delta":
            text += event.delta.text
    return {"stop_reason": "completed", "output": text}


AGENTS = {
    "openai": (openai_sync, "openai_url"),
    "openai-async": (openai_async, "openai_url"),
    "anthropic": (anthropic_sync, "anthropic_url"),
    "anthropic-async": (anthropic_async, "anthropic_url"),
}


def _run(agent: Any, base_url: str, pacer: Pacer) -> dict[str, Any]:
    result = agent(base_url, pacer)
    return asyncio.run(result) if asyncio.iscoroutine(result) else result


def _captured(folder: Path, agent: Any, base_url: str, pacer: Pacer) -> Path:
    """Run the agent under the production ``replay.capture`` and return its cassette."""
    writer = CaptureWriter()
    try:
        with replay.capture(folder, keep="all", run_id="stream-1", writer=writer) as run:
            run.set_result(_run(agent, base_url, pacer))
        assert writer.flush(timeout=30)
    finally:
        release_seams()  # capture keeps the HTTP patches installed for the next run
    (path,) = folder.rglob("stream-1.yaml")
    return path


@pytest.mark.parametrize("mode", ["live", "record", "capture"])
@pytest.mark.parametrize("name", list(AGENTS))
def test_the_first_event_reaches_the_agent_before_the_server_sends_the_rest(
    name: str, mode: str, fake_llm: FakeLLM, cassette: Path, tmp_path: Path
) -> None:
    agent, url = AGENTS[name]
    pacer = Pacer()
    fake_llm.add(reply(ANSWER, hold=pacer.release))
    base_url = getattr(fake_llm, url)
    if mode == "record":
        with replay.record(cassette) as run:
            run.set_result(_run(agent, base_url, pacer))
    elif mode == "capture":
        cassette = _captured(tmp_path / "incidents", agent, base_url, pacer)
    else:
        result = _run(agent, base_url, pacer)
        assert result["output"] == ANSWER

    assert fake_llm.errors == []  # the hold was released, not timed out
    assert pacer.first_before_rest is True
    if mode != "live":
        recorded = replay.load_cassette(cassette)
        assert recorded.outcome.output == ANSWER
        step = recorded.steps[0]
        assert step.result["streamed"] is True
        assert step.result["message"]["content"] == ANSWER
        assert "incomplete" not in step.http["response"]
        with replay.replaying(cassette) as replaying:
            replaying.set_result(_run(agent, base_url, Pacer()))
        assert replaying.result is not None and replaying.result.diff.identical


def test_a_step_keeps_its_place_from_when_the_request_was_sent(
    fake_llm: FakeLLM, cassette: Path
) -> None:
    pacer = Pacer()
    fake_llm.add(reply(ANSWER, hold=pacer.release))
    with replay.record(cassette) as run:
        run.set_result(openai_sync(fake_llm.openai_url, pacer))

    steps = replay.load_cassette(cassette).steps
    # The tool ran while the stream was open, and the stream ended after it.
    assert [(s.index, s.kind) for s in steps] == [(0, "llm"), (1, "tool")]
    assert steps[0].started_at_ms <= steps[1].started_at_ms
    assert steps[0].started_at_ms + steps[0].latency_ms >= steps[1].started_at_ms


def _openai_chunks_until_error(base_url: str) -> dict[str, Any]:
    client = openai.OpenAI(base_url=base_url, max_retries=0)
    texts: list[str] = []
    try:
        for chunk in client.chat.completions.create(
            model="gpt-4o-mini", messages=MESSAGES, stream=True
        ):
            texts.append(chunk.choices[0].delta.content or "")
    except Exception as exc:
        return {"stop_reason": "error", "output": {"texts": texts, "error": type(exc).__name__}}
    return {"stop_reason": "completed", "output": {"texts": texts, "error": None}}


def _openai_chunks_until_error_async(base_url: str) -> dict[str, Any]:
    async def run() -> dict[str, Any]:
        client = openai.AsyncOpenAI(base_url=base_url, max_retries=0)
        texts: list[str] = []
        try:
            stream = await client.chat.completions.create(
                model="gpt-4o-mini", messages=MESSAGES, stream=True
            )
            async for chunk in stream:
                texts.append(chunk.choices[0].delta.content or "")
        except Exception as exc:
            output = {"texts": texts, "error": type(exc).__name__}
            return {"stop_reason": "error", "output": output}
        return {"stop_reason": "completed", "output": {"texts": texts, "error": None}}

    return asyncio.run(run())


@pytest.mark.parametrize(
    "agent", [_openai_chunks_until_error, _openai_chunks_until_error_async], ids=["sync", "async"]
)
def test_a_stream_dropped_mid_way_is_recorded_and_replayed_up_to_the_error(
    agent: Any, fake_llm: FakeLLM, cassette: Path
) -> None:
    # Events: role, "Refunds ", "take ", ... ; the server hangs up after three.
    fake_llm.add(reply(ANSWER, cut_after=3))
    with replay.record(cassette) as run:
        run.set_result(agent(fake_llm.openai_url))

    recorded = replay.load_cassette(cassette)
    assert recorded.outcome.output == {
        "texts": ["", "Refunds ", "take "],
        "error": "APIConnectionError",  # the SDK wraps httpx2.RemoteProtocolError
    }
    (step,) = recorded.steps
    assert step.error is not None and step.error.error_class == "httpx2.RemoteProtocolError"
    response = step.http["response"]
    assert response["status"] == 200
    assert len(response["events"]) == 3
    assert response["incomplete"].startswith("RemoteProtocolError: ")

    with replay.replaying(cassette) as replaying:
        replaying.set_result(agent(fake_llm.openai_url))
    assert replaying.result is not None
    assert replaying.result.outcome.output == recorded.outcome.output
    assert replaying.result.diff.identical


def _first_chunk_then_close(base_url: str, pacer: Pacer) -> dict[str, Any]:
    client = openai.OpenAI(base_url=base_url, max_retries=0)
    stream = client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, stream=True)
    first = next(iter(stream))
    stream.close()  # the agent has what it needs; the server still holds the rest
    pacer.first_chunk()
    return {"stop_reason": "completed", "output": first.choices[0].delta.role}


def test_a_stream_the_agent_closes_early_keeps_the_events_it_got(
    fake_llm: FakeLLM, cassette: Path
) -> None:
    pacer = Pacer()
    fake_llm.add(reply(ANSWER, hold=pacer.release))
    with replay.record(cassette) as run:
        run.set_result(_first_chunk_then_close(fake_llm.openai_url, pacer))

    (step,) = replay.load_cassette(cassette).steps
    assert step.error is None
    assert len(step.http["response"]["events"]) == 1
    assert step.http["response"]["incomplete"] == f"{CLOSED_EARLY} (1 events)"
    with replay.replaying(cassette) as replaying:
        replaying.set_result(_first_chunk_then_close(fake_llm.openai_url, Pacer()))
    assert replaying.result is not None and replaying.result.diff.identical
    assert replaying.result.outcome.output == "assistant"


def test_a_stream_still_open_when_the_run_ends_is_recorded(
    fake_llm: FakeLLM, cassette: Path
) -> None:
    pacer = Pacer()
    fake_llm.add(reply(ANSWER, hold=pacer.release))
    body = {"model": "m", "stream": True, "messages": MESSAGES}
    with httpx2.Client() as client:
        with replay.record(cassette):
            request = client.build_request(
                "POST", f"{fake_llm.openai_url}/chat/completions", json=body
            )
            response = client.send(request, stream=True)
            chunks = response.iter_raw()
            first = next(chunks)
        pacer.first_chunk()
        chunks.close()

    assert first.startswith(b"data: {") and first.endswith(b"\n\n")
    (step,) = replay.load_cassette(cassette).steps
    assert step.http["response"]["incomplete"] == f"{RUN_ENDED} (1 events)"


@pytest.mark.parametrize(
    ("reads", "expected"),
    [
        # one event split across reads, two events in one read
        (
            [b"data: a", b"\n", b"\ndata: b\n\ndata: c\n\n"],
            [b"data: a\n\n", b"data: b\n\n", b"data: c\n\n"],
        ),
        # CRLF line ends, the blank line split between reads
        ([b"data: a\r\n\r", b"\ndata: b\r\n\r\n"], [b"data: a\r\n\r\n", b"data: b\r\n\r\n"]),
        # CR line ends; a \r at the end of a read waits for a possible \n
        ([b"data: a\r\rdata: b\r\r", b"\n\n"], [b"data: a\r\r", b"data: b\r\r\n"]),
        # no blank line yet: nothing is passed on until one arrives
        ([b"event: x\ndata: 1\n", b"data: 2\n"], []),
    ],
)
def test_event_chunker_passes_on_whole_events_as_they_complete(
    reads: list[bytes], expected: list[bytes]
) -> None:
    chunker = EventChunker()
    got = [chunk for data in reads for chunk in chunker.feed(data)]
    assert got == expected
    assert b"".join(got) + chunker.flush() == b"".join(reads)


def _httpx_sync(module: Any, url: str, body: dict[str, Any], pacer: Pacer) -> list[bytes]:
    with module.Client() as client, client.stream("POST", url, json=body) as response:
        chunks = []
        for chunk in response.iter_raw():
            pacer.first_chunk()
            chunks.append(chunk)
        return chunks


async def _httpx_async(module: Any, url: str, body: dict[str, Any], pacer: Pacer) -> list[bytes]:
    async with module.AsyncClient() as client, client.stream("POST", url, json=body) as response:
        chunks = []
        async for chunk in response.aiter_raw():
            pacer.first_chunk()
            chunks.append(chunk)
        return chunks


@pytest.mark.parametrize("client", ["sync", "async"])
@pytest.mark.parametrize("module_name", ["httpx", "httpx2"])
def test_plain_httpx_clients_get_the_stream_live_event_by_event(
    module_name: str, client: str, fake_llm: FakeLLM, cassette: Path
) -> None:
    module = pytest.importorskip(module_name)
    pacer = Pacer()
    fake_llm.add(reply("one two", hold=pacer.release))
    url = f"{fake_llm.openai_url}/chat/completions"
    body = {"model": "m", "stream": True, "messages": MESSAGES}
    with replay.record(cassette):
        if client == "sync":
            chunks = _httpx_sync(module, url, body, pacer)
        else:
            chunks = asyncio.run(_httpx_async(module, url, body, pacer))

    assert pacer.first_before_rest is True
    events = replay.load_cassette(cassette).steps[0].http["response"]["events"]
    # role, "one ", "two", finish, [DONE]: one chunk per event, as a replay serves them
    assert len(events) == 5
    assert chunks == [(event + "\n\n").encode() for event in events]
