"""What a user at a terminal sees: a live progress bar on stderr (a pseudo-terminal)
that is erased when done, while stdout, piped, carries only the report."""

from __future__ import annotations

import replay
from tests.process import run_replay_on_terminal


def test_replay_run_shows_a_live_bar_on_a_terminal(cassettes):
    recorded = replay.load_cassette(cassettes.ok, cache=False)
    done = run_replay_on_terminal("run", cassettes.ok, "--repeat", "3")
    assert done.code == 0, done
    frames = [f.strip() for f in done.text.replace("\n", "\r").split("\r") if "replaying" in f]
    assert frames, done
    # the first frame has no replay done; the last one all three, describing the last
    assert frames[0].endswith("replaying ━━━━━━━━━━━━━━━━━━━━ 0/3"), done
    described = f"{len(recorded.steps)} steps, stop_reason completed, same as recorded"
    assert frames[-1] == f"replaying ━━━━━━━━━━━━━━━━━━━━ 3/3 {described}", done
    assert done.terminal.startswith("\x1b[?25l"), done  # cursor hidden while the bar runs
    assert done.terminal.endswith("\x1b[?25h\r\x1b[1A\x1b[2K"), done  # shown again, bar erased
    assert "replay 1/3:" not in done.text, done  # the plain progress lines are for pipes
    # the agent's prints go to the terminal above the bar; the report to stdout alone
    assert done.text.count("support agent: ticket") == 3, done
    assert done.stdout.startswith("Verdict: MATCH  evidence"), done
    assert "replaying" not in done.stdout and "\x1b" not in done.stdout, done
