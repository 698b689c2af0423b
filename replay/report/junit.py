"""The golden report as JUnit XML for CI: one testcase per run and per threshold check."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from replay.report.text import divergence_text

if TYPE_CHECKING:
    from replay.golden import GoldenReport, RunRecord


def render_junit(report: GoldenReport) -> str:
    """JUnit XML for CI: one testcase per run (failure for regressed/diverged/flaky,
    error when it could not be replayed) and one per threshold check."""
    return "".join(iter_junit(report))


def iter_junit(report: GoldenReport) -> Iterator[str]:
    """``render_junit`` in pieces, one run's testcase at a time (the runs are read one
    by one, never held): the text ``ET.indent`` gives the whole tree."""
    failures = sum(sum(verdicts.values()) for verdicts in report.tally.failing.values())
    runs = _with_counts(
        ET.Element("testsuite", name="golden runs"),
        report.tally.runs,
        failures,
        report.error_count,
    )
    figures = _figures_suite(report)
    root = ET.Element("testsuites", name="replay golden")
    for name in ("tests", "failures", "errors"):
        root.set(name, str(int(runs.get(name, "0")) + int(figures.get(name, "0"))))
    yield '<?xml version="1.0" encoding="utf-8"?>\n'
    yield _start_tag(root) + "\n  "
    if report.tally.runs:
        yield _start_tag(runs)
        for record in report.runs:
            case = _run_case(report, record)
            ET.indent(case, level=2)
            yield "\n    " + ET.tostring(case, encoding="unicode")
        yield "\n  </testsuite>"
    else:
        yield ET.tostring(runs, encoding="unicode")
    ET.indent(figures, level=1)
    yield "\n  " + ET.tostring(figures, encoding="unicode") + "\n</testsuites>\n"


def _start_tag(element: ET.Element) -> str:
    """The opening tag of a childless element, attributes escaped as ElementTree does."""
    return ET.tostring(element, encoding="unicode").removesuffix(" />") + ">"


def _run_case(report: GoldenReport, record: RunRecord) -> ET.Element:
    case = ET.Element(
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
    return case


def _figures_suite(report: GoldenReport) -> ET.Element:
    figures = ET.Element("testsuite", name="golden release diff")
    overall = report.diff["overall"]
    properties = ET.SubElement(figures, "properties")
    for name, value in (
        ("runs", overall["runs"] + report.error_count),
        ("replayed", overall["replayed"]),
        ("diverged", overall["diverged"]),
        ("errors", report.error_count),
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
    cases = figures.findall("testcase")
    failed = sum(1 for c in cases if c.find("failure") is not None)
    errors = sum(1 for c in cases if c.find("error") is not None)
    return _with_counts(figures, len(cases), failed, errors)


def _with_counts(suite: Any, tests: int, failures: int, errors: int) -> Any:
    suite.set("tests", str(tests))
    suite.set("failures", str(failures))
    suite.set("errors", str(errors))
    suite.set("skipped", "0")
    return suite
