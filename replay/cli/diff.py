"""``replay diff``: compare the step histories and endings of two recorded runs."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich import box
from rich.table import Table
from rich.text import Text

from replay.cli.common import (
    EXIT_FAILED,
    EXIT_OK,
    DebugOption,
    JsonOption,
    print_json,
    stdout_console,
)
from replay.cli.render import changes_view, outcome_text

if TYPE_CHECKING:
    from replay.cassette import Cassette


def diff_command(
    first: Annotated[Path, typer.Argument(help="The reference run (A).", show_default=False)],
    second: Annotated[
        Path, typer.Argument(help="The run to compare with it (B).", show_default=False)
    ],
    as_json: JsonOption = False,
    debug: DebugOption = False,
) -> None:
    """Compare two recorded runs step by step, e.g. one workflow on two releases.

    Steps are aligned by call (kind, name, arguments); each difference names its step
    and a likely cause (prompt changed, tool args changed, new call, call no longer
    made). Timing is not compared. Exit status: 0 identical, 1 different, 3 an error.

    Example:

      replay diff cassettes/support-2026.11.2.yaml \\
          cassettes/support-2026.11.3.yaml
    """
    from replay.diff import diff_histories
    from replay.storage import load_cassette

    a, b = load_cassette(first), load_cassette(second)
    diff = diff_histories(a.steps, b.steps, original_outcome=a.outcome, new_outcome=b.outcome)
    code = EXIT_OK if diff.identical else EXIT_FAILED
    if as_json:
        print_json({"a": _run_dict(a), "b": _run_dict(b), **diff.to_dict()})
        raise typer.Exit(code)
    console = stdout_console()
    runs = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    runs.add_column("")
    runs.add_column("A", overflow="fold")
    runs.add_column("B", overflow="fold")
    runs.add_row("cassette", str(a.path), str(b.path))
    runs.add_row("run", a.run_id, b.run_id)
    runs.add_row("release", a.context.release or "-", b.context.release or "-")
    runs.add_row("stop_reason", outcome_text(a.outcome), outcome_text(b.outcome))
    runs.add_row("steps", str(len(a.steps)), str(len(b.steps)))
    console.print(runs)
    if diff.identical:
        console.print(Text("Identical step histories and endings.", style="bold green"))
        raise typer.Exit(code)
    heading = Text("Different", style="bold yellow")
    where = f" from step {diff.first_divergence}" if diff.first_divergence is not None else ""
    heading.append(
        f"{where}: {len(diff.changes)} step change{'s' if len(diff.changes) != 1 else ''}, "
        f"{diff.equal_steps} equal"
    )
    console.print(heading)
    console.print(changes_view(diff))
    raise typer.Exit(code)


def _run_dict(cassette: Cassette) -> dict[str, Any]:
    return {
        "cassette": cassette.path,
        "run_id": cassette.run_id,
        "release": cassette.context.release,
        "workflow": cassette.context.workflow,
        "stop_reason": cassette.outcome.stop_reason,
        "error_class": cassette.outcome.error_class,
        "steps": len(cassette.steps),
    }
