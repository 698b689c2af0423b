"""Discovery walks the golden folders lazily, in key order: the same entries as before.

``_discover_with_os_walk`` is the earlier discovery (``os.walk`` with sorted folders,
every entry in a dict, sorted at the end), kept as the oracle the lazy walk must equal,
also when a folder is sorted by chunks spilled to disk.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import pytest

from replay import golden
from replay.golden import GoldenEntry, GoldenError, discover, iter_entries, spool_entries
from replay.on_miss import is_derived_name


def _discover_with_os_walk(dirs: Sequence[str | os.PathLike[str]]) -> tuple[GoldenEntry, ...]:
    entries: dict[str, GoldenEntry] = {}
    for given in dirs:
        root = Path(given)
        prefix = f"{root.as_posix().rstrip('/')}/" if len(dirs) > 1 else ""
        if root.is_file():
            entries[prefix or root.name] = GoldenEntry(prefix or root.name, str(root))
            continue
        for folder, subfolders, files in os.walk(root):
            subfolders[:] = sorted(d for d in subfolders if not d.startswith("."))
            for name in sorted(files):
                if name.startswith(".") or not name.endswith(golden.CASSETTE_SUFFIXES):
                    continue
                if is_derived_name(name):
                    continue
                path = Path(folder, name)
                key = prefix + path.relative_to(root).as_posix()
                entries[key] = GoldenEntry(key, str(path))
    return tuple(sorted(entries.values()))


# Names whose key order differs from a walk's order: "a-b/" and "a.yaml" sort before
# "a/...", "a/z.yaml" after "a/b/...", upper case before lower case.
FILES = (
    "a/z.yaml",
    "a/b/x.yaml",
    "a/b c/x.yaml",
    "a/faq.yml",
    "a-b/x.yaml",
    "a.yaml",
    "a0/x.yaml",
    "ab.yaml",
    "A/x.yml",
    "ü/x.yaml",
    "sp ace/x y.yaml",
    "deep/1/2/3/x.yaml",
    "x.yaml/in.yaml",  # a folder named like a cassette
    ".hidden/x.yaml",  # hidden folder: skipped
    "a/.h.yaml",  # hidden file: skipped
    "a/run.live.yaml",  # a replay's live answers: no baseline
    "notes.txt",
)


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "golden"
    for name in FILES:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text("steps: []\n", encoding="utf-8")
    for n in range(40):  # a flat folder, sorted by chunks below
        (root / "flat" / f"r{(n * 7) % 40}.yaml").parent.mkdir(parents=True, exist_ok=True)
        (root / "flat" / f"r{(n * 7) % 40}.yaml").write_text("x", encoding="utf-8")
    (root / "empty").mkdir()
    (root / "link").symlink_to(root / "a", target_is_directory=True)  # not followed
    (root / "lnk.yaml").symlink_to(root / "a.yaml")  # a file: kept
    return root


@pytest.mark.parametrize("chunk", [golden.DISCOVERY_CHUNK, 3])
def test_the_lazy_walk_gives_the_entries_os_walk_gave(
    tree: Path, chunk: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(golden, "DISCOVERY_CHUNK", chunk)
    cases: list[list[str | Path]] = [
        [tree],
        [tree / "a"],
        [tree, tree / "a"],  # keys prefixed by folder
        [tree / "a", tree],
        [tree, tree],  # the same keys twice: one entry each
        [tree / "a.yaml", tree / "flat"],  # a file given as a folder
        [f"{tree}/"],
        [tree / ".." / "golden" / "a"],
    ]
    for dirs in cases:
        expected = _discover_with_os_walk(dirs)
        assert discover(dirs) == expected, dirs
        assert tuple(iter_entries(dirs)) == expected, dirs
        spooled = spool_entries(dirs)
        assert tuple(spooled) == expected and len(spooled) == len(expected)
        spooled.close()
    keys = [e.key for e in discover([tree])]
    assert keys.index("a-b/x.yaml") < keys.index("a.yaml") < keys.index("a/b c/x.yaml")
    assert "a/run.live.yaml" not in keys and not any(k.startswith("link/") for k in keys)


def test_relative_folders_give_the_same_paths(tree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tree.parent)
    for dirs in (["golden"], ["./golden/a", "golden"], ["golden/flat"]):
        assert discover(dirs) == _discover_with_os_walk(dirs)
    monkeypatch.chdir(tree)
    assert discover(["."]) == _discover_with_os_walk(["."])


def test_spooled_entries_of_a_shard_and_errors_before_any_run(tree: Path, tmp_path: Path) -> None:
    whole = discover([tree])
    for index in (1, 2, 3):
        shard = spool_entries([tree], shard=(index, 3))
        assert tuple(shard) == golden.select_shard(whole, index, 3)
        shard.close()
    (tmp_path / "none").mkdir()
    with pytest.raises(GoldenError, match="no cassettes"):
        spool_entries([tmp_path / "none"])
    with pytest.raises(GoldenError, match="no such golden set folder"):
        spool_entries([tree, tmp_path / "missing"])
    # a shard that selects nothing is no error: an empty shard report
    other = 3 - golden.shard_of("z.yaml", 2)
    assert len(spool_entries([tree / "a" / "z.yaml"], shard=(other, 2))) == 0


def test_a_file_name_that_is_not_utf8_round_trips_through_the_spool(tmp_path: Path) -> None:
    root = tmp_path / "golden"
    root.mkdir()
    name = os.fsdecode(b"caf\xe9.yaml")  # surrogate-escaped
    try:
        (root / name).write_text("x", encoding="utf-8")
    except OSError:
        pytest.skip("this file system refuses names that are not UTF-8")
    spooled = spool_entries([root])
    expected = (GoldenEntry(name, str(root / name)),)
    assert tuple(spooled) == _discover_with_os_walk([root]) == expected
