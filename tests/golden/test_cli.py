"""``replay golden`` as CI runs it: real ``python -m replay`` processes in a project folder."""

from __future__ import annotations

import json
import re
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

import replay
from tests.golden.conftest import AGENT, GIVES_UP, REGRESSED, REWORDED, REWORDED_ALL, RUNS
from tests.process import run_python, run_replay_on_terminal

REPO = Path(__file__).resolve().parents[2]


def golden_cli(*args: str, cwd: Path, columns: int = 80) -> subprocess.CompletedProcess[str]:
    """``python -m replay golden ARGS`` in ``cwd``, the test agents importable."""
    return run_python("-m", "replay", "golden", *args, cwd=cwd, env={"COLUMNS": str(columns)})


@pytest.fixture
def project(golden_copy: Path) -> Path:
    """A project folder whose golden set is at the default place, cassettes/golden."""
    return golden_copy.parent.parent


def test_healthy_build_passes(project):
    done = golden_cli("--release", "v1.1", cwd=project)
    assert done.returncode == 0, done.stderr
    assert "Verdicts: 6 match" in done.stdout
    assert "PASSED: 6 runs, no run regressed, no figure over threshold" in done.stdout
    assert all(len(line) <= 80 for line in done.stdout.splitlines())
    data = json.loads(golden_cli("--json", "-n", "0", "--release", "v1.1", cwd=project).stdout)
    assert data["summary"]["match"] == len(RUNS) and data["exit_code"] == 0
    assert data["candidate_release"] == "v1.1" and data["baseline_releases"] == {"v1.0": 6}
    overall = data["diff"]["overall"]
    assert overall["baseline"] == overall["candidate"]


def test_regressed_build_fails_with_reports(project):
    done = golden_cli(
        "--agent",
        GIVES_UP,
        "--release",
        "v1.1",
        "--markdown",
        "out/golden.md",
        "--junit",
        "out/golden.xml",
        cwd=project,
    )
    assert done.returncode == 1, done.stderr
    out = done.stdout
    assert "Verdicts: 3 match  3 regressed" in out
    assert "FAILED (exit 1): 3 regressed, 3 figures over threshold; workflows: refund" in out
    assert "Release diff over 6 runs" in out
    assert "refund        3   0.0% → 100.0%" in out
    assert "issue_refund   3 → 0" in out
    assert "replay run cassettes/golden/refund/refund-a100.yaml --agent" in out
    assert all(len(line) <= 80 for line in out.splitlines()), out
    markdown = (project / "out" / "golden.md").read_text()
    assert "**Affected workflows:** `refund`\n" in markdown
    junit = ET.parse(project / "out" / "golden.xml").getroot()
    assert junit.get("failures") == "6"
    assert "wrote out/golden.md" in done.stderr
    assert "golden: 6/6 runs, 3 changed" in done.stderr  # progress, off the terminal


def test_diverged_runs_are_shown_apart_never_as_a_latency_drop(project):
    """One word of a system prompt changed: every run diverges at its first call. Before,
    the report read "error rate +100 pts" and "p95 latency -100%"."""
    done = golden_cli("--agent", REWORDED_ALL, "--release", "v1.1", cwd=project)
    assert done.returncode == 1, done.stderr
    out = done.stdout
    assert "Verdicts: 6 diverged" in out
    assert "6 runs diverged: the replay stopped where the recording has no answer" in out
    assert "Release diff over 0 of 6 runs; 6 diverged" in out
    assert "no run replayed to the end: no figures to compare" in out
    assert "FAILED (exit 1): 6 diverged; workflows: faq, refund" in out
    assert "%" not in out and "pts" not in out, out
    assert all(len(line) <= 80 for line in out.splitlines()), out

    partly = golden_cli("--agent", REWORDED, "--release", "v1.1", "--json", cwd=project)
    assert partly.returncode == 1, partly.stderr
    data = json.loads(partly.stdout)
    overall = data["diff"]["overall"]
    assert (overall["runs"], overall["replayed"], overall["diverged"]) == (6, 3, 3)
    assert data["summary"]["replayed"] == 3 and data["summary"]["diverged"] == 3
    assert overall["baseline"] == overall["candidate"]
    refund = data["diff"]["workflows"]["refund"]
    assert refund["candidate"]["p95_latency_ms"] is None and refund["diverged"] == 3
    shown = golden_cli("--agent", REWORDED, "--release", "v1.1", cwd=project).stdout
    assert "Release diff over 3 of 6 runs; 3 diverged" in shown
    assert re.search(r"refund\s+3\s+3\s+-\s+-\s+-\s+-", shown), shown


def test_folders_and_the_explicit_run_form(project):
    def keys(*args: str) -> list[str]:
        done = golden_cli(*args, "--json", "--no-progress", "--release", "x", cwd=project)
        assert done.returncode == 0 and done.stderr == "", done.stderr
        return [run["key"] for run in json.loads(done.stdout)["runs"]]

    faq = sorted(f"{run_id}.yaml" for w, run_id, _ in RUNS if w == "faq")
    assert keys("cassettes/golden/faq") == faq
    assert keys("run", "cassettes/golden/faq", "-n", "0") == faq
    both = keys("cassettes/golden/faq", "cassettes/golden/refund")
    assert len(both) == len(RUNS) and both[0].startswith("cassettes/golden/faq/")


def test_workers_and_shards_give_the_serial_report(project):
    def report(*args: str) -> dict:
        done = golden_cli("--json", "--agent", REGRESSED, "--release", "v1.1", *args, cwd=project)
        data = json.loads(done.stdout)
        assert done.returncode == data["exit_code"], done.stderr
        return data

    serial = report("-n", "0")
    assert serial["exit_code"] == 1
    assert report("-n", "2") == serial
    paths = []
    for index in (1, 2, 3):
        data = report("-n", "2", "--shard", f"{index}/3")
        assert data["shard"] == {"index": index, "count": 3}
        path = project / f"shard-{index}.json"
        path.write_text(json.dumps(data))
        paths.append(path.name)
    merged = golden_cli("merge", *paths, "--json", cwd=project)
    assert merged.returncode == 1, merged.stderr
    assert json.loads(merged.stdout) == serial
    text = golden_cli("merge", *paths, "--markdown", "merged.md", cwd=project)
    assert text.returncode == 1 and "merged 3 reports" in text.stdout
    assert "`refund`" in (project / "merged.md").read_text()
    partial = golden_cli("merge", paths[0], cwd=project)
    assert partial.returncode == 3
    assert partial.stderr.strip().splitlines()[-1].startswith("replay: error: shards 2, 3 of 3")


def test_an_unreadable_cassette_is_reported_and_exits_3(project):
    (project / "cassettes" / "golden" / "faq" / "broken.yaml").write_text("version: [\n")
    done = golden_cli("-n", "0", "--release", "x", cwd=project)
    assert done.returncode == 3
    assert "6 match  1 error" in done.stdout
    assert "faq/broken.yaml" in done.stdout and "malformed YAML" in done.stdout
    data = json.loads(golden_cli("--json", "-n", "0", "--release", "x", cwd=project).stdout)
    assert [r["key"] for r in data["runs"] if r["verdict"] == "error"] == ["faq/broken.yaml"]
    assert data["exit_code"] == 3


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--shard", "3/2"], "--shard must be 'i/n'"),
        (["-n", "lots"], "-n must be 'auto' or a number"),
        (["--repeat", "0"], "--repeat must be at least 1"),
        (["missing-folder"], "missing-folder: no such golden set folder"),
        (["--agent", "nowhere:run"], "cannot import module 'nowhere'"),
        (["--no-such-option"], "No such option"),
    ],
)
def test_usage_errors_exit_3_with_one_line(project, args, message):
    done = golden_cli(*args, cwd=project)
    assert done.returncode == 3, (done.stdout, done.stderr)
    assert message in done.stderr
    assert done.stdout == ""


def test_config_thresholds_and_folder(project):
    (project / "pyproject.toml").write_text(
        "[tool.replay.golden]\n"
        'dir = "cassettes/golden/refund"\n'
        "max_error_rate_increase = 1.0\n"
        "max_repeated_tool_calls_increase = false\n"
    )
    data = json.loads(
        golden_cli("--json", "--agent", REGRESSED, "--release", "x", cwd=project).stdout
    )
    assert data["summary"]["runs"] == 3 and data["flags"] == []
    assert data["thresholds"]["max_repeated_tool_calls_increase"] is None
    assert data["exit_code"] == 1  # diverged runs still fail the set
    (project / "pyproject.toml").write_text("[tool.replay.golden]\nmax_p95_latency = 5\n")
    done = golden_cli(cwd=project)
    assert done.returncode == 3
    assert "unknown key 'max_p95_latency'" in done.stderr
    assert "max_p95_latency_increase_pct" in done.stderr


def test_add_promotes_healthy_runs_only(project, tmp_path):
    healthy = replay.record_run(
        AGENT,
        tmp_path / "rec" / "new-run.yaml",
        input={"workflow": "faq", "question": "Is there a dark mode?"},
        run_id="run-dark",
        workflow="faq",
        release="v1.0",
    )
    done = golden_cli("add", str(healthy.path), cwd=project)
    assert done.returncode == 0, done.stderr
    assert "added cassettes/golden/new-run.yaml (run run-dark, workflow faq)" in done.stdout
    assert (project / "cassettes" / "golden" / "new-run.yaml").is_file()
    again = golden_cli("add", str(healthy.path), "--json", cwd=project)
    assert json.loads(again.stdout)["added"] is False
    failed = replay.record_run(
        AGENT,
        tmp_path / "rec" / "cut.yaml",
        input={"workflow": "refund", "question": "Refund order Z-1", "max_turns": 1},
        run_id="run-cut",
        workflow="refund",
    )
    refused = golden_cli("add", str(failed.path), "--to", "other", cwd=project)
    assert refused.returncode == 3
    assert (
        "the run failed (stop_reason max_steps)" in refused.stderr and "--force" in refused.stderr
    )
    forced = golden_cli("add", str(failed.path), "--to", "other", "--force", cwd=project)
    assert forced.returncode == 0 and (project / "other" / "cut.yaml").is_file()
    assert golden_cli("--release", "x", "-n", "0", cwd=project).returncode == 0


def test_help_lists_the_sub_commands(project):
    done = golden_cli("--help", cwd=project, columns=100)
    assert done.returncode == 0
    for name in ("run", "merge", "add"):
        assert name in done.stdout
    run_help = golden_cli("run", "--help", cwd=project, columns=100)
    for option in (
        "--agent",
        "--workers",
        "--repeat",
        "--release",
        "--shard",
        "--junit",
        "--markdown",
        "--json",
    ):
        assert option in run_help.stdout


def test_a_terminal_gets_a_live_bar_and_a_pipe_a_few_lines(project):
    done = run_replay_on_terminal("golden", "--release", "v1.1", "-n", "0", cwd=project)
    assert done.code == 0, done
    frames = [f.strip() for f in done.text.replace("\n", "\r").split("\r") if "golden" in f]
    assert frames, done
    assert re.fullmatch(r"replaying golden set .* 6/6 0 changed \d+:\d\d:\d\d", frames[-1]), done
    assert "golden: " not in done.text, done  # the plain lines are for pipes
    assert done.terminal.endswith("\x1b[?25h\r\x1b[1A\x1b[2K"), done  # erased when done
    assert "PASSED: 6 runs" in done.stdout and "\x1b" not in done.stdout, done

    piped = golden_cli("--release", "v1.1", "-n", "0", cwd=project)
    assert piped.returncode == 0, piped.stderr
    # six runs: a line every tenth of the set (every run) up to the last
    assert [line for line in piped.stderr.splitlines() if line.startswith("golden: ")] == [
        f"golden: {n}/6 runs, 0 changed" for n in range(1, 7)
    ]
