"""Offline replay: the HTTP capture's side of the hermetic guard (``replay.hermetic``).

Replayed HTTP never reaches a socket (the seams serve it or raise a divergence). The
guard is the net under them, for clients no seam captures and for everything else:
while a replaying session is open, every connection, datagram, name lookup and process
start is refused before anything is sent, loopback included, unless its host is allowed
(``--allow-host``, ``[tool.replay] allow_hosts``). The run's own attempts become
divergences, raised as the ``NetworkBlocked`` class the SDKs do not retry; traffic from
threads without the run's context, and to ``ignore_hosts``, fails as a refused
connection without touching the run.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Any

from replay import hermetic
from replay.http.capture import HttpCapture, offline_error_type


def guard(capture: HttpCapture) -> AbstractContextManager[Any]:
    """Seal the process for ``capture``'s replaying session while the block runs."""
    return hermetic.sealed(
        capture.session, policy=capture.policy, network_error=offline_error_type
    )


def seal(capture: HttpCapture) -> None:
    """``guard`` without a block: sealed until ``unseal(capture)``."""
    hermetic.seal(capture.session, policy=capture.policy, network_error=offline_error_type)


def unseal(capture: HttpCapture) -> None:
    hermetic.unseal(capture.session)
