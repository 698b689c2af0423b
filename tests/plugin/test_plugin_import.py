"""The plugin loads in every pytest run where agent-replay is installed: it must stay cheap."""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import entry_points

import pytest

from tests.plugin.project import write_pyproject
from tests.process import CHECKOUT, child_env

pytest_plugins = ("pytester",)

# Other packages' pytest plugins (langsmith's, installed with the framework test extra,
# imports httpx2): their cost is not ours to measure.
OTHER_PLUGINS = [
    arg
    for plugin in entry_points(group="pytest11")
    if plugin.dist is None or plugin.dist.name not in ("agent-replay", "pytest-xdist")
    for arg in ("-p", f"no:{plugin.name}")
]
HEAVY = ("yaml", "vcr", "deepdiff", "openai", "anthropic", "httpx", "httpx2", "rich", "typer")


def test_importing_the_plugin_imports_no_engine_yaml_or_sdk() -> None:
    script = (
        "import sys, replay.pytest_plugin\n"
        f"heavy = {HEAVY!r} + ('replay.engine', 'replay.storage', 'replay.scenarios')\n"
        "print(sorted(m for m in heavy if m in sys.modules))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script],
        env=child_env(),
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    assert out.strip() == "[]"


def test_a_project_without_scenarios_loads_nothing_more_and_prints_nothing(
    pytester: pytest.Pytester,
) -> None:
    write_pyproject(pytester.path)
    pytester.makepyfile(
        **{
            "tests/test_plain": f"""
            import sys

            def test_plain():
                heavy = {HEAVY!r} + ("replay.engine", "replay.storage")
                assert [m for m in heavy if m in sys.modules] == []
            """
        }
    )
    result = pytester.runpytest_subprocess("-p", "no:xdist", *OTHER_PLUGINS)
    result.assert_outcomes(passed=1)
    assert not [line for line in result.outlines if line.startswith("replay")]


def test_a_pytest_child_imports_the_checkout(pytester: pytest.Pytester) -> None:
    write_pyproject(pytester.path)
    pytester.makepyfile(
        **{
            "tests/test_where": f"""
            from pathlib import Path

            import replay
            import replay.pytest_plugin

            def test_where():
                checkout = Path({str(CHECKOUT)!r})
                assert Path(replay.__file__).resolve() == checkout / "replay" / "__init__.py"
                assert Path(replay.pytest_plugin.__file__).resolve().is_relative_to(checkout)
            """
        }
    )
    pytester.runpytest_subprocess("-p", "no:xdist").assert_outcomes(passed=1)
