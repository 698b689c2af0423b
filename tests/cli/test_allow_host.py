"""``--allow-host``: a replayed agent reaches a local service only when it is allowed.

The agent (tests/agents/cli_local_service.py) asks a service on 127.0.0.1 over a raw
socket, which no seam records: replay refuses it (loopback is not special) unless the
host is allowed, on the command line (also for golden worker processes) or in
``[tool.replay] allow_hosts``.
"""

from __future__ import annotations

import socketserver
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

import replay
from tests.cli.conftest import cli

AGENT = "tests.agents.cli_local_service:run"


class _Upper(socketserver.StreamRequestHandler):
    def handle(self) -> None:
        self.wfile.write(self.rfile.readline().upper())


@pytest.fixture
def service() -> Iterator[tuple[int, list[int]]]:
    """A line service on 127.0.0.1 answering in capitals; yields (port, connections)."""
    connections: list[int] = []

    class Counted(_Upper):
        def handle(self) -> None:
            connections.append(1)
            super().handle()

    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Counted)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1], connections
    server.shutdown()
    server.server_close()


def _record(folder: Path, port: int, name: str = "run") -> Path:
    path = folder / f"{name}.yaml"
    replay.record_run(AGENT, path, input={"port": port, "question": "ping"}, run_id=name)
    return path


def test_replay_run_refuses_the_local_service_unless_allowed(
    tmp_path: Path, service: tuple[int, list[int]]
) -> None:
    port, connections = service
    cassette = _record(tmp_path, port)
    assert len(connections) == 1

    refused = cli("run", cassette, "--repeat", "1", "--json", cwd=tmp_path)
    assert refused.code == 2, refused
    assert refused.json()["verdict"] == "diverged"
    assert len(connections) == 1, "replay reached the service"

    allowed = cli(
        "run",
        cassette,
        "--repeat",
        "1",
        "--allow-host",
        f"127.0.0.1:{port}",
        "--json",
        cwd=tmp_path,
    )
    assert allowed.code == 0, allowed
    assert allowed.json()["verdict"] == "match"
    assert len(connections) == 2


def test_allow_hosts_in_pyproject_applies_to_replay_run(
    tmp_path: Path, service: tuple[int, list[int]]
) -> None:
    port, connections = service
    cassette = _record(tmp_path, port)
    (tmp_path / "pyproject.toml").write_text(
        '[tool.replay]\nallow_hosts = ["localhost"]\n', encoding="utf-8"
    )
    result = cli("run", cassette, "--repeat", "1", "--json", cwd=tmp_path)
    assert result.code == 0, result
    assert len(connections) == 2


def test_a_bad_allow_host_is_one_line(tmp_path: Path, service: tuple[int, list[int]]) -> None:
    cassette = _record(tmp_path, service[0])
    result = cli("run", cassette, "--allow-host", "http://localhost:11434", cwd=tmp_path)
    assert result.code == 3, result
    assert "--allow-host: 'http://localhost:11434' is not a host" in result.stderr
    assert "Traceback" not in result.stderr


def test_golden_workers_get_the_allowed_hosts(
    tmp_path: Path, service: tuple[int, list[int]]
) -> None:
    port, connections = service
    folder = tmp_path / "golden"
    for name in ("one", "two"):
        _record(folder, port, name)
    assert len(connections) == 2

    refused = cli("golden", "run", folder, "-n", "2", "--repeat", "1", "--json", cwd=tmp_path)
    assert refused.code == 1, refused
    assert len(connections) == 2

    allowed = cli(
        "golden",
        "run",
        folder,
        "-n",
        "2",
        "--repeat",
        "1",
        "--allow-host",
        "127.0.0.1",
        "--json",
        cwd=tmp_path,
    )
    assert allowed.code == 0, allowed
    assert len(connections) == 4
