"""The root group imports a command's module only when that command runs
(``replay.cli.lazy_commands``): ``replay --help`` lists every command from its summary,
and each summary is the command's own."""

from __future__ import annotations

import inspect
import json
import sys

import pytest
import typer

from replay.cli import COMMANDS, app
from replay.cli.lazy_commands import CommandEntry, LazyGroup
from tests.cli.conftest import REPO
from tests.process import run_python

INCIDENT = REPO / "cassettes" / "incidents" / "run_9fd2.yaml"

PROBE = """
import json, sys
from replay.cli import main
try:
    main(sys.argv[1:])
except SystemExit as exit:
    code = exit.code
prefixes = ("replay.cli.", "replay.golden", "replay.report", "replay.otel.read", "pydantic")
loaded = sorted(m for m in sys.modules if m.startswith(prefixes))
sys.stderr.write("PROBE=" + json.dumps({"code": code, "loaded": loaded}) + "\\n")
"""
CLI_PLUMBING = ["replay.cli.coercion", "replay.cli.common", "replay.cli.lazy_commands",
                "replay.cli.lazy_rich"]


def probe(*args: str) -> dict:
    done = run_python("-c", PROBE, *args, cwd=REPO)
    line = next(line for line in done.stderr.splitlines() if line.startswith("PROBE="))
    return json.loads(line.removeprefix("PROBE="))


def first_paragraph(help_text: str | None) -> str:
    """What the root help lists of a command (typer's rich help: its first paragraph)."""
    return inspect.cleandoc(help_text or "").split("\n\n")[0].strip()


@pytest.mark.parametrize("entry", COMMANDS, ids=lambda entry: entry.name)
def test_each_summary_is_the_first_paragraph_of_the_commands_own_help(entry):
    command = typer.main.get_command(app).commands[entry.name]
    assert command.name == entry.name
    assert "unavailable" not in (command.help or ""), command.help
    assert first_paragraph(command.help) == entry.summary


def test_the_root_lists_the_commands_in_order_without_building_them():
    group = typer.main.get_command(app)
    ctx = typer.Context(group, info_name="replay")
    assert group.list_commands(ctx) == [entry.name for entry in COMMANDS]
    listed = group.get_command(ctx, "inspect")
    assert listed.help == COMMANDS[1].summary and not listed.params  # the stand-in
    built = group.commands["inspect"]
    assert {param.name for param in built.params} >= {"cassettes", "steps"}
    assert group.get_command(ctx, "inspect") is built


def test_root_help_imports_no_command_module():
    assert probe("--help") == {"code": 0, "loaded": CLI_PLUMBING}


def test_a_command_imports_its_own_module_only():
    report = probe("inspect", str(INCIDENT))
    assert report["code"] == 0, report
    assert report["loaded"] == sorted(
        [*CLI_PLUMBING, "replay.cli.inspection", "replay.cli.render", "replay.cli.traces"]
    )


def test_a_commands_help_imports_its_module(tmp_path):
    report = probe("migrate", "--help")
    assert report == {"code": 0, "loaded": sorted([*CLI_PLUMBING, "replay.cli.migrate"])}


def test_entries_register_when_present_and_report_when_broken(tmp_path, monkeypatch, capsys):
    (tmp_path / "cli_probe_good.py").write_text(
        "import typer\n"
        "app = typer.Typer(help='A good sub-app.')\n"
        "@app.command()\n"
        "def hello() -> None:\n"
        "    print('hello from the sub-app')\n"
        "def shout(word: str, times: int = 1) -> None:\n"
        "    '''Say WORD loudly.'''\n"
        "    print(word.upper() * times)\n",
        encoding="utf-8",
    )
    (tmp_path / "cli_probe_broken.py").write_text(
        "raise ImportError('half-written module')\n", encoding="utf-8"
    )
    monkeypatch.syspath_prepend(str(tmp_path))

    class ProbeGroup(LazyGroup):
        entries = (
            CommandEntry("good", "cli_probe_good", "app", "A good sub-app."),
            CommandEntry("shout", "cli_probe_good", "shout", "Say WORD loudly."),
            CommandEntry("broken", "cli_probe_broken", "app", "Broken sub-app."),
            CommandEntry("absent", "cli_probe_absent", "app", "never registered"),
        )

    target = typer.Typer(cls=ProbeGroup)

    @target.callback()
    def probe_root() -> None:
        """The group's own options (none)."""

    @target.command()
    def ping() -> None:
        """A command so that the group has one of its own."""

    group = typer.main.get_command(target)
    assert list(group.commands) == ["ping", "good", "shout", "broken"]
    assert "absent" not in group.commands
    assert "cli_probe_good" not in sys.modules  # listed, not imported
    assert group.main(["good", "hello"], standalone_mode=False) is None
    assert "hello from the sub-app" in capsys.readouterr().out
    assert group.main(["shout", "hi", "--times", "2"], standalone_mode=False) is None
    assert "HIHI" in capsys.readouterr().out
    assert group.main(["broken", "--anything"], standalone_mode=False) == 3
    error = capsys.readouterr().err
    assert "'replay broken' is unavailable" in error
    assert "half-written module" in error
