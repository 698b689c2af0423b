"""``--replay-allow-host`` and ini ``replay_allow_hosts``: the replays of a test reach a
local service live only when its host is allowed (replay refuses loopback otherwise)."""

from __future__ import annotations

import socketserver
import threading
from collections.abc import Iterator

import pytest

from tests.plugin.project import write_pyproject

pytest_plugins = ("pytester",)

AGENT = """\
import os
import socket


def run(question):
    port = int(os.environ["LOCAL_SERVICE_PORT"])
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        conn.sendall(question.encode() + b"\\n")
        return conn.makefile("rb").readline().decode().strip()
"""

TEST = """\
import local_agent


def test_asks(replay_cassette):
    assert replay_cassette.run(local_agent.run, {"question": "ping"}) == "PING"
"""


class _Upper(socketserver.StreamRequestHandler):
    def handle(self) -> None:
        self.server.connections += 1  # type: ignore[attr-defined]
        self.wfile.write(self.rfile.readline().upper())


@pytest.fixture
def service(monkeypatch: pytest.MonkeyPatch) -> Iterator[socketserver.ThreadingTCPServer]:
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Upper)
    server.connections = 0  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("LOCAL_SERVICE_PORT", str(server.server_address[1]))
    yield server
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("how", ["option", "ini"])
def test_a_local_service_is_reached_in_replay_only_when_allowed(
    pytester: pytest.Pytester, service: socketserver.ThreadingTCPServer, how: str
) -> None:
    port = service.server_address[1]
    write_pyproject(pytester.path)
    pytester.makepyfile(local_agent=AGENT, test_local=TEST)

    pytester.runpytest_subprocess("-p", "no:xdist").assert_outcomes(passed=1)  # recorded
    assert service.connections == 1  # type: ignore[attr-defined]

    refused = pytester.runpytest_subprocess("-p", "no:xdist")
    refused.assert_outcomes(failed=1)
    refused.stdout.fnmatch_lines([f"*connection to 127.0.0.1:{port} refused: replay is offline*"])
    assert service.connections == 1  # type: ignore[attr-defined]

    if how == "ini":
        write_pyproject(pytester.path, f'replay_allow_hosts = ["127.0.0.1:{port}"]')
        allowed = pytester.runpytest_subprocess("-p", "no:xdist")
    else:
        allowed = pytester.runpytest_subprocess(
            "-p", "no:xdist", "--replay-allow-host", f"127.0.0.1:{port}"
        )
    allowed.assert_outcomes(passed=1)
    assert service.connections == 2  # type: ignore[attr-defined]


def test_a_bad_host_is_a_usage_error(pytester: pytest.Pytester) -> None:
    write_pyproject(pytester.path)
    pytester.makepyfile(test_nothing="def test_nothing():\n    pass\n")
    result = pytester.runpytest_subprocess("-p", "no:xdist", "--replay-allow-host", "a b")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--replay-allow-host: 'a b' is not a host*"])
