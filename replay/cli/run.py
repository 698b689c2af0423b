"""``replay run``: replay the current code against a cassette N times and give the verdict
with the evidence behind it (replay.verdict decides; this module only shows it)."""

from __future__ import annotations

import contextlib
import enum
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich import box
from rich.table import Table
from rich.text import Text

from replay.cli.common import (
    EXIT_FAILED,
    EXIT_OK,
    AllowHostOption,
    AllowNetworkOption,
    DebugOption,
    JsonOption,
    OnMissOption,
    agent_stdout_to_stderr,
    print_json,
    shell_command,
    stderr_console,
    stdout_console,
    wrapped_shell_command,
)
from replay.cli.render import (
    KIND_STYLES,
    bullet_list,
    change_label,
    changes_view,
    indented,
    outcome_text,
)
from replay.report.text import MODE_NOTES
from replay.signals import bare_class_name

if TYPE_CHECKING:
    from rich.console import Console

    from replay.cassette import Outcome
    from replay.engine import ReplayResult
    from replay.verdict import Verdict

DEFAULT_REPEATS = 3


class ExpectedVerdict(enum.StrEnum):
    """The verdicts ``--expect`` accepts (the values of ``replay.verdict.VerdictKind``,
    repeated here so that ``replay --help`` does not import the replay engine)."""

    REPRODUCED = "reproduced"
    FIXED = "fixed"
    DIVERGED = "diverged"
    FLAKY = "flaky"
    MATCH = "match"
    REGRESSED = "regressed"


VERDICT_STYLES = {
    "match": "bold green",
    "fixed": "bold green",
    "reproduced": "bold red",
    "regressed": "bold red",
    "diverged": "bold yellow",
    "flaky": "bold yellow",
}
def run_command(
    cassette: Annotated[
        Path, typer.Argument(help="The recorded run to replay.", show_default=False)
    ],
    agent: Annotated[
        str | None,
        typer.Option(
            "--agent",
            "-a",
            help="Code to replay, as module:function (default: the recorded entrypoint).",
            show_default=False,
        ),
    ] = None,
    repeat: Annotated[
        int,
        typer.Option("--repeat", "-n", min=1, help="Replays to run; they must all agree."),
    ] = DEFAULT_REPEATS,
    expect: Annotated[
        ExpectedVerdict | None,
        typer.Option(
            "--expect",
            help="Exit 0 exactly when the verdict is this one, else 1 (for scripts and CI).",
            case_sensitive=False,
            show_default=False,
        ),
    ] = None,
    note: Annotated[
        bool,
        typer.Option(
            "--note",
            help="Record the verdict and mode in the scenarios of this cassette and agent "
            "(scenarios/*.yaml); without it nothing is written.",
        ),
    ] = False,
    allow_host: AllowHostOption = None,
    on_miss: OnMissOption = None,
    allow_network: AllowNetworkOption = False,
    html: Annotated[
        Path | None,
        typer.Option(
            "--html",
            metavar="FILE",
            help="Also write the HTML report: the verdict, both histories side by side, "
            "the step diff and the recorded run.",
            show_default=False,
        ),
    ] = None,
    as_json: JsonOption = False,
    debug: DebugOption = False,
) -> None:
    """Replay the current code against a cassette and say what that proves.

    Verdicts: reproduced (fails like the original), fixed (the failure is gone, every
    call served from the recording), match, regressed, diverged (the code asked for a
    call the cassette does not hold: a hypothesis, not evidence), flaky (the replays
    disagree).

    A fix that sends a new request (a reworded prompt) diverges; --on-miss answers such
    calls under a declared assumption, and the verdict names it and stays a hypothesis:
    nearest (the model answers as recorded after the change), repeat (the tool stays
    degraded), error (the tool keeps failing), live (the real model answers; needs
    --allow-network, and its answers are kept in RUN.live.yaml next to the cassette,
    which then replays on evidence).

    Exit status: 0 match or fixed, 1 reproduced or regressed, 2 diverged or flaky, 3 a
    usage, cassette or entrypoint error; with --expect, 0 exactly when the verdict is the
    expected one, else 1.

    Nothing is written (but RUN.live.yaml by --on-miss live): --note records the verdict
    in the scenarios of this cassette and agent.

    Examples:

      replay run cassettes/incidents/run_9fd2.yaml

      replay run run_9fd2.yaml --agent support_agent.fixed:run --expect fixed

      replay run run_a113.yaml --agent support_agent.fixed:run --on-miss nearest
    """
    from replay.hermetic import allowing
    from replay.on_miss import parse_on_miss, require_network
    from replay.storage import load_cassette
    from replay.verdict import verdict_for

    policy = on_miss.value if on_miss is not None else None
    require_network(parse_on_miss(policy), allow_network=allow_network)
    original = load_cassette(cassette)
    if agent is None:
        from replay.engine import recorded_entrypoint

        recorded_entrypoint(original, remedy="name the code to replay with --agent module:function")
    with allowing(allow_host or ()), _progress(repeat) as on_replay, agent_stdout_to_stderr():
        verdict = verdict_for(
            original,
            agent=agent,
            repeats=repeat,
            on_replay=on_replay,
            on_miss=policy,
            allow_network=allow_network,
        )
    if note:
        _note_in_scenarios(verdict)
    command = ["replay", "run", str(cassette)]
    if agent:
        command += ["--agent", agent]
    if repeat != DEFAULT_REPEATS:
        command += ["--repeat", str(repeat)]
    for host in allow_host or ():
        command += ["--allow-host", host]
    if policy is not None:
        command += ["--on-miss", policy]
    if allow_network:
        command.append("--allow-network")
    if expect is None:
        code = verdict.exit_code
    else:
        code = EXIT_OK if verdict.verdict == expect.value else EXIT_FAILED
    data = verdict_dict(verdict, command=command, expect=expect, exit_status=code)
    if html is not None:
        _write_html(html, verdict, data)
    if as_json:
        print_json(data)
    else:
        render_verdict(stdout_console(), verdict, command=command, expect=expect, passing=code == 0)
    raise typer.Exit(code)


def _write_html(path: Path, verdict: Verdict, data: dict[str, Any]) -> None:
    from replay.report.html import render_verdict as verdict_page
    from replay.storage import atomic_write_text

    page = verdict_page(data, original=verdict.cassette, history=verdict.replay.history)
    written = atomic_write_text(path, page, durable=False)
    sys.stderr.write(f"wrote {written}\n")


def _note_in_scenarios(verdict: Verdict) -> None:
    """``--note``: the scenarios of this cassette and agent take this verdict and mode; a
    scenario file that cannot be updated is reported, not fatal to the replay."""
    from replay.errors import ReplayError
    from replay.scenarios import note_verdict

    try:
        written = note_verdict(verdict)
    except (ReplayError, OSError) as exc:
        stderr_console().print(f"replay: warning: scenarios not updated: {exc}", markup=False)
        return
    for path in written:
        shown = os.path.relpath(path) if not os.path.relpath(path).startswith("..") else path
        stderr_console().print(
            f"updated {shown} (mode {verdict.mode})", markup=False, soft_wrap=True
        )


def verdict_dict(
    verdict: Verdict, *, command: list[str], expect: ExpectedVerdict | None, exit_status: int
) -> dict[str, Any]:
    """``Verdict.to_dict()`` plus each replay's summary, the reproduce command, the exit status."""
    data = verdict.to_dict()
    data["replays"] = [_replay_summary(result) for result in verdict.results]
    data["expected"] = expect.value if expect is not None else None
    data["exit_status"] = exit_status
    data["reproduce"] = shell_command(command)
    return data


def _replay_summary(result: ReplayResult) -> dict[str, Any]:
    return {
        "stop_reason": result.outcome.stop_reason,
        "error_class": result.outcome.error_class,
        "steps": len(result.history),
        "divergence_step": result.divergence.step if result.divergence else None,
        "identical": result.identical,
        "virtual_wait_s": result.virtual_wait_s,
        "assumed_calls": len(result.assumed),
    }


@contextlib.contextmanager
def _progress(total: int) -> Iterator[Callable[[int, ReplayResult], None]]:
    """Progress on stderr: a live bar on a terminal, else one plain line per replay."""
    console = stderr_console()
    if not console.is_terminal:

        def plain(index: int, result: ReplayResult) -> None:
            sys.stderr.write(f"replay {index + 1}/{total}: {_one_replay(result)}\n")
            sys.stderr.flush()

        yield plain
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn

    with Progress(
        SpinnerColumn(),
        TextColumn("replaying"),
        BarColumn(bar_width=20),
        MofNCompleteColumn(),
        TextColumn("{task.description}"),
        console=console,
        transient=True,
        redirect_stdout=False,
    ) as progress:
        task = progress.add_task("", total=total)

        def live(index: int, result: ReplayResult) -> None:
            progress.update(task, completed=index + 1, description=_one_replay(result))

        yield live


def _one_replay(result: ReplayResult) -> str:
    if result.divergence is not None:
        return f"diverged at step {result.divergence.step}"
    text = f"{_count(len(result.history), 'step')}, stop_reason {result.outcome.stop_reason}"
    return text + (", same as recorded" if result.identical else "")


def render_verdict(
    console: Console,
    verdict: Verdict,
    *,
    command: list[str],
    expect: ExpectedVerdict | None,
    passing: bool,
) -> None:
    """The human report: verdict and mode, the two runs side by side, the first
    divergence, the step diff, and the command to reproduce when not passing."""
    title = Text("Verdict: ", style="bold")
    title.append(verdict.verdict.upper(), style=VERDICT_STYLES.get(verdict.verdict, "bold"))
    title.append(f"  {verdict.mode}: {MODE_NOTES.get(verdict.mode, '')}", style="dim")
    console.print(title)
    if verdict.assumption is not None:
        console.print(indented(Text(verdict.headline, style="yellow"), 2))
    console.print(indented(Text(verdict.reason), 2))
    if verdict.assumed:
        console.print(Text(f"  answered by on-miss {verdict.on_miss}:", style="yellow"))
        console.print(bullet_list([_assumed_line(call) for call in verdict.assumed], left=4))
        if verdict.derived_cassette:
            console.print(
                indented(
                    Text(
                        f"live answers kept in {verdict.derived_cassette}: replay it for a "
                        "verdict on evidence"
                    ),
                    2,
                )
            )
    if verdict.approximations:
        console.print(Text("  a hypothesis because the replay rested on:", style="yellow"))
        console.print(bullet_list(verdict.approximations, left=4))
    if expect is not None:
        wanted = Text(f"  expected {expect.value}: ")
        hit = verdict.verdict == expect.value
        wanted.append(
            "yes" if hit else f"no, got {verdict.verdict}", style="green" if hit else "red"
        )
        console.print(wanted)
    console.print()
    console.print(Text(f"cassette {verdict.cassette.path}", style="dim"))
    console.print(Text(f"agent    {verdict.replay.agent}", style="dim"))
    console.print(runs_table(verdict))
    console.print()

    if verdict.verdict == "flaky":
        console.print(Text("Replays", style="bold"))
        lines = [f"#{i}: {_one_replay(r)}" for i, r in enumerate(verdict.results, start=1)]
        if verdict.flaky_step is not None:
            lines.append(f"they first disagree at step {verdict.flaky_step}")
        console.print(bullet_list(lines, left=2))
        console.print()

    first = verdict.replay
    if first.divergence is not None:
        div = first.divergence
        line = Text("First divergence: ", style="bold")
        line.append(f"step {div.step} ")
        line.append(div.kind, style=KIND_STYLES.get(div.kind, ""))
        line.append(f" {div.name}: {div.reason}")
        console.print(line)
        if div.nearest_step is not None:
            console.print(indented(Text(f"nearest recorded call: step {div.nearest_step}"), 2))
        for diff_line in div.args_diff:
            console.print(indented(Text(diff_line, style="dim"), 4))
        console.print()
    elif verdict.diff.changes and verdict.verdict != "flaky":
        change = verdict.diff.changes[0]
        line = Text("First difference: ", style="bold")
        line.append(f"{change_label(change)} {change.kind} {change.name}: {change.cause}")
        console.print(line)
        console.print()

    diff = verdict.diff
    label = "Replay #1 vs the replay that disagrees" if verdict.verdict == "flaky" else "Step diff"
    heading = Text(label, style="bold")
    heading.append(
        f"  {_count(len(diff.changes), 'change')}, {_count(diff.equal_steps, 'equal step')}",
        style="dim",
    )
    console.print(heading)
    console.print(changes_view(diff))

    if not passing:
        console.print()
        console.print(Text("Reproduce:", style="bold"))
        console.print(
            wrapped_shell_command(command, width=console.width), soft_wrap=True, markup=False
        )


def _assumed_line(call: Any) -> str:
    """``step 2 llm gpt-4o-mini <- recorded step 1`` (or ``<- live from host``)."""
    source = (
        f"recorded step {call.answered_by}"
        if call.answered_by is not None
        else f"live{f' from {call.host}' if call.host else ''}"
    )
    return f"step {call.step} {call.kind} {call.name} <- {source}"


def runs_table(verdict: Verdict) -> Table:
    """The original run and the (first) replay side by side."""
    original, first = verdict.cassette, verdict.replay
    data = verdict.to_dict()
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    table.add_column("")
    table.add_column("original", overflow="fold", ratio=1)
    table.add_column(f"replay (x{len(verdict.results)})", overflow="fold", ratio=1)
    table.add_row("stop_reason", outcome_text(original.outcome), outcome_text(first.outcome))
    table.add_row("error", _error(original.outcome), _error(first.outcome))
    table.add_row("steps", str(len(original.steps)), str(len(first.history)))
    table.add_row(
        "first step error",
        _failing(data["original"]["failing_step"]),
        _failing(data["replay"]["failing_step"]),
    )
    return table


def _error(outcome: Outcome) -> Text:
    if outcome.error is None:
        return Text("-", style="dim")
    text = Text(bare_class_name(outcome.error.error_class) or "", style="red")
    if outcome.error.message:
        text.append(f": {_clip(outcome.error.message, 70)}")
    return text


def _failing(step: dict[str, Any] | None) -> str:
    if step is None:
        return "-"
    return f"#{step['index']} {step['kind']} {step['name']}"


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _clip(text: str, width: int) -> str:
    line = " ".join(str(text).split())
    return line if len(line) <= width else line[: width - 3] + "..."
