"""Comparing step histories."""

from __future__ import annotations

import sys
from typing import Any

import pytest

from replay.canonical import stable_hash
from replay.cassette import ErrorInfo, Outcome, Step
from replay.concurrent import concurrent_groups
from replay.diff import describe_difference, diff_histories


def step(index: int, name: str, args: dict, result: object = "ok", kind: str = "tool", error=None):
    return Step(
        index,
        kind,
        name,
        args,
        stable_hash(args),
        result=result,
        error=error,
        latency_ms=float(index),
    )


BASE = [
    step(0, "gpt", {"messages": [{"role": "user", "content": "hi"}]}, kind="llm"),
    step(1, "search", {"q": "x"}),
    step(2, "gpt", {"messages": [{"role": "user", "content": "next"}]}, kind="llm"),
]


def renumber(steps):
    return [
        Step(i, s.kind, s.name, s.args, s.args_hash, s.result, s.error, latency_ms=99.0)
        for i, s in enumerate(steps)
    ]


def test_equal_histories_ignore_timing():
    diff = diff_histories(BASE, renumber(BASE))
    assert diff.identical and diff.first_divergence is None and diff.equal_steps == 3


def test_an_inserted_call_is_one_added_step():
    new = renumber([BASE[0], step(9, "search", {"q": "extra"}), *BASE[1:]])
    diff = diff_histories(BASE, new)
    assert [(c.change, c.new, c.cause) for c in diff.changes] == [("added", 1, "new tool call")]
    assert diff.first_divergence == 1


def test_a_changed_prompt_names_the_message_path():
    changed = step(2, "gpt", {"messages": [{"role": "user", "content": "NEXT"}]}, kind="llm")
    diff = diff_histories(BASE, [*BASE[:2], changed])
    (change,) = diff.changes
    assert (change.change, change.cause, change.original, change.new) == (
        "changed",
        "prompt changed",
        2,
        2,
    )
    assert change.differences == ("args.messages[0].content: 'next' -> 'NEXT'",)


def test_a_changed_answer_and_removed_steps():
    failing = step(
        1, "search", {"q": "x"}, result=None, error=ErrorInfo("builtins.TimeoutError", "t")
    )
    diff = diff_histories(BASE, [BASE[0], failing])
    causes = [(c.change, c.cause) for c in diff.changes]
    assert causes == [("changed", "error changed"), ("removed", "llm call no longer made")]
    assert diff.first_divergence == 1


def test_outcome_change():
    diff = diff_histories(
        BASE,
        BASE,
        original_outcome=Outcome("completed", "a"),
        new_outcome=Outcome("max_steps", None),
    )
    assert diff.outcome_change.fields == ("stop_reason", "output")
    assert not diff.identical and diff.first_divergence is None


def test_describe_difference_is_bounded():
    lines = describe_difference({"a": list(range(30))}, {"a": list(range(100, 130))}, limit=5)
    assert len(lines) == 6 and lines[-1] == "... and 25 more differences"


def timed(index: int, name: str, args: dict, started: float, latency: float, **kwargs):
    base = step(index, name, args, **kwargs)
    return Step(
        index,
        base.kind,
        name,
        args,
        base.args_hash,
        result=base.result,
        error=base.error,
        started_at_ms=started,
        latency_ms=latency,
    )


# One model turn asked for three tools; a thread pool ran them at once (10, 30, 20 ms).
TURN = timed(0, "gpt", {"messages": ["weather?"]}, 0.0, 5.0, kind="llm")
PARALLEL = {
    "a": timed(1, "forecast", {"city": "Oslo"}, 5.1, 10.0, result="rain"),
    "b": timed(2, "forecast", {"city": "Rome"}, 5.2, 30.0, result="sun"),
    "c": timed(3, "alerts", {"region": "EU"}, 5.3, 20.0, result="none"),
}
SUMMARY = timed(4, "gpt", {"messages": ["weather?", "rain", "sun", "none"]}, 40.0, 5.0, kind="llm")


def history(order: str, **replaced: Step) -> list[Step]:
    """The run with its parallel calls in ``order`` (e.g. "cab"), renumbered."""
    calls = [replaced.get(name, PARALLEL[name]) for name in order]
    return renumber_keep_timing([TURN, *calls, SUMMARY])


def renumber_keep_timing(steps):
    return [
        Step(
            i, s.kind, s.name, s.args, s.args_hash, s.result, s.error, s.started_at_ms, s.latency_ms
        )
        for i, s in enumerate(steps)
    ]


def test_concurrent_groups_are_overlapping_consecutive_steps():
    assert concurrent_groups(history("abc")) == [(1, 4)]
    sequential = [timed(i, "t", {"i": i}, 10.0 * i, 10.0) for i in range(3)]
    assert concurrent_groups(sequential) == []  # touching intervals ran one after another
    clock = timed(1, "now", {}, 7.0, 0.0, kind="clock")
    assert concurrent_groups([PARALLEL["a"], clock, SUMMARY]) == [(0, 2)]


def test_concurrent_calls_in_another_order_are_identical():
    original = history("abc")
    for order in ("acb", "bac", "bca", "cab", "cba"):
        diff = diff_histories(original, history(order))
        assert diff.identical, (order, diff.to_dict())
        assert diff.equal_steps == 5


def test_sequential_calls_in_another_order_still_differ():
    first = timed(1, "forecast", {"city": "Oslo"}, 10.0, 5.0)
    second = timed(2, "forecast", {"city": "Rome"}, 15.0, 5.0)
    diff = diff_histories([TURN, first, second], renumber_keep_timing([TURN, second, first]))
    assert not diff.identical
    assert diff.first_divergence == 1


def test_a_call_with_other_args_inside_the_group_is_reported_at_its_step():
    rome = timed(2, "forecast", {"city": "Roma"}, 5.2, 30.0, result="sun")
    diff = diff_histories(history("abc"), history("cba", b=rome))
    (change,) = diff.changes
    assert (change.change, change.cause, change.name) == (
        "changed",
        "tool args changed",
        "forecast",
    )
    assert (change.original, change.new) == (2, 2)  # Rome was step 2 before and after
    assert change.differences == ("args.city: 'Rome' -> 'Roma'",)


def test_another_answer_inside_the_group_is_reported_at_its_step():
    storm = timed(1, "forecast", {"city": "Oslo"}, 5.1, 10.0, result="storm")
    diff = diff_histories(history("abc"), history("bca", a=storm))
    (change,) = diff.changes
    assert (change.change, change.cause, change.original, change.new) == (
        "changed",
        "result changed",
        1,
        3,
    )
    assert diff.first_divergence == 3


def test_a_call_missing_or_added_inside_the_group_is_reported():
    missing = diff_histories(history("abc"), history("ca"))
    assert [(c.change, c.name, c.original) for c in missing.changes] == [("removed", "forecast", 2)]
    extra = timed(9, "alerts", {"region": "US"}, 5.4, 3.0)
    added = diff_histories(history("abc"), renumber_keep_timing([TURN, extra, *history("cab")[1:]]))
    assert [(c.change, c.name, c.new) for c in added.changes] == [("added", "alerts", 1)]


def test_a_group_only_the_original_ran_concurrently_follows_the_new_order():
    one = timed(1, "forecast", {"city": "Oslo"}, 10.0, 5.0)
    two = timed(2, "forecast", {"city": "Rome"}, 15.0, 5.0)
    new = renumber_keep_timing([TURN, two, one])
    assert diff_histories(
        [
            TURN,
            timed(1, "forecast", {"city": "Rome"}, 5.0, 9.0),
            timed(2, "forecast", {"city": "Oslo"}, 6.0, 9.0),
        ],
        new,
    ).identical


# Without deepdiff (a core install): the plain walk words the same differences.
PLAIN_CASES = [
    (
        {"args": {"model": "m", "messages": [{"role": "user", "content": "refund?"}]}},
        {"args": {"model": "m", "messages": [{"role": "user", "content": "refund now?"}]}},
        ["args.messages[0].content: 'refund?' -> 'refund now?'"],
    ),
    (
        {"a": 1, "b": [1, 2], "c": None},
        {"a": 1.0, "b": [1, 2, 3], "d": True},
        ["a: 1 -> 1.0", "b[2]: added 3", "c: removed None", "d: added True"],
    ),
    ({"tools": ["x", "y"]}, {"tools": ["x"]}, ["tools[1]: removed 'y'"]),
    ({"n": 1}, {"n": "1"}, ["n: 1 -> '1'"]),
]


@pytest.mark.parametrize(("expected", "got", "lines"), PLAIN_CASES)
def test_describe_difference_with_and_without_deepdiff(
    expected: Any, got: Any, lines: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert describe_difference(expected, got) == lines
    monkeypatch.setitem(sys.modules, "deepdiff", None)  # ``import deepdiff`` fails
    assert describe_difference(expected, got) == lines


def test_without_deepdiff_an_inserted_list_item_shows_as_a_shift(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "deepdiff", None)
    assert describe_difference({"m": ["a", "c"]}, {"m": ["a", "b", "c"]}) == [
        "m[1]: 'c' -> 'b'",
        "m[2]: added 'c'",
    ]
