"""What replays of one loaded cassette share, and that sharing it changes nothing.

A cassette's lookup tables, span ids and its recorded args' marshal bytes are kept per
tuple of steps (``replay.matching.tables_of``); a session's setup finds and stats
``pyproject.toml`` once (``replay.config.pin``). Each cache is checked against the
uncached path and against a change it must not hide.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any

import pytest

import replay
from replay import config, storage
from replay.boundary import ReplayingSession, span_id_for
from replay.canonical import plain_bytes, stable_hash
from replay.cassette import Step
from replay.limits import max_steps_errors
from replay.matching import RecordedIndex, tables_of


@replay.tool
def lookup(query: str, limit: int = 3) -> dict[str, Any]:
    return {"query": query, "hits": [{"id": n, "tags": ["a", "b"]} for n in range(limit)]}


def agent(queries: list[str]) -> list[Any]:
    return [lookup(query) for query in queries]


def recorded(tmp_path: Path, queries: list[str]) -> replay.Cassette:
    path = tmp_path / "run.yaml"
    with replay.record(path, input={"queries": queries}) as recording:
        recording.set_result(agent(queries))
    return storage.load_cassette(path)


def replayed(cassette: replay.Cassette, queries: list[str]) -> replay.ReplayResult:
    """The replay's result; a divergence is its outcome, not an error of the test."""
    with replay.replaying(cassette) as state:
        try:
            state.set_result(agent(queries))
        except replay.Divergence as exc:
            state.set_exception(exc)
    assert state.result is not None
    return state.result


def comparable(history: tuple[Step, ...]) -> list[tuple[Any, ...]]:
    return [
        (s.index, s.kind, s.name, s.args, s.args_hash, s.result, s.error, s.span_id,
         s.parent_span_id)
        for s in history
    ]


def test_replays_of_one_cassette_share_its_tables_and_consume_their_own(tmp_path: Path) -> None:
    queries = ["refunds", "shipping", "refunds"]
    cassette = recorded(tmp_path, queries)
    first = replayed(cassette, queries)
    assert tables_of(cassette.steps) is tables_of(cassette.steps)
    second = replayed(cassette, queries)
    assert first.identical and second.identical
    assert comparable(first.history) == comparable(second.history)
    assert [s.span_id for s in second.history] == [
        span_id_for(cassette.context.trace_id, n) for n in range(3)
    ]


def test_the_cached_path_gives_what_the_uncached_one_gives(tmp_path: Path) -> None:
    """A list of steps is never cached: it takes the general path, with the same result."""
    queries = ["refunds", "shipping", "refunds", "returns"]
    cassette = recorded(tmp_path, queries)
    for changed in (queries, ["refunds", "billing", "refunds"], [*queries, "extra"]):
        cached = replayed(cassette, changed)
        general = replayed(dataclasses.replace(cassette, steps=list(cassette.steps)), changed)
        assert comparable(cached.history) == comparable(general.history)
        assert cached.diff.to_dict() == general.diff.to_dict()
        assert cached.unserved == general.unserved


def test_another_tuple_of_steps_gets_its_own_tables(tmp_path: Path) -> None:
    cassette = recorded(tmp_path, ["refunds"])
    tables = tables_of(cassette.steps)
    copy = tuple(list(cassette.steps))
    assert copy == cassette.steps and tables_of(copy) is not tables
    edited = dataclasses.replace(
        cassette.steps[0], args={"query": "other", "limit": 3},
        args_hash=stable_hash({"query": "other", "limit": 3}),
    )
    other = dataclasses.replace(cassette, steps=(edited,))
    assert replayed(other, ["other"]).identical
    assert replayed(other, ["refunds"]).diverged  # not served from the first tables


def test_cached_args_bytes_never_serve_changed_args(tmp_path: Path) -> None:
    """The recorded args' bytes are kept after the first comparison; a later call with
    other args (the same key, other types) is still compared against the recording."""
    cassette = recorded(tmp_path, ["refunds"])
    assert replayed(cassette, ["refunds"]).identical
    step = cassette.steps[0]
    assert tables_of(cassette.steps).args_bytes[0] == plain_bytes(step.args)
    index = RecordedIndex(cassette.steps)
    assert index.same_args_step("tool", "lookup", {"query": "refunds", "limit": 3}) is step
    assert index.same_args_step("tool", "lookup", {"query": "refunds", "limit": 3.0}) is None
    assert index.same_args_step("tool", "lookup", {"query": "refund", "limit": 3}) is None


def test_span_ids_past_the_recording_are_computed(tmp_path: Path) -> None:
    cassette = recorded(tmp_path, ["refunds"])
    session = ReplayingSession(cassette.steps, trace_id="another-trace")
    assert session._span_ids == (span_id_for("another-trace", 0),)
    with replay.replaying(cassette, on_miss="repeat") as state:
        state.set_result(agent(["refunds", "refunds"]))
    assert state.result is not None
    trace = cassette.context.trace_id
    assert [s.span_id for s in state.result.history] == [span_id_for(trace, n) for n in (0, 1)]


def _write_limits(folder: Path, names: list[str]) -> None:
    quoted = ", ".join(f'"{name}"' for name in names)
    (folder / "pyproject.toml").write_text(
        f'[project]\nname = "demo"\n\n[tool.replay]\nmax_steps_errors = [{quoted}]\n'
    )


def test_a_pin_stats_the_settings_once_and_a_new_session_sees_a_change(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    _write_limits(tmp_path, ["pkg.errors:First"])
    stats: list[str] = []
    real_stat = os.stat

    def counting_stat(path: Any, *args: Any, **kwargs: Any) -> Any:
        if str(path).endswith("pyproject.toml"):
            stats.append(str(path))
        return real_stat(path, *args, **kwargs)

    assert "pkg.errors.First" in max_steps_errors()  # built: later reads only check
    monkeypatch.setattr(config.os, "stat", counting_stat)
    max_steps_errors()
    one_read = len(stats)  # finding the file and reading its version
    assert one_read >= 1
    with config.pinned():
        max_steps_errors()
        max_steps_errors()
        config.per_version({}, tmp_path / "pyproject.toml", lambda: None)
    assert len(stats) == one_read + 1  # one stat finds the file and gives its version
    max_steps_errors()
    assert len(stats) == 2 * one_read + 1  # outside a pin every read checks the file

    cassette = recorded(tmp_path, ["refunds"])
    assert replayed(cassette, ["refunds"]).identical
    # A changed file (other size) is read by the next session: the pin ended with the setup.
    _write_limits(tmp_path, ["pkg.errors:Second", "pkg.errors:Third"])
    with replay.replaying(cassette) as state:
        assert "pkg.errors.Second" in max_steps_errors()
        state.set_result(agent(["refunds"]))
    (tmp_path / "pyproject.toml").write_text("[tool.replay]\nmax_steps_errors = 3\n")
    with pytest.raises(config.ConfigError), replay.replaying(cassette):
        pass
    assert config._pinned.get() is None  # a setup that failed left no pin behind
