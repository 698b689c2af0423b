"""Project-wide pytest setup: keep the parse cache of every test run in its own folder."""

from __future__ import annotations

import os
import tempfile

os.environ.setdefault("REPLAY_CACHE_DIR", tempfile.mkdtemp(prefix="replay-cache-"))
