"""Rich renderings shared by the commands: the step timeline, the step diff, spans.

Everything here builds renderables from values and prints nothing; each fits in 80
columns (tables fold long names, diff lines wrap under their indentation).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from rich import box
from rich.console import Console, Group, RenderableType
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from replay.signals import Span, bare_class_name, format_ms

if TYPE_CHECKING:
    from replay.cassette import Outcome, Step
    from replay.diff import HistoryDiff, StepChange

KIND_STYLES = {
    "llm": "magenta",
    "tool": "cyan",
    "mcp": "blue",
    "clock": "dim",
    "uuid": "dim",
    "random": "dim",
}
CHANGE_MARKS = {"changed": ("~", "yellow"), "added": ("+", "green"), "removed": ("-", "red")}
BAR_WIDTH = 12


def span_text(span: Span | None) -> Text:
    """``#3 tool lookup_order (TimeoutError, 1.20 s)``, coloured; ``-`` for none."""
    if span is None:
        return Text("-", style="dim")
    text = Text(f"#{span.index} ")
    text.append(span.kind, style=KIND_STYLES.get(span.kind, ""))
    text.append(f" {span.name} (")
    if span.error_class:
        text.append(bare_class_name(span.error_class) or "", style="red")
        text.append(", ")
    text.append(format_ms(span.latency_ms))
    if span.inferred:
        text.append(", inferred: no step failed, the run failed on this answer", style="yellow")
    text.append(")")
    return text


def outcome_text(outcome: Outcome) -> Text:
    """``completed`` in green, ``unknown`` in yellow (not reported), anything else in red
    with its error class."""
    if outcome.unknown:
        return Text(f"{outcome.stop_reason} (the run's ending was not reported)", style="yellow")
    text = Text(outcome.stop_reason, style="red" if outcome.failed else "green")
    if outcome.error_class:
        text.append(f" ({bare_class_name(outcome.error_class)})", style="red")
    return text


def _bar(latency_ms: float, longest_ms: float, *, unicode: bool) -> Text:
    full, empty = ("█", "·") if unicode else ("#", ".")
    filled = 0 if longest_ms <= 0 else round(BAR_WIDTH * latency_ms / longest_ms)
    if latency_ms > 0 and filled == 0:
        filled = 1
    return Text(full * filled, style="blue") + Text(empty * (BAR_WIDTH - filled), style="dim")


def timeline_rows(count: int, *, limit: int, keep: Iterable[int] = ()) -> list[int | None]:
    """Which step indices a timeline of ``limit`` rows shows: the start, the end, and
    the steps in ``keep`` with a neighbour each side; ``None`` marks an elided gap."""
    if count <= limit:
        return list(range(count))
    head = max(limit // 2, 1)
    tail = max(limit - head, 1)
    shown = set(range(head)) | set(range(count - tail, count))
    for index in keep:
        shown.update(i for i in (index - 1, index, index + 1) if 0 <= i < count)
    rows: list[int | None] = []
    previous = -1
    for index in sorted(shown):
        if index != previous + 1:
            rows.append(None)
        rows.append(index)
        previous = index
    return rows


def timeline_table(
    steps: Sequence[Step], *, console: Console, limit: int = 40, keep: Iterable[int] = ()
) -> Table:
    """Index, kind, name, a latency bar and the error of each step (long runs elided)."""
    unicode = console.encoding.lower().startswith("utf")
    longest = max((s.latency_ms for s in steps), default=0.0)
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, expand=False)
    table.add_column("#", justify="right", no_wrap=True)
    table.add_column("kind", no_wrap=True)
    table.add_column("name", overflow="fold", max_width=24)
    table.add_column("latency", no_wrap=True)
    table.add_column("error", overflow="fold")
    for index in timeline_rows(len(steps), limit=limit, keep=keep):
        if index is None:
            table.add_row("…" if unicode else "...", "", Text("(steps elided)", style="dim"))
            continue
        step = steps[index]
        latency = _bar(step.latency_ms, longest, unicode=unicode)
        latency.append(f" {format_ms(step.latency_ms):>8}")
        error = Text("")
        if step.error is not None:
            error = Text(bare_class_name(step.error.error_class) or "", style="bold red")
            if step.error.message:
                error.append(f": {_clip(step.error.message, 60)}", style="red")
        table.add_row(
            str(step.index),
            Text(step.kind, style=KIND_STYLES.get(step.kind, "")),
            step.name,
            latency,
            error,
        )
    return table


def change_label(change: StepChange) -> str:
    """Where a change sits: ``#4`` in the new history, ``#3->#4`` when it moved."""
    if change.change == "removed":
        return f"#{change.original}"
    if change.change == "added" or change.original == change.new:
        return f"#{change.new}"
    return f"#{change.original}->#{change.new}"


def changes_view(
    diff: HistoryDiff, *, limit: int = 20, lines_per_change: int = 4
) -> RenderableType:
    """The step diff as a list: ``~ #2 llm gpt-4o  prompt changed`` and its detail lines."""
    parts: list[RenderableType] = []
    for change in diff.changes[:limit]:
        mark, style = CHANGE_MARKS.get(change.change, ("?", ""))
        line = Text(f"{mark} ", style=f"bold {style}")
        line.append(f"{change_label(change)} ")
        line.append(change.kind, style=KIND_STYLES.get(change.kind, ""))
        line.append(f" {change.name}  ")
        line.append(change.cause, style=style)
        parts.append(indented(line, 2))
        details = list(change.differences[:lines_per_change])
        if len(change.differences) > lines_per_change:
            details.append(f"... {len(change.differences) - lines_per_change} more")
        parts.extend(indented(Text(d, style="dim"), 6) for d in details)
    if len(diff.changes) > limit:
        parts.append(
            indented(Text(f"... {len(diff.changes) - limit} more changes (see --json)"), 2)
        )
    if diff.outcome_change is not None:
        before, after = diff.outcome_change.before, diff.outcome_change.after
        for name in diff.outcome_change.fields:
            old, new = _outcome_field(before, name), _outcome_field(after, name)
            line = Text("  outcome ", style="bold")
            line.append(f"{name}: {old} -> {new}")
            parts.append(line)
    if not parts:
        parts.append(Text("  no differences", style="green"))
    return Group(*parts)


def indented(renderable: RenderableType, left: int) -> Padding:
    """``renderable`` indented by ``left`` columns; wrapped lines keep the indentation."""
    return Padding(renderable, (0, 0, 0, left), expand=False)


def bullet_list(lines: Iterable[str], *, left: int, marker: str = "-") -> Padding:
    """Lines with a hanging indent: a wrapped line starts under the text, not the marker."""
    grid = Table.grid(padding=(0, 1))
    grid.add_column(no_wrap=True)
    grid.add_column(overflow="fold")
    for line in lines:
        grid.add_row(marker, line)
    return indented(grid, left)


def _outcome_field(outcome: Outcome, name: str) -> str:
    if name == "error_class":
        return str(bare_class_name(outcome.error_class))
    if name == "output":
        return _clip(repr(outcome.output), 30)
    return str(getattr(outcome, name))


def _clip(text: str, width: int) -> str:
    line = " ".join(str(text).split())
    return line if len(line) <= width else line[: width - 3] + "..."


def updates_view(updates: Sequence[Any]) -> Group:
    """``--update``'s plan: per baseline the difference being accepted and where its
    answers come from, or why it is not re-recorded (``replay.rerecord.Update`` values)."""
    ready = sum(1 for item in updates if item.cassette is not None)
    lines: list[RenderableType] = [
        Text(f"Intended changes to accept ({ready} of {len(updates)})", style="bold")
    ]
    for item in updates:
        lines.append(Text(f"{'~' if item.cassette is not None else 'x'} {item.label}", "bold"))
        if item.refused:
            lines.append(indented(Text(f"not re-recorded: {item.refused}", "yellow"), 4))
            continue
        lines.extend(indented(Text(line), 4) for line in item.changes)
        lines.append(indented(Text(f"answers: {item.source}", "dim"), 4))
    return Group(*lines)
