"""A read-only sequence of records kept on disk: memory flat in how many there are.

A golden set of 10,000 runs gives 10,000 run records; holding them all would make the
parent process grow with the set. ``Spool`` appends each record as one JSON line to an
anonymous temporary file (deleted by the OS when closed, also on a crash) and keeps
only its sort key and offset: the key's string and 24 bytes a record. Reading it back
(iteration, indexing) decodes one record at a time, in key order once ``sort()`` ran.
Records round-trip through their ``to_dict``/``from_dict``, the same form the JSON
report holds them in.
"""

from __future__ import annotations

import json
import os
import tempfile
from array import array
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Generic, TypeVar, overload

T = TypeVar("T")


class Spool(Sequence[T], Generic[T]):
    """Records appended to a temporary JSON-lines file; a ``Sequence`` of them."""

    __hash__ = None  # type: ignore[assignment]

    def __init__(
        self,
        *,
        to_dict: Callable[[T], dict[str, Any]],
        from_dict: Callable[[dict[str, Any]], T],
        key: Callable[[T], str],
    ) -> None:
        self._to_dict = to_dict
        self._from_dict = from_dict
        self._key = key
        # Deleted by the OS when closed; closed with the spool (no ``with``: it lives on).
        self._file = tempfile.TemporaryFile(prefix="replay-spool-")  # noqa: SIM115
        self._size = 0
        # Records lie end to end in arrival order: record i is offsets[i]..offsets[i+1].
        self._keys: list[str] = []
        self._offsets = array("q")
        self._order: array[int] | None = None  # arrival positions in key order, once sorted

    def append(self, record: T) -> None:
        line = json.dumps(self._to_dict(record), ensure_ascii=False, separators=(",", ":"))
        data = line.encode("utf-8") + b"\n"
        fd = self._file.fileno()
        written = 0
        while written < len(data):
            written += os.pwrite(fd, data[written:], self._size + written)
        if self._order is not None:  # after sort(), a new record comes last
            self._order.append(len(self._offsets))
        self._keys.append(self._key(record))
        self._offsets.append(self._size)
        self._size += len(data)

    def sort(self) -> None:
        """Put the records in key order (stable: equal keys keep their arrival order)."""
        self._order = array("q", sorted(range(len(self._keys)), key=self._keys.__getitem__))

    def _read(self, index: int) -> T:
        arrival = index if self._order is None else self._order[index]
        offset = self._offsets[arrival]
        end = self._offsets[arrival + 1] if arrival + 1 < len(self._offsets) else self._size
        return self._from_dict(json.loads(os.pread(self._file.fileno(), end - offset, offset)))

    def __len__(self) -> int:
        return len(self._offsets)

    @overload
    def __getitem__(self, position: int) -> T: ...
    @overload
    def __getitem__(self, position: slice) -> list[T]: ...
    def __getitem__(self, position: int | slice) -> T | list[T]:
        if isinstance(position, slice):
            return [self._read(index) for index in range(len(self))[position]]
        return self._read(range(len(self))[position])

    def __iter__(self) -> Iterator[T]:
        for index in range(len(self)):
            yield self._read(index)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Sequence) or isinstance(other, str | bytes):
            return NotImplemented
        return len(self) == len(other) and all(a == b for a, b in zip(self, other, strict=True))

    def __repr__(self) -> str:
        return f"<Spool of {len(self)} records>"

    def close(self) -> None:
        self._file.close()
