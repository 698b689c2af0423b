"""``replay inspect``: the triage signals of recorded runs, and what probably went wrong."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from replay.cli.common import DebugOption, JsonOption, print_json, stdout_console
from replay.cli.render import bullet_list, outcome_text, span_text, timeline_table
from replay.signals import bare_class_name, format_ms

if TYPE_CHECKING:
    from replay.cassette import Cassette
    from replay.signals import RunSignals, Span


def inspect_command(
    cassettes: Annotated[
        list[Path],
        typer.Argument(
            help="One cassette for its full report; several for a table.", show_default=False
        ),
    ],
    steps: Annotated[
        int,
        typer.Option("--steps", min=1, help="Rows of the step timeline before eliding the middle."),
    ] = 40,
    as_json: JsonOption = False,
    debug: DebugOption = False,
) -> None:
    """Triage a recorded run: first error, slowest span, repeated tools, hypotheses.

    With one cassette: a table of signals, the step timeline and the hypotheses, ranked.
    With several: one row per run (first error, slowest span, stop reason, conclusion).
    --json prints the signals as one object (with several: {"runs": [...]}).

    Examples:

      replay inspect cassettes/incidents/run_9fd2.yaml

      replay inspect cassettes/incidents/*.yaml --json
    """
    from replay.signals import signals_of
    from replay.storage import load_cassette

    loaded = [load_cassette(path) for path in cassettes]
    reports = [(cassette, signals_of(cassette)) for cassette in loaded]
    if as_json:
        dicts = [_signals_dict(cassette, signals) for cassette, signals in reports]
        print_json(dicts[0] if len(dicts) == 1 else {"runs": dicts})
        return
    console = stdout_console()
    if len(reports) == 1:
        cassette, signals = reports[0]
        render_report(console, cassette, signals, limit=steps)
    else:
        console.print(incident_table(reports))


def _signals_dict(cassette: Cassette, signals: RunSignals) -> dict[str, Any]:
    return {"cassette": cassette.path, **signals.to_dict(), "outcome_note": cassette.outcome.note}


def render_report(console: Console, cassette: Cassette, signals: RunSignals, *, limit: int) -> None:
    """The one-run report: header, signals, timeline, ranked hypotheses."""
    header = Text("Run ", style="bold")
    header.append(cassette.run_id, style="bold")
    for label, value in (("release", signals.release), ("workflow", signals.workflow)):
        if value:
            header.append(f"  {label} {value}")
    console.print(header)
    console.print(Text(f"{cassette.path}", style="dim"))
    console.print()
    console.print(signals_table(cassette, signals))
    console.print()
    console.print(Text("Timeline", style="bold"))
    keep = [s.index for s in (signals.first_error_span, signals.slowest_span) if s is not None]
    console.print(timeline_table(cassette.steps, console=console, limit=limit, keep=keep))
    console.print()
    console.print(Text("Hypotheses (most likely first)", style="bold"))
    for rank, hypothesis in enumerate(signals.hypotheses, start=1):
        line = Text(f"{rank:>2}. ")
        line.append(hypothesis.summary, style="bold" if rank == 1 else "")
        line.append(f"  {hypothesis.name}, score {hypothesis.score:.2f}", style="dim")
        console.print(line)
        if hypothesis.evidence:
            console.print(bullet_list(hypothesis.evidence, left=4))


def signals_table(cassette: Cassette, signals: RunSignals) -> Table:
    """Signal / value rows of one run."""
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, show_header=False)
    table.add_column("signal", style="bold", no_wrap=True)
    table.add_column("value", overflow="fold")
    table.add_row("first error span", span_text(signals.first_error_span))
    table.add_row("slowest span", span_text(signals.slowest_span))
    table.add_row("stop_reason", outcome_text(cassette.outcome))
    if cassette.outcome.note:
        table.add_row("note", Text(cassette.outcome.note, style="yellow"))
    error_class = bare_class_name(signals.error_class)
    error = Text(error_class or "-", style="red" if error_class else "dim")
    message = signals.error_message
    if message and error_class and message.startswith(f"{error_class}:"):
        error = Text(message, style="red")  # the text already names its class
    elif message:
        error.append(f": {message}")
    table.add_row("error", error)
    repeated = ", ".join(f"{name} x{count}" for name, count in signals.repeated_tools.items())
    table.add_row("repeated tools", repeated or Text("-", style="dim"))
    if signals.retries:
        table.add_row("retries", ", ".join(f"{n} x{c}" for n, c in signals.retries.items()))
    kinds = ", ".join(f"{count} {kind}" for kind, count in sorted(signals.steps_by_kind.items()))
    table.add_row("steps", f"{signals.step_count}" + (f" ({kinds})" if kinds else ""))
    table.add_row(
        "latency",
        f"{format_ms(signals.total_latency_ms)} in calls, run took {format_ms(signals.wall_ms)}",
    )
    if signals.tokens is not None:
        tokens = signals.tokens
        table.add_row(
            "tokens",
            f"{tokens.input_tokens:,} in / {tokens.output_tokens:,} out "
            f"({tokens.calls} model call{'s' if tokens.calls != 1 else ''})",
        )
    else:
        table.add_row("tokens", Text("- (no usage recorded)", style="dim"))
    table.add_row("conclusion", Text(signals.conclusion, style="bold"))
    return table


def incident_table(reports: list[tuple[Cassette, RunSignals]]) -> Table:
    """One row per run: run id and stop reason, first error span, slowest span and the
    conclusion; spans take two lines so that the table fits 80 columns."""
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    table.add_column("run\nstop_reason", no_wrap=True)
    table.add_column("first_error_span", overflow="fold", min_width=16)
    table.add_column("slowest_span", overflow="fold", min_width=12)
    table.add_column("conclusion", min_width=14, ratio=1)
    for cassette, signals in reports:
        run = Text(f"{cassette.run_id}\n")
        outcome = cassette.outcome
        run.append(
            outcome.stop_reason,
            style="yellow" if outcome.unknown else "red" if outcome.failed else "green",
        )
        table.add_row(
            run,
            span_cell(signals.first_error_span),
            span_cell(signals.slowest_span),
            Text(signals.conclusion, style="bold"),
        )
    return table


def span_cell(span: Span | None) -> Text:
    """A span on two lines: ``#2 lookup_order`` then its error class, or its latency."""
    if span is None:
        return Text("-", style="dim")
    text = Text(f"#{span.index} {span.name}\n")
    if span.error_class:
        text.append(bare_class_name(span.error_class) or "", style="red")
    elif span.inferred:
        text.append("inferred", style="yellow")
    else:
        text.append(format_ms(span.latency_ms), style="dim")
    return text
