"""Promoting a recorded run into the golden set."""

from __future__ import annotations

from pathlib import Path

import pytest

import replay
from replay.golden import GoldenError, add_to_golden, discover
from tests.golden.conftest import AGENT


def _record(path, run_id, *, max_turns=6):
    return replay.record_run(
        AGENT,
        path,
        input={"workflow": "refund", "question": "Refund order Q-9", "max_turns": max_turns},
        run_id=run_id,
        release="v1.0",
        workflow="refund",
    )


def test_add_copies_a_healthy_run_and_keeps_its_name(tmp_path):
    source = _record(tmp_path / "recordings" / "nice.yaml", "run-nice").path
    folder = tmp_path / "golden"
    target, copied = add_to_golden(source, to=folder)
    assert copied and target == folder / "nice.yaml"
    assert target.read_bytes() == (tmp_path / "recordings" / "nice.yaml").read_bytes()
    assert [e.key for e in discover([folder])] == ["nice.yaml"]
    assert add_to_golden(source, to=folder) == (target, False)  # the same file again: no-op
    assert not [p for p in folder.iterdir() if p.name.startswith(".")]  # no temp files left


def test_a_taken_name_falls_back_to_the_run_id(tmp_path):
    first = _record(tmp_path / "a" / "run.yaml", "run-one").path
    second = _record(tmp_path / "b" / "run.yaml", "run-two").path
    folder = tmp_path / "golden"
    add_to_golden(first, to=folder)
    target, copied = add_to_golden(second, to=folder)
    assert copied and target.name == "run-two.yaml"
    third = _record(tmp_path / "c" / "run.yaml", "run-two").path
    with open(third, "a", encoding="utf-8") as handle:
        handle.write("# a third recording, named like the other two\n")
    with pytest.raises(GoldenError, match=r"both run.yaml and run-two.yaml already hold other"):
        add_to_golden(third, to=folder)


def test_a_failed_run_needs_force(tmp_path):
    failed = _record(tmp_path / "cut.yaml", "run-cut", max_turns=1)
    assert failed.outcome.stop_reason == "max_steps"
    with pytest.raises(GoldenError, match=r"the run failed \(stop_reason max_steps\).*--force"):
        add_to_golden(failed.path, to=tmp_path / "golden")
    assert not (tmp_path / "golden").exists()
    target, copied = add_to_golden(failed.path, to=tmp_path / "golden", force=True)
    assert copied and target.name == "cut.yaml"


def test_a_broken_cassette_is_not_added(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: 1\n")
    with pytest.raises(replay.CassetteError, match=r"missing section"):
        add_to_golden(bad, to=tmp_path / "golden")


def test_add_applies_the_redaction_policy_to_the_copy(tmp_path, monkeypatch):
    """A run recorded before the project named a secret reaches the golden set without
    it; the source recording is left as it is, and adding it again is a no-op."""
    source = replay.record_run(
        AGENT,
        tmp_path / "recordings" / "acct.yaml",
        input={"workflow": "refund", "question": "Refund order Q-9 for account acct-7f3kq9"},
        run_id="run-acct",
        release="v1.0",
        workflow="refund",
    ).path
    source = Path(source)
    before = source.read_text(encoding="utf-8")
    assert "acct-7f3kq9" in before
    project = tmp_path / "project"
    project.mkdir()
    (project / "pyproject.toml").write_text(
        '[project]\nname = "demo"\n\n[tool.replay]\nredact_patterns = ["acct-[0-9a-z]{6}"]\n'
    )
    monkeypatch.chdir(project)
    target, copied = add_to_golden(source, to=tmp_path / "golden")
    assert copied
    text = target.read_text(encoding="utf-8")
    assert "acct-7f3kq9" not in text
    assert "Refund order Q-9 for account <redacted>" in text
    assert source.read_text(encoding="utf-8") == before
    loaded = replay.load_cassette(target)
    assert loaded.run_id == "run-acct" and loaded.outcome.stop_reason == "completed"
    assert add_to_golden(source, to=tmp_path / "golden") == (target, False)
