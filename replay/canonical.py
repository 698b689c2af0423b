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
import marshal
import math
import uuid as _uuid
from collections.abc import Callable, Iterable, Mapping
from typing import Any

HASH_LENGTH = 16


def to_plain(value: Any) -> Any:
    """Turn ``value`` into plain data (dict, list, str, int, float, bool, None).

    Mappings keep their keys as strings; tuples and sets become lists (sets sorted);
    dataclasses and pydantic models become dicts; enums their value; subclasses of
    str/int/float the plain type; dates and times ISO text; NaN and infinities their
    ``repr``; bytes ``{"__bytes__": base64}``; anything else becomes its ``repr`` so
    that recording never fails on an odd value.
    """
    # Every boundary call walks its arguments, so exact dicts, lists and scalars (nearly
    # all of an LLM request) take a fast path; other types go through the full rules.
    cls = type(value)
    if cls is str or cls is int or cls is bool or value is None:
        return value
    if cls is dict:
        return {
            (k if type(k) is str else str(k)): (v if type(v) in _PLAIN_LEAVES else to_plain(v))
            for k, v in value.items()
        }
    if cls is list:
        return [v if type(v) in _PLAIN_LEAVES else to_plain(v) for v in value]
    if cls is float:
        return value if math.isfinite(value) else repr(value)
    return _to_plain_any(value)


# Exact types returned as they are (float is not: NaN and infinities become text).
_PLAIN_LEAVES = frozenset({str, int, bool, type(None)})


def _to_plain_any(value: Any) -> Any:
    # Exact str/int/bool/float/None never get here: ``to_plain`` returned them.
    if isinstance(value, enum.Enum):
        return to_plain(value.value)
    # Subclasses of the scalars (a library's own str or int type) become the plain type:
    # the cassette is written by the safe YAML dumper, which only takes exact types.
    if isinstance(value, int):
        return int.__int__(value)
    if isinstance(value, str):
        return str.__str__(value)
    if isinstance(value, float):
        number = float.__float__(value)
        return number if math.isfinite(number) else repr(number)
    if isinstance(value, Mapping):
        return {str(k): to_plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_plain(v) for v in value]
    if isinstance(value, set | frozenset):
        return sorted((to_plain(v) for v in value), key=canonical_json)
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


_CANONICAL_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)
# The C encoder that ``_CANONICAL_ENCODER.encode`` builds on every call, built once (every
# boundary call hashes its arguments). Without the circular-reference check, which plain
# data never needs: the output is the same. None when the C accelerator is unavailable.
_c_make_encoder = getattr(json.encoder, "c_make_encoder", None)
_C_CANONICAL = (
    _c_make_encoder(
        None,
        _CANONICAL_ENCODER.default,
        json.encoder.encode_basestring,
        None,
        ":",
        ",",
        True,
        False,
        True,
    )
    if _c_make_encoder is not None
    else None
)


def canonical_json(value: Any) -> str:
    """Compact JSON with sorted keys: the form that is hashed."""
    if _C_CANONICAL is not None and type(value) in (dict, list):
        try:
            return "".join(_C_CANONICAL(value, 0))
        except RecursionError:
            pass  # a circular value: let the encoder below name the problem
    return _CANONICAL_ENCODER.encode(value)


def same_plain(a: Any, b: Any) -> bool:
    """Whether two plain values are the same data down to the types of their leaves (1,
    1.0 and True differ, as they do in canonical JSON), so their hashes are equal.

    Compares ``marshal`` bytes (format 2: no sharing references, so equal data gives
    equal bytes), a few times cheaper than hashing. False when unsure: a different key
    order, or a type marshal does not take (subclasses included).
    """
    try:
        return marshal.dumps(a, 2) == marshal.dumps(b, 2)
    except ValueError:
        return False


def is_plain(value: Any) -> bool:
    """Whether ``value`` is plain data already, down to the exact types (dict with text
    keys, list, str, int, bool, None, finite float): ``same_plain(to_plain(value),
    value)`` without building the copy and its bytes."""
    stack = [value]
    while stack:
        item = stack.pop()
        cls = type(item)
        if cls is str or cls is int or cls is bool or item is None:
            continue
        if cls is dict:
            for key, child in item.items():
                if type(key) is not str:
                    return False
                stack.append(child)
        elif cls is list:
            stack.extend(item)
        elif cls is not float or not math.isfinite(item):
            return False
    return True


def plain_bytes(value: Any) -> bytes:
    """What ``same_plain`` compares: equal bytes for the same plain data; ``b""`` (equal
    to nothing ``marshal`` writes) for a value it does not take."""
    try:
        return marshal.dumps(value, 2)
    except ValueError:
        return b""


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


def argument_binder(
    signature: inspect.Signature, *, plain: bool = True
) -> Callable[[tuple, dict], dict[str, Any]]:
    """A function doing ``bind_arguments(signature, args, kwargs)``, faster for common shapes.

    ``Signature.bind`` is pure Python and costs microseconds on every boundary call; for a
    signature of plain named parameters the binding is done directly, in parameter order
    as ``bind`` gives it. Anything unusual (``*args``, ``**kwargs``, positional-only
    parameters, or a call that does not bind) goes through ``bind_arguments``. With
    ``plain=False`` the values are left as passed (``to_plain`` not applied) where the
    fast binding applies, for a caller that may not need the plain copy.
    """
    params = tuple(signature.parameters.values())
    simple = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    if any(param.kind not in simple for param in params):
        return lambda args, kwargs: bind_arguments(signature, args, kwargs)
    positional = tuple(
        param.name for param in params if param.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD
    )
    names = frozenset(param.name for param in params)
    missing = object()
    order = tuple(
        (param.name, missing if param.default is inspect.Parameter.empty else param.default)
        for param in params
    )

    def bind(args: tuple, kwargs: dict) -> dict[str, Any]:
        if len(args) > len(positional) or not names.issuperset(kwargs):
            return bind_arguments(signature, args, kwargs)
        given = dict(zip(positional, args, strict=False))
        if kwargs:
            if not given.keys().isdisjoint(kwargs):
                return bind_arguments(signature, args, kwargs)
            given.update(kwargs)
        named: dict[str, Any] = {}
        for name, default in order:
            value = given.get(name, default)
            if value is missing:
                return bind_arguments(signature, args, kwargs)
            if name != "self" and name != "cls":
                named[name] = value
        return to_plain(named) if plain else named

    return bind


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
