"""Server-sent events: split a recorded stream into events, and read an event's fields.

A stream is stored as its list of events (the text between blank lines) so it can be
served again one chunk per event, which is how the SDKs' stream iterators consume it.
"""

from __future__ import annotations

import copy
import itertools
import json
import operator
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

_UNDECODED: Any = object()
_CONTAINERS = (dict, list)


def is_event_stream(content_type: str | None) -> bool:
    return bool(content_type) and content_type.split(";")[0].strip().lower() == "text/event-stream"


def split_events(text: str) -> list[str]:
    """The events of a stream, each without its terminating blank line."""
    normalized = text.replace("\r\n", "\n").replace("\r", "\n") if "\r" in text else text
    return [event for event in normalized.split("\n\n") if event.strip("\n")]


def join_events(events: Iterable[str]) -> Iterator[bytes]:
    """The wire chunks of recorded events: one per event, blank line included."""
    for event in events:
        yield (event + "\n\n").encode("utf-8")


@dataclass(frozen=True, slots=True)
class Event:
    """One parsed event: its ``event`` name (None when absent) and its ``data`` text."""

    name: str | None
    data: str
    decoded: Any = field(default=_UNDECODED, compare=False, repr=False)

    def json(self) -> Any:
        """The data parsed as JSON, or None (e.g. OpenAI's ``[DONE]``). An event from
        ``decode_events`` returns the value decoded there: read it, do not change it."""
        if self.decoded is not _UNDECODED:
            return self.decoded
        try:
            return json.loads(self.data)
        except ValueError:
            return None


def parse_event(text: str) -> Event:
    name: str | None = None
    data: list[str] = []
    for line in text.split("\n"):
        if not line or line.startswith(":"):
            continue
        field, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if field == "event":
            name = value
        elif field == "data":
            data.append(value)
    return Event(name, "\n".join(data))


FINAL_EVENTS = frozenset(
    {"message_stop", "response.completed", "response.failed", "response.incomplete", "error"}
)


def is_final(text: str) -> bool:
    """Whether the event ``text`` ends a model API's stream: OpenAI's ``[DONE]``, the
    Responses API's ``response.completed`` (or failed, incomplete), Anthropic's
    ``message_stop``, an ``error`` event. Clients stop reading there."""
    event = parse_event(text)
    return event.data == "[DONE]" or event.name in FINAL_EVENTS


def parse_events(events: Iterable[str]) -> Iterator[Event]:
    for text in events:
        yield parse_event(text)


def decode_events(events: Iterable[str]) -> list[Event]:
    """The events parsed, each one's JSON decoded once: a recorded stream is read both to
    assemble the step's result and to look for secrets split across events."""
    decoded = []
    for text in events:
        if text.startswith("data:") and "\n" not in text:
            name, data = None, text[5:].removeprefix(" ")  # parse_event's answer, sooner
        elif text.startswith("event:") and _is_named_data(text):
            line = text.index("\n")
            name, data = text[6:line].removeprefix(" "), text[line + 6 :].removeprefix(" ")
        else:
            event = parse_event(text)
            name, data = event.name, event.data
        decoded.append(Event(name, data, _loads(data)))
    return decoded


def _is_named_data(text: str) -> bool:
    """Whether ``text`` is two lines, ``event:`` then ``data:`` (Anthropic's events)."""
    line = text.find("\n")
    return text.startswith("data:", line + 1) and text.find("\n", line + 1) < 0


_scan_once = json.JSONDecoder().scan_once
_JSON_SPACE = " \t\n\r"


def _loads(data: str) -> Any:
    """``json.loads(data)``, or None where it raises, without its wrapping (the C scanner
    it calls, called directly: a stream has an event per token)."""
    if data[:1] in _JSON_SPACE:  # also "": json.loads skips leading white space
        try:
            return json.loads(data)
        except ValueError:
            return None
    try:
        value, end = _scan_once(data, 0)
    except (StopIteration, ValueError):
        return None
    if end == len(data) or not data[end:].strip(_JSON_SPACE):
        return value
    return None


class _SpanFinder(Protocol):
    def spans(self, value: str) -> list[tuple[int, int]]: ...

    def may_hold_secret(self, text: str) -> bool: ...

    @property
    def literal_width(self) -> int: ...


def redact_stream(
    events: list[str],
    redactor: _SpanFinder,
    marker: str = "<redacted>",
    *,
    parsed: Mapping[str, Any] | None = None,
) -> list[str]:
    """``events`` with secrets removed that the stream splits across events.

    A model streams text and tool arguments as deltas, a few characters per event, so a
    secret is never whole in one event. The string fields at the same JSON path of
    consecutive events (``choices.0.delta.content``, ``delta.text``, ...) are joined,
    secrets are found in the joined text, and each event's share of one is removed (the
    first share becomes ``marker``). Events left unchanged keep their exact bytes.
    ``parsed`` maps event texts to their JSON data already decoded (never changed here).
    """
    decoded: dict[int, Any] = {}
    known = parsed if parsed is not None else {}
    for position, text in enumerate(events):
        if '"' not in text:
            continue
        data = known.get(text, _UNDECODED)
        if data is _UNDECODED:
            data = parse_event(text).json()
        if isinstance(data, _CONTAINERS):
            decoded[position] = data
    if len(decoded) < 2:
        return events  # a path holds a string of each event at most
    if _no_split_secret(list(decoded.values()), redactor):
        return events
    streams: dict[tuple[Any, ...], list[tuple[int, tuple[Any, ...], str]]] = {}
    for position, data in decoded.items():
        for path, leaf in _string_leaves(data, ()):
            streams.setdefault(path, []).append((position, path, leaf))
    edits: dict[tuple[int, tuple[Any, ...]], tuple[str, list[tuple[int, int, str]]]] = {}
    for pieces in streams.values():
        if len(pieces) < 2:
            continue
        joined = "".join(leaf for _, _, leaf in pieces)
        offsets = []
        cursor = 0
        for _, _, leaf in pieces:
            offsets.append(cursor)
            cursor += len(leaf)
        for start, end in redactor.spans(joined):
            first = True
            for (position, path, leaf), offset in zip(pieces, offsets, strict=True):
                low, high = max(start, offset), min(end, offset + len(leaf))
                if low >= high:
                    continue
                cuts = edits.setdefault((position, path), (leaf, []))[1]
                cuts.append((low - offset, high - offset, marker if first else ""))
                first = False
    changed: set[int] = set()
    for (position, path), (leaf, cuts) in edits.items():
        new = leaf
        for low, high, marked in sorted(cuts, reverse=True):
            new = new[:low] + marked + new[high:]
        if position not in changed:  # edit a copy: the decoded data may be shared
            decoded[position] = copy.deepcopy(decoded[position])
            changed.add(position)
        _set(decoded[position], path, new)
    if not changed:
        return events
    return [_with_data(text, decoded[i]) if i in changed else text for i, text in enumerate(events)]


def _no_split_secret(values: list[Any], redactor: _SpanFinder) -> bool:
    """Whether the redactor finds nothing in the strings at any JSON path of ``values``
    joined (True means ``redact_stream`` changes nothing): the literal checks over all
    paths at once, then the rules on a path those checks cannot rule out."""
    columns = _columns(values)
    if columns is None:
        return False
    width = redactor.literal_width
    samples = [_joined(column, width) for column in columns]
    if not redactor.may_hold_secret("\n".join(samples)):
        return True
    return not any(
        redactor.may_hold_secret(sample) and redactor.spans("".join(column))
        for column, sample in zip(columns, samples, strict=True)
    )


_SCALARS = frozenset({int, float, bool, type(None)})


def _columns(values: Sequence[Any]) -> list[Sequence[str]] | None:
    """For each JSON path with a string in two of ``values`` or more, the strings at it
    in order (what ``redact_stream`` joins and searches); None for values the JSON
    decoder does not make (subclasses)."""
    columns: list[Sequence[str]] = []
    pending: list[Sequence[Any]] = [values]  # the values at one path, in event order (two or more)
    while pending:
        items = pending.pop()
        kinds = set(map(type, items))
        if len(kinds) == 1:
            (kind,) = kinds
            strings = items if kind is str else ()
            dicts = items if kind is dict else ()
            lists = items if kind is list else ()
            if not (strings or dicts or lists or kind in _SCALARS):
                return None
        else:
            if not kinds <= _SCALARS | {str, dict, list}:
                return None
            strings = [item for item in items if type(item) is str]
            dicts = [item for item in items if type(item) is dict]
            lists = [item for item in items if type(item) is list]
        if len(strings) > 1:
            columns.append(strings)
        if len(dicts) > 1:
            rows = _rows(dicts)
            if rows is not None:
                pending.extend(rows)
            else:
                for key in dict.fromkeys(itertools.chain.from_iterable(dicts)):
                    column = [each[key] for each in dicts if key in each]
                    if len(column) > 1:
                        pending.append(column)
        if len(lists) > 1:
            for index in range(max(map(len, lists))):
                column = [each[index] for each in lists if len(each) > index]
                if len(column) > 1:
                    pending.append(column)
    return columns


def _rows(dicts: Sequence[dict[Any, Any]]) -> list[tuple[Any, ...]] | None:
    """The values of ``dicts`` key by key when every one has the same keys (the events
    of a stream mostly do), else None."""
    keys = list(dicts[0])
    if len(keys) < 2 or set(map(len, dicts)) != {len(keys)}:
        return None
    try:
        return list(zip(*map(operator.itemgetter(*keys), dicts), strict=True))
    except KeyError:
        return None


def _joined(strings: Sequence[str], width: int) -> str:
    """``"".join(strings)`` for the literal checks, up to ``width`` characters long: each
    run of one string repeated (an id, a model name, an event type) cut to the copies
    that hold every text of ``width`` characters found in it and across its ends."""
    distinct = len(set(strings))
    if distinct * 4 > len(strings):
        return "".join(strings)
    parts = []
    for value, run in itertools.groupby(strings):
        count = len(list(run))
        if value and count > 2:
            count = min(count, (width - 1) // len(value) + 2)
        parts.append(value * count)
    return "".join(parts)


def _string_leaves(value: Any, path: tuple[Any, ...]) -> list[tuple[tuple[Any, ...], str]]:
    """Every string in ``value`` with its path (a loop, not recursion: it runs for each
    event of every stream recorded; exact types first, the JSON decoder's)."""
    leaves: list[tuple[tuple[Any, ...], str]] = []
    stack: list[tuple[tuple[Any, ...], Any]] = [(path, value)]
    while stack:
        where, item = stack.pop()
        cls = type(item)
        if cls is dict:
            pairs: Iterable[tuple[Any, Any]] = item.items()
        elif cls is list:
            pairs = enumerate(item)
        else:
            if isinstance(item, str):
                leaves.append((where, item))
            elif isinstance(item, dict):
                stack.extend(((*where, key), child) for key, child in item.items())
            elif isinstance(item, list):
                stack.extend(((*where, index), child) for index, child in enumerate(item))
            continue
        for key, child in pairs:
            kind = type(child)
            if kind is str:
                leaves.append(((*where, key), child))
            elif kind is dict or kind is list:
                stack.append(((*where, key), child))
            elif isinstance(child, str):
                leaves.append(((*where, key), child))
            elif isinstance(child, dict | list):
                stack.append(((*where, key), child))
    return leaves


def _set(value: Any, path: tuple[Any, ...], new: str) -> None:
    for part in path[:-1]:
        value = value[part]
    value[path[-1]] = new


def _with_data(text: str, data: Any) -> str:
    """The event ``text`` with its data lines replaced by ``data`` as one JSON line."""
    lines = [line for line in text.split("\n") if not line.startswith("data:")]
    lines.append("data: " + json.dumps(data, ensure_ascii=False, separators=(",", ":")))
    return "\n".join(lines)
