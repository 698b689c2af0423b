"""The ``replay_cassette`` fixture, the ``replay`` marker and ``--replay-mode``.

A tiny agent (one tool) is recorded and replayed by a hand-written test in a pytester
project; every pytest run is its own process, so edits to the agent between runs count.
"""

from __future__ import annotations

import textwrap
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tests.plugin.project import write_pyproject

pytest_plugins = ("pytester",)

AGENT = """\
import replay

ROLES = {"alice": "admin"}


@replay.tool
def lookup_role(name):
    return ROLES.get(name, "guest")


def run(name):
    return f"hello {name} ({lookup_role(name)})"
"""

TEST = """\
import greeter


def test_greets(replay_cassette):
    assert replay_cassette.run(greeter.run, {"name": "alice"}).startswith("hello alice")
"""

DEFAULT_CASSETTE = Path("tests/cassettes/test_greeter/test_greets.yaml")


@pytest.fixture
def greeter(pytester: pytest.Pytester) -> pytest.Pytester:
    write_pyproject(pytester.path)
    (pytester.path / "greeter.py").write_text(AGENT, encoding="utf-8")
    (pytester.path / "tests").mkdir()
    (pytester.path / "tests" / "test_greeter.py").write_text(TEST, encoding="utf-8")
    return pytester


def write_test(pytester: pytest.Pytester, name: str, source: str) -> None:
    """``tests/<name>.py`` (the project's testpaths) with ``source``, dedented."""
    path = pytester.path / "tests" / f"{name}.py"
    path.write_text(textwrap.dedent(source), encoding="utf-8")


def edit_agent(pytester: pytest.Pytester, old: str, new: str) -> None:
    path = pytester.path / "greeter.py"
    path.write_text(path.read_text(encoding="utf-8").replace(old, new), encoding="utf-8")


def run(pytester: pytest.Pytester, *args: str, xdist: bool = False) -> pytest.RunResult:
    workers = ("-n", "2") if xdist else ("-p", "no:xdist")
    return pytester.runpytest_subprocess(*workers, "--junitxml=junit.xml", *args)


def actions(pytester: pytest.Pytester) -> dict[str, str]:
    """``{test name: recorded|replayed}`` from the junit XML."""
    root = ET.parse(pytester.path / "junit.xml").getroot()
    return {
        case.get("name", ""): p.get("value", "")
        for case in root.iter("testcase")
        for p in case.iter("property")
        if p.get("name") == "replay_cassette_action"
    }


def test_a_missing_cassette_is_recorded_and_then_replayed_offline(
    greeter: pytest.Pytester,
) -> None:
    run(greeter).assert_outcomes(passed=1)
    assert actions(greeter) == {"test_greets": "recorded"}
    cassette = greeter.path / DEFAULT_CASSETTE
    assert "entrypoint: greeter:run" in cassette.read_text(encoding="utf-8")
    # The live tool now answers differently; the replay still serves the recorded answer.
    edit_agent(greeter, '"admin"', '"root"')
    write_test(
        greeter,
        "test_role",
        """
        import greeter

        def test_role(replay_cassette):
            assert replay_cassette.run(greeter.run, {"name": "alice"}) == "hello alice (root)"
        """,
    )
    run(greeter).assert_outcomes(passed=2)
    greeter.path.joinpath("tests", "test_role.py").unlink()
    edit_agent(greeter, '"root"', '"admin"')
    run(greeter).assert_outcomes(passed=1)
    assert actions(greeter) == {"test_greets": "replayed"}


def test_under_xdist_each_test_records_its_own_cassette_and_replays_it(
    greeter: pytest.Pytester,
) -> None:
    for i in range(4):
        write_test(
            greeter,
            f"test_many_{i}",
            f"""
            import greeter

            def test_greets_{i}(replay_cassette):
                assert replay_cassette.run(greeter.run, {{"name": "user{i}"}}) == (
                    "hello user{i} (guest)"
                )
            """,
        )
    run(greeter, xdist=True).assert_outcomes(passed=5)
    assert set(actions(greeter).values()) == {"recorded"}
    cassettes = sorted(p.name for p in (greeter.path / "tests" / "cassettes").rglob("*.yaml"))
    assert cassettes == ["test_greets.yaml"] + [f"test_greets_{i}.yaml" for i in range(4)]
    assert not list(greeter.path.rglob(".*.tmp"))
    run(greeter, xdist=True).assert_outcomes(passed=5)
    assert set(actions(greeter).values()) == {"replayed"}


def test_a_divergence_fails_the_test_at_the_first_diverging_call(
    greeter: pytest.Pytester,
) -> None:
    run(greeter).assert_outcomes(passed=1)
    edit_agent(greeter, "lookup_role(name)}", "lookup_role(name.upper())}")
    result = run(greeter)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*Divergence: step 0: tool call 'lookup_role' diverged: no recorded answer",
            "*nearest recorded call: step 0 tool 'lookup_role'",
            "*args.name: 'alice' -> 'ALICE'",
            f"*reproduce with: replay run *{DEFAULT_CASSETTE}",
        ]
    )


def test_a_divergence_the_test_swallows_still_fails_it(greeter: pytest.Pytester) -> None:
    write_test(
        greeter,
        "test_greeter",
        """
        import greeter
        from replay import Divergence

        def test_greets(replay_cassette):
            try:
                replay_cassette.run(greeter.run, {"name": "alice"})
            except Divergence:
                pass
        """,
    )
    run(greeter).assert_outcomes(passed=1)
    edit_agent(greeter, "lookup_role(name)}", "lookup_role(name.upper())}")
    result = run(greeter)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*step 0: tool call 'lookup_role' diverged*"])


def test_mode_none_never_records(greeter: pytest.Pytester) -> None:
    result = run(greeter, "--replay-mode=none")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            f"*CassetteError: *{DEFAULT_CASSETTE}: no such cassette, and --replay-mode=none "
            "never records (record it once with --replay-mode=replay (the default))"
        ]
    )
    assert not (greeter.path / DEFAULT_CASSETTE).exists()


def test_mode_rewrite_records_every_cassette_anew(greeter: pytest.Pytester) -> None:
    run(greeter).assert_outcomes(passed=1)
    edit_agent(greeter, '"admin"', '"root"')
    run(greeter, "--replay-mode=rewrite").assert_outcomes(passed=1)
    assert actions(greeter) == {"test_greets": "recorded"}
    assert "result: root" in (greeter.path / DEFAULT_CASSETTE).read_text(encoding="utf-8")


def test_mode_record_rerecords_only_a_diverging_cassette(greeter: pytest.Pytester) -> None:
    write_test(
        greeter,
        "test_other",
        """
        import greeter

        def test_bob(replay_cassette):
            assert replay_cassette.run(greeter.run, {"name": "bob"}) == "hello bob (guest)"
        """,
    )
    run(greeter).assert_outcomes(passed=2)
    edit_agent(
        greeter, "lookup_role(name)}", "lookup_role(name.upper() if name == 'alice' else name)}"
    )
    run(greeter, "--replay-mode=record").assert_outcomes(passed=2)
    assert actions(greeter) == {"test_greets": "recorded", "test_bob": "replayed"}
    run(greeter, "--replay-mode=none").assert_outcomes(passed=2)
    assert actions(greeter) == {"test_greets": "replayed", "test_bob": "replayed"}


@pytest.mark.parametrize(
    ("ini", "option", "expected"),
    [
        pytest.param("none", None, "failed", id="ini"),
        pytest.param("none", "replay", "passed", id="option-beats-ini"),
        pytest.param(None, None, "passed", id="default-records"),
    ],
)
def test_replay_mode_precedence(
    greeter: pytest.Pytester, ini: str | None, option: str | None, expected: str
) -> None:
    write_pyproject(greeter.path, f'replay_mode = "{ini}"' if ini else "")
    args = [f"--replay-mode={option}"] if option else []
    run(greeter, *args).assert_outcomes(**{expected: 1})


def test_the_marker_names_the_cassette_relative_to_the_rootdir(greeter: pytest.Pytester) -> None:
    write_test(
        greeter,
        "test_greeter",
        """
        import pytest
        import greeter

        @pytest.mark.replay("cassettes/shared/alice.yaml")
        def test_greets(replay_cassette):
            assert replay_cassette.run("greeter:run", {"name": "alice"}) == "hello alice (admin)"
        """,
    )
    run(greeter).assert_outcomes(passed=1)
    assert (greeter.path / "cassettes" / "shared" / "alice.yaml").is_file()
    assert not (greeter.path / DEFAULT_CASSETTE).exists()


def test_the_marker_without_the_fixture_warns(greeter: pytest.Pytester) -> None:
    write_test(
        greeter,
        "test_greeter",
        """
        import pytest

        @pytest.mark.replay("cassettes/x.yaml")
        def test_forgot_the_fixture():
            pass
        """,
    )
    result = run(greeter)
    result.assert_outcomes(passed=1, warnings=1)
    result.stdout.fnmatch_lines(
        ["*PytestWarning: @pytest.mark.replay names a cassette for the replay_cassette fixture*"]
    )


def test_one_agent_run_per_test(greeter: pytest.Pytester) -> None:
    write_test(
        greeter,
        "test_greeter",
        """
        import greeter

        def test_twice(replay_cassette):
            replay_cassette.run(greeter.run, {"name": "alice"})
            replay_cassette.run(greeter.run, {"name": "bob"})
        """,
    )
    result = run(greeter)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*SessionError: *replay_cassette runs one agent run per test*"])
