"""Which code a data file may make agent-replay run.

A cassette records the entrypoint that ran (``run.entrypoint``), and a scenario may name
an agent; replaying calls it with the recorded input. Files travel (pull requests,
incident tickets), so a name read from one is only imported when it is the user's own
agent code: a module under a prefix listed in ``[tool.replay] agents``, or one whose
file lies in the project (the folder of the nearest ``pyproject.toml``), the working
folder, a ``PYTHONPATH`` entry or another folder on ``sys.path``, and never in the
interpreter's own folders (standard library, installed packages, the environment).
Where a module lives is found without running it (``importlib`` finders only); after the
import the attribute must be a plain function defined there. A name given by the user
(``--agent``, ``agent=``) is the user's choice and is not checked.
"""

from __future__ import annotations

import functools
import importlib.machinery
import importlib.util
import inspect
import os
import re
import site
import sys
import sysconfig
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any

from replay.errors import EntrypointError

CONFIG_KEY = "agents"
_DOTTED = re.compile(r"^[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*$")
_INSTALLED_FOLDERS = frozenset({"site-packages", "dist-packages"})
_extra_roots: ContextVar[tuple[Path, ...]] = ContextVar("replay_project_roots", default=())


@contextmanager
def project_root(root: str | os.PathLike[str]) -> Iterator[None]:
    """Count ``root`` as the user's project too while the block runs (the pytest plugin's
    root when pytest runs from another folder)."""
    token = _extra_roots.set((*_extra_roots.get(), Path(root)))
    try:
        yield
    finally:
        _extra_roots.reset(token)


def allowed_prefixes(start: str | os.PathLike[str] | None = None) -> tuple[str, ...]:
    """The module prefixes of ``[tool.replay] agents`` (e.g. ``["examples.support_agent"]``),
    read once per version of the ``pyproject.toml`` (a golden set checks the entrypoint of
    every run it replays)."""
    from replay.config import find_pyproject, per_version

    pyproject = find_pyproject(start)
    if pyproject is None:
        return ()
    return per_version(_PREFIXES, pyproject, lambda: _prefixes_of(pyproject))


_PREFIXES: dict[tuple[str, int, int], tuple[str, ...]] = {}


def _prefixes_of(pyproject: Path) -> tuple[str, ...]:
    from replay.config import ConfigError, load_config

    value = load_config(pyproject.parent).get(CONFIG_KEY, [])
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(
        isinstance(item, str) and _DOTTED.match(item) for item in value
    ):
        raise ConfigError(
            f"[tool.replay] {CONFIG_KEY} must be a list of module names, found {value!r} "
            '(e.g. agents = ["support_agent"])'
        )
    return tuple(value)


def check_recorded_module(entrypoint: str, *, source: str | None) -> None:
    """Raise ``EntrypointError`` unless the module of ``entrypoint``, named by the file
    ``source``, is the user's own code (see the module docstring); nothing is imported."""
    module_name, _, attr_path = entrypoint.partition(":")
    if not _DOTTED.match(module_name) or not _DOTTED.match(attr_path):
        raise EntrypointError(
            f"{_where(source)}entrypoint {entrypoint!r} is not of the form 'module:function' "
            "(e.g. 'support_agent:run')"
        )
    if _under(module_name, allowed_prefixes()):
        return
    for name, origin in _origins(module_name):
        reason = _untrusted_reason(origin)
        if reason is not None:
            what = "module" if name == module_name else f"package '{name}' of module"
            raise _refused(entrypoint, source, f"its {what} '{module_name}' is {reason}")


def check_recorded_function(target: Any, entrypoint: str, *, source: str | None) -> None:
    """Raise ``EntrypointError`` unless ``target`` (what ``entrypoint`` imported to) is a
    plain function defined in the user's own code (through any ``functools.wraps``)."""
    if not inspect.isfunction(target):
        raise _refused(entrypoint, source, f"it is {_describe(target)}, not a plain function")
    try:
        inner = inspect.unwrap(target)
    except ValueError:
        inner = target
    if not inspect.isfunction(inner):
        raise _refused(entrypoint, source, f"it wraps {_describe(inner)}, not a plain function")
    module = getattr(inner, "__module__", None) or ""
    if _under(module, allowed_prefixes()):
        return
    reason = _untrusted_reason(inner.__code__.co_filename)
    if reason is not None:
        raise _refused(entrypoint, source, f"the function is defined in code that is {reason}")


def _under(module_name: str, prefixes: Iterable[str]) -> bool:
    return any(module_name == p or module_name.startswith(p + ".") for p in prefixes)


def _origins(module_name: str) -> list[tuple[str, str | None]]:
    """The file of each package on the way to ``module_name`` and of the module itself,
    as the import system would find them, without executing any of them. A module not
    found at all is left for the import to report."""
    found: list[tuple[str, str | None]] = []
    parts = module_name.split(".")
    search: list[str] | None = None
    for depth in range(1, len(parts) + 1):
        name = ".".join(parts[:depth])
        module = sys.modules.get(name)
        if module is not None:
            spec = getattr(module, "__spec__", None)
            origin = getattr(spec, "origin", None) if spec is not None else None
            origin = origin or getattr(module, "__file__", None)
            locations = getattr(module, "__path__", None)
        else:
            spec = _find_spec(name, search)
            if spec is None:
                return found
            namespace = spec.submodule_search_locations is not None and not spec.has_location
            origin = None if namespace else spec.origin
            locations = spec.submodule_search_locations
        if origin is not None or depth == len(parts):
            found.append((name, origin))
        search = list(locations) if locations is not None else None
        if search is None and depth < len(parts):
            return found
    return found


def _find_spec(name: str, search: list[str] | None) -> importlib.machinery.ModuleSpec | None:
    if search is None:
        try:
            return importlib.util.find_spec(name)  # a top-level name imports nothing
        except (ImportError, ValueError):
            return None
    for finder in sys.meta_path:
        find = getattr(finder, "find_spec", None)
        if find is None:
            continue
        try:
            spec = find(name, search)
        except (ImportError, ValueError, TypeError):
            continue
        if spec is not None:
            return spec
    return None


def _untrusted_reason(origin: str | None) -> str | None:
    """Why code at ``origin`` is not the user's own, or None when it is. Files in the
    project are found again on every check (a test may create a new one)."""
    if origin is None:
        return "not a file (a namespace package?)"
    if origin in ("built-in", "frozen") or (not os.path.isabs(origin) and "<" in origin):
        return f"built into Python ({origin})"
    path = _resolved(origin)
    if any(part in _INSTALLED_FOLDERS for part in Path(path).parts):
        return f"an installed package ({path})"
    for folder in _python_folders():
        if _inside(path, folder):
            return f"part of Python's standard library or installation ({path})"
    if not any(_inside(path, folder) for folder in _user_folders()):
        return f"outside the project ({path})"
    return None


@functools.cache
def _python_folders() -> tuple[str, ...]:
    """The interpreter's own folders: its prefixes (a virtual environment's folder, with
    its ``bin``), the standard library and every installed-packages folder."""
    names = ("stdlib", "platstdlib", "purelib", "platlib")
    folders: set[str] = set()
    prefixes = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix}
    for base in prefixes:
        paths = sysconfig.get_paths(vars={"base": base, "platbase": base})
        folders.update(paths[name] for name in names if name in paths)
    cwd = _resolved(os.getcwd())
    for prefix in map(_resolved, prefixes):
        # A prefix holding the working folder (or "/") would hide the project itself.
        if os.path.dirname(prefix) != prefix and not _inside(cwd, prefix):
            folders.add(prefix)
    folders.update(site.getsitepackages() if hasattr(site, "getsitepackages") else [])
    user_site = site.getusersitepackages() if hasattr(site, "getusersitepackages") else None
    if isinstance(user_site, str):
        folders.add(user_site)
    folders.add(os.path.dirname(os.__file__))
    return tuple(_resolved(folder) for folder in folders if folder)


def _user_folders() -> tuple[str, ...]:
    """Where the user's own code lives: the project, the working folder, PYTHONPATH and
    the other folders on Python's import path (the script's folder, pytest's rootdir);
    the interpreter's own folders among them are excluded by ``_untrusted_reason``."""
    return _user_folders_for(
        Path.cwd(),
        os.environ.get("PYTHONPATH", ""),
        tuple(entry for entry in sys.path if isinstance(entry, str)),
        _extra_roots.get(),
    )


@functools.lru_cache(maxsize=16)
def _user_folders_for(
    cwd: Path, pythonpath: str, import_path: tuple[str, ...], extra: tuple[Path, ...]
) -> tuple[str, ...]:
    from replay.config import find_pyproject

    folders = [cwd, *extra]
    pyproject = find_pyproject(cwd)
    if pyproject is not None:
        folders.append(pyproject.parent)
    for entry in (*pythonpath.split(os.pathsep), *import_path):
        folders.append(cwd / entry if entry else cwd)
    return tuple(_resolved(folder) for folder in folders)


def _resolved(path: str | os.PathLike[str]) -> str:
    try:
        return os.path.realpath(path)
    except (OSError, ValueError):
        return os.path.abspath(path)


def _inside(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def _describe(target: Any) -> str:
    if inspect.isclass(target):
        return "a class"
    if inspect.isbuiltin(target) or inspect.ismethoddescriptor(target):
        return "a built-in"
    if inspect.ismethod(target):
        return "a bound method"
    if inspect.ismodule(target):
        return "a module"
    return f"a {type(target).__name__} object"


def _where(source: str | None) -> str:
    return f"{source}: " if source else ""


def _refused(entrypoint: str, source: str | None, reason: str) -> EntrypointError:
    return EntrypointError(
        f"{_where(source)}refusing to run entrypoint '{entrypoint}' named by the file: "
        f"{reason}, and a file may only name your own agent code. If it is your agent, "
        f"pass it yourself (--agent {entrypoint}, or agent= in Python) or list its package "
        "in pyproject.toml under [tool.replay] agents = [...]"
    )


def import_checked(
    entrypoint: str, *, source: str | None, importer: Callable[[str], Any]
) -> Callable[..., Any]:
    """``importer(entrypoint)`` between the module check and the function check."""
    check_recorded_module(entrypoint, source=source)
    target = importer(entrypoint)
    check_recorded_function(target, entrypoint, source=source)
    return target
