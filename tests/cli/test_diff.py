"""``replay diff``: two recorded runs compared step by step."""

from __future__ import annotations

import shutil

from tests.cli.conftest import REWORDED, SUPPORT, assert_fits, cli, record


def test_a_run_and_its_copy_are_identical(cassettes, tmp_path):
    copy = tmp_path / "copy.yaml"
    shutil.copy(cassettes.ok, copy)
    result = cli("diff", cassettes.ok, copy, "--json")
    assert result.code == 0, result
    data = result.json()
    assert data["identical"] is True
    assert data["changes"] == [] and data["first_divergence"] is None
    human = cli("diff", cassettes.ok, copy)
    assert human.code == 0, human
    assert "Identical" in human.stdout


def test_the_same_question_on_two_releases(tmp_path):
    question = {"question": "how do I reset my password?"}
    before, _ = record(tmp_path / "r1.yaml", SUPPORT, question, "--release", "r1")
    after, _ = record(tmp_path / "r2.yaml", REWORDED, question, "--release", "r2")
    result = cli("diff", before, after, "--json")
    assert result.code == 1, result
    data = result.json()
    assert (data["a"]["release"], data["b"]["release"]) == ("r1", "r2")
    assert data["identical"] is False
    causes = [(c["change"], c["kind"], c["cause"]) for c in data["changes"]]
    assert ("changed", "llm", "prompt changed") in causes
    assert ("changed", "uuid", "result changed") in causes  # a new ticket id each run
    prompt = next(c for c in data["changes"] if c["cause"] == "prompt changed")
    assert any("Always be polite" in line for line in prompt["differences"])
    human = cli("diff", "r1.yaml", "r2.yaml", cwd=tmp_path)
    assert human.code == 1, human
    assert "prompt changed" in human.stdout
    assert "Different" in human.stdout
    assert_fits(human.stdout)


def test_a_failing_and_a_passing_run_differ_in_outcome(cassettes):
    result = cli("diff", cassettes.failing, cassettes.ok, "--json")
    assert result.code == 1, result
    fields = result.json()["outcome_change"]["fields"]
    assert "stop_reason" in fields
