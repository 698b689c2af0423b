"""Which recorded answer serves which call during replay.

The default key is kind + name + args hash, served in occurrence order per key: the
third identical ``search_docs("x")`` gets the third recorded answer, which also makes
concurrent calls (``asyncio.gather``) replay correctly. Per boundary a ``MatchPolicy``
may ignore argument keys, match on the name only, or on position only (the n-th call
of a kind gets the n-th recorded step of that kind). Lookups are dictionary hits, not
scans, so the cost per call does not grow with the cassette.
"""

from __future__ import annotations

import difflib
import enum
import threading
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from replay.canonical import args_hash, canonical_json, plain_bytes, stable_hash
from replay.cassette import Step, args_checked


class MatchOn(enum.Enum):
    """What a replayed call must share with a recorded step to be served by it."""

    ARGS = "args"
    NAME = "name"
    POSITION = "position"


@dataclass(frozen=True, slots=True)
class MatchPolicy:
    """How calls of one boundary are matched; ``ignore`` names top-level arg keys to skip."""

    on: MatchOn = MatchOn.ARGS
    ignore: frozenset[str] = frozenset()

    @classmethod
    def of(cls, match: str | MatchOn | None = None, ignore: Iterable[str] = ()) -> MatchPolicy:
        on = MatchOn(match) if match is not None else MatchOn.ARGS
        skip = frozenset(ignore)
        if on is MatchOn.ARGS and not skip:
            return DEFAULT_POLICY
        return cls(on=on, ignore=skip)

    def compared_args(self, args: Any) -> Any:
        """A call's args without the keys ``ignore`` leaves out of matching."""
        if self.ignore and isinstance(args, Mapping):
            return {k: v for k, v in args.items() if k not in self.ignore}
        return args


DEFAULT_POLICY = MatchPolicy()

Policies = Mapping[tuple[str, str], MatchPolicy]


def comparable_steps(steps: Sequence[Step], policies: Policies | None) -> Sequence[Step]:
    """The steps as the diff and the verdict compare them: argument keys a boundary's
    ``ignore=`` leaves out of matching are left out of the comparison too, so an ignored
    request id cannot make a faithful replay differ. ``policies`` maps (kind, name) to the
    policy seen for that boundary. (``match="name"``/``"position"`` still show changed
    args in the diff on purpose: they serve calls whose args changed deliberately.)"""
    if not policies:
        return steps
    out: list[Step] = []
    for step in steps:
        policy = policies.get((step.kind, step.name))
        if policy is None or not policy.ignore:
            out.append(step)
            continue
        args = policy.compared_args(step.args)
        out.append(replace(step, args=args, args_hash=stable_hash(args)))
    return tuple(out)


class _Tables:
    """What a cassette's steps are looked up by: step indices per key, per kind and name,
    per kind. Only read once built, so every replay of the same steps shares them."""

    __slots__ = ("args_bytes", "by_key", "by_kind", "by_name", "span_ids")

    def __init__(self, steps: Sequence[Step]) -> None:
        by_key: dict[tuple[str, str, str], list[int]] = {}
        by_name: dict[tuple[str, str], list[int]] = {}
        by_kind: dict[str, list[int]] = {}
        for step in steps:
            by_key.setdefault(step.key, []).append(step.index)
            by_name.setdefault((step.kind, step.name), []).append(step.index)
            by_kind.setdefault(step.kind, []).append(step.index)
        self.by_key = {key: tuple(indices) for key, indices in by_key.items()}
        self.by_name = {key: tuple(indices) for key, indices in by_name.items()}
        self.by_kind = {key: tuple(indices) for key, indices in by_kind.items()}
        self.span_ids: dict[str, tuple[str, ...]] = {}
        """Per trace id, the span ids of steps 0..n-1 (``boundary._span_ids``)."""
        self.args_bytes: list[bytes | None] = [None] * len(steps)
        """Each step's ``plain_bytes(args)`` once a replay compared them (``b""``: none)."""


# The tables of step tuples replayed lately, by identity (the tuple is held, so its id is
# not reused). Steps are frozen and keys are their stored hashes: tables never go stale.
_TABLES_LIMIT = 64
_tables: dict[int, tuple[Sequence[Step], _Tables]] = {}
_tables_lock = threading.Lock()


def tables_of(steps: Sequence[Step]) -> _Tables:
    """The lookup tables of ``steps``, built once per tuple of steps (lists: every time)."""
    if not isinstance(steps, tuple):
        return _Tables(steps)
    held = _tables.get(id(steps))
    if held is not None and held[0] is steps:
        return held[1]
    tables = _Tables(steps)
    with _tables_lock:
        _tables.pop(id(steps), None)
        _tables[id(steps)] = (steps, tables)
        while len(_tables) > _TABLES_LIMIT:
            _tables.pop(next(iter(_tables)), None)
    return tables


class RecordedIndex:
    """The recorded steps of one cassette, indexed for serving replayed calls once each.

    The tables are shared by every replay of the same steps (``tables_of``); what one
    replay consumed is its own: ``_consumed`` and a cursor per queue of indices.
    """

    def __init__(self, steps: Sequence[Step]) -> None:
        self._steps = steps
        self._consumed = bytearray(len(steps))
        self.tables = tables = tables_of(steps)
        self._by_key = tables.by_key
        self._by_name = tables.by_name
        self._by_kind = tables.by_kind
        self._cursors: dict[Any, int] = {}
        self._derived: dict[tuple[str, str, frozenset[str]], dict[str, deque[int]]] = {}
        self._position: dict[str, int] = {}
        self._args_checked = args_checked(steps)
        self._next_by_name: dict[tuple[str, str], int] = {}
        self._args_bytes = tables.args_bytes

    def same_args_step(self, kind: str, name: str, args: Any) -> Step | None:
        """The next unserved recorded step of this kind and name if ``args`` (as passed,
        plain or not) are the very same data as its args; None when unsure.

        In a faithful replay each call repeats the next recorded one, and then its plain
        form and hash are that step's: converting and hashing the arguments (most of the
        cost of a replayed call) can be skipped. Only for cassettes whose args were checked
        to be plain with matching hashes when read (``cassette.args_checked``).
        """
        if not self._args_checked:
            return None
        key = (kind, name)
        order = self._by_name.get(key)
        if not order:
            return None
        consumed = self._consumed
        cursor = self._next_by_name.get(key, 0)
        end = len(order)
        while cursor < end and consumed[order[cursor]]:
            cursor += 1
        self._next_by_name[key] = cursor
        if cursor == end:
            return None
        position = order[cursor]
        step = self._steps[position]
        recorded = self._args_bytes[position]
        if recorded is None:
            recorded = self._args_bytes[position] = plain_bytes(step.args)
        if not recorded:
            return None
        # The step's own args (a request described before, ``exchange._described``) are
        # its data without serialising them again.
        return step if args is step.args or plain_bytes(args) == recorded else None

    def holds(self, key: tuple[str, str, str]) -> bool:
        """Whether some recorded step has this kind, name and args hash."""
        return key in self._by_key

    def take(
        self, kind: str, name: str, args: Any, hash_: str, policy: MatchPolicy = DEFAULT_POLICY
    ) -> Step | None:
        """The recorded step that answers this call, marked as served; None if there is none."""
        if policy.on is MatchOn.POSITION:
            return self._take_position(kind)
        if policy.on is MatchOn.NAME:
            return self._next_unconsumed(self._by_name, (kind, name))
        if policy.ignore:
            return self._pop_unconsumed(self._derived_queue(kind, name, policy.ignore, args))
        return self._next_unconsumed(self._by_key, (kind, name, hash_))

    def _take_position(self, kind: str) -> Step | None:
        ordinal = self._position.get(kind, 0)
        self._position[kind] = ordinal + 1
        indices = self._by_kind.get(kind, ())
        if ordinal < len(indices) and not self._consumed[indices[ordinal]]:
            self._consumed[indices[ordinal]] = 1
            return self._steps[indices[ordinal]]
        return None

    def _derived_queue(
        self, kind: str, name: str, ignore: frozenset[str], args: Any
    ) -> deque[int] | None:
        table = self._derived.get((kind, name, ignore))
        if table is None:
            table = {}
            for index in self._by_name.get((kind, name), ()):
                key = args_hash(self._steps[index].args, ignore=ignore)
                table.setdefault(key, deque()).append(index)
            self._derived[(kind, name, ignore)] = table
        return table.get(args_hash(args, ignore=ignore))

    def _pop_unconsumed(self, queue: deque[int] | None) -> Step | None:
        while queue:
            index = queue.popleft()
            if not self._consumed[index]:
                self._consumed[index] = 1
                return self._steps[index]
        return None

    def _next_unconsumed(self, table: Mapping[Any, tuple[int, ...]], key: Any) -> Step | None:
        """The first step of ``table[key]`` not served yet, marked as served (a queue
        popped from the front: this replay's cursor moves past what it skipped). Keys of
        the two tables never collide: (kind, name, hash) and (kind, name)."""
        indices = table.get(key)
        if indices is None:
            return None
        consumed = self._consumed
        cursor = self._cursors.get(key, 0)
        end = len(indices)
        while cursor < end:
            index = indices[cursor]
            cursor += 1
            if not consumed[index]:
                consumed[index] = 1
                self._cursors[key] = cursor
                return self._steps[index]
        self._cursors[key] = cursor
        return None

    def unserved(self) -> list[Step]:
        """Recorded steps no replayed call asked for (in recorded order)."""
        if 0 not in self._consumed:
            return []  # every step served (asked at the end of every replay)
        return [step for step in self._steps if not self._consumed[step.index]]

    def answer_nearest(self, kind: str, name: str, args: Any) -> Step | None:
        """On-miss ``nearest``: the recorded call of this kind and name most like this one.

        Unserved steps first (then taken, as a served step is), so successive changed
        calls take successive recorded answers; when every one was served, the most
        similar of all answers again. Similarity is ``quick_ratio`` over the canonical
        args, refined by ``ratio`` on the three best; ties go to the earliest step.
        None when no call of that kind and name was recorded.
        """
        indices = self._by_name.get((kind, name), ())
        if not indices:
            return None
        fresh = [i for i in indices if not self._consumed[i]]
        candidates = fresh or list(indices)
        wanted = canonical_json(args)
        scored = []
        for index in candidates[:50]:
            matcher = difflib.SequenceMatcher(
                None, wanted, canonical_json(self._steps[index].args), autojunk=False
            )
            scored.append((matcher.quick_ratio(), index, matcher))
        scored.sort(key=lambda item: (-item[0], item[1]))
        best = max(scored[:3], key=lambda item: (item[2].ratio(), -item[1]))[1]
        if fresh:
            self._consumed[best] = 1
        return self._steps[best]

    def answer_last(self, kind: str, name: str, *, failed: bool = False) -> Step | None:
        """On-miss ``repeat`` (the last recorded step of this kind and name) or ``error``
        (``failed``: the last one that recorded an error); None when there is none."""
        for index in reversed(self._by_name.get((kind, name), ())):
            step = self._steps[index]
            if not failed or step.error is not None:
                return step
        return None

    def nearest(self, kind: str, name: str, args: Any) -> Step | None:
        """The recorded step most like this call: same kind and name, closest args.

        Prefers steps not yet served; looks at a bounded number of candidates, as this
        runs only when a divergence is being reported.
        """
        candidates = [i for i in self._by_name.get((kind, name), ()) if not self._consumed[i]]
        if not candidates:
            candidates = list(self._by_name.get((kind, name), ()))
        if not candidates:
            candidates = [i for i in self._by_kind.get(kind, ()) if not self._consumed[i]]
        if not candidates:
            return None
        wanted = canonical_json(args)
        best, best_ratio = candidates[0], -1.0
        for index in candidates[:50]:
            ratio = difflib.SequenceMatcher(
                None, wanted, canonical_json(self._steps[index].args), autojunk=False
            ).quick_ratio()
            if ratio > best_ratio:
                best, best_ratio = index, ratio
        return self._steps[best]
