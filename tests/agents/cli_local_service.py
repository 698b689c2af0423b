"""An agent that asks a local service over a raw socket (a cache, a local model server
with its own protocol): no HTTP seam sees it, so replay reaches it only when allowed."""

from __future__ import annotations

import socket
from typing import Any


def run(port: int, question: str) -> dict[str, Any]:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        conn.sendall(question.encode() + b"\n")
        answer = conn.makefile("rb").readline().decode().strip()
    return {"output": answer}
