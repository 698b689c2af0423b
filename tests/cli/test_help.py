"""``--help``, ``--version``, the console script and a cheap start (the commands' lazy
registration: test_lazy_commands.py)."""

from __future__ import annotations

import json
import re
import shlex

import pytest
import typer

import replay
from replay.cli import app
from tests.cli.conftest import REPO, assert_fits, cli
from tests.process import run_python

COMMANDS = ["record", "inspect", "run", "diff", "import", "migrate", "bisect"]


# The root help's command table, in order, with each command's summary.
SUMMARIES = {
    "record": "Run an agent live and record every tool, model and clock call into a cassette.",
    "inspect": "Triage a recorded run (or OpenTelemetry traces): first error, slowest span, "
    "repeated tools, hypotheses.",
    "run": "Replay the current code against a cassette and say what that proves.",
    "diff": "Compare two recorded runs step by step, e.g. one workflow on two releases.",
    "import": "Import traced runs (OpenTelemetry, OTLP/JSON) as cassettes for triage and "
    "replay.",
    "migrate": "Rewrite cassettes in the current format version (2), in place and atomically.",
    "bisect": "Find the first commit where replaying CASSETTE gives the --expect verdict.",
    "scenario": "Keep reproduced incidents as regression tests that gate merges "
    "(scenarios/*.yaml).",
    "golden": "Replay the golden set against this build and report the release diff.",
    "report": "Write an HTML report: a run, a replay verdict or a release, in one file.",
}
EXAMPLE_HEADINGS = ("Example:", "Examples:", "Example session:")


def box_rows(text: str, title: str) -> list[str]:
    """The rows of the rich panel titled ``title``, without its border."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"╭─ {title} "))
    rows = []
    for line in lines[start + 1 :]:
        if line.startswith("╰"):
            return rows
        assert line.startswith("│ ") and line.rstrip().endswith("│"), line
        rows.append(line.rstrip()[2:-1].rstrip())
    raise AssertionError(f"panel {title!r} is not closed")


def table(rows: list[str]) -> dict[str, str]:
    """``name  text`` rows (text wrapped onto indented rows) as {name: text}."""
    entries: dict[str, list[str]] = {}
    for row in rows:
        if row.startswith(" "):
            entries[list(entries)[-1]].append(row.strip())
        else:
            name, text = row.split(maxsplit=1)
            entries[name] = [text.strip()]
    return {name: " ".join(parts) for name, parts in entries.items()}


def examples(text: str) -> list[list[str]]:
    """The example commands of a help page as argument lists; every line of the example
    block must be a command or the continuation of one ending in a backslash, so that it
    pastes back into a shell."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip() in EXAMPLE_HEADINGS)
    commands: list[list[str]] = []
    pending: str | None = None
    for line in lines[start + 1 :]:
        stripped = line.strip()
        if line.startswith("╭"):
            break
        if not stripped:
            assert pending is None, f"an example ends on a backslash: {pending!r}"
            continue
        if pending is None:
            assert stripped.startswith("replay "), f"not a command nor a continuation: {line!r}"
            pending = stripped
        else:
            pending += " " + stripped
        if pending.endswith("\\"):
            pending = pending[:-1].rstrip()
        else:
            commands.append(shlex.split(pending))
            pending = None
    assert pending is None and commands, text
    return commands


def options_of(command: str) -> set[str]:
    click_command = typer.main.get_command(app).commands[command]
    return {
        opt
        for param in click_command.params
        for opt in (*param.opts, *param.secondary_opts)
        if opt.startswith("-")
    }


def assert_examples_are_real(text: str, command: str | None = None) -> None:
    """Each example runs a real command with options that command has."""
    for argv in examples(text):
        assert argv[0] == "replay" and argv[1] in COMMANDS, argv
        assert command in (None, argv[1]), argv
        unknown = {a.split("=")[0] for a in argv[2:] if a.startswith("-")} - options_of(argv[1])
        assert not unknown, f"{' '.join(argv)}: no such option {sorted(unknown)}"


def test_root_help_lists_the_commands_and_an_example():
    result = cli("--help")
    assert result.code == 0, result
    assert result.stdout.splitlines()[1].strip() == "Usage: replay [OPTIONS] COMMAND [ARGS]..."
    assert table(box_rows(result.stdout, "Commands")) == SUMMARIES
    assert set(table(box_rows(result.stdout, "Options"))) == {"--version", "--debug", "--help"}
    assert [argv[:2] for argv in examples(result.stdout)] == [
        ["replay", "record"],
        ["replay", "inspect"],
        ["replay", "run"],
    ]
    assert_examples_are_real(result.stdout)
    assert_fits(result.stdout)


def test_no_arguments_prints_the_help():
    result = cli()
    assert result.code == 0, result
    assert result.stdout == cli("--help").stdout


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help_with_an_example_that_fits_80_columns(command):
    result = cli(command, "--help")
    assert result.code == 0, result
    usage = result.stdout.splitlines()[1].strip()
    assert usage.startswith(f"Usage: replay {command} [OPTIONS] "), result
    assert_examples_are_real(result.stdout, command)
    rows = box_rows(result.stdout, "Options")
    listed = {match[1] for row in rows if (match := re.match(r"(?:\*)?\s*(--[\w-]+)", row))}
    assert {"--json", "--debug", "--help"} <= listed
    assert listed == {opt for opt in options_of(command) if opt.startswith("--")} | {"--help"}
    text = " ".join(" ".join(rows).split())
    assert "--json <bool> Print one JSON object on stdout instead of the human report." in text
    assert "--debug <bool> On an error, show the full traceback too." in text
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
    proc = run_python("-c", PROBE, *args, cwd=REPO)
    line = next(line for line in proc.stderr.splitlines() if line.startswith("HEAVY="))
    assert line == "HEAVY=", proc.stderr


def test_json_flag_output_is_exactly_one_object(cassettes):
    for args in (
        ["inspect", cassettes.ok],
        ["run", cassettes.ok],
        ["diff", cassettes.ok, cassettes.ok],
    ):
        result = cli(*args, "--json")
        assert isinstance(json.loads(result.stdout), dict), result
