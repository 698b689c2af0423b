"""Record real agents in-process, then replay them offline: the core contract."""

from __future__ import annotations

from pathlib import Path

import pytest

import replay
from replay.engine import import_entrypoint, outcome_from_return
from tests.agents import core_support
from tests.process import run_python

AGENT = "tests.agents.core_support"


def record(tmp_path: Path, entry: str = "run", name: str = "run.yaml", **input: object):
    path = tmp_path / name
    cassette = replay.record_run(
        f"{AGENT}:{entry}",
        path,
        input=input,
        run_id="run_t1",
        release="2026.11.3",
        workflow="support",
    )
    return path, cassette


def test_record_writes_context_steps_and_outcome(tmp_path, backend):
    path, cassette = record(tmp_path, question="refund policy")
    assert path.is_file()
    ctx = cassette.context
    assert (ctx.run_id, ctx.release, ctx.workflow, ctx.model) == (
        "run_t1",
        "2026.11.3",
        "support",
        "scripted-model",
    )
    assert ctx.entrypoint == f"{AGENT}:run"
    assert ctx.input == {"question": "refund policy"}
    assert [(s.kind, s.name) for s in cassette.steps] == [
        ("clock", "now"),
        ("uuid", "uuid4"),
        ("tool", "search_docs"),
        ("tool", "get_order"),
        ("llm", "scripted-model"),
    ]
    assert cassette.steps[2].args == {"query": "refund policy", "limit": 2}
    assert cassette.outcome.stop_reason == "completed"
    assert all(s.latency_ms >= 0 and s.span_id for s in cassette.steps)
    assert len({s.span_id for s in cassette.steps}) == len(cassette.steps)


def test_replay_serves_every_call_without_running_the_real_functions(tmp_path, backend):
    path, cassette = record(tmp_path, question="refund policy")
    backend["calls"] = 0
    result = replay.replay(path)
    assert backend["calls"] == 0
    assert result.divergence is None
    assert result.diff.identical
    assert result.outcome == cassette.outcome
    assert [s.key for s in result.history] == [s.key for s in cassette.steps]


def test_recorded_tool_errors_are_raised_again_as_their_class(tmp_path, backend):
    backend["search_fails"] = 10
    path, cassette = record(tmp_path, question="refund")
    assert cassette.outcome.stop_reason == "tool_error"
    assert cassette.outcome.error.error_class == "tests.agents.core_support.SearchTimeout"
    errors = [s for s in cassette.steps if s.error]
    assert len(errors) == 3
    assert errors[0].error.message == "search_docs timed out for 'refund'"
    result = replay.replay(path)
    assert result.identical
    assert result.outcome.stop_reason == "tool_error"


def test_max_steps_loop_replays_identically(tmp_path, backend):
    path, cassette = record(tmp_path, question="please loop", max_steps=3)
    assert cassette.outcome.stop_reason == "max_steps"
    repeated = [
        s for s in cassette.steps if s.name == "search_docs" and s.args["query"] == "refund policy"
    ]
    assert len(repeated) == 3 and len({s.args_hash for s in repeated}) == 1
    assert replay.replay(path).identical


def test_async_agent_with_concurrent_identical_calls(tmp_path, backend):
    path = tmp_path / "async.yaml"
    cassette = replay.record_run(f"{AGENT}:run_async", path, input={"n": 6})
    assert cassette.outcome.output == [0, 1, 4, 0, 1, 4]
    assert [s.args for s in cassette.steps] == [{"item": i % 3} for i in range(6)]
    result = replay.replay(path)
    assert result.identical
    assert result.outcome.output == [0, 1, 4, 0, 1, 4]


def test_exception_outcome_is_recorded_and_reproduced(tmp_path, backend):
    path = tmp_path / "crash.yaml"
    cassette = replay.record_run(f"{AGENT}:crash", path, input={"question": "x"})
    assert cassette.outcome.stop_reason == "exception"
    assert cassette.outcome.error.error_class == "builtins.RuntimeError"
    result = replay.replay(path)
    assert result.outcome == cassette.outcome
    assert result.identical


def test_other_code_diverges_with_step_nearest_call_and_args_diff(tmp_path, backend):
    path, _ = record(tmp_path, question="refund policy")
    result = replay.replay(path, agent=f"{AGENT}:run_changed_prompt")
    assert result.diverged
    info = result.divergence
    assert (info.step, info.kind, info.name, info.nearest_step) == (2, "tool", "search_docs", 2)
    assert "args.query: 'refund policy' -> 'REFUND POLICY'" in info.args_diff
    assert "replay run" in info.message
    assert result.outcome.stop_reason == "diverged"
    assert result.diff.first_divergence == 2
    change = result.diff.changes[0]
    assert (change.change, change.cause) == ("changed", "tool args changed")
    with pytest.raises(replay.Divergence, match="step 2: tool call 'search_docs' diverged"):
        result.raise_for_divergence()


def test_divergence_raised_inside_the_agent_is_a_replay_divergence(tmp_path, backend):
    path, _ = record(tmp_path, question="refund policy")
    message = (
        r"^step 0: tool call 'search_docs' diverged: no recorded answer\n"
        r"  nearest recorded call: step 2 tool 'search_docs'\n"
        r"    args.query: 'refund policy' -> 'something never recorded'\n"
        r"  reproduce with: replay run .*run\.yaml$"
    )
    with (
        replay.replaying(path) as session,
        pytest.raises(replay.Divergence, match=message) as caught,
    ):
        core_support.search_docs("something never recorded")
    assert caught.value.step == 0 and caught.value.nearest is not None
    assert (caught.value.nearest.index, caught.value.nearest.name) == (2, "search_docs")
    assert session.result.diverged


def test_fix_on_the_same_recorded_world(tmp_path, backend):
    backend["search_fails"] = 10
    path, _ = record(tmp_path, question="refund")
    result = replay.replay(path, agent=f"{AGENT}:run_graceful")
    assert not result.diverged
    assert result.outcome.stop_reason == "completed"
    assert result.diff.outcome_change.fields[0] == "stop_reason"


def test_nondeterminism_is_served_from_the_cassette(tmp_path, backend):
    path, cassette = record(tmp_path, question="refund policy")
    ticket = cassette.outcome.output["ticket"]
    assert ticket == cassette.steps[1].result
    assert replay.replay(path).outcome.output["ticket"] == ticket
    assert str(replay.uuid4()) != ticket


def test_record_context_manager_writes_cassette_when_the_block_raises(tmp_path, backend):
    path = tmp_path / "ctx.yaml"
    with pytest.raises(RuntimeError), replay.record(path, run_id="ctx"):
        core_support.search_docs("x")
        raise RuntimeError("boom")
    cassette = replay.load_cassette(path)
    assert cassette.outcome.stop_reason == "exception"
    assert cassette.outcome.error.message == "boom"
    assert len(cassette.steps) == 1


def test_record_context_manager_set_result(tmp_path, backend):
    path = tmp_path / "ctx.yaml"
    with replay.record(path, entrypoint=f"{AGENT}:run", input={"question": "q"}) as rec:
        rec.set_result(core_support.run("q"))
    assert replay.load_cassette(path).outcome.stop_reason == "completed"
    assert replay.replay(path).identical


def test_nested_sessions_are_refused(tmp_path):
    with (
        replay.record(tmp_path / "a.yaml"),
        pytest.raises(replay.SessionError),
        replay.record(tmp_path / "b.yaml"),
    ):
        pass


def test_outside_a_session_calls_are_plain(backend):
    assert core_support.search_docs("x", limit=1) == [{"title": "x guide 0", "score": 1.0}]
    assert backend["calls"] == 1


@pytest.mark.parametrize(
    ("entrypoint", "message"),
    [
        ("no_colon", "not of the form 'module:function'"),
        ("tests.agents.nope:run", "cannot import module 'tests.agents.nope'"),
        (f"{AGENT}:missing", "has no attribute 'missing'"),
    ],
)
def test_entrypoint_errors_are_one_clear_line(entrypoint, message):
    with pytest.raises(replay.EntrypointError, match=message) as caught:
        import_entrypoint(entrypoint)
    assert "\n" not in str(caught.value)


def test_outcome_from_return_value_shapes():
    assert outcome_from_return("text").stop_reason == "completed"
    out = outcome_from_return({"stop_reason": "max_steps", "output": (1, 2)})
    assert (out.stop_reason, out.output) == ("max_steps", [1, 2])
    err = outcome_from_return({"stop_reason": "tool_error", "error": TimeoutError("slow")})
    assert err.error.error_class == "builtins.TimeoutError" and err.error.message == "slow"


def test_importing_replay_stays_cheap():
    code = (
        "import sys, replay\n"
        "heavy = [m for m in ('yaml', 'vcr', 'deepdiff', 'openai', 'anthropic', 'httpx2')"
        " if m in sys.modules]\n"
        "print(','.join(heavy))"
    )
    out = run_python("-c", code, check=True)
    assert out.stdout.strip() == ""


def test_a_failing_encode_is_a_recorded_error_not_a_gap(tmp_path):
    @replay.tool(encode=lambda value: 1 / 0)
    def lookup(key: str) -> dict:
        return {"key": key}

    path = tmp_path / "enc.yaml"
    expected = "'lookup' returned a value that cannot be"
    with pytest.raises(replay.SessionError, match=expected), replay.record(path):
        lookup("k")
    (step,) = replay.load_cassette(path).steps
    assert step.error.error_class == "replay.errors.SessionError"


def test_errors_survive_pickling():
    import pickle

    from replay.errors import CassetteError, Divergence

    divergence = Divergence(step=3, kind="tool", name="t", args={"a": 1}, reason="no answer")
    copy = pickle.loads(pickle.dumps(divergence))
    assert (copy.step, copy.call_args, str(copy)) == (3, {"a": 1}, str(divergence))
    error = pickle.loads(pickle.dumps(CassetteError("bad", path="x.yaml", step=2, field="kind")))
    assert (error.path, error.step, str(error)) == (
        "x.yaml",
        2,
        "x.yaml: step 2: field 'kind': bad",
    )


def test_the_in_memory_recording_replays_on_the_checked_args_fast_path(tmp_path):
    """record()'s cassette is marked as a loaded one is (plain args, checked hashes), so
    the pytest plugin's replay of it skips converting and hashing; arguments that are
    not plain data (a tuple) are stored converted, so the mark holds for them too."""
    from replay.cassette import args_checked

    @replay.tool
    def lookup(query: str, limit: int) -> dict:
        return {"hits": [query] * limit}

    @replay.tool
    def pair(values: tuple) -> list:
        return list(values)

    with replay.record(tmp_path / "plain.yaml") as recording:
        recording.set_result(lookup("refund", 2))
    assert args_checked(recording.cassette.steps)
    with replay.replaying(recording.cassette) as replayed:
        replayed.set_result(lookup("refund", 2))
    assert replayed.result.identical

    with replay.record(tmp_path / "tuple.yaml") as recording:
        recording.set_result(pair((1, 2)))
    assert recording.cassette.steps[0].args == {"values": [1, 2]}
    assert args_checked(recording.cassette.steps)  # stored plain: a list
