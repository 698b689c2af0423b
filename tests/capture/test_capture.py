"""``replay.capture``: the keep policy, file naming, the background writer and its
counters, recorder failures kept away from the agent, attribution of concurrent runs,
OpenTelemetry correlation, configuration. The servers test is ``test_servers.py``."""

from __future__ import annotations

import asyncio
import contextvars
import datetime as dt
import errno
import logging
import os
import threading
from concurrent.futures import ThreadPoolExecutor

import openai
import pytest

import replay
from replay.capturing import CaptureWriter, write_new
from replay.config import ConfigError
from replay.testing.fake_llm import FakeLLM, reply
from tests.process import run_python


@replay.tool
def lookup(key: str) -> dict:
    return {"key": key, "value": key.upper()}


@replay.tool
async def alookup(key: str, delay: float) -> dict:
    await asyncio.sleep(delay)
    return {"key": key}


class Unprintable:
    def __repr__(self) -> str:
        raise RuntimeError("no repr")


@replay.tool
def odd_value() -> Unprintable:
    return Unprintable()


def today() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%d")


# --- keep policy ------------------------------------------------------------------------


def test_keep_failed_writes_failing_and_unreported_runs_only(tmp_path, writer):
    with replay.capture(tmp_path, run_id="healthy", writer=writer) as run:
        lookup("a")
        run.set_result({"stop_reason": "completed", "output": "fine"})
    with replay.capture(tmp_path, run_id="tool-error", writer=writer) as run:
        lookup("b")
        run.set_result({"stop_reason": "tool_error", "output": None})
    with replay.capture(tmp_path, run_id="unreported", writer=writer):
        lookup("c")
    with pytest.raises(KeyError), replay.capture(tmp_path, run_id="raised", writer=writer):
        lookup("d")
        raise KeyError("d")
    assert writer.flush(timeout=30)

    folder = tmp_path / today()
    assert sorted(p.name for p in folder.iterdir()) == [
        "raised.yaml",
        "tool-error.yaml",
        "unreported.yaml",
    ]
    outcomes = {p.stem: replay.load_cassette(p).outcome for p in folder.iterdir()}
    assert outcomes["tool-error"].stop_reason == "tool_error"
    assert outcomes["unreported"].stop_reason == "unknown"
    assert outcomes["raised"].stop_reason == "exception"
    assert outcomes["raised"].error.error_class == "builtins.KeyError"
    raised = replay.load_cassette(folder / "raised.yaml")
    assert [(s.name, s.args) for s in raised.steps] == [("lookup", {"key": "d"})]
    stats = writer.stats()
    assert (stats.runs, stats.written, stats.failed, stats.discarded) == (4, 3, 3, 1)


def test_keep_all_writes_healthy_runs_too(tmp_path, writer):
    with replay.capture(tmp_path, keep="all", run_id="r1", writer=writer) as run:
        run.set_result("ok")
    assert writer.flush(timeout=30)
    assert (tmp_path / today() / "r1.yaml").is_file()
    assert run.kept == "all"
    assert writer.stats().all == 1


def test_sampled_healthy_runs_are_golden_candidates(tmp_path, writer):
    draws = iter([0.5, 0.05, 0.9, 0.09])  # with sample=0.1: the 2nd and 4th runs
    for index in range(4):
        with replay.capture(
            tmp_path, sample=0.1, sampler=lambda: next(draws), run_id=f"h{index}", writer=writer
        ) as run:
            lookup(str(index))
            run.set_result("fine")
    assert writer.flush(timeout=30)
    sampled = tmp_path / today() / "sampled"
    assert sorted(p.name for p in sampled.iterdir()) == ["h1.yaml", "h3.yaml"]
    assert writer.stats().sampled == 2
    golden, copied = __import__("replay.golden").golden.add_to_golden(
        sampled / "h1.yaml", to=tmp_path / "golden"
    )
    assert copied and golden.name == "h1.yaml"


def test_a_run_id_seen_twice_gets_a_suffix_never_overwrites(tmp_path, writer):
    folder = tmp_path / today()
    folder.mkdir()
    (folder / "dup.yaml").write_text("someone else's file\n")
    for key in ("first", "second"):
        with replay.capture(tmp_path, run_id="dup", writer=writer) as run:
            lookup(key)
            run.set_result({"stop_reason": "error"})
    assert writer.flush(timeout=30)
    assert (folder / "dup.yaml").read_text() == "someone else's file\n"
    keys = {p.name: replay.load_cassette(p).steps[0].args["key"] for p in folder.glob("dup-*.yaml")}
    assert keys == {"dup-2.yaml": "first", "dup-3.yaml": "second"}


def test_run_ids_are_safe_file_names(tmp_path, writer):
    with replay.capture(tmp_path, run_id="../../etc/passwd", writer=writer):
        pass
    assert writer.flush(timeout=30)
    assert [p.name for p in (tmp_path / today()).iterdir()] == ["_.._etc_passwd.yaml"]


# --- never in the way -------------------------------------------------------------------


def test_a_full_queue_drops_the_cassette_and_counts_it(tmp_path):
    entered, release = threading.Event(), threading.Event()

    def slow_write(cassette, path):
        entered.set()
        release.wait(30)
        return write_new(cassette, path)

    writer = CaptureWriter(queue_size=1, write=slow_write)
    kept = []
    for index in range(3):
        with replay.capture(tmp_path, run_id=f"f{index}", writer=writer) as run:
            run.set_result({"stop_reason": "error"})
        kept.append(run.kept)
        if index == 0:
            assert entered.wait(30)  # the writer holds f0; the queue has room for one
    assert kept == ["failed", "failed", None]
    assert writer.stats().dropped_queue_full == 1
    release.set()
    assert writer.flush(timeout=30)
    assert sorted(p.stem for p in (tmp_path / today()).iterdir()) == ["f0", "f1"]
    assert writer.stats().written == 2


def test_an_unrecordable_value_reaches_the_agent_and_the_run_is_not_written(
    tmp_path, writer, caplog
):
    with replay.capture(tmp_path, run_id="odd", writer=writer) as run:
        value = odd_value()
        after = lookup("after")
        run.set_result({"stop_reason": "error"})
    assert isinstance(value, Unprintable)
    assert after == {"key": "after", "value": "AFTER"}
    assert writer.flush(timeout=30)
    assert not (tmp_path / today()).exists()
    assert writer.stats().recorder_errors == 1
    assert "run odd not recorded: tool 'odd_value' returned a value that cannot be" in caplog.text


def test_a_failing_redaction_hook_is_logged_and_counted(tmp_path, monkeypatch, writer, caplog):
    (tmp_path / "capture_hooks.py").write_text(
        "def scrub(cassette):\n    raise ValueError('hook is broken')\n"
    )
    (tmp_path / "pyproject.toml").write_text('[tool.replay]\nredact_hook = "capture_hooks:scrub"\n')
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.chdir(tmp_path)
    with (
        FakeLLM([reply("fine")]) as llm,
        replay.capture("incidents", run_id="hooked", writer=writer) as run,
    ):
        assert lookup("x")["value"] == "X"
        client = openai.OpenAI(base_url=llm.openai_url, api_key="sk-test", max_retries=0)
        answer = client.chat.completions.create(
            model="m", messages=[{"role": "user", "content": "q"}]
        )
        assert answer.choices[0].message.content == "fine"  # the hook runs in the writer
        run.set_result({"stop_reason": "error"})
    assert writer.flush(timeout=30)
    assert not (tmp_path / "incidents").exists()
    assert writer.stats().recorder_errors == 1
    assert "hook is broken" in caplog.text


def test_a_hook_that_cannot_be_imported_leaves_the_run_uncaptured(
    tmp_path, monkeypatch, writer, caplog
):
    (tmp_path / "pyproject.toml").write_text(
        '[tool.replay]\nredact_hook = "no_such_module_here:scrub"\n'
    )
    monkeypatch.chdir(tmp_path)
    with replay.capture("incidents", run_id="nohook", writer=writer) as run:
        assert lookup("x")["value"] == "X"
        run.set_result({"stop_reason": "error"})
    assert writer.flush(timeout=30)
    assert not (tmp_path / "incidents").exists()
    assert writer.stats().recorder_errors == 1
    assert "run nohook not recorded: capture could not start" in caplog.text


def test_a_write_failure_is_logged_and_counted(tmp_path, writer, caplog):
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the folder should be\n")
    with replay.capture(blocked, run_id="w", writer=writer) as run:
        run.set_result({"stop_reason": "error"})
    assert writer.flush(timeout=30)
    stats = writer.stats()
    assert (stats.write_errors, stats.written, stats.pending) == (1, 0, 0)
    assert "capture: run w not written: FileExistsError" in caplog.text or (
        "capture: run w not written: NotADirectoryError" in caplog.text
    )


# --- attribution ----------------------------------------------------------------------


def test_a_thread_without_the_runs_context_is_not_guessed_into_it(tmp_path, writer):
    with (
        replay.capture(tmp_path, run_id="ctx", writer=writer) as run,
        ThreadPoolExecutor(2) as pool,
    ):
        with pytest.warns(RuntimeWarning, match="does not carry the run's context"):
            pool.submit(lookup, "plain").result()
        context = contextvars.copy_context()
        pool.submit(context.run, lookup, "carried").result()
        run.set_result({"stop_reason": "error"})
    assert writer.flush(timeout=30)
    cassette = replay.load_cassette(tmp_path / today() / "ctx.yaml")
    assert [s.args["key"] for s in cassette.steps] == ["carried"]


def test_concurrent_asyncio_tasks_each_hold_their_own_steps(tmp_path, writer):
    async def one(index: int) -> None:
        async with replay.capture(tmp_path, keep="all", run_id=f"t{index}", writer=writer) as run:
            for turn in range(3):
                # Delays that interleave the tasks' calls.
                await alookup(f"{index}-{turn}", 0.001 * ((index * 7 + turn) % 5))
            run.set_result("done")

    async def main() -> None:
        await asyncio.gather(*(one(index) for index in range(20)))

    asyncio.run(main())
    assert writer.flush(timeout=30)
    folder = tmp_path / today()
    for index in range(20):
        cassette = replay.load_cassette(folder / f"t{index}.yaml")
        assert [s.args["key"] for s in cassette.steps] == [f"{index}-{t}" for t in range(3)]


def test_capture_inside_a_recording_leaves_the_calls_to_it(tmp_path, writer, caplog):
    with replay.record(tmp_path / "outer.yaml") as outer:
        with replay.capture(tmp_path / "inner", run_id="inner", writer=writer):
            lookup("x")
        outer.set_result("ok")
    assert writer.flush(timeout=30)
    assert [s.name for s in replay.load_cassette(tmp_path / "outer.yaml").steps] == ["lookup"]
    assert not (tmp_path / "inner").exists()
    assert "inside another session; not captured" in caplog.text


# --- OpenTelemetry and the log line ---------------------------------------------------------


def test_an_active_span_gives_the_trace_id_and_each_step_its_span(tmp_path, writer, caplog):
    from opentelemetry.sdk.trace import TracerProvider

    tracer = TracerProvider().get_tracer("capture-test")
    caplog.set_level(logging.INFO, logger="replay.capture")
    with (
        tracer.start_as_current_span("POST /ask") as request_span,
        replay.capture(tmp_path, run_id="traced", writer=writer) as run,
    ):
        with tracer.start_as_current_span("tool lookup") as tool_span:
            lookup("inside")
        lookup("request")
        run.set_result({"stop_reason": "error"})
    assert writer.flush(timeout=30)
    path = tmp_path / today() / "traced.yaml"
    cassette = replay.load_cassette(path)
    trace_id = format(request_span.get_span_context().trace_id, "032x")
    assert cassette.context.trace_id == trace_id == run.trace_id
    assert [s.span_id for s in cassette.steps] == [
        format(tool_span.get_span_context().span_id, "016x"),
        format(request_span.get_span_context().span_id, "016x"),
    ]
    (line,) = [r for r in caplog.records if r.getMessage().startswith("capture: wrote")]
    assert line.replay_cassette == str(path)
    assert (line.replay_run_id, line.replay_trace_id) == ("traced", trace_id)
    assert line.replay_reason == "failed"


def test_a_streamed_call_keeps_the_span_it_was_sent_in(tmp_path, writer):
    """The step of a stream is stored when the stream ends; its span id is still the one
    active when the request was sent, not the span active when it was read to the end."""
    from opentelemetry.sdk.trace import TracerProvider

    tracer = TracerProvider().get_tracer("capture-test")
    with FakeLLM([reply("one two three")]) as server:
        client = openai.OpenAI(base_url=server.openai_url, api_key="sk-test", max_retries=0)
        with (
            tracer.start_as_current_span("POST /ask"),
            replay.capture(tmp_path, run_id="streamed", writer=writer) as run,
        ):
            with tracer.start_as_current_span("llm call") as llm_span:
                stream = client.chat.completions.create(
                    model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}], stream=True
                )
                chunks = iter(stream)
                first = next(chunks)
            with tracer.start_as_current_span("after the call"):
                rest = list(chunks)
            run.set_result({"stop_reason": "error"})
    assert first.choices and rest
    assert writer.flush(timeout=30)
    (step,) = replay.load_cassette(tmp_path / today() / "streamed.yaml").steps
    assert step.span_id == format(llm_span.get_span_context().span_id, "016x")


def test_a_trace_id_given_wins(tmp_path, writer):
    from opentelemetry.sdk.trace import TracerProvider

    tracer = TracerProvider().get_tracer("capture-test")
    with (
        tracer.start_as_current_span("POST /ask"),
        replay.capture(tmp_path, run_id="given", trace_id="req-42", writer=writer) as run,
    ):
        run.set_result({"stop_reason": "error"})
    assert writer.flush(timeout=30)
    assert replay.load_cassette(tmp_path / today() / "given.yaml").context.trace_id == "req-42"


def test_without_a_span_each_run_gets_its_own_trace_id(tmp_path, writer):
    ids = set()
    for index in range(3):
        with replay.capture(tmp_path, run_id=f"n{index}", writer=writer) as run:
            pass
        ids.add(run.trace_id)
    assert len(ids) == 3 and all(len(i) == 32 for i in ids)


# --- configuration ---------------------------------------------------------------------------


def test_the_capture_table_supplies_folder_and_policy(tmp_path, monkeypatch, writer):
    (tmp_path / "pyproject.toml").write_text(
        '[tool.replay.capture]\ndir = "prod-runs"\nkeep = "all"\nrelease = "r9"\n'
        'workflow = "orders"\n'
    )
    monkeypatch.chdir(tmp_path)
    with replay.capture(run_id="cfg", writer=writer) as run:
        run.set_result("ok")
    assert writer.flush(timeout=30)
    cassette = replay.load_cassette(tmp_path / "prod-runs" / today() / "cfg.yaml")
    assert (cassette.context.release, cassette.context.workflow) == ("r9", "orders")


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ('keep = "sometimes"', "keep = 'sometimes' is not one of failed, all"),
        ("sample = 2", "sample = 2 is not a fraction between 0 and 1"),
        ("queue_size = 0", "queue_size = 0 is not a whole number >= 1"),
        ("dri = 'x'", "unknown key 'dri'"),
    ],
)
def test_a_bad_capture_table_is_one_line_naming_the_file(tmp_path, monkeypatch, table, message):
    (tmp_path / "pyproject.toml").write_text(f"[tool.replay.capture]\n{table}\n")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError) as caught:
        replay.capture().__enter__()
    text = str(caught.value)
    assert "pyproject.toml [tool.replay.capture]" in text and message in text
    assert "\n" not in text


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"keep": "failing"}, "replay.capture(): keep = 'failing' is not one of failed, all"),
        ({"sample": -0.1}, "replay.capture(): sample = -0.1 is not a fraction"),
    ],
)
def test_bad_arguments_fail_at_once(tmp_path, kwargs, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        replay.capture(tmp_path, **kwargs)


def test_no_folder_anywhere_says_how_to_give_one(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError, match=r"pass one \(replay.capture\('incidents/'\)\)"):
        replay.capture().__enter__()


# --- imports ----------------------------------------------------------------------------------


def test_capture_imports_no_cli_or_test_tooling(tmp_path):
    # (rich is left out: httpx imports it for its own CLI whenever it is installed.)
    script = (
        "import sys, replay\n"
        "@replay.tool\n"
        "def t(x):\n    return x\n"
        f"with replay.capture({str(tmp_path)!r}, run_id='imp') as run:\n"
        "    t(1)\n"
        "    run.set_result({'stop_reason': 'error'})\n"
        "assert replay.flush_captures(30)\n"
        "heavy = sorted(m for m in ('typer', 'deepdiff', 'pytest', 'xdist') "
        "if m in sys.modules)\n"
        "print('heavy:', heavy, replay.capture_stats().written)\n"
    )
    done = run_python("-c", script, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "heavy: [] 1"


def test_queued_cassettes_are_written_at_interpreter_exit(tmp_path):
    script = (
        "import atexit, threading, replay\n"
        "from replay import capturing\n"
        "writer = capturing.default_writer()  # registers its flush at exit\n"
        "gate = threading.Event()\n"
        "atexit.register(gate.set)  # runs first: atexit handlers run last-in first-out\n"
        "write = writer._write\n"
        "writer._write = lambda cassette, path: (gate.wait(), write(cassette, path))[1]\n"
        f"with replay.capture({str(tmp_path)!r}, run_id='late') as run:\n"
        "    run.set_result({'stop_reason': 'error'})\n"
        "print(replay.capture_stats().written)\n"
    )
    done = run_python("-c", script, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "0"  # not yet written when the script ended
    assert (tmp_path / today() / "late.yaml").is_file()


def test_without_hard_links_names_are_still_never_reused(tmp_path, monkeypatch):
    def no_links(source, target):
        raise OSError(errno.EPERM, "links not supported here")

    monkeypatch.setattr(os, "link", no_links)
    cassette = replay.Cassette(
        context=replay.RunContext(run_id="r", trace_id="t"),
        steps=(),
        outcome=replay.Outcome("error"),
    )
    first = write_new(cassette, tmp_path / "r.yaml")
    second = write_new(cassette, tmp_path / "r.yaml")
    assert (first.name, second.name) == ("r.yaml", "r-2.yaml")
    assert replay.load_cassette(second).run_id == "r"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r-2.yaml", "r.yaml"]
