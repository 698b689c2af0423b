"""Recording a streamed (SSE) answer on the fast paths writes what the general paths write.

The fast paths (replay/http/sse.py, replay/http/streaming.py, ``Redactor.texts``): the
literal checks that rule out a split secret over a whole stream at once, the JSON of
each event decoded by the C scanner directly, one event per read passed on without the
splitting loop. Each is checked here against the general path it shortcuts: whole
recordings byte for byte (with and without secrets, one split across two events), and
the pieces on generated inputs.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx2
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

import replay
from replay.http import exchange, sse
from replay.http.streaming import _BLANK_LINE, EventChunker
from replay.redact import MARKER, RedactionPolicy, Redactor
from replay.testing.fake_llm import FakeLLM, raw, reply, tool_call
from tests.http.conftest import ANTHROPIC_KEY, OPENAI_KEY

KEY_SHAPED = "sk-proj-Zq8Wm3Xr7Tz2Kp4Ln6Vb"
"""Not a key the run knows: found by its shape, split across two events."""
VOLATILE = re.compile(
    r"^(\s*-?\s*(?:run_id|trace_id|recorded_at|started_at_ms|latency_ms|span_id|"
    r"parent_span_id): ).*$",
    re.MULTILINE,
)


def _openai_events(pieces: list[str]) -> str:
    def chunk(delta: dict[str, Any], finish: str | None = None) -> str:
        data = {
            "id": "chatcmpl-raw-1",
            "object": "chat.completion.chunk",
            "created": 1700000000,
            "model": "gpt-4o-mini",
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        }
        return "data: " + json.dumps(data, separators=(",", ":"))

    events = [chunk({"role": "assistant", "content": ""})]
    events += [chunk({"content": piece}) for piece in pieces]
    events += [chunk({}, "stop"), "data: [DONE]"]
    return "".join(event + "\n\n" for event in events)


def _anthropic_events(pieces: list[str]) -> str:
    def event(name: str, data: dict[str, Any]) -> str:
        return f"event: {name}\ndata: " + json.dumps({"type": name, **data})

    events = [
        event(
            "message_start",
            {
                "message": {
                    "id": "msg_raw_1",
                    "type": "message",
                    "role": "assistant",
                    "model": "claude-fake-1",
                    "content": [],
                    "stop_reason": None,
                    "usage": {"input_tokens": 12, "output_tokens": 1},
                }
            },
        ),
        event("content_block_start", {"index": 0, "content_block": {"type": "text", "text": ""}}),
        event("ping", {}),
    ]
    events += [
        event("content_block_delta", {"index": 0, "delta": {"type": "text_delta", "text": p}})
        for p in pieces
    ]
    events += [
        event("content_block_stop", {"index": 0}),
        event(
            "message_delta",
            {"delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": len(pieces)}},
        ),
        event("message_stop", {}),
    ]
    return "".join(e + "\n\n" for e in events)


def _split_secret_pieces(known: str) -> list[str]:
    """A key found by its shape split across two events; the run's key in pieces too
    short for any of them to hold a fragment the rules remove."""
    return [
        "Your key is ",
        KEY_SHAPED[:11],
        KEY_SHAPED[11:],
        " and the stored one ",
        *(known[i : i + 9] for i in range(0, len(known), 9)),
        " ok.",
    ]


SCRIPTS: dict[str, Callable[[str], list[Any]]] = {
    "plain": lambda provider: [
        reply("the order was shipped on monday and should arrive within three days"),
        reply("a second answer, streamed word by word"),
    ],
    "secrets": lambda provider: [
        raw(
            200,
            (_openai_events if provider == "openai" else _anthropic_events)(
                _split_secret_pieces(OPENAI_KEY if provider == "openai" else ANTHROPIC_KEY)
            ),
            content_type="text/event-stream",
        ),
        tool_call("rotate_token", {"token": OPENAI_KEY if provider == "openai" else ANTHROPIC_KEY}),
    ],
}


def _agent(provider: str, url: str) -> Callable[[], list[str]]:
    def run() -> list[str]:
        read = []
        with httpx2.Client() as http:
            for turn in range(2):
                if provider == "openai":
                    import openai

                    client = openai.OpenAI(base_url=url, http_client=http, max_retries=0)
                    stream = client.chat.completions.create(
                        model="gpt-4o-mini",
                        messages=[{"role": "user", "content": f"turn {turn}"}],
                        stream=True,
                    )
                    read.append(repr([chunk.choices for chunk in stream]))
                else:
                    import anthropic

                    client = anthropic.Anthropic(
                        base_url=url.removesuffix("/v1"), http_client=http, max_retries=0
                    )
                    stream = client.messages.create(
                        model="claude-fake-1",
                        max_tokens=64,
                        messages=[{"role": "user", "content": f"turn {turn}"}],
                        stream=True,
                    )
                    read.append(repr(list(stream)))
        return read

    return run


def _record(path: Path, provider: str, script: str) -> tuple[str, list[str]]:
    with FakeLLM(SCRIPTS[script](provider)) as llm:
        agent = _agent(provider, llm.openai_url if provider == "openai" else llm.anthropic_url)
        with replay.record(path, entrypoint=None) as recording:
            seen = agent()
            recording.set_result(len(seen))
    text = path.read_text(encoding="utf-8")
    return VOLATILE.sub(r"\1X", re.sub(r"127\.0\.0\.1:\d+", "127.0.0.1:PORT", text)), seen


def _general_paths(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every shortcut of a stream's recording off: each event redacted one by one, every
    string of every event walked for split secrets, each reader parsing the events."""

    def undecoded(events: object) -> object:
        raise ValueError("the general path: each reader parses the events itself")

    monkeypatch.setattr(Redactor, "texts", lambda self, values: [self.text(v) for v in values])
    monkeypatch.setattr(sse, "_no_split_secret", lambda values, redactor: False)
    monkeypatch.setattr(exchange, "decode_events", undecoded)


@pytest.mark.parametrize("script", ["plain", "secrets"])
@pytest.mark.parametrize("provider", ["openai", "anthropic"])
def test_a_streamed_recording_is_byte_identical_on_the_fast_and_general_paths(
    provider: str, script: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    walked: list[object] = []
    leaves = sse._string_leaves
    monkeypatch.setattr(sse, "_string_leaves", lambda *a: walked.append(a) or leaves(*a))
    fast, seen_fast = _record(tmp_path / "fast.yaml", provider, script)
    if script == "plain":
        assert walked == [], "the literal checks ruled the split-secret walk out"
    with monkeypatch.context() as general:
        _general_paths(general)
        slow, seen_slow = _record(tmp_path / "slow.yaml", provider, script)
    assert seen_fast == seen_slow
    assert fast == slow  # byte for byte, ids and clock readings aside
    assert "events:" in fast
    known = OPENAI_KEY if provider == "openai" else ANTHROPIC_KEY
    for secret in (KEY_SHAPED, known):
        for start in range(len(secret) - 9):
            assert secret[start : start + 10] not in fast
    if script == "secrets":
        loaded = replay.load_cassette(tmp_path / "fast.yaml")
        events = loaded.steps[0].http["response"]["events"]
        assert sum(MARKER in e for e in events) == 2, "each split secret: one marker"
        assert "Your key is <redacted>" in json.dumps(loaded.steps[0].result)


# --- the pieces, on generated input -------------------------------------------------


SECRET = "pk9Qw2Zr7Lm4Xv8T"
COMMA_SECRET = "Ab,cD,eF,gH,iJ"
"""Each of its pieces the literal checks look for holds a comma."""
_WORDS = [
    "the ",
    "key",
    " to",
    "ken",
    "sk-",
    "proj-",
    "Abc",
    "Def0123456789",
    "Basic ",
    "Bearer ",
    "x",
    "://u:",
    "pw@h",
    ",",
    "\n",
    '"',
    "\\",
    "é",
    "\u212a",
    "İ",
    "Σ ",
]
_PIECES = st.lists(
    st.lists(
        st.one_of(
            st.sampled_from(_WORDS),
            st.sampled_from([SECRET[:5], SECRET[5:11], SECRET[11:], SECRET, COMMA_SECRET]),
            st.text(max_size=4),
        ),
        min_size=1,
        max_size=3,
    ).map("".join),
    max_size=12,
)


def _stream(pieces: list[str], extra: list[Any]) -> list[str]:
    events = [
        'data: {"id":"c1","choices":[{"delta":{"content":' + json.dumps(p) + "}}]}" for p in pieces
    ]
    events += ["data: " + json.dumps(value) for value in extra]
    return events


_JSON = st.recursive(
    st.one_of(
        st.none(), st.booleans(), st.integers(), st.sampled_from(_WORDS), st.text(max_size=3)
    ),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(
            st.sampled_from(["a", "b", "0", "api_key", "密码", "ken_word", "to"]), inner, max_size=3
        ),
    ),
    max_leaves=12,
)


def _redactors() -> list[Redactor]:
    plain = Redactor(RedactionPolicy.of())
    plain.learn_values([SECRET])
    fielded = Redactor(RedactionPolicy.of(fields=["ken_word", "密码"]))
    fielded.learn_values([SECRET])
    comma = Redactor(RedactionPolicy.of())
    comma.learn_values([COMMA_SECRET, SECRET])
    patterned = Redactor(RedactionPolicy.of(patterns=["Def[0-9]+"]))
    return [plain, fielded, comma, patterned]


@settings(max_examples=300, deadline=None)
@given(_PIECES, st.lists(_JSON, max_size=4), st.integers(0, 3))
def test_a_stream_is_redacted_alike_with_and_without_the_literal_checks(
    pieces: list[str], extra: list[Any], which: int
) -> None:
    redactor = _redactors()[which]
    events = _stream(pieces, extra)
    fast = sse.redact_stream(events, redactor)
    original = sse._no_split_secret
    try:
        sse._no_split_secret = lambda values, r: False  # type: ignore[assignment]
        general = sse.redact_stream(events, redactor)
    finally:
        sse._no_split_secret = original
    assert fast == general
    assert redactor.texts(events) == [redactor.text(e) for e in events]


@settings(max_examples=300, deadline=None)
@given(st.lists(_JSON, min_size=2, max_size=6))
@example([{"a": "x", "b": "y"}, {"a": "z", "c": "w"}, {"a": "q", "b": "r"}])
@example([{"a": ["x", {"b": "y"}]}, {"a": ["z", {"b": "w"}], "c": 1}, {"a": "v"}])
def test_columns_hold_the_strings_each_path_joins(values: list[Any]) -> None:
    by_path: dict[tuple[Any, ...], list[str]] = {}
    for value in values:
        for path, leaf in sse._string_leaves(value, ()):
            by_path.setdefault(path, []).append(leaf)
    expected = sorted(leaves for leaves in by_path.values() if len(leaves) > 1)
    assert sorted(list(c) for c in sse._columns(values) or ()) == expected


@settings(max_examples=500, deadline=None)
@given(
    st.lists(st.sampled_from(["ab", "abc", "x", "", "sk-", "ken", "to"]), max_size=30),
    st.integers(1, 12),
)
def test_a_cut_column_holds_every_text_as_long_as_the_checks(
    strings: list[str], width: int
) -> None:
    whole = "".join(strings)
    cut = sse._joined(strings, width)
    assert len(cut) <= len(whole)
    for size in range(1, width + 1):
        for start in range(len(whole) - size + 1):
            assert whole[start : start + size] in cut


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from([*_WORDS, SECRET, "Bearer Zz9Yy8Xx7Ww6Vv5"]), max_size=8))
@example(["see http://u:", "pw@h/x"])
def test_the_literal_checks_hit_wherever_a_rule_finds_a_secret(parts: list[str]) -> None:
    text = "".join(parts)
    for redactor in _redactors():
        if redactor.spans(text):
            assert redactor.may_hold_secret(text)
            assert redactor.may_hold_secret("prefix\n" + text + "\nsuffix")


@pytest.mark.parametrize(
    "text",
    [
        "event: ping\ndata: {}",
        "event:x\ndata:{}",
        "event:  x\ndata:  {}",
        "event: x\ndata: 1\n",
        "event: x\ndata: a:b",
        "event: x\nid: 3",
        "event: x\n: comment",
        "data: {}\nevent: x",
        "event:\ndata:",
    ],
)
def test_a_named_event_decodes_as_parse_event_reads_it(text: str) -> None:
    (event,) = sse.decode_events([text])
    parsed = sse.parse_event(text)
    assert (event.name, event.data, event.json()) == (parsed.name, parsed.data, parsed.json())


@pytest.mark.parametrize(
    "data",
    [
        '{"a": 1}',
        '{"a":1}  ',
        ' {"a":1}',
        "",
        " ",
        "[DONE]",
        "[1, 2",
        '{"a":1} x',
        "NaN",
        "\ufeff{}",
        '"\\ud800"',
        "1e999",
        '{"a":"\x01"}',
        "\t[]\n",
        "null",
        "12abc",
        '"x" "y"',
    ],
)
def test_decoding_an_event_gives_what_json_loads_gives(data: str) -> None:
    try:
        expected = json.loads(data)
    except ValueError:
        expected = None
    got = sse._loads(data)
    assert repr(got) == repr(expected)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            [
                b"data: a\n\n",
                b"data: b\r\n\r\n",
                b"\n\n",
                b"\r",
                b"\n",
                b"data: c",
                b"event: x\ndata: {}\n\n",
                b"\r\r",
                b"\n\r\n",
            ]
        ),
        max_size=10,
    )
)
def test_the_event_chunker_passes_on_what_its_general_loop_does(reads: list[bytes]) -> None:
    def general(pending: bytearray, data: bytes) -> list[bytes]:
        pending += data
        chunks: list[bytes] = []
        start = 0
        for match in _BLANK_LINE.finditer(pending):
            end = match.end()
            if end == len(pending) and pending.endswith(b"\r"):
                break
            chunk = bytes(pending[start:end])
            if chunks and not chunk.strip(b"\r\n"):
                chunks[-1] += chunk
            else:
                chunks.append(chunk)
            start = end
        del pending[:start]
        return chunks

    chunker = EventChunker()
    pending = bytearray()
    for data in reads:
        assert chunker.feed(data) == general(pending, data)
    assert chunker.flush() == bytes(pending)
