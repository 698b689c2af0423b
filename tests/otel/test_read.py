"""Reading OTLP/JSON lines: schema checks, gzip, folders, logs files, grouping by trace."""

from __future__ import annotations

import gzip
import json
import random
from pathlib import Path

import pytest
from google.protobuf import json_format
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from replay.errors import TraceError
from replay.otel.read import decode_line, read_runs, trace_files
from tests.otel.conftest import FIXTURES, fixture


def _lines(name: str) -> list[str]:
    return fixture(name).read_text().splitlines()


def test_decoder_agrees_with_the_protobuf_json_parser():
    """Every span field we read is what opentelemetry-proto's own parser reads (ids aside:
    OTLP/JSON writes them as hex, the proto3 mapping as base64)."""
    for path in sorted(FIXTURES.glob("*.otlp.jsonl")):
        if ".logs." in path.name:
            continue
        line = path.read_text().splitlines()[0]
        spans, _ = decode_line(line, f"{path}:1")
        message = json_format.Parse(line, ExportTraceServiceRequest())
        proto_spans = [
            s for rs in message.resource_spans for ss in rs.scope_spans for s in ss.spans
        ]
        assert len(spans) == len(proto_spans)
        for ours, theirs in zip(spans, proto_spans, strict=True):
            assert ours.name == theirs.name
            assert ours.kind == theirs.kind
            assert ours.start_ns == theirs.start_time_unix_nano
            assert ours.end_ns == theirs.end_time_unix_nano
            assert ours.status_code == theirs.status.code
            assert ours.status_message == theirs.status.message
            theirs_attrs = json_format.MessageToDict(theirs)["attributes"]
            assert set(ours.attributes) == {a["key"] for a in theirs_attrs}


def _one_span_per_line(name: str) -> list[str]:
    data = json.loads(_lines(name)[0])
    lines = []
    for rs in data["resourceSpans"]:
        for ss in rs["scopeSpans"]:
            for span in ss["spans"]:
                request = {"resourceSpans": [{**rs, "scopeSpans": [{**ss, "spans": [span]}]}]}
                lines.append(json.dumps(request, separators=(",", ":")))
    return lines


def _shape(runs) -> dict[str, list[tuple[str, str]]]:
    return {r.trace_id: [(s.span_id, s.name) for s in r.spans] for r in runs}


def test_spans_of_one_trace_on_many_lines_in_any_order_make_one_run(tmp_path: Path):
    lines = _one_span_per_line("openinference-openai__tools")
    random.Random(4).shuffle(lines)
    # The other trace sits between them, and the first trace's last span comes 300 lines
    # (of other traces) after the rest: still one complete run each.
    lines.insert(3, _lines("pydantic-ai__tools")[0])
    late = lines.pop(2)
    filler = _lines("traceloop-openai__tools")[0]
    lines += [
        filler.replace(filler[filler.index('"traceId":"') + 11 :][:32], f"{i:032x}")
        for i in range(1, 301)
    ]
    lines.append(late)
    path = tmp_path / "mixed.jsonl.gz"
    with gzip.open(path, "wt") as handle:
        handle.write("\n".join(lines) + "\n")
    runs = list(read_runs(path))
    sizes = {r.trace_id: len(r.spans) for r in runs}
    assert len(runs) == 302
    oi = json.loads(lines[0])["resourceSpans"][0]["scopeSpans"][0]["spans"][0]["traceId"]
    assert sizes[oi] == 7
    # Handed out when complete: the late span's trace comes last, after all the filler.
    assert runs[-1].trace_id == oi
    assert sorted(sizes.values())[-2:] == [7, 7]


def test_open_traces_past_the_memory_bound_spill_to_disk_and_come_back_whole(tmp_path: Path):
    """Three traces whose spans interleave line by line: with a spill bound of 1 byte every
    open trace goes to the temporary file after each line, and the runs read back are the
    same spans in the same order as when all is held in memory."""
    names = ["openinference-openai__tools", "pydantic-ai__tools", "traceloop-openai__loop"]
    per_trace = [_one_span_per_line(n) for n in names]
    lines = [line for group in zip(*per_trace, strict=False) for line in group]
    lines += [line for group in per_trace for line in group[min(map(len, per_trace)) :]]
    path = tmp_path / "interleaved.jsonl"
    path.write_text("\n".join(lines) + "\n")
    in_memory = list(read_runs(path))
    spilled = list(read_runs(path, spill_bytes=1))
    assert [len(r.spans) for r in in_memory] == [len(p) for p in per_trace]
    assert _shape(spilled) == _shape(in_memory)
    assert [r.trace_id for r in spilled] == [r.trace_id for r in in_memory]


def test_a_logs_file_read_first_joins_its_spans_through_the_spill(tmp_path: Path):
    name = "openai-v2-latest-events__tools"
    (tmp_path / f"{name}.otlp.jsonl").write_bytes(fixture(name).read_bytes())
    logs = FIXTURES / f"{name}.logs.otlp.jsonl"
    (tmp_path / f"{name}.logs.otlp.jsonl").write_bytes(logs.read_bytes())
    (run,) = list(read_runs(tmp_path / f"{name}.otlp.jsonl", spill_bytes=1))
    assert len(run.logs) == 3
    assert {r.trace_id for r in run.logs} == {run.trace_id}


def test_a_folder_reads_every_trace_file_and_pairs_logs(tmp_path: Path):
    files = trace_files([FIXTURES])
    assert any(p.name.endswith(".logs.otlp.jsonl") for p in files)
    single = trace_files([fixture("openai-v2-latest-events__tools")])
    assert [p.name for p in single] == [
        "openai-v2-latest-events__tools.logs.otlp.jsonl",
        "openai-v2-latest-events__tools.otlp.jsonl",
    ]
    (run,) = list(read_runs(fixture("openai-v2-latest-events__tools")))
    assert len(run.logs) == 3


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"resourceMetrics": []}', "holds metrics"),
        ('{"resourceSpans": [{"scopeSpans": [{"spans": [{"traceId": "ab"', "truncated"),
        ('{"hello": "world"}', "not OTLP/JSON (top-level keys: hello)"),
        (
            '{"resourceSpans": [{"scopeSpans": [{"spans": [{"traceId": '
            '"0af7651916cd43dd8448eb211c80319c", "spanId": "b7ad6b7169203331", "nmae": "x"}]}]}]}',
            "field 'resourceSpans[0].scopeSpans[0].spans[0].nmae': Span has no field 'nmae'",
        ),
        ("[1, 2]", "expected a JSON object per line"),
    ],
)
def test_bad_input_is_one_line_naming_file_line_and_field(tmp_path: Path, text: str, expected: str):
    path = tmp_path / "bad.jsonl"
    path.write_text(_lines("pydantic-ai__tools")[0] + "\n" + text + "\n")
    with pytest.raises(TraceError) as caught:
        list(read_runs(path))
    message = str(caught.value)
    assert "\n" not in message
    assert f"{path}:2: " in message
    assert expected in message


def test_missing_and_empty_inputs_are_named(tmp_path: Path):
    with pytest.raises(TraceError, match="no such file"):
        list(read_runs(tmp_path / "nope.jsonl"))
    (tmp_path / "empty.jsonl").write_text("\n")
    with pytest.raises(TraceError, match="empty"):
        list(read_runs(tmp_path / "empty.jsonl"))
    folder = tmp_path / "folder"
    folder.mkdir()
    with pytest.raises(TraceError, match="no trace files in this folder"):
        list(read_runs(folder))


def test_a_pretty_printed_json_file_is_one_export_request(tmp_path: Path):
    data = json.loads(_lines("pydantic-ai__loop")[0])
    path = tmp_path / "export.json"
    path.write_text(json.dumps(data, indent=2))
    (run,) = list(read_runs(path))
    assert len(run.spans) == 9
