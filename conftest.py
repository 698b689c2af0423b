"""Project-wide pytest setup: keep the parse cache of every test run in its own folder;
under CI, hypothesis draws the same examples every run (a property test that finds a new
counterexample does so on a developer's machine, not as a red build nobody can rerun)."""

from __future__ import annotations

import os
import tempfile

os.environ.setdefault("REPLAY_CACHE_DIR", tempfile.mkdtemp(prefix="replay-cache-"))

try:
    from hypothesis import settings as _hypothesis_settings
except ImportError:  # the fuzz extra is not installed
    pass
else:
    _hypothesis_settings.register_profile("ci", derandomize=True, print_blob=True)
    if os.environ.get("CI"):
        _hypothesis_settings.load_profile("ci")
