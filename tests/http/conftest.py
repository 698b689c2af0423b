"""Fixtures of the HTTP capture tests: the fake model server, keys, a clean project."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from replay.testing.fixtures import fake_llm  # noqa: F401  (the fixture)

OPENAI_KEY = "sk-proj-TESTKEYopenai0123456789abcdefXYZ"
ANTHROPIC_KEY = "sk-ant-api03-TESTKEYanthropic0123456789abcdef"


@pytest.fixture(autouse=True)
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Each test runs in an empty project folder (no ``[tool.replay.http]`` unless the
    test writes one) with the SDKs' keys set as in production."""
    folder = tmp_path / "project"
    folder.mkdir()
    monkeypatch.chdir(folder)
    monkeypatch.setenv("OPENAI_API_KEY", OPENAI_KEY)
    monkeypatch.setenv("ANTHROPIC_API_KEY", ANTHROPIC_KEY)
    for name in ("OPENAI_BASE_URL", "ANTHROPIC_BASE_URL", "OPENAI_ORG_ID", "OPENAI_PROJECT_ID"):
        monkeypatch.delenv(name, raising=False)
    yield folder


@pytest.fixture
def cassette(tmp_path: Path) -> Path:
    return tmp_path / "run.yaml"


def write_http_config(folder: Path, body: str) -> None:
    """A pyproject.toml with ``[tool.replay.http]`` set to ``body``."""
    (folder / "pyproject.toml").write_text(
        f'[project]\nname = "demo"\n\n[tool.replay.http]\n{body}\n', encoding="utf-8"
    )
