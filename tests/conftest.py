"""Shared fixtures for the core tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.agents import core_support


@pytest.fixture
def backend() -> Iterator[dict]:
    """The core test agent's backend state, reset around each test."""
    core_support.BACKEND.update(search_fails=0, calls=0)
    yield core_support.BACKEND
    core_support.BACKEND.update(search_fails=0, calls=0)
