"""The release diff of real replays: a healthy build, a regressed one, a flaky one."""

from __future__ import annotations

import pickle

import pytest

from replay import golden
from replay.golden import RunFigures, Thresholds, percentile, run_golden
from replay.report.text import divergence_text
from replay.storage import load_cassette
from tests.golden.conftest import (
    BASELINE,
    FLAKY,
    GIVES_UP,
    REGRESSED,
    REWORDED,
    REWORDED_ALL,
    RUNS,
)


def _side(report: golden.GoldenReport, segment: str, name: str, side: str) -> dict:
    data = report.diff["overall"] if segment == "overall" else report.diff[segment][name]
    return data[side]


def test_healthy_build_matches_with_a_zero_release_diff(golden_set):
    report = run_golden([golden_set], release="HEAD")
    assert [r.verdict for r in report.runs] == ["match"] * len(RUNS)
    assert report.exit_code == 0 and not report.flags and not report.affected_workflows
    diff = report.diff
    assert set(diff["workflows"]) == {"refund", "faq"}
    assert set(diff["models"]) == {"gld-small", "gld-large"}
    assert set(diff["tools"]) == {"lookup_order", "issue_refund", "search_docs"}
    for segment in [diff["overall"], *diff["workflows"].values(), *diff["models"].values()]:
        assert segment["baseline"] == segment["candidate"]
    for tool in diff["tools"].values():
        assert tool["baseline"] == tool["candidate"]
    assert report.baseline_releases == {BASELINE: len(RUNS)}
    data = report.to_dict()
    assert data["passed"] is True and data["summary"]["match"] == len(RUNS)
    assert data["checks"] == len(report.checks) > 0


def test_figures_are_those_of_the_recorded_runs(golden_set):
    report = run_golden([golden_set])
    cassettes = {r.key: load_cassette(r.path) for r in report.runs}
    latencies = []
    tokens_in = tokens_out = 0
    for record in report.runs:
        cassette = cassettes[record.key]
        latency = round(sum(s.latency_ms for s in cassette.steps), 3)
        latencies.append(latency)
        assert record.baseline.latency_ms == latency > 0
        assert record.baseline.steps == len(cassette.steps)
        for step in cassette.steps:
            if step.kind == "llm":
                usage = step.result["usage"]  # one spelling per model, never both
                tokens_in += usage.get("prompt_tokens", 0) + usage.get("input_tokens", 0)
                tokens_out += usage.get("completion_tokens", 0) + usage.get("output_tokens", 0)
    overall = report.diff["overall"]["baseline"]
    assert overall["p95_latency_ms"] == percentile(latencies, 95) == max(latencies)
    assert overall["p50_latency_ms"] == sorted(latencies)[2]
    # both usage spellings count: gld-small reports prompt/completion, gld-large input/output
    assert overall["input_tokens"] == tokens_in and overall["output_tokens"] == tokens_out
    assert report.diff["models"]["gld-large"]["baseline"]["input_tokens"] > 0
    assert report.diff["models"]["gld-small"]["baseline"]["input_tokens"] > 0
    # faq-password by hand (gld_agent counts words): the first call sends the system
    # prompt (8) and question (6) and answers a search_docs call (10 words of JSON); the
    # second adds "calling search_docs" (2) and the two hits (21), answers in 10 words
    password = next(r for r in report.runs if r.key == "faq/faq-password.yaml").baseline
    assert (password.input_tokens, password.output_tokens) == (14 + 37, 10 + 10)
    refund = report.diff["workflows"]["refund"]["baseline"]
    assert refund["steps_per_run"] == 5.0 and refund["tool_calls"] == 6
    assert report.diff["tools"]["issue_refund"]["baseline"] == {
        "calls": 3,
        "repeated": 0,
        "runs": 3,
    }


def test_a_diverged_run_is_counted_apart_not_measured(golden_set):
    report = run_golden([golden_set], agent=REGRESSED, release="v1.1")
    verdicts = {r.key: r.verdict for r in report.runs}
    assert verdicts == {
        f"{w}/{run_id}.yaml": ("diverged" if w == "refund" else "match") for w, run_id, _ in RUNS
    }
    assert report.exit_code == 1 and report.affected_workflows == ("refund",)
    refund_runs = [r for r in report.runs if r.workflow == "refund"]
    assert report.diverged == tuple(refund_runs)
    for record in refund_runs:
        assert not record.replayed
        assert record.first_divergence == 2
        assert record.divergence["kind"] == "tool" and record.divergence["name"] == "lookup_order"
        assert record.outcome_change["after"]["stop_reason"] == "diverged"
        # the record keeps what the replay did before it stopped (for the JSON report) ...
        assert record.candidate.repeated_tool_calls == {"lookup_order": 1}
        cassette = load_cassette(record.path)
        expected = round(cassette.steps[0].latency_ms + cassette.steps[1].latency_ms, 3)
        assert record.candidate.latency_ms == expected
        assert "repeats recorded step 1" in divergence_text(record)

    # ... but no figure counts it: the refund segment has no run replayed to the end
    refund = report.diff["workflows"]["refund"]
    assert (refund["runs"], refund["replayed"], refund["diverged"]) == (3, 0, 3)
    for side in (refund["baseline"], refund["candidate"]):
        assert side["runs"] == 0 and side["stop_reasons"] == {}
        assert side["error_rate"] is side["p95_latency_ms"] is side["tokens"] is None
    faq = report.diff["workflows"]["faq"]
    assert (faq["runs"], faq["replayed"], faq["diverged"]) == (3, 3, 0)
    assert faq["baseline"] == faq["candidate"]
    overall = report.diff["overall"]
    assert (overall["runs"], overall["replayed"], overall["diverged"]) == (6, 3, 3)
    assert overall["baseline"] == overall["candidate"] == faq["baseline"]
    assert overall["candidate"]["stop_reasons"] == {"completed": 3}
    assert set(report.diff["tools"]) == {"search_docs"}  # lookup_order: refund runs only
    assert report.coverage == "over 3 of 6 runs; 3 diverged"
    assert report.to_dict()["summary"]["replayed"] == 3
    # the runs fail the set; no figure is flagged on runs that were not measured
    assert not report.flags
    assert not [c for c in report.checks if c.segment == "workflow" and c.name == "refund"]


def test_a_failing_build_is_flagged_with_the_right_figures(golden_set):
    report = run_golden([golden_set], agent=GIVES_UP, release="v1.1")
    assert {r.key: r.verdict for r in report.runs} == {
        f"{w}/{run_id}.yaml": ("regressed" if w == "refund" else "match") for w, run_id, _ in RUNS
    }
    assert not report.diverged and report.coverage == "over 6 runs"
    for record in report.runs:
        assert record.replayed
        if record.workflow == "refund":
            cassette = load_cassette(record.path)
            # gives up after the lookup: the recorded llm call and lookup, at their latency
            expected = round(cassette.steps[0].latency_ms + cassette.steps[1].latency_ms, 3)
            assert record.candidate.latency_ms == expected
            assert record.candidate.steps == 2 and record.candidate.failed

    refund = report.diff["workflows"]["refund"]
    assert (refund["runs"], refund["replayed"], refund["diverged"]) == (3, 3, 0)
    assert refund["baseline"]["error_rate"] == 0.0 and refund["candidate"]["error_rate"] == 1.0
    assert refund["candidate"]["stop_reasons"] == {"tool_error": 3}
    assert (refund["baseline"]["steps_per_run"], refund["candidate"]["steps_per_run"]) == (5.0, 2.0)
    assert report.diff["overall"]["candidate"]["error_rate"] == 0.5
    assert report.diff["tools"]["issue_refund"]["candidate"] == {
        "calls": 0,
        "repeated": 0,
        "runs": 0,
    }

    flagged = {(c.segment, c.name, c.figure) for c in report.flags}
    assert flagged == {
        ("overall", "", "error_rate"),
        ("workflow", "refund", "error_rate"),
        ("model", "gld-small", "error_rate"),
    }
    message = next(c.message for c in report.flags if c.segment == "workflow")
    assert message.startswith("workflow refund: error rate 0.0% -> 100.0% (+100.0 pts")


def test_a_prompt_change_that_diverges_every_run_reports_no_figures(golden_set):
    report = run_golden([golden_set], agent=REWORDED_ALL, release="v1.1")
    assert {r.verdict for r in report.runs} == {"diverged"}
    assert all(r.first_divergence == 0 for r in report.runs)
    overall = report.diff["overall"]
    assert (overall["runs"], overall["replayed"], overall["diverged"]) == (6, 0, 6)
    for side in (overall["baseline"], overall["candidate"]):
        assert side["error_rate"] is side["p50_latency_ms"] is side["p95_latency_ms"] is None
    assert report.checks == () and report.diff["tools"] == {}
    assert report.coverage == "over 0 of 6 runs; 6 diverged"
    assert report.exit_code == 1  # the runs still fail the set


def test_a_partial_prompt_change_is_measured_over_the_runs_it_did_not_touch(golden_set):
    report = run_golden([golden_set], agent=REWORDED, release="v1.1")
    assert report.coverage == "over 3 of 6 runs; 3 diverged"
    overall = report.diff["overall"]
    faq = report.diff["workflows"]["faq"]["baseline"]
    assert overall["baseline"] == overall["candidate"] == faq
    assert not report.flags


@pytest.mark.parametrize(
    ("figure", "baseline", "candidate", "text"),
    [
        ("p95_latency_ms", 10.0, 0.0, "not measured"),
        ("p50_latency_ms", 10.0, 5.0, "-50.0%"),
        ("p95_latency_ms", None, None, "n/a"),
        ("error_rate", 0.0, None, "n/a"),
        ("error_rate", 0.0, 0.5, "+50.0 pts"),
        ("tokens", 100, 0, "-100.0%"),
        ("repeated_tool_calls", 0, 3, "+3"),
        ("steps_per_run", 0, 2, "new"),
        ("steps_per_run", 2, 2, "="),
    ],
)
def test_describe_change(figure, baseline, candidate, text):
    assert golden.describe_change(figure, baseline, candidate) == text


def test_coverage_text():
    assert golden.coverage_text(4, 4) == "over 4 runs"
    assert golden.coverage_text(1, 1) == "over 1 run"
    assert golden.coverage_text(4, 3) == "over 3 of 4 runs; 1 diverged"
    assert golden.coverage_text(4, 3, 1) == "over 3 of 5 runs; 1 diverged, 1 could not be replayed"
    assert golden.coverage_text(4, 4, 2) == "over 4 of 6 runs; 2 could not be replayed"


def test_thresholds_decide_what_is_flagged(golden_set):
    lenient = Thresholds(max_error_rate_increase=1.0, max_repeated_tool_calls_increase=None)
    report = run_golden([golden_set], agent=GIVES_UP, thresholds=lenient)
    assert not report.flags
    assert report.exit_code == 1  # the runs themselves still regressed
    # +50 points overall is within 0.5; +100 points in refund (and gld-small) is not
    half = Thresholds(max_error_rate_increase=0.5)
    flagged = {
        (c.segment, c.name, c.figure)
        for c in run_golden([golden_set], agent=GIVES_UP, thresholds=half).flags
    }
    assert flagged == {("workflow", "refund", "error_rate"), ("model", "gld-small", "error_rate")}


def test_flaky_build_needs_two_replays_to_be_seen(golden_set):
    flaky = run_golden([golden_set], agent=FLAKY, repeat=2)
    assert {r.verdict for r in flaky.runs} == {"flaky"} and flaky.exit_code == 1
    assert all(r.outcome_change["fields"] == ["output"] for r in flaky.runs)
    once = run_golden([golden_set], agent=FLAKY, repeat=1)
    assert {r.verdict for r in once.runs} == {"regressed"}


def test_a_failed_baseline_that_fails_the_same_way_is_a_match(golden_copy):
    import replay
    from tests.golden.conftest import AGENT

    replay.record_run(
        AGENT,
        golden_copy / "refund" / "cut-short.yaml",
        input={"workflow": "refund", "question": "Refund order D-1", "max_turns": 1},
        run_id="cut-short",
        release=BASELINE,
        workflow="refund",
    )
    report = run_golden([golden_copy])
    record = next(r for r in report.runs if r.run_id == "cut-short")
    assert record.verdict == "match" and record.baseline.stop_reason == "max_steps"
    assert report.diff["workflows"]["refund"]["baseline"]["error_rate"] == 0.25
    assert report.exit_code == 0


def test_records_keep_figures_not_histories(golden_set):
    report = run_golden([golden_set], agent=REGRESSED)
    for record in report.runs:
        assert len(pickle.dumps(record)) < 4096
        assert golden.RunRecord.from_dict(record.to_dict()) == record


@pytest.mark.parametrize(
    ("baseline", "candidate", "limit", "flagged"),
    [
        (10, 11, 10, False),
        (10, 11.01, 10, True),
        (0, 0, 0, False),
        (0, 1, 50, True),
        (3, 2, 0, False),
    ],
)
def test_percentage_thresholds_are_exact(baseline, candidate, limit, flagged):
    assert golden._worse("pct", baseline, candidate, limit) is flagged


def test_percentile_is_nearest_rank():
    assert percentile([], 95) == 0.0
    assert percentile([5.0], 95) == 5.0
    values = [float(v) for v in range(1, 21)]
    assert percentile(values, 95) == 19.0 and percentile(values, 50) == 10.0
    assert percentile(list(reversed(values)), 95) == 19.0


def test_figures_from_dict_sort_tools_by_name():
    figures = RunFigures.from_dict(
        {
            "stop_reason": "completed",
            "failed": False,
            "latency_ms": 1.5,
            "steps": 2,
            "llm_calls": 1,
            "input_tokens": 1,
            "output_tokens": 2,
            "tool_calls": {"b": 1, "a": 2},
            "repeated_tool_calls": {},
        }
    )
    assert list(figures.tool_calls) == ["a", "b"]
