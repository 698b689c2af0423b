"""OpenTelemetry traces on the command line: ``replay inspect TRACES`` and ``replay import``.

``inspect`` on OTLP/JSON files (or a folder of them) shows one run as a cassette's full
report, or many runs as a table (failing first) with the runs segmented by release,
workflow, model and tool. ``import`` writes runs as cassettes for ``replay run``.
"""

from __future__ import annotations

import json
import os
import sys
import textwrap
from collections.abc import Iterator, Sequence
from itertools import chain
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich import box
from rich.table import Table
from rich.text import Text

from replay.cli.common import DebugOption, JsonOption, print_json, stdout_console

if TYPE_CHECKING:
    from rich.console import Console

    from replay.cassette import Cassette
    from replay.otel.read import TraceRun
    from replay.otel.triage import Triage


def is_trace_input(paths: Sequence[Path]) -> bool:
    """Whether ``replay inspect`` was given traces (folders or OTLP/JSON lines files)."""
    from replay.errors import TraceError
    from replay.otel import is_trace_name

    traces = [path.is_dir() or is_trace_name(path) for path in paths]
    if any(traces) and not all(traces):
        cassette = next(p for p, is_trace in zip(paths, traces, strict=True) if not is_trace)
        raise TraceError(
            f"{cassette}: a cassette among trace files; inspect cassettes and traces "
            "(.jsonl, .jsonl.gz or folders) in separate commands"
        )
    return any(traces)


def _runs(paths: Sequence[Path]) -> Iterator[TraceRun]:
    from replay.otel.read import read_runs

    return read_runs(list(paths))


PARALLEL_BYTES = 64_000_000


def _parallel_workers(paths: Sequence[Path]) -> int:
    """Processes for a large input (2 on a machine with 2 cores or more), else 1."""
    from replay.otel.read import trace_files

    size = sum(p.stat().st_size for p in trace_files(paths))
    return min(2, os.cpu_count() or 1) if size >= PARALLEL_BYTES else 1


def inspect_traces(paths: Sequence[Path], *, steps: int, as_json: bool) -> None:
    """The traces branch of ``replay inspect``: big inputs are triaged in 2 processes."""
    workers = _parallel_workers(paths)
    if workers > 1:
        from replay.otel.triage import triage_files

        result = triage_files(paths, workers=workers)
        if result.count != 1 or result.skipped:
            _show_triage(result, as_json=as_json)
            return
    runs = _runs(paths)
    first = next(runs, None)
    second = next(runs, None)
    if first is not None and second is None:
        _inspect_one(first, steps=steps, as_json=as_json)
        return
    from replay.otel.triage import triage

    _show_triage(
        triage(chain((r for r in (first, second) if r is not None), runs)), as_json=as_json
    )


def _show_triage(result: Triage, *, as_json: bool) -> None:
    if as_json:
        _print_triage_json(result)
        return
    _render_triage(stdout_console(), result)


def _print_triage_json(result: Triage) -> None:
    """``print_json(result.to_dict())``, written run by run (a day of runs is not held)."""
    out = sys.stdout
    out.write('{\n  "runs": [')
    first = True
    for row in result.sorted_rows():
        text = json.dumps(row.to_dict(), indent=2, ensure_ascii=False, default=str)
        out.write(("\n" if first else ",\n") + textwrap.indent(text, "    "))
        first = False
    out.write("]" if first else "\n  ]")
    rest = {
        "segments": {k: [s.to_dict() for s in v] for k, v in result.segments().items()},
        "skipped": list(result.skipped),
    }
    out.write(",\n" + json.dumps(rest, indent=2, ensure_ascii=False, default=str)[2:] + "\n")
    out.flush()


def _inspect_one(trace: TraceRun, *, steps: int, as_json: bool) -> None:
    from replay.cli.inspection import render_report
    from replay.otel.to_cassette import import_trace
    from replay.signals import signals_of

    cassette = import_trace(trace)
    cassette = cassette.with_path(", ".join(trace.sources))
    signals = signals_of(cassette)
    if as_json:
        print_json(
            {
                "trace_id": trace.trace_id,
                "source": trace.sources,
                **signals.to_dict(),
                "provenance": dict(cassette.provenance or {}),
            }
        )
        return
    console = stdout_console()
    render_report(console, cassette, signals, limit=steps)
    console.print()
    console.print(provenance_text(cassette))


def provenance_text(cassette: Cassette) -> Text:
    """Where an imported run came from and what was inferred or rebuilt."""
    provenance = cassette.provenance or {}
    text = Text("From the trace ", style="bold")
    text.append(f"{cassette.context.trace_id}", style="bold")
    text.append(f" ({', '.join(provenance.get('instrumentation') or ['?'])})\n")
    how = (provenance.get("stop_reason") or {}).get("how")
    if how:
        inferred = (provenance.get("stop_reason") or {}).get("inferred")
        text.append(f"  stop_reason {'inferred' if inferred else 'recorded'}: {how}\n")
    for note in provenance.get("reconstructed") or ():
        text.append(f"  - {note}\n", style="dim")
    if not provenance.get("content_captured", True):
        text.append("  model content not captured: triage only, replay is not possible\n")
    return text


TABLE_RUNS = 50
"""Runs the terminal table shows, failing first; ``--json`` lists every run (a day of
production traces holds thousands, which no terminal table helps to read)."""


def _render_triage(console: Console, result: Triage) -> None:
    from replay.signals import format_ms

    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    table.add_column("trace\nrelease", no_wrap=True)
    table.add_column("workflow\nmodel", overflow="fold")
    table.add_column("stop_reason", no_wrap=True)
    table.add_column("first error", overflow="fold", ratio=1)
    table.add_column("duration", justify="right", no_wrap=True)
    shown = shown_failing = 0
    rows = result.sorted_rows()
    for row in rows:
        if shown == TABLE_RUNS:
            rows.close()  # the sorted spill files are closed now, not when collected
            break
        shown += 1
        shown_failing += row.failed
        stop = Text(row.stop_reason, style="red" if row.failed else "green")
        if row.stop_reason_inferred:
            stop.append("*", style="dim")
        error = Text("-", style="dim")
        if row.first_error:
            where, _, error_class = row.first_error.partition(" (")
            error = Text(where + "\n")
            error.append(error_class.rstrip(")"), style="red")
        table.add_row(
            f"{row.trace_id[:12]}\n{row.release or '-'}",
            f"{row.workflow or '-'}\n{row.model or '-'}",
            stop,
            error,
            format_ms(row.duration_ms),
        )
    console.print(Text(f"{result.count} runs, {result.failing} failing", style="bold"))
    console.print(table)
    if shown < result.count:
        hidden = result.count - shown
        console.print(
            Text(
                f"... and {hidden} more runs ({result.failing - shown_failing} of them "
                "failing): replay inspect --json lists every run",
                style="yellow",
            )
        )
    console.print(Text("* stop_reason inferred from the spans (no run-level record)", style="dim"))
    for dimension, segments in result.segments().items():
        if not segments:
            continue
        unit = "calls" if dimension == "tool" else "runs"
        console.print()
        console.print(Text(f"By {dimension}", style="bold"))
        seg = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
        seg.add_column(dimension, overflow="fold")
        seg.add_column(unit, justify="right")
        seg.add_column("failed", justify="right")
        seg.add_column("rate", justify="right")
        for segment in segments:
            seg.add_row(
                segment.value,
                str(segment.total),
                str(segment.failed),
                f"{segment.failure_rate:.0%}",
            )
        console.print(seg)
    for line in result.skipped:
        console.print(Text(f"skipped: {line}", style="yellow"))


def import_command(
    traces: Annotated[
        list[Path],
        typer.Argument(help="OTLP/JSON files (.jsonl, .jsonl.gz) or folders.", show_default=False),
    ],
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="The cassette to write (one run).", show_default=False),
    ] = None,
    trace_id: Annotated[
        str | None,
        typer.Option("--trace-id", help="The run to import when the input holds several."),
    ] = None,
    out_dir: Annotated[
        Path | None,
        typer.Option("--out-dir", help="Write every run as DIR/<trace id>.yaml."),
    ] = None,
    as_json: JsonOption = False,
    debug: DebugOption = False,
) -> None:
    """Import traced runs (OpenTelemetry, OTLP/JSON) as cassettes for triage and replay.

    Model calls become llm steps (the normalised request as args, the answer as result),
    tool spans tool steps; the cassette's provenance block says which instrumentation it
    came from and what was inferred or rebuilt. Replay an imported run with
    replay run CASSETTE --agent module:function.

    Examples:

      replay import traces/day.jsonl.gz --trace-id 4bf92f35 -o incident.yaml

      replay import traces/ --out-dir imported/
    """
    from replay.errors import TraceError

    if (output is None) == (out_dir is None):
        raise typer.BadParameter("pass exactly one of -o CASSETTE or --out-dir DIR")
    source = ", ".join(map(str, traces))
    seen: list[str] = []
    chosen: list[TraceRun] = []

    def wanted(trace: TraceRun) -> bool:
        seen.append(trace.trace_id)
        return trace_id is None or trace.trace_id.startswith(trace_id.lower())

    written: list[dict[str, Any]] = []
    if output is not None:
        for trace in _runs(traces):
            if wanted(trace):
                if chosen:
                    first, other = chosen[0].trace_id[:12], trace.trace_id[:12]
                    fix = "give more of the id" if trace_id else "pass --trace-id ID for one"
                    raise TraceError(
                        f"{source}: holds several runs (traces {first}, {other}, ...); {fix}, "
                        "or --out-dir DIR for all"
                    )
                chosen.append(trace)
        for trace in chosen:
            written.append(_write(trace, output, as_json=as_json))
    else:
        for trace in _runs(traces):
            if wanted(trace):
                target = out_dir / f"{trace.trace_id}.yaml"  # type: ignore[operator]
                written.append(_write(trace, target, as_json=as_json))
    if not written:
        what = f"no trace id starting with {trace_id!r}" if trace_id else "no runs"
        known = ", ".join(t[:12] for t in seen[:5])
        raise TraceError(f"{source}: {what} (traces here: {known or 'none'})")
    if as_json:
        print_json(written[0] if output is not None else {"imported": written})


def _write(trace: TraceRun, target: Path, *, as_json: bool) -> dict[str, Any]:
    from replay.otel.to_cassette import import_trace
    from replay.storage import save_cassette

    cassette = import_trace(trace)
    save_cassette(cassette, target)
    provenance = cassette.provenance or {}
    entry = {
        "trace_id": trace.trace_id,
        "cassette": str(target),
        "steps": len(cassette.steps),
        "stop_reason": cassette.outcome.stop_reason,
        "content_captured": bool(provenance.get("content_captured")),
        "instrumentation": list(provenance.get("instrumentation") or ()),
    }
    if not as_json:
        typer.echo(
            f"imported trace {trace.trace_id[:12]} -> {target} ({entry['steps']} steps, "
            f"stop_reason {entry['stop_reason']}, {', '.join(entry['instrumentation'])})"
        )
    if not entry["content_captured"]:
        typer.echo(
            f"note: {target}: the trace holds no model content; it can be triaged "
            "(replay inspect) but not replayed",
            err=True,
        )
    return entry
