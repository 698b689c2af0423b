"""The issue's acceptance test: reproduced incidents gate merges in a real git repository.

A throwaway repository holds an agent as released, two incidents recorded from it and
kept as scenarios (``replay scenario add``), and one fix commit per incident, each
marked fixed with ``replay scenario fix``. Then the project's ordinary ``pytest`` passes,
and reverting one fix commit makes exactly that incident's scenario fail with a readable
report, serially and under ``-n 2``, with the verdicts in the junit XML.

``GateCase`` describes an agent and its incidents: a small agent of the tests, and the
bundled example (``examples/support_agent``) with its recorded incidents.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.plugin.project import (
    INCIDENTS,
    install_agent,
    record_incidents,
    replay_cli,
    use_fix,
    write_pyproject,
)
from tests.process import child_env

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("git") is None, reason="needs git"),
]


@dataclass(frozen=True)
class GateCase:
    """An agent with incidents: how to install it as released, record its incidents, and
    apply each incident's fix (code only; the scenario is marked fixed separately)."""

    name: str
    install_released: Callable[[Path], None]
    record_incidents: Callable[[Path], dict[str, Path]]
    fixes: dict[str, Callable[[Path], None]]


SCN_SUPPORT = GateCase(
    name="scn_support",
    install_released=install_agent,
    record_incidents=record_incidents,
    fixes={
        sid: (lambda repo, module=module: use_fix(repo, module, "fixed"))
        for sid, (_, module) in INCIDENTS.items()
    },
)


EXAMPLE = Path(__file__).resolve().parents[2] / "examples"
BUNDLED = Path(__file__).resolve().parents[2] / "cassettes" / "incidents"
EXAMPLE_FIXES = {
    "run_9fd2": {
        "max_attempts=4,": "max_attempts=2,",
        "backoff_s=0.0,": "backoff_s=0.05,",
        "degrade_on_outage=False,": "degrade_on_outage=True,",
    },
    "run_d77c": {"dedupe_repeated_calls=False,": "dedupe_repeated_calls=True,"},
}


def install_example(repo: Path) -> None:
    """The bundled support agent as released (its ``RELEASED`` policy)."""
    shutil.copytree(EXAMPLE, repo / "examples", ignore=shutil.ignore_patterns("__pycache__"))


def copy_example_incidents(repo: Path) -> dict[str, Path]:
    """The bundled incidents that a code fix resolves on evidence (run_a113's fix needs a
    model answer its cassette does not hold, so it cannot gate a merge)."""
    target = repo / "cassettes" / "incidents"
    target.mkdir(parents=True)
    return {sid: Path(shutil.copy(BUNDLED / f"{sid}.yaml", target)) for sid in EXAMPLE_FIXES}


def fix_example(sid: str) -> Callable[[Path], None]:
    def apply(repo: Path) -> None:
        agent = repo / "examples" / "support_agent" / "agent.py"
        text = agent.read_text(encoding="utf-8")
        released = text[text.index("RELEASED = Policy(") :]
        fixed = released
        for old, new in EXAMPLE_FIXES[sid].items():
            assert old in fixed, old
            fixed = fixed.replace(old, new, 1)
        agent.write_text(text.replace(released, fixed), encoding="utf-8")

    return apply


BUNDLED_EXAMPLE = GateCase(
    name="bundled_example",
    install_released=install_example,
    record_incidents=copy_example_incidents,
    fixes={sid: fix_example(sid) for sid in EXAMPLE_FIXES},
)


class Repo:
    """A git repository in a temporary folder, with its own identity and no user config."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.env = {
            **child_env(),
            "GIT_AUTHOR_NAME": "Gate Test",
            "GIT_AUTHOR_EMAIL": "gate@example.invalid",
            "GIT_COMMITTER_NAME": "Gate Test",
            "GIT_COMMITTER_EMAIL": "gate@example.invalid",
            "GIT_CONFIG_GLOBAL": os.devnull,
            "GIT_CONFIG_NOSYSTEM": "1",
        }
        path.mkdir(parents=True, exist_ok=True)
        self.git("init", "-q", "-b", "main")

    def git(self, *args: str) -> str:
        proc = subprocess.run(
            ["git", *args],
            cwd=self.path,
            env=self.env,
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        )
        return proc.stdout.strip()

    def commit(self, message: str) -> str:
        self.git("add", "-A")
        self.git("commit", "-q", "-m", message)
        return self.git("rev-parse", "HEAD")

    def pytest(self, *args: str, xdist: bool = False) -> GateRun:
        report = self.path / f"junit-{'xdist' if xdist else 'serial'}.xml"
        workers = ["-n", "2"] if xdist else ["-p", "no:xdist"]
        proc = subprocess.run(
            [sys.executable, "-m", "pytest", *workers, f"--junitxml={report}", *args],
            cwd=self.path,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        return GateRun(proc.returncode, proc.stdout + proc.stderr, verdicts(report))


@dataclass(frozen=True)
class GateRun:
    code: int
    output: str
    verdicts: dict[str, str | None]

    @property
    def outcomes(self) -> dict[str, int]:
        return pytest.RunResult.parse_summary_nouns(self.output.splitlines())

    @property
    def failed(self) -> list[str]:
        return sorted(
            line.split()[1] for line in self.output.splitlines() if line.startswith("FAILED ")
        )

    @property
    def summary(self) -> list[str]:
        return [
            line.strip("- ") for line in self.output.splitlines() if "replay scenarios:" in line
        ]

    def same_result_as(self, other: GateRun) -> bool:
        return (self.code, self.outcomes, self.failed, self.verdicts, self.summary) == (
            other.code,
            other.outcomes,
            other.failed,
            other.verdicts,
            other.summary,
        )


def verdicts(report: Path) -> dict[str, str | None]:
    """``{test name: replay_verdict property}`` from a junit XML report."""
    root = ET.parse(report).getroot()
    return {
        case.get("name", ""): next(
            (p.get("value") for p in case.iter("property") if p.get("name") == "replay_verdict"),
            None,
        )
        for case in root.iter("testcase")
    }


@pytest.mark.parametrize("case", [SCN_SUPPORT, BUNDLED_EXAMPLE], ids=lambda case: case.name)
def test_reverting_a_fix_makes_exactly_its_scenario_fail(tmp_path: Path, case: GateCase) -> None:
    repo = Repo(tmp_path / "shop")
    case.install_released(repo.path)
    write_pyproject(repo.path)
    (repo.path / "tests").mkdir()
    (repo.path / "tests" / "test_smoke.py").write_text(
        "def test_smoke():\n    assert True\n", encoding="utf-8"
    )
    (repo.path / ".gitignore").write_text("__pycache__/\njunit-*.xml\n", encoding="utf-8")
    repo.commit("release 1.0")

    # The incidents happen in production; each becomes a scenario (status open).
    cassettes = case.record_incidents(repo.path)
    for sid, cassette in cassettes.items():
        added = replay_cli(repo.path, "scenario", "add", str(cassette), "--owner", "oncall")
        assert added.code == 0, added
        assert f"added scenarios/{sid}.yaml: open incident {sid}" in added.stdout, added
    repo.commit("keep the incidents as scenarios")
    opened = repo.pytest()
    assert opened.code == 0, opened.output
    assert opened.outcomes == {"passed": 1, "xfailed": len(cassettes)}, opened.output

    # One commit per fix, then the scenario is marked fixed on evidence.
    fix_commits = {}
    for sid, apply_fix in case.fixes.items():
        apply_fix(repo.path)
        fix_commits[sid] = repo.commit(f"fix {sid}")
        marked = replay_cli(repo.path, "scenario", "fix", sid)
        assert marked.code == 0, marked
        assert "status: fixed" in (repo.path / "scenarios" / f"{sid}.yaml").read_text("utf-8")
        repo.commit(f"{sid} is fixed")

    fixed = repo.pytest()
    assert fixed.code == 0, fixed.output
    assert fixed.outcomes == {"passed": 1 + len(cassettes)}, fixed.output
    assert fixed.verdicts == {"test_smoke": None, **{sid: "fixed" for sid in cassettes}}
    assert fixed.summary == [
        f"replay scenarios: 0 reproduced, {len(cassettes)} fixed, 0 diverged, 0 hypothesis"
    ]
    assert repo.pytest(xdist=True).same_result_as(fixed)

    # A merge that brings one failure back: revert its fix, keep everything else.
    for sid, commit in fix_commits.items():
        repo.git("revert", "--no-edit", commit)
        back = repo.pytest()
        assert back.code == 1, back.output
        assert back.failed == [f"scenarios/{sid}.yaml::{sid}"], back.output
        assert back.outcomes == {"passed": len(cassettes), "failed": 1}, back.output
        assert back.verdicts[sid] == "reproduced"
        assert all(back.verdicts[other] == "fixed" for other in cassettes if other != sid)
        report = back.output[back.output.index(f"_ scenario {sid} (fixed) _") :]
        for line in (
            f"incident {sid} is back: the replay fails like the recorded incident",
            "  verdict:  reproduced (evidence), expected fixed",
            "  first divergence: none (the replay follows the recorded calls)",
            "  step diff: none (same calls, same answers, same ending as recorded)",
            f"  reproduce: replay run cassettes/incidents/{sid}.yaml",
            f"  scenario: scenarios/{sid}.yaml, status fixed (owner: oncall)",
        ):
            assert line in report, back.output
        assert "Traceback" not in back.output
        assert repo.pytest(xdist=True).same_result_as(back)
        repo.git("revert", "--no-edit", "HEAD")  # the fix comes back
    assert repo.pytest().outcomes == {"passed": 1 + len(cassettes)}
