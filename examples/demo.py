"""``make demo``: the bundled incidents, triaged and replayed with the real CLI.

For each incident in ``cassettes/incidents/`` it runs ``replay inspect``, then
``replay run`` on the released agent and on the fixed one, printing what each shows. The
fixed agent runs with ``--on-miss nearest``: a fix that only removes calls is still
judged on evidence, and run_a113's repair (a new request to the model) gets a verdict
under that named assumption instead of ``diverged``. Then run_a113's fix asks the
model server the incidents were recorded against (``--on-miss live --allow-network``);
its answers are kept in a derived cassette, which both agents replay on evidence.
Then one production-trace incident: ``cassettes/traces/run_d77c.otlp.jsonl`` is the
OTLP/JSON trace of the loop incident as the agent, deployed with OpenInference tracing,
exported it (``examples/support_agent/traced.py``): it is triaged with ``replay
inspect``, imported with ``replay import`` and replayed the same way. It ends with one
table: the signals of each incident and the verdicts, and writes the HTML reports into
``reports/`` (each incident's run and its replay on the fixed code, and the golden set
replayed on the released code), printing where they are. Exits non-zero if a verdict is
not the one the incident is known to give, so the demo cannot rot.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from rich import box
from rich.console import Console
from rich.table import Table

from examples.support_agent.agent import LLM_URL_ENV
from replay.testing.fake_llm import FakeLLM, reply, tool_call

ROOT = Path(__file__).resolve().parent.parent
FIXED_AGENT = "examples.support_agent.fixed:run"
RELEASED_AGENT = "examples.support_agent.agent:run"
TRACE = "cassettes/traces/run_d77c.otlp.jsonl"
# Where the HTML reports go; the tests point it at a temporary folder.
REPORTS = Path(os.environ.get("REPLAY_DEMO_REPORTS", ROOT / "reports")).resolve()
EXPECTED = {
    "run_9fd2": ("reproduced", "fixed"),
    "run_a113": ("reproduced", "regressed"),
    "run_a113 live": ("reproduced", "fixed"),
    "run_d77c": ("reproduced", "fixed"),
    "trace run_d77c": ("reproduced", "fixed"),
}
# What the model server answers run_a113's fix when it asks for a repaired call.
REPAIR_SCRIPT = (
    tool_call("get_order", {"order_id": "A-1002"}),
    reply("Your order A-1002 is being prepared and should arrive by 2026-11-30."),
)


def replay_cli(
    console: Console, *args: str, show: bool = True, env: dict[str, str] | None = None
) -> dict:
    """Run ``replay ARGS`` as a user would; show its output, return its --json report."""
    command = [sys.executable, "-m", "replay", *args]
    env = {**os.environ, **(env or {}), "COLUMNS": str(console.width)}
    if show:
        console.print(f"[bold]$ replay {' '.join(args)}[/bold]")
        shown = subprocess.run(command, cwd=ROOT, env=env, text=True, capture_output=True)
        console.print(shown.stdout.rstrip(), highlight=False, markup=False)
    report = subprocess.run([*command, "--json"], cwd=ROOT, env=env, text=True, capture_output=True)
    if report.returncode == 3:
        raise SystemExit(f"replay {' '.join(args)} failed: {report.stderr.strip()}")
    return json.loads(report.stdout)


def write_reports(incidents: list[Path]) -> list[tuple[str, Path]]:
    """The HTML reports of the demo, in ``reports/``: each incident's run (``replay
    report``) and its replay on the fixed code (``replay run --html``), and the golden
    set replayed on the released code (``replay golden --html``)."""
    pages: list[tuple[str, Path]] = []
    commands: list[tuple[str, Path, list[str]]] = []
    for path in incidents:
        cassette = str(path.relative_to(ROOT))
        run, fixed = REPORTS / f"{path.stem}.html", REPORTS / f"{path.stem}.fixed.html"
        commands.append((f"{path.stem}: the recorded run", run, ["report", cassette, "-o"]))
        commands.append(
            (
                f"{path.stem}: replayed on the fixed code",
                fixed,
                ["run", cassette, "--agent", FIXED_AGENT, "--html"],
            )
        )
    golden = REPORTS / "golden.html"
    commands.append(
        ("golden set on the released code", golden, ["golden", "--no-progress", "--html"])
    )
    for title, page, args in commands:
        done = subprocess.run(
            [sys.executable, "-m", "replay", *args, str(page)],
            cwd=ROOT,
            text=True,
            capture_output=True,
        )
        if done.returncode == 3 or not page.is_file():
            raise SystemExit(f"replay {' '.join(args)} {page} failed: {done.stderr.strip()}")
        pages.append((title, page))
    return pages


def span(value: dict | None) -> str:
    if not value:
        return "-"
    text = f"{value['kind']} {value['name']}"
    return f"{text} (inferred)" if value.get("inferred") else text


def live_answers(console: Console, incident: Path) -> tuple[dict, dict]:
    """run_a113's fix with live answers from the model server (in a temporary copy, so
    the derived cassette is not left in the bundle); both agents then replay it."""
    with tempfile.TemporaryDirectory(prefix="replay-demo-") as folder:
        copy = Path(folder) / incident.name
        shutil.copy(incident, copy)
        console.rule("[bold]run_a113: the fix asks the model server (--on-miss live)")
        with FakeLLM(REPAIR_SCRIPT * 2) as server:  # replay_cli runs it twice
            env = {LLM_URL_ENV: server.openai_url}
            live = (str(copy), "--agent", FIXED_AGENT, "--on-miss", "live", "--allow-network")
            replay_cli(console, "run", *live, env=env)
        derived = str(copy.with_name(f"{copy.stem}.live{copy.suffix}"))
        original = replay_cli(console, "run", derived)
        fixed = replay_cli(console, "run", derived, "--agent", FIXED_AGENT)
    return original, fixed


def main() -> int:
    console = Console(width=min(Console().width, 100))
    incidents = sorted((ROOT / "cassettes" / "incidents").glob("*.yaml"))
    rows = []
    for path in incidents:
        cassette = str(path.relative_to(ROOT))
        console.rule(f"[bold]{path.stem}")
        signals = replay_cli(console, "inspect", cassette)
        original = replay_cli(console, "run", cassette)
        fixed = replay_cli(console, "run", cassette, "--agent", FIXED_AGENT, "--on-miss", "nearest")
        rows.append((path.stem, signals, original, fixed))
        if path.stem == "run_a113":
            rows.append(("run_a113 live", signals, *live_answers(console, path)))
    with tempfile.TemporaryDirectory(prefix="replay-demo-") as folder:
        console.rule("[bold]production trace of run_d77c (OpenInference)")
        signals = replay_cli(console, "inspect", TRACE)
        imported = str(Path(folder) / "run_d77c.imported.yaml")
        replay_cli(console, "import", TRACE, "-o", imported, show=False)
        console.print(f"[bold]$ replay import {TRACE} -o {imported}[/bold]")
        original = replay_cli(console, "run", imported, "--agent", RELEASED_AGENT)
        fixed = replay_cli(console, "run", imported, "--agent", FIXED_AGENT)
        rows.append(("trace run_d77c", signals, original, fixed))
    signals_table = Table(title="Incident signals", title_justify="left", box=box.SIMPLE_HEAD)
    for column in ("run", "first_error_span", "slowest_span", "stop_reason", "conclusion"):
        # "trace run_d77c" wraps in the run column rather than crop the conclusion.
        signals_table.add_column(
            column, min_width=len(column), max_width=8 if column == "run" else None
        )
    verdicts_table = Table(title="Replay verdicts", title_justify="left", box=box.SIMPLE_HEAD)
    for column in ("run", "released code (agent:run)", "fixed code (fixed:run)"):
        verdicts_table.add_column(column)
    wrong = []
    for run_id, signals, original, fixed in rows:
        if not run_id.endswith(" live"):  # the same incident: its signals are listed once
            signals_table.add_row(
                run_id,
                span(signals["first_error_span"]),
                span(signals["slowest_span"]),
                signals["stop_reason"],
                signals.get("conclusion", ""),
            )
        verdicts_table.add_row(
            run_id,
            f"{original['verdict']} ({original['mode']})",
            f"{fixed['verdict']} ({fixed['mode']})",
        )
        expected = EXPECTED.get(run_id)
        if expected and expected != (original["verdict"], fixed["verdict"]):
            wrong.append(
                f"{run_id}: expected {expected}, got {(original['verdict'], fixed['verdict'])}"
            )
    console.rule()
    console.print(signals_table)
    console.print(verdicts_table)
    for line in wrong:
        console.print(f"[red]unexpected verdict: {line}[/red]")
    console.rule("[bold]HTML reports")
    for title, page in write_reports(incidents):
        shown = page.relative_to(ROOT) if page.is_relative_to(ROOT) else page
        console.print(f"{title:<36} {shown}", highlight=False, markup=False, soft_wrap=True)
    console.print(f"open them in a browser: {REPORTS.as_uri()}/", highlight=False, soft_wrap=True)
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main())
