"""``replay migrate``: rewrite cassettes of an older format version in the current one."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Annotated

import typer

from replay.cli.common import DebugOption, JsonOption, print_json, stdout_console


def migrate_command(
    cassettes: Annotated[
        list[Path], typer.Argument(help="Cassette files to rewrite.", show_default=False)
    ],
    as_json: JsonOption = False,
    debug: DebugOption = False,
) -> None:
    """Rewrite cassettes in the current format version (2), in place and atomically.

    Version 2 ends each file with '# end of cassette: N steps', so a copy cut short is
    refused instead of read as a shorter run. A version 1 file has no such line, so this
    cannot tell whether it is complete: check that its last step and outcome are where
    the run ended before committing the rewrite. Files already in version 2 are left
    as they are. Exit status: 0 done, 3 a file that cannot be read or written.

    Example:

      replay migrate cassettes/incidents/*.yaml
    """
    from replay.cassette import FORMAT_VERSION
    from replay.errors import CassetteFormatWarning
    from replay.storage import load_cassette, save_cassette

    loaded = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CassetteFormatWarning)
        for path in cassettes:
            loaded.append((path, load_cassette(path, cache=False)))
    migrated, current = [], []
    for path, cassette in loaded:
        if cassette.version == FORMAT_VERSION:
            current.append(str(path))
            continue
        save_cassette(cassette, path)
        migrated.append({"path": str(path), "from": cassette.version, "steps": len(cassette.steps)})
    if as_json:
        print_json({"version": FORMAT_VERSION, "migrated": migrated, "unchanged": current})
        return
    console = stdout_console()
    for entry in migrated:
        console.print(
            f"migrated {entry['path']}: version {entry['from']} -> {FORMAT_VERSION}, "
            f"{entry['steps']} steps (check it ends where the run ended)",
            markup=False,
            soft_wrap=True,
        )
    for path in current:
        console.print(f"unchanged {path}: already version {FORMAT_VERSION}", markup=False)
