"""``replay golden``: replay the golden set against this build and report the release diff.

``replay golden [DIR ...]`` runs the set (``run`` is the default sub-command),
``replay golden merge`` combines the JSON reports of CI shards, ``replay golden add``
promotes a recorded run into the set. ``replay.golden`` does the work; this module reads
options and config, shows progress and renders the report.
"""

from __future__ import annotations

import contextlib
import itertools
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from replay.cli.common import (
    EXIT_OK,
    AllowHostOption,
    AllowNetworkOption,
    DebugOption,
    JsonOption,
    OnMissOption,
    ReplayCommand,
    ReplayGroup,
    UpdateOption,
    YesOption,
    agent_stdout_to_stderr,
    command_help,
    confirm_overwrite,
    print_json,
    stderr_console,
    stdout_console,
    wrapped_shell_command,
)

if TYPE_CHECKING:
    from rich.console import Console

    from replay.golden import GoldenReport, RunRecord


class GoldenGroup(ReplayGroup):
    """``replay golden [DIR ...]`` means ``replay golden run [DIR ...]``: a first argument
    that is not a sub-command (or none at all) runs the set. A folder named like a
    sub-command needs the explicit form: ``replay golden run merge/``."""

    def parse_args(self, ctx: typer.Context, args: list[str]) -> list[str]:  # type: ignore[override]
        if not args or (args[0] not in self.commands and args[0] not in ctx.help_option_names):
            args = ["run", *args]
        return super().parse_args(ctx, args)


GOLDEN_HELP = """Replay the golden set against this build and report the release diff.

replay golden [DIR ...] replays every cassette of the set (default: cassettes/golden,
or dir in \\[tool.replay.golden]) and compares the recorded runs with the replays: verdict
per run, then error rate, stop reasons, p50/p95 latency, steps, repeated tool calls,
tokens and tool calls, by workflow, model and tool. Exit status: 0 passing, 1 a run
regressed/diverged/was flaky or a figure crossed its threshold, 3 usage error or a run
that could not be replayed at all.

Examples:

  replay golden

  replay golden --shard 1/4 --json > shard-1.json

  replay golden merge shard-*.json --markdown diff.md --junit golden.xml

  replay golden --on-miss nearest --update
"""

app = typer.Typer(
    name="golden",
    cls=GoldenGroup,
    help=command_help(GOLDEN_HELP),
    add_completion=False,
    pretty_exceptions_enable=False,
)

JunitOption = Annotated[
    Path | None,
    typer.Option(
        "--junit",
        metavar="FILE",
        help="Also write JUnit XML (a testcase per run and per threshold) for CI.",
        show_default=False,
    ),
]
HtmlOption = Annotated[
    Path | None,
    typer.Option(
        "--html",
        metavar="FILE",
        help="Also write the HTML report: release diff, charts, runs that changed.",
        show_default=False,
    ),
]
MarkdownOption = Annotated[
    Path | None,
    typer.Option(
        "--markdown",
        metavar="FILE",
        help="Also write a markdown summary for a PR comment.",
        show_default=False,
    ),
]


def run_command(
    dirs: Annotated[
        list[Path] | None,
        typer.Argument(
            help="Golden set folders (default: cassettes/golden, or \\[tool.replay.golden] dir).",
            metavar="DIR",
            show_default=False,
        ),
    ] = None,
    agent: Annotated[
        str | None,
        typer.Option(
            "--agent",
            "-a",
            help="Replay this module:function instead of each cassette's recorded entrypoint.",
            show_default=False,
        ),
    ] = None,
    workers: Annotated[
        str | None,
        typer.Option(
            "--workers",
            "-n",
            metavar="auto|N",
            help="Worker processes: auto (one per core), N, or 0 to run in this process.",
            show_default=False,
        ),
    ] = None,
    repeat: Annotated[
        int | None,
        typer.Option(
            "--repeat",
            help="Replays per run (default 2); they must agree, else the run is flaky.",
            show_default=False,
        ),
    ] = None,
    release: Annotated[
        str | None,
        typer.Option(
            "--release",
            help="Name of this build in the report (default: git describe, else HEAD).",
            show_default=False,
        ),
    ] = None,
    shard: Annotated[
        str | None,
        typer.Option(
            "--shard",
            metavar="i/n",
            help="Replay only shard i of n (stable by cassette path); merge with 'merge'.",
            show_default=False,
        ),
    ] = None,
    junit: JunitOption = None,
    markdown: MarkdownOption = None,
    html: HtmlOption = None,
    progress: Annotated[
        bool | None,
        typer.Option(
            "--progress/--no-progress",
            help="Progress on stderr (default: a bar on a terminal, a few lines otherwise).",
            show_default=False,
        ),
    ] = None,
    allow_host: AllowHostOption = None,
    on_miss: OnMissOption = None,
    allow_network: AllowNetworkOption = False,
    update: UpdateOption = False,
    yes: YesOption = False,
    as_json: JsonOption = False,
    debug: DebugOption = False,
) -> None:
    """Replay every cassette of the golden set and report the release diff.

    Each run is replayed --repeat times and judged: match, regressed, diverged, flaky
    (fixed when a failed baseline now completes; error when it cannot be replayed). The
    recorded runs (the baseline release) are compared with the replays (this build);
    figures worse than the thresholds in \\[tool.replay.golden] are flagged.

    Exit status: 0 passing, 1 a run regressed/diverged/was flaky or a figure crossed its
    threshold, 3 usage error or a run that could not be replayed at all.

    --on-miss (or on_miss in \\[tool.replay.golden]) answers calls a baseline does not
    hold under a named assumption (see 'replay run --help'). --update accepts intended
    changes: runs whose replay differs are re-recorded from it after the diff is shown
    (asked on a terminal; --yes otherwise), then judged again.

    Examples:

      replay golden -n auto --markdown golden.md --junit golden.xml

      replay golden --on-miss nearest --update --yes

      replay golden cassettes/golden --agent support_agent.v2:run --release v2.0
    """
    from replay import golden
    from replay.config import section
    from replay.hermetic import allowing
    from replay.on_miss import parse_on_miss, require_network

    settings = golden.settings_from_config(section("golden"))
    policy = on_miss.value if on_miss is not None else settings.on_miss
    require_network(parse_on_miss(policy), allow_network=allow_network)
    folders = [str(d) for d in dirs] if dirs else [settings.dir]
    worker_count = golden.resolve_workers(workers if workers is not None else settings.workers)
    repeats = repeat if repeat is not None else settings.repeat
    if repeats < 1:
        raise golden.GoldenError(f"--repeat must be at least 1, not {repeats}")
    shard_spec = golden.parse_shard(shard) if shard is not None else None
    label = release or golden.default_release_label()
    started = time.perf_counter()
    with (
        allowing(allow_host or ()),
        _progress(enabled=progress) as (on_start, on_result),
        agent_stdout_to_stderr(),
    ):
        report = golden.run_golden(
            folders,
            agent=agent,
            repeat=repeats,
            workers=worker_count,
            release=label,
            thresholds=settings.thresholds,
            shard=shard_spec,
            on_start=on_start,
            on_result=on_result,
            on_miss=policy,
            allow_network=allow_network,
        )
    elapsed = time.perf_counter() - started
    how = f"{repeats} replay{'s' if repeats != 1 else ''} per run, " + (
        f"{worker_count} worker{'s' if worker_count != 1 else ''}" if worker_count else "serial"
    )
    if policy is not None:
        how += f", on-miss {policy}"
    note = f"{how}, {elapsed:.1f} s"
    accepted = None
    if update:
        with allowing(allow_host or ()):
            report, accepted = _accept_changes(
                report,
                note=note,
                as_json=as_json,
                yes=yes,
                allow_network=allow_network,
            )
    _finish(
        report,
        as_json=as_json,
        junit=junit,
        markdown=markdown,
        html=html,
        note=note,
        accepted=accepted,
    )


def merge_command(
    reports: Annotated[
        list[Path],
        typer.Argument(help="JSON reports of the shards ('replay golden --shard i/n --json')."),
    ],
    partial: Annotated[
        bool,
        typer.Option("--partial", help="Merge even when some shards are missing."),
    ] = False,
    junit: JunitOption = None,
    markdown: MarkdownOption = None,
    html: HtmlOption = None,
    as_json: JsonOption = False,
    debug: DebugOption = False,
) -> None:
    """Combine the JSON reports of shards into the release diff of the whole set.

    The shards must come from one build with the same settings and together cover every
    shard once; the merged report is the one an unsharded run gives (aggregates are
    recomputed from the per-run figures). Exit status as for 'replay golden'.

    Example:

      replay golden merge shard-1.json shard-2.json --markdown golden.md
    """
    from replay import golden

    loaded = [golden.load_report(path) for path in reports]
    report = golden.merge_reports(loaded, sources=[str(p) for p in reports], partial=partial)
    note = f"merged {len(loaded)} report{'s' if len(loaded) != 1 else ''}"
    _finish(report, as_json=as_json, junit=junit, markdown=markdown, html=html, note=note)


def add_command(
    cassette: Annotated[Path, typer.Argument(help="The recorded run to promote.")],
    to: Annotated[
        Path | None,
        typer.Option(
            "--to",
            metavar="DIR",
            help="The golden set (default: cassettes/golden, or dir in \\[tool.replay.golden]).",
            show_default=False,
        ),
    ] = None,
    force: Annotated[
        bool,
        typer.Option("--force", help="Add the run even though it failed."),
    ] = False,
    as_json: JsonOption = False,
    debug: DebugOption = False,
) -> None:
    """Promote a recorded healthy run into the golden set (an atomic copy).

    The cassette keeps its file name, or takes its run id when that name is taken; a
    run that failed is refused unless --force. Adding the same file again changes nothing.

    Example:

      replay golden add recordings/run_9fd2.yaml
    """
    from replay import golden
    from replay.config import section
    from replay.storage import load_cassette

    folder = to if to is not None else Path(golden.settings_from_config(section("golden")).dir)
    target, copied = golden.add_to_golden(cassette, to=folder, force=force)
    context = load_cassette(target).context
    if as_json:
        print_json(
            {
                "path": str(target),
                "added": copied,
                "run_id": context.run_id,
                "workflow": context.workflow,
                "release": context.release,
            }
        )
    else:
        what = "added" if copied else "already in the golden set:"
        stdout_console().print(
            f"{what} {target} (run {context.run_id}, workflow {context.workflow or '-'})",
            markup=False,
        )
    raise typer.Exit(EXIT_OK)


for _name, _command in (("run", run_command), ("merge", merge_command), ("add", add_command)):
    app.command(_name, cls=ReplayCommand, help=command_help(_command.__doc__))(_command)


# ------------------------------------------------------------------ output


def _accept_changes(
    report: GoldenReport, *, note: str, as_json: bool, yes: bool, allow_network: bool
) -> tuple[GoldenReport, dict[str, Any]]:
    """``--update``: show the report and the difference of every changed run, re-record
    them once confirmed, judge them again; the report after, and what was done."""
    from dataclasses import replace

    from rich.text import Text

    from replay import golden
    from replay.cli.render import updates_view
    from replay.rerecord import plan_update, write_update

    changed = [
        r
        for r in report.runs
        if r.verdict != "error" and (r.verdict != "match" or r.changes or r.assumed_calls)
    ]
    console = stderr_console() if as_json else stdout_console()
    if not as_json:
        render_report(console, report, note=note, status=False)
    if not changed:
        console.print("--update: every run replays as recorded; nothing to re-record")
        return report, {"planned": [], "written": [], "confirmed": False}
    updates = []
    with agent_stdout_to_stderr():
        for record in changed:
            if record.verdict == "flaky":
                refused = "the replays disagree: re-recording would keep one of several behaviours"
                updates.append(_refused(record, refused))
                continue
            updates.append(
                plan_update(
                    record.path,
                    label=record.key,
                    agent=report.agent,
                    on_miss=report.on_miss,
                    allow_network=allow_network,
                    release=report.candidate_release,
                )
            )
    ready = [u for u in updates if u.cassette is not None]
    console.print(updates_view(updates))
    written: list[str] = []
    noun = f"{len(ready)} baseline{'s' if len(ready) != 1 else ''}"
    confirmed = bool(ready) and confirm_overwrite(noun, yes=yes)
    if confirmed:
        for item in ready:
            written.append(str(write_update(item)))
            console.print(f"re-recorded {item.path}", markup=False)
        by_key = {r.key: r for r in changed}
        judged = {}
        with agent_stdout_to_stderr():
            for item in ready:
                record = by_key[item.label]
                entry = golden.GoldenEntry(record.key, record.path)
                judged[item.label] = golden.evaluate(
                    entry,
                    agent=report.agent,
                    repeat=report.repeat,
                    on_miss=report.on_miss,
                    allow_network=allow_network,
                )
        runs = golden.record_spool()  # the set as it is now, on disk like run_set's
        for record in report.runs:  # in key order already
            runs.append(judged.get(record.key, record))
        report = replace(report, runs=runs)
        counts = ", ".join(f"{n} {kind}" for kind, n in report.counts.items() if n)
        console.print(Text(f"after re-recording: {counts}", style="bold"))
    console.print()
    done = {
        "planned": [item.to_dict() for item in updates],
        "written": written,
        "confirmed": confirmed,
    }
    return report, done


def _refused(record: RunRecord, reason: str) -> Any:
    from replay.rerecord import Update

    return Update(record.path, record.key, None, refused=reason)


def _finish(
    report: GoldenReport,
    *,
    as_json: bool,
    junit: Path | None,
    markdown: Path | None,
    note: str,
    accepted: dict[str, Any] | None = None,
    html: Path | None = None,
) -> None:
    """Write the requested files, print the report, exit with its status (after
    ``--update``, the report of the set as it is now, and only its status line)."""
    written = write_report_files(report, junit=junit, markdown=markdown, html=html)
    if as_json:
        for piece in report.iter_json(None if accepted is None else {"update": accepted}):
            sys.stdout.write(piece)
        sys.stdout.flush()
    elif accepted is not None:
        _status_line(stdout_console(), report)
    else:
        render_report(stdout_console(), report, note=note)
    for path in written:
        sys.stderr.write(f"wrote {path}\n")
    raise typer.Exit(report.exit_code)


def write_report_files(
    report: GoldenReport,
    *,
    junit: Path | None = None,
    markdown: Path | None = None,
    html: Path | None = None,
) -> list[Path]:
    """Write the requested reports, atomically; the runs are read from the report one at
    a time (JUnit and HTML list them; the HTML page details the runs that changed only)."""
    from replay.report import render_markdown
    from replay.report.junit import iter_junit
    from replay.storage import atomic_write_text

    written = []
    if junit is not None:
        written.append(atomic_write_text(junit, iter_junit(report)))
    if markdown is not None:
        written.append(atomic_write_text(markdown, render_markdown(report)))
    if html is not None:
        from replay.report.html import render_golden

        data = {**report.header_dict(), "runs": (r.to_dict() for r in report.runs)}
        written.append(atomic_write_text(html, render_golden(data), durable=False))
    return written


@contextlib.contextmanager
def _progress(
    *, enabled: bool | None
) -> Iterator[tuple[Callable[[int], None], Callable[[RunRecord], None]]]:
    """Progress on stderr: a live bar on a terminal, else a line every tenth of the set."""
    console = stderr_console()
    state = {"total": 0, "done": 0, "changed": 0}

    def count(record: RunRecord) -> None:
        state["done"] += 1
        state["changed"] += record.verdict != "match"

    def start(total: int) -> None:
        state["total"] = total

    if enabled is False:

        def quiet(record: RunRecord) -> None:
            count(record)

        yield start, quiet
        return
    if not console.is_terminal:

        def lines(record: RunRecord) -> None:
            count(record)
            done, total = state["done"], state["total"]
            if done == total or done % max(1, total // 10) == 0:
                sys.stderr.write(f"golden: {done}/{total} runs, {state['changed']} changed\n")
                sys.stderr.flush()

        yield start, lines
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(
        TextColumn("replaying golden set"),
        BarColumn(bar_width=24),
        MofNCompleteColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
        redirect_stdout=False,
    ) as bar:
        task = bar.add_task("", total=None)

        def live_start(total: int) -> None:
            start(total)
            bar.update(task, total=total)

        def live(record: RunRecord) -> None:
            count(record)
            bar.update(task, completed=state["done"], description=f"{state['changed']} changed")

        yield live_start, live


VERDICT_STYLES = {
    "match": "green",
    "fixed": "green",
    "regressed": "bold red",
    "diverged": "bold yellow",
    "flaky": "bold yellow",
    "error": "bold red",
}
MAX_RUN_ROWS = 20


def _pair(figure: str, baseline: Any, candidate: Any) -> str:
    from replay.golden import format_figure

    before, after = format_figure(figure, baseline), format_figure(figure, candidate)
    return before if before == after else f"{before} → {after}"


def _tokens_in_out(side: dict[str, Any]) -> str:
    if side["input_tokens"] is None:
        return "-"
    return f"{side['input_tokens']}/{side['output_tokens']}"


def render_report(
    console: Console, report: GoldenReport, *, note: str = "", status: bool = True
) -> None:
    """The human report, readable at 80 columns: verdict counts, the runs that changed,
    the overall diff, the diff by workflow, model and tool, flagged figures, the status."""
    from rich import box
    from rich.table import Table
    from rich.text import Text

    from replay.golden import describe_change
    from replay.report.text import OVERALL_ROWS, divergence_text, stop_reasons_text

    title = Text("Golden set ", style="bold")
    title.append(f"{', '.join(report.golden_dirs)}  ")
    title.append(f"{report.baseline_label} → {report.candidate_release}", style="bold")
    if report.shard is not None:
        title.append(f"  shard {report.shard[0]}/{report.shard[1]}", style="dim")
    console.print(title)
    details = f"{len(report.runs)} runs, agent {report.agent or 'as recorded'}"
    console.print(Text(f"{details}; {note}" if note else details, style="dim"))
    counts = Text("Verdicts: ")
    for kind, number in report.counts.items():
        if number:
            counts.append(f"{number} {kind}", style=VERDICT_STYLES.get(kind, ""))
            counts.append("  ")
    console.print(counts)
    assumed = report.tally.assumed
    if assumed:
        texts = sorted(report.tally.assumptions)
        console.print(
            Text(
                f"{assumed} run{'s' if assumed != 1 else ''} judged under on-miss "
                f"{report.on_miss}, a hypothesis: assuming {'; '.join(texts)}",
                style="yellow",
            )
        )
    console.print()

    changed = report.tally.runs - report.counts["match"]
    if changed:
        runs = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, title_justify="left")
        runs.title = Text(f"Runs that changed ({changed})", style="bold")
        runs.add_column("verdict", no_wrap=True)
        runs.add_column("run", overflow="fold", ratio=2)
        runs.add_column("workflow", overflow="fold")
        runs.add_column("where", overflow="fold", ratio=3)
        shown = itertools.islice(report.runs_where(lambda r: r.verdict != "match"), MAX_RUN_ROWS)
        for record in shown:
            where = record.reason if record.verdict == "error" else divergence_text(record)
            runs.add_row(
                Text(record.verdict, style=VERDICT_STYLES.get(record.verdict, "")),
                record.key,
                record.workflow or "-",
                where,
            )
        console.print(runs)
        if changed > MAX_RUN_ROWS:
            console.print(
                Text(f"  ... and {changed - MAX_RUN_ROWS} more (see --json or --markdown)")
            )
        console.print()

    flagged = {(c.segment, c.name, c.figure) for c in report.flags}
    overall = report.diff["overall"]
    diverged = report.diverged_count
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, title_justify="left")
    table.title = Text(f"Release diff {report.coverage}", style="bold")
    if diverged:
        console.print(
            Text(
                f"{diverged} run{'s' if diverged != 1 else ''} diverged: the replay "
                "stopped where the recording has no answer, so there is no latency or "
                "outcome of this build to measure. They are listed above and left out of "
                "every figure below (both sides).",
                style="yellow",
            )
        )
        console.print()
    table.add_column("figure")
    table.add_column(f"baseline ({report.baseline_label})", overflow="fold")
    table.add_column(f"this build ({report.candidate_release})", overflow="fold")
    table.add_column("change", justify="right", no_wrap=True)
    table.add_row(
        "stop reasons",
        stop_reasons_text(overall["baseline"]["stop_reasons"]),
        stop_reasons_text(overall["candidate"]["stop_reasons"]),
        "",
    )
    from replay.golden import format_figure

    for figure, title_text in OVERALL_ROWS:
        before, after = overall["baseline"][figure], overall["candidate"][figure]
        change = Text(describe_change(figure, before, after))
        if ("overall", "", figure) in flagged:
            change.stylize("bold red")
            change.append(" !", style="bold red")
        table.add_row(
            title_text.lower(), format_figure(figure, before), format_figure(figure, after), change
        )
    if overall["replayed"]:
        console.print(table)
    else:
        console.print(table.title)
        console.print(Text("no run replayed to the end: no figures to compare", style="yellow"))
    console.print()

    workflows = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, title_justify="left")
    workflows.title = Text("By workflow", style="bold")
    workflows.add_column("workflow", overflow="fold")
    workflows.add_column("runs", justify="right")
    if diverged:
        workflows.add_column("diverged", justify="right")
    for heading in ("error rate", "p95 latency", "steps/run", "repeated"):
        workflows.add_column(heading, overflow="fold")
    columns = ("error_rate", "p95_latency_ms", "steps_per_run", "repeated_tool_calls")
    for name, segment in report.diff["workflows"].items():
        cells: list[Any] = [name, str(segment["runs"])]
        if diverged:
            cells.append(str(segment["diverged"]))
        for figure in columns:
            cell = Text(_pair(figure, segment["baseline"][figure], segment["candidate"][figure]))
            if ("workflow", name, figure) in flagged:
                cell.stylize("bold red")
            cells.append(cell)
        workflows.add_row(*cells)
    console.print(workflows)
    console.print()

    models = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, title_justify="left")
    models.title = Text("By model", style="bold")
    models.add_column("model", overflow="fold")
    models.add_column("runs", justify="right")
    models.add_column("error rate", overflow="fold")
    models.add_column("llm calls", overflow="fold")
    models.add_column("tokens in/out", overflow="fold")
    for name, segment in report.diff["models"].items():
        before, after = segment["baseline"], segment["candidate"]
        tokens_before = _tokens_in_out(before)
        tokens_after = _tokens_in_out(after)
        error = Text(_pair("error_rate", before["error_rate"], after["error_rate"]))
        if ("model", name, "error_rate") in flagged:
            error.stylize("bold red")
        models.add_row(
            name,
            str(segment["runs"]),
            error,
            _pair("llm_calls", before["llm_calls"], after["llm_calls"]),
            tokens_before if tokens_before == tokens_after else f"{tokens_before} → {tokens_after}",
        )
    console.print(models)
    console.print()

    if report.diff["tools"]:
        tools = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, title_justify="left")
        tools.title = Text("By tool", style="bold")
        tools.add_column("tool", overflow="fold")
        tools.add_column("calls", overflow="fold")
        tools.add_column("repeated calls", overflow="fold")
        tools.add_column("runs using it", overflow="fold")
        for name, sides in report.diff["tools"].items():
            before, after = sides["baseline"], sides["candidate"]
            repeated = Text(_pair("repeated", before["repeated"], after["repeated"]))
            calls = Text(_pair("calls", before["calls"], after["calls"]))
            if ("tool", name, "repeated") in flagged:
                repeated.stylize("bold red")
            if ("tool", name, "calls") in flagged:
                calls.stylize("bold red")
            tools.add_row(name, calls, repeated, _pair("runs", before["runs"], after["runs"]))
        console.print(tools)
        console.print()

    if report.flags:
        flags = Table.grid(padding=(0, 1))
        flags.title = Text(f"Over threshold ({len(report.flags)})", style="bold")
        flags.title_justify = "left"
        flags.add_column(no_wrap=True)
        flags.add_column(overflow="fold")
        for check in report.flags:
            flags.add_row(Text(" !", style="bold red"), Text(check.message))
        console.print(flags)
        console.print()

    if status:
        _status_line(console, report)


def _status_line(console: Console, report: GoldenReport) -> None:
    from rich.text import Text

    if report.exit_code == 0:
        console.print(
            Text(
                f"PASSED: {len(report.runs)} runs, no run regressed, no figure over threshold",
                style="bold green",
            )
        )
        return
    parts = [
        f"{n} {kind}" for kind, n in report.counts.items() if n and kind not in ("match", "fixed")
    ]
    if report.flags:
        parts.append(
            f"{len(report.flags)} figure{'s' if len(report.flags) != 1 else ''} over threshold"
        )
    line = Text(f"FAILED (exit {report.exit_code}): ", style="bold red")
    line.append(", ".join(parts))
    if report.affected_workflows:
        line.append(f"; workflows: {', '.join(report.affected_workflows)}")
    console.print(line)
    first = next((r for r in report.runs if r.failing), None)
    if first is not None:
        console.print(Text("Reproduce the first:", style="bold"))
        command = [
            "replay",
            "run",
            first.path,
            *(["--agent", report.agent] if report.agent else []),
        ]
        console.print(wrapped_shell_command(command, width=console.width), markup=False)
