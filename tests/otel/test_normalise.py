"""The decoder's schema edges, the message normalisation of each provider's shape, the
loose comparison of conversations, and the parallel triage."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from replay.errors import TraceError
from replay.otel.messages import (
    answer_of_response,
    compare_conversations,
    from_anthropic,
    from_responses_input,
)
from replay.otel.read import decode_line, read_runs
from replay.otel.to_cassette import analyse, import_trace, to_cassette
from replay.otel.triage import triage, triage_files
from tests.otel.conftest import FIXTURES, fixture


def _first_line(name: str) -> dict:
    return json.loads(fixture(name).read_text().splitlines()[0])


def _snake(value):
    """The same request with protobuf's original field names (json_format accepts both)."""
    names = {
        "resourceSpans": "resource_spans",
        "scopeSpans": "scope_spans",
        "traceId": "trace_id",
        "spanId": "span_id",
        "parentSpanId": "parent_span_id",
        "startTimeUnixNano": "start_time_unix_nano",
        "endTimeUnixNano": "end_time_unix_nano",
        "stringValue": "string_value",
        "intValue": "int_value",
    }
    if isinstance(value, dict):
        return {names.get(k, k): _snake(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_snake(v) for v in value]
    return value


def test_proto_field_names_enum_names_and_base64_ids_read_the_same():
    data = _first_line("openai-v2-latest__tools")
    ours, _ = decode_line(json.dumps(data), "a:1")
    variant = _snake(data)
    for rs in variant["resource_spans"]:
        for ss in rs["scope_spans"]:
            for span in ss["spans"]:
                span["trace_id"] = base64.b64encode(bytes.fromhex(span["trace_id"])).decode()
                span["kind"] = {1: "SPAN_KIND_INTERNAL", 3: "SPAN_KIND_CLIENT"}[span["kind"]]
    theirs, _ = decode_line(json.dumps(variant), "b:1")
    assert [(s.trace_id, s.kind, s.attributes) for s in ours] == [
        (s.trace_id, s.kind, s.attributes) for s in theirs
    ]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({"doubleValue": "NaN"}, "nan"),
        ({"doubleValue": 0.5}, 0.5),
        ({"boolValue": True}, True),
        ({"bytesValue": base64.b64encode(b"hi").decode()}, b"hi"),
        ({"arrayValue": {"values": [{"intValue": 3}, {"stringValue": "x"}]}}, [3, "x"]),
        ({"kvlistValue": {"values": [{"key": "k", "value": {"intValue": "-4"}}]}}, {"k": -4}),
        ({}, None),
    ],
)
def test_any_values_decode_to_python(value, expected):
    data = _first_line("pydantic-ai__tools")
    span = data["resourceSpans"][0]["scopeSpans"][0]["spans"][0]
    span["attributes"] = [{"key": "probe", "value": value}]
    (decoded, *_), _ = decode_line(json.dumps(data), "x:1")
    got = decoded.attributes["probe"]
    assert str(got) == expected if expected == "nan" else got == expected


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({"stringValue": "a", "intValue": 1}, "exactly one value"),
        ({"intValue": "twelve"}, "expected an integer"),
        ({"boolValue": "yes"}, "expected a boolean"),
        ({"doubleValue": True}, "found a boolean"),
        ({"colourValue": 1}, "AnyValue has no field 'colourValue'"),
        ({"bytesValue": "!!"}, "not base64"),
        ({"arrayValue": {"items": []}}, "arrayValue must be"),
    ],
)
def test_bad_values_name_the_attribute(value, message):
    data = _first_line("pydantic-ai__tools")
    span = data["resourceSpans"][0]["scopeSpans"][0]["spans"][0]
    span["attributes"] = [{"key": "probe", "value": value}]
    with pytest.raises(TraceError) as caught:
        decode_line(json.dumps(data), "f.jsonl:7")
    assert str(caught.value).startswith("f.jsonl:7: field '")
    assert "[probe]" in str(caught.value)
    assert message in str(caught.value)


def test_bad_ids_and_kinds_are_refused():
    data = _first_line("pydantic-ai__tools")
    span = data["resourceSpans"][0]["scopeSpans"][0]["spans"][0]
    span["spanId"] = "not-an-id"
    with pytest.raises(TraceError, match="expected a 16-digit hex id"):
        decode_line(json.dumps(data), "f:1")
    span["spanId"] = "b7ad6b7169203331"
    span["kind"] = True
    with pytest.raises(TraceError, match="expected an integer, found a boolean"):
        decode_line(json.dumps(data), "f:1")


def test_openinference_flattened_attributes_give_the_same_conversation(tmp_path: Path):
    """With input.value / output.value hidden, llm.input_messages.* / llm.output_messages.*
    and llm.tools.* still give the conversation."""
    data = _first_line("openinference-openai__tools")
    for rs in data["resourceSpans"]:
        for ss in rs["scopeSpans"]:
            for span in ss["spans"]:
                kinds = [a for a in span["attributes"] if a["key"] == "openinference.span.kind"]
                if kinds and kinds[0]["value"]["stringValue"] == "LLM":
                    span["attributes"] = [
                        a for a in span["attributes"]
                        if a["key"] not in ("input.value", "output.value")
                    ]  # fmt: skip
    path = tmp_path / "flat.otlp.jsonl"
    path.write_text(json.dumps(data) + "\n")
    ((flat_run,), (full_run,)) = (
        list(read_runs(path)),
        list(read_runs(fixture("openinference-openai__tools"))),
    )
    flat, full = import_trace(flat_run), import_trace(full_run)
    for a, b in zip(flat.steps, full.steps, strict=True):
        if a.kind == "llm":
            assert a.args["messages"] == b.args["messages"]
            assert a.result["message"].get("tool_calls") == b.result["message"].get("tool_calls")
            assert a.args["tools"] == b.args["tools"]


def test_anthropic_and_responses_shapes_normalise_alike():
    chat_like = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "weather?"},
        {"role": "assistant", "content": None,
         "tool_calls": [{"id": "c1", "name": "get_weather", "arguments": {"city": "Paris"}}]},
        {"role": "tool", "content": '{"temp_c": 18}', "tool_call_id": "c1"},
    ]  # fmt: skip
    anthropic = from_anthropic(
        [
            {"role": "user", "content": "weather?"},
            {"role": "assistant", "content": [
                {"type": "tool_use", "id": "c1", "name": "get_weather", "input": {"city": "Paris"}}
            ]},
            {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": "c1",
                 "content": [{"type": "text", "text": '{"temp_c": 18}'}]}
            ]},
        ],
        system=[{"type": "text", "text": "Be brief."}],
    )  # fmt: skip
    responses = from_responses_input(
        [
            {"role": "user", "content": [{"type": "input_text", "text": "weather?"}]},
            {"type": "function_call", "call_id": "c1", "name": "get_weather",
             "arguments": '{"city": "Paris"}'},
            {"type": "function_call_output", "call_id": "c1", "output": '{"temp_c": 18}'},
        ],
        instructions="Be brief.",
    )  # fmt: skip
    assert anthropic == chat_like
    assert responses == chat_like


def test_answers_of_each_provider_response():
    anthropic = answer_of_response(
        {"type": "message", "id": "m1", "model": "claude", "stop_reason": "tool_use",
         "content": [{"type": "text", "text": "Checking."},
                     {"type": "tool_use", "id": "t1", "name": "f", "input": {"a": 1}}],
         "usage": {"input_tokens": 5, "output_tokens": 2}}
    )  # fmt: skip
    assert anthropic["message"]["tool_calls"] == [{"id": "t1", "name": "f", "arguments": {"a": 1}}]
    assert (anthropic["finish_reason"], anthropic["usage"]["total_tokens"]) == ("tool_use", 7)
    responses = answer_of_response(
        {"id": "r1", "model": "m", "status": "completed", "output": [
            {"type": "message", "content": [{"type": "output_text", "text": "Hi"}]},
            {"type": "function_call", "call_id": "c9", "name": "g", "arguments": "{}"}]}
    )  # fmt: skip
    assert responses["message"]["content"] == "Hi"
    assert responses["finish_reason"] == "tool_calls"
    assert answer_of_response({"unrelated": True}) is None


def test_conversations_compare_loosely_and_name_real_differences():
    traced = [
        {"role": "user", "content": "Where is  my order?"},
        {"role": "assistant", "content": None,
         "tool_calls": [{"id": "fc_1", "name": "get_order", "arguments": {"id": "A-1"}}]},
        {"role": "tool", "content": "{'status': 'shipped'}", "tool_call_id": "fc_1"},
    ]  # fmt: skip
    sent = [
        {"role": "system", "content": "You help."},
        {"role": "user", "content": "Where is my order?\n"},
        {"role": "assistant", "content": None,
         "tool_calls": [{"id": "call_1", "name": "get_order", "arguments": '{"id":"A-1"}'}]},
        {"role": "tool", "content": '{"status": "shipped"}', "tool_call_id": "call_1"},
    ]  # fmt: skip
    differences, tolerated = compare_conversations(traced, sent)
    assert differences == []
    assert len(tolerated) == 4  # system prompt, whitespace, ids, Python repr
    changed = [dict(m) for m in sent]
    changed[1] = {"role": "user", "content": "Where is my parcel?"}
    changed[2] = {**sent[2], "tool_calls": [{**sent[2]["tool_calls"][0], "name": "track"}]}
    differences, _ = compare_conversations(traced, changed)
    assert differences[0].startswith("messages[0].content: 'Where is my order?'")
    assert differences[1] == "messages[1].tool_calls[0].name: get_order -> track"
    assert compare_conversations(traced, sent[:2])[0][0] == "1 messages sent, the trace has 3"


def test_two_processes_triage_the_same_runs_as_one():
    one = triage_files([FIXTURES], workers=1)
    two = triage_files([FIXTURES], workers=2)
    assert one.count == two.count == 14  # the fixtures' trace files, one run each
    assert one.to_dict() == two.to_dict()
    rows = list(two.sorted_rows())
    assert [r.failed for r in rows] == sorted((r.failed for r in rows), reverse=True)


def test_the_streamed_json_table_is_the_json_of_the_triage(capsys):
    from replay.cli.traces import _print_triage_json

    result = triage_files([FIXTURES], workers=1)
    _print_triage_json(result)
    assert capsys.readouterr().out == json.dumps(result.to_dict(), indent=2) + "\n"
    _print_triage_json(triage([]))
    empty = {"runs": [], "segments": {k: [] for k in ("release", "workflow", "model", "tool")}}
    assert json.loads(capsys.readouterr().out) == {**empty, "skipped": []}


def test_to_cassette_without_genai_spans_names_the_spans():
    (run,) = list(read_runs(fixture("pydantic-ai__tools")))
    run.spans = [s for s in run.spans if s.name.startswith("invoke_agent")]
    with pytest.raises(TraceError, match=r"has no GenAI spans .*invoke_agent support_agent"):
        to_cassette(analyse(run))
