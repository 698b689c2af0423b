"""Seams installed for each session from parts built once per process: the same state as
building them anew, nothing left behind, and the hermetic guard holding in every replay
and in none after it."""

from __future__ import annotations

import contextlib
import socket
from pathlib import Path
from typing import Any

import httpx2
import pytest

import replay
from replay import hermetic
from replay.http import transport, vcr_bridge


def _patched_state(patchers: Any) -> dict[tuple[int, str], Any]:
    return {
        (id(plain[0]), plain[1]): getattr(plain[0], plain[1])
        for _, plain in patchers
        if plain is not None
    }


def test_vcrpy_patches_applied_once_each_give_the_state_all_of_them_give() -> None:
    """vcrpy patches urllib3 twice (also as requests.packages.urllib3); the bridge applies
    the last patch of each attribute only. Entering every patch object in order (the
    general path) must give the very same attributes, and leaving either the originals."""
    from vcr.patch import CassettePatcherBuilder

    cassette, kept = vcr_bridge._Patchers.built()
    every = [(p, vcr_bridge._plain_patch(p)) for p in CassettePatcherBuilder(cassette).build()]
    assert len(kept) < len(every)
    before = {key: value for key, value in _patched_state(every).items()}
    with contextlib.ExitStack() as stack:
        for patcher, _ in every:
            stack.enter_context(patcher)
        general = _patched_state(every)
    assert _patched_state(every) == before
    with vcr_bridge.SEAM():
        ours = _patched_state(every)
    assert _patched_state(every) == before
    # The general path's stubs are other objects of the same classes, built by the builder
    # run above: compare what each attribute is, and that every attribute was patched.
    assert ours.keys() == general.keys()
    assert all(ours[key] is not before[key] for key in ours)
    assert {key: type(value) for key, value in ours.items()} == {
        key: type(value) for key, value in general.items()
    }


def test_the_transport_seam_is_built_once_per_original_and_undone() -> None:
    original = httpx2.HTTPTransport.__dict__["handle_request"]
    with transport.SEAM():
        first = httpx2.HTTPTransport.handle_request
    with transport.SEAM():
        assert httpx2.HTTPTransport.handle_request is first
    assert httpx2.HTTPTransport.__dict__["handle_request"] is original

    def replaced(self: Any, request: Any) -> Any:
        return original(self, request)

    httpx2.HTTPTransport.handle_request = replaced  # someone else's patch, between sessions
    try:
        with transport.SEAM():
            seam = httpx2.HTTPTransport.handle_request
            assert seam is not first and seam.__replay_seam__ is replaced
        assert httpx2.HTTPTransport.handle_request is replaced
    finally:
        httpx2.HTTPTransport.handle_request = original


def test_every_replay_is_sealed_and_nothing_is_after_it(cassette: Path) -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    address = listener.getsockname()
    try:
        with replay.record(cassette):
            pass
        for _ in range(3):
            socket.create_connection(address, timeout=5).close()  # no replay: let through
            with replay.replaying(cassette) as replaying, pytest.raises(replay.NetworkBlocked):
                socket.create_connection(address, timeout=5)
            assert replaying.result is not None and replaying.result.divergence is not None
            assert hermetic._seals == {}
        socket.create_connection(address, timeout=5).close()
    finally:
        listener.close()


def test_no_finder_of_the_setup_stays_on_the_import_path(cassette: Path) -> None:
    """The setup watches imports (to keep the global random as it was) only while it
    installs the seams: after every session ``sys.meta_path`` is as it was."""
    import sys

    before = list(sys.meta_path)
    with replay.record(cassette):
        assert not any(type(f).__name__ == "_ImportWatch" for f in sys.meta_path)
    assert sys.meta_path == before
    with replay.replaying(cassette):
        pass
    assert sys.meta_path == before
