"""Replay is hermetic: no connection, datagram, lookup or process leaves a replayed run.

Every target here is on this machine (127.0.0.1 listeners, ``localhost`` lookups from the
hosts file), so nothing leaves it even where a guard fails; the remote variants run in a
private network namespace (``test_nothing_reaches_a_remote_host_in_a_network_namespace``).
Each test checks what arrived at the listener, not only what was raised.
"""

from __future__ import annotations

import _socket
import contextvars
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

import replay
from replay import hermetic
from replay.config import ConfigError
from replay.errors import SubprocessBlocked, TrafficRefused
from replay.hermetic import allowing, load_policy, parse_host
from tests.process import child_env


class Listener:
    """A TCP listener and a UDP socket on 127.0.0.1 that count what reached them."""

    def __init__(self) -> None:
        self.tcp = socket.create_server(("127.0.0.1", 0))
        self.tcp.settimeout(0.0)
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.udp.bind(("127.0.0.1", 0))
        self.udp.setblocking(False)

    @property
    def tcp_address(self) -> tuple[str, int]:
        return self.tcp.getsockname()

    @property
    def udp_address(self) -> tuple[str, int]:
        return self.udp.getsockname()

    def connections(self, wait: float = 0.0) -> int:
        """Connections accepted so far (waiting up to ``wait`` s for the first)."""
        count = 0
        self.tcp.settimeout(wait or 0.0)
        while True:
            try:
                conn, _ = self.tcp.accept()
            except (BlockingIOError, TimeoutError):
                return count
            conn.close()
            count += 1
            self.tcp.settimeout(0.0)

    def datagrams(self) -> list[bytes]:
        received = []
        while True:
            try:
                received.append(self.udp.recv(100))
            except BlockingIOError:
                return received

    def close(self) -> None:
        self.tcp.close()
        self.udp.close()


@pytest.fixture
def listener() -> Iterator[Listener]:
    opened = Listener()
    yield opened
    opened.close()


@pytest.fixture
def empty_cassette(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A recorded run with no steps, in a project without ``[tool.replay]``."""
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "run.yaml"
    with replay.record(path):
        pass
    return path


def _divergence_names(replaying: replay.engine.Replaying) -> list[str]:
    assert replaying.result is not None
    return [d.name for d in replaying.result.divergences]


# ------------------------------------------------------------- the bypasses of issue 11


def test_a_udp_sendmsg_is_refused(empty_cassette: Path, listener: Listener) -> None:
    with replay.replaying(empty_cassette) as replaying:
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        with sock, pytest.raises(replay.NetworkBlocked):
            sock.sendmsg([b"leak"], [], 0, listener.udp_address)
    assert listener.datagrams() == []
    where = f"{listener.udp_address[0]}:{listener.udp_address[1]}"
    assert _divergence_names(replaying) == [f"socket send {where}"]


def test_a_socket_made_from_the_low_level_module_is_refused(
    empty_cassette: Path, listener: Listener
) -> None:
    with replay.replaying(empty_cassette) as replaying:
        raw = _socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            with pytest.raises(replay.NetworkBlocked):
                raw.connect(listener.tcp_address)
        finally:
            raw.close()
    assert listener.connections() == 0
    assert len(_divergence_names(replaying)) == 1


@pytest.mark.parametrize(
    "lookup",
    [
        lambda: socket.getaddrinfo("localhost", 80),
        lambda: socket.gethostbyname("localhost"),
        lambda: socket.gethostbyaddr("127.0.0.1"),
    ],
    ids=["getaddrinfo", "gethostbyname", "gethostbyaddr"],
)
def test_a_name_lookup_is_refused(empty_cassette: Path, lookup) -> None:
    with replay.replaying(empty_cassette) as replaying, pytest.raises(replay.NetworkBlocked):
        lookup()
    assert _divergence_names(replaying)[0].startswith("dns lookup ")


def test_a_subprocess_is_not_started(empty_cassette: Path, listener: Listener) -> None:
    connect = f"import socket; socket.create_connection({listener.tcp_address!r}, timeout=5)"
    with replay.replaying(empty_cassette) as replaying:
        with pytest.raises(replay.ReplayError) as refused:
            subprocess.run([sys.executable, "-c", connect], timeout=30, check=False)
        with pytest.raises(SubprocessBlocked):
            os.system(f"{sys.executable} -c 'pass'")
    assert listener.connections(wait=0.5) == 0, "the subprocess connected out"
    assert isinstance(refused.value, SubprocessBlocked)
    assert isinstance(refused.value, replay.Divergence)
    assert refused.value.command.startswith(sys.executable)
    message = str(refused.value)
    assert "starting a process refused: replay runs no process" in message
    assert "@replay.tool" in message
    assert _divergence_names(replaying)[0].startswith(f"subprocess {sys.executable}")


def test_a_loopback_server_is_refused_like_any_other_host(
    empty_cassette: Path, listener: Listener
) -> None:
    with (
        replay.replaying(empty_cassette) as replaying,
        pytest.raises(replay.NetworkBlocked) as blocked,
    ):
        socket.create_connection(listener.tcp_address, timeout=5)
    assert listener.connections() == 0
    port = listener.tcp_address[1]
    assert f"connection to 127.0.0.1:{port} refused: replay is offline" in str(blocked.value)
    assert "--allow-host 127.0.0.1" in str(blocked.value)
    assert _divergence_names(replaying) == [f"socket connect 127.0.0.1:{port}"]


# ------------------------------------------------------------------ allowing hosts


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "127.0.0.1:{port}"])
def test_an_allowed_host_is_reached_live(
    empty_cassette: Path, listener: Listener, host: str
) -> None:
    port = listener.tcp_address[1]
    with allowing([host.format(port=port)]), replay.replaying(empty_cassette) as replaying:
        socket.create_connection(("localhost", port), timeout=5).close()
    assert listener.connections(wait=5) == 1
    assert _divergence_names(replaying) == []


def test_allow_hosts_in_pyproject(empty_cassette: Path, listener: Listener) -> None:
    port = listener.tcp_address[1]
    Path("pyproject.toml").write_text(
        f'[tool.replay]\nallow_hosts = ["127.0.0.1:{port}"]\n', encoding="utf-8"
    )
    with replay.replaying(empty_cassette) as replaying:
        socket.create_connection(listener.tcp_address, timeout=5).close()
        with pytest.raises(replay.NetworkBlocked):
            socket.create_connection(("127.0.0.1", port + 1 if port < 65535 else 1), timeout=5)
    assert listener.connections(wait=5) == 1
    assert len(_divergence_names(replaying)) == 1


def test_an_allowed_name_covers_the_addresses_it_resolves_to(
    empty_cassette: Path, listener: Listener
) -> None:
    # "localhost" is special-cased; a name from the hosts file is resolved by the guard.
    name = socket.gethostname()
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(name, None, socket.AF_INET)}
    except OSError:
        pytest.skip("this machine's own name does not resolve")
    if not any(address.startswith("127.") for address in addresses):
        pytest.skip("this machine's own name does not resolve to loopback")
    address = next(a for a in addresses if a.startswith("127."))
    server = socket.create_server((address, 0))
    try:
        with allowing([name]), replay.replaying(empty_cassette) as replaying:
            socket.create_connection((name, server.getsockname()[1]), timeout=5).close()
        assert _divergence_names(replaying) == []
    finally:
        server.close()


@pytest.mark.parametrize(
    ("text", "host", "port"),
    [
        ("localhost", "localhost", None),
        ("Ollama.internal:11434", "ollama.internal", 11434),
        ("[::1]:8080", "::1", 8080),
        ("::1", "::1", None),
        ("/run/model.sock", "/run/model.sock", None),
    ],
)
def test_host_entries(text: str, host: str, port: int | None) -> None:
    rule = parse_host(text, where="--allow-host")
    assert (rule.host, rule.port) == (host, port)


@pytest.mark.parametrize("text", ["http://localhost:11434", "host:http", "host:0", "", ":80"])
def test_a_bad_host_entry_is_one_clear_line(text: str) -> None:
    with pytest.raises(ConfigError) as bad:
        parse_host(text, where="--allow-host")
    assert str(bad.value).startswith("--allow-host: ")
    assert "\n" not in str(bad.value)


def test_a_bad_allow_hosts_table_names_the_file(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    Path("pyproject.toml").write_text('[tool.replay]\nallow_hosts = "localhost"\n')
    with pytest.raises(ConfigError) as bad:
        load_policy()
    assert str(bad.value) == (
        f"{tmp_path / 'pyproject.toml'}: [tool.replay] allow_hosts must be a list of hosts, "
        "found 'localhost'"
    )


# -------------------------------------------------------- who is refused, and how


def test_recording_is_never_refused(tmp_path: Path, listener: Listener, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    with replay.record(tmp_path / "run.yaml"):
        socket.create_connection(listener.tcp_address, timeout=5).close()
        socket.getaddrinfo("localhost", 80)
        subprocess.run([sys.executable, "-c", "pass"], check=True, timeout=30)
    assert listener.connections(wait=5) == 1


def test_nothing_is_refused_once_the_replay_ended(empty_cassette: Path, listener: Listener) -> None:
    with replay.replaying(empty_cassette), pytest.raises(replay.NetworkBlocked):
        socket.create_connection(listener.tcp_address, timeout=5)
    socket.create_connection(listener.tcp_address, timeout=5).close()
    socket.getaddrinfo("localhost", 80)
    assert listener.connections(wait=5) == 1


def test_a_thread_without_the_run_s_context_is_refused_without_failing_the_run(
    empty_cassette: Path, listener: Listener
) -> None:
    errors: list[BaseException] = []

    def background() -> None:
        try:
            socket.create_connection(listener.tcp_address, timeout=5)
        except OSError as exc:
            errors.append(exc)

    with replay.replaying(empty_cassette) as replaying:
        thread = threading.Thread(target=background)
        thread.start()
        thread.join()
    assert listener.connections() == 0
    assert len(errors) == 1
    assert isinstance(errors[0], TrafficRefused)
    assert isinstance(errors[0], ConnectionRefusedError)
    assert "not part of the replayed run" in str(errors[0])
    assert replaying.result is not None and replaying.result.divergences == ()
    assert replaying.result.diff.identical


def test_a_thread_given_the_run_s_context_is_the_run(
    empty_cassette: Path, listener: Listener
) -> None:
    with replay.replaying(empty_cassette) as replaying:
        context = contextvars.copy_context()
        with ThreadPoolExecutor(1) as pool:
            future = pool.submit(
                context.run, socket.create_connection, listener.tcp_address, timeout=5
            )
            with pytest.raises(replay.NetworkBlocked):
                future.result()
    assert listener.connections() == 0
    assert len(_divergence_names(replaying)) == 1


# --------------------------------------------- remote hosts, in a network namespace


PROBE = """
import _socket, json, socket, subprocess, sys
import replay

REMOTE = "192.0.2.10"  # TEST-NET-1
results = {}
listener = socket.create_server(("127.0.0.1", 0))


def attempt(name, action):
    try:
        action()
        results[name] = "sent"
    except replay.ReplayError as exc:
        results[name] = "refused"
    except OSError as exc:
        results[name] = "error " + type(exc).__name__


def udp():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.sendmsg([b"x"], [], 0, (REMOTE, 53))


def raw():
    sock = _socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.settimeout(2)
    try:
        sock.connect((REMOTE, 443))
    finally:
        sock.close()


def child():
    code = f"import socket; socket.create_connection(({REMOTE!r}, 443), timeout=2)"
    subprocess.run([sys.executable, "-c", code], timeout=30, check=False)


with replay.record("run.yaml"):
    pass
with replay.replaying("run.yaml"):
    attempt("udp sendmsg", udp)
    attempt("_socket connect", raw)
    attempt("dns lookup", lambda: socket.getaddrinfo("api.openai.com", 443))
    attempt("subprocess", child)
    attempt("loopback", lambda: socket.create_connection(listener.getsockname(), timeout=2))
print(json.dumps(results))
"""


def _network_namespace() -> list[str] | None:
    """A command prefix running its command in a private network namespace (only ``lo``,
    brought up), or None when this machine cannot make one."""
    unshare, ip = shutil.which("unshare"), shutil.which("ip")
    if unshare is None or ip is None:
        return None
    prefix = [unshare, "-rn", "sh", "-c", f'{ip} link set lo up && exec "$@"', "sh"]
    try:
        done = subprocess.run([*prefix, "true"], capture_output=True, timeout=30, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return prefix if done.returncode == 0 else None


def test_nothing_reaches_a_remote_host_in_a_network_namespace(tmp_path: Path) -> None:
    prefix = _network_namespace()
    if prefix is None:
        pytest.skip("no private network namespace here (unshare -rn); the loopback tests cover")
    (tmp_path / "probe.py").write_text(textwrap.dedent(PROBE), encoding="utf-8")
    done = subprocess.run(
        [*prefix, sys.executable, "probe.py"],
        cwd=tmp_path,
        env=child_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {
        "udp sendmsg": "refused",
        "_socket connect": "refused",
        "dns lookup": "refused",
        "subprocess": "refused",
        "loopback": "refused",
    }


def test_a_host_and_port_rule_allows_that_port_and_looking_the_host_up(
    empty_cassette: Path, listener: Listener
) -> None:
    port = listener.tcp_address[1]
    with allowing([f"localhost:{port}"]), replay.replaying(empty_cassette) as replaying:
        socket.gethostbyname("localhost")
        socket.create_connection(("localhost", port), timeout=5).close()
        with pytest.raises(replay.NetworkBlocked):
            socket.getaddrinfo("localhost", port + 1 if port < 65535 else 1)
    assert listener.connections(wait=5) == 1
    assert len(_divergence_names(replaying)) == 1


def test_a_unix_socket_is_refused_unless_its_path_is_allowed(
    empty_cassette: Path, tmp_path: Path
) -> None:
    path = str(tmp_path / "cache.sock")
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    server.listen()
    try:
        with replay.replaying(empty_cassette) as refused:
            client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            with client, pytest.raises(replay.NetworkBlocked):
                client.connect(path)
        with allowing([path]), replay.replaying(empty_cassette) as allowed:
            client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            with client:
                client.connect(path)
    finally:
        server.close()
    assert _divergence_names(refused) == [f"socket connect {path}"]
    assert _divergence_names(allowed) == []


# ---------------------------------------- the hook's pure parts, on real audit arguments

_captured: list[tuple[str, tuple]] = []
_capturing = threading.local()


def _capture_hook(event: str, args: tuple) -> None:
    if getattr(_capturing, "on", False) and event in hermetic._WATCHED:
        _captured.append((event, args))


sys.addaudithook(_capture_hook)


def _audited(action) -> list[tuple[str, tuple]]:
    """The watched audit events ``action`` raises in this thread, with their arguments
    as CPython passes them to hooks."""
    _captured.clear()
    _capturing.on = True
    try:
        action()
    finally:
        _capturing.on = False
    return list(_captured)


def test_process_starts_are_named_by_their_command_line() -> None:
    true = shutil.which("true") or "/bin/true"
    system = _audited(lambda: os.system("true --flag"))
    popen = _audited(lambda: subprocess.run([true, "a b", "c"], check=False))
    spawn = _audited(lambda: os.waitpid(os.posix_spawn(true, [true, "x"], dict(os.environ)), 0))
    shell = _audited(lambda: subprocess.run("true one", shell=True, check=False))
    assert [e for e, _ in system] == ["os.system"]
    assert hermetic._command(*system[0]) == "true --flag"
    assert popen[0][0] == "subprocess.Popen"
    assert hermetic._command(*popen[0]) == f"{true} a b c"
    assert hermetic._command(*spawn[0]) == f"{true} x"
    assert hermetic._command(*shell[0]) == "/bin/sh -c true one"
    # Windows' os.spawn*(mode, path, argv, env) and os.startfile(path, ...) shapes:
    assert hermetic._command("os.spawn", (0, "C:\\x.exe", ["x.exe", "-v"], {})) == "x.exe -v"
    assert hermetic._command("os.startfile", ("report.pdf", "open", "", "", 1)) == "report.pdf"
    assert hermetic._command("subprocess.Popen", (None, None, None, None)) == "None"


def test_name_lookups_are_named_by_the_host_they_resolve() -> None:
    events = _audited(lambda: socket.getaddrinfo("localhost", 8080))
    events += _audited(lambda: socket.getaddrinfo(b"localhost", None))
    events += _audited(lambda: socket.gethostbyname("127.0.0.1"))
    events += _audited(lambda: socket.gethostbyaddr("127.0.0.1"))
    events += _audited(lambda: socket.getnameinfo(("127.0.0.1", 80), 0))
    assert [hermetic._looked_up(e, a) for e, a in events] == [
        ("localhost", 8080),
        ("localhost", None),
        (None, None),  # an address literal: nothing is sent
        ("127.0.0.1", None),
        ("127.0.0.1", None),
    ]
    assert hermetic._looked_up("socket.getnameinfo", (None, 0)) == (None, None)


def test_host_rules_match_names_addresses_and_ports() -> None:
    rules = hermetic.HostList(
        hermetic.parse_hosts(["localhost:8080", "10.1.2.3", "[fe80::1]:443"], where="t")
    )
    assert [str(r) for r in rules.rules] == ["localhost:8080", "10.1.2.3", "[fe80::1]:443"]
    assert rules.has_name(b"localhost", 8080)
    assert rules.has_name("127.0.0.1", "8080")  # localhost covers the loopback addresses
    assert not rules.has_name("localhost", 8081)
    assert rules.has_name("localhost")  # a lookup reveals no port
    assert rules.has_name("::ffff:10.1.2.3", 22)  # an IPv4-mapped IPv6 address
    assert not rules.has_name(None)
    assert not hermetic.HostList().has_name("localhost")
    assert rules.has_address(socket.AF_INET6, ("fe80::1", 443, 0, 0), resolve=False)
    assert not rules.has_address(socket.AF_INET6, ("fe80::1", 80, 0, 0), resolve=False)
    assert not rules.has_address(socket.AF_INET, "10.1.2.3", resolve=False)
    unix = hermetic.HostList((parse_host("/run/m.sock", where="t"),))
    assert unix.has_address(socket.AF_UNIX, b"/run/m.sock", resolve=False)
    assert not unix.has_address(socket.AF_UNIX, "/run/other.sock", resolve=False)
    # A name is matched against the addresses it resolves to only when asked to resolve.
    named = hermetic.HostList((parse_host("vm:9000", where="t"),))
    assert named.has_address(socket.AF_INET, ("127.0.0.1", 9000), resolve=True) is (
        "127.0.0.1" in {i[4][0] for i in socket.getaddrinfo("vm", None)}
    )
    assert not named.has_address(socket.AF_INET, ("127.0.0.1", 9001), resolve=True)
    assert not named.has_address(socket.AF_INET, ("127.0.0.1", 9000), resolve=False)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [("[::1]8080", "write '[v6]:port'"), ("[::1]:99999", "no valid port"), (3, "is not a host")],
)
def test_more_bad_host_entries(text, fragment: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(fragment)):
        parse_host(text, where="--allow-host")
    with pytest.raises(ConfigError, match="must be a list of hosts"):
        hermetic.parse_hosts("localhost", where="allow_hosts")


def test_allowed_hosts_travel_to_worker_processes_as_text() -> None:
    with allowing(["LocalHost:8080", "[::1]"]):
        shipped = hermetic.allowed_hosts()
    assert shipped == ("localhost:8080", "[::1]")
    assert hermetic.allowed_hosts() == ()

    def worker() -> tuple[str, ...]:
        hermetic.allow_in_worker(shipped)
        return hermetic.allowed_hosts()

    assert contextvars.copy_context().run(worker) == shipped


def test_a_process_started_outside_the_run_s_context_is_refused_too(
    empty_cassette: Path,
) -> None:
    errors: list[BaseException] = []

    def start() -> None:
        try:
            subprocess.run(["true"], check=False)
        except BaseException as exc:
            errors.append(exc)

    with replay.replaying(empty_cassette) as replaying:
        thread = threading.Thread(target=start)
        thread.start()
        thread.join()
    (error,) = errors
    assert isinstance(error, SubprocessBlocked)
    assert error.command == "true"
    assert "started outside the run's context while a replay runs" in str(error)
    assert _divergence_names(replaying) == []  # not the run's: its verdict is untouched
