"""Recording a JSON answer on the fast paths writes what the general paths write.

The fast paths: a request's or an answer's data that redaction returned as it was is
vouched for under the rules in force (``Redactor.vouch``), and the end-of-recording pass
neither walks nor learns from it again while those rules hold; a request's headers are
redacted once per set of rules (``Redactor.header_set``). Each is checked against the
general path byte for byte (with secrets learned late, a custom pattern and secret
fields), and the vouches and the header memo are shown to lapse when the rules change.
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path
from typing import Any

import anthropic
import openai
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import replay
from replay.boundary import Call
from replay.cassette import Cassette, Outcome, RunContext, Step
from replay.redact import MARKER, RedactionPolicy, Redactor
from replay.testing.fake_llm import FakeLLM, reply
from tests.http.conftest import write_http_config

VOLATILE = re.compile(
    r"^(\s*-?\s*(?:run_id|trace_id|recorded_at|started_at_ms|latency_ms|span_id|"
    r"parent_span_id): ).*$",
    re.MULTILINE,
)
LATE_KEY = "plain-Late-Credential-81"
COOKIE = "Late-Cookie-Value-7Qz9"
PASSWORD = "Hunter2-Field-Secret-5150"


def _ask(provider: str, base_url: str, api_key: str | None, prompt: str) -> str:
    if provider == "openai":
        client = openai.OpenAI(base_url=base_url, api_key=api_key)
        completion = client.chat.completions.create(
            model="gpt-4o-mini",
            messages=[{"role": "user", "content": prompt}],
            extra_body={"user_password": PASSWORD},
        )
        return completion.choices[0].message.content or ""
    client_a = anthropic.Anthropic(base_url=base_url, api_key=api_key)
    message = client_a.messages.create(
        model="claude-fake-1",
        max_tokens=64,
        messages=[{"role": "user", "content": prompt}],
        extra_body={"user_password": PASSWORD},
    )
    return "".join(getattr(block, "text", "") for block in message.content)


def _record(path: Path, provider: str, secrets: bool) -> str:
    if secrets:
        script = [
            reply(f"the new key is {LATE_KEY}, the cookie {COOKIE}"),
            reply("ok", headers={"set-cookie": f"session={COOKIE}; Path=/"}),
            reply(f"done, {PASSWORD} noted"),
            reply("order acct-123456"),
            reply("plain answer"),
        ]
        keys = [None, None, LATE_KEY, LATE_KEY, LATE_KEY]
    else:
        script = [reply(f"answer {i}") for i in range(4)]
        keys = [None] * 4
    with FakeLLM(script) as llm:
        url = llm.openai_url if provider == "openai" else llm.anthropic_url
        with replay.record(path, entrypoint=None) as recording:
            seen = [
                _ask(provider, url, key, f"prompt {i} with the same system text")
                for i, key in enumerate(keys)
            ]
            recording.set_result(seen)
    text = path.read_text(encoding="utf-8")
    return VOLATILE.sub(r"\1X", re.sub(r"127\.0\.0\.1:\d+", "127.0.0.1:PORT", text))


def _general_paths(monkeypatch: pytest.MonkeyPatch) -> None:
    """Nothing vouched for (the end pass walks and learns from every step), every
    request's headers redacted afresh."""
    monkeypatch.setattr(Redactor, "vouch", lambda self, value, rules: None)
    monkeypatch.setattr(Redactor, "header_set", lambda self, headers: self.headers(headers))


@pytest.mark.parametrize("secrets", [False, True], ids=["plain", "secrets"])
@pytest.mark.parametrize("provider", ["openai", "anthropic"])
def test_a_json_recording_is_byte_identical_on_the_fast_and_general_paths(
    provider: str, secrets: bool, project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if secrets:
        write_http_config(project, 'redact_patterns = ["acct-[0-9]{6}"]')
    skipped: list[Any] = []
    clean = Redactor.clean
    monkeypatch.setattr(
        Redactor, "clean", lambda self, value: clean(self, value) and not skipped.append(value)
    )
    fast = _record(tmp_path / "fast.yaml", provider, secrets)
    assert skipped, "the fast path is taken (in the secrets run, by the last steps)"
    with monkeypatch.context() as general:
        _general_paths(general)
        slow = _record(tmp_path / "general.yaml", provider, secrets)
    assert fast == slow
    if secrets:
        for secret in (LATE_KEY, COOKIE, PASSWORD, "acct-123456"):
            assert secret not in fast


def _step(index: int, args: Any, result: Any) -> Step:
    call = Call.of_plain("llm", "m", args)
    return Step(
        index=index, kind="llm", name="m", args=call.args, args_hash=call.args_hash, result=result
    )


def _cassette(*steps: Step) -> Cassette:
    return Cassette(
        context=RunContext(run_id="r", trace_id="t"),
        steps=steps,
        outcome=Outcome(stop_reason="completed"),
    )


def test_a_vouch_lapses_when_a_secret_is_learned_or_the_policy_widens() -> None:
    redactor = Redactor(RedactionPolicy())
    late = "Late-Secret-Value-9931"
    args = {"prompt": f"remember {late}"}
    result = {"text": "fine"}
    rules = redactor.rules
    assert redactor.data(args) is args and redactor.data(result) is result
    redactor.vouch(args, rules)
    redactor.vouch(result, rules)
    assert redactor.clean(args) and redactor.learned(args)

    redactor.learn_values([late])  # learned after the vouch, as from a later step
    assert not redactor.clean(args) and redactor.learned(args)
    stale = {"other": "text"}
    redactor.vouch(stale, rules)  # made under rules no longer in force: not kept
    assert not redactor.clean(stale)
    written = redactor.cassette(_cassette(_step(0, args, result)))
    assert written.steps[0].args == {"prompt": f"remember {MARKER}"}
    assert written.steps[0].args_hash != _step(0, args, result).args_hash

    redactor.widen(RedactionPolicy.of(fields=["text"]))
    assert not redactor.learned(result) and not redactor.clean(result)
    assert redactor.cassette(_cassette(_step(0, {}, result))).steps[0].result == {"text": MARKER}


def test_the_end_pass_learns_from_what_was_not_vouched_for() -> None:
    """A step recorded without a vouch (a tool step, a hooked call) is still learned
    from: its secret field's value is scrubbed from a vouched step."""
    redactor = Redactor(RedactionPolicy())
    token = "Field-Token-Value-4242"
    vouched = {"prompt": f"the token is {token}"}
    redactor.vouch(vouched, redactor.rules)
    cassette = _cassette(_step(0, vouched, None), _step(1, {"api_token": token}, None))
    written = redactor.cassette(cassette)
    assert written.steps[0].args == {"prompt": f"the token is {MARKER}"}
    assert written.steps[1].args == {"api_token": MARKER}


def test_a_vouched_step_is_kept_as_it_is() -> None:
    redactor = Redactor(RedactionPolicy())
    args, result = {"prompt": "hello"}, {"text": "hi"}
    redactor.vouch(args, redactor.rules)
    redactor.vouch(result, redactor.rules)
    step = _step(0, args, result)
    assert redactor.cassette(_cassette(step)).steps[0] is step
    assert replace(step) == step


def test_the_header_memo_lapses_when_the_rules_change() -> None:
    redactor = Redactor(RedactionPolicy())
    late = "Header-Late-Secret-7788"
    headers = (("x-note", f"value {late}"), ("authorization", "Bearer abc-Secret-000111"))
    first = redactor.header_set(headers)
    again = redactor.header_set(headers)
    assert first == again == redactor.headers(headers) and first is not again
    assert first == {"x-note": f"value {late}", "authorization": MARKER}
    first["x-note"] = "edited"  # a caller's copy: the memo keeps its own
    assert redactor.header_set(headers)["x-note"] == f"value {late}"
    redactor.learn_values([late])
    assert redactor.header_set(headers) == {"x-note": f"value {MARKER}", "authorization": MARKER}


_KEYS = st.sampled_from(["prompt", "password", "api_key", "logprob", "token", "text", "n"])
_PLAIN = st.recursive(
    st.none() | st.booleans() | st.integers() | st.sampled_from(["x", MARKER, "Val-ue-0123456"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_KEYS, inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(_KEYS, _PLAIN, max_size=5))
def test_a_body_redaction_leaves_as_it_is_has_nothing_to_learn(body: dict[str, Any]) -> None:
    """describe_request redacts a request body before learning from its fields and skips
    the learning when nothing changed: then the learning would have found nothing."""
    redactor = Redactor(RedactionPolicy.of(fields=["password"]))
    if redactor.data(body) is body:
        before = redactor.secrets
        redactor.learn_fields(body)
        assert redactor.secrets == before
