"""Virtual time in replay: waits the agent asks for return at once, and are counted.

A replay serves every answer from the recording, so a back-off between retries (the
agent's own ``time.sleep``/``asyncio.sleep``, or an SDK's retry wait honouring
``retry-after``) only makes the replay slower: it cannot change what the replay is
served. Like Temporal's durable timers, a wait in replay completes at once and the
virtual clock moves on by the time asked for. ``replay.now()`` is unaffected: it is
served from the recording, so it moves on exactly as it did when the run was recorded.
Recording (and code outside any session) keeps real waits.

The waits are patched once per process (``time.sleep``, ``asyncio.sleep`` and anyio's
asyncio backend, which openai's and anthropic's async clients sleep through) with a
check of a ``ContextVar``: only code running in a replay's context (the run's thread,
its asyncio tasks, and threads started with a copy of its context) gets virtual waits;
every other thread and test sleeps for real. What is not virtual: ``time.monotonic()``
and ``time.time()`` read directly (they keep real time: a deadline loop on them sees the
waits as short), a ``sleep`` imported by name before the first replay of the process
(``from time import sleep``), ``threading.Event.wait``/``Condition.wait`` timeouts, and
trio. Concurrent waits of different lengths no longer finish in their recorded order;
calls are matched by what they ask, not by when.
"""

from __future__ import annotations

import contextvars
import math
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Any

_real_sleep = time.sleep


@dataclass
class VirtualClock:
    """The waits one replay asked for and did not wait: their count and total seconds."""

    waited_s: float = 0.0
    waits: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def advance(self, seconds: float) -> None:
        with self._lock:
            self.waited_s += seconds
            self.waits += 1


_clock: contextvars.ContextVar[VirtualClock | None] = contextvars.ContextVar(
    "replay_virtual_clock", default=None
)


def current_clock() -> VirtualClock | None:
    """The virtual clock of the replay this code runs in, or None (real time)."""
    return _clock.get()


class _VirtualTime:
    """``virtual_time()``: a class, not a generator, since every replay enters it."""

    __slots__ = ("_token",)

    def __enter__(self) -> VirtualClock:
        install()
        clock = VirtualClock()
        self._token = _clock.set(clock)
        return clock

    def __exit__(self, *exc_info: object) -> None:
        _clock.reset(self._token)


virtual_time = _VirtualTime
"""``with virtual_time() as clock:`` makes waits in this context (and contexts copied
from it) virtual for the block; ``clock`` adds up what they asked for."""


def _virtual(delay: Any) -> VirtualClock | None:
    """The clock to advance for this wait; None to wait for real (no replay here, or a
    wait that is not a finite positive number: zero keeps its "yield" meaning, and bad
    values reach the real function for its own error)."""
    clock = _clock.get()
    if clock is None or isinstance(delay, bool) or not isinstance(delay, int | float):
        return None
    if not (0 < delay < math.inf):
        return None
    return clock


def _sleep(seconds: float, /) -> None:
    clock = _virtual(seconds)
    if clock is None:
        _real_sleep(seconds)
        return
    clock.advance(float(seconds))
    _real_sleep(0)  # still let other threads run, as a real wait would


_installed: set[str] = set()
_install_lock = threading.Lock()


def install() -> None:
    """Patch the waits (once per process; again for anyio once it is imported)."""
    with _install_lock:
        if "time" not in _installed:
            time.sleep = _sleep
            _installed.add("time")
        if "asyncio" not in _installed and "asyncio" in sys.modules:
            _install_asyncio()
            _installed.add("asyncio")
        if "anyio" not in _installed and "anyio" in sys.modules:
            _install_anyio()
            _installed.add("anyio")


def _install_asyncio() -> None:
    import asyncio

    real = asyncio.sleep

    async def sleep(delay: float, result: Any = None) -> Any:
        clock = _virtual(delay)
        if clock is None:
            return await real(delay, result)
        clock.advance(float(delay))
        return await real(0, result)  # a wait still yields to the event loop

    sleep.__doc__ = real.__doc__
    sleep.__wrapped__ = real  # type: ignore[attr-defined]
    asyncio.sleep = sleep  # type: ignore[assignment]


def _install_anyio() -> None:
    """anyio's asyncio backend calls the ``asyncio.sleep`` it imported by name: patch the
    backend's ``sleep`` (what ``anyio.sleep`` calls), not anyio's own internal waits."""
    try:
        from anyio._backends._asyncio import AsyncIOBackend
    except Exception:  # another anyio layout: its waits stay real
        return
    real = AsyncIOBackend.sleep

    async def sleep(cls: Any, delay: float) -> None:
        clock = _virtual(delay)
        if clock is None:
            return await real(delay)
        clock.advance(float(delay))
        return await real(0)

    AsyncIOBackend.sleep = classmethod(sleep)  # type: ignore[method-assign,assignment]
