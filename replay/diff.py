"""Comparing two step histories: where they first differ, how each step differs, and why.

Steps are aligned by their call key (kind, name, args hash) with a longest-matching-block
alignment, so one inserted call shows as one added step rather than shifting every later
step. Aligned steps with equal keys compare their answers by equality (the fast path);
deepdiff (when installed) runs only on steps that differ. Timing and span ids are not compared, but
calls that ran concurrently are compared as a group whose order is not evidence
(``replay.concurrent``).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from replay.cassette import Outcome, Step
from replay.concurrent import align_concurrent

MAX_DIFF_LINES = 12


@dataclass(frozen=True, slots=True)
class StepChange:
    """One difference between the histories: a step changed, added or removed.

    ``original`` and ``new`` are step indices in each history (None where absent);
    ``differences`` are readable ``path: expected -> got`` lines; ``cause`` is a guess.
    """

    change: str
    kind: str
    name: str
    original: int | None
    new: int | None
    cause: str
    differences: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "change": self.change,
            "kind": self.kind,
            "name": self.name,
            "original": self.original,
            "new": self.new,
            "cause": self.cause,
            "differences": list(self.differences),
        }


@dataclass(frozen=True, slots=True)
class OutcomeChange:
    """How the run's ending changed (stop_reason, error class, output)."""

    before: Outcome
    after: Outcome
    fields: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "fields": list(self.fields),
            "before": self.before.to_dict(),
            "after": self.after.to_dict(),
        }


@dataclass(frozen=True, slots=True)
class HistoryDiff:
    """The comparison of an original step history with a new one."""

    first_divergence: int | None
    changes: tuple[StepChange, ...] = ()
    outcome_change: OutcomeChange | None = None
    original_steps: int = 0
    new_steps: int = 0
    equal_steps: int = field(default=0)

    @property
    def identical(self) -> bool:
        return not self.changes and self.outcome_change is None

    def to_dict(self) -> dict[str, Any]:
        return {
            "identical": self.identical,
            "first_divergence": self.first_divergence,
            "original_steps": self.original_steps,
            "new_steps": self.new_steps,
            "equal_steps": self.equal_steps,
            "changes": [c.to_dict() for c in self.changes],
            "outcome_change": self.outcome_change.to_dict() if self.outcome_change else None,
        }


def diff_histories(
    original: Sequence[Step],
    new: Sequence[Step],
    *,
    original_outcome: Outcome | None = None,
    new_outcome: Outcome | None = None,
) -> HistoryDiff:
    """Compare two step histories (and optionally their outcomes)."""
    changes: list[StepChange] = []
    equal = 0
    original_count, new_count = len(original), len(new)
    same = _same_keys(original, new)
    if not same:
        original, new = align_concurrent(original, new)
        same = _same_keys(original, new)
    if same:
        pairs: list[tuple[str, int, int, int, int]] = [("equal", 0, len(original), 0, len(new))]
    else:
        matcher = difflib.SequenceMatcher(
            None, [s.key for s in original], [s.key for s in new], autojunk=False
        )
        pairs = matcher.get_opcodes()
    for tag, i1, i2, j1, j2 in pairs:
        if tag == "equal":
            for a, b in zip(original[i1:i2], new[j1:j2], strict=True):
                if a.result == b.result and a.error == b.error:
                    equal += 1
                else:
                    changes.append(_answer_change(a, b))
            continue
        changes.extend(_replaced(original[i1:i2], new[j1:j2]))
    outcome_change = _outcome_change(original_outcome, new_outcome)
    return HistoryDiff(
        first_divergence=_first_divergence(changes, original, new),
        changes=tuple(changes),
        outcome_change=outcome_change,
        original_steps=original_count,
        new_steps=new_count,
        equal_steps=equal,
    )


def _replaced(olds: Sequence[Step], news: Sequence[Step]) -> list[StepChange]:
    """Pair the same call (kind and name) made with other args; the rest were removed or
    added. Changes come out in the order of the new history."""
    pending = list(olds)
    out: list[StepChange] = []
    for b in news:
        match = next((a for a in pending if a.kind == b.kind and a.name == b.name), None)
        if match is None:
            out.append(StepChange("added", b.kind, b.name, None, b.index, _added_cause(b)))
            continue
        position = pending.index(match)
        out.extend(
            StepChange("removed", a.kind, a.name, a.index, None, _removed_cause(a))
            for a in pending[:position]
        )
        del pending[: position + 1]
        out.append(_call_change(match, b))
    out.extend(
        StepChange("removed", a.kind, a.name, a.index, None, _removed_cause(a)) for a in pending
    )
    return out


def _same_keys(original: Sequence[Step], new: Sequence[Step]) -> bool:
    if len(original) != len(new):
        return False
    for a, b in zip(original, new, strict=True):
        if a.args_hash != b.args_hash or a.name != b.name or a.kind != b.kind:
            return False
    return True


def _first_divergence(
    changes: Sequence[StepChange], original: Sequence[Step], new: Sequence[Step]
) -> int | None:
    if not changes:
        return None
    first = changes[0]
    if first.new is not None:
        return first.new
    return first.original if first.original is not None else min(len(original), len(new))


def _answer_change(a: Step, b: Step) -> StepChange:
    lines = describe_difference(
        {"result": a.result, "error": _error(a)}, {"result": b.result, "error": _error(b)}
    )
    cause = "error changed" if (a.error is None) != (b.error is None) else "result changed"
    return StepChange("changed", b.kind, b.name, a.index, b.index, cause, tuple(lines))


def _call_change(a: Step, b: Step) -> StepChange:
    lines = describe_args_difference(a.args, b.args)
    if b.kind == "llm":
        cause = "prompt changed" if _messages_changed(a.args, b.args) else "model request changed"
    elif b.kind == "tool":
        cause = "tool args changed"
    else:
        cause = "arguments changed"
    return StepChange("changed", b.kind, b.name, a.index, b.index, cause, tuple(lines))


def _messages_changed(a: Any, b: Any) -> bool:
    if isinstance(a, dict) and isinstance(b, dict):
        return any(a.get(key) != b.get(key) for key in ("messages", "input", "system", "prompt"))
    return True


_CALLS = ("llm", "tool", "mcp")


def _added_cause(step: Step) -> str:
    return f"new {step.kind} call" if step.kind in _CALLS else f"new {step.kind} read"


def _removed_cause(step: Step) -> str:
    return (
        f"{step.kind} call no longer made"
        if step.kind in _CALLS
        else (f"{step.kind} read no longer made")
    )


def _error(step: Step) -> Any:
    return step.error.to_dict() if step.error else None


def _outcome_change(before: Outcome | None, after: Outcome | None) -> OutcomeChange | None:
    if before is None or after is None:
        return None
    fields = []
    if before.stop_reason != after.stop_reason:
        fields.append("stop_reason")
    if before.error_class != after.error_class:
        fields.append("error_class")
    if before.output != after.output:
        fields.append("output")
    return OutcomeChange(before, after, tuple(fields)) if fields else None


def describe_args_difference(expected: Any, got: Any) -> list[str]:
    """Readable lines for how a call's args differ from a recorded call's (args.* paths)."""
    return describe_difference({"args": expected}, {"args": got})


def describe_difference(expected: Any, got: Any, *, limit: int = MAX_DIFF_LINES) -> list[str]:
    """``path: expected -> got`` lines, at most ``limit`` of them.

    deepdiff (the ``[cli]`` and ``[pytest]`` extras) words them; a core install (a
    production image) walks the plain data itself: the same lines, except that a list
    with an item inserted shows the items after it as changed."""
    if expected == got:
        return []
    lines: list[str] = []
    for change, path, before, after in _changes(expected, got):
        if change == "added":
            lines.append(f"{_path_text(path)}: added {_short(after)}")
        elif change == "removed":
            lines.append(f"{_path_text(path)}: removed {_short(before)}")
        else:
            old, new = _short_pair(before, after)
            lines.append(f"{_path_text(path)}: {old} -> {new}")
    lines.sort()
    if len(lines) > limit:
        extra = len(lines) - limit
        lines = [*lines[:limit], f"... and {extra} more difference{'s' if extra > 1 else ''}"]
    return lines


Change = tuple[str, str, Any, Any]  # (added | removed | changed, deepdiff-style path, t1, t2)


def _changes(expected: Any, got: Any) -> Iterator[Change]:
    try:
        from deepdiff import DeepDiff
    except ImportError:
        yield from _plain_changes(expected, got, "root")
        return
    delta = DeepDiff(expected, got, verbose_level=2, view="tree")
    for report_type in sorted(delta):
        for level in delta[report_type]:
            if report_type.endswith("_added"):
                yield "added", level.path(), None, level.t2
            elif report_type.endswith("_removed"):
                yield "removed", level.path(), level.t1, None
            else:
                yield "changed", level.path(), level.t1, level.t2


def _plain_changes(expected: Any, got: Any, path: str) -> Iterator[Change]:
    """How two plain values differ (dicts by key, lists by position), without deepdiff."""
    if isinstance(expected, dict) and isinstance(got, dict):
        for key, value in expected.items():
            where = f"{path}[{key!r}]"
            if key not in got:
                yield "removed", where, value, None
            else:
                yield from _plain_changes(value, got[key], where)
        for key, value in got.items():
            if key not in expected:
                yield "added", f"{path}[{key!r}]", None, value
    elif isinstance(expected, list | tuple) and isinstance(got, list | tuple):
        for position, (before, after) in enumerate(zip(expected, got, strict=False)):
            yield from _plain_changes(before, after, f"{path}[{position}]")
        for position in range(len(got), len(expected)):
            yield "removed", f"{path}[{position}]", expected[position], None
        for position in range(len(expected), len(got)):
            yield "added", f"{path}[{position}]", None, got[position]
    elif type(expected) is not type(got) or expected != got:
        yield "changed", path, expected, got


def _path_text(path: str) -> str:
    """``root['args']['messages'][0]['content']`` -> ``args.messages[0].content``."""
    text = path.removeprefix("root")
    out = []
    for part in text.replace("]", "").split("["):
        if not part:
            continue
        if part[0] in "'\"":
            out.append("." + part.strip("'\""))
        else:
            out.append(f"[{part}]")
    return "".join(out).lstrip(".") or "(value)"


def _short_pair(before: Any, after: Any, width: int = 60) -> tuple[str, str]:
    """Both sides of a change, clipped around where they first differ: a long prompt
    that changed near its end must not show as two identical truncated prefixes."""
    a, b = repr(before), repr(after)
    if len(a) <= width and len(b) <= width:
        return a, b
    start = 0
    while start < min(len(a), len(b)) and a[start] == b[start]:
        start += 1
    start = max(0, start - width // 3)
    return _window(a, start, width), _window(b, start, width)


def _window(text: str, start: int, width: int) -> str:
    """``width`` characters of ``text`` from ``start``, with ``...`` where it is cut."""
    if len(text) <= width:
        return text
    head = "..." if start > 0 else ""
    end = start + width - len(head)
    if end >= len(text):
        return head + text[start:]
    return head + text[start : end - 3] + "..."


def _short(value: Any, width: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= width else text[: width - 3] + "..."
