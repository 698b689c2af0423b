"""Fuzzing: mutated real cassettes (keys dropped, types swapped, huge and negative
numbers, duplicate indexes, bytes flipped, aliases, cuts) through the Python API, the
``replay`` command line and pytest scenarios. Always the tool's own one-line error (or a
cassette that loads and replays), never a traceback, a hang or a shorter run that loads.

Hypothesis drives the Python API (a modest number of examples each); the command line
and pytest get a few fixed mutations, in subprocesses.
"""

from __future__ import annotations

import copy
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import replay
from replay import safe_yaml, storage
from replay.errors import CassetteError, ReplayError
from replay.scenarios import new_scenario, save_scenario
from replay.verdict import verdict_for
from tests.cli.conftest import cli
from tests.security.conftest import INCIDENT, REPO

BASE_TEXT = INCIDENT.read_text(encoding="utf-8")
BASE_DATA = safe_yaml.load(BASE_TEXT)
BASE_STEPS = len(BASE_DATA["steps"])

FUZZ = settings(
    max_examples=int(os.environ.get("REPLAY_FUZZ_EXAMPLES", "40")),
    deadline=None,
    derandomize="REPLAY_FUZZ_EXAMPLES" not in os.environ,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def node_paths(value: Any, prefix: tuple = ()) -> list[tuple]:
    """Every place in parsed data (as a path of keys and indexes), the root excluded."""
    found = []
    if isinstance(value, dict):
        items = list(value.items())
    elif isinstance(value, list):
        items = list(enumerate(value))
    else:
        return found
    for key, child in items:
        found.append((*prefix, key))
        found.extend(node_paths(child, (*prefix, key)))
    return found


PATHS = node_paths(BASE_DATA)

ODD_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.sampled_from([-1, 10**400, -(10**400), 2**63, -(2**63)]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.lists(st.integers(min_value=-5, max_value=5), max_size=3),
    st.dictionaries(st.text(max_size=4), st.integers(), max_size=2),
)


def parent_of(data: Any, path: tuple) -> Any:
    for key in path[:-1]:
        data = data[key]
    return data


@st.composite
def mutated_data(draw: st.DrawFn) -> dict:
    """The incident's data with one to three of: a key or item dropped, a value swapped
    for an odd one, a step index duplicated, a key added (any text, line breaks too)."""
    data = copy.deepcopy(BASE_DATA)
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        action = draw(st.sampled_from(["drop", "swap", "duplicate_index", "add"]))
        valid = [p for p in PATHS if _exists(data, p)]
        if action == "add":
            mappings = [()] + [p for p in valid if isinstance(_at(data, p), dict)]
            target = _at(data, draw(st.sampled_from(mappings)))
            target[draw(st.text(max_size=6))] = draw(ODD_VALUES)
            continue
        if action == "duplicate_index" and isinstance(data.get("steps"), list) and data["steps"]:
            steps = data["steps"]
            i = draw(st.integers(min_value=0, max_value=len(steps) - 1))
            j = draw(st.integers(min_value=0, max_value=len(steps) - 1))
            if isinstance(steps[i], dict) and isinstance(steps[j], dict):
                steps[i]["index"] = steps[j].get("index")
            continue
        if not valid:
            break
        path = draw(st.sampled_from(valid))
        parent = parent_of(data, path)
        if action == "drop":
            del parent[path[-1]]
        else:
            parent[path[-1]] = draw(ODD_VALUES)
    return data


def _at(data: Any, path: tuple) -> Any:
    for key in path:
        data = data[key]
    return data


def _exists(data: Any, path: tuple) -> bool:
    for key in path:
        in_mapping = isinstance(data, dict) and key in data
        in_list = isinstance(data, list) and isinstance(key, int) and key < len(data)
        if not (in_mapping or in_list):
            return False
        data = data[key]
    return True


def as_cassette_text(data: dict) -> str:
    """Data written as a cassette would be, closed by the end marker its steps need (so
    the check under test is the validation, not the marker)."""
    steps = data.get("steps")
    count = len(steps) if isinstance(steps, list) else 0
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True) + storage.end_marker(count)


@st.composite
def mutated_text(draw: st.DrawFn) -> bytes:
    """The incident's bytes with bytes flipped, a value turned into an alias or a huge
    number, a line duplicated, or cut short."""
    raw = BASE_TEXT.encode("utf-8")
    action = draw(st.sampled_from(["flip", "alias", "huge", "duplicate_line", "cut"]))
    if action == "flip":
        out = bytearray(raw)
        for _ in range(draw(st.integers(min_value=1, max_value=4))):
            at = draw(st.integers(min_value=0, max_value=len(out) - 1))
            out[at] ^= draw(st.integers(min_value=1, max_value=255))
        return bytes(out)
    if action == "cut":
        return raw[: draw(st.integers(min_value=0, max_value=len(raw) - 2))]
    lines = BASE_TEXT.splitlines(keepends=True)
    scalar_lines = [i for i, line in enumerate(lines) if ": " in line and not line.endswith(":\n")]
    first = draw(st.sampled_from(scalar_lines))
    key, _, _ = lines[first].partition(": ")
    if action == "alias":
        second = draw(st.sampled_from(scalar_lines))
        lines[first] = lines[first].replace(": ", ": &anchor ", 1)
        other_key, _, _ = lines[second].partition(": ")
        lines[second] = f"{other_key}: *anchor\n"
    elif action == "huge":
        sign = draw(st.sampled_from(["", "-"]))
        lines[first] = f"{key}: {sign}{'7' * 5000}\n"
    else:
        lines.insert(first, lines[first])
    return "".join(lines).encode("utf-8")


def load_or_own_error(path: Path) -> replay.Cassette | None:
    """The cassette, or None after checking the error is ours and one line."""
    try:
        return replay.load_cassette(path, cache=False)
    except CassetteError as exc:
        assert "\n" not in str(exc), str(exc)
        assert str(path) in str(exc), str(exc)
        return None


def replay_or_own_error(cassette: replay.Cassette) -> None:
    """Replaying a cassette that loads gives a verdict or one of our errors."""
    try:
        verdict_for(cassette, repeats=1)
    except ReplayError as exc:
        assert "\n" not in str(exc).strip() or "diverged" in str(exc), str(exc)


@FUZZ
@given(data=mutated_data())
def test_mutated_data_is_refused_or_replays(tmp_path, data):
    path = tmp_path / "mutated.yaml"
    path.write_text(as_cassette_text(data), encoding="utf-8")
    cassette = load_or_own_error(path)
    if cassette is not None:
        replay_or_own_error(cassette)


@FUZZ
@given(raw=mutated_text())
def test_mutated_bytes_are_refused_or_load_whole(tmp_path, raw):
    path = tmp_path / "mutated.yaml"
    path.write_bytes(raw)
    cassette = load_or_own_error(path)
    if cassette is not None:
        assert len(cassette.steps) == BASE_STEPS  # never a shorter run
        replay_or_own_error(cassette)


# -- the command line and pytest: a few fixed mutations, in subprocesses ------------------

FIXED = {
    "cut.yaml": BASE_TEXT[: BASE_TEXT.index("- index: 3")],
    "alias.yaml": BASE_TEXT.replace("  workflow: support\n", "  workflow: &w support\n", 1)
    .replace("  model: gpt-4o-mini\n", "  model: *w\n", 1),
    "index.yaml": BASE_TEXT.replace("- index: 2\n", "- index: 1\n", 1),
    "version.yaml": BASE_TEXT.replace("version: 2\n", "version: true\n", 1),
    "huge.yaml": BASE_TEXT.replace("    max_steps: 5\n", f"    max_steps: {'9' * 5000}\n", 1),
    "set.yaml": BASE_TEXT.replace("    max_steps: 5\n", "    max_steps: !!set {a}\n", 1),
}


@pytest.fixture(scope="module")
def fixed_mutations(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("mutations")
    for name, text in FIXED.items():
        assert text != BASE_TEXT, name
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def assert_one_line_no_traceback(result: Any, *fragments: str) -> None:
    assert result.code == 3, result
    assert "Traceback" not in result.stderr, result
    errors = [line for line in result.stderr.splitlines() if line.startswith("replay: error: ")]
    assert len(errors) == 1, result
    for fragment in fragments:
        assert fragment in errors[0], result


@pytest.mark.parametrize("name", ["cut.yaml", "alias.yaml", "index.yaml"])
def test_inspect_run_and_diff_give_one_line(fixed_mutations, name):
    path = fixed_mutations / name
    for args in (("inspect", path), ("run", path), ("diff", INCIDENT, path)):
        assert_one_line_no_traceback(cli(*args), str(path))


def test_golden_reports_every_broken_run_on_its_own(fixed_mutations):
    result = cli("golden", fixed_mutations, "--repeat", "1", "--no-progress")
    assert result.code == 3, result
    assert "Traceback" not in result.stderr + result.stdout, result
    for name in FIXED:
        assert name in result.stdout, result


def test_pytest_scenarios_give_one_line_per_broken_cassette(fixed_mutations, tmp_path):
    project = tmp_path / "shop"
    (project / "cassettes").mkdir(parents=True)
    (project / "pyproject.toml").write_text(
        '[project]\nname = "shop"\nversion = "0"\n\n'
        '[tool.pytest.ini_options]\naddopts = "-p no:cacheprovider"\n',
        encoding="utf-8",
    )
    recorded = replay.load_cassette(INCIDENT)
    for name in FIXED:
        (project / "cassettes" / name).write_text(FIXED[name], encoding="utf-8")
        scenario = new_scenario(
            recorded, cassette_path=f"cassettes/{name}", scenario_id=name.removesuffix(".yaml")
        )
        save_scenario(scenario, project / "scenarios" / name)
    (project / "scenarios" / "hostile-scenario.yaml").write_text(
        "version: 1\nid: &i hostile\ncassette: cassettes/cut.yaml\nnotes: *i\n",
        encoding="utf-8",
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "REPLAY_DEBUG"))}
    env["PYTHONPATH"] = str(REPO)
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "--continue-on-collection-errors"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode in (1, 2), output  # failures and a collection error, no crash
    assert "Traceback" not in output, output
    assert "INTERNALERROR" not in output, output
    for name in FIXED:
        assert f"cassettes/{name}" in output, output
    assert "scenarios/hostile-scenario.yaml: field 'id'" in output, output
