"""Which recorded answer serves which call."""

from __future__ import annotations

from replay.canonical import stable_hash
from replay.cassette import Step
from replay.matching import MatchOn, MatchPolicy, RecordedIndex


def step(index: int, name: str, args: dict, result: object = None, kind: str = "tool") -> Step:
    return Step(index, kind, name, args, stable_hash(args), result=result)


STEPS = (
    step(0, "search", {"q": "x"}, "first x"),
    step(1, "search", {"q": "y"}, "y"),
    step(2, "search", {"q": "x"}, "second x"),
    step(3, "order", {"id": 1, "request_id": "r-1"}, "order 1"),
    step(4, "gen", {"prompt": "a"}, "A", kind="llm"),
    step(5, "gen", {"prompt": "b"}, "B", kind="llm"),
)


DEFAULT = MatchPolicy()


def take(index: RecordedIndex, name: str, args: dict, policy: MatchPolicy = DEFAULT, kind="tool"):
    found = index.take(kind, name, args, stable_hash(args), policy)
    return found.result if found else None


def test_identical_calls_are_served_in_recorded_order_once_each():
    index = RecordedIndex(STEPS)
    assert take(index, "search", {"q": "x"}) == "first x"
    assert take(index, "search", {"q": "x"}) == "second x"
    assert take(index, "search", {"q": "x"}) is None
    assert take(index, "search", {"q": "y"}) == "y"


def test_ignored_arg_keys_do_not_take_part_in_matching():
    index = RecordedIndex(STEPS)
    policy = MatchPolicy.of("args", ignore=["request_id"])
    assert take(index, "order", {"id": 1, "request_id": "r-other"}) is None
    assert take(index, "order", {"id": 1, "request_id": "r-other"}, policy) == "order 1"
    assert take(index, "order", {"id": 1, "request_id": "r-1"}, policy) is None


def test_name_only_serves_the_next_call_of_that_name():
    index = RecordedIndex(STEPS)
    policy = MatchPolicy(on=MatchOn.NAME)
    assert take(index, "search", {"q": "zzz"}, policy) == "first x"
    assert take(index, "search", {"q": "y"}) == "y"
    assert take(index, "search", {"q": "zzz"}, policy) == "second x"
    assert take(index, "search", {"q": "zzz"}, policy) is None


def test_position_serves_the_nth_call_of_a_kind():
    index = RecordedIndex(STEPS)
    policy = MatchPolicy(on=MatchOn.POSITION)
    assert take(index, "gen", {"prompt": "changed"}, policy, kind="llm") == "A"
    assert take(index, "other-model", {}, policy, kind="llm") == "B"
    assert take(index, "gen", {}, policy, kind="llm") is None


def test_unserved_and_nearest():
    index = RecordedIndex(STEPS)
    take(index, "search", {"q": "x"})
    assert [s.index for s in index.unserved()] == [1, 2, 3, 4, 5]
    assert index.nearest("tool", "search", {"q": "x!"}).index == 2
    assert index.nearest("tool", "search", {"q": "yy"}).index == 1
    assert index.nearest("tool", "unknown", {}).kind == "tool"
    assert index.nearest("clock", "now", {}) is None
