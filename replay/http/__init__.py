"""LLM calls over HTTP: captured into the run's cassette, served from it on replay.

``intercept(session)`` is entered by ``replay.record``/``replay.replaying`` for the
whole session (see ``replay.engine._network_seams``). Inside it every HTTP request a
client sends from the session's context becomes an ``llm`` step: httpx and httpx2 (the
openai and anthropic SDKs) at their transport, everything else vcrpy patches through a
bridge cassette. Requests from threads without the context, and to ``[tool.replay]
ignore_hosts``, never do. Replaying serves the steps and refuses the network.

    options.py    [tool.replay.http]: match, ignore, redact_patterns, redact_headers
    redact.py     replay/redact.py with [tool.replay.http] options: secrets out before storing
    exchange.py   request -> Call, response -> result + raw ``http`` field, and back
    streaming.py  a recorded exchange's step; SSE passed through live while recording
    wire.py       the common shape; openai.py, anthropic.py, sse.py: wire formats
    capture.py    per-session capture, process-wide patches shared by sessions
    transport.py  the httpx/httpx2 seam; vcr_bridge.py the vcrpy seam
    offline.py    replay is hermetic: no connection, lookup or process (replay.hermetic)

Importing this package is cheap: vcrpy, httpx2 and the SDKs load inside ``intercept``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from replay.boundary import Session
    from replay.http.capture import HttpCapture
    from replay.http.options import HttpOptions

__all__ = ["close_capture", "intercept", "open_capture"]


@contextmanager
def intercept(session: Session, *, options: HttpOptions | None = None) -> Iterator[HttpCapture]:
    """Capture (recording) or serve and block (replaying) HTTP for ``session``.

    ``options`` default to the project's ``[tool.replay.http]`` table.
    """
    capture = open_capture(session, options=options)
    try:
        yield capture
    finally:
        close_capture(capture)


def open_capture(session: Session, *, options: HttpOptions | None = None) -> HttpCapture:
    """``intercept`` without a block (the engine's setup, which every session runs):
    the seams are in force until ``close_capture``; when this raises, nothing is."""
    load_policy, offline, transport, vcr_bridge, capture_module, load_options = _parts()
    capture = capture_module.HttpCapture(
        session, options if options is not None else load_options(), load_policy()
    )
    # vcrpy first, the transport seam over it: httpx traffic meets our seam first.
    vcr_bridge.SEAM.acquire()
    try:
        transport.SEAM.acquire()
        try:
            if capture.replaying:
                offline.seal(capture)
            try:
                capture_module.attach(capture)
            except BaseException:
                if capture.replaying:
                    offline.unseal(capture)
                raise
        except BaseException:
            transport.SEAM.release()
            raise
    except BaseException:
        try:
            vcr_bridge.forget(capture)
        finally:
            vcr_bridge.SEAM.release()
        raise
    return capture


def close_capture(capture: HttpCapture) -> None:
    """End what ``open_capture`` began, in reverse order; each part is undone even when
    an earlier one raises."""
    _, offline, transport, vcr_bridge, capture_module, _ = _parts()
    try:
        try:
            try:
                try:
                    capture.end_streams()
                finally:
                    capture_module.detach(capture)
            finally:
                if capture.replaying:
                    offline.unseal(capture)
        finally:
            transport.SEAM.release()
    finally:
        try:
            vcr_bridge.forget(capture)
        finally:
            vcr_bridge.SEAM.release()


_imported: tuple[Any, ...] = ()


def _parts() -> tuple[Any, ...]:
    """What ``intercept`` uses, imported on its first call (importing this package stays
    cheap) and then kept."""
    global _imported
    if not _imported:
        from replay.hermetic import load_policy
        from replay.http import capture, offline, transport, vcr_bridge
        from replay.http.options import load_options

        _imported = (load_policy, offline, transport, vcr_bridge, capture, load_options)
    return _imported
