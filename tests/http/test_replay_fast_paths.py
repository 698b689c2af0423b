"""The per-call shortcuts of HTTP replay serve and diverge exactly as the general path.

Shortcuts: a faithful request takes the recorded step's args, hash and step
(``ReplayingSession.plain_call``, ``_answer``); a request whose exact bytes were described
before under the same redaction rules takes that description (``exchange._DESCRIBED``);
request headers decoded once per header set; stored responses decoded once per loaded
cassette; redaction rules and the texts redacted under them shared by redactors with the
same rules; request JSON parsed straight to plain data. Each replay below runs twice,
with the shortcuts and with the general path (every shortcut switched off and every cache
emptied), and both must give the same history, divergence and diff.
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
    monkeypatch.setattr(exchange, "_remember_described", lambda rules, key, value: None)
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
            step.args,
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
            assert (shortcut.args is step.args) == (args is same or args is step.args)
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


def test_the_call_shortcut_takes_no_other_steps_args_for_the_next_ones(cassette: Path) -> None:
    """Another recorded step's own args object is not the next step's data."""
    with FakeLLM([reply("Five days."), reply("Ten days.")]) as llm:
        _record(
            cassette,
            llm,
            lambda: [
                agents.openai_support(llm.openai_url, QUESTION),
                agents.openai_support(llm.openai_url, QUESTION + " Really?"),
            ],
        )
    first, second = replay.load_cassette(cassette).steps
    assert first.name == second.name and first.args != second.args
    with replay.replaying(cassette) as replaying:
        policy = HttpOptions().policy
        call = replaying.session.plain_call("llm", first.name, second.args, policy)
        assert call == Call.of_plain("llm", first.name, second.args, policy)
        assert call.args is second.args and call.args_hash == second.args_hash
        assert replaying.session.index.same_args_step("llm", first.name, second.args) is None
        replaying.set_result(
            [
                agents.openai_support(llm.openai_url, QUESTION),
                agents.openai_support(llm.openai_url, QUESTION + " Really?"),
            ]
        )


def _request(body: bytes, url: str = "http://127.0.0.1:1/v1/messages") -> WireRequest:
    return WireRequest("POST", url, (("content-type", "application/json"),), body)


def _anthropic_body(text: str, **extra: Any) -> bytes:
    body = {
        "model": "claude-sonnet-4-5",
        "max_tokens": 64,
        **extra,
        "messages": [{"role": "user", "content": text}],
    }
    return json.dumps(body).encode()


def _afresh(request: WireRequest, options: HttpOptions, redactor: Redactor) -> tuple[Call, Any]:
    """The call and format of the general path (a stored request is never remembered)."""
    described = describe_request(request, options, redactor, stored=True)
    return described.call, described.format


def _seen_call(described: exchange.Described) -> tuple[Call, Any]:
    assert described.record == {}
    return described.call, described.format


def test_a_request_described_before_is_described_again_only_with_the_same_bytes_and_rules(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The memo of described requests: a hit is what describing afresh gives; a byte, the
    URL, the ignored fields or the redaction rules changed miss it; a secret in the
    request is redacted in what is remembered; a redaction hook or a stored request
    (``--on-miss live``) never takes it."""
    redact._shared_rules.clear()
    secret = "hunter2-correct-horse-battery"
    options = HttpOptions()
    redactor = Redactor(options)
    request = _request(_anthropic_body(f"My password is {secret}. {QUESTION}"))

    first = describe_request(request, options, redactor, stored=False)
    again = describe_request(request, options, redactor, stored=False)
    assert again.call.args is first.call.args  # from the memo
    assert again == first
    assert _seen_call(first) == _afresh(request, options, redactor)
    assert secret in json.dumps(first.call.args)  # not a secret under these rules

    # The same bytes under new rules (a secret learned): described afresh, redacted.
    redactor.learn_values([secret])
    learned = describe_request(request, options, redactor, stored=False)
    assert secret not in json.dumps(learned.call.args) and MARKER in json.dumps(learned.call.args)
    assert _seen_call(learned) == _afresh(request, options, redactor)
    for remembered in redactor.rules.memo.values():
        if remembered[1] is learned.call.args:
            break
    else:
        raise AssertionError("the redacted description was not remembered")
    assert describe_request(request, options, redactor, stored=False).call.args is learned.call.args
    # A redactor that does not know the secret (other rules) still gets it verbatim.
    assert describe_request(request, options, Redactor(options), stored=False) == first

    # One byte changed, another URL, other ignored fields, other rules: not the memo's.
    changed = [
        (_request(request.body.replace(b"take?", b"take!")), options, redactor),
        (_request(request.body, "http://127.0.0.1:1/v1/messages?beta=true"), options, redactor),
        (request, HttpOptions.of(ignore=["max_tokens"]), redactor),
        (request, options, Redactor(HttpOptions.of(redact_patterns=[r"refunds"]))),
    ]
    for other_request, other_options, other_redactor in changed:
        described = describe_request(other_request, other_options, other_redactor, stored=False)
        assert described.call.args is not learned.call.args
        assert described.call != learned.call
        assert _seen_call(described) == _afresh(other_request, other_options, other_redactor)

    # A stored request (the derived cassette of --on-miss live) is described in full.
    stored = describe_request(request, options, redactor, stored=True)
    assert stored.record["url"] == request.url and stored.call == learned.call


def test_a_redaction_hook_is_run_on_every_request(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    described: list[Any] = []
    module = tmp_path / "memo_hook.py"
    module.write_text("CALLS = []\ndef scrub(document):\n    CALLS.append(1)\n    return None\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    import importlib

    hook = importlib.import_module("memo_hook")
    redact._shared_rules.clear()
    policy = redact.RedactionPolicy(hook="memo_hook:scrub")
    options = HttpOptions()
    redactor = Redactor(options, policy)
    request = _request(_anthropic_body(QUESTION))
    for _ in range(3):
        described.append(describe_request(request, options, redactor, stored=False))
    assert len(hook.CALLS) == 3
    assert not redactor.rules.memo
    assert described[0] == described[2]


def test_the_memo_of_described_requests_is_emptied_past_its_size(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(exchange, "_CACHED_REQUEST_BYTES", 3_000)
    redact._shared_rules.clear()
    options = HttpOptions()
    redactor = Redactor(options)
    for index in range(10):
        request = _request(_anthropic_body(f"{index} " + "x" * 1_000))
        first = describe_request(request, options, redactor, stored=False)
        assert describe_request(request, options, redactor, stored=False) == first
        held = sum(len(key[-1]) + len(key[3]) for key in redactor.rules.memo)
        assert held == redactor.rules.memo_size <= 3_000
    assert len(redactor.rules.memo) < 10


def test_a_description_made_while_the_rules_changed_is_not_remembered() -> None:
    """Rules changed by another thread while a request is described: the description is
    not filed under the rules it started with."""
    secret = "hunter2-correct-horse-battery"

    class LearningMidway(Redactor):
        def data(self, value: Any) -> Any:
            self.learn_values([secret])
            return super().data(value)

    redact._shared_rules.clear()
    options = HttpOptions()
    redactor = LearningMidway(options)
    before = redactor.rules
    describe_request(_request(_anthropic_body(QUESTION)), options, redactor, stored=False)
    assert redactor.rules is not before
    assert not before.memo and not redactor.rules.memo
