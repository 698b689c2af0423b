"""Which exceptions mean a loop limit stopped the run (``stop_reason: max_steps``).

Each agent framework ends a runaway loop its own way; the known ones are named here by
class path, so nothing imports a framework. A project adds its own in ``[tool.replay]``::

    [tool.replay]
    max_steps_errors = ["mypkg.errors:TooManySteps"]

A subclass of a listed class counts too. Where only a class *name* is known (an imported
trace's ``exception.type``), ``is_max_steps_name`` matches it against the same list.
"""

from __future__ import annotations

import os
from pathlib import Path

from replay.config import ConfigError, find_pyproject, load_config, per_version

KNOWN_MAX_STEPS_ERRORS = frozenset(
    {
        "agents.exceptions.MaxTurnsExceeded",  # openai-agents: Runner.run(max_turns=...)
        "pydantic_ai.exceptions.UsageLimitExceeded",  # pydantic-ai: UsageLimits(...)
        "langgraph.errors.GraphRecursionError",  # langgraph: recursion_limit
    }
)
CONFIG_KEY = "max_steps_errors"

_cache: dict[tuple[str, int, int], frozenset[str]] = {}


def max_steps_errors(start: str | os.PathLike[str] | None = None) -> frozenset[str]:
    """The known classes and the project's ``max_steps_errors``, as ``module.QualName``."""
    path = find_pyproject(start)
    if path is None:
        return KNOWN_MAX_STEPS_ERRORS
    return per_version(_cache, path, lambda: KNOWN_MAX_STEPS_ERRORS | _configured(path, start))


def _configured(path: Path, start: str | os.PathLike[str] | None) -> frozenset[str]:
    value = load_config(start).get(CONFIG_KEY, [])
    where = f"{path}: [tool.replay] {CONFIG_KEY}"
    if not isinstance(value, list):
        raise ConfigError(
            f"{where} must be a list of exception classes, e.g. "
            '["mypkg.errors:TooManySteps"], found ' + type(value).__name__
        )
    names = []
    for item in value:
        module, sep, qualname = item.partition(":") if isinstance(item, str) else ("", "", "")
        if not isinstance(item, str) or not module or (sep and not qualname) or "." not in item:
            raise ConfigError(
                f"{where}: {item!r} is not an exception class path; write it as "
                "'module:ClassName' (e.g. 'mypkg.errors:TooManySteps')"
            )
        names.append(f"{module}.{qualname}" if sep else item)
    return frozenset(names)


def stops_at_max_steps(exc: BaseException, names: frozenset[str] | None = None) -> bool:
    """Whether ``exc`` is (a subclass of) one of the loop-limit classes."""
    names = max_steps_errors() if names is None else names
    return any(f"{cls.__module__}.{cls.__qualname__}" in names for cls in type(exc).__mro__)


def is_max_steps_name(class_name: str, names: frozenset[str] | None = None) -> bool:
    """Whether a class *name* (``module.QualName``, ``module:QualName`` or a bare
    ``QualName``, as a trace records it) is one of the loop-limit classes. Without the
    class itself a subclass cannot be recognised: list it by name."""
    names = max_steps_errors() if names is None else names
    module, sep, qualname = class_name.partition(":")
    name = f"{module}.{qualname}" if sep else class_name
    if name in names:
        return True
    return "." not in name and any(known.rpartition(".")[2] == name for known in names)
