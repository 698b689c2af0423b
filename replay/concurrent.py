"""Steps that ran at the same time: their order in a history is a race, not evidence.

When a framework runs one model turn's tool calls in worker threads (langgraph's
``ToolNode``, pydantic-ai's parallel tools), each call takes its step index when it
reaches the boundary, so two runs of the same code may list the calls in either order.
Consecutive steps whose ``[started_at_ms, started_at_ms + latency_ms]`` intervals overlap
form a concurrent group. Before two histories are compared, the steps of each group are
put in the order their counterparts have in the other history; what differs inside a
group (other args, a call added or missing, another answer) is still a difference. A
replayed step carries the timing of the recorded step that answered it, so a replay's
groups are the recording's.
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Sequence

from replay.cassette import Step


def concurrent_groups(steps: Sequence[Step]) -> list[tuple[int, int]]:
    """``(start, end)`` position ranges (end exclusive) of 2+ consecutive steps that ran
    concurrently: each step's interval overlaps the span of the steps before it in the
    group. Touching intervals (one ends as the next starts) are sequential."""
    groups: list[tuple[int, int]] = []
    start = 0
    low = high = 0.0
    for position, step in enumerate(steps):
        begin = step.started_at_ms
        end = begin + max(step.latency_ms, 0.0)
        if position > start and begin < high and end > low:
            low, high = min(low, begin), max(high, end)
            continue
        if position - start > 1:
            groups.append((start, position))
        start, low, high = position, begin, end
    if len(steps) - start > 1:
        groups.append((start, len(steps)))
    return groups


def follow_order(steps: Sequence[Step], reference: Sequence[Step]) -> list[Step]:
    """``steps`` with each concurrent group reordered as its calls appear in ``reference``.

    The n-th call of a key (kind, name, args hash) in ``steps`` stands for the n-th call of
    that key in ``reference``; a group member without one stands for a call of the same
    kind and name near the group, else stays right after the member that preceded it.
    Steps outside groups keep their places.
    """
    groups = concurrent_groups(steps)
    if not groups:
        return list(steps)
    positions: dict[tuple[str, str, str], deque[int]] = defaultdict(deque)
    for position, step in enumerate(reference):
        positions[step.key].append(position)
    counterpart: list[int | None] = []
    for step in steps:
        queue = positions.get(step.key)
        counterpart.append(queue.popleft() if queue else None)
    unclaimed = sorted(p for queue in positions.values() for p in queue)
    ordered = list(steps)
    for start, end in groups:
        _pair_changed_calls(steps, reference, counterpart, unclaimed, start, end)
        keys = []
        previous = -1
        for offset, position in enumerate(range(start, end)):
            found = counterpart[position]
            if found is not None:
                previous = found
                keys.append((found, 0, offset))
            else:
                keys.append((previous, 1, offset))
        ordered[start:end] = [steps[start + key[2]] for key in sorted(keys)]
    return ordered


def _pair_changed_calls(
    steps: Sequence[Step],
    reference: Sequence[Step],
    counterpart: list[int | None],
    unclaimed: list[int],
    start: int,
    end: int,
) -> None:
    """Give a group member without an exact counterpart the unclaimed reference call of
    the same kind and name near the group's other counterparts (the same call made with
    other args or answered otherwise), so the change shows at that step."""
    found = [c for c in counterpart[start:end] if c is not None]
    if not found:
        return
    size = end - start
    low, high = min(found) - size, max(found) + size
    for position in range(start, end):
        if counterpart[position] is not None:
            continue
        step = steps[position]
        match = next(
            (
                p
                for p in unclaimed
                if low <= p <= high
                and reference[p].kind == step.kind
                and reference[p].name == step.name
            ),
            None,
        )
        if match is not None:
            counterpart[position] = match
            unclaimed.remove(match)


def align_concurrent(
    original: Sequence[Step], new: Sequence[Step]
) -> tuple[list[Step], list[Step]]:
    """Both histories with concurrent groups in a shared order, ready to compare in order.

    The new history's groups follow the original's order, then the original's groups
    follow the result (a group only one side ran concurrently is ordered by that side's
    counterpart). Histories without concurrent steps come back unchanged.
    """
    aligned_new = follow_order(new, original)
    return follow_order(original, aligned_new), aligned_new
