"""pytest fixtures for agent tests; use them from a conftest.py::

    from replay.testing.fixtures import fake_llm  # noqa: F401

Importing this module imports pytest; ``replay.testing.fake_llm`` alone does not.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from replay.testing.fake_llm import FakeLLM


@pytest.fixture
def fake_llm() -> Iterator[FakeLLM]:
    """A running ``FakeLLM`` with an empty script: ``fake_llm.add(reply("hi"), ...)``."""
    with FakeLLM() as llm:
        yield llm
