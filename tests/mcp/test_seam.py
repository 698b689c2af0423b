"""The MCP seam itself: server addresses, its install and removal, its loud failure when
the SDK's transport functions change shape, and the module staying light to import."""

from __future__ import annotations

import subprocess
import sys
from contextlib import asynccontextmanager

import pytest

import replay
from replay import mcp as replay_mcp
from replay.errors import ReplayError


@pytest.mark.parametrize(
    ("url", "address"),
    [
        ("http://127.0.0.1:8123/mcp", "http://127.0.0.1/mcp"),
        ("http://localhost:5000/mcp/", "http://localhost/mcp/"),
        (
            "https://user:secret@mcp.example.com:8443/v1?token=abc",
            "https://mcp.example.com:8443/v1",
        ),
        ("http://[::1]:9000/mcp", "http://[::1]/mcp"),
    ],
)
def test_url_address_drops_local_ports_and_secrets(url, address):
    assert replay_mcp.url_address(url) == address


def test_stdio_address_is_the_command_name_and_its_arguments():
    from mcp import StdioServerParameters

    params = StdioServerParameters(command="/opt/venv/bin/mcp-orders", args=["--db", "a b"])
    assert replay_mcp.stdio_address(params) == "mcp-orders --db 'a b'"


def test_seam_is_installed_only_while_a_session_is_open(tmp_path):
    import mcp.client.stdio as stdio

    original = stdio.stdio_client.__wrapped__
    cell = replay_mcp._generator_cell(stdio.stdio_client, "stdio_client")
    with replay.record(tmp_path / "run.yaml"):
        assert cell.cell_contents.__replay_seam__ is original
    assert cell.cell_contents is original


def test_a_transport_function_of_another_shape_fails_loudly():
    async def plain_function():
        yield None

    with pytest.raises(ReplayError, match="not an @asynccontextmanager function"):
        replay_mcp._generator_cell(plain_function, "mcp.client.stdio.stdio_client")
    wrapped = asynccontextmanager(plain_function)
    assert replay_mcp._generator_cell(wrapped, "x").cell_contents is plain_function


def test_importing_replay_and_its_mcp_module_does_not_import_the_sdk():
    code = "import replay, replay.mcp, replay.http.capture, sys; print('mcp' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


LAZY_IMPORT = """
import sys, replay
with replay.record(sys.argv[1]):
    print('mcp' in sys.modules)
    import mcp.client.stdio as stdio
    from replay.mcp import _generator_cell
    cell = _generator_cell(stdio.stdio_client, 'stdio_client')
    print(hasattr(cell.cell_contents, '__replay_seam__'))
print(hasattr(cell.cell_contents, '__replay_seam__'))
"""


def test_sessions_do_not_import_the_sdk_and_seam_it_when_the_agent_does(tmp_path):
    out = subprocess.run(
        [sys.executable, "-c", LAZY_IMPORT, str(tmp_path / "run.yaml")],
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.split() == ["False", "True", "False"]


def test_replayed_progress_carries_the_token_of_the_request_in_flight():
    recorded = {
        "jsonrpc": "2.0",
        "method": "notifications/progress",
        "params": {"progressToken": 3, "progress": 1},
    }
    log = {"jsonrpc": "2.0", "method": "notifications/message", "params": {"data": "x"}}

    assert replay_mcp._for_request(recorded, 7)["params"] == {"progressToken": 7, "progress": 1}
    assert replay_mcp._for_request(recorded, None) is recorded
    assert replay_mcp._for_request(log, 7) is log
