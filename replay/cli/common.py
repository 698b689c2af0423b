"""Plumbing every ``replay`` sub-command shares: exit statuses, consoles, ``--json``,
``--debug`` and the error wrapper.

For a new sub-app (``replay scenario``, ``replay golden``): define ``app = typer.Typer()``
in ``replay/cli/<name>.py``, register its commands with ``cls=ReplayCommand``, give each
command ``as_json: JsonOption = False`` and ``debug: DebugOption = False``, print human
output through ``stdout_console()`` and machine output through ``print_json()``, and let
``ReplayError`` propagate: the root group turns it into one stderr line and exit status 3
(the traceback with ``--debug``). List it in ``replay.cli.COMMANDS`` with its summary: the
module is imported only when its command runs. Keep its top-level imports cheap anyway
(no vcrpy, deepdiff, httpx2 or SDKs): ``replay <name> --help`` imports it.
"""

from __future__ import annotations

import contextlib
import enum
import inspect
import json
import os
import shlex
import sys
import traceback
from collections.abc import Iterator, Sequence
from typing import Annotated, Any

import typer
from rich.console import Console
from typer.core import TyperCommand, TyperGroup

from replay.cli import coercion
from replay.errors import ReplayError

EXIT_OK = 0
"""Passing: match, fixed, identical."""
EXIT_FAILED = 1
"""Failing on evidence: reproduced, regressed, different; or not the ``--expect``ed verdict."""
EXIT_UNDECIDED = 2
"""No verdict on evidence: diverged, flaky."""
EXIT_USAGE = 3
"""The command could not do its job: usage, cassette, entrypoint or internal error."""

_DEBUG_KEY = "replay.debug"
_JSON_KEY = "replay.json"


def _remember_debug(ctx: typer.Context, value: bool) -> bool:
    if value:
        ctx.meta[_DEBUG_KEY] = True
    return value


def _remember_json(ctx: typer.Context, value: bool) -> bool:
    if value:
        ctx.meta[_JSON_KEY] = True
    return value


JsonOption = Annotated[
    bool,
    typer.Option(
        "--json",
        help="Print one JSON object on stdout instead of the human report.",
        callback=_remember_json,
    ),
]
DebugOption = Annotated[
    bool,
    typer.Option(
        "--debug",
        help="On an error, show the full traceback too.",
        callback=_remember_debug,
    ),
]

AllowHostOption = Annotated[
    list[str] | None,
    typer.Option(
        "--allow-host",
        metavar="HOST[:PORT]",
        help="Let the replay reach this host live (repeatable; loopback included: replay "
        "refuses every connection otherwise). Adds to \\[tool.replay] allow_hosts.",
        show_default=False,
    ),
]


class OnMissChoice(enum.StrEnum):
    """``--on-miss`` (the values of ``replay.on_miss.OnMiss``, repeated here so that
    ``replay --help`` does not import the replay engine)."""

    NEAREST = "nearest"
    REPEAT = "repeat"
    ERROR = "error"
    LIVE = "live"


OnMissOption = Annotated[
    OnMissChoice | None,
    typer.Option(
        "--on-miss",
        help="Answer calls the recording does not hold instead of diverging, under a named "
        "assumption (the verdict is then a hypothesis): nearest (the most similar recorded "
        "call's answer), repeat (the tool's last recorded answer), error (its recorded "
        "error), live (the real model and tools; needs --allow-network).",
        case_sensitive=False,
        show_default=False,
    ),
]
AllowNetworkOption = Annotated[
    bool,
    typer.Option(
        "--allow-network",
        help="Allow --on-miss live to reach the real model and tools over the network.",
    ),
]

UpdateOption = Annotated[
    bool,
    typer.Option(
        "--update",
        help="Accept intended changes: re-record the baselines that differ from their "
        "replay (the diff is shown first; the model source is stated in each new "
        "cassette's provenance).",
    ),
]
YesOption = Annotated[
    bool,
    typer.Option(
        "--yes",
        "-y",
        help="With --update, overwrite without asking (required when stdin is not a terminal).",
    ),
]


def confirm_overwrite(what: str, *, yes: bool) -> bool:
    """Whether to overwrite ``what``: ``--yes``, or the user's answer on a terminal;
    never without ``--yes`` in a non-interactive shell (as syrupy's --snapshot-update)."""
    if yes:
        return True
    if not sys.stdin.isatty():
        stderr_console().print(
            f"nothing written: pass --yes to re-record {what} (stdin is not a terminal, so "
            "there is no one to ask)",
            markup=False,
        )
        return False
    return typer.confirm(f"Re-record {what}?", default=False, err=True)


def debug_requested(ctx: typer.Context | None = None) -> bool:
    """``--debug`` given on any level of the command line, or ``REPLAY_DEBUG=1``."""
    if os.environ.get("REPLAY_DEBUG", "").lower() in ("1", "true", "yes"):
        return True
    return bool(ctx is not None and ctx.meta.get(_DEBUG_KEY))


def command_help(doc: str | None) -> str:
    """A docstring as ``--help`` text: prose paragraphs reflowed onto one line (typer's
    rich help keeps single line breaks), indented example lines kept as written."""
    paragraphs = inspect.cleandoc(doc or "").split("\n\n")
    out = []
    for paragraph in paragraphs:
        lines = paragraph.splitlines()
        if any(line.startswith(" ") for line in lines):
            out.append(paragraph)
        else:
            out.append(" ".join(line.strip() for line in lines))
    return "\n\n".join(out)


def stdout_console() -> Console:
    """The console for human reports: the terminal's width, 80 columns when piped (or
    ``COLUMNS``); colour only on a terminal (``NO_COLOR`` honoured)."""
    return Console(highlight=False)


def stderr_console() -> Console:
    """The console for progress and notes, kept off stdout so ``--json`` stays clean."""
    return Console(stderr=True, highlight=False)


def print_json(data: Any) -> None:
    """Print ``data`` as one JSON object on stdout."""
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n")
    sys.stdout.flush()


def one_line(text: str) -> str:
    """A multi-line message folded onto one line (error lines are grepped)."""
    return " | ".join(part.strip() for part in str(text).splitlines() if part.strip())


def report_error(exc: BaseException, *, debug: bool, as_json: bool) -> int:
    """Print ``exc`` as the CLI reports errors and return the exit status (3).

    A ``ReplayError`` is the user's to fix: one line on stderr. Anything else is a bug
    of agent-replay: the traceback is always shown.
    """
    known = isinstance(exc, ReplayError)
    if debug or not known:
        traceback.print_exception(exc, file=sys.stderr)
    if known:
        line = f"replay: error: {one_line(str(exc))}"
    else:
        line = (
            f"replay: internal error: {type(exc).__name__}: {one_line(str(exc))} "
            "(a bug in agent-replay; please report it with the traceback above)"
        )
    sys.stderr.write(line + "\n")
    sys.stderr.flush()
    if as_json:
        print_json(
            {
                "error": {"type": type(exc).__name__, "message": one_line(str(exc))},
                "exit_status": EXIT_USAGE,
            }
        )
    return EXIT_USAGE


class ReplayGroup(TyperGroup):
    """The root command group: commands in the order they were added; a ``ReplayError``
    from any command (sub-apps included) becomes one stderr line and exit 3, any other
    exception (a bug) its traceback and exit 3. Click's own errors pass through. Its
    parameters convert their values as ``ReplayCommand``'s do."""

    def list_commands(self, ctx: typer.Context) -> list[str]:  # type: ignore[override]
        return list(self.commands)

    def get_params(self, ctx: typer.Context) -> list[Any]:  # type: ignore[override]
        params = super().get_params(ctx)
        coercion.install(params)
        return params

    def invoke(self, ctx: typer.Context) -> Any:  # type: ignore[override]
        try:
            return super().invoke(ctx)
        except (typer.Exit, typer.Abort, typer.TyperException, BrokenPipeError):
            raise  # click's own handling (a closed pipe, e.g. "| head", exits quietly)
        except Exception as exc:
            code = report_error(
                exc, debug=debug_requested(ctx), as_json=bool(ctx.meta.get(_JSON_KEY))
            )
            raise typer.Exit(code) from None


class ReplayCommand(TyperCommand):
    """typer's command, whose parameters (``--help`` included) convert their values
    through ``replay.cli.coercion``: no pydantic for the types replay's commands take."""

    def get_params(self, ctx: typer.Context) -> list[Any]:  # type: ignore[override]
        params = super().get_params(ctx)
        coercion.install(params)
        return params


@contextlib.contextmanager
def agent_stdout_to_stderr() -> Iterator[None]:
    """While the agent runs, its prints go to stderr: stdout carries only our report."""
    with contextlib.redirect_stdout(sys.stderr):
        yield


def shell_command(args: Sequence[str]) -> str:
    """One copy-pasteable shell command line."""
    return " ".join(shlex.quote(str(arg)) for arg in args)


def wrapped_shell_command(args: Sequence[str], *, width: int, indent: int = 2) -> str:
    """The command split with `` \\`` continuations so each line fits ``width`` (a
    token longer than a line stays whole: the command must paste back exactly)."""
    tokens = [shlex.quote(str(arg)) for arg in args]
    if not tokens:
        return ""
    lines: list[str] = []
    current = " " * indent + tokens[0]
    for token in tokens[1:]:
        if len(current) + 1 + len(token) + 2 > width:
            lines.append(current + " \\")
            current = " " * (indent + 4) + token
        else:
            current += " " + token
    lines.append(current)
    return "\n".join(lines)


def parse_json_argument(value: str, *, option: str) -> Any:
    """``--input`` text: JSON, or ``@path`` to a JSON file."""
    text = value
    if value.startswith("@"):
        path = value[1:]
        try:
            with open(path, encoding="utf-8") as handle:
                text = handle.read()
        except OSError as exc:
            raise typer.BadParameter(
                f"cannot read {path} ({exc.strerror})", param_hint=option
            ) from None
    try:
        return json.loads(text)
    except ValueError as exc:
        source = f"{value[1:]}: " if value.startswith("@") else ""
        raise typer.BadParameter(
            f'{source}not valid JSON ({exc}); e.g. --input \'{{"question": "hi"}}\'',
            param_hint=option,
        ) from None
