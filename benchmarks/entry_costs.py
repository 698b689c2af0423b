"""Sections ``cli`` and ``scenarios``: what a user waits for outside the replay itself.

``cli``: ``replay --help`` and ``replay inspect`` of a small cassette (the 6-step
incident ``cassettes/incidents/run_9fd2.yaml``), each a fresh process as a user runs
it, against the floor measured in the same run: a process that only does
``import replay, typer``. Timed by the CPU time of the child (user + system, the
minimum of several runs: on a shared machine waiting for a core is not the command's
cost) and by wall time (median). Target: each at most 2x the floor.

``scenarios``: a pytest run of N copies of the 6-step incident's scenario (the real
plugin, the real agent ``examples.support_agent.fixed:run``, each scenario judged with
its replays) against a pytest run of N trivial tests, in fresh processes. Per replay =
(scenario run - trivial run) / N / replays per scenario, less the in-process
``replay.replay()`` of the same cassette with the same agent (the agent's own work and
the serving, which the http section measures per call). Target: at most 25 ms per
replay beyond the agent's own work.
"""

from __future__ import annotations

import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from benchmarks.report import Report, ratio, seconds

REPO = Path(__file__).resolve().parents[1]
INCIDENT = REPO / "cassettes" / "incidents" / "run_9fd2.yaml"
SCENARIO = REPO / "scenarios" / "run_9fd2.yaml"
CLI_TARGET = 2.0
SCENARIO_TARGET_MS = 25.0


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    for name in ("REPLAY_DEBUG", "PYTEST_ADDOPTS", "PYTEST_XDIST_WORKER", "FORCE_COLOR"):
        env.pop(name, None)
    return env


def run_child(command: Sequence[str], cwd: Path) -> tuple[float, float, int]:
    """(CPU seconds, wall seconds, exit status) of one child process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(
        list(command), cwd=cwd, env=_env(), stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE, check=False,
    )
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return cpu, wall, done.returncode


def _compiled() -> None:
    """Bytecode for the checkout, as an installed package has it (PYTHONDONTWRITEBYTECODE
    would otherwise make every process compile replay from source)."""
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", str(REPO / "replay"), str(REPO / "examples")],
        check=False, stdout=subprocess.DEVNULL,
    )


def run_cli(report: Report, sizes: Sequence[int], workdir: Path) -> None:
    """Section "cli"."""
    report.section("cli: replay --help and replay inspect vs the import replay + typer floor")
    _compiled()
    commands = {
        "floor: import replay, typer": [sys.executable, "-c", "import replay, typer"],
        "replay --help": [sys.executable, "-m", "replay", "--help"],
        "replay inspect (6 steps)": [sys.executable, "-m", "replay", "inspect", str(INCIDENT)],
    }
    rounds = 6 if report.quick else 15
    cpu: dict[str, list[float]] = {name: [] for name in commands}
    wall: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(rounds + 1):
        for name, command in commands.items():
            used, took, code = run_child(command, REPO)
            if code != 0:
                raise RuntimeError(f"{' '.join(command)} exited {code}")
            cpu[name].append(used)
            wall[name].append(took)
    floor = "floor: import replay, typer"
    best = {name: min(values[1:]) for name, values in cpu.items()}
    rows = [
        [
            name,
            seconds(best[name]),
            ratio(best[name] / best[floor]),
            seconds(statistics.median(wall[name][1:])),
            ratio(statistics.median(wall[name][1:]) / statistics.median(wall[floor][1:])),
        ]
        for name in commands
    ]
    report.table(["process", "CPU (min)", "CPU / floor", "wall (median)", "wall / floor"], rows)
    report.line(
        f"{rounds} fresh processes each (after one untimed), interleaved; CPU = user + "
        "system time of the child."
    )
    for name in list(commands)[1:]:
        report.check(
            f"{name} ≤ {CLI_TARGET:.0f}x the import replay + typer floor (CPU)",
            f"{ratio(best[name] / best[floor])} ({seconds(best[name])} vs floor "
            f"{seconds(best[floor])})",
            best[name] / best[floor] <= CLI_TARGET,
        )


def _scenario_project(folder: Path, count: int) -> tuple[Path, Path]:
    """A project with ``count`` copies of the incident's scenario, and one with
    ``count`` trivial tests."""
    scenarios = folder / "scenarios-project"
    shutil.rmtree(scenarios, ignore_errors=True)
    (scenarios / "cassettes" / "incidents").mkdir(parents=True)
    (scenarios / "scenarios").mkdir()
    (scenarios / "pyproject.toml").write_text('[project]\nname = "bench"\n', encoding="utf-8")
    shutil.copy(INCIDENT, scenarios / "cassettes" / "incidents" / INCIDENT.name)
    text = SCENARIO.read_text(encoding="utf-8")
    for n in range(count):
        (scenarios / "scenarios" / f"s{n:04d}.yaml").write_text(
            text.replace("id: run_9fd2", f"id: s{n:04d}"), encoding="utf-8"
        )
    trivial = folder / "trivial-project"
    shutil.rmtree(trivial, ignore_errors=True)
    (trivial / "tests").mkdir(parents=True)
    (trivial / "pyproject.toml").write_text('[project]\nname = "bench"\n', encoding="utf-8")
    (trivial / "tests" / "test_trivial.py").write_text(
        "".join(f"def test_{n:04d}():\n    assert {n} == {n}\n\n\n" for n in range(count)),
        encoding="utf-8",
    )
    return scenarios, trivial


def _replays_per_scenario() -> int:
    """How many replays judging the scenario takes (the verdict's repeats)."""
    import replay
    from replay.scenarios import check_scenario, load_scenario

    scenario = load_scenario(SCENARIO)
    check = check_scenario(scenario, root=REPO)
    verdict = check.verdict
    assert verdict is not None, "the benchmark scenario was not judged"
    del replay
    return len(verdict.results)


def run_scenarios(report: Report, sizes: Sequence[int], workdir: Path) -> None:
    """Section "scenarios"."""
    import replay

    count = 50 if report.quick else 200
    report.section(f"scenarios: pytest over {count} scenarios of a 6-step incident vs "
                   f"{count} trivial tests")
    _compiled()
    scenarios, trivial = _scenario_project(workdir, count)
    pytest_args = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
    if _has_xdist():
        pytest_args += ["-p", "no:xdist"]
    runs: dict[str, list[tuple[float, float]]] = {"scenarios": [], "trivial": []}
    for _ in range(2 if report.quick else 3):
        used, took, code = run_child([*pytest_args, "scenarios"], scenarios)
        if code not in (0,):
            raise RuntimeError(f"pytest over the scenarios exited {code}")
        runs["scenarios"].append((used, took))
        used, took, code = run_child([*pytest_args, "tests"], trivial)
        if code != 0:
            raise RuntimeError(f"pytest over the trivial tests exited {code}")
        runs["trivial"].append((used, took))
    replays = _replays_per_scenario()
    sys.path.insert(0, str(REPO))
    inproc_cpu, inproc_wall = [], []
    for _ in range(10):
        cpu_start, wall_start = time.process_time(), time.perf_counter()
        replay.replay(INCIDENT, agent="examples.support_agent.fixed:run")
        inproc_cpu.append(time.process_time() - cpu_start)
        inproc_wall.append(time.perf_counter() - wall_start)
    inproc = {"CPU (min)": min(inproc_cpu), "wall (min)": min(inproc_wall)}
    rows = []
    beyond = {}
    for label, index in (("CPU (min)", 0), ("wall (min)", 1)):
        s = min(r[index] for r in runs["scenarios"])
        t = min(r[index] for r in runs["trivial"])
        per_scenario = (s - t) / count
        per_replay = per_scenario / replays
        beyond[label] = per_replay - inproc[label]
        rows.append(
            [
                label,
                seconds(s),
                seconds(t),
                seconds(per_scenario),
                seconds(per_replay),
                seconds(inproc[label]),
                seconds(beyond[label]),
            ]
        )
    report.table(
        ["measure", f"{count} scenarios", f"{count} trivial", "per scenario", "per replay",
         "replay() in-process", "beyond replay()"],
        rows,
    )
    report.line(
        f"{replays} replays per scenario. replay() in-process = replay.replay() of the cassette "
        "with the same agent\n(best of 10): the agent's own work (this agent builds an OpenAI "
        "client per run, whose SSL context\nloads the CA bundle: most of it) plus the serving "
        "(see the http section for that per call)."
    )
    cost_ms = beyond["CPU (min)"] * 1e3
    report.check(
        f"pytest scenario of a 6-step incident ≤ {SCENARIO_TARGET_MS:.0f} ms per replay beyond "
        "an in-process replay.replay() of it",
        f"{cost_ms:.1f} ms per replay (CPU), {beyond['wall (min)'] * 1e3:.1f} ms wall",
        cost_ms <= SCENARIO_TARGET_MS,
    )


def _has_xdist() -> bool:
    import importlib.util

    return importlib.util.find_spec("xdist") is not None
