"""pytest plugin entry point (``pytest11``); scenarios and fixtures arrive with issue 6.

Kept import-light: pytest loads it in every project where agent-replay is installed.
"""
