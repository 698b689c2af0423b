"""Which commit did it: bisect a project's history with replay as the test.

``bisect(cassette, good=..., bad=...)`` finds the first commit at which replaying the
cassette gives ``expect`` (default ``reproduced``: the incident starts to reproduce, or
a fix given with ``agent`` stops working). It checks the two ends first, then drives
``git bisect run`` in a temporary worktree, so the user's checkout, its index, its
untracked files and any bisection of their own are never touched; the worktree is
removed afterwards, whatever happened.

Each step replays the cassette (the file given, the same at every commit: the recorded
world) against the code of that commit, as ``replay run CASSETTE --expect VERDICT``
would, in a fresh process (``python -m replay.bisect --step``). The step puts the
commit's folder first on ``sys.path`` once agent-replay itself is imported, so the agent
comes from the commit while the judge stays this build. A commit is

    bad   the verdict is ``expect``
    good  another verdict, decided on evidence
    skip  an undecided verdict (diverged, flaky, any hypothesis) or a commit whose
          agent cannot be replayed at all (not importable there): git bisect skips it

Git's hooks do not run in the worktree (``core.hooksPath`` is emptied). Results are
values (``BisectResult``, one ``BisectStep`` per commit tested), rendered by the CLI.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from replay.errors import ReplayError

STEP_MARKER = "replay-bisect-step: "
EXIT_GOOD, EXIT_BAD, EXIT_SKIP = 0, 1, 125
EXIT_ABORT = 128  # git bisect run stops on a status above 127: a bug must not read "bad"
COMMIT_ID = re.compile(r"^[0-9a-f]{40}\b")
DEFAULT_EXPECT = "reproduced"
DEFAULT_REPEATS = 3
# Safe for every git command we run: no hooks, no pager, no prompts, messages in English
# (they are parsed).
GIT_CONFIG = ("-c", "core.hooksPath=/dev/null", "-c", "advice.detachedHead=false")
GIT_ENV = {"GIT_TERMINAL_PROMPT": "0", "GIT_PAGER": "cat", "LC_ALL": "C", "LANGUAGE": "C"}


class BisectError(ReplayError):
    """``replay bisect`` cannot run: not a git repository, a bad revision, ends that do
    not give the verdicts a bisection needs, git failing."""


@dataclass(frozen=True, slots=True)
class BisectStep:
    """One commit tested: its verdict and what that made it for the bisection."""

    commit: str
    subject: str
    decision: str  # "good" | "bad" | "skip"
    verdict: str | None
    mode: str | None
    reason: str
    role: str = ""  # "good" / "bad" for the two ends given, "" for bisection steps

    @property
    def short(self) -> str:
        return self.commit[:10]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class BisectResult:
    """The bisection: every step in the order it ran, and the first bad commit (None
    when skipped commits leave several candidates, listed in ``candidates``)."""

    cassette: str
    good: str
    bad: str
    expect: str
    agent: str | None
    steps: tuple[BisectStep, ...]
    first_bad: BisectStep | None
    candidates: tuple[str, ...] = ()
    commits_between: int = 0
    git_log: tuple[str, ...] = field(default=(), repr=False)

    @property
    def found(self) -> bool:
        return self.first_bad is not None

    def to_dict(self) -> dict[str, Any]:
        return {
            "cassette": self.cassette,
            "good": self.good,
            "bad": self.bad,
            "expect": self.expect,
            "agent": self.agent,
            "commits_between": self.commits_between,
            "steps": [s.to_dict() for s in self.steps],
            "first_bad": self.first_bad.to_dict() if self.first_bad else None,
            "candidates": list(self.candidates),
        }


# ------------------------------------------------------------------------------ git


def _git(
    args: Sequence[str], *, cwd: str | os.PathLike[str], check: bool = True
) -> subprocess.CompletedProcess[str]:
    try:
        done = subprocess.run(
            ["git", *GIT_CONFIG, *args],
            cwd=cwd,
            env={**os.environ, **GIT_ENV},
            capture_output=True,
            text=True,
            check=False,
        )
    except FileNotFoundError:
        raise BisectError("git is not installed (or not on PATH): replay bisect needs it") from None
    if check and done.returncode != 0:
        message = (done.stderr or done.stdout).strip().splitlines()
        raise BisectError(f"git {' '.join(args)} failed: {message[-1] if message else '?'}")
    return done


def repository_root(cwd: str | os.PathLike[str]) -> Path:
    """The top folder of the git repository holding ``cwd``."""
    done = _git(["rev-parse", "--show-toplevel"], cwd=cwd, check=False)
    if done.returncode != 0:
        raise BisectError(
            f"{Path(cwd).resolve()} is not in a git repository: replay bisect searches the "
            "project's git history; run it inside the repository"
        )
    return Path(done.stdout.strip())


def resolve_commit(root: Path, rev: str, *, option: str) -> str:
    """The full id of the commit ``rev`` names, or a one-line error naming the option."""
    done = _git(
        ["rev-parse", "--verify", "--quiet", "--end-of-options", f"{rev}^{{commit}}"],
        cwd=root,
        check=False,
    )
    if done.returncode != 0 or not done.stdout.strip():
        raise BisectError(
            f"{option} {rev!r} is not a commit of {root}; give a commit id, tag or branch "
            "('git log --oneline' lists them)"
        )
    return done.stdout.strip()


def subject_of(root: str | os.PathLike[str], commit: str) -> str:
    return _git(["log", "-1", "--format=%s", commit], cwd=root).stdout.strip()


@contextlib.contextmanager
def temporary_worktree(root: Path, commit: str) -> Iterator[Path]:
    """A detached worktree of ``root`` at ``commit`` in a temporary folder, removed (and
    unregistered) on exit; the user's checkout is never touched."""
    holder = Path(tempfile.mkdtemp(prefix="replay-bisect-"))
    tree = holder / "tree"
    try:
        _git(["worktree", "add", "--detach", "--quiet", str(tree), commit], cwd=root)
        yield tree
    finally:
        if tree.exists():
            _git(["bisect", "reset", "--quiet"], cwd=tree, check=False)
            _git(["worktree", "remove", "--force", str(tree)], cwd=root, check=False)
        shutil.rmtree(holder, ignore_errors=True)
        _git(["worktree", "prune"], cwd=root, check=False)


# ---------------------------------------------------------------------------- steps


@dataclass(frozen=True, slots=True)
class StepSpec:
    """What every step replays: handed to the step process as JSON."""

    cassette: str
    expect: str = DEFAULT_EXPECT
    agent: str | None = None
    repeat: int = DEFAULT_REPEATS
    allow_hosts: tuple[str, ...] = ()
    subfolder: str = ""  # where in the repository the command was run (a monorepo's project)

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> StepSpec:
        data = json.loads(text)
        data["allow_hosts"] = tuple(data.get("allow_hosts") or ())
        return cls(**data)


def decide(verdict: str, mode: str, expect: str) -> str:
    """``bad`` when the verdict is the one searched for, ``good`` for another verdict on
    evidence, ``skip`` when it is undecided (a hypothesis cannot say either way)."""
    if verdict == expect:
        return "bad"
    return "good" if mode == "evidence" else "skip"


def step_command(spec: StepSpec) -> list[str]:
    """The command ``git bisect run`` runs at each commit. ``-P``: the commit's folder
    (the working folder) is not put before agent-replay on ``sys.path``."""
    return [sys.executable, "-P", "-m", "replay.bisect", "--step", spec.to_json()]


def run_step(spec: StepSpec, *, folder: str | os.PathLike[str] = ".") -> tuple[BisectStep, int]:
    """Replay the cassette against the code in ``folder`` (the worktree at some commit):
    the step and its exit status for ``git bisect run`` (0 good, 1 bad, 125 skip)."""
    from replay.hermetic import allowing
    from replay.storage import load_cassette
    from replay.verdict import verdict_for

    commit = _git(["rev-parse", "HEAD"], cwd=folder).stdout.strip()
    subject = subject_of(folder, commit)
    here = Path(folder, spec.subfolder).resolve()
    if not here.is_dir():  # the folder does not exist at this commit
        here = Path(folder).resolve()
    os.chdir(here)  # as 'replay run' from there: its pyproject.toml, its agent first
    tree = str(here)
    sys.path.insert(0, tree)  # after agent-replay itself is imported
    try:
        cassette = load_cassette(spec.cassette)
        with allowing(spec.allow_hosts), contextlib.redirect_stdout(sys.stderr):
            verdict = verdict_for(cassette, agent=spec.agent, repeats=spec.repeat)
    except ReplayError as exc:
        reason = " | ".join(line.strip() for line in str(exc).splitlines() if line.strip())
        step = BisectStep(commit, subject, "skip", None, None, f"cannot replay here: {reason}")
        return step, EXIT_SKIP
    finally:
        with contextlib.suppress(ValueError):
            sys.path.remove(tree)
    decision = decide(verdict.verdict, verdict.mode, spec.expect)
    step = BisectStep(commit, subject, decision, verdict.verdict, verdict.mode, verdict.reason)
    return step, {"good": EXIT_GOOD, "bad": EXIT_BAD, "skip": EXIT_SKIP}[decision]


def _step_main(argv: Sequence[str]) -> int:
    """``python -m replay.bisect --step SPEC``: one step, its record on stdout. Anything
    but a verdict or a ``ReplayError`` (a bug) aborts the bisection rather than mark
    the commit bad."""
    import traceback

    try:
        spec = StepSpec.from_json(argv[1])
        step, status = run_step(spec)
    except Exception:
        traceback.print_exc()
        return EXIT_ABORT
    sys.stdout.write(STEP_MARKER + json.dumps(step.to_dict()) + "\n")
    sys.stdout.flush()
    return status


def _read_step(line: str) -> BisectStep | None:
    if not line.startswith(STEP_MARKER):
        return None
    return BisectStep(**json.loads(line[len(STEP_MARKER) :]))


def _checked_step(tree: Path, spec: StepSpec, commit: str, role: str) -> BisectStep:
    """Test one end in its own process, as every bisection step is."""
    _git(["checkout", "--detach", "--quiet", commit], cwd=tree)
    done = subprocess.run(step_command(spec), cwd=tree, capture_output=True, text=True, check=False)
    for line in done.stdout.splitlines():
        step = _read_step(line)
        if step is not None:
            return BisectStep(**{**step.to_dict(), "role": role})
    tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
    raise BisectError(f"the replay at {commit[:10]} ({role} end) failed: {tail}")


# ------------------------------------------------------------------------ bisecting


def bisect(
    cassette: str | os.PathLike[str],
    *,
    good: str,
    bad: str,
    expect: str = DEFAULT_EXPECT,
    agent: str | None = None,
    repeat: int = DEFAULT_REPEATS,
    allow_hosts: Sequence[str] = (),
    cwd: str | os.PathLike[str] = ".",
    on_step: Callable[[BisectStep], None] | None = None,
) -> BisectResult:
    """Find the first commit between ``good`` and ``bad`` where the replay gives ``expect``.

    Raises ``BisectError`` for a folder outside git, a revision that is not a commit,
    ``good`` not an ancestor of ``bad``, or ends that do not give the verdicts a
    bisection needs (``bad`` must give ``expect``, ``good`` another verdict on evidence).
    ``on_step`` sees each commit as it is tested.
    """
    from replay.storage import load_cassette

    path = Path(cwd, cassette).resolve()
    load_cassette(path)  # a missing or broken cassette is refused before git is touched
    root = repository_root(cwd)
    subfolder = Path(cwd).resolve().relative_to(root.resolve()).as_posix()
    good_id = resolve_commit(root, good, option="--good")
    bad_id = resolve_commit(root, bad, option="--bad")
    if good_id == bad_id:
        raise BisectError(
            f"--good and --bad are the same commit ({good_id[:10]}): nothing to search"
        )
    if _git(["merge-base", "--is-ancestor", good_id, bad_id], cwd=root, check=False).returncode:
        raise BisectError(
            f"--good {good} ({good_id[:10]}) is not an ancestor of --bad {bad} "
            f"({bad_id[:10]}); give an older good commit on the history of the bad one"
        )
    between = int(
        _git(["rev-list", "--count", f"{good_id}..{bad_id}"], cwd=root).stdout.strip() or 0
    )
    spec = StepSpec(
        cassette=str(path),
        expect=expect,
        agent=agent,
        repeat=repeat,
        allow_hosts=tuple(allow_hosts),
        subfolder="" if subfolder == "." else subfolder,
    )
    steps: list[BisectStep] = []

    def seen(step: BisectStep) -> None:
        steps.append(step)
        if on_step is not None:
            on_step(step)

    with temporary_worktree(root, bad_id) as tree:
        ends = {}
        for commit, role in ((bad_id, "bad"), (good_id, "good")):
            ends[role] = _checked_step(tree, spec, commit, role)
            seen(ends[role])
        _check_ends(ends, expect)
        started = _git(["bisect", "start", bad_id, good_id], cwd=tree)
        if "is the first bad commit" in started.stdout:  # --good is the parent of --bad
            log, candidates = tuple(started.stdout.splitlines()), ()
        else:
            log, candidates = _bisect_run(tree, spec, seen)
        first_bad = None
        if not candidates:
            first = _git(["rev-parse", "--verify", "--quiet", "refs/bisect/bad"], cwd=tree)
            commit = first.stdout.strip()
            first_bad = next((s for s in reversed(steps) if s.commit == commit), None)
    return BisectResult(
        cassette=str(cassette),
        good=good,
        bad=bad,
        expect=expect,
        agent=agent,
        steps=tuple(steps),
        first_bad=first_bad,
        candidates=candidates,
        commits_between=between,
        git_log=log,
    )


def _check_ends(ends: dict[str, BisectStep], expect: str) -> None:
    """A bisection needs a bad end that gives the verdict and a good end that does not."""
    bad, good = ends["bad"], ends["good"]
    if bad.decision != "bad":
        got = bad.verdict or "no verdict"
        raise BisectError(
            f"at --bad {bad.short} the replay gives {got}, not {expect} ({bad.reason}); "
            f"nothing to search: pick a --bad commit where 'replay run --expect {expect}' passes"
        )
    if good.decision != "good":
        got = good.verdict or "no verdict"
        what = "already" if good.decision == "bad" else "cannot decide on evidence:"
        raise BisectError(
            f"at --good {good.short} the replay {what} gives {got} ({good.reason}); "
            "pick an older --good commit where the verdict is decided and another one"
        )


def _bisect_run(
    tree: Path, spec: StepSpec, seen: Callable[[BisectStep], None]
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """``git bisect run`` the step command; its output lines, and the candidate commits
    when skipped commits leave more than one."""
    command = ["git", *GIT_CONFIG, "bisect", "run", *step_command(spec)]
    log: list[str] = []
    with subprocess.Popen(
        command,
        cwd=tree,
        env={**os.environ, **GIT_ENV},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    ) as process:
        assert process.stdout is not None
        for line in process.stdout:
            log.append(line.rstrip("\n"))
            step = _read_step(line.rstrip("\n"))
            if step is not None:
                seen(step)
        status = process.wait()
    text = "\n".join(log)
    if "only 'skip'ped commits left" in text:
        start = next(i for i, line in enumerate(log) if "could be any of" in line)
        found = (COMMIT_ID.match(line) for line in log[start + 1 :])
        return tuple(log), tuple(m.group(0) for m in found if m)
    if status != 0 or "is the first bad commit" not in text:
        tail = log[-1] if log else "no output"
        raise BisectError(f"git bisect run failed (exit {status}): {tail}")
    return tuple(log), ()


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--step":
        sys.exit(_step_main(sys.argv[1:]))
    sys.stderr.write("usage: python -m replay.bisect --step SPEC (run by 'replay bisect')\n")
    sys.exit(EXIT_SKIP)
