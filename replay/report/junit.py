"""The golden report as JUnit XML for CI: one testcase per run and per threshold check."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import TYPE_CHECKING, Any

from replay.report.text import divergence_text

if TYPE_CHECKING:
    from replay.golden import GoldenReport

def render_junit(report: GoldenReport) -> str:
    """JUnit XML for CI: one testcase per run (failure for regressed/diverged/flaky,
    error when it could not be replayed) and one per threshold check."""
    root = ET.Element("testsuites", name="replay golden")
    runs = ET.SubElement(root, "testsuite", name="golden runs")
    for record in report.runs:
        case = ET.SubElement(
            runs,
            "testcase",
            classname=f"golden.{record.workflow or 'none'}",
            name=record.key,
            file=record.path,
        )
        if record.verdict == "error":
            node = ET.SubElement(case, "error", type="error", message=record.reason)
            node.text = f"{record.path}: {record.reason}"
        elif record.failing:
            node = ET.SubElement(case, "failure", type=record.verdict, message=record.reason)
            details = [record.reason, *record.changes]
            if record.divergence:
                details.append(divergence_text(record))
                details += [f"  {line}" for line in record.divergence.get("args_diff", [])]
            if record.measured and not record.replayed:
                details.append(
                    "not replayed to the end: left out of the release diff figures "
                    "(no latency or outcome of this build to measure)"
                )
            details.append(f"reproduce with: {report.reproduce_command(record)}")
            node.text = "\n".join(details)
    _suite_counts(runs)
    figures = ET.SubElement(root, "testsuite", name="golden release diff")
    overall = report.diff["overall"]
    properties = ET.SubElement(figures, "properties")
    for name, value in (
        ("runs", overall["runs"] + len(report.errors)),
        ("replayed", overall["replayed"]),
        ("diverged", overall["diverged"]),
        ("errors", len(report.errors)),
        ("coverage", report.coverage),
    ):
        ET.SubElement(properties, "property", name=name, value=str(value))
    for check in report.checks:
        classname = "golden.diff" + ("" if check.segment == "overall" else f".{check.segment}")
        name = f"{check.name}: {check.label}" if check.name else check.label
        case = ET.SubElement(figures, "testcase", classname=classname, name=name)
        if check.flagged:
            ET.SubElement(
                case, "failure", type="threshold", message=check.message
            ).text = check.message
    _suite_counts(figures)
    root.set("tests", str(sum(int(s.get("tests", "0")) for s in root)))
    root.set("failures", str(sum(int(s.get("failures", "0")) for s in root)))
    root.set("errors", str(sum(int(s.get("errors", "0")) for s in root)))
    ET.indent(root)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def _suite_counts(suite: Any) -> None:
    cases = suite.findall("testcase")
    suite.set("tests", str(len(cases)))
    suite.set("failures", str(sum(1 for c in cases if c.find("failure") is not None)))
    suite.set("errors", str(sum(1 for c in cases if c.find("error") is not None)))
    suite.set("skipped", "0")
