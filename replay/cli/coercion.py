"""Command-line values converted without pydantic, for the parameter types replay uses.

typer 0.29 converts every parameter value (even one not given) through a pydantic
``TypeAdapter`` it builds on first use (``typer.core._TyperParameter.get_runtime_param``):
importing pydantic and generating the schemas was about a third of ``replay inspect``.
``install(params)`` gives each parameter a ``FastCoercion`` instead; replay's command
classes (``ReplayGroup``, ``ReplayCommand`` in ``replay.cli.common``) call it on their
parameters, typer's ``--help`` option included. It converts what replay's commands take:
flags, strings, ASCII decimal integers within their bounds, paths (through typer's own
path checks), enum choices (typer's own matching) and lists of these. Anything else, an
invalid value included, goes to the coercion typer would have used, built then: results
and error messages stay typer's.

This reaches into typer's private parts: a parameter that lacks them keeps typer's own
coercion (slower, same behaviour). tests/cli/test_coercion.py fails loudly when the seam
stops applying, and checks its results against typer's own on valid and invalid values.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, get_args, get_origin

try:  # typer's private parts; without them every parameter keeps typer's coercion
    from typer._click.exceptions import BadParameter
    from typer._coercion import build_runtime_param
    from typer._param_types import coerce_cli_choice, coerce_cli_path, routes_to_path
    from typer.core import _TyperParameter
except ImportError:  # pragma: no cover - another typer
    _TyperParameter = None

_UNHANDLED = object()
"""A value the fast path leaves to typer."""
_MAX_DIGITS = 18

Convert = Callable[[Any, Any, Any], Any]
"""``(value, param, ctx)`` -> the converted value, or ``_UNHANDLED``."""


class FastCoercion:
    """In the place of typer's ``RuntimeParam`` for one parameter: ``coerce`` converts the
    simple cases itself and hands every other value to typer's own, built on first need
    (any other attribute typer asks for comes from typer's own too)."""

    def __init__(self, param: Any, convert: Convert) -> None:
        self._param = param
        self._convert = convert
        self._typers: Any = None

    def typers(self) -> Any:
        """typer's own runtime parameter (pydantic), built now if not yet."""
        if self._typers is None:
            self._typers = build_runtime_param(self._param.type_descriptor)
        return self._typers

    def coerce(self, value: Any, param: Any, ctx: Any) -> Any:
        multiple = param.multiple or param.nargs == -1
        if value is None:
            return () if multiple else None
        converted = _UNHANDLED
        if not multiple:
            converted = self._convert(value, param, ctx)
        elif isinstance(value, (list, tuple)):
            items = [self._convert(item, param, ctx) for item in value]
            if all(item is not _UNHANDLED for item in items):
                converted = items
        if converted is _UNHANDLED:
            return self.typers().coerce(value, param=param, ctx=ctx)
        return converted

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self.typers(), name)


def install(params: Iterable[Any]) -> None:
    """Give each parameter the fast coercion where it applies (again: no change)."""
    for param in params:
        if _applies(param):
            convert = _converter(param)
            if convert is not None:
                param._runtime_param = FastCoercion(param, convert)


def _applies(param: Any) -> bool:
    return (
        _TyperParameter is not None
        and isinstance(param, _TyperParameter)
        and "_runtime_param" in vars(param)
        and param._runtime_param is None
        and callable(getattr(type(param), "get_runtime_param", None))
        and hasattr(param, "type_descriptor")
    )


def _converter(param: Any) -> Convert | None:
    descriptor = param.type_descriptor
    info = descriptor.parameter_info
    annotation = descriptor.annotation
    if getattr(info, "parser", None) is not None or descriptor.file_annotation is not None:
        return None
    if get_origin(annotation) is list:
        (annotation,) = get_args(annotation)
    elif get_origin(annotation) is not None:
        return None
    if annotation is str:
        return _as_str
    if annotation is bool:
        return _as_bool
    if annotation is int and not info.clamp:
        return _integer(info.min, info.max)
    if annotation is Path and info.path_type is None and routes_to_path(annotation, info):
        return _path(info)
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return _choice(tuple(annotation), case_sensitive=info.case_sensitive)
    return None


def _as_str(value: Any, param: Any, ctx: Any) -> Any:
    return value if type(value) is str else _UNHANDLED


def _as_bool(value: Any, param: Any, ctx: Any) -> Any:
    return value if type(value) is bool else _UNHANDLED


def _integer(low: float | None, high: float | None) -> Convert:
    def convert(value: Any, param: Any, ctx: Any) -> Any:
        if type(value) is int:
            number = value
        elif (
            type(value) is str
            and 0 < len(value) <= _MAX_DIGITS
            and value.isascii()
            and value.isdigit()
        ):
            number = int(value)
        else:
            return _UNHANDLED
        if (low is not None and number < low) or (high is not None and number > high):
            return _UNHANDLED
        return number

    return convert


def _path(info: Any) -> Convert:
    def convert(value: Any, param: Any, ctx: Any) -> Any:
        if type(value) is str and "\x00" not in value:
            value = Path(value)
        elif not isinstance(value, Path):
            return _UNHANDLED
        try:
            return coerce_cli_path(value, info, path_type=Path, param=param, ctx=ctx)
        except BadParameter:
            return _UNHANDLED  # typer's message names the value as given

    return convert


def _choice(choices: tuple[Any, ...], *, case_sensitive: bool) -> Convert:
    def convert(value: Any, param: Any, ctx: Any) -> Any:
        if not isinstance(value, (str, enum.Enum)):
            return _UNHANDLED
        try:
            return coerce_cli_choice(
                value, choices=choices, case_sensitive=case_sensitive, ctx=ctx
            )
        except ValueError:
            return _UNHANDLED

    return convert
