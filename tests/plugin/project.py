"""A throwaway project around the scenario test agent (``tests/agents/scn_*.py``).

The agent is copied into a folder with the chosen version of each fix module, its two
incidents are recorded there in a subprocess (never imported into the test process, so
fix versions cannot leak between tests), and scenario files are written through the
real ``replay.scenarios`` API or the real ``replay scenario`` command.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

# Imported here, before any pytester snapshot of sys.modules: pytester drops modules first
# imported during a test, and a re-imported ``yaml`` no longer matches its C extension.
from replay.scenarios import Mode, Status, new_scenario, save_scenario
from replay.storage import load_cassette
from tests.process import CliResult, child_env, run_replay

AGENTS = Path(__file__).resolve().parents[1] / "agents"
ENTRYPOINT = "scn_support:run"

# Module name in the project -> {version: file in tests/agents}.
FIX_MODULES = {
    "scn_tool_errors": {
        "unfixed": "scn_tool_errors_unfixed.py",
        "fixed": "scn_tool_errors.py",
        "diverging": "scn_tool_errors_diverging.py",
        "flaky": "scn_tool_errors_flaky.py",
    },
    "scn_loop_guard": {
        "unfixed": "scn_loop_guard_unfixed.py",
        "fixed": "scn_loop_guard.py",
    },
}

# Incident id -> (the input that triggers it, the fix module that removes it).
INCIDENTS = {
    "order-timeout": ({"question": "where is my order TIMEOUT-7"}, "scn_tool_errors"),
    "help-loop": ({"question": "how do I change my address?"}, "scn_loop_guard"),
}

PYPROJECT = """\
[project]
name = "scn-shop"
version = "0.1.0"

[tool.pytest.ini_options]
testpaths = ["tests"]
addopts = "-p no:cacheprovider"
{extra}
"""


def install_agent(
    folder: Path, *, tool_errors: str = "unfixed", loop_guard: str = "unfixed"
) -> None:
    """Copy the agent into ``folder`` with the chosen version of each fix module."""
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(AGENTS / "scn_support.py", folder / "scn_support.py")
    use_fix(folder, "scn_tool_errors", tool_errors)
    use_fix(folder, "scn_loop_guard", loop_guard)


def use_fix(folder: Path, module: str, version: str = "fixed") -> Path:
    """Put one version of a fix module in place (``unfixed``, ``fixed``, ...)."""
    target = folder / f"{module}.py"
    shutil.copyfile(AGENTS / FIX_MODULES[module][version], target)
    return target


def record_incidents(folder: Path, ids: tuple[str, ...] = tuple(INCIDENTS)) -> dict[str, Path]:
    """Record the incidents live from the agent in ``folder`` (its current fix versions)."""
    script = (
        "import json, sys, replay\n"
        "for path, input in json.loads(sys.argv[1]):\n"
        f"    replay.record_run({ENTRYPOINT!r}, path, input=input)\n"
    )
    paths = {sid: folder / "cassettes" / "incidents" / f"{sid}.yaml" for sid in ids}
    jobs = [(str(paths[sid]), INCIDENTS[sid][0]) for sid in ids]
    subprocess.run(
        [sys.executable, "-c", script, json.dumps(jobs)],
        cwd=folder,
        env=child_env(),
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return paths


def write_pyproject(folder: Path, extra: str = "") -> Path:
    path = folder / "pyproject.toml"
    path.write_text(PYPROJECT.format(extra=extra), encoding="utf-8")
    return path


def write_scenario(
    folder: Path,
    sid: str,
    *,
    status: str = "open",
    mode: str = "evidence",
    agent: str | None = None,
    last_reason: str | None = None,
    scenarios_dir: str = "scenarios",
    cassette: str | None = None,
) -> Path:
    """A scenario for incident ``sid`` (its cassette already in ``folder``)."""
    stored = cassette or f"cassettes/incidents/{sid}.yaml"
    scenario = new_scenario(
        load_cassette(folder / stored),
        cassette_path=stored,
        scenario_id=sid,
        status=Status(status),
        agent=agent,
        owner="oncall",
    )
    scenario = replace(scenario, mode=Mode(mode), last_reason=last_reason)
    return save_scenario(scenario, folder / scenarios_dir / f"{sid}.yaml")


def replay_cli(folder: Path, *args: str) -> CliResult:
    """Run ``python -m replay ARGS`` in ``folder``."""
    return run_replay(*args, cwd=folder, columns=100)
