"""Comparing step histories."""

from __future__ import annotations

from replay.canonical import stable_hash
from replay.cassette import ErrorInfo, Outcome, Step
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
