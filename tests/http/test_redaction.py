"""No secret used in a run reaches the cassette file; redacted runs still replay."""

from __future__ import annotations

from pathlib import Path

import openai
import pytest

import replay
from replay.config import ConfigError
from replay.http.options import HttpOptions
from replay.http.redact import MARKER, Redactor
from replay.testing.fake_llm import FakeLLM, reply
from tests.http.conftest import ANTHROPIC_KEY, OPENAI_KEY, write_http_config

QUERY_SECRET = "qs-SECRETquery7777"
HEADER_SECRET = "hs-SECRETheader8888"
COOKIE_SECRET = "cs-SECRETcookie9999"
PROMPT_KEY = "sk-ant-api03-PROMPTSECRET0123456789abcdef"
ACCOUNT = "acct-123456"


def _conversation(base_url: str) -> list[str]:
    client = openai.OpenAI(
        base_url=base_url,
        default_query={"api_key": QUERY_SECRET},
        default_headers={"x-api-key": HEADER_SECRET, "api-key": HEADER_SECRET},
    )
    answers = []
    for turn in (f"My other key is {PROMPT_KEY}, account {ACCOUNT}.", "Thanks."):
        completion = client.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": turn}]
        )
        answers.append(completion.choices[0].message.content)
    return answers


def test_no_secret_reaches_the_cassette_file(
    cassette: Path, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_http_config(project, 'redact_patterns = ["acct-[0-9]{6}"]')
    echo = reply(
        f"Noted {OPENAI_KEY} and {ACCOUNT}.",
        headers={"set-cookie": f"session={COOKIE_SECRET}; Path=/"},
    )
    with FakeLLM([echo, reply("Bye.")]) as llm:
        with replay.record(cassette):
            _conversation(llm.openai_url)
        received = llm.requests

    assert received[1].headers["cookie"] == f"session={COOKIE_SECRET}", "cookie was sent"
    raw = cassette.read_bytes()
    for secret in (
        OPENAI_KEY,
        ANTHROPIC_KEY,
        QUERY_SECRET,
        HEADER_SECRET,
        COOKIE_SECRET,
        PROMPT_KEY,
        ACCOUNT,
        "TESTKEY",
        "SECRET",
    ):
        assert secret.encode() not in raw, f"{secret} reached the cassette"
    steps = replay.load_cassette(cassette).steps
    request = steps[1].http["request"]
    assert request["headers"]["authorization"] == MARKER
    assert request["headers"]["x-api-key"] == MARKER
    assert request["headers"]["cookie"] == MARKER
    assert request["url"].endswith(f"?api_key={MARKER}")
    assert steps[0].http["response"]["headers"]["set-cookie"] == MARKER
    assert steps[0].args["messages"][0]["content"] == f"My other key is {MARKER}, account {MARKER}."
    assert steps[0].result["message"]["content"] == f"Noted {MARKER} and {MARKER}."

    monkeypatch.setenv("OPENAI_API_KEY", "sk-proj-ANOTHERkeyAtReplayTime0123456789")
    with replay.replaying(cassette) as replaying:
        answers = _conversation("http://127.0.0.1:9/v1")
    assert answers == [f"Noted {MARKER} and {MARKER}.", "Bye."]
    assert replaying.result is not None and replaying.result.divergence is None


def test_redactor_nets() -> None:
    redactor = Redactor(HttpOptions.of(redact_patterns=[r"acct-\d+"], redact_headers=["x-tenant"]))
    redactor.learn([("Authorization", "Bearer plain-token-123"), ("Accept", "text/plain")])

    assert redactor.text("use plain-token-123 now") == f"use {MARKER} now"
    assert redactor.text("key sk-proj-abcdefghijklmnop0123 end") == f"key {MARKER} end"
    assert redactor.text("Bearer abcdefgh12345678") == f"Bearer {MARKER}"
    assert redactor.text("acct-42 and task-1234567890abcdefghij") == (
        f"{MARKER} and task-1234567890abcdefghij"
    )
    assert redactor.headers([("X-Tenant", "t1"), ("Set-Cookie", "a=b"), ("Set-Cookie", "c=d")]) == {
        "x-tenant": MARKER,
        "set-cookie": [MARKER, MARKER],
    }
    assert redactor.url("https://h/p?api-version=1&key=abc&access_token=t#f") == (
        f"https://h/p?api-version=1&key={MARKER}&access_token={MARKER}#f"
    )
    assert redactor.data({"a": ["sk-ant-api03-0123456789abcdefXYZ"], "n": 1}) == {
        "a": [MARKER],
        "n": 1,
    }


def test_a_bad_redact_pattern_is_one_clear_line(project: Path, cassette: Path) -> None:
    write_http_config(project, 'redact_patterns = ["acct-("]')
    with pytest.raises(ConfigError) as error, replay.record(cassette):
        pass
    message = str(error.value)
    assert "\n" not in message
    assert "pyproject.toml: [tool.replay.http]: redact_patterns entry 'acct-('" in message


PROSE = (
    "Set the token priority to high. Bearer tokens expire; the key is secret, so keep the "
    "secret key safe. Token ring, Basic setup, password reset flow, api key rotation."
)


@pytest.mark.parametrize("stream", [False, True])
def test_prose_about_tokens_and_keys_round_trips_byte_for_byte(
    cassette: Path, stream: bool
) -> None:
    """Issue 10.6: the bearer rule rewrote 'token priority' in prompts and answers."""

    def ask(base_url: str) -> str:
        client = openai.OpenAI(base_url=base_url, max_retries=0)
        if not stream:
            completion = client.chat.completions.create(
                model="gpt-4o-mini", messages=[{"role": "user", "content": PROSE}]
            )
            return completion.choices[0].message.content or ""
        chunks = client.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": PROSE}], stream=True
        )
        return "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)

    with FakeLLM([reply(PROSE)]) as llm, replay.record(cassette):
        assert ask(llm.openai_url) == PROSE
    step = replay.load_cassette(cassette).steps[0]
    assert step.args["messages"][0]["content"] == PROSE
    assert step.result["message"]["content"] == PROSE
    assert MARKER not in cassette.read_text(encoding="utf-8").replace(
        f"authorization: {MARKER}", ""
    )
    with replay.replaying(cassette) as replaying:
        assert ask("http://127.0.0.1:9/v1") == PROSE
    assert replaying.result is not None and replaying.result.identical


EMAIL_HOOK = """
import re

def scrub_emails(cassette):
    def walk(value):
        if isinstance(value, str):
            return re.sub(r"[\\w.]+@[\\w.]+", "<email>", value)
        if isinstance(value, dict):
            return {k: walk(v) for k, v in value.items()}
        if isinstance(value, list):
            return [walk(v) for v in value]
        return value

    for step in cassette["steps"]:
        step["args"] = walk(step["args"])
"""


def test_a_hook_rewriting_a_prompt_still_replays_match(
    cassette: Path, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (project / "email_hook.py").write_text(EMAIL_HOOK, encoding="utf-8")
    (project / "pyproject.toml").write_text(
        '[tool.replay]\nredact_hook = "email_hook:scrub_emails"\n', encoding="utf-8"
    )
    monkeypatch.syspath_prepend(str(project))

    def ask(base_url: str) -> str:
        client = openai.OpenAI(base_url=base_url, max_retries=0)
        completion = client.chat.completions.create(
            model="gpt-4o-mini",
            messages=[{"role": "user", "content": "Write to ann.lee@example.com"}],
        )
        return completion.choices[0].message.content or ""

    with FakeLLM([reply("Sent.")]) as llm, replay.record(cassette):
        ask(llm.openai_url)
    assert "ann.lee@example.com" not in cassette.read_text(encoding="utf-8")
    step = replay.load_cassette(cassette).steps[0]
    assert step.args["messages"][0]["content"] == "Write to <email>"

    with replay.replaying(cassette) as replaying:
        assert ask("http://127.0.0.1:9/v1") == "Sent."
    assert replaying.result is not None and replaying.result.identical


def test_secrets_learned_late_are_scrubbed_from_earlier_steps(cassette: Path) -> None:
    """A value first seen in an answer is learned as a secret only later (a response
    header of the next call, the key of a later request): the whole-cassette pass still
    scrubs it from the earlier steps, whose answers were redacted (and their texts noted
    as clean) before it was known."""
    later_key = "plain-Late-Credential-81"
    cookie = "Late-Cookie-Value-7Qz9"
    script = [
        reply(f"the new key is {later_key} and the cookie {cookie}"),
        reply("ok", headers={"set-cookie": f"session={cookie}; Path=/"}),
        reply("done"),
    ]
    with FakeLLM(script) as llm:
        first = openai.OpenAI(base_url=llm.openai_url)
        later = openai.OpenAI(base_url=llm.openai_url, api_key=later_key)
        with replay.record(cassette, entrypoint=None) as recording:
            for client, prompt in ((first, "rotate my key"), (first, "hi"), (later, "bye")):
                client.chat.completions.create(
                    model="gpt-4o-mini", messages=[{"role": "user", "content": prompt}]
                )
            recording.set_result(None)
    text = cassette.read_text(encoding="utf-8")
    for secret in (later_key, cookie, OPENAI_KEY):
        assert secret not in text and secret[:12] not in text
    first_step = replay.load_cassette(cassette).steps[0]
    assert first_step.result["message"]["content"] == (
        f"the new key is {MARKER} and the cookie {MARKER}"
    )
    assert later_key not in first_step.http["response"]["body"]


def test_a_secret_field_quoted_elsewhere_in_the_same_request_is_scrubbed(cassette: Path) -> None:
    """A secret-named body field or query value repeated in the prompt of the same request
    is scrubbed there too (its value is learned before the args are redacted), and the
    replay, which learns it from the request the same way, still matches."""
    password = "Hunter2-Field-Secret-5150"
    token = "Query-Field-Secret-8086"

    def ask(base_url: str) -> str:
        client = openai.OpenAI(base_url=base_url, default_query={"access_token": token})
        completion = client.chat.completions.create(
            model="gpt-4o-mini",
            messages=[{"role": "user", "content": f"my password is {password}, token {token}"}],
            extra_body={"user_password": password},
        )
        return completion.choices[0].message.content or ""

    with FakeLLM([reply("Noted.")]) as llm, replay.record(cassette, entrypoint=None) as recording:
        recording.set_result(ask(llm.openai_url))
    text = cassette.read_text(encoding="utf-8")
    assert password not in text and token not in text
    step = replay.load_cassette(cassette).steps[0]
    assert step.args["messages"][0]["content"] == f"my password is {MARKER}, token {MARKER}"

    with replay.replaying(cassette) as replaying:
        replaying.set_result(ask("http://127.0.0.1:9/v1"))
    assert replaying.result is not None and replaying.result.identical
