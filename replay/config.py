"""Project configuration: the ``[tool.replay]`` table of the nearest ``pyproject.toml``.

Each feature reads its own sub-table (``[tool.replay.http]``, ``[tool.replay.golden]``,
...) through ``section()``; unknown keys are that feature's to reject with a clear error.
"""

from __future__ import annotations

import contextlib
import contextvars
import os
import stat
import tomllib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

from replay.errors import ReplayError

T = TypeVar("T")


class ConfigError(ReplayError):
    """``[tool.replay]`` in pyproject.toml is malformed or has an invalid value."""


_real_folders: dict[str, str] = {}
_NAME = os.sep + "pyproject.toml"
_found: dict[str, Path] = {}

_pinned: contextvars.ContextVar[dict[Any, Any] | None] = contextvars.ContextVar(
    "replay_config_pinned", default=None
)


def pin() -> contextvars.Token[dict[Any, Any] | None]:
    """From now until ``unpin``, look for ``pyproject.toml`` and read its version (``stat``)
    once per start folder and file, in this context: a session's setup reads several
    settings of one version of the file. Outside a pin every read checks the file again."""
    return _pinned.set({})


def unpin(token: contextvars.Token[dict[Any, Any] | None]) -> None:
    _pinned.reset(token)


@contextlib.contextmanager
def pinned() -> Iterator[None]:
    """``pin`` for the block."""
    token = pin()
    try:
        yield
    finally:
        unpin(token)


def find_pyproject(start: str | os.PathLike[str] | None = None) -> Path | None:
    """The nearest ``pyproject.toml`` at or above ``start`` (the working folder)."""
    memo = _pinned.get()
    if memo is None:
        return _find_pyproject(start)[0]
    key = ("find", os.fspath(start) if start else None)
    if key not in memo:
        found, version = _find_pyproject(start)
        memo[key] = found
        if found is not None:
            # The look-up's stat is the file's version for the rest of the pin.
            memo.setdefault(("stat", found), version)
            memo["last"] = (found, memo[("stat", found)])
    return memo[key]  # type: ignore[no-any-return]


def _find_pyproject(
    start: str | os.PathLike[str] | None,
) -> tuple[Path | None, tuple[str, int, int] | None]:
    """The file and its version (see ``_version``), from one ``stat`` of each candidate."""
    # os.path, not pathlib, and the real path of a folder remembered: every recording
    # and replay asks several times.
    where = os.fspath(start) if start else os.getcwd()
    folder = _real_folders.get(where)
    if folder is None:
        folder = os.path.realpath(where)
        if len(_real_folders) < 256:
            _real_folders[where] = folder
    while True:
        # os.path.join's result for a real path, without its call (every session asks).
        candidate = folder + ("pyproject.toml" if folder.endswith(os.sep) else _NAME)
        try:
            info = os.stat(candidate)
        except (OSError, ValueError):
            info = None
        if info is not None and stat.S_ISREG(info.st_mode):
            found = _found.get(candidate)
            if found is None:
                found = _found[candidate] = Path(candidate)
            return found, (str(found), info.st_mtime_ns, info.st_size)
        parent = os.path.dirname(folder)
        if parent == folder:
            return None, None
        folder = parent


def load_config(start: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    """The ``[tool.replay]`` table ({} when there is none)."""
    path = find_pyproject(start)
    if path is None:
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read [tool.replay]: {exc}") from None
    table = data.get("tool", {}).get("replay", {})
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: [tool.replay] must be a table")
    return table


def section(name: str, start: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    """The ``[tool.replay.<name>]`` sub-table ({} when absent)."""
    value = load_config(start).get(name, {})
    if not isinstance(value, dict):
        raise ConfigError(f"[tool.replay.{name}] must be a table, found {type(value).__name__}")
    return value


def per_version(cache: dict[tuple[str, int, int], T], path: Path, build: Callable[[], T]) -> T:
    """``build()`` once per version (mtime and size) of the file at ``path``: every recording
    and replay asks for settings derived from it. ``cache`` keeps only the newest value."""
    key = _version(path)
    if key is None:
        return build()
    if key not in cache:
        value = build()
        cache.clear()
        cache[key] = value
    return cache[key]


def _version(path: Path) -> tuple[str, int, int] | None:
    """(path, mtime, size) of the file; None when it cannot be read (once per ``pinned``)."""
    memo = _pinned.get()
    if memo is None:
        pass
    elif (last := memo.get("last")) is not None and last[0] is path:
        return last[1]  # type: ignore[no-any-return]  # the file just found (no Path hash)
    elif ("stat", path) in memo:
        return memo[("stat", path)]  # type: ignore[no-any-return]
    try:
        info = os.stat(path)
    except OSError:
        key = None
    else:
        key = (str(path), info.st_mtime_ns, info.st_size)
    if memo is not None:
        memo[("stat", path)] = key
    return key
