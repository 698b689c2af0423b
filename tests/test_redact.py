"""The redaction rules (replay/redact.py): what is removed, and what is left byte for byte."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

import replay
from replay.canonical import stable_hash
from replay.cassette import Cassette, ErrorInfo, Outcome, RunContext, Step
from replay.config import ConfigError
from replay.http.sse import redact_stream
from replay.redact import (
    MARKER,
    RedactionError,
    RedactionPolicy,
    Redactor,
    load_policy,
    redact_cassette,
)

PROSE = (
    "Set the token priority to high. Bearer tokens expire; the key is secret, so keep "
    "the secret key safe. Token ring, Basic setup, bearer bonds, password reset flow, "
    "an api key rotation guide: token limits apply (max_tokens=512). Basic 101-intro-course."
)
OPAQUE = "opaque-Tok3nValue99zz"


@pytest.fixture(autouse=True)
def _no_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    for name in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "MY_SERVICE_TOKEN"):
        monkeypatch.delenv(name, raising=False)


def redactor(**policy: object) -> Redactor:
    return Redactor(RedactionPolicy.of(**policy))  # type: ignore[arg-type]


def step(index: int, kind: str, name: str, args: object, **fields: object) -> Step:
    return Step(index, kind, name, args, stable_hash(args), **fields)  # type: ignore[arg-type]


def cassette_of(*steps: Step, input: object = None, output: object = None) -> Cassette:
    return Cassette(
        context=RunContext(run_id="run_1", trace_id="t" * 32, input=input),
        steps=steps,
        outcome=Outcome("completed", output=output),
    )


# --- prose is never touched ---------------------------------------------------------


def test_prose_with_the_words_token_key_secret_bearer_round_trips() -> None:
    assert redactor().text(PROSE) is PROSE
    data = {"messages": [{"role": "user", "content": PROSE}], "note": PROSE}
    assert redactor().data(data) is data


def test_the_http_redactor_leaves_prose_alone() -> None:
    """The capture's redactor (replay.http.redact) used to rewrite 'token priority'."""
    from replay.http.options import HttpOptions
    from replay.http.redact import Redactor as HttpRedactor

    assert HttpRedactor(HttpOptions()).text(PROSE) == PROSE
    assert HttpRedactor(HttpOptions()).text("Use token priority ordering") == (
        "Use token priority ordering"
    )


def test_logprob_entries_keep_their_tokens() -> None:
    entry = {"token": "Hello", "logprob": -0.1, "bytes": [72], "top_logprobs": []}
    assert redactor().data({"content": [entry]})["content"][0] == entry
    text = '{"token":"Hello","logprob":-0.31,"bytes":[72]}'
    assert redactor().text(text) == text


@pytest.mark.parametrize(
    "name",
    ["max_tokens", "prompt_cache_key", "next_page_token", "eos_token", "signature", "key"],
)
def test_fields_that_only_sound_secret_are_kept(name: str) -> None:
    assert redactor().data({name: "value-1"}) == {name: "value-1"}


# --- field names ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "api_key",
        "apiKey",
        "API-KEY",
        "x-api-key",
        "Authorization",
        "password",
        "db_password",
        "client_secret",
        "token",
        "access_token",
        "github_token",
        "Cookie",
        "set-cookie",
        "credentials",
    ],
)
def test_secret_named_fields_are_replaced_whatever_the_value(name: str) -> None:
    clean = redactor().data({name: "plain words", "nested": [{name: 1234}], "flag": {name: True}})
    assert clean == {name: MARKER, "nested": [{name: MARKER}], "flag": {name: True}}


def test_configured_fields_are_secret_too() -> None:
    r = redactor(fields=["customer_ssn", "x_tenant_id"])
    assert r.data({"Customer-SSN": "123-45-6789"}) == {"Customer-SSN": MARKER}
    assert r.text('{"customer_ssn": "123-45-6789"}') == f'{{"customer_ssn": "{MARKER}"}}'
    assert r.text('{"x-tenant-id": "t-42", "id": 1}') == f'{{"x-tenant-id": "{MARKER}", "id": 1}}'
    assert r.text('{"secrets": "a b"}') == f'{{"secrets": "{MARKER}"}}'


def test_secret_fields_inside_json_text_and_escaped_json() -> None:
    r = redactor()
    assert r.text('{"api_key": "correct horse", "q": "x"}') == (
        f'{{"api_key": "{MARKER}", "q": "x"}}'
    )
    escaped = '{"arguments": "{\\"password\\": \\"p w\\", \\"q\\": \\"x\\"}"}'
    assert (
        r.text(escaped)
        == f'{{"arguments": "{{\\"password\\": \\"{MARKER}\\", \\"q\\": \\"x\\"}}"}}'
    )


def test_urls_lose_userinfo_and_credential_query_values() -> None:
    r = redactor()
    assert r.text("see https://alice:hunter22@example.com/x?api_key=abc&q=1&key=zz#top") == (
        f"see https://{MARKER}@example.com/x?api_key={MARKER}&q=1&key={MARKER}#top"
    )
    assert r.text("git clone https://ghtoken123@github.com/o/r") == (
        f"git clone https://{MARKER}@github.com/o/r"
    )


def test_key_shapes_and_credentials_after_a_scheme() -> None:
    r = redactor()
    assert r.text("key sk-proj-abcdefghijklmnop0123 end") == f"key {MARKER} end"
    assert r.text("Authorization: Bearer abcdefgh12345678") == f"Authorization: Bearer {MARKER}"
    assert r.text("Basic dXNlcjpwYXNz") == f"Basic {MARKER}"
    jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N"
    assert r.text(f"jwt={jwt};") == f"jwt={MARKER};"


# --- known values --------------------------------------------------------------------


def test_values_from_auth_headers_are_scrubbed_whole_and_as_fragments() -> None:
    r = redactor()
    r.learn([("Authorization", f"Bearer {OPAQUE}"), ("Accept", "text/plain")])
    assert r.text(f"use {OPAQUE} now") == f"use {MARKER} now"
    assert r.text("tail Tok3nValue99zz here") == f"tail {MARKER} here"
    assert r.text("cut Tok3nValue9 and more") == f"cut {MARKER} and more"
    assert r.text("text/plain stays") == "text/plain stays"


def test_basic_auth_and_url_passwords_are_learned() -> None:
    r = redactor()
    r.learn([("Authorization", "Basic dXNlcjpodW50ZXIyLWxvbmdlcg==")])  # user:hunter2-longer
    r.learn_url("http://svc:pw-Userinfo-Secret-42@host/v1")
    assert r.text("the password hunter2-longer") == f"the password {MARKER}"
    assert r.text("a pw-Userinfo-Secret-42 b") == f"a {MARKER} b"
    assert r.text("part: Userinfo-Secret") == f"part: {MARKER}"


def test_environment_values_are_scrubbed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "plainEnvValue-0000-XYZW-12")
    monkeypatch.setenv("MY_SERVICE_TOKEN", "svcTokenValue-98765")
    r = redactor(env=["MY_SERVICE_TOKEN"])
    assert r.text("a plainEnvValue-0000-XYZW-12 b") == f"a {MARKER} b"
    assert r.text("only 0000-XYZW-12 left") == f"only {MARKER} left"
    assert r.text("svcTokenValue-98765") == MARKER


def test_dummy_values_are_not_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "test")
    r = redactor()
    r.learn([("Authorization", "Bearer sk-test")])
    assert r.text("a test of sk-test") == "a test of sk-test"


def test_learned_field_values_are_scrubbed_where_they_appear_unnamed() -> None:
    r = redactor()
    r.learn_fields({"password": "correct-horse-9"})
    assert r.text("my password is correct-horse-9") == f"my password is {MARKER}"


# --- patterns and placeholders -------------------------------------------------------


def test_user_patterns_apply_to_every_string() -> None:
    r = redactor(patterns=[r"acct-\d{6}", r"(?i)case-(\w+)"])
    assert r.data({"a": "acct-123456", "b": ["CASE-abc"], "c": "acct-12"}) == {
        "a": MARKER,
        "b": [MARKER],
        "c": "acct-12",
    }


def test_redaction_is_idempotent_and_placeholders_are_kept() -> None:
    r = redactor(patterns=["redacted"])
    once = r.text(f"key sk-proj-abcdefghijklmnop0123 and {MARKER}")
    assert once == f"key {MARKER} and {MARKER}"
    assert r.text(once) is once


def test_unchanged_data_is_returned_as_is() -> None:
    data = {"a": "plain", "b": [1, 2.5, {"c": None}]}
    assert redactor().data(data) is data


# --- SSE streams ---------------------------------------------------------------------


def test_a_secret_split_across_sse_events_is_removed() -> None:
    r = redactor()
    r.learn([("x-api-key", OPAQUE)])
    pieces = ["The token is ", OPAQUE[:6], OPAQUE[6:13], OPAQUE[13:], " ok"]
    events = [
        'event: content_block_delta\ndata: {"delta":{"type":"text_delta","text":%s}}'
        % ('"' + p + '"')
        for p in pieces
    ]
    clean = redact_stream(events, r)
    texts = [e.split('"text":"')[1].split('"')[0] for e in clean]
    assert "".join(texts) == f"The token is {MARKER} ok"
    assert clean[0] is events[0] and clean[-1] is events[-1], "untouched events keep bytes"
    assert all(e.startswith("event: content_block_delta\ndata: ") for e in clean)


# --- whole cassettes ----------------------------------------------------------------


def test_redact_cassette_covers_input_output_args_results_errors_and_hashes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-proj-EnvKey0123456789abcdefXYZ")
    original = cassette_of(
        step(0, "tool", "login", {"user": "ann", "password": "s3cret-pass-word"}, result="ok"),
        step(
            1,
            "tool",
            "fetch",
            {"url": "https://u:p4ssw0rd-long@h/x"},
            error=ErrorInfo("PermissionError", "key EnvKey0123456789 rejected"),
        ),
        step(2, "clock", "now", {}, result="2026-01-01T00:00:00+00:00"),
        input={"prompt": "say s3cret-pass-word", "api_key": "abc"},
        output="done with s3cret-pass-word",
    )
    clean = redact_cassette(original)
    assert clean.context.input == {"prompt": f"say {MARKER}", "api_key": MARKER}
    assert clean.outcome.output == f"done with {MARKER}"
    assert clean.steps[0].args == {"user": "ann", "password": MARKER}
    assert clean.steps[0].args_hash == stable_hash(clean.steps[0].args)
    assert clean.steps[1].args == {"url": f"https://{MARKER}@h/x"}
    assert clean.steps[1].error == ErrorInfo("PermissionError", f"key {MARKER} rejected")
    assert clean.steps[2] == original.steps[2]
    saved = replay.save_cassette(clean, Path("run.yaml"))
    assert replay.load_cassette(saved).steps[0].args_hash == clean.steps[0].args_hash


# --- configuration and the hook ----------------------------------------------------


HOOK_MODULE = """
def scrub(cassette):
    for step in cassette["steps"]:
        if isinstance(step.get("args"), dict) and "email" in step["args"]:
            step["args"]["email"] = "<email>"
    cassette["run"]["input"] = "hooked"

def replace(cassette):
    return {**cassette, "outcome": {**cassette["outcome"], "output": "replaced"}}

def broken(cassette):
    raise ValueError("no access to the vault")

def drop_steps(cassette):
    cassette["steps"] = []

def not_a_dict(cassette):
    return 42
"""


@pytest.fixture
def hook_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "hooks_for_redaction.py").write_text(HOOK_MODULE, encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "hooks_for_redaction", raising=False)
    return tmp_path


def write_config(folder: Path, body: str) -> None:
    (folder / "pyproject.toml").write_text(f"[tool.replay]\n{body}\n", encoding="utf-8")


def test_config_keys_reach_the_policy(tmp_path: Path) -> None:
    write_config(
        tmp_path,
        'redact_fields = ["customer_ssn"]\nredact_env = ["MY_SERVICE_TOKEN"]\n'
        "redact_patterns = ['acct-[0-9]{6}']\n"
        '[tool.replay.http]\nredact_patterns = ["ord-[0-9]+"]\nredact_headers = ["x-tenant"]',
    )
    policy = load_policy()
    assert "customerssn" in policy.fields
    assert policy.env == ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "MY_SERVICE_TOKEN")
    assert [p.pattern for p in policy.patterns] == ["acct-[0-9]{6}", "ord-[0-9]+"]
    assert policy.headers == frozenset({"x-tenant"})


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("redact_patterns = ['acct-(']", "redact_patterns entry 'acct-(' is not a valid regex"),
        ('redact_fields = "api_key"', "redact_fields must be a list of strings"),
        ('redact_hook = "no_colon"', "redact_hook = 'no_colon' is not 'module:function'"),
    ],
)
def test_bad_config_is_one_clear_line(tmp_path: Path, body: str, expected: str) -> None:
    write_config(tmp_path, body)
    with pytest.raises(ConfigError) as error:
        load_policy()
    assert expected in str(error.value) and "\n" not in str(error.value)
    assert "pyproject.toml: [tool.replay]" in str(error.value)


def test_the_hook_sees_the_redacted_cassette_and_its_edits_are_written(
    hook_project: Path,
) -> None:
    write_config(hook_project, 'redact_hook = "hooks_for_redaction:scrub"')
    with replay.record("run.yaml", input={"password": "pw-0123456789"}) as recording:
        lookup = replay.tool(name="lookup")(lambda email: "found")
        lookup(email="ann@example.com")
        recording.set_result("ok")
    loaded = replay.load_cassette("run.yaml")
    assert loaded.context.input == "hooked"
    assert loaded.steps[0].args == {"email": "<email>"}
    assert "ann@example.com" not in Path("run.yaml").read_text(encoding="utf-8")

    with replay.replaying("run.yaml") as replayed:
        assert lookup(email="ann@example.com") == "found"
        replayed.set_result("ok")
    assert replayed.result is not None and replayed.result.identical


def test_a_hook_may_return_a_new_cassette(hook_project: Path) -> None:
    write_config(hook_project, 'redact_hook = "hooks_for_redaction:replace"')
    with replay.record("run.yaml") as recording:
        recording.set_result("original")
    assert replay.load_cassette("run.yaml").outcome.output == "replaced"


@pytest.mark.parametrize(
    ("hook", "expected"),
    [
        ("broken", "raised ValueError: no access to the vault; fix the hook"),
        ("drop_steps", "changed the number of steps (1 -> 0)"),
        ("not_a_dict", "returned int, not the cassette dict"),
    ],
)
def test_a_failing_hook_is_one_clear_error_and_nothing_is_written(
    hook_project: Path, hook: str, expected: str
) -> None:
    write_config(hook_project, f'redact_hook = "hooks_for_redaction:{hook}"')
    with pytest.raises(RedactionError) as error, replay.record("run.yaml"):
        replay.tool(name="t")(lambda: 1)()
    message = str(error.value)
    assert expected in message and "\n" not in message
    assert f"redact_hook 'hooks_for_redaction:{hook}'" in message
    assert not Path("run.yaml").exists()


def test_a_hook_that_cannot_be_imported_is_a_config_error(hook_project: Path) -> None:
    write_config(hook_project, 'redact_hook = "hooks_for_redaction:missing"')
    with pytest.raises(ConfigError) as error, replay.record("run.yaml"):
        pass
    assert "redact_hook 'hooks_for_redaction:missing' cannot be loaded" in str(error.value)


def test_a_replay_with_another_key_still_matches_a_call_that_carried_the_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The placeholder does not depend on the secret: CI replays with its own key."""
    notify = replay.tool(name="notify")(lambda text, token: "sent")

    def agent() -> str:
        key = os.environ["MY_SERVICE_TOKEN"]
        return notify(text=f"rotated to {key} today", token=key)

    write_config(tmp_path, 'redact_env = ["MY_SERVICE_TOKEN"]')
    monkeypatch.setenv("MY_SERVICE_TOKEN", "svc-RecordTimeValue-1234")
    with replay.record("run.yaml") as recording:
        recording.set_result(agent())
    step = replay.load_cassette("run.yaml").steps[0]
    assert step.args == {"text": f"rotated to {MARKER} today", "token": MARKER}

    monkeypatch.setenv("MY_SERVICE_TOKEN", "svc-ReplayTimeValue-5678")
    result = replay.replay("run.yaml", agent=agent)
    assert result.divergence is None and result.identical


def test_text_with_letters_that_lower_to_two_characters() -> None:
    text = 'İstanbul office: {"api_key": "plain words"} token priority'
    assert redactor().text(text) == f'İstanbul office: {{"api_key": "{MARKER}"}} token priority'


_WORDS = (
    "the token priority key secret password bearer Bearer Basic basic Token auth cookie "
    "api key apikey: access-token signature sig credentials session monkey keyboard tokens "
    "max_tokens=256 api_key a=b&c=d https://example.com/docs?page=2 user@example.com "
    '{"key": 1} '
    "'token': 'x' eyJ sk- ghp hf_ AIza ASIA 2026-11-28 0123456789 abc-def-ghi Ünïcødé İ "
    "\n \t , . ; : = & ? # @ / \\ \" '"
)
VOCABULARY = _WORDS.split(" ")


def test_random_prose_round_trips_and_redaction_is_idempotent(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Thousands of sentences made of words that sound secret: none is changed; mixed
    with real secrets, a second pass changes nothing more."""
    import random

    monkeypatch.setenv("OPENAI_API_KEY", "sk-proj-RandomProseKey0a1b2c3d4e5f6g7h")
    r = redactor()
    r.learn([("Authorization", f"Bearer {OPAQUE}")])
    rng = random.Random(11)
    secrets = ("sk-proj-RandomProseKey0a1b2c3d4e5f6g7h", OPAQUE, "Tok3nValue99", "ghp_" + "a1" * 20)
    for _ in range(3000):
        words = [rng.choice(VOCABULARY) for _ in range(rng.randint(1, 14))]
        prose = " ".join(words)
        assert r.text(prose) == prose, prose
        mixed = prose + " " + rng.choice(secrets) + rng.choice(("", " ", ".", "\n")) + prose
        once = r.text(mixed)
        assert not any(secret in once for secret in secrets), once
        assert r.text(once) == once, (mixed, once)


def test_a_header_value_with_spaces_is_secret_whole_and_a_scheme_is_not() -> None:
    r = redactor()
    r.learn([("x-api-key", "two words-9Z secret"), ("Authorization", "Token tk-0123456789z")])
    r.learn_fields({"auth": {"authorization": "Bearer field-Cred-42xy"}})
    assert r.text("two words-9Z secret") == MARKER
    assert r.text("Token is tk-0123456789z") == f"Token is {MARKER}"
    assert r.text("echo field-Cred-42xy") == f"echo {MARKER}"
    assert r.text("the Token scheme") == "the Token scheme"


def test_remembered_texts_follow_what_the_redactor_learns_later() -> None:
    """Redaction results are remembered per text, and forgotten when a secret is learned:
    the same text redacted after the secret shows up in a header loses it."""
    from replay.redact import MARKER, Redactor

    redactor = Redactor()
    text = "call the billing service with pk9Qw2Zr7Lm4Xv8T please"
    assert redactor.text(text) is text  # nothing known about it yet: unchanged
    assert redactor.text(text) is text  # remembered, same answer
    redactor.learn([("x-api-key", "pk9Qw2Zr7Lm4Xv8T")])
    assert redactor.text(text) == f"call the billing service with {MARKER} please"
    events = ['data: {"delta": "pk9Qw2Zr"}', 'data: {"delta": "7Lm4Xv8T"}']
    clean = redactor.events(events)
    assert redactor.events(clean) is clean  # a stream already redacted under these rules
    assert MARKER in clean[0] and "7Lm4Xv8T" not in clean[1]


# --- many texts at once (a stream's events) -------------------------------------------

_EVENT_TEXTS = [
    'data: {"choices":[{"delta":{"content":"%s"}}]}',
    'event: content_block_delta\ndata: {"delta":{"text":"%s"}}',
    "%s",
]
_PIECES = [
    "hello there",
    "see https://bob:Hunter2Xy9@example.com/x",
    "use sk-proj-Abcdefghijklmnop0123",
    "Bearer Zz9Yy8Xx7Ww6Vv5",
    '{\\"api_key\\": \\"abc123XYZ789\\"}',
    "api_key=Qwerty12345Asdf&x=1",
    "part of pk9Qw2Zr7Lm4Xv8T here",
    "pk9Qw2Zr",
    "mail me@example.com",
    "TOKEN ring and Basic setup",
    "İstanbul KEY",
    "plain words only",
]


@pytest.mark.parametrize("seed", range(30))
def test_texts_gives_what_text_gives_one_by_one(seed: int) -> None:
    """``texts`` checks the rules' literal gates once over the joined texts; the result is
    the same as redacting each text, with secrets of every kind among ordinary ones."""
    import random

    rng = random.Random(seed)
    values = [rng.choice(_EVENT_TEXTS) % rng.choice(_PIECES) for _ in range(rng.randint(0, 40))]
    fresh = Redactor()
    fresh.learn([("x-api-key", "pk9Qw2Zr7Lm4Xv8T")])
    one_by_one = Redactor()
    one_by_one.learn([("x-api-key", "pk9Qw2Zr7Lm4Xv8T")])
    expected = [one_by_one.text(v) for v in values]
    assert fresh.texts(values) == expected
    if seed % 3 == 0:
        assert MARKER in "".join(expected) or not any(
            p in "".join(values) for p in ("sk-proj", "pk9Qw2Zr7Lm4Xv8T", "Zz9Yy8")
        )


def test_texts_follows_what_the_redactor_learns_and_its_patterns() -> None:
    values = [f'data: {{"delta":"chunk {i} of acct-123456 and Kq7Wm2Xr9Tz4"}}' for i in range(10)]
    r = Redactor()
    assert r.texts(values) == values
    r.learn([("x-api-key", "Kq7Wm2Xr9Tz4")])
    assert all(MARKER in v and "Kq7Wm2Xr9Tz4" not in v for v in r.texts(values))
    patterned = redactor(patterns=["acct-[0-9]{6}"])
    assert patterned.texts(values) == [patterned.text(v) for v in values]
    assert all("acct-123456" not in v for v in patterned.texts(values))


def test_a_stream_redacted_with_its_decoded_json_is_redacted_alike() -> None:
    """The events' JSON decoded once (for the step's result) serves the search for split
    secrets too; that search edits copies, never the shared decoded data."""
    import copy

    from replay.http.sse import decode_events

    r = redactor()
    r.learn([("x-api-key", OPAQUE)])
    pieces = ["The token is ", OPAQUE[:6], OPAQUE[6:13], OPAQUE[13:], " ok", OPAQUE]
    events = [
        'event: content_block_delta\ndata: {"delta":{"type":"text_delta","text":%s}}'
        % ('"' + p + '"')
        for p in pieces
    ]
    decoded = decode_events(events)
    before = copy.deepcopy([e.json() for e in decoded])
    parsed = {text: event.decoded for text, event in zip(events, decoded, strict=True)}
    assert redact_stream(events, r, parsed=parsed) == redact_stream(events, r)
    assert [e.json() for e in decoded] == before
    assert r.events(events, parsed=parsed) == redactor_events_plain(events)


def redactor_events_plain(events: list[str]) -> list[str]:
    r = redactor()
    r.learn([("x-api-key", OPAQUE)])
    return r.events(events)


@pytest.mark.parametrize(
    "text",
    [
        'data: {"a": 1}',
        'data:{"a":[1,"x"]}',
        "data: [DONE]",
        "data:",
        "data:  two spaces",
        "event: ping\ndata: {}",
        ": comment",
        'data: {"a"\ndata: :1}',
        "id: 3",
        "data",
        "event: x\n\ndata: 1",
        "datum: 1",
        'data: "text"',
    ],
)
def test_decoded_events_are_the_parsed_ones(text: str) -> None:
    from replay.http.sse import decode_events, parse_event

    (event,) = decode_events([text])
    parsed = parse_event(text)
    assert (event.name, event.data, event.json()) == (parsed.name, parsed.data, parsed.json())


def _leaves_reference(
    value: object, path: tuple[object, ...]
) -> list[tuple[tuple[object, ...], str]]:
    if isinstance(value, str):
        return [(path, value)]
    if isinstance(value, dict):
        pairs: list[tuple[object, object]] = list(value.items())
    elif isinstance(value, list):
        pairs = list(enumerate(value))
    else:
        return []
    return [leaf for key, child in pairs for leaf in _leaves_reference(child, (*path, key))]


def test_string_leaves_finds_every_string_with_its_path() -> None:
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from replay.http.sse import _string_leaves

    class Mapping(dict):  # type: ignore[type-arg]
        pass

    scalars = st.one_of(st.text(max_size=3), st.integers(), st.none(), st.booleans())
    data = st.recursive(
        scalars,
        lambda inner: st.one_of(
            st.lists(inner, max_size=4),
            st.dictionaries(st.text(max_size=3), inner, max_size=4),
            st.dictionaries(st.text(max_size=2), inner, max_size=3).map(Mapping),
        ),
        max_leaves=30,
    )

    @settings(max_examples=300, deadline=None)
    @given(data)
    def same(value: object) -> None:
        got = _string_leaves(value, ("p",))
        assert sorted(got, key=repr) == sorted(_leaves_reference(value, ("p",)), key=repr)

    same()


def _data_reference(r: Redactor, value: object) -> object:
    """``Redactor.data`` as it was before it copied lazily: a new dict for every dict,
    the value itself returned when nothing in it changed."""
    if type(value) is str:
        return r.text(value)
    if type(value) is dict:
        changed = False
        out: dict[object, object] = {}
        model_tokens = "logprob" in value
        for key, item in value.items():
            if (
                type(key) is str
                and item is not None
                and type(item) is not bool
                and not model_tokens
                and r.policy.is_secret_field(key)
            ):
                out[key] = MARKER
                changed = changed or item != MARKER
                continue
            clean = _data_reference(r, item)
            out[key] = clean
            changed = changed or clean is not item
        return out if changed else value
    if type(value) is list:
        items = [_data_reference(r, item) for item in value]
        return items if any(a is not b for a, b in zip(items, value, strict=True)) else value
    return value


_SECRETISH = [
    "plain words",
    MARKER,
    OPAQUE,
    "sk-proj-abcdefghijklmnop1234",
    "Bearer abcDEF1234567890xyz",
    "token abcDEF1234567890",
    "https://svc:pw-Secret-42@host/x",
    "/v1/x?api_key=abc123456789&b=2",
    "-----BEGIN RSA PRIVATE KEY-----\nMIIabc\n-----END RSA PRIVATE KEY-----",
    "known-Secret-value-0042",
    "Secret-value-00",
    '{"password": "hunter2-Horse"}',
    "\u212aey=value-Q1w2e3r4t5",  # a Kelvin sign lowers to "k"
    "caf\u00e9 \u00e9t\u00e9",
    'a "quoted" word',
    "back\\slash",
    "",
]


def test_data_copies_lazily_as_the_reference_walk_copies() -> None:
    """``data`` returns the same redacted data as the walk that copied every dict, and
    the very same object exactly when nothing in it changed."""
    from hypothesis import given, settings
    from hypothesis import strategies as st

    r = redactor(fields=["customer_ssn"])
    r.learn_values(["known-Secret-value-0042"])
    keys = st.sampled_from(
        ["content", "api_key", "token", "password", "customer_ssn", "logprob", "next_token", "n"]
    )
    scalars = st.one_of(
        st.sampled_from(_SECRETISH), st.integers(), st.floats(), st.none(), st.booleans()
    )
    data = st.recursive(
        scalars,
        lambda inner: st.one_of(
            st.lists(inner, max_size=4), st.dictionaries(keys, inner, max_size=5)
        ),
        max_leaves=25,
    )

    @settings(max_examples=400, deadline=None)
    @given(data)
    def same(value: object) -> None:
        got = r.data(value)
        expected = _data_reference(r, value)
        assert repr(got) == repr(expected)  # NaN is not equal to itself; its repr is
        assert (got is value) == (expected is value)

    same()


def test_json_text_vouches_only_for_values_that_hold_no_secret() -> None:
    """Values that ``json_text`` notes as clean are exactly those ``text`` would leave as
    they are, whatever the rest of the body holds (the shapes of every rule, quotes,
    escapes, non-ASCII text, a custom pattern anchored at the start)."""
    import json

    from hypothesis import example, given, settings
    from hypothesis import strategies as st

    from replay import redact

    # Mostly harmless pieces, so that many bodies hold no secret and values get vouched
    # for; the others are secrets, or secrets only in some context (at the start of a
    # value, next to a quote, lowered with or without non-ASCII text around).
    harmless = ["x", "7", " ", ":", "=", "ab", "plain words", "caf\u00e9", "\u0130", "Key"]
    risky = [
        *_SECRETISH,
        "sk-",
        "abcdefghijklmnopqrstu",
        "Bearer ",
        "basic ",
        "?key=",
        "?\u212aey=",
        "&token=",
        "://u:",
        "@h",
        "-----BEGIN RSA PRIVATE KEY-----",
        "-----END RSA PRIVATE KEY-----",
        "eyJabcdefghij.eyJabcdefghij.abcdefghij",
        "AKIAABCDEFGHIJKLMNOP",
        "known-Secr",
        "et-value-0042",
        '"',
        "\\",
    ]
    pieces = st.one_of(st.sampled_from(harmless), st.sampled_from(harmless), st.sampled_from(risky))
    values = st.lists(st.lists(pieces, max_size=5).map("".join), min_size=1, max_size=4)
    policies = [RedactionPolicy(), RedactionPolicy.of(patterns=[r"^ab", r"(?<=x)7"])]

    @settings(max_examples=1500, deadline=None)
    @given(values, st.sampled_from(policies), st.booleans())
    # A Kelvin sign is "k" only where the whole text lowers without growing (no "\u0130").
    @example(["?\u212aey=x", "\u0130"], policies[0], False)
    # A private key block opened before a marker and closed in the value: the text's one
    # match overlaps the marker and is dropped, the value's own is not.
    @example(
        [
            f"-----BEGIN RSA PRIVATE KEY----- {MARKER}",
            "-----BEGIN RSA PRIVATE KEY-----x-----END RSA PRIVATE KEY-----",
        ],
        policies[0],
        True,
    )
    def vouched(texts: list[str], policy: RedactionPolicy, ascii_only: bool) -> None:
        body = json.dumps(
            {"id": texts[0], "choices": [{"content": t} for t in texts[1:]], "n": 1},
            ensure_ascii=ascii_only,
            separators=(",", ":"),
        )
        with redact._shared_rules_lock:
            redact._shared_rules.clear()  # a fresh cache: nothing vouched for earlier
        r = Redactor(policy)
        r.learn_values(["known-Secret-value-0042"])
        rules = r._rules
        assert r.json_text(body, texts) == r._redacted(body, rules)
        for text in texts:
            assert r.text(text) == r._redacted(text, rules)

    vouched()
