"""A real headless Chromium for checking HTML reports, kept off the network.

The system's Chromium (Debian's ``chromium`` package) is driven with Playwright's Python
client; Playwright's own browser downloads are never used. Chromium starts with the
flags that keep it from calling home, in a fresh profile folder, and every page opened
through ``open_report`` has each request routed: ``file://`` goes through, anything
else is refused and kept in ``PageCheck.blocked``. Console errors and uncaught page
errors are kept too, so a test can assert there were none.

    with chromium(profile_dir) as browser:
        check = open_report(browser, Path("report.html"), width=390)
        assert not check.problems
        check.page.screenshot(path="report-390.png", full_page=True)
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CHROMIUM_ENV = "REPLAY_CHROMIUM"
CHROMIUM_NAMES = ("chromium", "chromium-browser")
OFFLINE_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
    "--metrics-recording-only",
    "--no-pings",
)


def chromium_path() -> str | None:
    """The system Chromium: ``$REPLAY_CHROMIUM``, else ``chromium`` on the PATH."""
    named = os.environ.get(CHROMIUM_ENV)
    if named:
        return named if Path(named).is_file() else None
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return found
    return None


@contextmanager
def chromium(profile_dir: Path, *, executable: str | None = None) -> Iterator[Any]:
    """A headless Chromium (a Playwright ``BrowserContext``) with a fresh profile in
    ``profile_dir``; closed on exit. Raises ``RuntimeError`` naming the fix when there
    is no Chromium or no Playwright."""
    path = executable or chromium_path()
    if path is None:
        raise RuntimeError(
            "no Chromium found: install Debian's chromium package (apt-get install -y "
            f"chromium) or set {CHROMIUM_ENV} to its path"
        )
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        raise RuntimeError(
            "the browser checks need Playwright's client: pip install 'agent-replay[browser]'"
        ) from None
    profile_dir.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(profile_dir),
            executable_path=path,
            headless=True,
            args=list(OFFLINE_FLAGS),
            offline=True,
            service_workers="block",
        )
        try:
            yield context
        finally:
            context.close()


@dataclass
class PageCheck:
    """A report opened in the browser, and what went wrong while it loaded."""

    page: Any
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)

    @property
    def problems(self) -> list[str]:
        """Every console error, uncaught error and refused request, one line each."""
        return (
            [f"console: {m}" for m in self.console_errors]
            + [f"page error: {m}" for m in self.page_errors]
            + [f"network request: {u}" for u in self.blocked]
        )


def open_report(context: Any, path: Path, *, width: int = 1280, height: int = 900) -> PageCheck:
    """Open ``path`` from ``file://`` in a new page ``width`` pixels wide, refusing any
    request that is not ``file://``, and wait until the page's script has run."""
    page = context.new_page()
    check = PageCheck(page)
    page.set_viewport_size({"width": width, "height": height})

    def route(route: Any) -> None:
        url = route.request.url
        if url.startswith("file://"):
            route.continue_()
        else:  # recorded by the "request" listener
            route.abort()

    page.route("**/*", route)
    page.on("console", lambda m: check.console_errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: check.page_errors.append(str(e)))
    page.on(
        "request",
        lambda r: None if r.url.startswith(("file://", "data:")) else check.blocked.append(r.url),
    )
    page.goto(path.resolve().as_uri())
    page.wait_for_selector("html[data-ready]", state="attached", timeout=10_000)
    return check
