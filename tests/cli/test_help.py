"""``--help``, ``--version``, the console script, a cheap start, and sub-app registration."""

from __future__ import annotations

import json

import pytest
import typer

import replay
from replay.cli import register_sub_apps
from replay.cli.common import ReplayGroup
from tests.cli.conftest import REPO, assert_fits, cli
from tests.process import run_python

COMMANDS = ["record", "inspect", "run", "diff"]


def test_root_help_lists_the_commands_and_an_example():
    result = cli("--help")
    assert result.code == 0, result
    for command in COMMANDS:
        assert command in result.stdout
    assert "Example" in result.stdout
    assert_fits(result.stdout)


def test_no_arguments_prints_the_help():
    result = cli()
    assert result.code == 0, result
    assert "Usage: replay" in result.stdout


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help_with_an_example_that_fits_80_columns(command):
    result = cli(command, "--help")
    assert result.code == 0, result
    assert "Example" in result.stdout
    assert f"replay {command} " in result.stdout
    for option in ("--json", "--debug"):
        assert option in result.stdout
    assert_fits(result.stdout)


def test_version_from_the_module_and_the_console_script():
    assert cli("--version").stdout.strip() == f"replay (agent-replay) {replay.__version__}"
    script = cli("--version", script=True)
    assert script.code == 0, script
    assert replay.__version__ in script.stdout


HEAVY = ("vcr", "deepdiff", "httpx2", "httpx", "openai", "anthropic")
PROBE = f"""
import sys
from replay.cli import main
try:
    main(sys.argv[1:])
except SystemExit:
    pass
heavy = sorted({{m.split(".")[0] for m in sys.modules}} & set({HEAVY!r}))
sys.stderr.write("HEAVY=" + ",".join(heavy) + "\\n")
"""


@pytest.mark.parametrize("args", [["--help"], ["run", "--help"], ["--version"]])
def test_help_does_not_import_vcrpy_deepdiff_httpx2_or_the_sdks(args, tmp_path):
    proc = run_python("-c", PROBE, *args, cwd=REPO, timeout=60)
    line = next(line for line in proc.stderr.splitlines() if line.startswith("HEAVY="))
    assert line == "HEAVY=", proc.stderr


def test_sub_apps_register_when_present_and_report_when_broken(tmp_path, monkeypatch, capsys):
    (tmp_path / "cli_probe_good.py").write_text(
        "import typer\n"
        "app = typer.Typer(help='A good sub-app.')\n"
        "@app.command()\n"
        "def hello() -> None:\n"
        "    print('hello from the sub-app')\n",
        encoding="utf-8",
    )
    (tmp_path / "cli_probe_broken.py").write_text(
        "raise ImportError('half-written module')\n", encoding="utf-8"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    target = typer.Typer(cls=ReplayGroup)

    @target.command()
    def ping() -> None:
        """A command so that the group has one of its own."""

    register_sub_apps(
        target,
        [
            ("good", "cli_probe_good", "fallback"),
            ("broken", "cli_probe_broken", "Broken sub-app."),
            ("absent", "cli_probe_absent", "never registered"),
        ],
    )
    group = typer.main.get_command(target)
    assert {"ping", "good", "broken"} <= set(group.commands)
    assert "absent" not in group.commands
    assert group.main(["good", "hello"], standalone_mode=False) is None
    assert "hello from the sub-app" in capsys.readouterr().out
    assert group.main(["broken", "--anything"], standalone_mode=False) == 3
    error = capsys.readouterr().err
    assert "'replay broken' is unavailable" in error
    assert "half-written module" in error


def test_json_flag_output_is_exactly_one_object(cassettes):
    for args in (
        ["inspect", cassettes.ok],
        ["run", cassettes.ok],
        ["diff", cassettes.ok, cassettes.ok],
    ):
        result = cli(*args, "--json")
        assert isinstance(json.loads(result.stdout), dict), result
