"""The golden report read from the spool: one pass, the same figures, memory flat in runs.

The release diff used to be computed from every measured record held in a list; it is
now tallied one record at a time (``ReleaseTally``). ``_release_diff_in_memory`` below is
that earlier computation, kept as the oracle the streaming one must equal.
"""

from __future__ import annotations

import json
import math
import random
import tracemalloc
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Sequence
from typing import Any

import pytest

from replay.golden import (
    SIDE_FIGURES,
    UNKNOWN,
    GoldenReport,
    RunFigures,
    RunRecord,
    Thresholds,
    record_spool,
    release_diff,
)
from replay.report.junit import iter_junit, render_junit
from replay.report.markdown import render_markdown
from replay.report.text import divergence_text
from replay.spool import Spool

# ------------------------------------------------------------- the earlier computation


def _percentile(values: Sequence[float], pct: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[max(1, math.ceil(pct / 100.0 * len(ordered))) - 1]


def _side(figures: Sequence[RunFigures]) -> dict[str, Any]:
    runs = len(figures)
    if not runs:
        return {"runs": 0, "errors": 0, "stop_reasons": {}, **dict.fromkeys(SIDE_FIGURES)}
    errors = sum(1 for f in figures if f.failed)
    steps = sum(f.steps for f in figures)
    latencies = [f.latency_ms for f in figures]
    input_tokens = sum(f.input_tokens for f in figures)
    output_tokens = sum(f.output_tokens for f in figures)
    return {
        "runs": runs,
        "errors": errors,
        "error_rate": errors / runs,
        "stop_reasons": dict(sorted(Counter(f.stop_reason for f in figures).items())),
        "p50_latency_ms": _percentile(latencies, 50),
        "p95_latency_ms": _percentile(latencies, 95),
        "steps": steps,
        "steps_per_run": steps / runs,
        "llm_calls": sum(f.llm_calls for f in figures),
        "tool_calls": sum(sum(f.tool_calls.values()) for f in figures),
        "repeated_tool_calls": sum(f.repeated_total for f in figures),
        "input_tokens": input_tokens,
        "output_tokens": output_tokens,
        "tokens": input_tokens + output_tokens,
    }


def _segment(records: Sequence[RunRecord]) -> dict[str, Any]:
    replayed = [r for r in records if r.replayed]
    return {
        "runs": len(records),
        "replayed": len(replayed),
        "diverged": len(records) - len(replayed),
        "assumed": sum(1 for r in replayed if r.assumed_calls),
        "baseline": _side([r.baseline for r in replayed if r.baseline is not None]),
        "candidate": _side([r.candidate for r in replayed if r.candidate is not None]),
    }


def _tool_side(figures: Sequence[RunFigures], tool: str) -> dict[str, int]:
    return {
        "calls": sum(f.tool_calls.get(tool, 0) for f in figures),
        "repeated": sum(f.repeated_tool_calls.get(tool, 0) for f in figures),
        "runs": sum(1 for f in figures if tool in f.tool_calls),
    }


def _release_diff_in_memory(records: Sequence[RunRecord]) -> dict[str, Any]:
    measured = sorted((r for r in records if r.measured), key=lambda r: r.key)
    by_workflow: dict[str, list[RunRecord]] = {}
    by_model: dict[str, list[RunRecord]] = {}
    tools: set[str] = set()
    for record in measured:
        by_workflow.setdefault(record.workflow or UNKNOWN, []).append(record)
        by_model.setdefault(record.model or UNKNOWN, []).append(record)
        if record.replayed:
            assert record.baseline is not None and record.candidate is not None
            tools.update(record.baseline.tool_calls, record.candidate.tool_calls)
    replayed = [r for r in measured if r.replayed]
    baseline = [r.baseline for r in replayed if r.baseline is not None]
    candidate = [r.candidate for r in replayed if r.candidate is not None]
    return {
        "overall": _segment(measured),
        "workflows": {name: _segment(group) for name, group in sorted(by_workflow.items())},
        "models": {name: _segment(group) for name, group in sorted(by_model.items())},
        "tools": {
            tool: {"baseline": _tool_side(baseline, tool), "candidate": _tool_side(candidate, tool)}
            for tool in sorted(tools)
        },
    }


def _junit_whole_tree(report: GoldenReport) -> str:
    """The earlier JUnit renderer: the whole tree built, then indented."""
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
    errors = sum(1 for r in report.runs if r.verdict == "error")
    for name, value in (
        ("runs", overall["runs"] + errors),
        ("replayed", overall["replayed"]),
        ("diverged", overall["diverged"]),
        ("errors", errors),
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


# ------------------------------------------------------------------- synthetic runs

TOOLS = ("search", "lookup", "refund", "notify")
ASSUMED = ({"step": 3, "kind": "tool", "name": "lookup", "policy": "nearest", "answered_by": 1},)


def _figures(rng: random.Random, *, stop_reason: str = "completed") -> RunFigures:
    calls = {t: rng.randint(1, 3) for t in rng.sample(TOOLS, rng.randint(0, 3))}
    repeated = {t: rng.randint(1, n) for t, n in calls.items() if n > 1 and rng.random() < 0.5}
    return RunFigures(
        stop_reason=stop_reason,
        failed=stop_reason not in ("completed", "max_turns"),
        # few distinct latencies: many ties at p50/p95
        latency_ms=rng.choice((120.0, 120.0, 250.5, 250.5, 980.25, 1500.0)),
        steps=rng.randint(2, 12),
        llm_calls=rng.randint(1, 6),
        input_tokens=rng.randint(0, 5000),
        output_tokens=rng.randint(0, 900),
        tool_calls=dict(sorted(calls.items())),
        repeated_tool_calls=dict(sorted(repeated.items())),
    )


def synthetic_records(count: int, *, seed: int = 17, changed: int | None = None) -> list[RunRecord]:
    """``count`` records in no particular order: matches, regressions, fixed runs, runs
    that diverged (by divergence or by stop_reason), flaky runs, errors, runs judged
    under an on-miss assumption, missing workflow or model. With ``changed``, only the
    first ``changed`` runs differ from a plain match (the rest all match)."""
    rng = random.Random(seed)
    records = []
    for n in rng.sample(range(count), count):
        kind = rng.choice(
            (
                "match",
                "match",
                "match",
                "regressed",
                "fixed",
                "diverged",
                "diverged_stop",
                "flaky",
                "error",
                "assumed",
            )
        )
        if changed is not None:
            kind = kind if n < changed else "match"
        key = f"{rng.choice(('refund', 'faq', 'billing'))}/run-{n:05d}.yaml"
        common: dict[str, Any] = {
            "key": key,
            "path": f"/golden/{key}",
            "run_id": f"run-{n}",
            "workflow": rng.choice(("refund", "faq", "billing", None)),
            "model": rng.choice(("gpt-x", "claude-y", None)),
            "release": rng.choice(("v1.0", "v1.1", None)),
        }
        if kind == "error":
            records.append(RunRecord(verdict="error", reason="CassetteError: bad", **common))
            continue
        baseline = _figures(rng, stop_reason=rng.choice(("completed", "completed", "error")))
        candidate = _figures(rng, stop_reason=rng.choice(("completed", "max_turns", "error")))
        extra: dict[str, Any] = {}
        verdict = kind
        if kind == "diverged":
            extra["divergence"] = {
                "step": 2,
                "kind": "tool",
                "name": "lookup",
                "reason": "args changed",
                "args_diff": ["- a", "+ b"],
            }
            extra["first_divergence"] = 2
        elif kind == "diverged_stop":
            verdict = "diverged"
            candidate = _figures(rng, stop_reason="diverged")
        elif kind == "assumed":
            verdict = "match"
            extra["assumption"] = "a missing lookup answers like the nearest recorded one"
            extra["assumed_calls"] = ASSUMED
        elif kind in ("regressed", "flaky"):
            extra["changes"] = ("step 3: changed tool 'lookup' (tool args changed)",)
            extra["flaky_step"] = 3 if kind == "flaky" else None
        records.append(
            RunRecord(
                verdict=verdict,
                reason=f"{verdict} because",
                baseline=baseline,
                candidate=candidate,
                **common,
                **extra,
            )
        )
    return records


def spooled(records: Sequence[RunRecord]) -> Spool[RunRecord]:
    spool = record_spool()
    for record in records:
        spool.append(record)
    spool.sort()
    return spool


def report_of(runs: Sequence[RunRecord]) -> GoldenReport:
    return GoldenReport(
        runs=runs,
        candidate_release="v2.0",
        thresholds=Thresholds(max_p50_latency_increase_pct=5.0, max_tool_calls_increase_pct=0.0),
        golden_dirs=("golden",),
        agent="agents.support:run",
    )


# --------------------------------------------------------------------------- tests


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_release_diff_over_the_spool_equals_the_in_memory_computation(seed: int) -> None:
    records = synthetic_records(400, seed=seed)
    verdicts = Counter(r.verdict for r in records)
    assert all(verdicts[kind] for kind in ("match", "regressed", "fixed", "diverged", "error"))
    assert any(r.assumed_calls for r in records) and any(r.workflow is None for r in records)
    assert any(r.candidate and r.candidate.stop_reason == "diverged" for r in records)
    expected = _release_diff_in_memory(records)
    spool = spooled(records)
    assert release_diff(spool) == expected
    assert release_diff(reversed(records)) == expected  # one pass, in any order
    assert report_of(spool).diff == expected
    assert report_of(tuple(records)).diff == expected


def test_p95_ties_and_segments_nothing_replayed_are_as_before() -> None:
    records = synthetic_records(60, seed=5)
    latencies = [r.baseline.latency_ms for r in records if r.replayed]
    assert len(set(latencies)) < len(latencies) / 4  # ties
    overall = release_diff(spooled(records))["overall"]["baseline"]
    assert overall["p95_latency_ms"] == _percentile(latencies, 95)
    only_diverged = [r for r in records if r.measured and not r.replayed]
    diff = release_diff(only_diverged)
    assert diff == _release_diff_in_memory(only_diverged)
    assert diff["overall"]["baseline"]["p95_latency_ms"] is None and diff["tools"] == {}
    assert release_diff([]) == _release_diff_in_memory([])


def test_the_report_tallies_equal_counting_the_runs() -> None:
    records = synthetic_records(300, seed=9)
    report = report_of(spooled(records))
    assert report.counts == {k: sum(r.verdict == k for r in records) for k in report.counts}
    assert report.error_count == len(report.errors) > 0
    assert report.diverged_count == len(report.diverged) > 0
    assert report.baseline_releases == dict(
        sorted(Counter(r.release or UNKNOWN for r in records if r.verdict != "error").items())
    )
    failing = {r.workflow or UNKNOWN for r in records if r.failing}
    assert set(report.affected_workflows) >= failing
    assert report.tally.assumed == sum(1 for r in records if r.assumed_calls)
    assert report.exit_code == 3
    assert [r.key for r in report.changed] == sorted(r.key for r in records if r.verdict != "match")


def test_the_json_report_is_written_run_by_run_with_the_same_text() -> None:
    report = report_of(spooled(synthetic_records(50, seed=4)))
    update = {"planned": [{"path": "ü/x.yaml"}], "written": [], "confirmed": False}
    whole = json.dumps({**report.to_dict(), "update": update}, indent=2, ensure_ascii=False)
    assert "".join(report.iter_json({"update": update})) == whole + "\n"
    assert report.to_json() == json.dumps(report.to_dict(), indent=2, ensure_ascii=False) + "\n"
    empty = report_of(())  # a shard that selected no run
    assert empty.to_json() == json.dumps(empty.to_dict(), indent=2, ensure_ascii=False) + "\n"


def test_junit_written_run_by_run_equals_the_whole_tree() -> None:
    for records in (synthetic_records(80, seed=6), []):
        report = report_of(spooled(records))
        assert render_junit(report) == _junit_whole_tree(report)


def _aggregate_and_render(spool: Spool[RunRecord]) -> None:
    """What ``replay golden --json --junit --markdown --html`` does after the runs."""
    from replay.report.html import render_golden

    report = report_of(spool)
    for _piece in report.iter_json():
        pass  # written to a file piece by piece: not held
    for _piece in iter_junit(report):
        pass
    render_markdown(report)
    render_golden({**report.header_dict(), "runs": (r.to_dict() for r in report.runs)})


def _traced_peak(action: Any) -> int:
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        action()
        return tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()


def test_memory_held_while_reporting_does_not_grow_with_the_runs() -> None:
    pytest.importorskip("jinja2")
    # the same 8 changed runs in both sets; the rest match
    small = spooled(synthetic_records(200, seed=3, changed=8))
    large = spooled(synthetic_records(2000, seed=3, changed=8))
    _aggregate_and_render(small)  # templates compiled, modules imported: not counted
    peak_small = _traced_peak(lambda: _aggregate_and_render(small))
    peak_large = _traced_peak(lambda: _aggregate_and_render(large))
    held_record = _traced_peak(lambda: list(small)) / len(small)
    # What grows is a few floats a run (the latencies kept for exact percentiles, 8
    # bytes per side and segment, and one sort of them): far below holding the records,
    # which costs over a kilobyte each.
    assert held_record > 1000
    extra = len(large) - len(small)
    per_run = (peak_large - peak_small) / extra
    assert per_run < 200, (peak_small, peak_large, held_record)
    assert peak_large < 2 * peak_small, (peak_small, peak_large)
    aggregation = _traced_peak(lambda: report_of(large)) - _traced_peak(lambda: report_of(small))
    assert aggregation / extra < 200, aggregation


def test_the_html_page_reads_the_runs_once_and_details_at_most_so_many(monkeypatch) -> None:
    pytest.importorskip("jinja2")
    from replay.report import views
    from replay.report.html import render_golden

    report = report_of(spooled(synthetic_records(60, seed=8)))
    changed = [r.key for r in report.runs if r.verdict != "match"]
    header = report.header_dict()
    page = render_golden({**header, "runs": (r.to_dict() for r in report.runs)})
    assert page == render_golden(report.to_dict())  # a generator, read once, or a list
    assert page.count('<article class="run-replay"') == len(changed)
    assert 'data-part="changed-hidden"' not in page

    monkeypatch.setattr(views, "MAX_DETAILED_RUNS", 3)
    page = render_golden({**header, "runs": (r.to_dict() for r in report.runs)})
    assert f"Runs that changed ({len(changed)})" in page
    assert page.count('<article class="run-replay"') == 3
    assert [k for k in changed if f">{k}</a>" in page] == changed[:3]  # first, in key order
    assert f"The first 3 in key order are detailed below; {len(changed) - 3} more" in page


# ------------------------------------------------------- the golden run's parent


def _golden_folder(root: Any, runs: int) -> Any:
    for n in range(runs):
        path = root / ("refund", "faq", "billing")[n % 3] / f"run-{n:05d}.yaml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("x", encoding="utf-8")  # never read: evaluate is replaced
    return root


def _parent_peak(folder: Any) -> int:
    """tracemalloc's peak over ``run_golden`` (discovery, the runs, the report's
    tallies) and reading its runs back, beyond what was held before it. (Not the JSON
    text: ``json.dumps`` with an indent leaves reference cycles, which the collector
    frees when it runs, so that peak measures the collector's timing.)"""
    from replay.golden import run_golden

    def run() -> None:
        report = run_golden([folder], workers=0, release="x")
        for record in report.runs:
            record.to_dict()
        report.runs.close()

    return _traced_peak(run)


def test_the_golden_run_parent_does_not_grow_with_the_runs(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Discovery, the records and the report hold nothing per run in the parent (the
    replays run in workers; here a stub judges each run in-process, in the parent)."""
    from replay import golden, spool

    rng = random.Random(3)

    def judged(entry: Any, **_options: Any) -> RunRecord:
        return RunRecord(
            key=entry.key,
            path=entry.path,
            verdict="match",
            reason="replayed as recorded",
            run_id=entry.key,
            workflow=entry.key.split("/")[0],
            model="gpt-x",
            release="v1.0",
            baseline=_figures(rng),
            candidate=_figures(rng),
        )

    monkeypatch.setattr(golden, "evaluate", judged)
    # What is held in memory up to a fixed size (a folder's names sorted at once, a
    # side's latencies, the spool's index read at once) made small: both sets go past
    # it, as 100,000 runs go past the real sizes.
    monkeypatch.setattr(golden, "DISCOVERY_CHUNK", 16)
    monkeypatch.setattr(golden, "LATENCIES_IN_MEMORY", 8)
    monkeypatch.setattr(spool, "_BLOCK", 32)
    small = _golden_folder(tmp_path / "small", 100)
    large = _golden_folder(tmp_path / "large", 400)
    # Warm: modules imported, caches and CPython's free lists (tuples, floats, dicts
    # kept for reuse, which tracemalloc counts as held) filled as far as they go.
    _parent_peak(large)
    _parent_peak(large)
    peaks: dict[str, list[int]] = {"small": [], "large": []}
    for _ in range(3):  # interleaved; the lowest (a one-off resize of some cache is noise)
        peaks["small"].append(_parent_peak(small))
        peaks["large"].append(_parent_peak(large))
    grown = (min(peaks["large"]) - min(peaks["small"])) / (400 - 100)
    # ~13 bytes a run measured (the spilled chunks a merge reads at once, a few blocks
    # of latencies): holding the discovered entries (key and path), the spool's keys
    # and every latency in memory, as before, cost over 200.
    assert grown < 40, peaks


def test_run_set_gives_records_in_key_order_whatever_the_order_of_its_entries(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from replay import golden
    from replay.golden import GoldenEntry, run_set

    def judged(entry: GoldenEntry, **_options: Any) -> RunRecord:
        return RunRecord(key=entry.key, path=entry.path, verdict="error", reason="stub")

    monkeypatch.setattr(golden, "evaluate", judged)
    keys = ["b/2.yaml", "a/1.yaml", "c/0.yaml", "a-b.yaml"]
    entries = [GoldenEntry(key, f"/g/{key}") for key in keys]
    assert [r.key for r in run_set(entries)] == sorted(keys)
    assert [r.key for r in run_set(sorted(entries))] == sorted(keys)


def _latency_samples() -> dict[str, list[float]]:
    rng = random.Random(11)
    return {
        "uniform": [rng.uniform(0, 5000) for _ in range(3000)],
        "lognormal": [round(rng.lognormvariate(5, 2), 3) for _ in range(3000)],
        "ties": [rng.choice((120.0, 250.5, 980.25)) for _ in range(2000)],
        "one value": [7.5] * 500,
        "signed zeros": [rng.choice((0.0, -0.0, 1.0, -1.0)) for _ in range(700)],
        "outliers": [rng.uniform(0, 1) for _ in range(900)] + [1e300, -1e300, 5e-324],
        "extremes": [1.7e308, -1.7e308] * 50 + [rng.uniform(-1, 1) for _ in range(100)],
        "not finite": [rng.uniform(0, 9) for _ in range(300)] + [math.inf, -math.inf],
    }


@pytest.mark.parametrize("in_memory", [1, 7, 64])
@pytest.mark.parametrize("sample", list(_latency_samples()))
def test_latencies_on_disk_give_the_percentiles_of_one_sort(
    sample: str, in_memory: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Beyond ``LATENCIES_IN_MEMORY`` a side's latencies go to disk and p50/p95 are
    found by narrowing a value range: the same values (and the same zero's sign) as
    sorting everything, which is what it did before."""
    from replay import golden

    monkeypatch.setattr(golden, "LATENCIES_IN_MEMORY", in_memory)
    values = _latency_samples()[sample]
    random.Random(5).shuffle(values)
    latencies = golden._Latencies()
    for value in values:
        latencies.append(value)
    assert latencies.file is not None
    ordered = sorted(values)
    expected = [_percentile(values, 50), _percentile(values, 95)]
    got = latencies.nearest_ranks(50, 95)
    assert [repr(v) for v in got] == [repr(v) for v in expected], sample
    assert latencies.file is None  # closed
    for pct in (1, 33, 99, 100):
        again = golden._Latencies()
        for value in values:
            again.append(value)
        assert repr(again.nearest_ranks(pct)[0]) == repr(_percentile(ordered, pct))


@pytest.mark.parametrize("seed", [1, 2])
def test_the_release_diff_with_latencies_on_disk_is_the_same(
    seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    from replay import golden

    records = synthetic_records(400, seed=seed)
    expected = _release_diff_in_memory(records)
    monkeypatch.setattr(golden, "LATENCIES_IN_MEMORY", 3)
    assert release_diff(spooled(records)) == expected


# ------------------------------------------------------------------- merging shards


def _first_overlap_as_before(reports: Sequence[Any], names: Sequence[str]) -> str | None:
    """The earlier check: every key in one dict, reports in order."""
    keys: dict[str, str] = {}
    for name, report in zip(names, reports, strict=True):
        for record in report.runs:
            if record.key in keys:
                return f"run '{record.key}' is in both {keys[record.key]} and {name}"
            keys[record.key] = name
    return None


def test_merged_shards_equal_the_whole_set_and_overlaps_are_named_as_before() -> None:
    from types import SimpleNamespace

    from replay.golden import GoldenError, _refuse_overlap, merge_reports, shard_of

    records = synthetic_records(300, seed=12)
    shards = [
        GoldenReport(
            runs=spooled([r for r in records if shard_of(r.key, 3) == index]),
            candidate_release="v2.0",
            thresholds=Thresholds(),
            golden_dirs=("golden",),
            shard=(index, 3),
        )
        for index in (2, 3, 1)
    ]
    whole = GoldenReport(
        runs=tuple(records), candidate_release="v2.0", thresholds=Thresholds(),
        golden_dirs=("golden",),
    )
    assert merge_reports(shards).to_json() == whole.to_json()

    rng = random.Random(4)
    keys = sorted({r.key for r in records})
    for _ in range(40):  # reports sharing some runs, or holding one twice
        parts = [
            SimpleNamespace(runs=sorted(rng.sample(keys, 20) + rng.sample(keys, rng.randint(0, 1))))
            for _ in range(rng.randint(1, 4))
        ]
        reports = [
            SimpleNamespace(runs=[SimpleNamespace(key=k) for k in part.runs]) for part in parts
        ]
        names = [f"s{n}.json" for n in range(len(reports))]
        expected = _first_overlap_as_before(reports, names)
        if expected is None:
            _refuse_overlap(reports, names)
        else:
            with pytest.raises(GoldenError) as raised:
                _refuse_overlap(reports, names)
            assert str(raised.value).startswith(expected + ";")
