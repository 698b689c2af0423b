"""The per-call shortcuts of HTTP replay serve and diverge exactly as the general path.

Shortcuts: a faithful request takes the recorded step's args, hash and step
(``ReplayingSession.plain_call``, ``_answer``); request headers decoded once per header
set; stored responses decoded once per loaded cassette; redaction rules and the texts
redacted under them shared by redactors with the same rules; request JSON parsed
straight to plain data. Each replay below runs twice, with the shortcuts and with the
general path (every shortcut switched off and every cache emptied), and both must give
the same history, divergence and diff.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx2
import pytest

import replay
from replay import redact
from replay.boundary import Call, ReplayingSession
from replay.canonical import to_plain
from replay.http import exchange, transport
from replay.http.exchange import WireRequest, describe_request, parse_body
from replay.http.options import HttpOptions
from replay.http.redact import Redactor
from replay.redact import MARKER
from replay.testing.fake_llm import FakeLLM, reply
from tests.http import agents
from tests.http.conftest import ANTHROPIC_KEY, OPENAI_KEY

QUESTION = "How long do refunds take?"


def _general_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every shortcut of the replayed call off, every cache of it empty."""
    monkeypatch.setattr(
        ReplayingSession,
        "plain_call",
        lambda self, kind, name, plain, policy: Call.of_plain(kind, name, plain, policy),
    )
    monkeypatch.setattr(transport, "_headers", lambda headers: tuple(headers.multi_items()))
    monkeypatch.setattr(exchange, "stored_response", exchange._stored_response)
    redact._shared_rules.clear()


def _both_ways(
    monkeypatch: pytest.MonkeyPatch, cassette: Path, agent: Callable[..., Any]
) -> tuple[replay.ReplayResult, replay.ReplayResult]:
    redact._shared_rules.clear()
    fast = replay.replay(cassette, agent=agent)
    again = replay.replay(cassette, agent=agent)  # warm: every cache filled
    with monkeypatch.context() as patch:
        _general_path(patch)
        general = replay.replay(cassette, agent=agent)
    assert _seen(again) == _seen(fast)
    return fast, general


def _seen(result: replay.ReplayResult) -> dict[str, Any]:
    return {
        "history": result.history,
        "divergence": result.divergence,
        "diff": result.diff.to_dict(),
        "outcome": result.outcome.to_dict(),
    }


def _record(cassette: Path, llm: FakeLLM, run: Callable[[], Any]) -> None:
    with replay.record(cassette, entrypoint=None) as recording:
        recording.set_result(run())


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
def test_a_faithful_replay_is_identical_both_ways(
    monkeypatch: pytest.MonkeyPatch, cassette: Path, provider: str
) -> None:
    def agent(**_: Any) -> Any:
        if provider == "openai":
            return agents.openai_support(llm.openai_url, QUESTION)
        return agents.anthropic_support(llm.url, QUESTION)

    with FakeLLM([reply("Five days.")]) as llm:
        _record(cassette, llm, agent)
        fast, general = _both_ways(monkeypatch, cassette, agent)

    assert fast.identical and general.identical
    assert _seen(fast) == _seen(general)
    # The shortcut's step is the recorded one; the general path's an equal copy.
    recorded = replay.load_cassette(cassette).steps
    assert fast.history == general.history == recorded


@pytest.mark.parametrize(
    ("provider", "key"), [("openai", OPENAI_KEY), ("anthropic", ANTHROPIC_KEY)]
)
def test_a_request_carrying_a_secret_is_redacted_before_it_is_compared(
    monkeypatch: pytest.MonkeyPatch, cassette: Path, provider: str, key: str
) -> None:
    question = f"My key {key} stopped working. {QUESTION}"

    def agent(**_: Any) -> Any:
        if provider == "openai":
            return agents.openai_support(llm.openai_url, question)
        return agents.anthropic_support(llm.url, question)

    with FakeLLM([reply("Five days.")]) as llm:
        _record(cassette, llm, agent)
        stored = replay.load_cassette(cassette).steps[0].args
        assert key not in json.dumps(stored) and MARKER in json.dumps(stored)
        fast, general = _both_ways(monkeypatch, cassette, agent)

    assert fast.identical and general.identical
    assert _seen(fast) == _seen(general)


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
def test_a_request_one_byte_off_diverges_the_same_both_ways(
    monkeypatch: pytest.MonkeyPatch, cassette: Path, provider: str
) -> None:
    def agent_asking(question: str) -> Callable[..., Any]:
        def agent(**_: Any) -> Any:
            if provider == "openai":
                return agents.openai_support(llm.openai_url, question)
            return agents.anthropic_support(llm.url, question)

        return agent

    with FakeLLM([reply("Five days.")]) as llm:
        _record(cassette, llm, agent_asking(QUESTION))
        fast, general = _both_ways(monkeypatch, cassette, agent_asking(QUESTION[:-1] + "!"))

    assert fast.divergence is not None and general.divergence is not None
    assert fast.divergence.reason == "no recorded answer"
    assert any("refunds take!" in line for line in fast.divergence.args_diff)
    assert _seen(fast) == _seen(general)


def test_the_call_shortcut_gives_the_general_call(cassette: Path) -> None:
    """``plain_call`` against the next recorded step: the recorded args and hash when the
    data is the same, else what ``Call.of_plain`` computes (types and order included)."""
    with FakeLLM([reply("Five days.")]) as llm:
        _record(cassette, llm, lambda: agents.openai_support(llm.openai_url, QUESTION))
    step = replay.load_cassette(cassette).steps[0]
    with replay.replaying(cassette) as replaying:
        session = replaying.session
        same = dict(step.args)
        variants = [
            same,
            {**same, "model": step.args["model"] + " "},
            {**same, "temperature": 1},
            {**same, "temperature": 1.0},
            {**same, "temperature": True},
            dict(reversed(list(same.items()))),
        ]
        for args in variants:
            policy = HttpOptions().policy
            shortcut = session.plain_call("llm", step.name, args, policy)
            general = Call.of_plain("llm", step.name, args, policy)
            assert shortcut == general
            assert (shortcut.args is step.args) == (args is same)
        replaying.set_result(agents.openai_support(llm.openai_url, QUESTION))


def test_request_headers_decode_as_httpx_does() -> None:
    for headers in (
        httpx2.Headers({"Content-Type": "application/json", "Authorization": "Bearer abc"}),
        httpx2.Headers({"Content-Type": "application/json", "Authorization": "Bearer abd"}),
        httpx2.Headers([(b"X-Name", "caf\u00e9".encode())]),
        httpx2.Headers([(b"X-Name", "caf\u00e9".encode())], encoding="iso-8859-1"),
    ):
        for _ in range(2):  # the second time from the cache, where it is kept
            assert transport._headers(headers) == tuple(headers.multi_items())


def test_a_stored_response_edited_in_place_is_decoded_again() -> None:
    stored: dict[str, Any] = {"status": 200, "headers": {"a": "1"}, "body": "one"}
    first = exchange.stored_response(stored)
    assert exchange.stored_response(stored) is first
    assert first == exchange._stored_response(stored)
    stored["body"] = "two"
    assert exchange.stored_response(stored).body == b"two"
    stored["headers"] = {"a": "2"}
    assert exchange.stored_response(stored).headers == (("a", "2"),)


@pytest.mark.parametrize(
    "body",
    [
        b'{"a": 1, "b": 1.5, "c": [true, null, "x"], "d": {"e": -0.0}}',
        b'{"nan": NaN, "inf": Infinity, "minus": -Infinity, "huge": 1e999, "tiny": 1e-999}',
        b"[1, 2.0, 3e2]",
        b'\xef\xbb\xbf{"bom": 1}',
        b"{not json",
        b"plain text",
    ],
)
def test_request_json_parses_to_what_to_plain_gives(body: bytes) -> None:
    general = to_plain(parse_body(body, "application/json"))
    plain = parse_body(body, "application/json", plain=True)
    assert json.dumps(plain) == json.dumps(general)
    assert [type(v) for v in _leaves(plain)] == [type(v) for v in _leaves(general)]


def _leaves(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return [leaf for item in value.values() for leaf in _leaves(item)]
    if isinstance(value, list):
        return [leaf for item in value for leaf in _leaves(item)]
    assert not (isinstance(value, float) and not math.isfinite(value))
    return [value]


def test_redactors_share_what_they_redacted_only_under_the_same_rules() -> None:
    secret = "hunter2-correct-horse-battery"
    text = f"the password is {secret} today"
    redact._shared_rules.clear()
    blind = Redactor(HttpOptions())
    assert blind.text(text) == text
    knowing = Redactor(HttpOptions())
    knowing.learn_values([secret])
    assert knowing.text(text) == f"the password is {MARKER} today"
    # A new redactor with the first one's rules reuses its texts, and learns on its own.
    again = Redactor(HttpOptions())
    assert again.text(text) == text
    again.learn_values([secret])
    assert again.text(text) == f"the password is {MARKER} today"
    assert blind.text(text) == text


def test_a_request_described_with_the_shortcut_matches_the_general_description(
    cassette: Path,
) -> None:
    with FakeLLM([reply("Five days.")]) as llm:
        _record(cassette, llm, lambda: agents.anthropic_support(llm.url, QUESTION))
    step = replay.load_cassette(cassette).steps[0]
    body = json.dumps(
        {k: v for k, v in step.args.items() if k != "endpoint"}, separators=(",", ":")
    ).encode()
    request = WireRequest(
        "POST", "http://127.0.0.1:1/v1/messages", (("content-type", "application/json"),), body
    )
    with replay.replaying(cassette) as replaying:
        session = replaying.session
        options = HttpOptions()
        general = describe_request(request, options, Redactor(options), stored=False)
        shortcut = describe_request(
            request, options, Redactor(options), stored=False, plain_call=session.plain_call
        )
        assert (
            shortcut.call
            == general.call
            == Call("llm", step.name, step.args, step.args_hash, options.policy)
        )
        assert shortcut.call.args is step.args
        replaying.set_result(agents.anthropic_support(llm.url, QUESTION))


def test_the_shared_caches_are_emptied_past_their_size(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(redact, "_CACHED_CHARS", 100)
    redact._shared_rules.clear()
    redactor = Redactor(HttpOptions())
    texts = [f"text number {i} " * 5 for i in range(10)]
    for text in texts:
        assert redactor.text(text) == text
    assert sum(map(len, redactor._rules.texts)) <= 100 + len(texts[0])
    secret = "sk-proj-" + "A1b2C3d4" * 4
    assert redactor.text(f"key {secret}") == f"key {MARKER}"

    monkeypatch.setattr(exchange, "_CACHED_BYTES", 10)
    first = exchange.stored_response({"status": 200, "headers": {}, "body": "x" * 50})
    second = exchange.stored_response({"status": 200, "headers": {}, "body": "y" * 50})
    assert (first.body, second.body) == (b"x" * 50, b"y" * 50)
    assert len(exchange._decoded) == 1


def test_texts_at_once_redact_as_one_by_one_under_the_shared_rules() -> None:
    redact._shared_rules.clear()
    secret = "hunter2-correct-horse-battery"
    redactor = Redactor(HttpOptions())
    redactor.learn_values([secret])
    values = [
        "data: plain words",
        f"data: the key is {secret}",
        "data: Bearer Ab3dEf6hIj9kLm2n",
        'data: {"api_key": "abc123def456"}',
        "data: more plain words",
    ]
    assert redactor.texts(values) == [redactor.text(value) for value in values]
    assert redactor.texts(values)[1] == f"data: the key is {MARKER}"
