"""The golden report as a pull-request comment (markdown)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from replay.golden import UNKNOWN, describe_change, format_figure
from replay.report.text import OVERALL_ROWS, WORKFLOW_COLUMNS, divergence_text, stop_reasons_text

if TYPE_CHECKING:
    from replay.golden import GoldenReport

def _md(text: Any) -> str:
    """Text safe inside a markdown table cell."""
    return str(text).replace("|", "\\|").replace("\n", " ")


def _arrow(figure: str, side: Mapping[str, Any], other: Mapping[str, Any]) -> str:
    before, after = format_figure(figure, side[figure]), format_figure(figure, other[figure])
    return before if before == after else f"{before} → {after}"


def render_markdown(report: GoldenReport) -> str:
    """A PR comment: verdict line, affected workflows, the diff by workflow, the overall
    figures, flagged figures and the runs that changed with the command to reproduce."""
    counts = report.counts
    status = "passed" if report.exit_code == 0 else "FAILED"
    verdicts = ", ".join(f"{n} {kind}" for kind, n in counts.items() if n)
    lines = [
        f"### Golden set: {_md(report.baseline_label)} → {_md(report.candidate_release)}: {status}",
        "",
        f"**{len(report.runs)} runs**: {verdicts or 'none'} · "
        f"**{len(report.flags)} figure{'s' if len(report.flags) != 1 else ''} over threshold** · "
        f"exit {report.exit_code}",
        "",
    ]
    affected = report.affected_workflows
    if affected:
        lines.append("**Affected workflows:** " + ", ".join(f"`{_md(w)}`" for w in affected))
        for name in affected:
            failing = report.tally.failing.get(name, Counter())
            flagged = [c for c in report.flags if c.segment == "workflow" and c.name == name]
            parts = [f"{n} {kind}" for kind, n in sorted(failing.items())]
            parts += [
                f"{c.label} {format_figure(c.figure, c.baseline)} → "
                f"{format_figure(c.figure, c.candidate)}"
                for c in flagged
            ]
            lines.append(f"- `{_md(name)}`: {'; '.join(parts)}")
        lines.append("")
    elif report.exit_code == 0:
        lines += ["No workflow changed: every run replays as recorded.", ""]
    if report.error_count:
        lines.append(f"**{report.error_count} run(s) could not be replayed** (exit 3):")
        errors = report.runs_where(lambda r: r.verdict == "error")
        lines += [f"- `{_md(r.key)}`: {_md(r.reason)}" for r in errors]
        lines.append("")
    diverged = report.diverged_count
    if diverged:
        lines += [
            f"**{diverged} run{'s' if diverged != 1 else ''} diverged**: not replayed "
            "to the end, so there is no latency or outcome of this build to measure; they are "
            "left out of every figure below (both sides).",
            "",
        ]
    flagged_where = {(c.segment, c.name, c.figure) for c in report.flags}
    header = (
        "| Workflow | Runs | Changed | Diverged | "
        + " | ".join(t for _, t in WORKFLOW_COLUMNS)
        + " |"
    )
    lines += [header, "|" + "---|" * (4 + len(WORKFLOW_COLUMNS))]
    changed = report.tally.changed
    for name, segment in report.diff["workflows"].items():
        cells = [
            f"`{_md(name)}`",
            str(segment["runs"]),
            str(changed.get(name, 0)),
            str(segment["diverged"]),
        ]
        for figure, _ in WORKFLOW_COLUMNS:
            text = _arrow(figure, segment["baseline"], segment["candidate"])
            if ("workflow", name, figure) in flagged_where:
                text = f"**{text}** ⚠"
            cells.append(_md(text))
        lines.append("| " + " | ".join(cells) + " |")
    overall = report.diff["overall"]
    lines += [
        "",
        f"<details><summary>Release diff {_md(report.coverage)}</summary>",
        "",
        f"| Figure | Baseline ({_md(report.baseline_label)}) | "
        f"This build ({_md(report.candidate_release)}) | Change |",
        "|---|---|---|---|",
        f"| Stop reasons | {_md(stop_reasons_text(overall['baseline']['stop_reasons']))} | "
        f"{_md(stop_reasons_text(overall['candidate']['stop_reasons']))} | |",
    ]
    for figure, title in OVERALL_ROWS:
        before, after = overall["baseline"][figure], overall["candidate"][figure]
        mark = " ⚠" if ("overall", "", figure) in flagged_where else ""
        lines.append(
            f"| {title} | {format_figure(figure, before)} | {format_figure(figure, after)} | "
            f"{describe_change(figure, before, after)}{mark} |"
        )
    lines += ["", "</details>", ""]
    if report.flags:
        lines += [f"<details><summary>Figures over threshold ({len(report.flags)})</summary>", ""]
        lines += [f"- {_md(c.message)}" for c in report.flags]
        lines += ["", "</details>", ""]
    moved = report.tally.runs - report.counts["match"] - report.error_count
    if moved:
        lines += [
            f"<details><summary>Runs that changed ({moved})</summary>",
            "",
            "| Verdict | Run | Workflow | First divergence | Reproduce |",
            "|---|---|---|---|---|",
        ]
        for record in report.runs_where(lambda r: r.verdict not in ("match", "error")):
            lines.append(
                f"| {record.verdict} | `{_md(record.key)}` | {_md(record.workflow or UNKNOWN)} | "
                f"{_md(divergence_text(record))} | `{_md(report.reproduce_command(record))}` |"
            )
        lines += ["", "</details>", ""]
    return "\n".join(lines)
