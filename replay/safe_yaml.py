"""The one way agent-replay reads YAML files: PyYAML's safe loader, made strict.

Cassettes and scenarios travel like documents (pull requests, incident tickets), so every
file read is untrusted input. On top of the safe loader (no Python objects) this refuses
what our own writer never produces and what only serves to attack or mislead a reader:
anchors and aliases (a 1 KB alias bomb expands to gigabytes when walked), duplicate keys
(two values, the reviewer sees one), keys that are not text, merge keys, the ``!!set``,
``!!omap``, ``!!pairs`` and ``!!binary`` tags, and integers too long to convert.
Timestamps stay the text they were written as. A refusal is a ``YamlRefused`` naming
the line, column and, through ``field_path``, the field.
"""

from __future__ import annotations

import re
import types
from collections import deque
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

_BaseLoader: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

MAX_INT_DIGITS = 4300
"""Longest integer read: Python's own default limit for converting text to int."""
_MAX_INT_BITS = int(MAX_INT_DIGITS * 3.33)

_STR_TAG = "tag:yaml.org,2002:str"
_MERGE_TAG = "tag:yaml.org,2002:merge"
_VALUE_TAG = "tag:yaml.org,2002:value"
_REFUSED_TAGS = {
    "tag:yaml.org,2002:set": "!!set",
    "tag:yaml.org,2002:omap": "!!omap",
    "tag:yaml.org,2002:pairs": "!!pairs",
    "tag:yaml.org,2002:binary": "!!binary",
}

# An anchor (&name) or alias (*name) starts a node: after whitespace or an indicator.
# Matches in prose (markdown) only cost an exact event scan.
_ANCHOR_START = re.compile(r"[&*][^\s\[\]{},&*]")
_BEFORE_ANCHOR = frozenset(" \t\r\n[{,:?-")


class YamlRefused(ValueError):
    """Parsed YAML holds something a cassette or scenario never may; ``line`` and
    ``column`` count from 1 (0 when unknown)."""

    def __init__(
        self, problem: str, mark: Any = None, *, hint: str | None = None, on_key: bool = False
    ) -> None:
        self.problem = problem
        self.hint = hint
        self.on_key = on_key
        self.index = getattr(mark, "index", None)
        self.line = getattr(mark, "line", -1) + 1
        self.column = getattr(mark, "column", -1) + 1
        super().__init__(problem)

    @property
    def where(self) -> str:
        return f" at line {self.line}, column {self.column}" if self.line else ""


class StrictLoader(_BaseLoader):  # type: ignore[misc, valid-type]
    """The safe loader (the C one where available) with the refusals listed above."""

    def construct_object(self, node: Node, deep: bool = False) -> Any:
        # PyYAML's BaseConstructor.construct_object (6.0), inlined for speed (it runs once
        # per node), except that a node met twice is refused instead of shared.
        if node in self.constructed_objects:
            # Only an alias makes the composer hand out one node twice.
            raise YamlRefused(_ALIAS_PROBLEM, node.start_mark, hint=_ALIAS_HINT)
        if deep:
            old_deep = self.deep_construct
            self.deep_construct = True
        if node in self.recursive_objects:
            raise YamlRefused(_ALIAS_PROBLEM, node.start_mark, hint=_ALIAS_HINT)
        self.recursive_objects[node] = None
        constructor = self.yaml_constructors.get(node.tag)
        if constructor is None:
            constructor = self.yaml_constructors[None]  # SafeConstructor: refuses the tag
        data = constructor(self, node)
        if isinstance(data, types.GeneratorType):
            generator = data
            data = next(generator)
            if self.deep_construct:
                for _ in generator:
                    pass
            else:
                self.state_generators.append(generator)
        self.constructed_objects[node] = data
        del self.recursive_objects[node]
        if deep:
            self.deep_construct = old_deep
        return data

    def construct_mapping(self, node: Node, deep: bool = False) -> dict[str, Any]:
        if not isinstance(node, MappingNode):
            raise YamlRefused(f"expected a mapping, found {node.id}", node.start_mark)
        mapping: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE_TAG:
                raise YamlRefused(
                    "merge keys ('<<') are not allowed",
                    key_node.start_mark,
                    hint="write the fields out in full",
                    on_key=True,
                )
            if key_node.tag == _VALUE_TAG:
                key_node.tag = _STR_TAG
            key = self.construct_object(key_node, deep=deep)
            if type(key) is not str:
                raise YamlRefused(
                    f"a mapping key must be text, found {_kind(key)}",
                    key_node.start_mark,
                    hint="quote the key",
                    on_key=True,
                )
            if key in mapping:
                raise YamlRefused(
                    f"duplicate key {key!r}",
                    key_node.start_mark,
                    hint="keep only one of them",
                    on_key=True,
                )
            mapping[key] = self.construct_object(value_node, deep=deep)
        return mapping

    def construct_yaml_int(self, node: ScalarNode) -> int:
        if len(node.value) > MAX_INT_DIGITS:
            raise YamlRefused(_long_int(len(node.value)), node.start_mark)
        try:
            value = super().construct_yaml_int(node)
        except ValueError as exc:
            raise YamlRefused(f"not a valid integer ({exc})", node.start_mark) from None
        if value.bit_length() > _MAX_INT_BITS:
            raise YamlRefused(_long_int(0), node.start_mark)
        return value

    def construct_yaml_timestamp(self, node: ScalarNode) -> str:
        return str(node.value)

    def refuse_tag(self, node: Node) -> Any:
        raise YamlRefused(
            f"the YAML tag {_REFUSED_TAGS[node.tag]} is not allowed",
            node.start_mark,
            hint="write plain lists, mappings and text",
        )


StrictLoader.add_constructor("tag:yaml.org,2002:int", StrictLoader.construct_yaml_int)
StrictLoader.add_constructor("tag:yaml.org,2002:timestamp", StrictLoader.construct_yaml_timestamp)
StrictLoader.add_constructor("tag:yaml.org,2002:map", StrictLoader.construct_yaml_map)
for _tag in _REFUSED_TAGS:
    StrictLoader.add_constructor(_tag, StrictLoader.refuse_tag)

_ALIAS_PROBLEM = "YAML anchors and aliases (&name, *name) are not allowed"
_ALIAS_HINT = "write the value out in full; agent-replay never writes them"


def _long_int(digits: int) -> str:
    size = f" of {digits} digits" if digits else ""
    return f"an integer{size} is too long (the limit is {MAX_INT_DIGITS} digits)"


def _kind(value: Any) -> str:
    if value is None or isinstance(value, bool | int | float):
        return f"{type(value).__name__ if value is not None else 'null'} {value!r:.40}"
    return type(value).__name__


def load(text: str) -> Any:
    """Parse one YAML document strictly; raises ``YamlRefused`` or ``yaml.YAMLError``."""
    if _maybe_anchor(text):
        _refuse_anchors(text)
    try:
        return yaml.load(text, Loader=StrictLoader)
    except yaml.constructor.ConstructorError as exc:  # an unknown tag (!!python/...)
        raise YamlRefused(exc.problem or str(exc), exc.problem_mark) from None


def _maybe_anchor(text: str) -> bool:
    for match in _ANCHOR_START.finditer(text):
        at = match.start()
        if at == 0 or text[at - 1] in _BEFORE_ANCHOR:
            return True
    return False


def _refuse_anchors(text: str) -> None:
    """Scan the parser's events (nothing is built) for an anchor or an alias."""
    for event in yaml.parse(text, Loader=_BaseLoader):
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
            raise YamlRefused(_ALIAS_PROBLEM, event.start_mark, hint=_ALIAS_HINT)


def field_path(text: str, error: YamlRefused) -> str | None:
    """The dotted path (``steps[3].args.city``) of the key or value ``error`` points at,
    found by composing the document again; None when unknown."""
    if error.index is None:
        return None
    try:
        root = yaml.compose(text, Loader=_BaseLoader)
    except (yaml.YAMLError, RecursionError):
        return None
    seen: set[int] = set()
    queue: deque[tuple[Node, str]] = deque([(root, "")] if root is not None else [])
    while queue:  # breadth first, in document order: an alias's first place wins
        node, path = queue.popleft()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if not error.on_key and node.start_mark.index == error.index:
            return path or None
        if isinstance(node, MappingNode):
            for key_node, value_node in node.value:
                name = key_node.value if isinstance(key_node, ScalarNode) else "?"
                name = name if name.isprintable() else repr(name)
                child = f"{path}.{name}" if path else str(name)
                if error.on_key and key_node.start_mark.index == error.index:
                    return child
                queue.append((value_node, child))
        elif isinstance(node, SequenceNode):
            queue.extend((item, f"{path}[{i}]") for i, item in enumerate(node.value))
    return None


def split_step(path: str | None) -> tuple[int | None, str | None]:
    """``steps[3].args.city`` as (3, ``args.city``); any other path as (None, path)."""
    match = re.match(r"^steps\[(\d+)\]\.?(.*)$", path or "")
    if match is None:
        return None, path
    return int(match.group(1)), match.group(2) or None

