"""Hermetic replay: while a replay runs, nothing leaves the process unless allowed.

One audit hook (``sys.addaudithook``), installed when the first replay starts, sees every
connection, datagram, name lookup and process start, also those made from C (a bare
``_socket.socket``, ``sendmsg``, the resolver, ``_posixsubprocess``) that no monkeypatch
sees. Hooks cannot be removed: while no replay is open it returns after one test.

Who is refused, and how (the attribution rule of ``replay.boundary``: a call belongs to
a run iff its context carries the run's session):

* the replayed run itself (a context carrying a ``ReplayingSession``): a connection,
  datagram or lookup raises ``NetworkBlocked``, a process start ``SubprocessBlocked``,
  and either is a divergence of the replay: the run asked for what no recording answers;
* everything else in the process while a replay is open (threads that did not inherit
  the run's context, such as trace exporters; requests to ``ignore_hosts``) gets
  ``TrafficRefused``, a ``ConnectionRefusedError``: its client fails as if offline and
  the run's steps and verdict are untouched;
* a recording context is never refused, and nothing is refused while no replay is open
  (fake model servers and test servers in the same process work as usual).

Loopback is not special: a local model server is reached live only when allowed, by
``--allow-host`` or ``[tool.replay] allow_hosts`` (``host``, ``host:port``, ``[v6]:port``,
or a Unix socket's absolute path; ``localhost`` and the loopback addresses cover each
other).

Not seen: C extensions that make their own system calls (grpc's C core, pycurl, a
``ctypes`` call); run such replays in a network namespace (``unshare -rn``) as well.
"""

from __future__ import annotations

import contextvars
import ipaddress
import os
import platform
import socket
import sys
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from replay.boundary import Call, Mode, Session, current_session
from replay.config import ConfigError, find_pyproject, load_config, per_version
from replay.errors import NetworkBlocked, SubprocessBlocked, TrafficRefused
from replay.sockets import address_text, is_loopback

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


# ----------------------------------------------------------------------- host rules


@dataclass(frozen=True, slots=True)
class HostRule:
    """One ``allow_hosts``/``ignore_hosts`` entry: a host (any port) or ``host:port``,
    or the absolute path of a Unix socket."""

    host: str
    port: int | None = None

    @property
    def ip(self) -> IPAddress | None:
        return _ip(self.host)

    @property
    def path(self) -> bool:
        return self.host.startswith("/")

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port is None else f"{host}:{self.port}"


def parse_host(text: Any, *, where: str) -> HostRule:
    """``host``, ``host:port``, ``[v6]``, ``[v6]:port``, a bare IPv6 address or an
    absolute Unix socket path; anything else is a one-line ``ConfigError``."""
    if not isinstance(text, str) or not text.strip():
        raise ConfigError(f"{where}: {text!r} is not a host; give 'host' or 'host:port'")
    value = text.strip()
    if value.startswith("/"):
        return HostRule(value)
    if "://" in value or "/" in value or " " in value:
        raise ConfigError(
            f"{where}: {text!r} is not a host; give 'host' or 'host:port' (not a URL), "
            "e.g. 'localhost:11434'"
        )
    host, port = value, None
    if value.startswith("["):
        host, _, rest = value[1:].partition("]")
        if rest:
            if not rest.startswith(":"):
                raise ConfigError(f"{where}: {text!r} is not a host; write '[v6]:port'")
            port = rest[1:]
    elif value.count(":") == 1:
        host, port = value.split(":")
    if port is not None and (not port.isdigit() or not 0 < int(port) < 65536):
        raise ConfigError(f"{where}: {text!r} has no valid port (1-65535 after the ':')")
    if not host:
        raise ConfigError(f"{where}: {text!r} names no host; give 'host' or 'host:port'")
    return HostRule(host.lower(), int(port) if port is not None else None)


def parse_hosts(values: Any, *, where: str) -> tuple[HostRule, ...]:
    if isinstance(values, str) or not isinstance(values, Iterable):
        raise ConfigError(f"{where} must be a list of hosts, found {values!r}")
    return tuple(parse_host(value, where=where) for value in values)


def _ip(host: Any) -> IPAddress | None:
    if isinstance(host, bytes):
        host = host.decode("ascii", "replace")
    if not isinstance(host, str):
        return None
    try:
        ip = ipaddress.ip_address(host.split("%", 1)[0].strip("[]"))
    except ValueError:
        return None
    mapped = getattr(ip, "ipv4_mapped", None)
    return mapped if mapped is not None else ip


def _port(value: Any) -> int | None:
    if isinstance(value, int):
        return value
    if isinstance(value, bytes | str) and value.isdigit():
        return int(value)
    return None


@dataclass(frozen=True, slots=True)
class HostList:
    """Rules matched against a name (a lookup, a URL's host) or a socket address."""

    rules: tuple[HostRule, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.rules)

    def __add__(self, other: HostList) -> HostList:
        return HostList(self.rules + tuple(r for r in other.rules if r not in self.rules))

    def has_name(self, host: Any, port: Any = None) -> bool:
        """Whether ``host`` (a name or an address literal) is listed, for ``port``."""
        if isinstance(host, bytes):
            host = host.decode("ascii", "replace")
        if not isinstance(host, str) or not self.rules:
            return False
        name, ip, port = host.lower().strip("[]"), _ip(host), _port(port)
        for rule in self.rules:
            # A lookup without a port (gethostbyname) reveals no port: a host:port rule
            # allows looking its host up.
            if rule.port is not None and port is not None and rule.port != port:
                continue
            if rule.host == name or (ip is not None and ip == rule.ip):
                return True
            if rule.host == "localhost" and ip is not None and ip.is_loopback:
                return True
            if name == "localhost" and (rule_ip := rule.ip) is not None and rule_ip.is_loopback:
                return True
        return False

    def has_address(self, family: int, address: Any, *, resolve: bool) -> bool:
        """Whether a socket address is listed; names in the list are looked up when
        ``resolve`` (the connection only carries the address they resolved to)."""
        if not self.rules:
            return False
        if family == getattr(socket, "AF_UNIX", None):
            path = address.decode("utf-8", "replace") if isinstance(address, bytes) else address
            return any(rule.path and rule.host == path for rule in self.rules)
        if not isinstance(address, tuple) or len(address) < 2:
            return False
        host, port = address[0], address[1]
        if self.has_name(host, port):
            return True
        ip = _ip(host)
        if not resolve or ip is None:
            return False
        for rule in self.rules:
            if rule.path or rule.ip is not None or rule.host == "localhost":
                continue
            if rule.port is not None and rule.port != port:
                continue
            if ip in _resolve(rule.host):
                return True
        return False


def _resolve(name: str) -> set[IPAddress]:
    """The addresses an allowed name resolves to (an allowed lookup, made by the hook)."""
    try:
        infos = socket.getaddrinfo(name, None)
    except OSError:
        return set()
    return {ip for info in infos if (ip := _ip(info[4][0])) is not None}


@dataclass(frozen=True, slots=True)
class NetworkPolicy:
    """``[tool.replay] allow_hosts`` (reached live in replay) and ``ignore_hosts`` (never
    steps: passed through live while recording, refused in replay unless allowed)."""

    allow: HostList = HostList()
    ignore: HostList = HostList()

    def allowing(self, rules: Iterable[HostRule]) -> NetworkPolicy:
        return NetworkPolicy(self.allow + HostList(tuple(rules)), self.ignore)


_policy_cache: dict[tuple[str, int, int], NetworkPolicy] = {}


def load_policy() -> NetworkPolicy:
    """The policy of the project in the working folder, read once per version of its
    ``pyproject.toml`` (every recording and replay asks)."""
    path = find_pyproject()
    if path is None:
        return NetworkPolicy()
    return per_version(_policy_cache, path, lambda: _policy_of(path))


def _policy_of(path: Path) -> NetworkPolicy:
    table = load_config(path.parent)
    where = f"{path}: [tool.replay]"
    return NetworkPolicy(
        HostList(parse_hosts(table.get("allow_hosts", ()), where=f"{where} allow_hosts")),
        HostList(parse_hosts(table.get("ignore_hosts", ()), where=f"{where} ignore_hosts")),
    )


_allowed: contextvars.ContextVar[tuple[HostRule, ...]] = contextvars.ContextVar(
    "replay_allowed_hosts", default=()
)


@contextmanager
def allowing(hosts: Iterable[str], *, where: str = "--allow-host") -> Iterator[None]:
    """Replays started inside the block also reach ``hosts`` live (``--allow-host``)."""
    token = _allowed.set(_allowed.get() + parse_hosts(list(hosts), where=where))
    try:
        yield
    finally:
        _allowed.reset(token)


def allowed_hosts() -> tuple[str, ...]:
    """The hosts ``allowing`` added here, as text (to hand to worker processes)."""
    return tuple(str(rule) for rule in _allowed.get())


def allow_in_worker(hosts: Iterable[str]) -> None:
    """A worker process's initializer: its replays reach ``hosts`` live."""
    _allowed.set(parse_hosts(list(hosts), where="--allow-host"))


_live: contextvars.ContextVar[bool] = contextvars.ContextVar("replay_going_live", default=False)


@contextmanager
def going_live() -> Iterator[None]:
    """The replayed run's own call answered live (``--on-miss live --allow-network``):
    its connections, lookups and processes are let through while the block runs."""
    token = _live.set(True)
    try:
        yield
    finally:
        _live.reset(token)


# ------------------------------------------------------------------------ the seal


@dataclass(frozen=True, slots=True)
class _Seal:
    session: Session
    policy: NetworkPolicy
    network_error: Callable[[], type[NetworkBlocked]]


_seals: dict[Session, _Seal] = {}
"""The open replays by session (not ``id()``: it raises an audit event, and the hook
below would run for it); replaced, never mutated, so the hook reads it
without a lock."""
_seals_lock = threading.Lock()
_hook_installed = False


@contextmanager
def sealed(
    session: Session,
    *,
    policy: NetworkPolicy | None = None,
    network_error: Callable[[], type[NetworkBlocked]] = lambda: NetworkBlocked,
) -> Iterator[NetworkPolicy]:
    """Refuse the network and processes (see the module docstring) while ``session``
    replays. ``network_error`` gives the class raised to the run (the HTTP capture
    passes one the SDKs do not retry)."""
    in_force = seal(session, policy=policy, network_error=network_error)
    try:
        yield in_force
    finally:
        unseal(session)


def seal(
    session: Session,
    *,
    policy: NetworkPolicy | None = None,
    network_error: Callable[[], type[NetworkBlocked]] = lambda: NetworkBlocked,
) -> NetworkPolicy:
    """``sealed`` without a block: sealed until ``unseal(session)``; returns the policy
    in force (the project's, and the hosts ``allowing`` added here)."""
    global _seals
    policy = policy or load_policy()
    extra = _allowed.get()
    if extra:
        policy = policy.allowing(extra)
    if not _hook_installed:
        _install_hook()
    with _seals_lock:
        _seals = {**_seals, session: _Seal(session, policy, network_error)}
    return policy


def unseal(session: Session) -> None:
    global _seals
    with _seals_lock:
        _seals = {key: value for key, value in _seals.items() if key is not session}


def _install_hook() -> None:
    global _hook_installed
    with _seals_lock:
        if _hook_installed:
            return
        # The platform module starts a process (``uname -p``) the first time it is asked,
        # then caches the answer; the SDKs ask for their headers. Ask before the seal.
        platform.platform()
        sys.addaudithook(_audit)
        _hook_installed = True


_blockers: tuple[Callable[[Any], BaseException], ...] = ()
"""``--replay-block-network`` guards in force (replaced, never mutated)."""


@contextmanager
def blocking_non_loopback(refusal: Callable[[Any], BaseException]) -> Iterator[None]:
    """Refuse connections and datagrams to non-loopback addresses from every thread while
    the block runs, replay or not (pytest's ``--replay-block-network``); ``refusal``
    builds the error for an address. Name lookups and processes are left alone here."""
    global _blockers
    _install_hook()
    with _seals_lock:
        _blockers = (*_blockers, refusal)
    try:
        yield
    finally:
        with _seals_lock:
            index = len(_blockers) - 1 - _blockers[::-1].index(refusal)
            _blockers = _blockers[:index] + _blockers[index + 1 :]


def blocking_active() -> bool:
    """Whether ``--replay-block-network`` is in force now."""
    return bool(_blockers)


# ------------------------------------------------------------------------ the hook

_CONNECTS = frozenset({"socket.connect"})
_SENDS = frozenset({"socket.sendto", "socket.sendmsg"})
_LOOKUPS = frozenset(
    {
        "socket.getaddrinfo",
        "socket.gethostbyname",
        "socket.gethostbyname_ex",
        "socket.gethostbyaddr",
        "socket.getnameinfo",
    }
)
_PROCESSES = frozenset(
    {"subprocess.Popen", "os.system", "os.exec", "os.posix_spawn", "os.spawn", "os.startfile"}
)
_WATCHED = _CONNECTS | _SENDS | _LOOKUPS | _PROCESSES

_in_hook = threading.local()


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if not (_seals or _blockers) or event not in _WATCHED:
        return
    if getattr(_in_hook, "active", False):
        return
    _in_hook.active = True  # the hook's own lookups (allowed names) are not checked
    try:
        if _seals:
            _check(event, args)
        if _blockers and event not in _LOOKUPS and event not in _PROCESSES:
            _check_blocked(args)
    finally:
        _in_hook.active = False


# CPython pauses tracing while audit hooks run unless a hook says it may be traced: this
# one may, so coverage measures it and a debugger can step into it (re-entry is guarded
# by ``_in_hook``, and the hook returns at once for events it does not watch).
_audit.__cantrace__ = True  # type: ignore[attr-defined]


def _check_blocked(args: tuple[Any, ...]) -> None:
    sock, address = args[0], args[1]
    if address is not None and not is_loopback(getattr(sock, "family", -1), address):
        raise _blockers[-1](address)


@dataclass(frozen=True, slots=True)
class _Attempt:
    what: str
    """For messages: "connection to 10.0.0.1:443", "name lookup of api.example.com"."""
    step_name: str
    args: dict[str, Any]
    host: str
    """What ``--allow-host`` would take to let it through."""


def _check(event: str, args: tuple[Any, ...]) -> None:
    session = current_session()
    if session is not None and session.mode is Mode.RECORDING:
        return
    if _live.get():
        return
    seals = _seals
    seal = seals.get(session) if session is not None else None
    mine = [seal] if seal is not None else list(seals.values())
    if event in _PROCESSES:
        _refuse_process(seal, _command(event, args))
        return
    attempt = _network_attempt(event, args, mine)
    if attempt is None:
        return
    if seal is not None and not _ignored(event, args, seal.policy):
        raise _divergence(
            seal,
            attempt,
            seal.network_error(),
            reason=f"{attempt.what} refused: replay is offline (nothing recorded answers "
            "at the socket: capture this client's traffic, mark the call @replay.tool, or "
            f"allow the host with --allow-host {attempt.host} or [tool.replay] allow_hosts)",
        )
    raise TrafficRefused(
        f"{attempt.what} refused: it is not part of the replayed run (sent from a thread "
        "that did not inherit the run's context, or to an ignore_hosts host) and replay is "
        "offline. Background traffic (telemetry, trace export) may fail like this; if the "
        "agent sent it from its own worker thread, submit that work with the run's context "
        "(ctx = contextvars.copy_context(); pool.submit(ctx.run, fn, *args)); to reach the "
        f"host live, allow it with --allow-host {attempt.host} or [tool.replay] allow_hosts"
    )


def _network_attempt(event: str, args: tuple[Any, ...], seals: list[_Seal]) -> _Attempt | None:
    """The attempt an event makes, or None when it reaches nothing or is allowed."""
    allowed = HostList()
    for seal in seals:
        allowed = allowed + seal.policy.allow
    if event in _LOOKUPS:
        host, port = _looked_up(event, args)
        if host is None or allowed.has_name(host, port):
            return None
        where = host if port is None else f"{host}:{port}"
        return _Attempt(f"name lookup of {where}", f"dns lookup {host}", {"host": host}, host)
    sock, address = args[0], args[1]
    if address is None:  # a send on a connected socket: its connect was checked
        return None
    family = getattr(sock, "family", None)
    if allowed.has_address(family, address, resolve=True):
        return None
    where = address_text(address)
    if event in _CONNECTS:
        what, step_name = f"connection to {where}", f"socket connect {where}"
    else:
        what, step_name = f"datagram to {where}", f"socket send {where}"
    host = str(address[0]) if isinstance(address, tuple) and address else where
    return _Attempt(what, step_name, {"address": where}, host)


def _looked_up(event: str, args: tuple[Any, ...]) -> tuple[str | None, int | None]:
    """The name a lookup event resolves (None: no lookup, e.g. an address literal)."""
    if event == "socket.getnameinfo":
        sockaddr = args[0]
        host = sockaddr[0] if isinstance(sockaddr, tuple) and sockaddr else None
        return (str(host) if host is not None else None), None
    host = args[0] if args else None
    if isinstance(host, bytes):
        host = host.decode("ascii", "replace")
    if not host or not isinstance(host, str):
        return None, None
    if event != "socket.gethostbyaddr" and _ip(host) is not None:
        return None, None  # an address literal: nothing is sent
    port = _port(args[1]) if event == "socket.getaddrinfo" and len(args) > 1 else None
    return host, port


def _ignored(event: str, args: tuple[Any, ...], policy: NetworkPolicy) -> bool:
    """A lookup of, or a connection to, an ``ignore_hosts`` host (not the run's)."""
    if not policy.ignore:
        return False
    if event in _LOOKUPS:
        host, port = _looked_up(event, args)
        return host is not None and policy.ignore.has_name(host, port)
    return policy.ignore.has_address(getattr(args[0], "family", None), args[1], resolve=False)


def _command(event: str, args: tuple[Any, ...]) -> str:
    if event == "os.system":
        return os.fsdecode(args[0]) if args else "?"
    argv = args[1] if len(args) > 1 else None
    if event in ("os.spawn", "os.startfile"):
        argv = args[2] if event == "os.spawn" and len(args) > 2 else args[:1]
    if isinstance(argv, str | bytes):
        return os.fsdecode(argv)
    try:
        return " ".join(os.fsdecode(part) for part in argv)  # type: ignore[union-attr]
    except TypeError:
        return str(args[0]) if args else "?"


def _refuse_process(seal: _Seal | None, command: str) -> None:
    shown = command if len(command) <= 120 else command[:117] + "..."
    reason = (
        f"starting a process refused: replay runs no process ({shown!r}); a process could "
        "reach the network or change files. Wrap the code that starts it in a @replay.tool "
        "function, so its result is recorded and served in replay"
    )
    if seal is None:
        error = SubprocessBlocked(
            command=command,
            step=-1,
            kind="tool",
            name=f"subprocess {shown}",
            args={"command": command},
            reason=reason + " (started outside the run's context while a replay runs)",
        )
        raise error
    call = Call.of_plain("tool", f"subprocess {shown}", {"command": command})
    assert seal.session.mode is Mode.REPLAYING
    error = seal.session.diverge(  # type: ignore[attr-defined]
        None, call, reason=reason, error_type=SubprocessBlocked, compare=False
    )
    error.command = command
    raise error


def _divergence(
    seal: _Seal, attempt: _Attempt, error_type: type[NetworkBlocked], *, reason: str
) -> NetworkBlocked:
    call = Call.of_plain("llm", attempt.step_name, attempt.args)
    error = seal.session.diverge(  # type: ignore[attr-defined]
        None, call, reason=reason, error_type=error_type, compare=False
    )
    assert isinstance(error, NetworkBlocked)
    return error
