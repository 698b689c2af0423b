"""The ``replay`` command line: record, inspect, run, diff, bisect (and scenario, golden).

Built with typer; human output with rich, ``--json`` on every command for machines.
Exit statuses (``replay.cli.common``): 0 passing, 1 failing on evidence, 2 undecided
(diverged, flaky), 3 the command could not do its job (usage, cassette, entrypoint).
Importing this package stays cheap: the engine loads when a command runs.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import warnings
from collections.abc import Sequence
from typing import Annotated, Any, NoReturn

import typer

from replay.cli.bisect import bisect_command
from replay.cli.common import (
    EXIT_USAGE,
    DebugOption,
    ReplayGroup,
    command_help,
    one_line,
)
from replay.cli.diff import diff_command
from replay.cli.inspection import inspect_command
from replay.cli.lazy_rich import install as _lazy_rich
from replay.cli.migrate import migrate_command
from replay.cli.record import record_command
from replay.cli.report import report_command
from replay.cli.run import run_command
from replay.cli.traces import import_command

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

app = typer.Typer(
    name="replay",
    cls=ReplayGroup,
    help=command_help(ROOT_HELP),
    invoke_without_command=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

# Sub-apps other modules contribute: (name, module, help when the module has none).
SUB_APPS = (
    ("scenario", "replay.cli.scenario", "Run scenario files against recorded cassettes."),
    ("golden", "replay.cli.golden", "Check a golden set of cassettes against the code."),
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


for _name, _command in (
    ("record", record_command),
    ("inspect", inspect_command),
    ("run", run_command),
    ("diff", diff_command),
    ("import", import_command),
    ("migrate", migrate_command),
    ("bisect", bisect_command),
    ("report", report_command),
):
    app.command(_name, help=command_help(_command.__doc__))(_command)


def register_sub_apps(
    target: typer.Typer, sub_apps: Sequence[tuple[str, str, str]] = SUB_APPS
) -> None:
    """Add each ``(name, module, help)`` sub-app whose module exists (``replay scenario``,
    ``replay golden``). A module that fails to import becomes a command that reports why
    (exit 3) instead of breaking every other command."""
    for name, module_name, fallback_help in sub_apps:
        try:
            if importlib.util.find_spec(module_name) is None:
                continue
            sub_app = importlib.import_module(module_name).app
        except Exception as exc:  # a half-written sibling must not take the CLI down
            _add_unavailable(target, name, module_name, exc, fallback_help)
            continue
        target.add_typer(sub_app, name=name, help=sub_app.info.help or fallback_help)


def _add_unavailable(
    target: typer.Typer, name: str, module_name: str, exc: Exception, help_text: str
) -> None:
    reason = f"{module_name}: {type(exc).__name__}: {one_line(str(exc))}"

    def unavailable() -> None:
        sys.stderr.write(f"replay: error: 'replay {name}' is unavailable ({reason})\n")
        raise typer.Exit(EXIT_USAGE)

    target.command(
        name,
        help=f"{help_text} (unavailable: {reason})",
        context_settings={"ignore_unknown_options": True, "allow_extra_args": True},
    )(unavailable)


register_sub_apps(app)


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
