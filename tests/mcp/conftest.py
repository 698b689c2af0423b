"""Fixtures of the MCP tests: the "orders" server as a command on PATH (stdio) and as a
streamable HTTP server on 127.0.0.1 (one per test session), the fake model server, and
the environment the agents in ``tests/mcp/agents.py`` read."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from replay.testing.fixtures import fake_llm  # noqa: F401  (the fixture)

REPO = Path(__file__).resolve().parents[2]
OPENAI_KEY = "sk-proj-TESTKEYopenai0123456789abcdefXYZ"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def server_bin(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder holding ``mcp-orders``: the stdio server as a command, as users install it."""
    folder = tmp_path_factory.mktemp("mcp-bin")
    script = folder / "mcp-orders"
    script.write_text(
        f"#!{sys.executable}\n"
        "import sys\n"
        f"sys.path.insert(0, {str(REPO)!r})\n"
        "from tests.mcp.server import main\n"
        "main(sys.argv[1:])\n",
        encoding="utf-8",
    )
    script.chmod(0o755)
    return folder


@pytest.fixture(scope="session")
def http_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The orders server over streamable HTTP on 127.0.0.1 (shared by the session): its URL."""
    port = free_port()
    log = tmp_path_factory.mktemp("mcp-http") / "server.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "tests.mcp.server", "--http", str(port)],
            cwd=REPO,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    message = f"the MCP HTTP server did not start:\n{log.read_text()}"
                    raise RuntimeError(message) from None
                time.sleep(0.05)
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        process.terminate()
        process.wait(timeout=10)


@dataclass
class Env:
    """What the agents read, switched between recording (servers reachable) and replaying
    (the ``mcp-orders`` command not on PATH, the HTTP URL on a closed port)."""

    monkeypatch: pytest.MonkeyPatch
    server_bin: Path
    http_url: str
    server_log: Path

    def live(self) -> None:
        self.monkeypatch.setenv("PATH", f"{self.server_bin}{os.pathsep}{os.environ['PATH']}")
        self.monkeypatch.setenv("ORDERS_MCP_URL", self.http_url)

    def offline(self) -> None:
        path = [p for p in os.environ["PATH"].split(os.pathsep) if p != str(self.server_bin)]
        self.monkeypatch.setenv("PATH", os.pathsep.join(path))
        self.monkeypatch.setenv("ORDERS_MCP_URL", f"http://127.0.0.1:{free_port()}/mcp")

    def starts(self) -> int:
        """How many times the stdio server was started so far."""
        if not self.server_log.exists():
            return 0
        return len(self.server_log.read_text(encoding="utf-8").splitlines())


@pytest.fixture
def env(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    server_bin: Path,
    http_server: str,
    fake_llm,  # noqa: F811
) -> Env:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("OPENAI_API_KEY", OPENAI_KEY)
    monkeypatch.setenv("OPENAI_BASE_URL", fake_llm.openai_url)
    monkeypatch.setenv("OPENAI_AGENTS_DISABLE_TRACING", "1")
    monkeypatch.setenv("PYTHONWARNINGS", "ignore")
    log = tmp_path / "server-starts.log"
    monkeypatch.setenv("MCP_ORDERS_LOG", str(log))
    environment = Env(monkeypatch, server_bin, http_server, log)
    environment.live()
    return environment
