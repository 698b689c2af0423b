"""Keep ``rich.markdown`` and ``rich.traceback`` out of ``replay --help``.

typer's rich help (``typer.rich_utils``) imports both at its top, but builds a
``Markdown`` only in markup mode ``"markdown"`` and a ``Traceback`` only for pretty
exceptions, neither of which replay uses; the two imports (``markdown_it``, ``pygments``,
``attrs`` under them: ~150 modules) were most of ``replay --help``. ``install()`` puts a
stand-in module in the place of each: its class builds the real one, and any other
attribute loads the real module, which then replaces the stand-in everywhere. Nothing
changes for code that uses them, except when they are loaded.

This reaches into how typer imports rich: tests/cli/test_help_imports.py fails loudly if
``replay --help`` loads them again or a stand-in stops building the real class.
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import Any

DEFERRED = {"rich.markdown": "Markdown", "rich.traceback": "Traceback"}
"""Module -> the one name typer imports from it."""


class _StandIn(types.ModuleType):
    """One of ``DEFERRED`` until something needs it."""

    def __getattr__(self, name: str) -> Any:
        if name == DEFERRED[self.__name__]:
            return _deferred_class(self.__name__, name)
        if name.startswith("__"):
            # The import system asks (``__path__`` for ``from rich.markdown import ...``).
            raise AttributeError(name)
        return getattr(real_module(self.__name__), name)


def _deferred_class(module_name: str, class_name: str) -> type:
    def build(cls: type, *args: Any, **kwargs: Any) -> Any:
        return getattr(real_module(module_name), class_name)(*args, **kwargs)

    return type(class_name, (), {"__new__": build, "__module__": __name__})


def real_module(name: str) -> types.ModuleType:
    """The real module ``name``, imported now if its stand-in is in its place."""
    module = sys.modules.get(name)
    if module is None or isinstance(module, _StandIn):
        sys.modules.pop(name, None)
        module = importlib.import_module(name)  # also sets the attribute on ``rich``
    return module


def install() -> None:
    """Put the stand-ins in place, for the modules not loaded already."""
    try:
        import rich
    except ImportError:
        return
    for name in DEFERRED:
        if name not in sys.modules:
            stand_in = _StandIn(name)
            sys.modules[name] = stand_in
            setattr(rich, name.rpartition(".")[2], stand_in)
