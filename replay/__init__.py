"""agent-replay: record an LLM agent's run into a cassette, replay it offline, compare.

The public API::

    @replay.tool / @replay.llm          mark boundary calls (sync or async)
    replay.now() / uuid4() / random()   nondeterminism that is recorded and served
    replay.record(path, ...)            record the run inside a ``with`` block
    replay.record_run(entrypoint, path) import an entrypoint, run it live, record it
    replay.capture(folder, keep=...)    production: capture every run, write the failing ones
    replay.replay(path, agent=...)      re-drive the agent from the cassette -> ReplayResult
    replay.replaying(path)              serve calls in a ``with`` block (for tests)
    replay.load_cassette(path)          read and validate a cassette

Importing this package is cheap: YAML, vcrpy and deepdiff load only when used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from replay.boundary import llm, now, random, tool, uuid4
from replay.errors import (
    CassetteError,
    CassetteVersionError,
    CassetteWriteError,
    Divergence,
    EntrypointError,
    NetworkBlocked,
    ReplayedError,
    ReplayError,
    SessionError,
)

__version__ = "0.1.0"

_LAZY = {
    "record": "replay.engine",
    "record_run": "replay.engine",
    "capture": "replay.capturing",
    "capture_stats": "replay.capturing",
    "flush_captures": "replay.capturing",
    "CaptureStats": "replay.capturing",
    "CaptureWriter": "replay.capturing",
    "replay": "replay.engine",
    "replaying": "replay.engine",
    "ReplayResult": "replay.engine",
    "load_cassette": "replay.storage",
    "save_cassette": "replay.storage",
    "Cassette": "replay.cassette",
    "Step": "replay.cassette",
    "Outcome": "replay.cassette",
    "RunContext": "replay.cassette",
    "HistoryDiff": "replay.diff",
    "diff_histories": "replay.diff",
}

if TYPE_CHECKING:
    from replay.capturing import CaptureStats, CaptureWriter, capture, capture_stats, flush_captures
    from replay.cassette import Cassette, Outcome, RunContext, Step
    from replay.diff import HistoryDiff, diff_histories
    from replay.engine import ReplayResult, record, record_run, replay, replaying
    from replay.storage import load_cassette, save_cassette


def __getattr__(name: str) -> Any:
    module_name = _LAZY.get(name)
    if module_name is None:
        raise AttributeError(f"module 'replay' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module_name), name)
    globals()[name] = value
    return value


__all__ = [
    "CaptureStats",
    "CaptureWriter",
    "Cassette",
    "CassetteError",
    "CassetteVersionError",
    "CassetteWriteError",
    "Divergence",
    "EntrypointError",
    "HistoryDiff",
    "NetworkBlocked",
    "Outcome",
    "ReplayError",
    "ReplayResult",
    "ReplayedError",
    "RunContext",
    "SessionError",
    "Step",
    "__version__",
    "capture",
    "capture_stats",
    "diff_histories",
    "flush_captures",
    "llm",
    "load_cassette",
    "now",
    "random",
    "record",
    "record_run",
    "replay",
    "replaying",
    "save_cassette",
    "tool",
    "uuid4",
]
