"""``replay bisect``: the first commit where an incident reproduces (or a fix stops
working). ``replay.bisect`` runs git and the replays; this module reads the options and
shows each step as it comes."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.text import Text

from replay.cli.common import (
    EXIT_OK,
    EXIT_UNDECIDED,
    AllowHostOption,
    DebugOption,
    JsonOption,
    print_json,
    stderr_console,
    stdout_console,
    wrapped_shell_command,
)
from replay.cli.run import DEFAULT_REPEATS, ExpectedVerdict

if TYPE_CHECKING:
    from rich.console import Console

    from replay.bisect import BisectResult, BisectStep

DECISION_STYLES = {"bad": "bold red", "good": "green", "skip": "yellow"}


def bisect_command(
    cassette: Annotated[
        Path, typer.Argument(help="The recorded run to replay at each commit.", show_default=False)
    ],
    good: Annotated[
        str,
        typer.Option(
            "--good",
            metavar="REV",
            help="A commit where the verdict is not the expected one (e.g. the last release).",
            show_default=False,
        ),
    ],
    bad: Annotated[
        str,
        typer.Option(
            "--bad",
            metavar="REV",
            help="A later commit where it is (e.g. HEAD).",
            show_default=False,
        ),
    ],
    expect: Annotated[
        ExpectedVerdict,
        typer.Option(
            "--expect",
            help="The verdict that marks a commit bad: find the first commit that gives it.",
            case_sensitive=False,
        ),
    ] = ExpectedVerdict.REPRODUCED,
    agent: Annotated[
        str | None,
        typer.Option(
            "--agent",
            "-a",
            help="Code to replay at each commit, as module:function (default: the recorded "
            "entrypoint).",
            show_default=False,
        ),
    ] = None,
    repeat: Annotated[
        int,
        typer.Option("--repeat", "-n", min=1, help="Replays per commit; they must all agree."),
    ] = DEFAULT_REPEATS,
    allow_host: AllowHostOption = None,
    as_json: JsonOption = False,
    debug: DebugOption = False,
) -> None:
    """Find the first commit where replaying CASSETTE gives the --expect verdict.

    Drives 'git bisect run' with 'replay run CASSETTE --expect VERDICT' in a temporary
    git worktree: your checkout, its uncommitted changes and 'git status' are left as
    they are. The cassette is the one given (the same recorded world at every commit);
    the agent is the code of each commit. The two ends are checked first. A commit whose
    verdict is undecided (diverged, flaky) or whose agent cannot be imported is skipped.

    Default --expect reproduced: the commit that brought the incident in, or, with
    --agent naming a fix, the commit where the fix stops working. --expect fixed finds
    the commit that fixed it.

    Exit status: 0 the first commit found, 2 only skipped commits were left (the
    candidates are listed), 3 not a git repository, a bad revision, a missing cassette,
    or ends that do not give the verdicts a bisection needs.

    Examples:

      replay bisect cassettes/incidents/run_9fd2.yaml --good v1.4 --bad HEAD

      replay bisect run_9fd2.yaml --good v1.4 --bad HEAD --expect fixed
    """
    from replay.bisect import bisect

    console = stdout_console()
    on_step = _printer(stderr_console())  # stderr: --json keeps stdout to the result
    result = bisect(
        cassette,
        good=good,
        bad=bad,
        expect=expect.value,
        agent=agent,
        repeat=repeat,
        allow_hosts=allow_host or (),
        on_step=on_step,
    )
    code = EXIT_OK if result.found else EXIT_UNDECIDED
    if as_json:
        data = result.to_dict()
        data["exit_status"] = code
        print_json(data)
    else:
        render_result(console, result)
    raise typer.Exit(code)


def step_line(step: BisectStep) -> Text:
    """``a1b2c3d4e5  bad   reproduced (evidence)  subject``."""
    line = Text(f"{step.short}  ")
    line.append(f"{step.decision:<5}", style=DECISION_STYLES.get(step.decision, ""))
    verdict = f"{step.verdict} ({step.mode})" if step.verdict else "no verdict"
    line.append(f" {verdict:<24} ")
    line.append(step.subject, style="dim")
    if step.role:
        line.append(f"  [--{step.role}]", style="dim")
    if step.decision == "skip":
        line.append(f"\n            {step.reason}", style="yellow")
    return line


def _printer(console: Console) -> Callable[[BisectStep], None]:
    """Each step on stderr as it is decided (stdout keeps the result)."""

    def show(step: BisectStep) -> None:
        console.print(step_line(step), soft_wrap=True)

    return show


def render_result(console: Console, result: BisectResult) -> None:
    """The first bad commit with its verdict and the command that shows it."""
    what = f"replay gives {result.expect}"
    if result.first_bad is None:
        console.print(
            Text(
                f"Undecided: skipped commits leave {len(result.candidates)} candidates for "
                f"the first commit where {what}:",
                style="bold yellow",
            )
        )
        for commit in result.candidates:
            console.print(f"  {commit[:10]}", markup=False)
        return
    first = result.first_bad
    tested = sum(1 for s in result.steps if not s.role)
    title = Text("First commit where ", style="bold")
    title.append(what, style="bold")
    title.append(f": {first.short} ", style="bold red")
    title.append(first.subject)
    console.print(title, soft_wrap=True)
    console.print(
        Text(
            f"  {result.commits_between} commits after --good {result.good}; "
            f"{tested} tested between the ends",
            style="dim",
        )
    )
    console.print(Text(f"  verdict {first.verdict} ({first.mode}): {first.reason}"), soft_wrap=True)
    command = ["replay", "run", result.cassette]
    if result.agent:
        command += ["--agent", result.agent]
    console.print(Text("Reproduce (in a checkout of that commit):", style="bold"))
    console.print(f"  git checkout {first.short}", markup=False)
    console.print(wrapped_shell_command(command, width=console.width), markup=False)
