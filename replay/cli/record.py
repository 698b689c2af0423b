"""``replay record``: run an agent live and write what it did into a cassette."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.text import Text

from replay.cli.common import (
    DebugOption,
    JsonOption,
    agent_stdout_to_stderr,
    parse_json_argument,
    print_json,
    stdout_console,
)
from replay.signals import bare_class_name, run_error_class


def record_command(
    entrypoint: Annotated[
        str,
        typer.Argument(help="The agent to run, as module:function.", show_default=False),
    ],
    output: Annotated[
        Path,
        typer.Option(
            "--output", "-o", help="Where to write the cassette (YAML).", show_default=False
        ),
    ],
    input: Annotated[
        str | None,
        typer.Option(
            "--input",
            "-i",
            help="The agent's input: JSON text, or @file.json. A JSON object is passed as "
            "keyword arguments.",
            show_default=False,
        ),
    ] = None,
    run_id: Annotated[str | None, typer.Option(help="Run id (default: generated).")] = None,
    release: Annotated[str | None, typer.Option(help="Release the agent runs as.")] = None,
    workflow: Annotated[str | None, typer.Option(help="Workflow the run belongs to.")] = None,
    trace_id: Annotated[str | None, typer.Option(help="Trace id (default: derived).")] = None,
    as_json: JsonOption = False,
    debug: DebugOption = False,
) -> None:
    """Run an agent live and record every tool, model and clock call into a cassette.

    A failing run is recorded too (it is the evidence wanted): the exit status is 0
    whenever the cassette was written. The agent's own prints go to stderr.

    Example:

      replay record support_agent:run --input '{"question": "refund?"}' \\
          -o cassettes/refund.yaml --release 2026.11.3 --workflow support

      replay record support_agent:run --input @question.json -o run.yaml
    """
    from replay.engine import record_run

    agent_input = parse_json_argument(input, option="--input") if input is not None else None
    with agent_stdout_to_stderr():
        cassette = record_run(
            entrypoint,
            output,
            input=agent_input,
            run_id=run_id,
            trace_id=trace_id,
            release=release,
            workflow=workflow,
        )
    outcome = cassette.outcome
    summary = {
        "cassette": str(output),
        "run_id": cassette.run_id,
        "trace_id": cassette.context.trace_id,
        "entrypoint": cassette.context.entrypoint,
        "release": cassette.context.release,
        "workflow": cassette.context.workflow,
        "steps": len(cassette.steps),
        "stop_reason": outcome.stop_reason,
        "error_class": run_error_class(cassette.steps, outcome),
        "failed": outcome.failed,
    }
    if as_json:
        print_json(summary)
        return
    console = stdout_console()
    line = Text("Recorded ", style="bold")
    line.append(cassette.run_id, style="bold")
    line.append(f" -> {output}")
    console.print(line)
    count = len(cassette.steps)
    ending = Text(f"  {count} step{'' if count == 1 else 's'}, stop_reason ")
    ending.append(outcome.stop_reason, style="red" if outcome.failed else "green")
    if outcome.error is not None:
        name = bare_class_name(outcome.error.error_class)
        ending.append(f" ({name}: {outcome.error.message})", style="red")
    console.print(ending)
    console.print(Text(f"  next: replay inspect {output}", style="dim"))
    console.print(Text(f"        replay run {output}", style="dim"))
