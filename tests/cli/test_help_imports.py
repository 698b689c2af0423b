"""``replay --help`` stays cheap: typer's rich help does not load rich.markdown or
rich.traceback (replay.cli.lazy_rich), and code that does use them still gets them."""

from __future__ import annotations

import json

from tests.process import run_python

HELP_THEN_REPORT = """
import contextlib, io, json, sys
from replay.cli import main
out = io.StringIO()
with contextlib.redirect_stdout(out):
    try:
        main(["--help"])
    except SystemExit as exit:
        code = exit.code
loaded = [m for m in ("markdown_it", "pygments", "rich.syntax") if m in sys.modules]
print(json.dumps({"code": code, "usage": "Usage: replay" in out.getvalue(), "loaded": loaded}))
"""

STAND_INS_BUILD_THE_REAL_THING = """
import json
import replay.cli
from rich.markdown import Markdown
from rich.traceback import Traceback
import rich.markdown, rich.traceback
try:
    raise ValueError("boom")
except ValueError:
    trace = Traceback()
built = Markdown("# Title")
print(json.dumps({
    "markdown": type(built).__module__ + "." + type(built).__name__,
    "traceback": type(trace).__module__ + "." + type(trace).__name__,
    "heading": rich.markdown.Heading.__name__,
    "module": type(rich.markdown).__name__,
}))
"""


def test_help_loads_neither_markdown_nor_pygments() -> None:
    done = run_python("-c", HELP_THEN_REPORT, check=True)
    assert json.loads(done.stdout.strip().splitlines()[-1]) == {
        "code": 0,
        "usage": True,
        "loaded": [],
    }


def test_the_stand_ins_build_the_real_classes_and_load_the_real_modules() -> None:
    done = run_python("-c", STAND_INS_BUILD_THE_REAL_THING, check=True)
    assert json.loads(done.stdout.strip().splitlines()[-1]) == {
        "markdown": "rich.markdown.Markdown",
        "traceback": "rich.traceback.Traceback",
        "heading": "Heading",
        "module": "module",
    }
