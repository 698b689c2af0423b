"""A core install (what a production image holds): the package and its core dependencies
only, read from pyproject.toml, installed from PyPI into a fresh venv.

Records and captures a run of a small agent there (a tool, and a model call over
``urllib`` to the fake model server), replays it, and checks that the command line,
pytest and deepdiff are absent and that ``replay`` says how to get the command line.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXTRAS_ONLY = ("pytest", "xdist", "typer", "click", "rich", "deepdiff")

AGENT = """
import json
import urllib.request

import replay


@replay.tool
def lookup(order: str) -> str:
    return f"order {order}: shipped"


def run(base_url: str, order: str) -> dict:
    body = {"model": "m", "messages": [{"role": "user", "content": f"where is {order}?"}]}
    request = urllib.request.Request(
        f"{base_url}/chat/completions",
        data=json.dumps(body).encode(),
        headers={"content-type": "application/json", "authorization": "Bearer sk-core-123"},
    )
    with urllib.request.urlopen(request) as response:
        answer = json.load(response)["choices"][0]["message"]["content"]
    return {"stop_reason": "completed", "output": f"{lookup(order)}; {answer}"}


def run_other_order(base_url: str, order: str) -> dict:
    return run(base_url, "B2")
"""

SCRIPT = """
import importlib.util
import json
import sys
from pathlib import Path

import replay
from replay.testing.fake_llm import FakeLLM, reply

out = Path(sys.argv[1])
report = {"absent": [m for m in sys.argv[2:] if importlib.util.find_spec(m) is None]}
with FakeLLM(lambda request: reply("It ships today.")) as llm:
    inputs = {"base_url": llm.openai_url, "order": "A1"}
    with replay.record(out / "recorded.yaml", entrypoint="tiny_agent:run", input=inputs) as run:
        import tiny_agent

        run.set_result(tiny_agent.run(**inputs))
    cassette = replay.load_cassette(out / "recorded.yaml")
    report["recorded"] = [(s.kind, s.name) for s in cassette.steps]
    report["output"] = cassette.outcome.output
    same = replay.replay(out / "recorded.yaml")
    report["replayed_identical"] = same.diff.identical and same.divergence is None
    other = replay.replay(out / "recorded.yaml", agent="tiny_agent:run_other_order")
    report["divergence_diff"] = list(other.divergence.args_diff) if other.divergence else None
    with replay.capture(
        out / "incidents", keep="all", run_id="run-1", entrypoint="tiny_agent:run",
        input=inputs,
    ) as captured:
        captured.set_result(tiny_agent.run(**inputs))
    replay.flush_captures(30)
    report["captured"] = sorted(p.name for p in (out / "incidents").rglob("*.yaml"))
report["modules"] = sorted({name.partition(".")[0] for name in sys.modules})
print(json.dumps(report))
"""


def _core_requirements() -> list[str]:
    with (ROOT / "pyproject.toml").open("rb") as file:
        return list(tomllib.load(file)["project"]["dependencies"])


def _run(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(a) for a in args], cwd=cwd, capture_output=True, text=True, timeout=600
    )


@pytest.fixture(scope="module")
def core_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A venv holding the checkout (built from a copy) and the core requirements only."""
    folder = tmp_path_factory.mktemp("core-install")
    source = folder / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, source / name)
    shutil.copytree(
        ROOT / "replay", source / "replay", ignore=shutil.ignore_patterns("__pycache__")
    )
    venv = folder / "venv"
    created = _run(sys.executable, "-m", "venv", venv)
    assert created.returncode == 0, created.stderr
    pip = [
        venv / "bin" / "python",
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
    ]
    package = _run(*pip, "--no-deps", source)
    assert package.returncode == 0, package.stderr
    requirements = _run(*pip, *_core_requirements())
    assert requirements.returncode == 0, requirements.stderr
    return venv


@pytest.mark.slow
def test_a_core_install_records_captures_and_replays_without_the_extras(
    core_venv: Path, tmp_path: Path
) -> None:
    (tmp_path / "tiny_agent.py").write_text(AGENT, encoding="utf-8")
    (tmp_path / "core_check.py").write_text(SCRIPT, encoding="utf-8")

    done = _run(core_venv / "bin" / "python", "core_check.py", tmp_path, *EXTRAS_ONLY, cwd=tmp_path)

    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["absent"] == list(EXTRAS_ONLY)
    assert not set(report["modules"]) & set(EXTRAS_ONLY)
    assert report["recorded"] == [["llm", "m"], ["tool", "lookup"]]
    assert report["output"] == "order A1: shipped; It ships today."
    assert report["replayed_identical"] is True
    # Without deepdiff the divergence still says what changed in the request.
    assert "args.messages[0].content: 'where is A1?' -> 'where is B2?'" in report["divergence_diff"]
    assert report["captured"] == ["run-1.yaml"]
    text = (tmp_path / "recorded.yaml").read_text(encoding="utf-8")
    assert "sk-core-123" not in text


@pytest.mark.slow
def test_the_replay_command_without_the_cli_extra_says_what_to_install(core_venv: Path) -> None:
    for command in (
        [core_venv / "bin" / "replay", "--help"],
        [core_venv / "bin" / "python", "-m", "replay"],
    ):
        done = _run(*command)

        assert done.returncode == 3
        assert done.stdout == ""
        assert done.stderr.strip().splitlines() == [
            "replay: the command line needs the [cli] extra (typer is not installed); "
            "install it with: pip install 'agent-replay[cli]'"
        ]
