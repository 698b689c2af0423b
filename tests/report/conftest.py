"""Reports of the bundled incidents, verdicts and a golden run, written once per session
with the real CLI, and one headless Chromium per session (``replay.testing.browser``).

Without Chromium the browser tests fail in CI (``CI`` set: ``.ci/run`` installs it) and
are skipped elsewhere with the reason.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import replay
from replay.canonical import stable_hash
from replay.cassette import Cassette, ErrorInfo, Outcome, RunContext, Step
from tests.agents.report_payload import PAYLOAD
from tests.process import run_python

ROOT = Path(__file__).resolve().parents[2]
INCIDENTS = ("run_9fd2", "run_a113", "run_d77c")
FIXED = "examples.support_agent.fixed:run"
REGRESSED = "tests.agents.example_regressed:run"
LONG_RUN_STEPS = 10_000


def replay_cli(*args: str) -> Any:
    """``python -m replay ARGS`` from the checkout's root."""
    return run_python("-m", "replay", *args, cwd=ROOT)


@pytest.fixture(scope="session")
def reports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Every page the tests look at, by name: ``run_<id>`` (replay report), the verdicts
    ``diverged`` and ``fixed`` (replay run --html, and their --json saved), the regressed
    ``golden`` run (and its --json), and ``payload`` (hostile recorded values)."""
    folder = tmp_path_factory.mktemp("reports")
    pages: dict[str, Path] = {}
    for run_id in INCIDENTS:
        pages[run_id] = folder / f"{run_id}.html"
        done = replay_cli("report", f"cassettes/incidents/{run_id}.yaml", "-o", str(pages[run_id]))
        assert done.returncode == 0, done.stderr
    for name, run_id, status in (("diverged", "run_a113", 2), ("fixed", "run_9fd2", 0)):
        pages[name] = folder / f"{name}.html"
        done = replay_cli(
            "run",
            f"cassettes/incidents/{run_id}.yaml",
            "--agent",
            FIXED,
            "--repeat",
            "1",
            "--html",
            str(pages[name]),
            "--json",
        )
        assert done.returncode == status, done.stderr
        pages[f"{name}.json"] = folder / f"{name}.json"
        pages[f"{name}.json"].write_text(done.stdout)
    pages["golden"] = folder / "golden.html"
    done = replay_cli(
        "golden",
        "cassettes/golden",
        "--agent",
        REGRESSED,
        "--release",
        "v-next",
        "--no-progress",
        "--repeat",
        "1",
        "-n",
        "0",
        "--html",
        str(pages["golden"]),
        "--json",
    )
    assert done.returncode == 1, done.stderr
    pages["golden.json"] = folder / "golden.json"
    pages["golden.json"].write_text(done.stdout)
    cassette = folder / "payload.yaml"
    replay.record_run(
        "tests.agents.report_payload:run",
        cassette,
        input={"question": PAYLOAD},
        run_id="run_payload",
        workflow=PAYLOAD,
    )
    pages["payload"] = folder / "payload.html"
    done = replay_cli("report", str(cassette), "-o", str(pages["payload"]))
    assert done.returncode == 0, done.stderr
    return pages


@pytest.fixture(scope="session")
def flagged_release(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """The golden tests' set (tests/golden/conftest.py) replayed on the build whose refund
    runs give up (every call served, so every run is measured): the error rate of all
    runs, of workflow refund and of model gld-small is over its threshold. The page and
    its JSON."""
    from tests.golden.conftest import GIVES_UP, record_set

    folder = tmp_path_factory.mktemp("flagged")
    golden_set = record_set(folder / "golden")
    page = folder / "release.html"
    done = replay_cli(
        "golden", str(golden_set), "--agent", GIVES_UP, "--release", "v1.1",
        "--no-progress", "--repeat", "1", "-n", "0", "--html", str(page), "--json",
    )  # fmt: skip
    assert done.returncode == 1, done.stderr
    return page, json.loads(done.stdout)


@pytest.fixture(scope="session")
def streamed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A run whose model calls were streamed (SSE), recorded with the real OpenAI SDK
    against the fake model server: a tool call, then the answer."""
    from replay.testing.fake_llm import FakeLLM, reply, tool_call

    cassette = tmp_path_factory.mktemp("streamed") / "streamed.yaml"
    script = [tool_call("search_docs", {"query": "refunds"}), reply("Refunds take five days.")]
    with pytest.MonkeyPatch.context() as patch, FakeLLM(script) as llm:
        patch.setenv("OPENAI_API_KEY", "sk-proj-TESTKEYopenai0123456789abcdefXYZ")
        patch.delenv("OPENAI_BASE_URL", raising=False)
        replay.record_run(
            "tests.http.agents:openai_support",
            cassette,
            input={
                "base_url": llm.openai_url,
                "question": "How long do refunds take?",
                "stream": True,
            },
            run_id="run_streamed",
        )
    return cassette


def long_run(steps: int = LONG_RUN_STEPS) -> Cassette:
    """A run of ``steps`` tool calls, two at a time (each pair overlaps in time), one of
    which fails half way: built as values, as a capture of a long agent would be."""
    built = []
    for index in range(steps):
        args = {"page": index}
        failed = index == steps // 2
        built.append(
            Step(
                index=index,
                kind="tool" if index % 5 else "llm",
                name="fetch_page" if index % 5 else "gpt-4o-mini",
                args=args,
                args_hash=stable_hash(args),
                result=None if failed else {"page": index, "text": f"page {index}"},
                error=ErrorInfo("shop.tools.PageGone", f"page {index} is gone") if failed else None,
                started_at_ms=float(index // 2 * 10),
                latency_ms=8.0 + (index % 2),
            )
        )
    return Cassette(
        context=RunContext(run_id="run_long", trace_id="0" * 32, workflow="crawl"),
        steps=tuple(built),
        outcome=Outcome(
            stop_reason="tool_error",
            error=ErrorInfo("shop.tools.PageGone", f"page {steps // 2} is gone"),
        ),
    )


def page_data(html: str) -> dict[str, Any]:
    """The JSON block a page hands its script."""
    start = html.index('<script type="application/json" id="replay-data">')
    start = html.index(">", start) + 1
    return json.loads(html[start : html.index("</script>", start)])


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """One headless Chromium per test module, off the network, with a fresh profile.

    Not per session: Playwright's sync API keeps an event loop running in the main
    thread while it is started, so every later test of the process would see a running
    loop (``asyncio.run()`` refuses to start). Closing it with the module ends that."""
    from replay.testing.browser import chromium, chromium_path

    missing = None
    if chromium_path() is None:
        missing = "no chromium on the PATH (apt-get install -y chromium)"
    else:
        try:
            import playwright  # noqa: F401
        except ImportError:
            missing = "playwright is not installed (pip install 'agent-replay[browser]')"
    if missing:
        if os.environ.get("CI"):
            pytest.fail(f"the browser tests need Chromium in CI: {missing}")
        pytest.skip(f"browser tests skipped outside CI: {missing}")
    with chromium(tmp_path_factory.mktemp("chromium-profile")) as context:
        yield context
