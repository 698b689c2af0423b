"""Reading and writing cassette files: safe YAML, atomic writes, a parse cache.

Cassettes are evidence, so writes go through a temporary file and ``os.replace`` (a crash
never leaves half a cassette) and an I/O error is loud. A cassette ends with the line
``# end of cassette: N steps``, so a copy cut short is refused instead of read as a shorter
run. Loading reads regular files only, with the strict safe loader of ``replay.safe_yaml``
(no aliases, duplicate keys, ...). Parsing YAML is slow (FACTS.md: ~7 MB/s), so parsed data
is cached as JSON keyed by the file's content hash, on disk and in memory; the
cache is only a cache: failing to write it is ignored, and a changed file misses it.
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import json
import os
import re
import stat
import tempfile
import threading
import warnings
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from replay.cassette import (
    FORMAT_VERSION,
    Cassette,
    cassette_from_dict,
    format_version,
    mark_args_checked,
)
from replay.errors import CassetteError, CassetteFormatWarning, CassetteWriteError

if TYPE_CHECKING:  # never run: at run time _import_yaml() defines these on first use
    import yaml

    from replay import safe_yaml, yaml_writer

    _BaseDumper: type = yaml.SafeDumper
    _CassetteDumper: type = yaml.SafeDumper
    FAST_WRITER: bool = True

CACHE_ENV = "REPLAY_CACHE_DIR"
_CACHE_SCHEMA = f"v{FORMAT_VERSION}.1"
_MEMORY_CACHE_SIZE = 32
_memory_cache: OrderedDict[str, Cassette] = OrderedDict()

HEADER = (
    "# agent-replay cassette (format version {version}); schema: docs/cassette-format.md\n"
    "# Recorded evidence: edit by hand only with care; args_hash must match args, and the\n"
    "# last line must give the number of steps.\n"
)
END_MARKER = "# end of cassette: {count} {noun}\n"
"""The last line of every cassette (format version 2): a file cut short lacks it."""
_MARKER_START = "# end of cassette:"
_MARKER_LINE = re.compile(r"# end of cassette: (\d{1,9}) (steps?)[ \t]*\r?")
_VERSION_LINE = re.compile(r"^version:[ \t]*(\d+)[ \t]*$", re.MULTILINE)
_HEADER_VERSION = re.compile(r"\A# agent-replay cassette \(format version (\d+)\)")


def _ignore_aliases(self: Any, data: Any) -> bool:
    return True


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    if "\n" in value:
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|")
    return dumper.represent_scalar("tag:yaml.org,2002:str", value)


_YAML_NAMES = ("yaml", "safe_yaml", "yaml_writer", "_BaseDumper", "_CassetteDumper", "FAST_WRITER")
_yaml_lock = threading.Lock()


def _import_yaml() -> None:
    """Define ``_YAML_NAMES`` (PyYAML, our safe loader and writer, the cassette dumper),
    once: at the first YAML parse or write, not at import. PyYAML costs ~10 ms to
    import and a cassette read back from the parse cache (``replay inspect`` of a small
    run) never needs it. A name already set (a test's monkeypatch) is kept."""
    if "FAST_WRITER" in globals():
        return
    with _yaml_lock:
        if "FAST_WRITER" in globals():
            return
        import yaml

        from replay import safe_yaml, yaml_writer

        base: type = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
        # Safe dumper that writes multi-line text as literal blocks, for reviewable
        # diffs, and a value met twice (one object shared by two steps) in full each
        # time: loading refuses anchors and aliases.
        dumper = type("_CassetteDumper", (base,), {"ignore_aliases": _ignore_aliases})
        dumper.__module__ = __name__
        dumper.add_representer(str, _represent_str)
        names = {
            "yaml": yaml,
            "safe_yaml": safe_yaml,
            "yaml_writer": yaml_writer,
            "_BaseDumper": base,
            "_CassetteDumper": dumper,
            # Whether ``replay.yaml_writer`` may write cassettes: it reproduces libyaml's
            # output.
            "FAST_WRITER": base is getattr(yaml, "CSafeDumper", None)
            and not getattr(dumper, "yaml_path_resolvers", None),
        }
        for name, value in names.items():
            globals().setdefault(name, value)


def __getattr__(name: str) -> Any:
    """``storage.yaml``, ``storage.FAST_WRITER``, ... from outside: defined on first use."""
    if name in _YAML_NAMES:
        _import_yaml()
        return globals()[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def end_marker(count: int) -> str:
    """The end marker line for a cassette of ``count`` steps."""
    return END_MARKER.format(count=count, noun="step" if count == 1 else "steps")


def dumps(cassette: Cassette) -> str:
    """The YAML text of a cassette, in the current format version: the header comment,
    the data, and the end marker line."""
    _import_yaml()
    data = cassette.to_dict()
    data["version"] = FORMAT_VERSION
    body = yaml_writer.dump(data, _CassetteDumper) if FAST_WRITER else None
    if body is None:
        body = pyyaml_text(data)
    return HEADER.format(version=FORMAT_VERSION) + body + end_marker(len(cassette.steps))


def pyyaml_text(data: Any) -> str:
    """Cassette data as YAML through PyYAML: the general writer (``replay.yaml_writer``
    writes the same text faster for the values it knows)."""
    _import_yaml()
    return yaml.dump(
        data,
        Dumper=_CassetteDumper,
        sort_keys=False,
        allow_unicode=True,
        width=100,
        default_flow_style=False,
    )


def atomic_write_text(
    path: str | os.PathLike[str],
    text: str | Iterable[str],
    *,
    durable: bool = True,
    mode: int | None = None,
) -> Path:
    """Write ``text`` (a string, or its pieces) to ``path`` through a temp file in the
    same folder and a rename: the file is whole or not there.

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
            if isinstance(text, str):
                handle.write(text)
            else:
                handle.writelines(text)
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

    Raises ``CassetteError`` (one line: file, step, field, remedy) for a missing file or
    one that is not a regular file, malformed or refused YAML, a file cut short, an
    unknown version or an invalid field. A version 1 file (no end marker) is read with a
    ``CassetteFormatWarning`` suggesting ``replay migrate``.
    """
    name = str(path)
    raw = read_regular_file(path)
    digest = hashlib.sha256(raw).hexdigest()
    if cache:
        hit = _memory_cache.get(digest)
        if hit is not None:
            _memory_cache.move_to_end(digest)
            return _warn_if_old(hit.with_path(name))
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
            return _warn_if_old(cassette)
    with _gc_paused():
        data = parse_cassette_text(raw, path=name)
        text = _cache_text(data) if cache and cache_dir() is not None else None
        if text is not None:
            data = _rebuilt_from_json(data, text)
        cassette = cassette_from_dict(data, path=name)
    if cache:
        _remember(digest, cassette)
        if text is not None:
            _write_disk_cache_text(digest, text)
    return _warn_if_old(cassette)


def read_regular_file(path: str | os.PathLike[str]) -> bytes:
    """The bytes of a regular file; a FIFO, device or socket is refused without waiting
    on it (opened non-blocking, checked with ``fstat`` before any read)."""
    name = str(path)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0))
    except FileNotFoundError:
        raise CassetteError(
            "no such cassette file", path=name, hint="check the path, or record it first"
        ) from None
    except IsADirectoryError:
        raise CassetteError("is a folder, not a cassette file", path=name) from None
    except OSError as exc:
        raise CassetteError(f"cannot read the file ({exc.strerror})", path=name) from None
    with os.fdopen(fd, "rb") as handle:
        mode = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode):
            raise CassetteError("is a folder, not a cassette file", path=name)
        if not stat.S_ISREG(mode):
            raise CassetteError(
                f"is a {_file_kind(mode)}, not a regular file",
                path=name,
                hint="give the path of a cassette file",
            )
        try:
            return handle.read()
        except OSError as exc:
            raise CassetteError(f"cannot read the file ({exc.strerror})", path=name) from None


def _file_kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "FIFO (named pipe)"
    if stat.S_ISSOCK(mode):
        return "socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "device"
    return "special file"


def _warn_if_old(cassette: Cassette) -> Cassette:
    if cassette.version < FORMAT_VERSION:
        warnings.warn(
            CassetteFormatWarning(
                f"{cassette.path}: cassette format version {cassette.version} has no end "
                "marker, so a copy cut short would load as a shorter run; rewrite it in "
                f"version {FORMAT_VERSION} with 'replay migrate {cassette.path}'"
            ),
            stacklevel=3,
        )
    return cassette


def parse_cassette_text(raw: bytes, *, path: str | None = None) -> Any:
    """Parse a cassette's bytes and check it is whole: the end marker closes the file and
    counts its steps (format version 2). Returns the plain data, not yet validated."""
    text = _decode(raw, path=path)
    count, marker_line = _end_marker_of(text)
    header = _HEADER_VERSION.match(text)
    if count is None and header is not None and int(header.group(1)[:6]) >= 2:
        raise _cut_short(path, marker_line, None, "")  # our own header: no need to parse
    try:
        data = _parse_text(text, path=path)
        version = format_version(data, path=path)
    except CassetteError as exc:
        if count is None and _declared_version(text) >= 2:
            detail = str(exc).removeprefix(f"{path}: ") if path else str(exc)
            raise _cut_short(path, marker_line, None, f"; reading it gave: {detail}") from None
        raise
    steps = data.get("steps")
    held = len(steps) if isinstance(steps, list) else None
    if count is None and version >= 2:
        raise _cut_short(path, marker_line, held, "")
    if count is not None and held is not None and count != held:
        raise CassetteError(
            f"the end marker says {count} step{'s' if count != 1 else ''} but the file holds "
            f"{held}: it was cut short, or steps were removed by hand",
            path=path,
            hint="get the complete file again; after editing it by hand, make the last line "
            f"'{end_marker(held).strip()}'",
        )
    return data


def _declared_version(text: str) -> int:
    """The format version the header comment or the version line states (0 if neither)."""
    head = text[:4096]
    found = [m.group(1) for m in (_HEADER_VERSION.match(head), _VERSION_LINE.search(head)) if m]
    return max((int(v) for v in found if len(v) < 6), default=0)


def _end_marker_of(text: str) -> tuple[int | None, str | None]:
    """The step count of the end marker closing ``text`` (None when it is missing or
    incomplete), and the marker line as found (None when there is none). Only blank and
    comment lines may follow it: cutting those off loses no data."""
    start = text.rfind("\n" + _MARKER_START)
    if start < 0:
        return None, None
    line, *after = text[start + 1 :].split("\n")
    match = _MARKER_LINE.fullmatch(line)
    if match is None or any(rest.strip() and not rest.lstrip().startswith("#") for rest in after):
        return None, line
    count = int(match.group(1))
    if match.group(2) != ("step" if count == 1 else "steps"):
        return None, line
    return count, line


def _cut_short(path: str | None, line: str | None, held: int | None, detail: str) -> CassetteError:
    wanted = end_marker(held).strip() if held is not None else "# end of cassette: N steps"
    if line is None:
        problem = f"the file ends without its end marker '{wanted}'"
    else:
        problem = f"the end marker {line.strip()!r} is incomplete or not the last line"
    return CassetteError(
        f"{problem}: it was cut short (a partial copy or download?){detail}",
        path=path,
        hint="get the complete file again, or re-record it; after editing it by hand, end "
        f"it with the line '{wanted}'",
    )


def _decode(raw: bytes, *, path: str | None) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CassetteError(
            f"not UTF-8 text (byte {exc.start})", path=path, hint="is this a cassette file?"
        ) from None


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
    """Parse YAML bytes with the strict safe loader, naming the line (and the field) of a
    syntax error or a refused construct (alias, duplicate key, ...)."""
    return _parse_text(_decode(raw, path=path), path=path)


def _parse_text(text: str, *, path: str | None) -> Any:
    _import_yaml()
    try:
        return safe_yaml.load(text)
    except safe_yaml.YamlRefused as exc:
        step, field = safe_yaml.split_step(safe_yaml.field_path(text, exc))
        raise CassetteError(
            f"{exc.problem}{exc.where}", path=path, step=step, field=field, hint=exc.hint
        ) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise CassetteError(
            f"malformed YAML{where}: {problem}",
            path=path,
            hint="fix the file by hand or re-record it",
        ) from None
    except RecursionError:
        raise CassetteError(
            "the YAML nests too deeply to read", path=path, hint="is this a cassette file?"
        ) from None


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
