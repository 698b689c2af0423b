"""``replay record``: a live run written as a cassette, failing runs included."""

from __future__ import annotations

import json

from replay.storage import load_cassette
from tests.cli.conftest import SUPPORT, assert_one_error_line, cli


def test_record_writes_the_cassette_with_the_context_given(tmp_path):
    path = tmp_path / "run.yaml"
    result = cli(
        "record",
        SUPPORT,
        "--input",
        '{"question": "how do I reset my password?"}',
        "-o",
        path,
        "--run-id",
        "run_cli1",
        "--release",
        "2026.11.3",
        "--workflow",
        "support",
        "--trace-id",
        "trace-cli-1",
    )
    assert result.code == 0, result
    assert "Recorded run_cli1" in result.stdout
    assert "stop_reason completed" in result.stdout
    cassette = load_cassette(path)
    ctx = cassette.context
    assert (ctx.run_id, ctx.trace_id, ctx.release, ctx.workflow) == (
        "run_cli1",
        "trace-cli-1",
        "2026.11.3",
        "support",
    )
    assert ctx.entrypoint == SUPPORT
    assert ctx.input == {"question": "how do I reset my password?"}
    assert [(s.kind, s.name) for s in cassette.steps] == [
        ("uuid", "uuid4"),
        ("llm", "scripted-model"),
        ("tool", "search_docs"),
        ("llm", "scripted-model"),
    ]


def test_a_failing_run_is_recorded_and_the_exit_status_is_still_0(tmp_path):
    path = tmp_path / "failing.yaml"
    result = cli(
        "record",
        SUPPORT,
        "-i",
        '{"question": "where is my order?", "order_id": "slow-1"}',
        "-o",
        path,
        "--json",
    )
    assert result.code == 0, result
    summary = result.json()
    assert summary["stop_reason"] == "tool_error"
    assert summary["failed"] is True
    assert summary["error_class"] == "tests.agents.cli_support.OrdersUnavailable"
    assert summary["steps"] == 4
    assert summary["cassette"] == str(path)
    assert load_cassette(path).outcome.stop_reason == "tool_error"
    # the agent's own print went to stderr: stdout is only the JSON object
    assert "support agent: ticket" in result.stderr


def test_input_can_come_from_a_json_file(tmp_path):
    question = tmp_path / "question.json"
    question.write_text(json.dumps({"question": "loop on my order"}), encoding="utf-8")
    path = tmp_path / "loop.yaml"
    result = cli("record", SUPPORT, "--input", f"@{question}", "-o", path, "--json")
    assert result.code == 0, result
    assert result.json()["stop_reason"] == "max_steps"
    assert load_cassette(path).context.input == {"question": "loop on my order"}


def test_input_that_is_not_json_is_a_usage_error(tmp_path):
    result = cli("record", SUPPORT, "--input", "{question: oops", "-o", tmp_path / "x.yaml")
    assert result.code == 3, result
    assert "not valid JSON" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "x.yaml").exists()


def test_an_input_file_that_does_not_exist_is_a_usage_error(tmp_path):
    result = cli("record", SUPPORT, "--input", "@missing.json", "-o", tmp_path / "x.yaml")
    assert result.code == 3, result
    assert "cannot read missing.json" in result.stderr


def test_an_entrypoint_that_cannot_be_imported_is_one_line_and_exit_3(tmp_path):
    result = cli("record", "tests.agents.no_such_agent:run", "-o", tmp_path / "x.yaml")
    assert_one_error_line(result, "cannot import module 'tests.agents.no_such_agent'")
    assert not (tmp_path / "x.yaml").exists()


def test_an_entrypoint_without_a_function_name_is_one_line_and_exit_3(tmp_path):
    result = cli("record", "tests.agents.cli_support", "-o", tmp_path / "x.yaml")
    assert_one_error_line(result, "is not of the form 'module:function'")


def test_a_cassette_that_cannot_be_written_is_reported_not_swallowed(tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where a folder should be", encoding="utf-8")
    result = cli("record", SUPPORT, "-i", '{"question": "hi"}', "-o", blocker / "run.yaml")
    assert_one_error_line(result, "cannot create a file there")
