"""Canonical, YAML-safe forms of call arguments and results, and their stable hashes.

A step's ``args_hash`` must be the same on every machine and Python run for the same
logical arguments, so it hashes the canonical JSON (sorted keys, no whitespace) of the
plain-data form of the arguments.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as _dt
import enum
import hashlib
import inspect
import json
import math
import uuid as _uuid
from collections.abc import Callable, Iterable, Mapping
from typing import Any

HASH_LENGTH = 16


def to_plain(value: Any) -> Any:
    """Turn ``value`` into plain data (dict, list, str, int, float, bool, None).

    Mappings keep their keys as strings; tuples and sets become lists (sets sorted);
    dataclasses and pydantic models become dicts; bytes become base64 text; anything
    else becomes its ``repr`` so that recording never fails on an odd value.
    """
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        if math.isfinite(value):
            return value
        return repr(value)
    if isinstance(value, Mapping):
        return {str(k): to_plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_plain(v) for v in value]
    if isinstance(value, set | frozenset):
        return sorted((to_plain(v) for v in value), key=canonical_json)
    if isinstance(value, enum.Enum):
        return to_plain(value.value)
    if isinstance(value, _dt.datetime | _dt.date | _dt.time):
        return value.isoformat()
    if isinstance(value, _uuid.UUID):
        return str(value)
    if isinstance(value, bytes | bytearray):
        return {"__bytes__": base64.b64encode(bytes(value)).decode("ascii")}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return to_plain(dataclasses.asdict(value))
    model_dump = getattr(value, "model_dump", None)
    if callable(model_dump):
        try:
            return to_plain(model_dump(mode="json"))
        except TypeError:
            return to_plain(model_dump())
    return repr(value)


def canonical_json(value: Any) -> str:
    """Compact JSON with sorted keys: the form that is hashed."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def stable_hash(value: Any) -> str:
    """A short, stable hash of plain data (sha256 of its canonical JSON)."""
    digest = hashlib.sha256(canonical_json(value).encode("utf-8")).hexdigest()
    return digest[:HASH_LENGTH]


def args_hash(args: Any, *, ignore: Iterable[str] = ()) -> str:
    """The hash of canonical arguments, leaving out top-level keys named in ``ignore``."""
    skip = frozenset(ignore)
    if skip and isinstance(args, Mapping):
        args = {k: v for k, v in args.items() if k not in skip}
    return stable_hash(args)


def bind_arguments(signature: inspect.Signature, args: tuple, kwargs: dict) -> dict[str, Any]:
    """Name every argument of a call by its parameter, defaults applied, as plain data.

    ``self``/``cls`` are left out so that a method's hash does not depend on the object.
    Falls back to ``{"args": [...], "kwargs": {...}}`` when the call does not bind.
    """
    try:
        bound = signature.bind(*args, **kwargs)
    except TypeError:
        return to_plain({"args": list(args), "kwargs": kwargs})
    bound.apply_defaults()
    named: dict[str, Any] = {}
    for name, value in bound.arguments.items():
        if name in ("self", "cls"):
            continue
        kind = signature.parameters[name].kind
        if kind is inspect.Parameter.VAR_KEYWORD:
            named.update(value)
        else:
            named[name] = value
    return to_plain(named)


def error_class_name(error: BaseException | type[BaseException]) -> str:
    """``module.QualName`` of an exception (builtins included, e.g. ``builtins.TimeoutError``)."""
    cls = error if isinstance(error, type) else type(error)
    return f"{cls.__module__}.{cls.__qualname__}"


def short_class_name(error_class: str | None) -> str | None:
    """``TimeoutError`` for ``builtins.TimeoutError``; other classes keep their module."""
    if error_class and error_class.startswith("builtins."):
        return error_class.removeprefix("builtins.")
    return error_class


def callable_name(fn: Callable[..., Any]) -> str:
    """The name a boundary step gets by default: the function's ``__name__``."""
    return getattr(fn, "__name__", None) or repr(fn)
