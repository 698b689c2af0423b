"""The ``replay`` command line: record, inspect, run, diff, bisect (and scenario, golden).

Built with typer; human output with rich, ``--json`` on every command for machines.
Exit statuses (``replay.cli.common``): 0 passing, 1 failing on evidence, 2 undecided
(diverged, flaky), 3 the command could not do its job (usage, cassette, entrypoint).
Importing this package stays cheap: the engine loads when a command runs.
"""

from __future__ import annotations

import sys
import warnings
from collections.abc import Sequence
from typing import Annotated, Any, NoReturn

import typer

from replay.cli.common import EXIT_USAGE, DebugOption, command_help, one_line
from replay.cli.lazy_commands import CommandEntry, LazyGroup
from replay.cli.lazy_rich import install as _lazy_rich

_lazy_rich()  # before typer's rich help is imported: see replay.cli.lazy_rich

__all__ = ["app", "main"]

ROOT_HELP = """Record an LLM agent's run, triage it, replay it offline and judge a fix.

Every command takes --help, --json (one JSON object on stdout; replay report
--json reads a saved one) and --debug (the traceback of an error). Exit status: 0
passing, 1 failing on evidence, 2 undecided (diverged or flaky), 3 usage, cassette or
entrypoint error.

Example session:

  replay record support_agent:run -i '{"question": "refund?"}' -o run.yaml
  replay inspect run.yaml
  replay run run.yaml --agent support_agent.fixed:run --expect fixed
"""

COMMANDS = (
    CommandEntry(
        "record",
        "replay.cli.record",
        "record_command",
        "Run an agent live and record every tool, model and clock call into a cassette.",
    ),
    CommandEntry(
        "inspect",
        "replay.cli.inspection",
        "inspect_command",
        "Triage a recorded run (or OpenTelemetry traces): first error, slowest span, "
        "repeated tools, hypotheses.",
    ),
    CommandEntry(
        "run",
        "replay.cli.run",
        "run_command",
        "Replay the current code against a cassette and say what that proves.",
    ),
    CommandEntry(
        "diff",
        "replay.cli.diff",
        "diff_command",
        "Compare two recorded runs step by step, e.g. one workflow on two releases.",
    ),
    CommandEntry(
        "import",
        "replay.cli.traces",
        "import_command",
        "Import traced runs (OpenTelemetry, OTLP/JSON) as cassettes for triage and replay.",
    ),
    CommandEntry(
        "migrate",
        "replay.cli.migrate",
        "migrate_command",
        "Rewrite cassettes in the current format version (2), in place and atomically.",
    ),
    CommandEntry(
        "bisect",
        "replay.cli.bisect",
        "bisect_command",
        "Find the first commit where replaying CASSETTE gives the --expect verdict.",
    ),
    CommandEntry(
        "report",
        "replay.cli.report",
        "report_command",
        "Write an HTML report: a run, a replay verdict or a release, in one file.",
    ),
    CommandEntry(
        "scenario",
        "replay.cli.scenario",
        "app",
        "Keep reproduced incidents as regression tests that gate merges (scenarios/*.yaml).",
    ),
    CommandEntry(
        "golden",
        "replay.cli.golden",
        "app",
        "Replay the golden set against this build and report the release diff.",
    ),
)
"""Every command, in the order ``replay --help`` lists them: a command function or a
``typer.Typer`` sub-app (``app``), and the first paragraph of its help. The module is
imported only when its command runs (tests/cli/test_lazy_commands.py keeps each summary
equal to the command's own)."""


class RootGroup(LazyGroup):
    """``replay``: the commands of ``COMMANDS``, each imported when it runs."""

    entries = COMMANDS


app = typer.Typer(
    name="replay",
    cls=RootGroup,
    help=command_help(ROOT_HELP),
    invoke_without_command=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def _version(value: bool) -> None:
    if value:
        from replay import __version__

        typer.echo(f"replay (agent-replay) {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version."),
    ] = False,
    debug: DebugOption = False,
) -> None:
    """The options every command shares; no command prints the help."""
    if ctx.invoked_subcommand is None:
        typer.echo(ctx.get_help())
        raise typer.Exit()


def _show_warnings_as_lines() -> None:
    """agent-replay's own warnings (an old cassette format) as one ``replay: warning:``
    line each on stderr, instead of Python's two-line form with a source line."""
    from replay.errors import CassetteFormatWarning

    default = warnings.showwarning

    def show(message: Any, category: type[Warning], *args: Any, **kwargs: Any) -> None:
        if issubclass(category, CassetteFormatWarning):
            sys.stderr.write(f"replay: warning: {one_line(str(message))}\n")
        else:
            default(message, category, *args, **kwargs)

    warnings.showwarning = show


def main(argv: Sequence[str] | None = None) -> NoReturn:
    """The ``replay`` console script: run the app, map click's usage errors (exit 2 in
    click) to 3, and exit with the command's status."""
    command = typer.main.get_command(app)
    _show_warnings_as_lines()
    try:
        status = command.main(args=argv, prog_name="replay", standalone_mode=False)
    except typer.Abort:
        sys.stderr.write("replay: aborted\n")
        status = 130
    except typer.TyperException as exc:  # click's usage and file errors
        show = getattr(exc, "show", None)
        if callable(show):
            show()
        else:
            sys.stderr.write(f"replay: error: {exc.format_message()}\n")
        status = EXIT_USAGE
    sys.exit(status if isinstance(status, int) else 0)
