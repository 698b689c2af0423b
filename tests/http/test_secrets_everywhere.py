"""Issue 11.1: a secret in every place a run can put one never reaches a written file.

A real agent (``tests/agents/secret_agent.py``) runs the real openai and anthropic SDKs
against the fake model server with a secret in the URL's userinfo, in a body field
``api_key`` that does not look like a key, in the model's answer (returned as the run's
output), in tool args, results and an exception message, in ``run.input`` and split
across the events of an SSE stream. Every byte the tool then writes (the cassette, the
parse cache, ``replay run`` and golden reports) is scanned for each secret and for its
fragments, and the run still replays ``match`` with other keys in the environment.
"""

from __future__ import annotations

import json
import os
import re
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

import replay
from replay.redact import MARKER, MIN_FRAGMENT
from replay.storage import clear_memory_cache
from replay.testing.fake_llm import FakeLLM, reply, tool_call
from tests.agents import secret_agent
from tests.cli.conftest import cli
from tests.http.conftest import ANTHROPIC_KEY, OPENAI_KEY

URL_PASSWORD = "pw-Userinfo-Secret-42"
BODY_KEY = "correct horse battery staple 9"
SESSION_TOKEN = "sess-opaque-Value-7f3k2p9q"
PASSWORD = "hunter2-Correct-Horse"
RESULT_TOKEN = "acc-opaque-result-value-1"
SECRETS = (OPENAI_KEY, ANTHROPIC_KEY, URL_PASSWORD, BODY_KEY, SESSION_TOKEN, PASSWORD, RESULT_TOKEN)


def fragments(secret: str) -> set[str]:
    """The secret, its tails after each ``-`` or space, and its identifying windows."""
    found = {secret}
    for index, char in enumerate(secret):
        if char in "- " and len(secret) - index - 1 >= 6:
            found.add(secret[index + 1 :])
    for start in range(len(secret) - MIN_FRAGMENT + 1):
        window = secret[start : start + MIN_FRAGMENT]
        classes = sum(
            (
                any(c.isdigit() for c in window),
                any(c.islower() for c in window),
                any(c.isupper() for c in window),
            )
        )
        if classes >= 2:
            found.add(window)
    return found


def leaks(data: bytes) -> list[str]:
    text = data.decode("utf-8", "replace")
    return sorted({f for s in SECRETS for f in fragments(s) if f in text})


def written_files(*roots: Path) -> Iterator[Path]:
    for root in roots:
        yield from (p for p in root.rglob("*") if p.is_file())


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv("REPLAY_CACHE_DIR", str(folder))
    clear_memory_cache()
    return folder


def _record(cassette: Path, monkeypatch: pytest.MonkeyPatch) -> list[object]:
    script = [
        reply(f"I noted your key {OPENAI_KEY}"),
        tool_call("rotate_token", {"token": SESSION_TOKEN}),
    ]
    with FakeLLM(script) as llm:
        host = llm.openai_url.split("://", 1)[1].removesuffix("/v1")
        monkeypatch.setenv(secret_agent.OPENAI_URL, f"http://svc-user:{URL_PASSWORD}@{host}")
        monkeypatch.setenv(secret_agent.ANTHROPIC_URL, llm.anthropic_url.removesuffix("/v1"))
        monkeypatch.setenv(secret_agent.SESSION_TOKEN, SESSION_TOKEN)
        monkeypatch.setenv(secret_agent.BODY_KEY, BODY_KEY)
        replay.record_run(
            "tests.agents.secret_agent:run",
            cassette,
            input={"question": f"Which account owns {OPENAI_KEY}?", "password": PASSWORD},
        )
        return list(llm.requests)


def test_no_secret_or_fragment_reaches_any_written_file(
    tmp_path: Path, cassette: Path, cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    received = _record(cassette, monkeypatch)

    # The secrets were really used on the wire.
    assert received[0].json["api_key"] == BODY_KEY
    assert received[1].headers["x-session-token"] == SESSION_TOKEN
    loaded = replay.load_cassette(cassette)
    assert [(s.kind, s.name) for s in loaded.steps] == [
        ("llm", "gpt-4o-mini"),
        ("tool", "lookup_account"),
        ("llm", "claude-fake-1"),
        ("tool", "rotate_token"),
    ]
    assert loaded.steps[2].http["response"]["events"], "the anthropic answer was streamed"
    assert loaded.steps[3].error is not None
    assert loaded.context.input == {
        "question": f"Which account owns {MARKER}?",
        "password": MARKER,
    }
    assert loaded.steps[0].args["messages"][0]["content"].endswith(f"(my password is {MARKER})")
    assert loaded.outcome.output == {
        "answer": f"I noted your key {MARKER}",
        "failures": [f"the session token {MARKER} was revoked"],
    }
    assert loaded.steps[0].http["request"]["url"].startswith(f"http://{MARKER}@127.0.0.1:")

    # Replay with other keys in the environment, through the CLI (which also reads the
    # cassette back through the parse cache), then a golden run writing its reports.
    golden = tmp_path / "golden"
    golden.mkdir()
    (golden / "secret_run.yaml").write_bytes(cassette.read_bytes())
    env = {
        "REPLAY_CACHE_DIR": str(cache),
        "OPENAI_API_KEY": "sk-proj-ANOTHERkeyAtReplayTime0123456789",
        "ANTHROPIC_API_KEY": "sk-ant-api03-ANOTHERkeyAtReplayTime0123456789",
    }
    for name in (secret_agent.OPENAI_URL, secret_agent.ANTHROPIC_URL, secret_agent.SESSION_TOKEN):
        monkeypatch.delenv(name)
    run = cli("run", cassette, "--json", "--expect", "match", cwd=tmp_path / "project", env=env)
    assert run.code == 0, run
    assert run.json()["verdict"] == "match", run
    report = tmp_path / "reports"
    report.mkdir()
    gold = cli(
        "golden",
        "run",
        golden,
        "--workers",
        "1",
        "--json",
        "--junit",
        report / "golden.xml",
        "--markdown",
        report / "golden.md",
        cwd=tmp_path / "project",
        env=env,
    )
    assert gold.code == 0, gold
    (report / "run.json").write_text(run.stdout + gold.stdout, encoding="utf-8")

    files = list(written_files(cassette.parent, cache, report, golden))
    assert any(p.suffix == ".json" and cache in p.parents for p in files), "parse cache used"
    for path in files:
        assert leaks(path.read_bytes()) == [], f"{path} holds a secret"
    # YAML may fold a long string over lines: the parsed data must be clean as well.
    assert leaks(json.dumps(loaded.to_dict(), ensure_ascii=False).encode()) == []


def test_the_recorded_run_replays_match_in_process(
    cassette: Path, cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _record(cassette, monkeypatch)
    for name in (secret_agent.OPENAI_URL, secret_agent.ANTHROPIC_URL, secret_agent.SESSION_TOKEN):
        monkeypatch.delenv(name)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-proj-ANOTHERkeyAtReplayTime0123456789")
    result = replay.replay(cassette)
    assert result.divergence is None, result.divergence
    assert result.identical, result.diff.to_dict()


def test_written_files_honour_the_umask_and_the_cache_is_private(
    cassette: Path, cache: Path
) -> None:
    previous = os.umask(0o022)
    try:
        with replay.record(cassette) as recording:
            recording.set_result("done")
        assert stat.S_IMODE(cassette.stat().st_mode) == 0o644
        os.umask(0o027)
        with replay.record(cassette) as recording:
            recording.set_result("done")
        assert stat.S_IMODE(cassette.stat().st_mode) == 0o640
    finally:
        os.umask(previous)
    clear_memory_cache()
    replay.load_cassette(cassette)
    assert stat.S_IMODE(cache.stat().st_mode) == 0o700
    cached = [p for p in cache.rglob("*.json")]
    assert cached and all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in cached)


def test_a_cache_folder_others_can_write_is_not_trusted(cassette: Path, cache: Path) -> None:
    with replay.record(cassette) as recording:
        recording.set_result("done")
    clear_memory_cache()
    replay.load_cassette(cassette)
    (entry,) = cache.rglob("*.json")
    planted = json.loads(entry.read_text(encoding="utf-8"))
    planted["outcome"]["output"] = "planted by another user"
    entry.write_text(json.dumps(planted), encoding="utf-8")
    os.chmod(cache, 0o777)
    clear_memory_cache()
    assert replay.load_cassette(cassette).outcome.output == "done"


_VOLATILE = {
    "run_id",
    "trace_id",
    "recorded_at",
    "started_at_ms",
    "latency_ms",
    "span_id",
    "parent_span_id",
}


def _stable(value: object) -> object:
    if isinstance(value, dict):
        return {k: _stable(v) for k, v in value.items() if k not in _VOLATILE}
    if isinstance(value, list):
        return [_stable(v) for v in value]
    if isinstance(value, str):
        return re.sub(r"127\.0\.0\.1:\d+", "127.0.0.1:PORT", value)
    return value


def test_the_fast_paths_write_what_the_general_ones_write(
    tmp_path: Path, cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The cassette of the run with every secret is written by the direct YAML writer,
    byte for byte what PyYAML writes; and recording it again with the general paths
    (PyYAML, each event redacted one by one, each event's JSON parsed where used, each
    text of a JSON answer searched on its own) gives the same data."""
    from replay import storage
    from replay.http import exchange
    from replay.redact import Redactor

    fast = tmp_path / "fast.yaml"
    _record(fast, monkeypatch)
    text = fast.read_text(encoding="utf-8")
    loaded = replay.load_cassette(fast)
    data = loaded.to_dict()
    data["version"] = 2
    general_text = (
        storage.HEADER.format(version=2)
        + storage.pyyaml_text(data)
        + storage.end_marker(len(loaded.steps))
    )
    assert storage.yaml_writer.dump(data, storage._CassetteDumper) is not None
    assert text == general_text

    def undecoded(events: object) -> object:
        raise ValueError("the general path: each reader parses the events itself")

    with monkeypatch.context() as general:
        general.setattr(storage, "FAST_WRITER", False)
        general.setattr(Redactor, "texts", lambda self, values: [self.text(v) for v in values])
        # Each text of a JSON answer searched again instead of vouched for by its body.
        general.setattr(Redactor, "json_text", lambda self, text, values: self.text(text))
        general.setattr(exchange, "decode_events", undecoded)
        slow = tmp_path / "slow.yaml"
        _record(slow, monkeypatch)
    assert _stable(replay.load_cassette(slow).to_dict()) == _stable(loaded.to_dict())
    assert leaks(fast.read_bytes()) == [] and leaks(slow.read_bytes()) == []
