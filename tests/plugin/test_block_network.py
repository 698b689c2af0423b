"""``--replay-block-network``: non-loopback connections and datagrams refused per test.

The inner tests check that the guard is active before they try a remote address, so a
broken guard fails the test instead of reaching the network; the remote address is
TEST-NET-1 (never routed), and every attempt is refused before a packet is sent.
"""

from __future__ import annotations

import socket

import pytest

from replay.hermetic import blocking_active
from replay.sockets import is_loopback
from tests.plugin.project import write_pyproject

pytest_plugins = ("pytester",)

INNER_TESTS = """
import _socket
import socket
import socketserver
import threading

import pytest

from replay.hermetic import blocking_active
from replay.pytest_plugin import SocketBlocked


def guarded():
    return blocking_active()


@pytest.fixture
def loopback_server():
    server = socketserver.TCPServer(("127.0.0.1", 0), socketserver.BaseRequestHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address
    server.shutdown()
    server.server_close()


def test_loopback_is_allowed(loopback_server):
    assert guarded()
    with socket.create_connection(loopback_server, timeout=5):
        pass


def test_a_remote_connection_is_refused():
    assert guarded()
    with pytest.raises(SocketBlocked) as refused:
        socket.create_connection(("192.0.2.10", 80), timeout=1)
    assert str(refused.value) == (
        "--replay-block-network refused a connection to 192.0.2.10:80 in "
        "test_net.py::test_a_remote_connection_is_refused; replay it from a cassette "
        "(replay_cassette) or drop the option"
    )


def test_a_remote_datagram_is_refused():
    assert guarded()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp, pytest.raises(SocketBlocked):
        udp.sendto(b"x", ("192.0.2.10", 53))


def test_sendmsg_and_a_low_level_socket_are_refused_too():
    assert guarded()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp, pytest.raises(SocketBlocked):
        udp.sendmsg([b"x"], [], 0, ("192.0.2.10", 53))
    raw = _socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        with pytest.raises(SocketBlocked):
            raw.connect(("192.0.2.10", 80))
    finally:
        raw.close()


def test_a_thread_is_refused_too():
    assert guarded()
    errors = []

    def connect():
        try:
            socket.create_connection(("192.0.2.10", 80), timeout=1)
        except SocketBlocked as exc:
            errors.append(exc)

    thread = threading.Thread(target=connect)
    thread.start()
    thread.join()
    assert len(errors) == 1
"""


@pytest.mark.parametrize("how", ["option", "ini"])
def test_non_loopback_sockets_are_refused_and_restored_after(
    pytester: pytest.Pytester, how: str
) -> None:
    write_pyproject(pytester.path, "replay_block_network = true" if how == "ini" else "")
    pytester.makepyfile(test_net=INNER_TESTS)
    args = ["test_net.py", "-p", "no:xdist"]
    if how == "option":
        args.append("--replay-block-network")
    result = pytester.runpytest(*args)
    result.assert_outcomes(passed=5)
    assert not blocking_active()
    assert "connect" not in socket.socket.__dict__


def test_without_the_option_nothing_is_patched(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_net="""
        import socket

        from replay.hermetic import blocking_active

        def test_untouched():
            assert "connect" not in socket.socket.__dict__
            assert not blocking_active()
        """
    )
    pytester.runpytest("-p", "no:xdist").assert_outcomes(passed=1)


@pytest.mark.parametrize(
    ("family", "address", "expected"),
    [
        (socket.AF_INET, ("127.0.0.1", 80), True),
        (socket.AF_INET, ("127.8.9.10", 80), True),
        (socket.AF_INET, ("localhost", 80), True),
        (socket.AF_INET, ("0.0.0.0", 80), True),
        (socket.AF_INET6, ("::1", 80, 0, 0), True),
        (socket.AF_INET6, ("::ffff:127.0.0.1", 80, 0, 0), True),
        (socket.AF_UNIX, "/tmp/agent.sock", True),
        (socket.AF_INET, ("192.0.2.10", 80), False),
        (socket.AF_INET, ("api.openai.com", 443), False),
        (socket.AF_INET6, ("2001:db8::1", 443, 0, 0), False),
    ],
)
def test_what_counts_as_loopback(family: int, address: object, expected: bool) -> None:
    assert is_loopback(family, address) is expected
