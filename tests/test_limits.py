"""A framework's own loop limit ends a run with ``stop_reason: max_steps``."""

from __future__ import annotations

from pathlib import Path

import pytest
from agents.exceptions import MaxTurnsExceeded
from langgraph.errors import GraphRecursionError
from pydantic_ai.exceptions import UsageLimitExceeded

import replay
from replay.config import ConfigError
from replay.engine import outcome_from_exception
from replay.storage import load_cassette


class TooManySteps(RuntimeError):
    """A project's own loop limit."""


class TooManyPlannerSteps(TooManySteps):
    pass


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def write_config(folder: Path, body: str) -> None:
    (folder / "pyproject.toml").write_text(f'[project]\nname = "demo"\n\n[tool.replay]\n{body}\n')


@pytest.mark.parametrize(
    "error",
    [
        MaxTurnsExceeded("Max turns (3) exceeded"),
        UsageLimitExceeded("The next request would exceed the request_limit of 3"),
        GraphRecursionError("Recursion limit of 5 reached without hitting a stop condition."),
    ],
)
def test_the_frameworks_loop_limits_are_max_steps(project, error):
    outcome = outcome_from_exception(error)
    assert outcome.stop_reason == "max_steps"
    assert outcome.error_class == f"{type(error).__module__}.{type(error).__qualname__}"
    assert outcome.error.message == str(error)


def test_other_errors_stay_exceptions(project):
    assert outcome_from_exception(RecursionError("deep")).stop_reason == "exception"
    assert outcome_from_exception(TooManySteps("x")).stop_reason == "exception"


@pytest.mark.parametrize(
    "spelling", ["tests.test_limits:TooManySteps", "tests.test_limits.TooManySteps"]
)
def test_a_project_adds_its_own_and_subclasses_count(project, spelling):
    write_config(project, f'max_steps_errors = ["{spelling}"]')
    assert outcome_from_exception(TooManyPlannerSteps("12 steps")).stop_reason == "max_steps"
    assert outcome_from_exception(MaxTurnsExceeded("x")).stop_reason == "max_steps"


def test_a_recorded_run_stopped_by_a_configured_limit(project):
    write_config(project, 'max_steps_errors = ["tests.test_limits:TooManySteps"]')
    with pytest.raises(TooManySteps), replay.record(project / "run.yaml"):
        raise TooManySteps("planner ran 12 steps")
    outcome = load_cassette(project / "run.yaml").outcome
    assert (outcome.stop_reason, outcome.error_class) == (
        "max_steps",
        "tests.test_limits.TooManySteps",
    )


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ('max_steps_errors = "mypkg:TooMany"', "must be a list of exception classes"),
        ('max_steps_errors = ["TooMany"]', "'TooMany' is not an exception class path"),
        ("max_steps_errors = [3]", "3 is not an exception class path"),
    ],
)
def test_a_malformed_list_fails_before_the_run_in_one_line(project, body, fragment):
    write_config(project, body)
    ran = []
    with pytest.raises(ConfigError) as raised, replay.record(project / "run.yaml"):
        ran.append(True)
    message = str(raised.value)
    assert fragment in message and "pyproject.toml" in message and "\n" not in message
    assert not ran and not (project / "run.yaml").exists()


def test_an_imported_trace_uses_the_same_list(project):
    """A traced run whose agent span ends with the project's own limit class (and a
    status text that names no limit) is max_steps exactly when the project lists it."""
    from replay.otel.read import read_runs
    from replay.otel.to_cassette import import_trace
    from tests.otel.conftest import fixture

    text = fixture("openinference-openai__loop").read_text()
    text = text.replace("harness.MaxStepsExceeded", "mypkg.errors.TooManySteps")
    text = text.replace("stopped after 4 steps without a final answer", "planner gave up")
    trace = project / "loop.otlp.jsonl"
    trace.write_text(text)

    def outcome():
        (run,) = list(read_runs(trace))
        return import_trace(run).outcome

    before = outcome()
    assert (before.stop_reason, before.error_class) == ("exception", "mypkg.errors.TooManySteps")
    write_config(project, 'max_steps_errors = ["mypkg.errors:TooManySteps"]')
    after = outcome()
    assert (after.stop_reason, after.error_class) == ("max_steps", "mypkg.errors.TooManySteps")


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("agents.exceptions.MaxTurnsExceeded", True),
        ("agents.exceptions:MaxTurnsExceeded", True),
        ("MaxTurnsExceeded", True),  # openai-agents spans name the bare class
        ("other.MaxTurnsExceeded", False),  # another module's class of the same name
        ("RecursionError", False),
    ],
)
def test_class_names_from_traces_match_the_list(project, name, expected):
    from replay.limits import is_max_steps_name

    assert is_max_steps_name(name) is expected
