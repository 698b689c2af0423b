"""Refusing network connections: one loopback test and one socket patch, shared by the
offline replay guard (``replay.http.offline``) and pytest's ``--replay-block-network``.

Standard library only: the pytest plugin imports it in every project.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable
from typing import Any

Refuse = Callable[[socket.socket, Any], None]
SetAttr = Callable[[type, str, Any], None]


def is_loopback(family: int, address: Any) -> bool:
    """A Unix socket, ``localhost``, or a loopback/unspecified IP address: this machine."""
    if family not in (socket.AF_INET, socket.AF_INET6):
        return True
    host = address[0] if isinstance(address, tuple) and address else address
    if isinstance(host, bytes):
        host = host.decode("ascii", "replace")
    if not isinstance(host, str):
        return False
    host = host.split("%", 1)[0].strip("[]").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return False
    mapped = getattr(ip, "ipv4_mapped", None)
    if mapped is not None:
        ip = mapped
    return ip.is_loopback or ip.is_unspecified


def address_text(address: Any) -> str:
    """``host:port`` for an (host, port, ...) tuple, else the address as text."""
    if isinstance(address, tuple) and len(address) >= 2:
        return f"{address[0]}:{address[1]}"
    return str(address)


def guard_socket(refuse: Refuse, set_attribute: SetAttr) -> None:
    """Make ``socket.connect``/``connect_ex``/``sendto`` call ``refuse(sock, address)``
    first. ``set_attribute`` applies each patch (``MonkeyPatch.setattr``, or a setter
    that keeps an undo log), so whoever patches also owns the undo."""
    cls = socket.socket
    connect, connect_ex, sendto = cls.connect, cls.connect_ex, cls.sendto

    def guarded_connect(self: socket.socket, address: Any) -> None:
        refuse(self, address)
        return connect(self, address)

    def guarded_connect_ex(self: socket.socket, address: Any) -> int:
        refuse(self, address)
        return connect_ex(self, address)

    def guarded_sendto(self: socket.socket, data: Any, *args: Any) -> int:
        if args:
            refuse(self, args[-1])
        return sendto(self, data, *args)

    set_attribute(cls, "connect", guarded_connect)
    set_attribute(cls, "connect_ex", guarded_connect_ex)
    set_attribute(cls, "sendto", guarded_sendto)
