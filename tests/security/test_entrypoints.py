"""A file may only make the tool run the user's own agent code: a cassette's recorded
entrypoint or a scenario's agent naming the standard library, an installed package or
code outside the project is refused (with the fix), before anything of it runs."""

from __future__ import annotations

import json
import shutil
import sys
import uuid
from pathlib import Path

import pytest

import replay
from replay.cassette import Cassette, Outcome, RunContext
from replay.config import ConfigError
from replay.errors import EntrypointError
from replay.golden import run_golden
from replay.scenarios import (
    Scenario,
    ScenarioError,
    check_scenario,
    new_scenario,
    save_scenario,
    scenario_from_dict,
)
from tests.cli.conftest import assert_one_error_line, cli
from tests.security.conftest import INCIDENT, REPO, assert_own_error

DANGEROUS = {
    "os:system": "{marker}",
    "subprocess:run": "{marker}",
    "builtins:exec": "open({marker!r}, 'w').close()",
    "shutil:rmtree": "{folder}",
}


def with_entrypoint(text: str, entrypoint: str, input: str) -> str:
    """The incident cassette, its entrypoint and input replaced."""
    start, end = text.index("  entrypoint: "), text.index("  recorded_at: ")
    return text[:start] + f"  entrypoint: {entrypoint}\n  input: {json.dumps(input)}\n" + text[end:]


@pytest.fixture
def victim(tmp_path: Path) -> dict[str, Path]:
    """A folder rmtree would delete, and the file a shell command would create."""
    folder = tmp_path / "keep-me"
    folder.mkdir()
    (folder / "data.txt").write_text("precious")
    return {"folder": folder, "marker": tmp_path / "pwned"}


def hostile(tmp_path: Path, entrypoint: str, victim: dict[str, Path]) -> Path:
    payload = DANGEROUS[entrypoint].format(
        marker=str(victim["marker"]), folder=str(victim["folder"])
    )
    if entrypoint == "os:system":
        payload = f"touch {victim['marker']}"
    path = tmp_path / "hostile.yaml"
    path.write_text(
        with_entrypoint(INCIDENT.read_text(encoding="utf-8"), entrypoint, payload),
        encoding="utf-8",
    )
    return path


def assert_untouched(victim: dict[str, Path]) -> None:
    assert not victim["marker"].exists()
    assert (victim["folder"] / "data.txt").read_text() == "precious"


@pytest.mark.parametrize("entrypoint", list(DANGEROUS))
def test_replay_refuses_a_standard_library_entrypoint(tmp_path, victim, entrypoint):
    path = hostile(tmp_path, entrypoint, victim)
    with pytest.raises(EntrypointError) as caught:
        replay.replay(path)
    assert_own_error(
        caught.value,
        str(path),
        f"refusing to run entrypoint '{entrypoint}'",
        f"--agent {entrypoint}",
        "[tool.replay] agents",
    )
    assert_untouched(victim)


def test_an_installed_package_is_refused_too(tmp_path, victim):
    path = tmp_path / "c.yaml"
    path.write_text(
        with_entrypoint(INCIDENT.read_text(encoding="utf-8"), "yaml:safe_load", "a: 1"),
        encoding="utf-8",
    )
    with pytest.raises(EntrypointError, match=r"'yaml' is an installed package"):
        replay.replay(path)


@pytest.mark.parametrize("entrypoint", ["os:system", "shutil:rmtree"])
def test_replay_run_refuses_in_one_line(tmp_path, victim, entrypoint):
    path = hostile(tmp_path, entrypoint, victim)
    result = cli("run", path)
    assert_one_error_line(result, f"refusing to run entrypoint '{entrypoint}'", "--agent")
    assert_untouched(victim)


def test_replay_golden_refuses_each_hostile_run(tmp_path, victim):
    folder = tmp_path / "golden"
    folder.mkdir()
    for entrypoint in DANGEROUS:
        path = hostile(tmp_path, entrypoint, victim)
        path.rename(folder / f"{entrypoint.replace(':', '-')}.yaml")
    report = run_golden([folder], repeat=1)
    reasons = {record.key: record.reason for record in report.errors}
    assert set(reasons) == {f"{e.replace(':', '-')}.yaml" for e in DANGEROUS}
    assert all("refusing to run entrypoint" in reason for reason in reasons.values())
    assert_untouched(victim)


def test_the_bundled_example_replays_as_before():
    result = replay.replay(INCIDENT)
    assert result.agent == "examples.support_agent.agent:run"
    assert result.outcome.stop_reason == "tool_error"


# -- the user's own code, decided without running it ---------------------------------


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty project (pyproject.toml) as the working folder, importable."""
    root = tmp_path / "project"
    root.mkdir()
    (root / "pyproject.toml").write_text('[project]\nname = "shop"\nversion = "0"\n')
    monkeypatch.chdir(root)
    monkeypatch.syspath_prepend(str(root))
    return root


def unique(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:8]}"


def cassette_for(folder: Path, entrypoint: str) -> Path:
    cassette = Cassette(
        context=RunContext(run_id="run_1", trace_id="t" * 32, entrypoint=entrypoint),
        steps=(),
        outcome=Outcome("completed", output="answered"),
    )
    return replay.save_cassette(cassette, folder / f"{uuid.uuid4().hex[:6]}.yaml")


def test_an_installed_package_is_refused_without_being_imported(tmp_path, project, monkeypatch):
    """An installed package (a ``site-packages`` folder on the import path): refused
    before its ``__init__`` runs; allowed once listed in ``[tool.replay] agents``."""
    elsewhere = tmp_path / "env" / "lib" / "site-packages"
    package = unique("installed_pkg")
    (elsewhere / package).mkdir(parents=True)
    ran = tmp_path / "package-code-ran"
    (elsewhere / package / "__init__.py").write_text(f"open({str(ran)!r}, 'w').close()\n")
    (elsewhere / package / "agent.py").write_text("def run():\n    return 'answered'\n")
    monkeypatch.syspath_prepend(str(elsewhere))
    path = cassette_for(project, f"{package}.agent:run")

    with pytest.raises(EntrypointError) as caught:
        replay.replay(path)
    assert_own_error(caught.value, f"package '{package}' of module", "an installed package")
    assert not ran.exists()
    assert package not in sys.modules

    (project / "pyproject.toml").write_text(
        f'[project]\nname = "shop"\nversion = "0"\n\n[tool.replay]\nagents = ["{package}"]\n'
    )
    assert replay.replay(path).outcome.output == "answered"
    assert ran.exists()


def test_only_a_plain_function_of_the_users_own_code(project):
    module = unique("own_agent")
    (project / f"{module}.py").write_text(
        "import functools\nimport os\nfrom shutil import rmtree\n\n"
        "def traced(fn):\n"
        "    @functools.wraps(fn)\n"
        "    def wrapper(*args, **kwargs):\n"
        "        return fn(*args, **kwargs)\n"
        "    return wrapper\n\n"
        "@traced\ndef run():\n    return 'answered'\n\n"
        "class Agent:\n    def __call__(self):\n        return 'answered'\n\n"
        "agent = Agent()\n"
    )
    assert replay.replay(cassette_for(project, f"{module}:run")).outcome.output == "answered"
    refused = {
        "Agent": "it is a class, not a plain function",
        "agent": "it is a Agent object, not a plain function",
        "os.system": "it is a built-in, not a plain function",
        "rmtree": "the function is defined in code that is part of Python's standard library",
        "os": "is not callable",
    }
    for attribute, reason in refused.items():
        with pytest.raises(EntrypointError) as caught:
            replay.replay(cassette_for(project, f"{module}:{attribute}"))
        assert_own_error(caught.value, reason)


def test_a_name_the_user_gives_is_not_checked(project):
    """``agent=`` (and ``--agent``) is the user's own choice, e.g. a callable class."""
    module = unique("own_agent")
    (project / f"{module}.py").write_text(
        "class Agent:\n    def __call__(self):\n        return 'answered'\n\nagent = Agent()\n"
    )
    path = cassette_for(project, "os:system")
    assert replay.replay(path, agent=f"{module}:agent").outcome.output == "answered"


def test_the_agents_setting_must_be_a_list_of_modules(project):
    (project / "pyproject.toml").write_text('[tool.replay]\nagents = "../evil"\n')
    with pytest.raises(ConfigError, match=r"agents must be a list of module names"):
        replay.replay(cassette_for(project, "x:run"))


# -- scenarios -------------------------------------------------------------------------


def failing_cassette(folder: Path, entrypoint: str, input: str) -> Path:
    text = with_entrypoint(INCIDENT.read_text(encoding="utf-8"), entrypoint, input)
    path = folder / "cassettes" / "incident.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def scenario_for(root: Path, cassette: Path, agent: str | None = None) -> Scenario:
    loaded = replay.load_cassette(cassette)
    scenario = new_scenario(
        loaded,
        cassette_path=str(cassette.relative_to(root)),
        scenario_id="incident",
        agent=agent,
    )
    path = save_scenario(scenario, root / "scenarios" / "incident.yaml")
    return scenario.__class__(**{**scenario.__dict__, "path": path})


def test_a_scenario_replays_only_the_users_code(project, victim):
    cassette = failing_cassette(project, "os:system", f"touch {victim['marker']}")
    scenario = scenario_for(project, cassette)
    with pytest.raises(EntrypointError, match="refusing to run entrypoint 'os:system'"):
        check_scenario(scenario, root=project, repeats=1)
    by_agent = scenario_for(project, failing_cassette(project, "x:run", "q"), agent="os:system")
    with pytest.raises(EntrypointError) as caught:
        check_scenario(by_agent, root=project, repeats=1)
    assert_own_error(caught.value, "scenarios/incident.yaml", "'os:system'")
    assert_untouched(victim)


def test_a_scenario_cassette_must_stay_inside_the_project(project, tmp_path):
    data = {
        "version": 1,
        "id": "x",
        "cassette": "../../../etc/passwd",
        "status": "open",
        "failure": {"stop_reason": "exception"},
    }
    with pytest.raises(ScenarioError) as caught:
        scenario_from_dict(data, path="scenarios/x.yaml")
    assert_own_error(caught.value, "field 'cassette'", "leads out of the project")
    with pytest.raises(ScenarioError, match="leads out of the project"):
        scenario_from_dict({**data, "cassette": "cassettes/../../secret.yaml"})

    outside = tmp_path / "outside.yaml"
    shutil.copyfile(INCIDENT, outside)
    (project / "cassettes").mkdir()
    (project / "cassettes" / "link.yaml").symlink_to(outside)
    linked = scenario_from_dict({**data, "cassette": "cassettes/link.yaml"})
    with pytest.raises(ScenarioError, match=r"resolves to .*outside\.yaml, outside the project"):
        check_scenario(linked, root=project, repeats=1)


def test_the_bundled_scenarios_keep_their_agents():
    """The bundled example's scenarios name its own modules: allowed as before."""
    from replay.engine import import_recorded_entrypoint
    from replay.scenarios import load_all

    for scenario in load_all(root=REPO):
        if scenario.agent:
            assert callable(import_recorded_entrypoint(scenario.agent, source=scenario.path))
