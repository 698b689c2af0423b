"""replay.yaml_writer writes exactly what PyYAML's C dumper writes, or declines."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from replay import storage, yaml_writer

pytestmark = pytest.mark.skipif(
    not storage.FAST_WRITER, reason="the direct writer needs PyYAML's C dumper"
)


def pyyaml(data: Any) -> str:
    return storage.pyyaml_text(data)


def same_or_declined(data: dict[str, Any]) -> str | None:
    fast = yaml_writer.dump(data, storage._CassetteDumper)
    if fast is not None:
        assert fast == pyyaml(data)
    return fast


# Characters that change libyaml's choices: indicators, quotes, spaces and breaks,
# characters it resolves (digits, y/n/t/f/~), non-ASCII, and ones it double-quotes.
_CHARS = " \n'\":#-?.,[]{}&*!|>%@`~0123456789ynNtTfFoOabcxyzé中\u00a0"
_DOUBLE_QUOTED = "\t\r\x85\u2028😀\ufeff\x07"
_WORDS = st.sampled_from(
    [
        "",
        " ",
        "  ",
        "a",
        "yes",
        "null",
        "~",
        "-",
        "- x",
        "? ",
        ": ",
        "#",
        " #x",
        "a: b",
        "x:",
        "---",
        "...",
        "1",
        "0x1F",
        "1.5",
        "1e3",
        "2026-11-28",
        "abcdefghij" * 3,
        "'",
        "''",
    ]
)
_TEXT = st.one_of(
    st.text(alphabet=_CHARS, max_size=30),
    st.text(alphabet=_CHARS + _DOUBLE_QUOTED, max_size=10),
    st.lists(st.one_of(_WORDS, st.text(alphabet=_CHARS, max_size=12)), max_size=60).map(" ".join),
    st.lists(st.one_of(_WORDS, st.text(alphabet=_CHARS, max_size=12)), max_size=40).map("\n".join),
)
_SCALARS = st.one_of(
    _TEXT,
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
)
_KEYS = st.one_of(
    st.sampled_from(["index", "args", "content", "on", "", "a b", "1", "null", "- x", "a: b"]),
    st.text(alphabet=_CHARS.replace("\n", ""), max_size=20),
)
_DATA = st.recursive(
    _SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=5), st.dictionaries(_KEYS, inner, max_size=5)),
    max_leaves=40,
)


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(_KEYS, _DATA, min_size=1, max_size=6))
def test_same_text_as_pyyaml_or_declines(data: dict[str, Any]) -> None:
    same_or_declined(data)


@settings(max_examples=300, deadline=None)
@given(
    st.integers(min_value=0, max_value=40),
    st.lists(st.one_of(_WORDS, st.text(alphabet="ab' :#-", max_size=15)), min_size=1, max_size=40),
)
def test_folding_at_the_width_matches(depth: int, words: list[str]) -> None:
    """Long text folds at the same spaces whatever the column it starts at."""
    text = " ".join(words)
    data: dict[str, Any] = {"k" * depth: text, "list": [text, {"inner": text}], "n": [[text]]}
    same_or_declined(data)


def test_folding_deeper_than_the_width() -> None:
    """Past column 100 libyaml folds at every fold point; so does the direct writer."""
    text = "word " * 30 + "it's: done"
    data: dict[str, Any] = {"text": text}
    for depth in range(60):
        data = {f"level{depth}": data, "list": [[text, {"t": text}]]}
    assert same_or_declined(data) is not None


@pytest.mark.parametrize(
    "value",
    [
        "plain text",
        "it's quoted: here",
        "line one\nline two",
        "line one\nline two\n",
        " leading space\nsecond",
        "\nleading break",
        "a\n\nb",
        "x" * 300,
        ("word " * 60).strip(),
        ("'quoted' " * 40).strip(),
        "yes",
        "0123",
        "",
        "é à ü 中文 " * 20,
    ],
)
def test_cassette_values_are_written_directly(value: str) -> None:
    data = {"steps": [{"args": {"content": value, "n": 1, "f": 0.5, "none": None}}], "e": {}}
    assert same_or_declined(data) is not None


@pytest.mark.parametrize(
    "value",
    ["tab\there", "trailing \nspace", "keep\n\n", "emoji 😀", "cr\r", "bom\ufeff", "end \n x "],
)
def test_declines_what_pyyaml_double_quotes_or_keeps_open(value: str) -> None:
    assert yaml_writer.dump({"value": value}, storage._CassetteDumper) is None


@pytest.mark.parametrize("key", ["x" * 128, "x" * 129, "é" * 64, "é" * 65, "tab\t", "a\nb"])
def test_long_and_odd_keys(key: str) -> None:
    """libyaml writes a key over 128 bytes, or of two lines, as a complex key ("? ")."""
    fast = same_or_declined({key: {key: [1]}})
    assert (fast is not None) == (len(key.encode()) <= 128 and key.isprintable())


def test_declines_non_plain_data() -> None:
    assert yaml_writer.dump({1: "a"}, storage._CassetteDumper) is None
    assert yaml_writer.dump({"a": (1, 2)}, storage._CassetteDumper) is None
    assert yaml_writer.dump({"a": b"bytes"}, storage._CassetteDumper) is None
    assert yaml_writer.dump({"k\nk": 1}, storage._CassetteDumper) is None


_NUMBER_LIKE = [
    "1de4f55123fb7c1c",
    "03c6bc9cbfb7b006",
    "1234567890123456",
    "0777",
    "0x1F",
    "0b101",
    "1_000",
    "1e3",
    "12e4x",
    "1.5",
    "12:30",
    "190:20:30",
    "2026-11-28",
    "2026-11-28 10:00:00",
    "1 2",
    "7a",
    "9",
]


@pytest.mark.parametrize("value", _NUMBER_LIKE)
def test_ids_and_number_like_text(value: str) -> None:
    """Text that starts with a digit (span ids, hashes) is quoted exactly when PyYAML
    would read it back as a number or a date."""
    data = {"span_id": value, "list": [value], "n": [-12, 0, 2**70, 1.5, -0.0, 1e300, 1e-7]}
    assert same_or_declined(data) is not None


def test_numbers_take_the_fast_path_only_with_pyyaml_resolvers() -> None:
    """Numbers are written without checking each against the resolvers only when those
    are PyYAML's own; a dumper that reads more text as numbers gets the full check."""
    import re

    import yaml

    assert yaml_writer._Writer(storage._CassetteDumper.yaml_implicit_resolvers).stock_numbers

    class HexDumper(storage._CassetteDumper):  # type: ignore[misc, valid-type]
        pass

    HexDumper.add_implicit_resolver(
        "tag:yaml.org,2002:int", re.compile(r"^[0-9][0-9a-f]{15}$"), list("0123456789")
    )
    assert not yaml_writer._Writer(HexDumper.yaml_implicit_resolvers).stock_numbers
    assert storage._CassetteDumper.yaml_implicit_resolvers is not HexDumper.yaml_implicit_resolvers
    for value in _NUMBER_LIKE:
        data = {"span_id": value, "n": [1, 2.5]}
        fast = yaml_writer.dump(data, HexDumper)
        slow = yaml.dump(
            data,
            Dumper=HexDumper,
            sort_keys=False,
            allow_unicode=True,
            width=100,
            default_flow_style=False,
        )
        assert fast is None or fast == slow
    assert "'1de4f55123fb7c1c'" in (yaml_writer.dump({"id": "1de4f55123fb7c1c"}, HexDumper) or "")
