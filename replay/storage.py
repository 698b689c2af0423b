"""Reading and writing cassette files: safe YAML, atomic writes, a parse cache.

Cassettes are evidence, so writes go through a temporary file and ``os.replace`` (a crash
never leaves half a cassette) and an I/O error is loud. Loading uses PyYAML's safe loader
only (the C one where available). Parsing YAML is slow (FACTS.md: ~7 MB/s), so parsed
data is cached as JSON keyed by the file's content hash, on disk and in memory; the
cache is only a cache: failing to write it is ignored, and a changed file misses it.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import gc
import hashlib
import json
import os
import tempfile
import threading
from collections import OrderedDict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from replay.cassette import FORMAT_VERSION, Cassette, cassette_from_dict, mark_args_checked
from replay.errors import CassetteError, CassetteWriteError

SafeLoader: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_BaseDumper: type = getattr(yaml, "CSafeDumper", yaml.SafeDumper)

CACHE_ENV = "REPLAY_CACHE_DIR"
_CACHE_SCHEMA = f"v{FORMAT_VERSION}.1"
_MEMORY_CACHE_SIZE = 32
_memory_cache: OrderedDict[str, Cassette] = OrderedDict()

HEADER = (
    "# agent-replay cassette (format version {version}); schema: docs/cassette-format.md\n"
    "# Recorded evidence: edit by hand only with care; args_hash must match args.\n"
)


class _CassetteDumper(_BaseDumper):  # type: ignore[misc, valid-type]
    """Safe dumper that writes multi-line text as literal blocks, for reviewable diffs."""


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    if "\n" in value:
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|")
    return dumper.represent_scalar("tag:yaml.org,2002:str", value)


_CassetteDumper.add_representer(str, _represent_str)


def dumps(cassette: Cassette) -> str:
    """The YAML text of a cassette, with its header comment."""
    body = yaml.dump(
        cassette.to_dict(),
        Dumper=_CassetteDumper,
        sort_keys=False,
        allow_unicode=True,
        width=100,
        default_flow_style=False,
    )
    return HEADER.format(version=cassette.version) + body


def atomic_write_text(
    path: str | os.PathLike[str], text: str, *, durable: bool = True, mode: int | None = None
) -> Path:
    """Write ``text`` to ``path`` through a temp file in the same folder and a rename.

    ``durable`` also flushes the file to disk before the rename (evidence); a cache,
    which a torn write only turns into a miss, passes False and skips that wait. The
    file gets ``mode``, by default what ``open()`` would give (0666 less the umask).
    """
    target = Path(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
        with contextlib.suppress(OSError):  # mkstemp gives 0600
            os.fchmod(fd, _file_mode() if mode is None else mode)
    except OSError as exc:
        raise CassetteWriteError(
            f"{target}: cannot create a file there ({exc.strerror}); check the folder exists "
            "and is writable"
        ) from exc
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
            if durable:
                handle.flush()
                os.fsync(handle.fileno())
        os.replace(tmp_name, target)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp_name)
        if isinstance(exc, OSError):
            raise CassetteWriteError(
                f"{target}: write failed ({exc.strerror}); the previous file, if any, is intact"
            ) from exc
        raise
    return target


def _file_mode() -> int:
    """0666 less the process's umask, as a plainly created file gets."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return 0o666 & ~int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    with _umask_lock:
        mask = os.umask(0o077)
        os.umask(mask)
    return 0o666 & ~mask


_umask_lock = threading.Lock()


def save_cassette(cassette: Cassette, path: str | os.PathLike[str]) -> Path:
    """Write a cassette atomically and return its path."""
    target = atomic_write_text(path, dumps(cassette))
    return target


def load_cassette(path: str | os.PathLike[str], *, cache: bool = True) -> Cassette:
    """Read, parse and validate a cassette file.

    Raises ``CassetteError`` (one line: file, step, field, remedy) for a missing file,
    malformed YAML, an unknown version or an invalid field.
    """
    name = str(path)
    try:
        raw = Path(path).read_bytes()
    except FileNotFoundError:
        raise CassetteError(
            "no such cassette file", path=name, hint="check the path, or record it first"
        ) from None
    except IsADirectoryError:
        raise CassetteError("is a folder, not a cassette file", path=name) from None
    except OSError as exc:
        raise CassetteError(f"cannot read the file ({exc.strerror})", path=name) from None
    digest = hashlib.sha256(raw).hexdigest()
    if cache:
        hit = _memory_cache.get(digest)
        if hit is not None:
            _memory_cache.move_to_end(digest)
            return hit.with_path(name)
        with _gc_paused():
            cached = _read_disk_cache(digest)
            if cached is not None:
                data, finite = cached
                cassette = cassette_from_dict(data, path=name, verify=False)
        if cached is not None:
            # Cached only after a checked parse of these same bytes, so the hashes hold;
            # JSON gives plain data (text keys, lists) unless it holds NaN or infinities.
            if finite:
                mark_args_checked(cassette.steps)
            _remember(digest, cassette)
            return cassette
    with _gc_paused():
        data = parse_yaml(raw, path=name)
        text = _cache_text(data) if cache and cache_dir() is not None else None
        if text is not None:
            data = _rebuilt_from_json(data, text)
        cassette = cassette_from_dict(data, path=name)
    if cache:
        _remember(digest, cassette)
        if text is not None:
            _write_disk_cache_text(digest, text)
    return cassette


@contextlib.contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while a cassette is parsed and built.

    A parse allocates hundreds of thousands of container objects, none of them garbage,
    and the collections they trigger each walk every live object: with the collector on,
    PyYAML's C loader spends more than half its time in them (benchmarks/). Reference
    counting still frees everything as usual; the collector resumes afterwards.
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def _rebuilt_from_json(data: Any, text: str) -> Any:
    """``data`` decoded back from its cache text when that gives exactly the same data.

    The C JSON decoder lays each step's objects out together and shares dict keys, where
    the YAML loader scatters them; replaying a cassette built from it is markedly faster
    (benchmarks/: a few µs per step). It is also what a warm load from the disk cache
    gives, so a cold and a warm load of one file replay alike.
    """
    rebuilt = json.loads(text)
    return rebuilt if rebuilt == data else data


def parse_yaml(raw: bytes, *, path: str | None = None) -> Any:
    """Parse YAML bytes with the safe loader, reporting the line of a syntax error."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CassetteError(
            f"not UTF-8 text (byte {exc.start})", path=path, hint="is this a cassette file?"
        ) from None
    try:
        data = yaml.load(text, Loader=SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise CassetteError(
            f"malformed YAML{where}: {problem}",
            path=path,
            hint="fix the file by hand or re-record it",
        ) from None
    try:
        return _plain(data)
    except ValueError as exc:
        raise CassetteError(str(exc), path=path, hint="remove the alias (&/*)") from None


def _plain(value: Any) -> Any:
    """Dates the YAML loader produced from unquoted text go back to ISO strings."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()} if _needs_plain(value) else value
    if isinstance(value, list):
        return [_plain(v) for v in value] if _needs_plain(value) else value
    if isinstance(value, _dt.date | _dt.datetime):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value


def _needs_plain(value: Any) -> bool:
    """Whether ``value`` holds dates or bytes; raises ``ValueError`` on a cycle (a YAML
    alias that contains itself), which no cassette can mean."""
    exit_marker = object()
    on_path: set[int] = set()
    stack: list[Any] = [value]
    found = False
    while stack:
        item = stack.pop()
        if item is exit_marker:
            on_path.discard(stack.pop())
            continue
        if isinstance(item, dict | list):
            if id(item) in on_path:
                raise ValueError("a YAML alias refers to a value that contains it")
            on_path.add(id(item))
            stack.extend((id(item), exit_marker))
            stack.extend(item.values() if isinstance(item, dict) else item)
        elif isinstance(item, _dt.date | bytes):
            found = True
    return found


def cache_dir() -> Path | None:
    """Where parsed cassettes are cached; ``REPLAY_CACHE_DIR=off`` disables the disk cache."""
    configured = os.environ.get(CACHE_ENV)
    if configured:
        return None if configured.lower() in ("off", "0", "none") else Path(configured)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "agent-replay"


def _cache_file(digest: str) -> Path | None:
    folder = cache_dir()
    return None if folder is None else folder / _CACHE_SCHEMA / f"{digest}.json"


def _private_folder(folder: Path, *, create: bool) -> bool:
    """Whether ``folder`` is ours alone (created 0700 when asked): the cache holds the
    parsed content of cassettes, and what it holds is trusted without validation."""
    try:
        if create:
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        info = folder.stat()
        getuid = getattr(os, "getuid", None)
        if getuid is not None and info.st_uid != getuid():
            return False
        if info.st_mode & 0o077:
            if not create:
                return False
            os.chmod(folder, 0o700)
        return True
    except OSError:
        return False


def _read_disk_cache(digest: str) -> tuple[Any, bool] | None:
    """The cached parse, and whether it is free of NaN and infinities; None on a miss."""
    target = _cache_file(digest)
    if target is None or not _private_folder(target.parent.parent, create=False):
        return None
    constants: list[str] = []

    def constant(name: str) -> float:  # only NaN, Infinity, -Infinity (never text)
        constants.append(name)
        return float(name)

    try:
        return json.loads(target.read_bytes(), parse_constant=constant), not constants
    except (OSError, ValueError):
        return None


def _cache_text(data: Any) -> str | None:
    """The disk cache's JSON for parsed data; None when JSON cannot hold it."""
    try:
        return json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    except (TypeError, ValueError, RecursionError):
        return None


def _write_disk_cache_text(digest: str, text: str) -> None:
    target = _cache_file(digest)
    if target is None or not _private_folder(target.parent.parent, create=True):
        return
    with contextlib.suppress(OSError, CassetteWriteError):
        target.parent.mkdir(mode=0o700, exist_ok=True)
        atomic_write_text(target, text, durable=False, mode=0o600)


def _remember(digest: str, cassette: Cassette) -> None:
    _memory_cache[digest] = cassette
    _memory_cache.move_to_end(digest)
    while len(_memory_cache) > _MEMORY_CACHE_SIZE:
        _memory_cache.popitem(last=False)


def clear_memory_cache() -> None:
    """Forget cassettes parsed in this process (the disk cache is left alone)."""
    _memory_cache.clear()
