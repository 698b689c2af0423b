"""``replay inspect``: triage signals and ranked hypotheses of recorded runs."""

from __future__ import annotations

from replay.storage import load_cassette
from tests.cli.conftest import assert_fits, cli

REQUIRED_KEYS = {
    "run_id",
    "first_error_span",
    "slowest_span",
    "stop_reason",
    "error_class",
    "repeated_tools",
    "hypotheses",
}


def test_json_has_the_documented_keys(cassettes):
    result = cli("inspect", cassettes.failing, "--json")
    assert result.code == 0, result
    data = result.json()
    assert set(data) >= REQUIRED_KEYS
    assert data["run_id"] == load_cassette(cassettes.failing).run_id
    assert data["cassette"] == str(cassettes.failing)
    assert {"conclusion", "step_count", "total_latency_ms", "tokens"} <= set(data)


def test_a_tool_outage_with_retries(cassettes):
    data = cli("inspect", cassettes.failing, "--json").json()
    first = data["first_error_span"]
    assert (first["index"], first["kind"], first["name"]) == (2, "tool", "lookup_order")
    assert first["error_class"] == "tests.agents.cli_support.OrdersUnavailable"
    assert data["stop_reason"] == "tool_error"
    assert data["error_class"] == "tests.agents.cli_support.OrdersUnavailable"
    assert data["repeated_tools"] == {"lookup_order": 2}
    assert data["retries"] == {"lookup_order": 1}
    assert data["slowest_span"]["kind"] in ("tool", "llm")  # never the uuid read
    top = data["hypotheses"][0]
    assert top["name"] == "tool_failure"
    assert data["conclusion"] == top["summary"] == "tool degraded + retries"
    assert any("lookup_order" in line for line in top["evidence"])
    assert 0 < top["score"] <= 1


def test_a_loop_without_an_error(cassettes):
    data = cli("inspect", cassettes.loop, "--json").json()
    assert data["first_error_span"] is None
    assert data["stop_reason"] == "max_steps"
    assert data["error_class"] is None
    assert data["repeated_tools"] == {"search_docs": 4}
    assert data["hypotheses"][0]["name"] == "loop"
    assert data["conclusion"] == "loop without explicit error"


def test_a_model_failure_names_the_release(cassettes):
    data = cli("inspect", cassettes.refund, "--json").json()
    first = data["first_error_span"]
    assert (first["kind"], first["inferred"], first["error_class"]) == ("llm", True, None)
    assert data["stop_reason"] == "step_error"
    assert data["error_class"] == "ValueError"
    assert data["hypotheses"][0]["name"] == "model_failure"
    assert data["conclusion"] == "model failure after release r2"


def test_a_healthy_run_with_token_usage(cassettes):
    data = cli("inspect", cassettes.ok, "--json").json()
    assert data["first_error_span"] is None
    assert data["stop_reason"] == "completed"
    assert data["repeated_tools"] == {}
    assert data["step_count"] == 4
    cassette = load_cassette(cassettes.ok)
    usages = [s.result["usage"] for s in cassette.steps if s.kind == "llm"]
    assert data["tokens"] == {
        "input_tokens": sum(u["prompt_tokens"] for u in usages),
        "output_tokens": sum(u["completion_tokens"] for u in usages),
        "total_tokens": sum(u["prompt_tokens"] + u["completion_tokens"] for u in usages),
        "calls": 2,
    }
    assert data["conclusion"] == "completed without errors"


def test_human_report_has_signals_timeline_and_hypotheses(cassettes):
    result = cli("inspect", cassettes.failing)
    assert result.code == 0, result
    out = result.stdout
    for text in (
        "first error span",
        "#2 tool lookup_order (OrdersUnavailable",
        "slowest span",
        "repeated tools",
        "lookup_order x2",
        "Timeline",
        "Hypotheses",
        "1. tool degraded + retries",
        "release r1",
    ):
        assert text in out, out
    assert_fits(out)


def test_several_cassettes_give_an_incident_table(cassettes):
    paths = (cassettes.failing, cassettes.loop, cassettes.refund)
    result = cli("inspect", *paths)
    assert result.code == 0, result
    for text in ("first_error_span", "slowest_span", "stop_reason", "conclusion"):
        assert text in result.stdout
    assert "#2 lookup_order" in result.stdout
    assert "OrdersUnavailable" in result.stdout
    assert_fits(result.stdout)
    runs = cli("inspect", *paths, "--json").json()["runs"]
    assert [r["conclusion"] for r in runs] == [
        "tool degraded + retries",
        "loop without explicit error",
        "model failure after release r2",
    ]


def test_a_long_timeline_is_elided_but_keeps_the_loop_ends(cassettes):
    result = cli("inspect", cassettes.loop, "--steps", "4")
    assert result.code == 0, result
    assert "(steps elided)" in result.stdout
