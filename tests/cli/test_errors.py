"""What the user gets when the command cannot do its job: one line, exit 3, no traceback
(``--debug`` shows it); click's usage errors exit 3 too."""

from __future__ import annotations

import pytest

from tests.cli.conftest import assert_one_error_line, cli

COMMANDS = [
    ("inspect",),
    ("run",),
    ("diff", "{other}"),
]


@pytest.fixture
def broken(cassettes, tmp_path):
    """Cassettes that cannot be read: missing, another version, malformed YAML."""
    version_99 = tmp_path / "v99.yaml"
    version_99.write_text(
        cassettes.ok.read_text(encoding="utf-8").replace("version: 2", "version: 99", 1),
        encoding="utf-8",
    )
    malformed = tmp_path / "malformed.yaml"
    malformed.write_text("version: 1\nrun: [unclosed\nsteps: []\n", encoding="utf-8")
    return {
        "missing": (tmp_path / "missing.yaml", "no such cassette file"),
        "version": (version_99, "cassette format version 99 is not supported"),
        "malformed": (malformed, "malformed YAML at line"),
    }


@pytest.mark.parametrize("case", ["missing", "version", "malformed"])
@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c[0])
def test_an_unreadable_cassette_is_one_line_and_exit_3(cassettes, broken, case, command):
    path, message = broken[case]
    args = [command[0], path, *(str(cassettes.ok) for _ in command[1:])]
    result = cli(*args)
    assert_one_error_line(result, str(path), message)
    assert result.stdout == ""


def test_an_agent_that_cannot_be_imported_is_one_line_and_exit_3(cassettes):
    result = cli("run", cassettes.ok, "--agent", "tests.agents.no_such_fix:run")
    assert_one_error_line(result, "cannot import module 'tests.agents.no_such_fix'")
    missing_function = cli("run", cassettes.ok, "--agent", "tests.agents.cli_support:nope")
    assert_one_error_line(missing_function, "has no attribute 'nope'")


@pytest.mark.parametrize(
    "args",
    [
        ("--debug", "inspect", "{missing}"),
        ("inspect", "{missing}", "--debug"),
    ],
    ids=["global", "per-command"],
)
def test_debug_shows_the_traceback(tmp_path, args):
    missing = str(tmp_path / "missing.yaml")
    result = cli(*(a.replace("{missing}", missing) for a in args))
    assert result.code == 3, result
    assert "Traceback (most recent call last)" in result.stderr
    assert "CassetteError" in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("replay: error: ")


def test_replay_debug_environment_variable_shows_the_traceback(tmp_path):
    result = cli("inspect", tmp_path / "missing.yaml", env={"REPLAY_DEBUG": "1"})
    assert result.code == 3, result
    assert "Traceback (most recent call last)" in result.stderr


def test_with_json_the_error_is_also_a_json_object(tmp_path):
    result = cli("inspect", tmp_path / "missing.yaml", "--json")
    assert_one_error_line(result, "no such cassette file")
    data = result.json()
    assert data["exit_status"] == 3
    assert data["error"]["type"] == "CassetteError"


@pytest.mark.parametrize(
    "args",
    [
        ("run",),  # missing argument
        ("run", "x.yaml", "--no-such-option"),
        ("run", "x.yaml", "--repeat", "0"),
        ("no-such-command",),
        ("record", "tests.agents.cli_support:run"),  # -o is required
    ],
    ids=["missing-argument", "unknown-option", "bad-repeat", "unknown-command", "missing-output"],
)
def test_usage_errors_exit_3(args):
    result = cli(*args)
    assert result.code == 3, result
    assert "Error:" in result.stderr
    assert "Traceback" not in result.stderr


INTERNAL = (
    "replay: internal error: KeyError: 'broken' "
    "(a bug in agent-replay; please report it with the traceback above)"
)


@pytest.mark.parametrize("as_json", [False, True], ids=["text", "json"])
def test_a_bug_in_agent_replay_is_an_internal_error_with_its_traceback(tmp_path, as_json):
    """An exception that is no ``ReplayError`` (here: the YAML dumper, broken by the agent
    in ``tests/agents/cli_breaks_yaml.py``, fails while the cassette is saved) is a bug:
    exit 3, the traceback always shown, then one line saying so; nothing is written."""
    out = tmp_path / "runs" / "run.yaml"
    args = ["--json"] if as_json else []
    result = cli(
        "record",
        "tests.agents.cli_breaks_yaml:run",
        "--input",
        '{"question": "q"}',
        "-o",
        out,
        *args,
    )
    assert result.code == 3, result
    lines = result.stderr.strip().splitlines()
    assert lines[0] == "Traceback (most recent call last):", result
    assert lines[-2:] == ["KeyError: 'broken'", INTERNAL], result
    assert "in _broken_represent" in result.stderr, result
    if as_json:
        assert result.json() == {
            "error": {"type": "KeyError", "message": "'broken'"},
            "exit_status": 3,
        }
    else:
        assert result.stdout == ""
    assert not out.exists()
    assert not out.parent.exists() or list(out.parent.iterdir()) == []


def test_a_failing_redact_hook_is_one_line_and_writes_nothing(tmp_path):
    (tmp_path / "pyproject.toml").write_text(
        '[tool.replay]\nredact_hook = "vault_hook:scrub"\n', encoding="utf-8"
    )
    (tmp_path / "vault_hook.py").write_text(
        "def scrub(cassette):\n    raise KeyError('vault sealed')\n", encoding="utf-8"
    )
    (tmp_path / "tiny_agent.py").write_text(
        "def run(question):\n    return 'answer to ' + question\n", encoding="utf-8"
    )
    result = cli(
        "record",
        "tiny_agent:run",
        "--input",
        '{"question": "q"}',
        "-o",
        "run.yaml",
        cwd=tmp_path,
    )
    assert_one_error_line(result, "redact_hook 'vault_hook:scrub' raised KeyError", "fix the hook")
    assert not (tmp_path / "run.yaml").exists()
