"""Argument canonicalisation as docs/cassette-format.md promises it: plain data in the
cassette, named by parameter, and a hash that only depends on that data."""

from __future__ import annotations

import datetime as dt
import enum
import hashlib
import inspect
import uuid
from collections import OrderedDict
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pydantic
import pytest

import replay
from replay.canonical import (
    args_hash,
    argument_binder,
    bind_arguments,
    callable_name,
    canonical_json,
    error_class_name,
    is_plain,
    same_plain,
    short_class_name,
    stable_hash,
    to_plain,
)


class Color(enum.Enum):
    RED = "red"
    BLUE = 2


class Level(enum.IntEnum):
    HIGH = 3


class Region(enum.StrEnum):
    EU = "eu"


class OrderId(str):
    """A library's own string type."""


class Money(float):
    pass


class Count(int):
    pass


@dataclass
class Point:
    x: int
    y: float = 0.5
    tags: tuple[str, ...] = ("a",)


@dataclass
class Shape:
    name: str
    corners: list[Point] = field(default_factory=list)


class Order(pydantic.BaseModel):
    order_id: str
    placed: dt.date
    total: Decimal
    color: Color = Color.RED


class LegacyModel:
    """An object with a pydantic-v1-style ``model_dump`` that takes no ``mode``."""

    def model_dump(self) -> dict[str, Any]:
        return {"b": (1, 2), "a": b"\x00"}


class Opaque:
    def __repr__(self) -> str:
        return "<Opaque 7>"


@pytest.mark.parametrize(
    ("value", "plain"),
    [
        ("text", "text"),
        (7, 7),
        (True, True),
        (None, None),
        (1.5, 1.5),
        (float("nan"), "nan"),
        (float("inf"), "inf"),
        (float("-inf"), "-inf"),
        ({1: "a", None: [1.5, float("nan")]}, {"1": "a", "None": [1.5, "nan"]}),
        ((1, (2, 3)), [1, [2, 3]]),
        ({3, 1, 2}, [1, 2, 3]),
        (frozenset({"b", "a"}), ["a", "b"]),
        # mixed types sort by their canonical JSON: '"a"' before '1' ('"' < '1')
        ({1, "a"}, ["a", 1]),
        (Color.RED, "red"),
        (Color.BLUE, 2),
        (Level.HIGH, 3),
        (Region.EU, "eu"),
        (OrderId("A-1"), "A-1"),
        (Money(2.5), 2.5),
        (Money("inf"), "inf"),
        (Count(4), 4),
        (OrderedDict([("b", (1,)), ("a", None)]), {"b": [1], "a": None}),
        (MappingProxyType({2: {3}}), {"2": [3]}),
        ({Region.EU: Level.HIGH}, {"eu": 3}),
        (dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC), "2026-01-02T03:04:05+00:00"),
        (dt.date(2026, 1, 2), "2026-01-02"),
        (dt.time(9, 30), "09:30:00"),
        (uuid.UUID(int=1), "00000000-0000-0000-0000-000000000001"),
        (b"hi\x00", {"__bytes__": "aGkA"}),
        (bytearray(b"\xff"), {"__bytes__": "/w=="}),
        (Point(1), {"x": 1, "y": 0.5, "tags": ["a"]}),
        (
            Shape("tri", [Point(0, 1.0), Point(2, float("nan"))]),
            {
                "name": "tri",
                "corners": [{"x": 0, "y": 1.0, "tags": ["a"]}, {"x": 2, "y": "nan", "tags": ["a"]}],
            },
        ),
        (
            Order(order_id="A-1", placed=dt.date(2026, 3, 4), total=Decimal("9.90")),
            {"order_id": "A-1", "placed": "2026-03-04", "total": "9.90", "color": "red"},
        ),
        (LegacyModel(), {"b": [1, 2], "a": {"__bytes__": "AA=="}}),
        (Opaque(), "<Opaque 7>"),
        (Point, repr(Point)),  # a dataclass type is an object, not an instance
        (Decimal("1.10"), "Decimal('1.10')"),
    ],
    ids=lambda value: type(value).__name__,
)
def test_to_plain(value: Any, plain: Any) -> None:
    assert to_plain(value) == plain
    # exactly the plain types, down to the leaves (an IntEnum equals 3 but is not plain)
    assert same_plain(to_plain(value), plain)
    assert to_plain(plain) == plain  # plain data is a fixed point


def test_plain_values_keep_their_leaf_types() -> None:
    """1, 1.0 and True are different arguments: their canonical JSON and hash differ."""
    assert [canonical_json(v) for v in (1, 1.0, True)] == ["1", "1.0", "true"]
    assert len({stable_hash({"n": v}) for v in (1, 1.0, True)}) == 3
    assert same_plain({"n": 1}, {"n": 1}) and not same_plain({"n": 1}, {"n": 1.0})
    assert not same_plain({"n": 1}, {"n": True})
    assert not same_plain({"a": 1, "b": 2}, {"b": 2, "a": 1})  # unsure: key order differs
    assert not same_plain([Opaque()], [Opaque()])  # marshal does not take it


class Label(str):
    pass


@pytest.mark.parametrize(
    "value",
    [
        None,
        "text",
        7,
        True,
        1.5,
        float("nan"),
        float("inf"),
        {"a": [1, 2.0, {"b": None, "c": [True, "x"]}]},
        {"a": [1, {"b": float("-inf")}]},
        {1: "int key"},
        {"a": (1, 2)},
        {"a": {"b": Label("sub")}},
        {Label("k"): 1},
        [Color.RED],
        {"a": Decimal("1.1")},
        [b"bytes"],
        {"a": [[[[[]]]]], "b": {}},
    ],
)
def test_is_plain_is_same_plain_of_to_plain(value: Any) -> None:
    """``is_plain`` (the recorder's cheap check) answers as comparing the copy would."""
    assert is_plain(value) == same_plain(to_plain(value), value)


def test_canonical_json_sorts_keys_and_drops_spaces() -> None:
    value = {"b": [1, {"d": None, "c": "é"}], "a": 1.5}
    text = '{"a":1.5,"b":[1,{"c":"é","d":null}]}'
    assert canonical_json(value) == text
    assert canonical_json("é") == '"é"' and canonical_json(None) == "null"


def test_canonical_json_names_a_circular_value() -> None:
    loop: list[Any] = []
    loop.append(loop)
    with pytest.raises(ValueError, match="Circular reference detected"):
        canonical_json(loop)


def test_stable_hash_is_the_sha256_of_the_canonical_json() -> None:
    # sha256("{}") = 44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a
    assert stable_hash({}) == "44136fa355b3678a"
    expected = hashlib.sha256(b'{"a":[1,2],"b":"x"}').hexdigest()[:16]
    assert stable_hash({"b": "x", "a": [1, 2]}) == expected
    assert stable_hash(to_plain({"a": (1, 2), "b": "x"})) == expected


def test_args_hash_leaves_out_ignored_top_level_keys() -> None:
    args = {"query": "refunds", "request_id": "r-1", "meta": {"request_id": "inner"}}
    without = {"query": "refunds", "meta": {"request_id": "inner"}}
    assert args_hash(args, ignore=("request_id",)) == stable_hash(without)
    assert args_hash(args) == stable_hash(args) != stable_hash(without)
    assert args_hash(["request_id"], ignore=("request_id",)) == stable_hash(["request_id"])


class Library:
    def search(self, query: str, limit: int = 5, *tags: str, exact: bool = False, **extra: Any):
        return query

    @classmethod
    def build(cls, name: str) -> str:
        return name


def lookup(order_id: str, *, fields: tuple[str, ...] = ("status",)) -> str:
    return order_id


def positional_only(a: int, /, b: int = 2) -> int:
    return a + b


def spread(*args: Any, **kwargs: Any) -> None:
    return None


BINDINGS = [
    # (function, args, kwargs, expected plain arguments)
    (lookup, ("A-1",), {}, {"order_id": "A-1", "fields": ["status"]}),
    (
        lookup,
        (),
        {"order_id": "A-1", "fields": {"total"}},
        {"order_id": "A-1", "fields": ["total"]},
    ),
    (
        Library.search,
        (Library(), "refunds", 3, "billing", "eu"),
        {"exact": True, "lang": "de"},
        {"query": "refunds", "limit": 3, "tags": ["billing", "eu"], "exact": True, "lang": "de"},
    ),
    (
        Library.search,
        (Library(), "refunds"),
        {},
        {"query": "refunds", "limit": 5, "tags": [], "exact": False},
    ),
    (Library.build.__func__, (Library, "x"), {}, {"name": "x"}),
    (positional_only, (1,), {}, {"a": 1, "b": 2}),
    (spread, (1, b"\x01"), {"k": Color.RED}, {"args": [1, {"__bytes__": "AQ=="}], "k": "red"}),
    # calls that do not bind keep what was passed, in the documented fallback shape
    (lookup, ("A-1", "extra"), {}, {"args": ["A-1", "extra"], "kwargs": {}}),
    (lookup, (), {"fields": ()}, {"args": [], "kwargs": {"fields": []}}),
    (lookup, ("A-1",), {"order_id": "A-2"}, {"args": ["A-1"], "kwargs": {"order_id": "A-2"}}),
    (lookup, (), {"order": "A-1"}, {"args": [], "kwargs": {"order": "A-1"}}),
]


@pytest.mark.parametrize(("fn", "args", "kwargs", "expected"), BINDINGS)
def test_arguments_are_named_by_parameter(fn, args, kwargs, expected) -> None:
    signature = inspect.signature(fn)
    assert bind_arguments(signature, args, kwargs) == expected
    assert argument_binder(signature)(args, kwargs) == expected


def test_the_fast_binder_can_leave_values_as_passed() -> None:
    point = Point(1)
    bind = argument_binder(inspect.signature(lookup), plain=False)
    assert bind((point,), {}) == {"order_id": point, "fields": ("status",)}
    assert bind((point,), {})["order_id"] is point
    # a call the fast path cannot take still comes back plain
    assert bind((point, 1, 2), {}) == {
        "args": [{"x": 1, "y": 0.5, "tags": ["a"]}, 1, 2],
        "kwargs": {},
    }


def test_a_method_records_the_same_step_whatever_the_object(tmp_path: Path) -> None:
    """``self`` is left out: two objects make the same call, and the step's args are the
    named, defaulted, plain arguments the docs describe."""

    class Catalog:
        def __init__(self, shelf: str) -> None:
            self.shelf = shelf

        @replay.tool
        def find(self, title: str, *authors: str, year: int | None = None, **filters: Any):
            return {"shelf": self.shelf, "title": title}

    cassette = tmp_path / "methods.yaml"
    with replay.record(cassette):
        Catalog("a").find("Dune", "Herbert", year=1965, lang=Color.BLUE, when=dt.date(2026, 1, 2))
        Catalog("b").find("Dune", "Herbert", year=1965, lang=Color.BLUE, when=dt.date(2026, 1, 2))
        Catalog("c").find("Emma")
    steps = replay.load_cassette(cassette, cache=False).steps

    named = {"title": "Dune", "authors": ["Herbert"], "year": 1965, "lang": 2, "when": "2026-01-02"}
    assert [s.args for s in steps] == [
        named,
        named,
        {"title": "Emma", "authors": [], "year": None},
    ]
    assert steps[0].args_hash == steps[1].args_hash == stable_hash(named)
    assert steps[0].name == "find"
    assert [s.result["shelf"] for s in steps] == ["a", "b", "c"]


def test_arguments_of_library_scalar_types_are_recorded(tmp_path: Path) -> None:
    @replay.tool
    def ship(order: str, level: int, region: str, price: float) -> str:
        return f"{order}/{region}"

    cassette = tmp_path / "scalars.yaml"
    with replay.record(cassette):
        assert ship(OrderId("A-1"), Level.HIGH, Region.EU, Money(9.5)) == "A-1/eu"
    (step,) = replay.load_cassette(cassette, cache=False).steps
    assert step.args == {"order": "A-1", "level": 3, "region": "eu", "price": 9.5}
    assert [type(v) for v in step.args.values()] == [str, int, str, float]
    assert "!!python" not in cassette.read_text(encoding="utf-8")


def test_error_and_callable_names() -> None:
    class LocalError(Exception):
        pass

    assert error_class_name(TimeoutError("x")) == "builtins.TimeoutError"
    assert error_class_name(LocalError) == (
        f"{__name__}.test_error_and_callable_names.<locals>.LocalError"
    )
    assert short_class_name("builtins.TimeoutError") == "TimeoutError"
    assert short_class_name("httpx.ReadTimeout") == "httpx.ReadTimeout"
    assert short_class_name(None) is None
    assert callable_name(lookup) == "lookup"
    assert callable_name(Opaque()) == "<Opaque 7>"
