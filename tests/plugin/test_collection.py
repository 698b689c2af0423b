"""Which scenario files pytest collects, how they are named, and how bad ones are reported.

Collection never imports the agent, so these run pytest in-process.
"""

from __future__ import annotations

import pytest

from tests.plugin.project import write_pyproject

pytest_plugins = ("pytester",)

SCENARIO = """\
version: 1
id: {id}
cassette: cassettes/incidents/{id}.yaml
status: open
failure:
  stop_reason: exception
  error_class: builtins.TimeoutError
  failing_step: {{index: 1, kind: tool, name: lookup_order}}
"""


def write(pytester: pytest.Pytester, relative: str, text: str) -> None:
    path = pytester.path / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def scenario(pytester: pytest.Pytester, folder: str, sid: str) -> None:
    write(pytester, f"{folder}/{sid}.yaml", SCENARIO.format(id=sid))


@pytest.fixture
def shop(pytester: pytest.Pytester) -> pytest.Pytester:
    """A project whose testpaths is tests/, with one test and one scenario."""
    write_pyproject(pytester.path)
    write(pytester, "tests/test_smoke.py", "def test_smoke():\n    pass\n")
    scenario(pytester, "scenarios", "order-timeout")
    return pytester


def collected(result: pytest.RunResult) -> list[str]:
    return [line for line in result.outlines if "::" in line]


def test_each_scenario_file_is_one_test_named_by_its_id(shop: pytest.Pytester) -> None:
    scenario(shop, "scenarios/billing", "double-charge")
    result = shop.runpytest("--collect-only", "-q")
    assert collected(result) == [
        "tests/test_smoke.py::test_smoke",
        "scenarios/billing/double-charge.yaml::double-charge",
        "scenarios/order-timeout.yaml::order-timeout",
    ]


def test_a_plain_pytest_collects_scenarios_outside_testpaths_but_explicit_paths_win(
    shop: pytest.Pytester,
) -> None:
    assert "scenarios/order-timeout.yaml::order-timeout" in collected(
        shop.runpytest("--collect-only", "-q")
    )
    assert collected(shop.runpytest("tests", "--collect-only", "-q")) == [
        "tests/test_smoke.py::test_smoke"
    ]
    assert collected(shop.runpytest("scenarios", "--collect-only", "-q")) == [
        "scenarios/order-timeout.yaml::order-timeout"
    ]


def test_other_yaml_files_are_not_collected(shop: pytest.Pytester) -> None:
    write(shop, "cassettes/incidents/order-timeout.yaml", "version: 1\n")
    write(shop, "tests/data/config.yaml", "key: value\n")
    result = shop.runpytest(".", "--collect-only", "-q")
    assert collected(result) == [
        "scenarios/order-timeout.yaml::order-timeout",
        "tests/test_smoke.py::test_smoke",
    ]


ARTILLERY = """\
config:
  target: https://shop.example
scenarios:
  - flow:
      - get: {url: /orders}
"""


def test_foreign_yaml_in_the_default_folder_is_left_alone(shop: pytest.Pytester) -> None:
    """Other tools keep YAML in scenarios/ too; only files with a cassette are ours."""
    write(shop, "scenarios/load-test.yaml", ARTILLERY)
    result = shop.runpytest("--collect-only", "-q")
    assert collected(result) == [
        "tests/test_smoke.py::test_smoke",
        "scenarios/order-timeout.yaml::order-timeout",
    ]
    assert result.ret == pytest.ExitCode.OK


def test_in_a_configured_folder_every_yaml_file_must_be_a_scenario(
    shop: pytest.Pytester,
) -> None:
    write_pyproject(shop.path, '\n[tool.replay]\nscenarios = ["scenarios"]')
    write(shop, "scenarios/load-test.yaml", ARTILLERY)
    result = shop.runpytest("--collect-only", "-q")
    result.stdout.fnmatch_lines(
        ["scenarios/load-test.yaml: field 'version': missing format version (add 'version: 1')"]
    )
    assert result.ret == pytest.ExitCode.INTERRUPTED


@pytest.mark.parametrize(
    ("pyproject", "ini", "option", "expected"),
    [
        pytest.param(None, None, None, "default-one", id="default-scenarios-folder"),
        pytest.param(["kept"], None, None, "kept-one", id="tool-replay-scenarios"),
        pytest.param(["kept"], "ini-kept", None, "ini-one", id="ini-beats-tool-replay"),
        pytest.param(["kept"], "ini-kept", "cli-kept", "cli-one", id="option-beats-ini"),
    ],
)
def test_scenario_folders_follow_their_precedence(
    pytester: pytest.Pytester,
    pyproject: list[str] | None,
    ini: str | None,
    option: str | None,
    expected: str,
) -> None:
    extra = f"replay_scenarios = [{ini!r}]\n" if ini else ""
    if pyproject is not None:
        extra += f"\n[tool.replay]\nscenarios = {pyproject!r}\n".replace("'", '"')
    write_pyproject(pytester.path, extra.replace("'", '"'))
    write(pytester, "tests/test_smoke.py", "def test_smoke():\n    pass\n")
    for folder, sid in (
        ("scenarios", "default-one"),
        ("kept", "kept-one"),
        ("ini-kept", "ini-one"),
        ("cli-kept", "cli-one"),
    ):
        scenario(pytester, folder, sid)
    args = ["--collect-only", "-q"] + ([f"--replay-scenarios={option}"] if option else [])
    scenarios = [line for line in collected(pytester.runpytest(*args)) if "yaml" in line]
    assert [line.split("::")[1] for line in scenarios] == [expected]


def test_the_header_names_the_mode_and_the_scenario_folders(shop: pytest.Pytester) -> None:
    result = shop.runpytest("--collect-only", "--replay-block-network")
    result.stdout.fnmatch_lines(["replay: mode replay, scenarios in scenarios, network blocked"])


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param(
            SCENARIO.format(id="x").replace("status: open", "status: closed"),
            "scenarios/x.yaml: field 'status': 'closed' is not one of open, fixed "
            "(write 'status: open' or 'status: fixed')",
            id="bad-status",
        ),
        pytest.param(
            SCENARIO.format(id="x").replace("status: open", "status: open\nowenr: me"),
            "scenarios/x.yaml: field 'owenr': unknown field (allowed: *) "
            "(fix the spelling or remove it)",
            id="unknown-field",
        ),
        pytest.param(
            SCENARIO.format(id="x").replace("version: 1\n", ""),
            "scenarios/x.yaml: field 'version': missing format version (add 'version: 1')",
            id="no-version",
        ),
        pytest.param(
            SCENARIO.format(id="x").replace("cassette: ", "cassette: /abs/"),
            "scenarios/x.yaml: field 'cassette': '/abs/cassettes/incidents/x.yaml' is an "
            "absolute path (write it relative to the project root*",
            id="absolute-cassette",
        ),
        pytest.param(
            SCENARIO.format(id="x").replace("kind: tool", "kind: robot"),
            "scenarios/x.yaml: field 'failure.failing_step.kind': 'robot' is not a step kind*",
            id="bad-step-kind",
        ),
        pytest.param(
            "version: 1\ncassette: c.yaml\nid: [x\n",
            "scenarios/x.yaml: malformed YAML at line 4, column 1: *",
            id="malformed-yaml",
        ),
        pytest.param(
            "cassette: !!python/object/apply:os.system ['echo pwned']\n",
            "*x.yaml: field 'cassette': could not determine a constructor*",
            id="unsafe-tag",
        ),
    ],
)
def test_an_invalid_scenario_is_a_collection_error_naming_file_field_and_fix(
    shop: pytest.Pytester, text: str, message: str
) -> None:
    write(shop, "scenarios/x.yaml", text)
    result = shop.runpytest()
    result.stdout.fnmatch_lines(["*ERROR collecting scenarios/x.yaml*", message])
    assert "Traceback" not in result.stdout.str()
    assert result.ret == pytest.ExitCode.INTERRUPTED


@pytest.mark.parametrize(
    ("args", "extra", "message"),
    [
        pytest.param(
            (),
            'replay_mode = "sometimes"',
            "*replay_mode = 'sometimes' is not one of replay, record, rewrite, none*",
            id="ini-mode",
        ),
        pytest.param(
            (),
            "\n[tool.replay]\nscenarios = 5",
            "*[[]tool.replay[]] scenarios must be a list of folders, found 5*",
            id="tool-replay-scenarios",
        ),
        pytest.param(
            ("--replay-repeats=0",),
            "",
            "*--replay-repeats must be at least 1, got 0*",
            id="repeats",
        ),
    ],
)
def test_bad_plugin_configuration_is_a_usage_error(
    pytester: pytest.Pytester, args: tuple[str, ...], extra: str, message: str
) -> None:
    write_pyproject(pytester.path, extra)
    result = pytester.runpytest(*args)
    result.stderr.fnmatch_lines([message])
    assert result.ret == pytest.ExitCode.USAGE_ERROR
