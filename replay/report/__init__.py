"""Views of runs, verdicts and golden reports: markdown, JUnit XML (and HTML)."""

from replay.report.junit import render_junit
from replay.report.markdown import render_markdown

__all__ = ["render_junit", "render_markdown"]
