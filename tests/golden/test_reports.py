"""The markdown (PR comment) and JUnit (CI) renderings of a golden report."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from replay.golden import run_golden
from replay.report import render_junit, render_markdown
from tests.golden.conftest import REGRESSED, RUNS


def test_markdown_names_the_affected_workflows(golden_set):
    report = run_golden([golden_set], agent=REGRESSED, release="v1.1")
    text = render_markdown(report)
    assert text.startswith("### Golden set: v1.0 → v1.1: FAILED")
    assert "**Affected workflows:** `refund`\n" in text
    assert "- `refund`: 3 diverged; error rate 0.0% → 100.0%; repeated tool calls 0 → 3" in text
    assert "| `faq` | 3 | 0 |" in text
    assert "| `refund` | 3 | 3 | **0.0% → 100.0%** ⚠ |" in text
    assert "`replay run " in text and f"--agent {REGRESSED}`" in text
    assert "repeats recorded step 1" in text
    healthy = render_markdown(run_golden([golden_set], release="v1.1"))
    assert ": passed" in healthy.splitlines()[0]
    assert "No workflow changed" in healthy and "Affected workflows" not in healthy


def test_junit_has_a_testcase_per_run_and_per_threshold(golden_set):
    report = run_golden([golden_set], agent=REGRESSED)
    root = ET.fromstring(render_junit(report))
    runs, figures = root.findall("testsuite")
    assert runs.get("name") == "golden runs" and runs.get("tests") == str(len(RUNS))
    failed = {c.get("name"): c.find("failure") for c in runs if c.find("failure") is not None}
    assert set(failed) == {f"refund/{run_id}.yaml" for w, run_id, _ in RUNS if w == "refund"}
    first = next(iter(failed.values()))
    assert first.get("type") == "diverged"
    assert "reproduce with: replay run " in first.text
    assert figures.get("tests") == str(len(report.checks))
    assert figures.get("failures") == str(len(report.flags)) == "7"
    assert root.get("failures") == str(3 + 7) and root.get("errors") == "0"


def test_junit_reports_unreadable_runs_as_errors(golden_copy):
    (golden_copy / "bad.yaml").write_text("::: not yaml")
    root = ET.fromstring(render_junit(run_golden([golden_copy])))
    errors = [c for c in root.iter("testcase") if c.find("error") is not None]
    assert [c.get("name") for c in errors] == ["bad.yaml"]
    assert root.get("errors") == "1"
