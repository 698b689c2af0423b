"""Parameter values convert without pydantic (``replay.cli.coercion``), exactly as typer's
own coercion converts them, and a bad value is still typer's one-line usage error."""

from __future__ import annotations

import enum
from collections.abc import Iterator
from pathlib import Path
from typing import Any, get_args, get_origin

import pytest
import typer
from typer._click.exceptions import BadParameter
from typer._coercion import build_runtime_param
from typer.core import _TyperParameter

from replay.cli import COMMANDS, app
from replay.cli.coercion import FastCoercion, _converter
from tests.cli.conftest import REPO, cli

INCIDENT = REPO / "cassettes" / "incidents" / "run_9fd2.yaml"


def commands() -> Iterator[tuple[str, Any]]:
    """``(path, command)`` of the root, every command and every sub-app's commands."""
    root = typer.main.get_command(app)
    yield "replay", root
    for entry in COMMANDS:
        command = root.commands[entry.name]
        yield entry.name, command
        for name, sub_command in getattr(command, "commands", {}).items():
            yield f"{entry.name} {name}", sub_command


def parameters() -> Iterator[tuple[str, Any, Any]]:
    """``(id, context, parameter)`` of every parameter, ``--help`` included."""
    for path, command in commands():
        ctx = typer.Context(command, info_name=path)
        for param in command.get_params(ctx):
            yield f"{path} {param.name}", ctx, param


PARAMETERS = list(parameters())


def samples(param: Any) -> list[Any]:
    """Values of the parameter's type as a command line, an environment variable or a
    default gives them: valid, edge and invalid ones."""
    annotation = param.type_descriptor.annotation
    multiple = param.multiple or param.nargs == -1
    if get_origin(annotation) is list:
        (annotation,) = get_args(annotation)
    if annotation is bool:
        leaf: list[Any] = [True, False, "true", "no", ""]
    elif annotation is str:
        leaf = ["x", "", "  spaced out ", "ü ñ", "--looks-like-an-option"]
    elif annotation is int:
        leaf = [40, 1, "40", "007", "1", "0", "-3", "+5", " 5", "1_0", "5.0", "abc", "", "٣",
                "9" * 30, 2.0, True]
    elif annotation is Path:
        leaf = [str(INCIDENT), str(INCIDENT.parent), "no/such/file.yaml", "", "./x//y/",
                Path("cassettes"), 3]
    elif isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        members = list(annotation)
        leaf = [m.value for m in members] + [m.value.upper() for m in members]
        leaf += [members[0], "bogus", ""]
    else:
        raise AssertionError(f"a parameter type the test does not cover: {annotation!r}")
    values: list[Any] = [None]
    if multiple:
        values += [(), tuple(leaf[:2]), list(leaf), (leaf[-1],), "a string"]
    else:
        values += leaf
    return values


def outcome(coerce: Any, value: Any, param: Any, ctx: Any) -> tuple[str, Any]:
    try:
        result = coerce(value, param=param, ctx=ctx)
    except BadParameter as exc:
        return "error", exc.format_message()
    return "value", (type(result), result)


@pytest.mark.parametrize(("ctx", "param"), [p[1:] for p in PARAMETERS],
                         ids=[p[0] for p in PARAMETERS])
def test_the_fast_path_applies_to_every_parameter(ctx, param):
    """A typer whose private parts differ fails here, not silently slower."""
    assert isinstance(param, _TyperParameter)
    assert isinstance(param._runtime_param, FastCoercion), param
    assert param.get_runtime_param() is param._runtime_param


@pytest.mark.parametrize(("ctx", "param"), [p[1:] for p in PARAMETERS],
                         ids=[p[0] for p in PARAMETERS])
def test_values_convert_as_typers_own_coercion_converts_them(ctx, param):
    fast = param._runtime_param
    typers = build_runtime_param(param.type_descriptor)
    for value in samples(param):
        assert outcome(fast.coerce, value, param, ctx) == outcome(
            typers.coerce, value, param, ctx
        ), value


def valid(param: Any) -> list[Any]:
    """Values a user gives every day: none of them needs typer's own coercion."""
    annotation = param.type_descriptor.annotation
    if get_origin(annotation) is list:
        (annotation,) = get_args(annotation)
    leaf: list[Any] = {
        bool: [True, False],
        str: ["x", ""],
        int: [40, "40", "007"],
        Path: [str(INCIDENT), "no/such/file.yaml", Path("cassettes")],
    }.get(annotation, [])
    if not leaf:  # an enum
        first = next(iter(annotation))
        leaf = [first, first.value]
        if not param.type_descriptor.case_sensitive:
            leaf.append(first.value.upper())
    if param.multiple or param.nargs == -1:
        return [None, (), tuple(leaf)]
    return [None, *leaf]


@pytest.mark.parametrize(("ctx", "param"), [p[1:] for p in PARAMETERS],
                         ids=[p[0] for p in PARAMETERS])
def test_valid_values_convert_without_typers_own_coercion(ctx, param):
    fast = FastCoercion(param, _converter(param))
    for value in valid(param):
        fast.coerce(value, param=param, ctx=ctx)
    assert fast._typers is None


@pytest.mark.parametrize(
    ("args", "option"),
    [
        (["inspect", "--steps", "abc", INCIDENT], "--steps"),
        (["inspect", "--steps", "0", INCIDENT], "--steps"),
        (["run", INCIDENT, "--on-miss", "bogus"], "--on-miss"),
    ],
    ids=["not-an-integer", "below-the-minimum", "not-a-choice"],
)
def test_a_bad_option_value_is_one_usage_error_line_and_exit_3(args, option):
    result = cli(*args)
    assert result.code == 3, result
    assert result.stdout == "", result
    assert "Traceback" not in result.stderr, result
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1, result
    assert errors[0].startswith(f"Error: Invalid value for '{option}': "), result
    assert result.stderr.startswith(f"Usage: replay {args[0]} [OPTIONS]"), result
