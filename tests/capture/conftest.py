"""Capture tests: each test gets its own writer (so counters start at zero), and the HTTP
patches that capture keeps installed are removed after it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from replay.capturing import CaptureWriter, release_seams


@pytest.fixture
def writer() -> Iterator[CaptureWriter]:
    made = CaptureWriter()
    yield made
    made.flush(timeout=30)
    release_seams()


@pytest.fixture(autouse=True)
def _release_seams() -> Iterator[None]:
    yield
    release_seams()
