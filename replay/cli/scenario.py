"""``replay scenario``: keep reproduced incidents as regression tests (``scenarios/*.yaml``).

``add`` turns an incident's cassette into a scenario, ``list`` shows them, ``check``
replays them as the pytest plugin does (``--write`` records each one's mode), ``fix`` and
``reopen`` change what is expected. The judging is ``replay.scenarios``'; this module
only shows it.
"""

from __future__ import annotations

import enum
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich import box
from rich.table import Table

from replay.cli.common import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_UNDECIDED,
    EXIT_USAGE,
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
    one_line,
    print_json,
    stderr_console,
    stdout_console,
)
from replay.errors import ReplayError

if TYPE_CHECKING:
    from replay.scenarios import Scenario, ScenarioCheck

app = typer.Typer(
    name="scenario",
    cls=ReplayGroup,
    help="Keep reproduced incidents as regression tests that gate merges (scenarios/*.yaml).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


class StatusChoice(enum.StrEnum):
    """``--status`` (``replay.scenarios.Status``, repeated to keep ``--help`` cheap)."""

    OPEN = "open"
    FIXED = "fixed"


RepeatsOption = Annotated[
    int | None,
    typer.Option(
        "--repeat", "-n", min=1, help="Replays per scenario (default 3).", show_default=False
    ),
]


def _project() -> tuple[Path, list[str]]:
    """The project root and its scenario folders ([tool.replay] scenarios)."""
    from replay.config import load_config
    from replay.scenarios import configured_paths, project_root

    root = project_root()
    return root, configured_paths(load_config(root))


def _importable(root: Path) -> None:
    """Agents are imported from the project root, wherever the command runs from."""
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))


def _relative(path: Path | None, root: Path) -> str:
    if path is None:
        return "-"
    try:
        return str(Path(path).resolve().relative_to(root))
    except ValueError:
        return str(path)


def add_command(
    cassette: Annotated[Path, typer.Argument(help="The incident's cassette.", show_default=False)],
    scenario_id: Annotated[
        str | None,
        typer.Option(
            "--id", help="Scenario id (default: the cassette's file name).", show_default=False
        ),
    ] = None,
    status: Annotated[
        StatusChoice | None,
        typer.Option("--status", help="open (default) or fixed.", show_default=False),
    ] = None,
    agent: Annotated[
        str | None,
        typer.Option(
            "--agent",
            "-a",
            help="module:function to replay (default: the recorded entrypoint).",
            show_default=False,
        ),
    ] = None,
    owner: Annotated[str | None, typer.Option("--owner", show_default=False)] = None,
    notes: Annotated[str | None, typer.Option("--notes", show_default=False)] = None,
    check: Annotated[
        bool, typer.Option("--check/--no-check", help="Replay it once added, to set its mode.")
    ] = True,
    force: Annotated[
        bool,
        typer.Option("--force", help="Replace an existing scenario (keeps what is not given)."),
    ] = False,
    repeat: RepeatsOption = None,
    as_json: JsonOption = False,
    debug: DebugOption = False,
) -> None:
    """Turn an incident's cassette into a scenario: scenarios/<id>.yaml.

    The failure signature (stop_reason, error class, failing step) comes from the
    cassette; the scenario is then replayed once as a check, which records its mode
    (evidence or hypothesis). Paths are stored relative to the project root.

    Example:

      replay scenario add cassettes/incidents/refund-timeout.yaml --owner alice
    """
    from dataclasses import replace

    from replay.scenarios import (
        ScenarioError,
        Status,
        load_scenario,
        new_scenario,
        save_scenario,
        with_verdict,
    )
    from replay.storage import load_cassette

    root, folders = _project()
    source = cassette.resolve()
    try:
        stored = source.relative_to(root).as_posix()
    except ValueError:
        raise ScenarioError(
            f"the cassette {cassette} is outside the project root {root}",
            hint="scenarios store paths relative to the project root; move the cassette "
            "into the project",
        ) from None
    recorded = load_cassette(source)
    sid = scenario_id or re.sub(r"[^A-Za-z0-9._-]+", "-", source.stem).strip("-._") or "incident"
    target = root / folders[0] / f"{sid}.yaml"
    previous = None
    if target.exists():
        if not force:
            raise ScenarioError(
                "a scenario with this id exists",
                path=_relative(target, root),
                hint="pass --force to replace it, or --id to choose another id",
            )
        previous = load_scenario(target)
    scenario = new_scenario(
        recorded,
        cassette_path=stored,
        scenario_id=sid,
        status=_status(status, previous.status if previous else Status.OPEN),
        agent=agent or (previous.agent if previous else None),
        owner=owner or (previous.owner if previous else None),
        notes=notes or (previous.notes if previous else None),
    )
    result = None
    if check:
        result = _run_check(scenario, root, repeat)
        if result.verdict is not None:
            scenario = with_verdict(scenario, result.verdict)
    scenario = replace(scenario, path=target)
    save_scenario(scenario, target)
    code = _exit_status([result]) if result is not None else EXIT_OK
    if as_json:
        data = {"scenario": scenario.to_dict(), "file": _relative(target, root)}
        data["check"] = result.to_dict() if result is not None else None
        data["exit_status"] = code
        print_json(data)
    else:
        console = stdout_console()
        console.print(f"added {_relative(target, root)}: {scenario.status.value} incident {sid}")
        console.print(f"  failure: {_failure_text(scenario)}")
        if result is not None:
            _print_check(console, result)
    raise typer.Exit(code)


def list_command(as_json: JsonOption = False, debug: DebugOption = False) -> None:
    """List the project's scenarios (one line each)."""
    from replay.scenarios import load_all

    root, folders = _project()
    scenarios = load_all(root=root)
    if as_json:
        print_json(
            {"scenarios": [{**s.to_dict(), "file": _relative(s.path, root)} for s in scenarios]}
        )
        return
    console = stdout_console()
    if not scenarios:
        console.print(
            f"no scenarios in {', '.join(folders)}; add one with 'replay scenario add CASSETTE'"
        )
        return
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    for column in ("id", "status", "mode", "last verdict", "cassette", "owner"):
        table.add_column(column, overflow="fold")
    for s in scenarios:
        table.add_row(
            s.id, s.status.value, s.mode.value, s.last_verdict or "-", s.cassette, s.owner or "-"
        )
    console.print(table)


def check_command(
    ids: Annotated[
        list[str] | None, typer.Argument(help="Scenario ids (default: all).", show_default=False)
    ] = None,
    write: Annotated[
        bool,
        typer.Option(
            "--write/--no-write",
            help="Record mode and verdict in the scenario files (default: read-only).",
        ),
    ] = False,
    repeat: RepeatsOption = None,
    on_miss: OnMissOption = None,
    allow_network: AllowNetworkOption = False,
    update: UpdateOption = False,
    yes: YesOption = False,
    as_json: JsonOption = False,
    debug: DebugOption = False,
) -> None:
    """Replay scenarios as the pytest plugin does; --write records each one's mode.

    A fixed scenario passes on the verdict fixed; an open one while it still reproduces.
    Diverged or flaky replays are not evidence: they fail. With --write the verdict,
    reason and mode go into the scenario file, and a hypothesis scenario is then skipped
    by pytest with the reason until it is re-recorded. Without --write nothing changes.
    --on-miss (or on_miss in the scenario file) answers missing calls under a named
    assumption (see 'replay run --help'). --update re-records the incident of a scenario
    that no longer replays as recorded because the code changed on purpose: with its
    recorded entrypoint, only while the new run still fails, after showing the diff.

    Exit status: 0 all as expected, 1 one fails on evidence, 2 one is undecided
    (diverged or flaky), 3 a scenario could not be checked.
    """
    from replay.on_miss import parse_on_miss, require_network
    from replay.scenarios import find, load_all, save_scenario, with_verdict

    policy = on_miss.value if on_miss is not None else None
    require_network(parse_on_miss(policy), allow_network=allow_network)
    root, folders = _project()
    scenarios = load_all(root=root)
    chosen = [find(sid, scenarios) for sid in ids] if ids else scenarios
    results: list[ScenarioCheck | None] = []
    errors: dict[str, str] = {}
    for scenario in chosen:
        try:
            result = _run_check(scenario, root, repeat, on_miss=policy, allow_network=allow_network)
        except ReplayError as exc:
            errors[scenario.id] = one_line(str(exc))
            results.append(None)
            continue
        results.append(result)
        if write and result.verdict is not None:
            save_scenario(with_verdict(scenario, result.verdict))
    accepted = None
    if update:
        accepted = _accept_changes(
            chosen,
            results,
            root,
            repeat=repeat,
            on_miss=policy,
            allow_network=allow_network,
            yes=yes,
            write=write,
            as_json=as_json,
        )
    code = EXIT_USAGE if errors else _exit_status(results)
    if as_json:
        data: dict[str, Any] = {
            "scenarios": [
                r.to_dict() if r is not None else {"id": s.id, "error": errors[s.id]}
                for s, r in zip(chosen, results, strict=True)
            ],
            "exit_status": code,
        }
        if accepted is not None:
            data["update"] = accepted
        print_json(data)
        raise typer.Exit(code)
    console = stdout_console()
    if not chosen:
        console.print(f"no scenarios in {', '.join(folders)}")
    for scenario, result in zip(chosen, results, strict=True):
        if result is None:
            message = errors[scenario.id].replace(f"{root}/", "")
            console.print(f"[red]{'error':<11}[/red] {scenario.id}: {message}", soft_wrap=True)
        else:
            _print_check(console, result)
    raise typer.Exit(code)


def fix_command(
    scenario_id: Annotated[str, typer.Argument(help="The scenario's id.", show_default=False)],
    agent: Annotated[
        str | None,
        typer.Option("--agent", "-a", help="Also set the agent to replay.", show_default=False),
    ] = None,
    check: Annotated[
        bool, typer.Option("--check/--no-check", help="Require the verdict fixed first.")
    ] = True,
    repeat: RepeatsOption = None,
    as_json: JsonOption = False,
    debug: DebugOption = False,
) -> None:
    """Mark an incident fixed, after checking that replay gives the verdict fixed.

    Example (the fix lives in another entrypoint):

      replay scenario fix refund-timeout --agent support_agent.fixed:run
    """
    from dataclasses import replace

    from replay.scenarios import Status, find, load_all, save_scenario, with_verdict

    root, _ = _project()
    scenario = find(scenario_id, load_all(root=root))
    candidate = replace(scenario, status=Status.FIXED, agent=agent or scenario.agent)
    result = None
    if check:
        result = _run_check(candidate, root, repeat)
        if result.verdict is None or result.verdict.verdict != "fixed":
            code = _exit_status([result]) or EXIT_FAILED
            if as_json:
                print_json({"marked": False, "check": result.to_dict(), "exit_status": code})
            else:
                console = stdout_console()
                console.print(f"not marked fixed: {scenario_id} does not replay as fixed")
                _print_check(console, result, full=True)
            raise typer.Exit(code)
        candidate = with_verdict(candidate, result.verdict)
    save_scenario(candidate)
    if as_json:
        print_json(
            {
                "marked": True,
                "scenario": candidate.to_dict(),
                "check": result.to_dict() if result is not None else None,
                "exit_status": EXIT_OK,
            }
        )
    else:
        stdout_console().print(f"{scenario_id}: status fixed ({_relative(candidate.path, root)})")


def reopen_command(
    scenario_id: Annotated[str, typer.Argument(help="The scenario's id.", show_default=False)],
    as_json: JsonOption = False,
    debug: DebugOption = False,
) -> None:
    """Mark an incident open again (it reproduces)."""
    from dataclasses import replace

    from replay.scenarios import Status, find, load_all, save_scenario

    root, _ = _project()
    scenario = replace(find(scenario_id, load_all(root=root)), status=Status.OPEN)
    save_scenario(scenario)
    if as_json:
        print_json({"scenario": scenario.to_dict(), "exit_status": EXIT_OK})
    else:
        stdout_console().print(f"{scenario_id}: status open ({_relative(scenario.path, root)})")


def _status(value: StatusChoice | None, default: Any) -> Any:
    from replay.scenarios import Status

    return default if value is None else Status(value.value)


def _run_check(
    scenario: Scenario,
    root: Path,
    repeat: int | None,
    *,
    on_miss: str | None = None,
    allow_network: bool = False,
) -> ScenarioCheck:
    from replay.scenarios import check_scenario

    _importable(root)
    stderr_console().print(f"checking {scenario.id} ...", highlight=False)
    with agent_stdout_to_stderr():
        return check_scenario(
            scenario,
            root=root,
            repeats=repeat,
            run_hypothesis=True,
            on_miss=on_miss,
            allow_network=allow_network,
        )


def _accept_changes(
    chosen: list[Scenario],
    results: list[ScenarioCheck | None],
    root: Path,
    *,
    repeat: int | None,
    on_miss: str | None,
    allow_network: bool,
    yes: bool,
    write: bool,
    as_json: bool,
) -> dict[str, Any]:
    """``--update``: re-record the incidents of scenarios that do not replay as expected,
    shown first and written once confirmed; their failure and verdict follow. Changes
    ``results`` in place to the checks after re-recording."""
    from dataclasses import replace

    from replay.cli.render import updates_view
    from replay.rerecord import Update, plan_update, write_update
    from replay.scenarios import save_scenario, with_verdict
    from replay.storage import load_cassette
    from replay.verdict import FailureSignature

    console = stderr_console() if as_json else stdout_console()
    plans: list[tuple[int, Update]] = []
    with agent_stdout_to_stderr():
        for position, (scenario, result) in enumerate(zip(chosen, results, strict=True)):
            if result is None or result.verdict is None:
                continue
            if result.ok and not result.verdict.assumed:
                continue  # as expected on the recording alone: nothing to accept
            path = scenario.cassette_path(root)
            recorded = load_cassette(path).context.entrypoint
            if result.verdict.verdict == "flaky":
                refused = "the replays disagree: re-recording would keep one of several behaviours"
            elif scenario.agent and scenario.agent != recorded:
                refused = (
                    f"it replays {scenario.agent}, not the recorded code ({recorded}): "
                    "re-recording would replace the incident with that code's run"
                )
            else:
                refused = None
            if refused is not None:
                plans.append((position, Update(str(path), scenario.id, None, refused=refused)))
                continue
            plans.append(
                (
                    position,
                    plan_update(
                        path,
                        label=scenario.id,
                        on_miss=on_miss or scenario.on_miss,
                        allow_network=allow_network,
                        must_fail=True,
                    ),
                )
            )
    ready = [(position, item) for position, item in plans if item.cassette is not None]
    if not plans:
        console.print("--update: every scenario replays as expected; nothing to re-record")
        return {"planned": [], "written": [], "confirmed": False}
    console.print(updates_view([item for _, item in plans]))
    noun = f"{len(ready)} incident cassette{'s' if len(ready) != 1 else ''}"
    confirmed = bool(ready) and confirm_overwrite(noun, yes=yes)
    written: list[str] = []
    if confirmed:
        for position, item in ready:
            written.append(str(write_update(item)))
            assert item.cassette is not None
            cassette = item.cassette
            scenario = replace(
                chosen[position],
                failure=FailureSignature.of(cassette.steps, cassette.outcome),
            )
            save_scenario(scenario)
            check = _run_check(scenario, root, repeat, on_miss=on_miss, allow_network=allow_network)
            results[position] = check
            if write and check.verdict is not None:
                save_scenario(with_verdict(scenario, check.verdict))
            console.print(f"re-recorded {_relative(Path(item.path), root)}", markup=False)
    return {
        "planned": [item.to_dict() for _, item in plans],
        "written": written,
        "confirmed": confirmed,
    }


def _exit_status(results: list[ScenarioCheck | None]) -> int:
    """1 when a scenario fails on evidence, else 2 when one is undecided, else 0."""
    failing = [r for r in results if r is not None and not r.ok]
    if any(r.verdict is None or r.verdict.mode == "evidence" for r in failing):
        return EXIT_FAILED
    return EXIT_UNDECIDED if failing else EXIT_OK


def _print_check(console: Any, result: ScenarioCheck, *, full: bool = False) -> None:
    """``fixed       incident x stays fixed``: the verdict, green when as expected."""
    from rich.text import Text

    style = "green" if result.ok else ("yellow" if result.label == "hypothesis" else "bold red")
    console.print(Text.assemble(Text(f"{result.label:<11}", style=style), " ", result.headline))
    if full or not result.ok:
        for line in result.report().splitlines()[1:]:
            console.print(Text(line), soft_wrap=True)


def _failure_text(scenario: Scenario) -> str:
    failure = scenario.failure
    text = failure.stop_reason
    if failure.error_class:
        text += f" ({failure.error_class})"
    if failure.step_kind:
        text += f" at step {failure.step_index} {failure.step_kind} '{failure.step_name}'"
    return text


for _name, _command in (
    ("add", add_command),
    ("list", list_command),
    ("check", check_command),
    ("fix", fix_command),
    ("reopen", reopen_command),
):
    app.command(_name, cls=ReplayCommand, help=command_help(_command.__doc__))(_command)
