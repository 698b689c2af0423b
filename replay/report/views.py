"""What the HTML report shows, as plain data: a run, a replay verdict, a release.

Pure functions from values (a ``Cassette``, its ``RunSignals``) or from the JSON that
``replay run --json`` and ``replay golden --json`` print, to the dicts the templates read.
Nothing here writes markup: every recorded value stays data, escaped by the template
engine, or handed to the page's script as JSON and shown as text.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from replay.report.text import MODE_NOTES, OVERALL_ROWS, WORKFLOW_COLUMNS, stop_reasons_text

if TYPE_CHECKING:
    from replay.cassette import Cassette, Step
    from replay.signals import RunSignals

CONTEXT_FIELDS = ("run_id", "trace_id", "release", "workflow", "model", "entrypoint")
# Fields a verdict's JSON has always carried; any other (the assumptions of a
# counterfactual verdict, say) is shown as it comes, under "More about this verdict".
KNOWN_VERDICT_FIELDS = frozenset(
    {
        "verdict",
        "mode",
        "reason",
        "cassette",
        "run_id",
        "agent",
        "repeats",
        "first_divergence",
        "divergence",
        "flaky_step",
        "approximations",
        "original",
        "replay",
        "diff",
        "replays",
        "expected",
        "exit_status",
        "reproduce",
        "history",
        # A counterfactual verdict (replay run --on-miss): shown in their own places.
        "headline",
        "on_miss",
        "assumption",
        "assumed_calls",
        "derived_cassette",
    }
)
KNOWN_GOLDEN_FIELDS = frozenset(
    {
        "schema",
        "version",
        "candidate_release",
        "baseline_releases",
        "agent",
        "repeat",
        "golden_dirs",
        "shard",
        "thresholds",
        "exit_code",
        "passed",
        "summary",
        "affected_workflows",
        "flags",
        "checks",
        "diff",
        "runs",
        "sources",
        "on_miss",
    }
)
KNOWN_RUN_RECORD_FIELDS = frozenset(
    {
        "key",
        "path",
        "run_id",
        "workflow",
        "model",
        "release",
        "verdict",
        "reason",
        "first_divergence",
        "flaky_step",
        "divergence",
        "outcome_change",
        "changes",
        "baseline",
        "candidate",
        "assumption",
        "assumed_calls",
    }
)
CHART_FIGURES = (
    ("error_rate", "Error rate"),
    ("p95_latency_ms", "p95 latency"),
    ("repeated_tool_calls", "Repeated tool calls"),
)
CHART_BAR = 14
CHART_GAP = 10
CHART_LABEL = 120
CHART_WIDTH = 360


# ------------------------------------------------------------------------ a run


def step_row(step: Step, position: int) -> list[Any]:
    """A step as the waterfall reads it: position, index, kind, name, start, latency,
    error class (short) and message."""
    error = step.error
    return [
        position,
        step.index,
        step.kind,
        step.name,
        round(step.started_at_ms, 3),
        round(step.latency_ms, 3),
        error.error_class.rsplit(".", 1)[-1] if error else None,
        error.message if error else None,
    ]


def step_detail(step: Step) -> dict[str, Any]:
    """What a step's details show on demand: args, result or error, the HTTP exchange
    and, for a streamed response, its SSE events one by one (apart from the exchange)."""
    detail: dict[str, Any] = {"args": step.args}
    if step.error is not None:
        detail["error"] = step.error.to_dict()
    else:
        detail["result"] = step.result
    if step.http is not None:
        events = sse_events(step.http)
        detail["http"] = _without_events(step.http, len(events)) if events else step.http
        if events:
            detail["sse"] = events
    return detail


def sse_events(http: Any) -> list[str]:
    """The server-sent events of a streamed response: the ``events`` a capture keeps (one
    string each), or the blocks of a ``text/event-stream`` body."""
    response = http.get("response") if isinstance(http, Mapping) else None
    if not isinstance(response, Mapping):
        return []
    events = response.get("events")
    if isinstance(events, list):
        return [event if isinstance(event, str) else str(event) for event in events]
    headers = response.get("headers")
    kind = ""
    if isinstance(headers, Mapping):
        kind = str(next((v for k, v in headers.items() if str(k).lower() == "content-type"), ""))
    body = response.get("body")
    if "event-stream" not in kind or not isinstance(body, str):
        return []
    return [block.strip() for block in body.replace("\r\n", "\n").split("\n\n") if block.strip()]


def _without_events(http: Mapping[str, Any], count: int) -> dict[str, Any]:
    """The exchange with its events named, not repeated (they are shown one by one)."""
    response = dict(http["response"])
    response.pop("events", None)
    response.pop("body", None)
    response["events"] = f"{count} server-sent events, listed apart"
    return {**http, "response": response}


def steps_data(steps: Sequence[Step]) -> dict[str, Any]:
    """The data block of one step list: rows for the waterfall, details on demand."""
    return {
        "rows": [step_row(step, position) for position, step in enumerate(steps)],
        "details": [step_detail(step) for step in steps],
    }


def run_view(cassette: Cassette, signals: RunSignals, *, data_id: str = "run") -> dict[str, Any]:
    """A recorded run: context, outcome, signals, ranked hypotheses, and the key of its
    steps in the page data (the waterfall is drawn by the page, lazily)."""
    context = cassette.context.to_dict()
    found = signals.to_dict()
    positions = {step.index: position for position, step in enumerate(cassette.steps)}

    def mark(span: Mapping[str, Any] | None) -> int | None:
        return positions.get(span["index"]) if span else None

    return {
        "data_id": data_id,
        "path": cassette.path,
        "context": [(name, context.get(name)) for name in CONTEXT_FIELDS],
        "input": context.get("input"),
        "recorded_at": context.get("recorded_at"),
        "outcome": cassette.outcome.to_dict(),
        "outcome_failed": cassette.outcome.failed,
        "outcome_unknown": cassette.outcome.unknown,
        "provenance": dict(cassette.provenance) if cassette.provenance else None,
        "signals": found,
        "step_count": len(cassette.steps),
        "first_error": mark(found["first_error_span"]),
        "slowest": mark(found["slowest_span"]),
    }


# -------------------------------------------------------------------- a verdict


def align(
    original: Sequence[Mapping[str, Any]],
    new: Sequence[Mapping[str, Any]],
    changes: Sequence[Mapping[str, Any]],
) -> list[list[Any]]:
    """The two histories side by side: ``[original position, new position, status,
    change number]`` per row, status ``equal``/``changed``/``added``/``removed``.

    ``original`` and ``new`` are step rows (``{"index": ...}``); ``changes`` are the
    step diff's changes, which name steps by index. Equal steps pair up in order.
    """
    removed = {c["original"] for c in changes if c.get("change") == "removed"}
    added = {c["new"] for c in changes if c.get("change") == "added"}
    changed_original = {
        c["original"]: n for n, c in enumerate(changes) if c.get("change") == "changed"
    }
    changed_new = {c["new"]: n for n, c in enumerate(changes) if c.get("change") == "changed"}
    change_of_removed = {
        c["original"]: n for n, c in enumerate(changes) if c.get("change") == "removed"
    }
    change_of_added = {c["new"]: n for n, c in enumerate(changes) if c.get("change") == "added"}
    rows: list[list[Any]] = []
    i = j = 0
    while i < len(original) or j < len(new):
        left = original[i] if i < len(original) else None
        right = new[j] if j < len(new) else None
        if left is not None and (right is None or left["index"] in removed):
            rows.append([i, None, "removed", change_of_removed.get(left["index"])])
            i += 1
        elif right is not None and (left is None or right["index"] in added):
            rows.append([None, j, "added", change_of_added.get(right["index"])])
            j += 1
        else:
            assert left is not None and right is not None
            number = changed_new.get(right["index"], changed_original.get(left["index"]))
            rows.append([i, j, "equal" if number is None else "changed", number])
            i += 1
            j += 1
    return rows


def first_divergence_row(
    rows: Sequence[Sequence[Any]],
    original: Sequence[Mapping[str, Any]],
    new: Sequence[Mapping[str, Any]],
    step: int | None,
) -> int | None:
    """The aligned row of the first divergence: ``step`` names a step of the new history
    (of the original for a removed step, as ``replay.diff`` does); the first row that
    differs when no row has it."""
    differing = [(n, row) for n, row in enumerate(rows) if row[2] != "equal"]
    if step is not None:
        for number, (_, right, _, _) in differing:
            if right is not None and new[right]["index"] == step:
                return number
        for number, (left, right, _, _) in differing:
            if right is None and left is not None and original[left]["index"] == step:
                return number
    return differing[0][0] if differing else None


def _row_dicts(rows: Sequence[Sequence[Any]]) -> list[dict[str, Any]]:
    return [{"index": row[1]} for row in rows]


def verdict_view(
    data: Mapping[str, Any],
    *,
    original: Cassette | None,
    signals: RunSignals | None,
    history: Sequence[Step] | None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """A replay verdict (the dict of ``replay run --json``) as the page shows it, and
    the page data: the recorded run's steps and, when known, the replay's, aligned.

    ``original`` is the recorded cassette (None when it cannot be read: the page then
    shows the step diff without the histories); ``history`` the first replay's steps.
    """
    diff = data.get("diff") or {}
    changes = list(diff.get("changes") or [])
    page_data: dict[str, Any] = {}
    alignment = None
    if original is not None:
        page_data["original"] = steps_data(original.steps)
    if history is not None:
        page_data["replay"] = steps_data(history)
    if original is not None and history is not None:
        left = _row_dicts(page_data["original"]["rows"])
        right = _row_dicts(page_data["replay"]["rows"])
        rows = align(left, right, changes)
        first = first_divergence_row(rows, left, right, data.get("first_divergence"))
        page_data["alignment"] = {"rows": rows, "first": first, "changes": changes}
        alignment = {"rows": len(rows), "first": first}
    extras = {k: v for k, v in data.items() if k not in KNOWN_VERDICT_FIELDS}
    view = {
        "verdict": data.get("verdict"),
        "headline": data.get("headline") if data.get("headline") != data.get("verdict") else None,
        "on_miss": data.get("on_miss"),
        "assumption": data.get("assumption"),
        "assumed_calls": list(data.get("assumed_calls") or []),
        "derived_cassette": data.get("derived_cassette"),
        "mode": data.get("mode"),
        "mode_note": MODE_NOTES.get(str(data.get("mode")), ""),
        "reason": data.get("reason"),
        "approximations": list(data.get("approximations") or []),
        "cassette": data.get("cassette"),
        "run_id": data.get("run_id"),
        "agent": data.get("agent"),
        "repeats": data.get("repeats"),
        "expected": data.get("expected"),
        "exit_status": data.get("exit_status"),
        "reproduce": data.get("reproduce"),
        "passing": data.get("exit_status") == 0,
        "summary": _summary_rows(data.get("original") or {}, data.get("replay") or {}),
        "replays": list(data.get("replays") or []),
        "flaky_step": data.get("flaky_step"),
        "divergence": data.get("divergence"),
        "first_divergence": data.get("first_divergence"),
        "changes": changes,
        "equal_steps": diff.get("equal_steps"),
        "outcome_change": _outcome_rows(diff.get("outcome_change")),
        "extras": extras,
        "alignment": alignment,
        "has_replay_history": history is not None,
        "run": run_view(original, signals, data_id="original")
        if original is not None and signals is not None
        else None,
    }
    return view, page_data


def _summary_rows(
    original: Mapping[str, Any], replay: Mapping[str, Any]
) -> list[tuple[str, Any, Any]]:
    def failing(summary: Mapping[str, Any]) -> str:
        step = summary.get("failing_step")
        return f"#{step['index']} {step['kind']} {step['name']}" if step else "-"

    return [
        ("stop_reason", original.get("stop_reason", "-"), replay.get("stop_reason", "-")),
        ("error", original.get("error_class") or "-", replay.get("error_class") or "-"),
        ("steps", original.get("steps", "-"), replay.get("steps", "-")),
        ("first step error", failing(original), failing(replay)),
    ]


def _outcome_rows(change: Mapping[str, Any] | None) -> list[tuple[str, Any, Any]]:
    if not change:
        return []
    before, after = change.get("before") or {}, change.get("after") or {}

    def field(side: Mapping[str, Any], name: str) -> Any:
        if name == "error_class":
            error = side.get("error")
            if isinstance(error, Mapping):
                return error.get("class")
            return side.get("error_class")
        return side.get(name)

    return [(name, field(before, name), field(after, name)) for name in change.get("fields", [])]


# --------------------------------------------------------------------- a release


def _bars(
    pairs: Sequence[tuple[str, float | None, float | None]], scale_max: float
) -> list[dict[str, Any]]:
    """Baseline and candidate bars of one chart, one group per segment, in SVG units; a
    value above zero is at least one unit wide, so that it never looks like zero, and a
    figure nothing measured (None) has no bar."""
    span = CHART_WIDTH - CHART_LABEL - 70

    def width(value: float | None) -> float:
        if value is None or value <= 0 or scale_max <= 0:
            return 0.0
        return max(1.0, span * value / scale_max)

    groups = []
    for number, (name, before, after) in enumerate(pairs):
        top = number * (2 * CHART_BAR + CHART_GAP)
        sides = (("baseline", before), ("candidate", after))
        bars = [
            {"side": side, "value": value, "y": top + offset * CHART_BAR, "width": width(value)}
            for offset, (side, value) in enumerate(sides)
        ]
        groups.append({"name": name, "y": top, "bars": bars})
    return groups


def _number(value: Any) -> float | None:
    return None if value is None else float(value)


def figure_text(figure: str, value: Any) -> str:
    """A release figure as people read it; ``-`` when nothing measured it (a segment
    whose runs all diverged has no figures)."""
    from replay.golden import format_figure

    return "-" if value is None else format_figure(figure, value)


def change_text(figure: str, before: Any, after: Any) -> str:
    from replay.golden import describe_change

    if before is None or after is None:
        return "n/a"
    return describe_change(figure, before, after)


def golden_charts(diff: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Small bar charts (error rate, p95 latency, repeated tool calls) by workflow and
    overall, baseline against candidate, and the stop_reason mix of each side."""
    segments = [("all runs", diff["overall"]), *diff["workflows"].items()]
    charts = []
    for figure, title in CHART_FIGURES:
        pairs = [
            (name, _number(s["baseline"].get(figure)), _number(s["candidate"].get(figure)))
            for name, s in segments
            if s["runs"]
        ]
        top = max((v for _, b, a in pairs for v in (b, a) if v is not None), default=0.0)
        groups = _bars(pairs, top)
        for group in groups:
            for bar in group["bars"]:
                bar["text"] = figure_text(figure, bar["value"])
        charts.append(
            {
                "title": title,
                "figure": figure,
                "groups": groups,
                "height": max(1, len(groups)) * (2 * CHART_BAR + CHART_GAP),
                "width": CHART_WIDTH,
                "label_width": CHART_LABEL,
            }
        )
    return charts


def stop_reason_mix(diff: Mapping[str, Any]) -> dict[str, Any]:
    """The stop_reason mix of all runs, baseline and candidate, as stacked bars:
    ``completed`` first and always green (tone 0), the other endings after it."""
    found = set(diff["overall"]["baseline"]["stop_reasons"]) | set(
        diff["overall"]["candidate"]["stop_reasons"]
    )
    names = sorted(found, key=lambda name: (name != "completed", name))
    tones = {
        name: 0 if name == "completed" else 1 + n % 5
        for n, name in enumerate(n for n in names if n != "completed")
    } | ({"completed": 0} if "completed" in found else {})
    span = CHART_WIDTH - CHART_LABEL - 10
    sides = []
    for number, side in enumerate(("baseline", "candidate")):
        counts = diff["overall"][side]["stop_reasons"]
        total = sum(counts.values())
        x = float(CHART_LABEL)
        parts = []
        for name in names:
            count = counts.get(name, 0)
            width = span * count / total if total else 0
            parts.append(
                {"name": name, "count": count, "x": x, "width": width, "tone": tones[name]}
            )
            x += width
        sides.append(
            {
                "side": side,
                "y": number * (CHART_BAR * 2),
                "parts": parts,
                "text": stop_reasons_text(counts),
            }
        )
    return {
        "names": [(name, tones[name]) for name in names],
        "sides": sides,
        "width": CHART_WIDTH,
        "height": 2 * CHART_BAR * 2,
        "label_width": CHART_LABEL,
    }


def run_anchor(key: str) -> str:
    """The id of a run's section: its key with anything but letters, digits, ``-`` and
    ``_`` replaced (an id is also a URL fragment)."""
    return "run-" + "".join(c if c.isalnum() or c in "-_" else "-" for c in key)


VERDICT_KINDS = ("match", "fixed", "regressed", "diverged", "flaky", "error")
MAX_DETAILED_RUNS = 1000
"""Runs that changed detailed on a golden page (the first, in key order); the JSON
report has them all. A build that breaks every run of a 10,000-run set would otherwise
give a page (and a renderer) holding 10,000 run sections."""


def _coverage(overall: Mapping[str, Any], errors: int) -> str:
    """Over which runs the figures are (``over 15 of 22 runs; 7 diverged``, and how many
    rest on an on-miss assumption); a report written before diverged runs were counted
    apart covers every measured run."""
    from replay.golden import coverage_text

    runs = int(overall.get("runs", 0))
    replayed = int(overall.get("replayed", runs))
    return coverage_text(runs, replayed, errors, int(overall.get("assumed") or 0))


def golden_view(data: Mapping[str, Any]) -> dict[str, Any]:
    """A golden report (``replay golden --json``): status, the diff by workflow, model
    and tool, the charts, the flagged thresholds and the runs that changed.

    ``data["runs"]`` may be any iterable (a generator over the records on disk): it is
    read once, and only the runs that changed are kept, at most ``MAX_DETAILED_RUNS``."""
    from replay.golden import UNKNOWN, RunRecord
    from replay.report.text import divergence_text

    diff = data["diff"]
    flags = list(data.get("flags") or [])
    flagged = {(f.get("segment"), f.get("name"), f.get("figure")) for f in flags}

    def arrow(figure: str, segment: Mapping[str, Any]) -> str:
        before = figure_text(figure, segment["baseline"].get(figure))
        after = figure_text(figure, segment["candidate"].get(figure))
        return before if before == after else f"{before} → {after}"

    def segment_rows(kind: str, segments: Mapping[str, Any]) -> list[dict[str, Any]]:
        return [
            {
                "name": name,
                "runs": segment["runs"],
                "diverged": segment.get("diverged"),
                "cells": [
                    {"text": arrow(figure, segment), "flagged": (kind, name, figure) in flagged}
                    for figure, _ in WORKFLOW_COLUMNS
                ],
            }
            for name, segment in segments.items()
        ]

    overall = diff["overall"]
    overall_rows = [
        {
            "title": title,
            "baseline": figure_text(figure, overall["baseline"].get(figure)),
            "candidate": figure_text(figure, overall["candidate"].get(figure)),
            "change": change_text(
                figure, overall["baseline"].get(figure), overall["candidate"].get(figure)
            ),
            "flagged": ("overall", "", figure) in flagged,
        }
        for figure, title in OVERALL_ROWS
    ]
    tools = [
        {
            "name": name,
            "calls": (tool["baseline"]["calls"], tool["candidate"]["calls"]),
            "repeated": (tool["baseline"]["repeated"], tool["candidate"]["repeated"]),
            "flagged": any(("tool", name, f) in flagged for f in ("calls", "repeated")),
        }
        for name, tool in diff.get("tools", {}).items()
    ]
    agent = data.get("agent")
    changed: list[dict[str, Any]] = []
    total = changed_total = 0
    for raw in data.get("runs") or ():
        total += 1
        if str(raw.get("verdict")) == "match":
            continue  # the page details the runs that changed only
        changed_total += 1
        if len(changed) >= MAX_DETAILED_RUNS:
            continue
        record = RunRecord.from_dict(raw)
        command = f"replay run {record.path}" + (f" --agent {agent}" if agent else "")
        changed.append(
            {
                "key": record.key,
                "anchor": run_anchor(record.key),
                "path": record.path,
                "run_id": record.run_id,
                "workflow": record.workflow or UNKNOWN,
                "model": record.model or UNKNOWN,
                "release": record.release,
                "verdict": record.verdict,
                "reason": record.reason,
                "where": divergence_text(record),
                "divergence": record.divergence,
                "outcome_change": _outcome_rows(record.outcome_change),
                "changes": list(record.changes),
                "reproduce": command,
                "assumption": raw.get("assumption"),
                "assumed_calls": list(raw.get("assumed_calls") or []),
                "extras": {k: v for k, v in raw.items() if k not in KNOWN_RUN_RECORD_FIELDS},
            }
        )
    summary = data.get("summary") or {}
    errors = int(summary.get("error") or 0)
    not_replayed = int(overall.get("runs", 0)) - int(
        overall.get("replayed", overall.get("runs", 0))
    )
    return {
        "baseline_label": ", ".join(data.get("baseline_releases") or {}) or "recorded",
        "candidate": data.get("candidate_release"),
        "passed": bool(data.get("passed")),
        "exit_code": data.get("exit_code"),
        "agent": agent,
        "on_miss": data.get("on_miss"),
        "repeat": data.get("repeat"),
        "diverged_column": any(
            "diverged" in segment for segment in diff.get("workflows", {}).values()
        ),
        "golden_dirs": list(data.get("golden_dirs") or []),
        "summary": [(k, v) for k, v in summary.items() if k in VERDICT_KINDS],
        "not_replayed": not_replayed,
        "coverage": _coverage(overall, errors),
        "total_runs": summary.get("runs", total),
        "affected": list(data.get("affected_workflows") or []),
        "flags": flags,
        "checks": data.get("checks"),
        "columns": [title for _, title in WORKFLOW_COLUMNS],
        "workflows": segment_rows("workflow", diff.get("workflows", {})),
        "models": segment_rows("model", diff.get("models", {})),
        "overall": overall_rows,
        "stop_reasons": (
            stop_reasons_text(overall["baseline"]["stop_reasons"]),
            stop_reasons_text(overall["candidate"]["stop_reasons"]),
        ),
        "tools": tools,
        "charts": golden_charts(diff),
        "mix": stop_reason_mix(diff),
        "changed": changed,
        "changed_total": changed_total,
        "changed_hidden": changed_total - len(changed),
        "extras": {k: v for k, v in data.items() if k not in KNOWN_GOLDEN_FIELDS},
    }
