"""``replay report``: one self-contained HTML page of a recorded run, or of a saved
``replay run --json`` / ``replay golden --json`` output (``replay.report.html`` renders)."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from replay.cli.common import EXIT_OK, DebugOption
from replay.errors import ReportError

SAVED_KINDS = "a saved 'replay run --json' or 'replay golden --json' output"


def report_command(
    cassette: Annotated[
        Path | None,
        typer.Argument(help="The recorded run to show.", show_default=False),
    ] = None,
    output: Annotated[
        Path,
        typer.Option("--output", "-o", metavar="FILE", help="Where to write the HTML page."),
    ] = Path("report.html"),
    saved: Annotated[
        Path | None,
        typer.Option(
            "--json",
            metavar="SAVED.json",
            help="Make the page from a saved 'replay run --json' or 'replay golden --json' "
            "output instead of a cassette.",
            show_default=False,
        ),
    ] = None,
    debug: DebugOption = False,
) -> None:
    """Write an HTML report: a run, a replay verdict or a release, in one file.

    The page is self-contained (inline CSS, SVG and script; it fetches nothing), opens
    from file:// or as a CI artifact, and shows every recorded value as text. A run gets
    its context, signals, hypotheses and a waterfall of its steps with each step's
    details on demand; a saved verdict gets the verdict, the first divergence, the step
    diff and the recorded run; a saved golden report gets the release diff with charts
    and the runs that changed. 'replay run --html' and 'replay golden --html' write the
    same pages (a live verdict also shows both histories side by side). Here --json
    names the saved output to read; the page goes to --output, its path to stderr.

    Examples:

      replay report cassettes/incidents/run_9fd2.yaml -o run_9fd2.html

      replay report --json golden.json -o golden.html
    """
    from replay.report import html
    from replay.storage import atomic_write_text, load_cassette

    if (cassette is None) == (saved is None):
        raise ReportError(
            "give a cassette or --json SAVED.json (one of them): replay report CASSETTE -o "
            "FILE, or replay report --json SAVED.json -o FILE"
        )
    if cassette is not None and cassette.suffix == ".json":
        cassette, saved = None, cassette  # a saved output named without --json
    if cassette is not None:
        kind, page = "run", html.render_run(load_cassette(cassette))
    else:
        assert saved is not None
        kind, page = html_from_saved(saved)
    written = atomic_write_text(output, page, durable=False)
    sys.stderr.write(f"wrote {written} ({kind} report)\n")
    raise typer.Exit(EXIT_OK)


def html_from_saved(path: Path) -> tuple[str, str]:
    """The kind and page of a saved ``--json`` output: a golden report, or a verdict (with its
    recorded run when the cassette it names can be read, from here or beside the file)."""
    from replay.golden import REPORT_SCHEMA
    from replay.report import html

    data = _read_saved(path)
    if data.get("schema") == REPORT_SCHEMA:
        if not isinstance(data.get("diff"), dict) or not isinstance(data.get("runs"), list):
            raise ReportError(
                f"{path}: a golden report without its diff and runs; save the "
                "whole 'replay golden --json' output"
            )
        return "golden", html.render_golden(data)
    if "verdict" in data and isinstance(data.get("diff"), dict):
        original = _recorded_run(path, data.get("cassette"))
        return "verdict", html.render_verdict(data, original=original)
    raise ReportError(
        f"{path}: not {SAVED_KINDS} (no 'schema: {REPORT_SCHEMA}', no 'verdict' and 'diff'); "
        "for a cassette, run 'replay report CASSETTE'"
    )


def _read_saved(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ReportError(f"{path}: cannot read it ({exc.strerror or exc})") from None
    except UnicodeDecodeError:
        raise ReportError(f"{path}: not UTF-8 text; expected {SAVED_KINDS}") from None
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise ReportError(
            f"{path}: not JSON ({exc}); expected {SAVED_KINDS}, e.g. "
            "'replay run CASSETTE --json > verdict.json'"
        ) from None
    if not isinstance(data, dict):
        raise ReportError(
            f"{path}: expected a JSON object, found {type(data).__name__}; expected {SAVED_KINDS}"
        )
    return data


def _recorded_run(saved: Path, named: Any) -> Any:
    """The cassette a saved verdict names, read from the working folder or from beside
    the saved file; None (with a note) when it is not there any more."""
    from replay.errors import CassetteError
    from replay.storage import load_cassette

    if not isinstance(named, str) or not named:
        return None
    candidates = [Path(named)]
    if not os.path.isabs(named):
        candidates.append(saved.parent / named)
    for candidate in candidates:
        if candidate.is_file():
            try:
                return load_cassette(candidate)
            except CassetteError as exc:
                sys.stderr.write(f"replay: warning: the recorded run is left out: {exc}\n")
                return None
    sys.stderr.write(
        f"replay: warning: {named} (the cassette of the verdict) is not here; the report "
        "shows the verdict and the step diff without the recorded run\n"
    )
    return None
