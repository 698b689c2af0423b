"""Screenshots of the HTML reports of the bundled incidents, for docs/report.md.

``python -m examples.report_screenshots [OUT]`` (default ``docs/img``) writes each
incident's run report and its replay on the fixed code with the real CLI, opens them in
the system Chromium (``replay.testing.browser``: off the network) at 1280 px, and the
first incident at 390 px too, and saves PNGs. Needs Debian's ``chromium`` and the
``[browser]`` extra.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

from replay.testing.browser import chromium, open_report

ROOT = Path(__file__).resolve().parent.parent
FIXED_AGENT = "examples.support_agent.fixed:run"
# (file name, replay arguments, width, height (None: the whole page), step to open or None)
SHOTS = (
    ("run_9fd2", ["report", "cassettes/incidents/run_9fd2.yaml", "-o"], 1280, 1400, 2),
    ("run_9fd2-phone", ["report", "cassettes/incidents/run_9fd2.yaml", "-o"], 390, None, None),
    ("run_d77c", ["report", "cassettes/incidents/run_d77c.yaml", "-o"], 1280, None, None),
    (
        "run_a113-fixed",
        ["run", "cassettes/incidents/run_a113.yaml", "--agent", FIXED_AGENT, "--html"],
        1280,
        1700,
        None,
    ),
    (
        "run_9fd2-fixed",
        ["run", "cassettes/incidents/run_9fd2.yaml", "--agent", FIXED_AGENT, "--html"],
        1280,
        1500,
        None,
    ),
)


def main(out: Path) -> int:
    out.mkdir(parents=True, exist_ok=True)
    with (
        tempfile.TemporaryDirectory(prefix="replay-shots-") as folder,
        chromium(Path(folder) / "profile") as browser,
    ):
        for name, args, width, height, step in SHOTS:
            page_path = Path(folder) / f"{name}.html"
            done = subprocess.run(
                [sys.executable, "-m", "replay", *args, str(page_path)],
                cwd=ROOT,
                capture_output=True,
                text=True,
            )
            if not page_path.is_file():
                raise SystemExit(f"replay {' '.join(args)} failed: {done.stderr.strip()}")
            check = open_report(browser, page_path, width=width, height=height or 800)
            if check.problems:
                raise SystemExit(f"{name}: {check.problems}")
            if step is not None:
                check.page.locator(f".waterfall .vrow[data-pos='{step}']").click()
            target = out / f"report-{name}.png"
            check.page.screenshot(path=str(target), full_page=height is None)
            check.page.close()
            print(f"wrote {target.relative_to(ROOT) if target.is_relative_to(ROOT) else target}")
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs" / "img"))
