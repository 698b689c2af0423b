"""Test helpers: a scripted fake model endpoint (``fake_llm``) and pytest fixtures.

Stdlib only, so importing it costs nothing beyond ``http.server``.
"""

from __future__ import annotations
