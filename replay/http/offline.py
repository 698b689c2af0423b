"""Offline replay: no socket to a non-loopback address while a replay runs.

Replayed HTTP never reaches a socket (the seams serve it or raise a divergence). This
guard is the net under them, for clients no seam captures: while a replaying session is
open, ``socket.connect``/``connect_ex``/``sendto`` to anything but loopback (or a local
socket) raises ``NetworkBlocked`` before any packet is sent, and the attempt is recorded
as a divergence of the replay. Contexts that are recording are left alone. The patch is
installed when the first replay starts and removed when the last one ends.

Not covered: name lookups through the C resolver (``getaddrinfo``) and C extensions
that open sockets themselves (e.g. pycurl, grpc); no connection follows from them here
for any client agent-replay captures.
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from typing import Any

from replay.boundary import Call
from replay.http.capture import (
    SharedPatch,
    block_request,
    caller_is_recording,
    offline_error_type,
    replaying_capture,
)
from replay.sockets import guard_socket, is_loopback

_INET = (socket.AF_INET, socket.AF_INET6)


def check(sock: socket.socket, address: Any) -> None:
    """Raise ``NetworkBlocked`` if ``sock`` may not reach ``address`` now."""
    if not GUARD.active or sock.family not in _INET or caller_is_recording():
        return
    if not isinstance(address, tuple) or not address or is_loopback(sock.family, address):
        return
    host, port = address[0], address[1] if len(address) > 1 else None
    where = f"{host}:{port}"
    reason = (
        f"connection to {where} refused: replay is offline (no recorded answer can be served "
        "at the socket level; capture this client's traffic or mark the call @replay.tool)"
    )
    capture = replaying_capture()
    if capture is None:
        raise offline_error_type()(
            step=-1,
            kind="llm",
            name=f"socket connect {where}",
            args={"address": where},
            reason=reason,
        )
    call = Call.of("llm", f"socket connect {where}", {"address": where}, capture.options.policy)
    raise block_request(capture, call, reason=reason, compare=False)


def _install() -> Callable[[], None]:
    cls = socket.socket
    saved = {name: cls.__dict__.get(name) for name in ("connect", "connect_ex", "sendto")}
    guard_socket(check, setattr)

    def undo() -> None:
        for name, previous in saved.items():
            if previous is None:
                delattr(cls, name)
            else:
                setattr(cls, name, previous)

    return undo


GUARD = SharedPatch(_install)
"""Refuses non-loopback sockets while at least one replaying session is open."""
