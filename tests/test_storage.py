"""Cassette files: round trip, validation errors that say where, atomic writes, the cache."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

import replay
from replay import storage
from replay.canonical import stable_hash
from replay.cassette import Cassette, ErrorInfo, Outcome, RunContext, Step
from replay.errors import CassetteError, CassetteVersionError, CassetteWriteError


def full_cassette() -> Cassette:
    args = {"messages": [{"role": "user", "content": "line one\nline two"}], "temperature": 0.2}
    steps = (
        Step(
            0,
            "clock",
            "now",
            {},
            stable_hash({}),
            result="2026-11-25T10:00:00+00:00",
            started_at_ms=0.1,
            latency_ms=0.01,
            span_id="s0",
            parent_span_id="root",
        ),
        Step(
            1,
            "llm",
            "gpt-4o-mini",
            args,
            stable_hash(args),
            result={"content": "hi", "usage": {"prompt_tokens": 10}},
            started_at_ms=1.5,
            latency_ms=120.25,
            span_id="s1",
            parent_span_id="root",
            http={"request": {"method": "POST"}, "response": {"status": 200}},
        ),
        Step(
            2,
            "tool",
            "search_docs",
            {"query": "ü"},
            stable_hash({"query": "ü"}),
            error=ErrorInfo("builtins.TimeoutError", "timed out"),
            started_at_ms=130.0,
            latency_ms=3000.0,
            span_id="s2",
            parent_span_id="root",
        ),
    )
    context = RunContext(
        run_id="run_9fd2",
        trace_id="t" * 32,
        entrypoint="agent:run",
        input={"question": "q"},
        release="2026.11.3",
        workflow="support",
        model="gpt-4o-mini",
        recorded_at="2026-11-25T10:00:00+00:00",
    )
    outcome = Outcome("tool_error", output=None, error=ErrorInfo("builtins.TimeoutError", "x"))
    return Cassette(context=context, steps=steps, outcome=outcome)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "c.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def write_data(path: Path, data: dict) -> None:
    """Plain cassette data as a file, closed by the end marker its steps need."""
    steps = data.get("steps")
    count = len(steps) if isinstance(steps, list) else 0
    path.write_text(yaml.safe_dump(data, sort_keys=False) + storage.end_marker(count))


def dumped(tmp_path: Path) -> tuple[Path, dict]:
    path = tmp_path / "c.yaml"
    replay.save_cassette(full_cassette(), path)
    return path, yaml.safe_load(path.read_text())


def test_round_trip_keeps_every_field(tmp_path):
    original = full_cassette()
    path = tmp_path / "c.yaml"
    replay.save_cassette(original, path)
    loaded = replay.load_cassette(path, cache=False)
    assert loaded == original
    assert loaded.path == str(path)
    text = path.read_text()
    assert text.startswith("# agent-replay cassette (format version 2)")
    assert text.endswith("\n# end of cassette: 3 steps\n")
    assert "content: |-\n" in text or "content: |\n" in text


def test_load_uses_the_disk_cache_and_misses_it_when_the_file_changes(tmp_path, monkeypatch):
    monkeypatch.setenv("REPLAY_CACHE_DIR", str(tmp_path / "cache"))
    path = tmp_path / "c.yaml"
    replay.save_cassette(full_cassette(), path)
    first = storage.load_cassette(path)
    storage.clear_memory_cache()

    def no_parse(*args, **kwargs):
        raise AssertionError("parsed YAML although the cache holds this content")

    monkeypatch.setattr(storage, "parse_cassette_text", no_parse)
    assert storage.load_cassette(path) == first
    path.write_text(path.read_text().replace("run_9fd2", "run_other"))
    with pytest.raises(AssertionError, match="parsed YAML"):
        storage.load_cassette(path)


def test_served_answers_are_copies(tmp_path, backend):
    path = tmp_path / "r.yaml"
    replay.record_run("tests.agents.core_support:run", path, input={"question": "q"})
    from tests.agents import core_support

    with replay.replaying(path):
        replay.now()
        replay.uuid4()
        docs = core_support.search_docs("q")
        docs.append({"mutated": True})
    assert replay.replay(path).identical


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (lambda d: d.pop("version"), r"c.yaml: field 'version': missing format version"),
        (lambda d: d["steps"][1].pop("kind"), r"c.yaml: step 1: field 'kind': missing field"),
        (lambda d: d["steps"][2].update(kind="sql"), r"step 2: field 'kind': unknown kind 'sql'"),
        (lambda d: d["steps"][0].update(latency="3"), r"step 0: field 'latency': unknown field"),
        (lambda d: d["steps"][1].update(index=7), r"step 1: field 'index': index is 7"),
        (lambda d: d["run"].pop("run_id"), r"field 'run.run_id': must be non-empty text"),
        (lambda d: d["outcome"].update(stop_reason=None), r"field 'outcome.stop_reason'"),
        (
            lambda d: d["steps"][2]["args"].update(query="edited"),
            r"step 2: field 'args_hash': args_hash does not match args.*set it to [0-9a-f]{16}",
        ),
        (lambda d: d["steps"][1].update(latency_ms="slow"), r"step 1: field 'latency_ms'"),
        (lambda d: d["steps"][2]["error"].pop("class"), r"step 2: field 'error.class'"),
    ],
)
def test_invalid_cassettes_name_file_step_and_field(tmp_path, edit, expected):
    path, data = dumped(tmp_path)
    edit(data)
    write_data(path, data)
    with pytest.raises(CassetteError, match=expected) as caught:
        replay.load_cassette(path, cache=False)
    assert "\n" not in str(caught.value)


def test_unknown_version_names_both_versions(tmp_path):
    path, data = dumped(tmp_path)
    data["version"] = 99
    write_data(path, data)
    with pytest.raises(CassetteVersionError) as caught:
        replay.load_cassette(path, cache=False)
    assert caught.value.found == 99 and caught.value.supported == 2
    assert "version 99 is not supported; this build reads versions 1 to 2" in str(caught.value)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("version: 1\nsteps: [\n", r"malformed YAML at line \d+, column \d+"),
        ("- just\n- a list\n", "expected a mapping at the top of the file, found list"),
        ("", "the file holds no data"),
        ("version: 1\nx: !!python/object:os.system {}\n", "field 'x': could not determine a"),
        ("version: 1\nrun: &a {loop: [*a]}\n", "field 'run': YAML anchors and aliases"),
    ],
)
def test_malformed_files_are_clear_errors(tmp_path, text, expected):
    with pytest.raises(CassetteError, match=expected):
        replay.load_cassette(write(tmp_path, text), cache=False)


def test_missing_file_and_binary_file(tmp_path):
    with pytest.raises(CassetteError, match="no such cassette file"):
        replay.load_cassette(tmp_path / "nope.yaml")
    binary = tmp_path / "b.yaml"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(CassetteError, match="not UTF-8"):
        replay.load_cassette(binary)


def test_unquoted_dates_become_text(tmp_path):
    path, _ = dumped(tmp_path)
    text = path.read_text().replace(
        "recorded_at: '2026-11-25T10:00:00+00:00'", "recorded_at: 2026-11-25"
    )
    path.write_text(text)
    assert replay.load_cassette(path, cache=False).context.recorded_at == "2026-11-25"


def test_a_crash_mid_write_leaves_the_previous_cassette_intact(tmp_path, monkeypatch):
    path = tmp_path / "c.yaml"
    replay.save_cassette(full_cassette(), path)
    before = path.read_bytes()

    def crash(*args, **kwargs):
        raise KeyboardInterrupt("killed during fsync")

    monkeypatch.setattr(os, "fsync", crash)
    changed = Cassette(context=full_cassette().context, steps=(), outcome=Outcome("completed"))
    with pytest.raises(KeyboardInterrupt):
        replay.save_cassette(changed, path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.yaml"]


def test_an_io_error_on_write_is_loud(tmp_path, monkeypatch):
    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", full_disk)
    with pytest.raises(CassetteWriteError, match="No space left on device"):
        replay.save_cassette(full_cassette(), tmp_path / "c.yaml")
    assert list(tmp_path.iterdir()) == []


LOAD_THEN_REPORT = """
import json, sys
from replay.storage import load_cassette
cassette = load_cassette(sys.argv[1])
loaded = [m for m in ("yaml", "replay.safe_yaml", "replay.yaml_writer") if m in sys.modules]
print(json.dumps({"steps": len(cassette.steps), "loaded": loaded}))
"""


def test_a_cassette_read_from_the_parse_cache_imports_no_yaml(tmp_path):
    """PyYAML is imported at the first YAML parse or write: a load served by the disk
    cache (``replay inspect`` of a small run in a new process) never imports it."""
    import json

    from tests.process import run_python

    path, _ = dumped(tmp_path)
    env = {"REPLAY_CACHE_DIR": str(tmp_path / "cache")}
    reports = [
        json.loads(run_python("-c", LOAD_THEN_REPORT, path, env=env, check=True).stdout)
        for _ in range(2)
    ]
    steps = len(full_cassette().steps)
    parsed = ["yaml", "replay.safe_yaml", "replay.yaml_writer"]
    assert reports[0] == {"steps": steps, "loaded": parsed}
    assert reports[1] == {"steps": steps, "loaded": []}  # from the cache


def test_the_writer_names_stay_reachable_and_a_patched_one_is_kept(tmp_path, monkeypatch):
    assert storage.yaml is yaml and storage.safe_yaml.__name__ == "replay.safe_yaml"
    assert issubclass(storage._CassetteDumper, getattr(yaml, "CSafeDumper", yaml.SafeDumper))
    assert isinstance(storage.FAST_WRITER, bool)
    with pytest.raises(AttributeError):
        storage.no_such_name  # noqa: B018
    cassette = full_cassette()
    fast = storage.dumps(cassette)
    monkeypatch.setattr(storage, "FAST_WRITER", False)
    assert storage.dumps(cassette) == fast  # the general writer: the same text
