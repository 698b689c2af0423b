"""Clients vcrpy patches (here stdlib urllib over http.client) go into the same cassette."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path
from typing import Any

import pytest

import replay
from replay.testing.fake_llm import FakeLLM, reply

BODY = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}


def _post_chat(base_url: str, body: dict = BODY) -> dict:
    request = urllib.request.Request(
        f"{base_url}/chat/completions",
        data=json.dumps(body).encode(),
        headers={
            "Content-Type": "application/json",
            "Authorization": "Bearer sk-urllibSECRET0123456789",
        },
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def _get_models(base_url: str) -> dict:
    with urllib.request.urlopen(f"{base_url}/models", timeout=10) as response:
        return json.loads(response.read())


def test_urllib_traffic_is_recorded_as_steps_and_replayed_offline(cassette: Path) -> None:
    with FakeLLM([reply("Hello.")]) as llm:
        base_url = llm.openai_url
        with replay.record(cassette) as recording:
            answer = _post_chat(base_url)["choices"][0]["message"]["content"]
            models = _get_models(base_url)
            recording.set_result({"answer": answer, "models": len(models["data"])})

    chat, listing = replay.load_cassette(cassette).steps
    assert (chat.kind, chat.name) == ("llm", "gpt-4o-mini")
    assert chat.args["endpoint"] == "POST /v1/chat/completions"
    assert chat.result["message"]["content"] == "Hello."
    assert chat.http["request"]["headers"]["authorization"] == "<redacted>"
    assert (listing.kind, listing.name) == ("llm", "127.0.0.1/v1/models")
    assert listing.args == {"endpoint": "GET /v1/models", "body": None}
    assert listing.result["body"]["data"][0]["id"] == "fake-model"
    assert b"urllibSECRET" not in cassette.read_bytes()

    with replay.replaying(cassette) as replaying:
        answer = _post_chat(base_url)["choices"][0]["message"]["content"]
        models = _get_models(base_url)
        replaying.set_result({"answer": answer, "models": len(models["data"])})
    result = replaying.result
    assert result is not None and result.divergence is None and result.diff.identical


def test_an_unrecorded_urllib_request_diverges(cassette: Path) -> None:
    with FakeLLM([reply("Hello.")]) as llm:
        base_url = llm.openai_url
        with replay.record(cassette):
            _post_chat(base_url)

    other = {**BODY, "messages": [{"role": "user", "content": "bye"}]}
    with replay.replaying(cassette) as replaying, pytest.raises(replay.NetworkBlocked):
        _post_chat(base_url, other)
    assert replaying.result is not None and replaying.result.divergence is not None


def test_requests_outside_a_session_are_left_alone(cassette: Path) -> None:
    with FakeLLM([reply("one"), reply("two")]) as llm:
        with replay.record(cassette):
            pass
        assert _post_chat(llm.openai_url)["choices"][0]["message"]["content"] == "one"
    assert replay.load_cassette(cassette).steps == ()


def test_the_patches_are_built_once_and_applied_with_setattr() -> None:
    """The vcrpy patch objects are built once per process and reused; the plain ones
    (``mock.patch.object(target, name, new)``) are applied by setattr, which reads
    ``unittest.mock._patch`` internals: this fails loudly when they change."""
    import http.client

    from replay.http import vcr_bridge

    original = http.client.HTTPConnection
    cassette, patchers = vcr_bridge._Patchers.built()
    assert vcr_bridge._Patchers.built()[1] is patchers  # the same objects every time
    plain = {p[1][1] for p in patchers if p[1] is not None}
    assert {"HTTPConnection", "HTTPSConnection"} <= plain
    with vcr_bridge.SEAM():
        assert http.client.HTTPConnection is not original
        assert http.client.HTTPConnection.cassette is cassette
        assert vcr_bridge.BRIDGE.cassette is cassette
    assert http.client.HTTPConnection is original
    assert vcr_bridge.BRIDGE.cassette is None
    assert "HTTPConnection" in vars(http.client)  # restored as the module's own value


def test_vcrpy_connection_removers_are_left_only_when_they_saw_a_connection(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """vcrpy's ``ConnectionRemover`` does nothing on enter, and on exit only handles the
    pools it saw a stub's connection added to: the bridge skips both when it saw none,
    and leaves it (as vcrpy would) when it saw one. Reads vcrpy internals: fails loudly
    when they change."""
    from vcr.patch import ConnectionRemover

    from replay.http import vcr_bridge

    _, patchers = vcr_bridge._Patchers.built()
    removers = [p for (p, _), r in zip(patchers, vcr_bridge._Patchers.removers, strict=True) if r]
    assert removers and all(type(p) is ConnectionRemover for p in removers)
    others = [p for (p, _), r in zip(patchers, vcr_bridge._Patchers.removers, strict=True) if not r]
    assert all(type(p) is not ConnectionRemover for p in others)
    fresh = ConnectionRemover(object)
    state = dict(vars(fresh))
    assert fresh.__enter__() is fresh and vars(fresh) == state
    for remover in removers:  # what earlier tests' stubs left: vcrpy never empties it
        monkeypatch.setattr(remover, "_connection_pool_to_connections", {})

    left: list[Any] = []
    original_exit = ConnectionRemover.__exit__

    def recording_exit(self: Any, *args: Any) -> Any:
        left.append(self)
        return original_exit(self, *args)

    monkeypatch.setattr(ConnectionRemover, "__exit__", recording_exit)
    with vcr_bridge.SEAM():
        pass
    assert left == []
    class Pool:
        pool = None  # holding no connection now

    with vcr_bridge.SEAM():
        removers[0]._connection_pool_to_connections[Pool()] = set()
    assert left == [removers[0]]
