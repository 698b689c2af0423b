"""Server-sent events: split a recorded stream into events, and read an event's fields.

A stream is stored as its list of events (the text between blank lines) so it can be
served again one chunk per event, which is how the SDKs' stream iterators consume it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any


def is_event_stream(content_type: str | None) -> bool:
    return bool(content_type) and content_type.split(";")[0].strip().lower() == "text/event-stream"


def split_events(text: str) -> list[str]:
    """The events of a stream, each without its terminating blank line."""
    normalized = text.replace("\r\n", "\n").replace("\r", "\n")
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

    def json(self) -> Any:
        """The data parsed as JSON, or None (e.g. OpenAI's ``[DONE]``)."""
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


def parse_events(events: Iterable[str]) -> Iterator[Event]:
    for text in events:
        yield parse_event(text)
