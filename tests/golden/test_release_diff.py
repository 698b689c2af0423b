"""The release diff of real replays: a healthy build, a regressed one, a flaky one."""

from __future__ import annotations

import pickle

import pytest

from replay import golden
from replay.golden import RunFigures, Thresholds, percentile, run_golden
from replay.report.text import divergence_text
from replay.storage import load_cassette
from tests.golden.conftest import BASELINE, FLAKY, REGRESSED, RUNS


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


def test_regressed_build_is_flagged_with_the_right_figures(golden_set):
    report = run_golden([golden_set], agent=REGRESSED, release="v1.1")
    verdicts = {r.key: r.verdict for r in report.runs}
    assert verdicts == {
        f"{w}/{run_id}.yaml": ("diverged" if w == "refund" else "match") for w, run_id, _ in RUNS
    }
    assert report.exit_code == 1 and report.affected_workflows == ("refund",)
    refund_runs = [r for r in report.runs if r.workflow == "refund"]
    for record in refund_runs:
        assert record.first_divergence == 2
        assert record.divergence["kind"] == "tool" and record.divergence["name"] == "lookup_order"
        assert record.outcome_change["after"]["stop_reason"] == "diverged"
        assert record.candidate.repeated_tool_calls == {"lookup_order": 1}
        assert record.candidate.tool_calls == {"lookup_order": 2}
        cassette = load_cassette(record.path)
        # served steps keep their recorded latency; the unserved repeat costs 0 ms
        expected = round(cassette.steps[0].latency_ms + cassette.steps[1].latency_ms, 3)
        assert record.candidate.latency_ms == expected
        assert "repeats recorded step 1" in divergence_text(record)

    refund = report.diff["workflows"]["refund"]
    assert refund["baseline"]["error_rate"] == 0.0 and refund["candidate"]["error_rate"] == 1.0
    assert refund["candidate"]["stop_reasons"] == {"diverged": 3}
    assert (refund["baseline"]["steps_per_run"], refund["candidate"]["steps_per_run"]) == (5.0, 3.0)
    assert refund["candidate"]["repeated_tool_calls"] == 3
    faq = report.diff["workflows"]["faq"]
    assert faq["baseline"] == faq["candidate"]
    assert report.diff["tools"]["lookup_order"]["candidate"] == {
        "calls": 6,
        "repeated": 3,
        "runs": 3,
    }
    assert report.diff["overall"]["candidate"]["error_rate"] == 0.5

    flagged = {(c.segment, c.name, c.figure) for c in report.flags}
    assert flagged == {
        ("overall", "", "error_rate"),
        ("overall", "", "repeated_tool_calls"),
        ("workflow", "refund", "error_rate"),
        ("workflow", "refund", "repeated_tool_calls"),
        ("model", "gld-small", "error_rate"),
        ("model", "gld-small", "repeated_tool_calls"),
        ("tool", "lookup_order", "repeated"),
    }
    message = next(c.message for c in report.flags if c.segment == "workflow")
    assert message.startswith("workflow refund: error rate 0.0% -> 100.0% (+100.0 pts")


def test_thresholds_decide_what_is_flagged(golden_set):
    lenient = Thresholds(max_error_rate_increase=1.0, max_repeated_tool_calls_increase=None)
    report = run_golden([golden_set], agent=REGRESSED, thresholds=lenient)
    assert not report.flags
    assert report.exit_code == 1  # the runs themselves still diverged
    strict = Thresholds(max_tool_calls_increase_pct=10, max_p50_latency_increase_pct=0)
    flagged = {
        (c.segment, c.name, c.figure)
        for c in run_golden([golden_set], agent=REGRESSED, thresholds=strict).flags
    }
    assert ("tool", "lookup_order", "calls") in flagged  # 3 -> 6 calls, +100%


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
