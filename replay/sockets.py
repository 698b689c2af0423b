"""Socket addresses as the guards see them: what is this machine, and how to name it.

Shared by the audit hook of ``replay.hermetic`` (hermetic replay, pytest's
``--replay-block-network``) and their messages. Standard library only: the pytest plugin
imports it in every project.
"""

from __future__ import annotations

import ipaddress
import socket
from typing import Any


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
