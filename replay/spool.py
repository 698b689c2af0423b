"""A read-only sequence of records kept on disk: memory flat in how many there are.

A golden set of 10,000 runs gives 10,000 run records; holding them all would make the
parent process grow with the set. ``Spool`` writes each record as one JSON line to an
anonymous temporary file (deleted by the OS when closed, also on a crash), in arrival
order, and where it lies (offset and length, 16 bytes) to a second one, the index, at
the record's position: nothing is kept in memory per record. A record can be put at
its position when it arrives out of order (``append(record, at=i)``: a worker pool
finishing batches out of order), so reading back (iteration, indexing) decodes one
record at a time in position order with no sort. ``sort()`` reorders by key instead
(it reads the keys back once). Records round-trip through their
``to_dict``/``from_dict``, the same form the JSON report holds them in.
"""

from __future__ import annotations

import json
import os
import struct
import tempfile
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Generic, TypeVar, overload

T = TypeVar("T")

_SLOT = struct.Struct("<qq")  # offset and length of the record at a position
_BLOCK = 4096  # index slots read at once when iterating


def _pwrite_all(fd: int, data: bytes, offset: int) -> None:
    written = 0
    while written < len(data):
        written += os.pwrite(fd, data[written:], offset + written)


class Spool(Sequence[T], Generic[T]):
    """Records in a temporary JSON-lines file; a ``Sequence`` of them by position."""

    __hash__ = None  # type: ignore[assignment]

    def __init__(
        self,
        *,
        to_dict: Callable[[T], dict[str, Any]],
        from_dict: Callable[[dict[str, Any]], T],
        key: Callable[[T], str] | None = None,
    ) -> None:
        self._to_dict = to_dict
        self._from_dict = from_dict
        self._key = key
        # Deleted by the OS when closed; closed with the spool (no ``with``: they live on).
        self._file = tempfile.TemporaryFile(prefix="replay-spool-")  # noqa: SIM115
        self._index = tempfile.TemporaryFile(prefix="replay-spool-index-")  # noqa: SIM115
        self._size = 0  # bytes of records written
        self._length = 0  # positions: one past the highest one filled
        self._count = 0  # records appended

    def append(self, record: T, *, at: int | None = None) -> None:
        """Add ``record`` last, or at position ``at`` (each position filled once)."""
        line = json.dumps(self._to_dict(record), ensure_ascii=False, separators=(",", ":"))
        # surrogatepass: a file name that is not UTF-8 (surrogate-escaped) round-trips
        data = line.encode("utf-8", "surrogatepass") + b"\n"
        position = self._length if at is None else at
        if position < 0:
            raise IndexError(f"spool position must be >= 0, not {position}")
        _pwrite_all(self._file.fileno(), data, self._size)
        _pwrite_all(self._index.fileno(), _SLOT.pack(self._size, len(data)), position * _SLOT.size)
        self._size += len(data)
        self._length = max(self._length, position + 1)
        self._count += 1

    def sort(self) -> None:
        """Put the records in key order (stable: equal keys keep their position order).

        Reads every record's key back once; the spools ``run_set`` fills are already
        in order and are not sorted."""
        if self._key is None:
            raise TypeError("this spool has no key to sort by")
        slots = [self._slot(index) for index in range(len(self))]
        keys = [self._key(self._decode(*slot)) for slot in slots]
        order = sorted(range(len(slots)), key=keys.__getitem__)
        del keys
        data = b"".join(_SLOT.pack(*slots[arrival]) for arrival in order)
        _pwrite_all(self._index.fileno(), data, 0)

    def _slot(self, index: int) -> tuple[int, int]:
        raw = os.pread(self._index.fileno(), _SLOT.size, index * _SLOT.size)
        offset, length = _SLOT.unpack(raw) if len(raw) == _SLOT.size else (0, 0)
        if not length:
            raise LookupError(f"no record at spool position {index} (never appended)")
        return offset, length

    def _decode(self, offset: int, length: int) -> T:
        data = os.pread(self._file.fileno(), length, offset)
        return self._from_dict(json.loads(data.decode("utf-8", "surrogatepass")))

    def __len__(self) -> int:
        if self._count != self._length:
            raise LookupError(
                f"the spool has {self._count} records over {self._length} positions: "
                "some position was never appended (or twice)"
            )
        return self._length

    @overload
    def __getitem__(self, position: int) -> T: ...
    @overload
    def __getitem__(self, position: slice) -> list[T]: ...
    def __getitem__(self, position: int | slice) -> T | list[T]:
        if isinstance(position, slice):
            return [self._decode(*self._slot(index)) for index in range(len(self))[position]]
        return self._decode(*self._slot(range(len(self))[position]))

    def __iter__(self) -> Iterator[T]:
        length = len(self)
        for start in range(0, length, _BLOCK):
            count = min(_BLOCK, length - start)
            raw = os.pread(self._index.fileno(), count * _SLOT.size, start * _SLOT.size)
            for offset, size in _SLOT.iter_unpack(raw):
                if not size:
                    raise LookupError("a spool position was never appended")
                yield self._decode(offset, size)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Sequence) or isinstance(other, str | bytes):
            return NotImplemented
        return len(self) == len(other) and all(a == b for a, b in zip(self, other, strict=True))

    def __repr__(self) -> str:
        return f"<Spool of {self._count} records>"

    def close(self) -> None:
        self._file.close()
        self._index.close()
