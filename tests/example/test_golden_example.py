"""The release pipeline on the bundled golden set: a healthy build passes with a zero
release diff; a regressed build is flagged, naming the affected workflow."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from tests.process import run_python

ROOT = Path(__file__).resolve().parents[2]


def golden(*args: str) -> subprocess.CompletedProcess[str]:
    return run_python(
        "-m", "replay", "golden", "cassettes/golden", "--no-progress", *args, cwd=ROOT
    )


def test_the_released_build_matches_the_golden_set():
    proc = golden("--json", "-n", "2")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["summary"]["runs"] == report["summary"]["match"] == 22
    assert not [f for f in report["flags"] if f["flagged"]]
    overall = report["diff"]["overall"]
    assert overall["baseline"] == overall["candidate"]


def test_a_regressed_build_is_flagged_with_its_workflow(tmp_path):
    markdown = tmp_path / "release.md"
    proc = golden(
        "--agent", "tests.agents.example_regressed:run", "--json", "--markdown", str(markdown)
    )
    assert proc.returncode == 1, proc.stderr
    report = json.loads(proc.stdout)
    verdicts = {run["run_id"]: run["verdict"] for run in report["runs"]}
    assert {v for k, v in verdicts.items() if k.startswith("gold_o")} == {"diverged"}
    assert {v for k, v in verdicts.items() if not k.startswith("gold_o")} == {"match"}
    assert report["affected_workflows"] == ["orders"]
    assert "orders" in markdown.read_text()
