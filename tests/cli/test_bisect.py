"""``replay bisect`` on a throwaway git repository whose history is known: the commit
that let order-service timeouts through is found, the same way every time, and the
user's checkout (dirty on purpose) is left exactly as it was."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.cli.conftest import cli

AGENT = '''"""The shop's agent: look an order up and answer."""

import replay

HANDLE_TIMEOUTS = {handle}
{extra}

@replay.tool
def fetch_order(order_id: str) -> dict:
    raise TimeoutError(f"orders service timed out for {{order_id}}")


def run(order_id: str) -> dict:
    try:
        order = fetch_order(order_id)
    except TimeoutError as exc:
        if HANDLE_TIMEOUTS:
            return {{"stop_reason": "completed", "output": {{"answer": "try again soon"}}}}
        return {{"stop_reason": "tool_error", "output": None, "error": exc}}
    return {{"stop_reason": "completed", "output": {{"answer": order["status"]}}}}
'''

# (subject, agent source or None to keep it, other files): the history of the shop.
HISTORY = (
    ("shop: answer when the orders service times out", AGENT.format(handle=True, extra=""), {}),
    ("docs: a README", None, {"README.md": "# shop\n"}),
    ("shop: note the order id", AGENT.format(handle=True, extra="# order ids: A-1"), {}),
    ("shop: let timeouts propagate", AGENT.format(handle=False, extra="# order ids: A-1"), {}),
    ("wip: split the orders client", AGENT.format(handle=False, extra="import shop.client"), {}),
    ("shop: finish the split", AGENT.format(handle=False, extra=""), {"shop/client.py": ""}),
    ("shop: handle timeouts again", AGENT.format(handle=True, extra=""), {}),
    ("docs: changelog", None, {"CHANGELOG.md": "- timeouts handled again\n"}),
)
FIRST_BAD, BROKEN, FIXED_AGAIN = 3, 4, 6  # indices into HISTORY


def git(*args: str, cwd: Path) -> str:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "Shop Dev",
        "GIT_AUTHOR_EMAIL": "dev@shop.example",
        "GIT_COMMITTER_NAME": "Shop Dev",
        "GIT_COMMITTER_EMAIL": "dev@shop.example",
        "GIT_AUTHOR_DATE": "2026-01-01T00:00:00Z",
        "GIT_COMMITTER_DATE": "2026-01-01T00:00:00Z",
    }
    done = subprocess.run(
        ["git", *args], cwd=cwd, env=env, capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, list[str]]:
    """The repository, the incident's cassette (outside it) and the commit ids, oldest
    first. The incident was recorded with the code of the first bad commit."""
    base = tmp_path_factory.mktemp("bisect")
    recording = base / "recording"
    (recording / "shop").mkdir(parents=True)
    (recording / "pyproject.toml").write_text('[project]\nname = "shop"\nversion = "0"\n')
    (recording / "shop" / "__init__.py").write_text("")
    (recording / "shop" / "agent.py").write_text(HISTORY[FIRST_BAD][1])
    cassette = base / "incident.yaml"
    recorded = cli(
        "record", "shop.agent:run", "--input", '{"order_id": "A-1"}', "-o", cassette, cwd=recording
    )
    assert recorded.code == 0 and cassette.is_file(), recorded

    repo = base / "repo"
    (repo / "shop").mkdir(parents=True)
    git("init", "--quiet", "-b", "main", cwd=repo)
    (repo / "pyproject.toml").write_text('[project]\nname = "shop"\nversion = "0"\n')
    (repo / "shop" / "__init__.py").write_text("")
    commits = []
    for subject, agent, files in HISTORY:
        if agent is not None:
            (repo / "shop" / "agent.py").write_text(agent)
        for name, text in files.items():
            (repo / name).write_text(text)
        git("add", "-A", cwd=repo)
        git("commit", "--quiet", "-m", subject, cwd=repo)
        commits.append(git("rev-parse", "HEAD", cwd=repo))
    # The user's checkout is dirty: an edited tracked file and an untracked one.
    (repo / "README.md").write_text("# shop\n\nwork in progress\n")
    (repo / "notes.txt").write_text("scratch\n")
    return repo, cassette, commits


def _state(repo: Path) -> tuple[str, ...]:
    """Everything about the checkout bisect must not change."""
    return (
        git("status", "--porcelain=v1", "--untracked-files=all", cwd=repo),
        git("rev-parse", "HEAD", cwd=repo),
        git("worktree", "list", "--porcelain", cwd=repo),
        git("for-each-ref", cwd=repo),
        (repo / "README.md").read_text(),
        # no worktree registered, no bisection of ours left behind (git may pack refs)
        str(sorted(p.name for p in (repo / ".git").iterdir() if p.name != "packed-refs")),
    )


@pytest.mark.slow
def test_bisect_names_the_commit_that_let_the_incident_in(shop):
    repo, cassette, commits = shop
    before = _state(repo)
    args = ("bisect", cassette, "--good", commits[0], "--bad", commits[5], "--repeat", "1")

    done = cli(*args, cwd=repo)
    assert done.code == 0, done
    first = commits[FIRST_BAD][:10]
    assert done.stdout.startswith(
        f"First commit where replay gives reproduced: {first} shop: let timeouts propagate\n"
    ), done
    assert "  5 commits after --good" in done.stdout
    assert "verdict reproduced (evidence): every replay fails like the original" in done.stdout
    assert f"git checkout {first}" in done.stdout
    # each commit with its verdict, the ends first
    lines = done.stderr.splitlines()
    assert lines[0].startswith(f"{commits[5][:10]}  bad   reproduced (evidence)")
    assert lines[0].endswith("shop: finish the split  [--bad]")
    assert lines[1].startswith(f"{commits[0][:10]}  good  fixed (evidence)")
    assert f"{first}  bad   reproduced (evidence)" in done.stderr
    assert _state(repo) == before  # checkout, index, untracked files, worktrees, refs

    data = cli(*args, "--json", cwd=repo).json()
    assert data["first_bad"]["commit"] == commits[FIRST_BAD]
    assert data["first_bad"]["verdict"] == "reproduced" and data["exit_status"] == 0
    decided = {s["commit"]: s["decision"] for s in data["steps"]}
    for index, commit in enumerate(commits[:6]):
        if commit in decided and index != BROKEN:
            assert decided[commit] == ("bad" if index >= FIRST_BAD else "good"), index
    # the commit whose agent cannot be imported has no verdict: skipped, with the reason
    broken = next(s for s in data["steps"] if s["commit"] == commits[BROKEN])
    assert (broken["decision"], broken["verdict"]) == ("skip", None)
    assert "No module named 'shop.client'" in broken["reason"]
    assert "cannot replay here: importing 'shop.agent'" in done.stderr
    # serially reproducible: the same steps and answer on a second run
    again = cli(*args, "--json", cwd=repo).json()
    assert again == data
    assert _state(repo) == before


def test_a_bad_end_without_a_verdict_is_refused(shop):
    repo, cassette, commits = shop
    done = cli(
        "bisect",
        cassette,
        "--good",
        commits[FIRST_BAD - 1],
        "--bad",
        commits[BROKEN],
        "-n",
        "1",
        cwd=repo,
    )
    assert done.code == 3, done
    error = done.stderr.splitlines()[-1]
    assert error.startswith(
        f"replay: error: at --bad {commits[BROKEN][:10]} the replay gives no verdict, not "
        "reproduced (cannot replay here: importing 'shop.agent'"
    ), error
    assert done.stdout == ""


def test_expect_fixed_finds_the_commit_that_fixed_it(shop):
    repo, cassette, commits = shop
    done = cli(
        "bisect",
        cassette,
        "--good",
        commits[5],
        "--bad",
        commits[7],
        "--expect",
        "fixed",
        "-n",
        "1",
        cwd=repo,
    )
    assert done.code == 0, done
    assert done.stdout.startswith(
        f"First commit where replay gives fixed: {commits[FIXED_AGAIN][:10]} "
        "shop: handle timeouts again"
    ), done


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--good", "v0.0-nope", "--bad", "HEAD"), "--good 'v0.0-nope' is not a commit of"),
        (("--good", "HEAD~7", "--bad", "no-such-branch"), "--bad 'no-such-branch' is not a commit"),
        (("--good", "HEAD", "--bad", "HEAD~2"), "is not an ancestor of --bad HEAD~2"),
        (("--good", "HEAD", "--bad", "main"), "--good and --bad are the same commit"),
    ],
)
def test_bad_revisions_are_one_line_errors(shop, args, message):
    repo, cassette, _ = shop
    done = cli("bisect", cassette, *args, cwd=repo)
    assert done.code == 3, done
    assert done.stderr.count("\n") == 1 and message in done.stderr, done
    assert done.stderr.startswith("replay: error: ")


def test_outside_git_and_without_a_cassette(shop, tmp_path):
    repo, cassette, _ = shop
    outside = cli("bisect", cassette, "--good", "a", "--bad", "b", cwd=tmp_path)
    assert outside.code == 3, outside
    assert f"{tmp_path} is not in a git repository" in outside.stderr
    assert outside.stderr.count("\n") == 1
    missing = cli("bisect", tmp_path / "gone.yaml", "--good", "HEAD~1", "--bad", "HEAD", cwd=repo)
    assert missing.code == 3, missing
    assert "gone.yaml: no such cassette file" in missing.stderr
    assert missing.stderr.count("\n") == 1


def test_the_good_end_must_not_give_the_verdict(shop):
    repo, cassette, commits = shop
    done = cli(
        "bisect",
        cassette,
        "--good",
        commits[FIRST_BAD],
        "--bad",
        commits[5],
        "-n",
        "1",
        cwd=repo,
    )
    assert done.code == 3, done
    assert f"at --good {commits[FIRST_BAD][:10]} the replay already gives reproduced" in (
        done.stderr
    )
    assert done.stdout == ""  # the ends' steps are on stderr, the result nowhere
