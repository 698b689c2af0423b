"""The markdown (PR comment) and JUnit (CI) renderings of a golden report."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from replay.golden import run_golden
from replay.report import render_junit, render_markdown
from tests.golden.conftest import GIVES_UP, REGRESSED, REWORDED_ALL, RUNS


def test_markdown_names_the_affected_workflows(golden_set):
    report = run_golden([golden_set], agent=GIVES_UP, release="v1.1")
    text = render_markdown(report)
    assert text.startswith("### Golden set: v1.0 → v1.1: FAILED")
    assert "**Affected workflows:** `refund`\n" in text
    assert "- `refund`: 3 regressed; error rate 0.0% → 100.0%\n" in text
    assert "| `faq` | 3 | 0 | 0 |" in text
    assert "| `refund` | 3 | 3 | 0 | **0.0% → 100.0%** ⚠ |" in text
    assert "<summary>Release diff over 6 runs</summary>" in text and "diverged**" not in text
    assert "`replay run " in text and f"--agent {GIVES_UP}`" in text
    healthy = render_markdown(run_golden([golden_set], release="v1.1"))
    assert ": passed" in healthy.splitlines()[0]
    assert "No workflow changed" in healthy and "Affected workflows" not in healthy


def test_markdown_shows_diverged_runs_apart(golden_set):
    text = render_markdown(run_golden([golden_set], agent=REGRESSED, release="v1.1"))
    assert "- `refund`: 3 diverged\n" in text
    assert "**3 runs diverged**: not replayed to the end" in text
    assert "| `refund` | 3 | 3 | 3 | - | - | - | - | - |" in text
    assert "<summary>Release diff over 3 of 6 runs; 3 diverged</summary>" in text
    assert "repeats recorded step 1" in text
    everything = render_markdown(run_golden([golden_set], agent=REWORDED_ALL, release="v1.1"))
    assert "| p95 latency | - | - | n/a |" in everything
    assert "<summary>Release diff over 0 of 6 runs; 6 diverged</summary>" in everything
    for shown in (text, everything):
        assert "100%" not in shown and "100.0%" not in shown and "pts" not in shown


def test_junit_has_a_testcase_per_run_and_per_threshold(golden_set):
    report = run_golden([golden_set], agent=GIVES_UP)
    root = ET.fromstring(render_junit(report))
    runs, figures = root.findall("testsuite")
    assert runs.get("name") == "golden runs" and runs.get("tests") == str(len(RUNS))
    failed = {c.get("name"): c.find("failure") for c in runs if c.find("failure") is not None}
    assert set(failed) == {f"refund/{run_id}.yaml" for w, run_id, _ in RUNS if w == "refund"}
    first = next(iter(failed.values()))
    assert first.get("type") == "regressed"
    assert "reproduce with: replay run " in first.text
    assert "not replayed to the end" not in first.text
    assert figures.get("tests") == str(len(report.checks))
    assert figures.get("failures") == str(len(report.flags)) == "3"
    assert root.get("failures") == str(3 + 3) and root.get("errors") == "0"


def test_junit_leaves_diverged_runs_out_of_the_figures(golden_set):
    report = run_golden([golden_set], agent=REGRESSED)
    root = ET.fromstring(render_junit(report))
    runs, figures = root.findall("testsuite")
    failure = next(c.find("failure") for c in runs if c.find("failure") is not None)
    assert failure.get("type") == "diverged"
    assert "not replayed to the end: left out of the release diff figures" in failure.text
    properties = {p.get("name"): p.get("value") for p in figures.iter("property")}
    assert properties == {
        "runs": "6",
        "replayed": "3",
        "diverged": "3",
        "errors": "0",
        "coverage": "over 3 of 6 runs; 3 diverged",
    }
    assert figures.get("tests") == str(len(report.checks)) and figures.get("failures") == "0"
    assert root.get("failures") == "3"


def test_junit_reports_unreadable_runs_as_errors(golden_copy):
    (golden_copy / "bad.yaml").write_text("::: not yaml")
    root = ET.fromstring(render_junit(run_golden([golden_copy])))
    errors = [c for c in root.iter("testcase") if c.find("error") is not None]
    assert [c.get("name") for c in errors] == ["bad.yaml"]
    assert root.get("errors") == "1"
