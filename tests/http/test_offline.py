"""Replay is offline: unserved requests diverge at once, no socket opens (see also
tests/test_hermetic.py)."""

from __future__ import annotations

import asyncio
import http.client
import socket
from pathlib import Path

import anthropic
import httpx2
import openai
import pytest

import replay
from replay.testing.fake_llm import FakeLLM, reply
from tests.http import agents
from tests.http.test_openai import QUESTION, record_support

REMOTE = "192.0.2.10"  # TEST-NET-1: never routed, and an address, so no name lookup either


def test_a_non_loopback_socket_is_refused_while_replaying(cassette: Path) -> None:
    with replay.record(cassette):
        pass

    with replay.replaying(cassette) as replaying:
        with pytest.raises(replay.NetworkBlocked) as blocked:
            socket.create_connection((REMOTE, 443), timeout=5)
        with pytest.raises(replay.NetworkBlocked):
            socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b"x", (REMOTE, 53))

    assert isinstance(blocked.value, replay.Divergence)
    assert f"connection to {REMOTE}:443 refused: replay is offline" in str(blocked.value)
    result = replaying.result
    assert result is not None and result.divergence is not None
    assert result.divergence.name == f"socket connect {REMOTE}:443"
    assert result.divergence.nearest_step is None
    assert len(result.divergences) == 2


def test_a_loopback_socket_is_reached_only_when_allowed(cassette: Path) -> None:
    from replay.hermetic import allowing

    with replay.record(cassette):
        pass
    listener = socket.create_server(("127.0.0.1", 0))
    try:
        with replay.replaying(cassette) as refused, pytest.raises(replay.NetworkBlocked):
            socket.create_connection(listener.getsockname(), timeout=5)
        with allowing(["127.0.0.1"]), replay.replaying(cassette) as allowed:
            socket.create_connection(listener.getsockname(), timeout=5).close()
    finally:
        listener.close()
    assert refused.result is not None and refused.result.divergence is not None
    assert allowed.result is not None and allowed.result.divergence is None


def test_nothing_stays_patched_after_a_session() -> None:
    before = (
        socket.socket.__dict__.get("connect"),
        httpx2.HTTPTransport.handle_request,
        httpx2.AsyncHTTPTransport.handle_async_request,
        http.client.HTTPConnection,
    )
    with FakeLLM([reply("hi")]) as llm, replay.record(Path("run.yaml")):
        openai.OpenAI(base_url=llm.openai_url).models.list()
        assert http.client.HTTPConnection is not before[3]
        assert httpx2.HTTPTransport.handle_request is not before[1]
    with replay.replaying(Path("run.yaml")):
        assert "connect" not in socket.socket.__dict__, "the guard is an audit hook, not a patch"
    after = (
        socket.socket.__dict__.get("connect"),
        httpx2.HTTPTransport.handle_request,
        httpx2.AsyncHTTPTransport.handle_async_request,
        http.client.HTTPConnection,
    )
    assert after == before


def _ask_openai(base_url: str, content: str) -> None:
    openai.OpenAI(base_url=base_url).chat.completions.create(
        model=agents.MODEL, messages=[{"role": "user", "content": content}]
    )


def _ask_anthropic(base_url: str, content: str) -> None:
    anthropic.Anthropic(base_url=base_url).messages.create(
        model=agents.CLAUDE, max_tokens=64, messages=[{"role": "user", "content": content}]
    )


def _ask_anthropic_async(base_url: str, content: str) -> None:
    async def ask() -> None:
        await anthropic.AsyncAnthropic(base_url=base_url).messages.create(
            model=agents.CLAUDE, max_tokens=64, messages=[{"role": "user", "content": content}]
        )

    asyncio.run(ask())


@pytest.mark.parametrize(
    ("ask", "url"),
    [(_ask_openai, "openai_url"), (_ask_anthropic, "url"), (_ask_anthropic_async, "url")],
    ids=["openai", "anthropic", "anthropic-async"],
)
def test_the_sdk_surfaces_the_divergence_without_retrying(ask, url: str, cassette: Path) -> None:
    with FakeLLM([reply("Five days.")]) as llm:
        base_url = getattr(llm, url)
        with replay.record(cassette):
            ask(base_url, "How long do refunds take?")

    with replay.replaying(cassette) as replaying, pytest.raises(replay.Divergence) as raised:
        ask(base_url, "How long do returns take?")

    assert isinstance(raised.value, replay.NetworkBlocked)
    assert "replay is offline" in str(raised.value)
    assert "'How long do refunds take?' -> 'How long do returns take?'" in str(raised.value)
    result = replaying.result
    assert result is not None
    assert len(result.divergences) == 1, "the SDK retried the divergence"
    assert result.divergence is not None and result.divergence.step == 0


def test_a_swallowed_divergence_is_still_the_replay_result(cassette: Path) -> None:
    with FakeLLM([reply("Five days.")]) as llm:
        record_support(cassette, llm, "tests.http.agents:forgiving_support")

    result = replay.replay(cassette, agent="tests.http.agents:openai_support_new_prompt")
    assert result.divergence is not None
    forgiving = replay.replay(
        cassette,
        agent=lambda base_url, question: agents.forgiving_support(base_url, question + "!"),
    )
    assert forgiving.outcome.stop_reason == "diverged"
    assert forgiving.divergence is not None and forgiving.divergence.kind == "llm"
    assert len(forgiving.divergences) == 1


def test_a_remote_base_url_is_served_without_any_socket(cassette: Path) -> None:
    with FakeLLM([reply("Five days.")]) as llm:
        record_support(cassette, llm, "tests.http.agents:openai_support")

    with replay.replaying(cassette) as replaying:
        answer = agents.openai_support(f"http://{REMOTE}/v1", QUESTION)
        with pytest.raises(replay.NetworkBlocked) as blocked:
            _ask_openai(f"http://{REMOTE}/v1", "not recorded")

    assert answer["output"] == "Five days."
    assert blocked.value.name == agents.MODEL, "blocked by the seam, not at the socket"
    result = replaying.result
    assert result is not None and [d.name for d in result.divergences] == [agents.MODEL]
