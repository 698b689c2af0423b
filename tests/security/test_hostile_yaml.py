"""Hostile YAML in a cassette or scenario: each trick is the tool's own one-line error
naming the file and the field, never a hang, a traceback or a silently accepted value."""

from __future__ import annotations

import json
import os

import pytest

import replay
from replay import golden, safe_yaml
from replay.canonical import stable_hash
from replay.cassette import Cassette, Outcome, RunContext, Step
from replay.errors import CassetteError
from replay.scenarios import ScenarioError, load_scenario
from tests.cli.conftest import assert_one_error_line, cli
from tests.security.conftest import REPO, assert_own_error

BOMB = (
    "    question: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n"
    + "".join(f"    l{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]\n" for i in range(1, 10))
)


def edited(text: str, old: str, new: str) -> str:
    assert old in text, old
    return text.replace(old, new, 1)


CASES = {
    "alias bomb": (
        lambda t: edited(t, "    question: How long does a refund take to reach my card?\n", BOMB),
        ("field 'run.input.question'", "anchors and aliases"),
    ),
    "anchor": (
        lambda t: edited(t, "  workflow: support\n", "  workflow: &w support\n"),
        ("field 'run.workflow'", "anchors and aliases"),
    ),
    "alias": (
        lambda t: edited(
            t, "  workflow: support\n", "  workflow: &w support\n  model2: *w\n"
        ),
        ("anchors and aliases",),
    ),
    "number key": (
        lambda t: edited(t, "  workflow: support\n", "  workflow: support\n  1: one\n"),
        ("field 'run.1'", "a mapping key must be text, found int 1"),
    ),
    "null key": (
        lambda t: edited(t, "  workflow: support\n", "  workflow: support\n  ~: one\n"),
        ("field 'run.~'", "a mapping key must be text, found null"),
    ),
    "list key": (
        lambda t: edited(t, "  workflow: support\n", "  workflow: support\n  ? [a]\n  : one\n"),
        ("a mapping key must be text, found list",),
    ),
    "set": (
        lambda t: edited(t, "    max_steps: 5\n", "    max_steps: !!set {a, b}\n"),
        ("field 'run.input.max_steps'", "the YAML tag !!set is not allowed"),
    ),
    "binary": (
        lambda t: edited(t, "    max_steps: 5\n", "    max_steps: !!binary aGk=\n"),
        ("field 'run.input.max_steps'", "!!binary is not allowed"),
    ),
    "python object": (
        lambda t: edited(t, "    max_steps: 5\n", "    max_steps: !!python/object:os.system {}\n"),
        ("field 'run.input.max_steps'", "could not determine a constructor"),
    ),
    "5000-digit integer": (
        lambda t: edited(t, "    max_steps: 5\n", f"    max_steps: {'9' * 5000}\n"),
        ("field 'run.input.max_steps'", "an integer of 5000 digits is too long"),
    ),
    "merge key": (
        lambda t: edited(t, "  workflow: support\n", "  workflow: support\n  <<: {a: 1}\n"),
        ("field 'run.<<'", "merge keys"),
    ),
    "duplicate top-level key": (
        lambda t: edited(t, "version: 2\n", "version: 2\nversion: 2\n"),
        ("field 'version'", "duplicate key 'version'"),
    ),
    "duplicate step key": (
        lambda t: edited(t, "  kind: clock\n", "  kind: clock\n  kind: tool\n"),
        ("step 0: field 'kind'", "duplicate key 'kind'"),
    ),
    "version true": (
        lambda t: edited(t, "version: 2\n", "version: true\n"),
        ("field 'version'", "expected a whole number, found true"),
    ),
    "version 1.0": (
        lambda t: edited(t, "version: 2\n", "version: 1.0\n"),
        ("field 'version'", "expected a whole number, found 1.0"),
    ),
    "index false": (
        lambda t: edited(t, "- index: 0\n", "- index: false\n"),
        ("step 0: field 'index'", "expected a step number, found false"),
    ),
    "duplicate index": (
        lambda t: edited(t, "- index: 2\n", "- index: 1\n"),
        ("step 2: field 'index'", "index is 1 but the step is number 2"),
    ),
    "huge latency": (
        lambda t: edited(t, "  latency_ms: 0.031\n", f"  latency_ms: {'9' * 400}\n"),
        ("step 0: field 'latency_ms'", "expected a finite number >= 0"),
    ),
    "negative latency": (
        lambda t: edited(t, "  latency_ms: 0.031\n", "  latency_ms: -5\n"),
        ("step 0: field 'latency_ms'", "expected a finite number >= 0, found -5"),
    ),
    "key with a line break": (
        lambda t: edited(t, "version: 2\n", 'version: 2\n"evil\\nline": 1\n'),
        ("field ''evil\\nline''", "unknown field"),
    ),
    "deep nesting": (
        lambda t: edited(t, "    max_steps: 5\n", f"    max_steps: {'[' * 100_000}\n"),
        ("malformed YAML", "maximum nesting depth"),
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_each_trick_is_a_cassette_error_naming_file_and_field(tmp_path, incident_text, case):
    edit, fragments = CASES[case]
    path = tmp_path / "hostile.yaml"
    path.write_text(edit(incident_text), encoding="utf-8")
    with pytest.raises(CassetteError) as caught:
        replay.load_cassette(path, cache=False)
    assert_own_error(caught.value, str(path), *fragments)


@pytest.mark.parametrize("case", ["alias bomb", "set", "5000-digit integer", "number key"])
def test_the_cli_reports_each_trick_in_one_line(tmp_path, incident_text, case):
    edit, fragments = CASES[case]
    path = tmp_path / "hostile.yaml"
    path.write_text(edit(incident_text), encoding="utf-8")
    assert_one_error_line(cli("inspect", path), str(path), *fragments)


def test_aliases_are_refused_before_anything_is_built():
    """The loader's own backstop: an alias is refused at its first use even when the
    cheap pre-scan for anchors is skipped."""
    text = "a: &x [1, 2]\nb: *x\n"
    with pytest.raises(safe_yaml.YamlRefused, match="anchors and aliases"):
        safe_yaml.StrictLoader(text).get_single_data()


def test_values_shared_between_steps_are_written_in_full(tmp_path):
    """One object in two places would make PyYAML write an anchor and an alias, which
    loading refuses: the writer spells it out twice instead."""
    shared = {"query": "refund timing", "limit": 2}
    steps = tuple(
        Step(i, "tool", "search_docs", shared, stable_hash(shared), result=shared)
        for i in range(2)
    )
    cassette = Cassette(RunContext("run_1", "t" * 32, input=shared), steps, Outcome("completed"))
    path = replay.save_cassette(cassette, tmp_path / "shared.yaml")
    text = path.read_text(encoding="utf-8")
    assert "&id" not in text and "*id" not in text
    assert replay.load_cassette(path, cache=False) == cassette.with_path(str(path))


def test_timestamps_stay_the_text_written():
    assert safe_yaml.load("at: 2026-11-25 10:00:00\nday: 2026-11-25\n") == {
        "at": "2026-11-25 10:00:00",
        "day": "2026-11-25",
    }


def test_a_scenario_file_refuses_the_same_tricks(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text(
        "version: 1\nid: x\ncassette: &c cassettes/x.yaml\nnotes: *c\nstatus: open\n",
        encoding="utf-8",
    )
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    assert_own_error(caught.value, str(path), "field 'cassette'", "anchors and aliases")
    path.write_text("version: 1\nid: x\nid: y\n", encoding="utf-8")
    with pytest.raises(ScenarioError, match="field 'id': duplicate key 'id'"):
        load_scenario(path)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes need POSIX")
def test_a_fifo_is_refused_without_waiting_for_a_writer(tmp_path):
    fifo = tmp_path / "pipe.yaml"
    os.mkfifo(fifo)
    with pytest.raises(CassetteError) as caught:
        replay.load_cassette(fifo)
    assert_own_error(caught.value, str(fifo), "is a FIFO (named pipe), not a regular file")
    # The command line too (a hang would fail on the helper's timeout).
    assert_one_error_line(cli("inspect", fifo), "is a FIFO")


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="needs /dev/zero")
def test_a_device_is_refused():
    with pytest.raises(CassetteError) as caught:
        replay.load_cassette("/dev/zero")
    assert_own_error(caught.value, "/dev/zero: is a device, not a regular file")


def test_a_scenario_file_given_as_a_cassette_says_what_it_is():
    scenario = REPO / "scenarios" / "run_9fd2.yaml"
    with pytest.raises(CassetteError) as caught:
        replay.load_cassette(scenario)
    assert_own_error(
        caught.value,
        "this is a scenario file, not a cassette",
        "replay run cassettes/incidents/run_9fd2.yaml",
    )


def test_a_vcrpy_cassette_given_as_a_cassette_says_what_it_is(tmp_path):
    path = tmp_path / "vcr.yaml"
    path.write_text(
        "interactions:\n- request: {method: GET, uri: 'http://127.0.0.1/'}\n"
        "  response: {status: {code: 200, message: OK}, body: {string: ''}}\nversion: 1\n",
        encoding="utf-8",
    )
    result = cli("inspect", path)
    assert_one_error_line(result, str(path), "this is a vcrpy cassette", "replay record")


def test_a_golden_report_given_as_a_cassette_says_what_it_is(tmp_path):
    path = tmp_path / "report.json"
    report = {"schema": golden.REPORT_SCHEMA, "version": golden.REPORT_VERSION, "runs": []}
    path.write_text(json.dumps(report), encoding="utf-8")
    with pytest.raises(CassetteError) as caught:
        replay.load_cassette(path)
    assert_own_error(caught.value, "this is a golden-set report", "replay golden merge")


def test_the_bundled_cassettes_still_load():
    for path in sorted((REPO / "cassettes").rglob("*.yaml")):
        assert replay.load_cassette(path, cache=False).version == 2, path
