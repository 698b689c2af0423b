"""The HTML reports in a real headless Chromium, opened from file://: no console error,
no network request, recorded markup never runs, readable at 1280 and 390 px, usable
with the keyboard, and a 10,000-step run drawn lazily."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from replay.report.html import render_run
from replay.storage import load_cassette
from replay.testing.browser import open_report
from tests.agents.report_payload import PAYLOAD
from tests.report.conftest import long_run

# Every element with text of its own, in view or not: its colour against the first opaque
# background behind it (WCAG 2 relative luminance); below 4.5:1 (3:1 for large text) is
# reported. SVG text (fill, not color) and hidden elements are left out.
LOW_CONTRAST = """() => {
  const channel = c => {
    c /= 255;
    return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  };
  const rgb = text => (text.match(/[\\d.]+/g) || []).map(Number);
  const luminance = ([r, g, b]) => 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b);
  const background = node => {
    for (let el = node; el; el = el.parentElement) {
      const [r, g, b, a = 1] = rgb(getComputedStyle(el).backgroundColor);
      if (a > 0.5) return [r, g, b];
    }
    return [255, 255, 255];
  };
  const low = [];
  for (const el of document.querySelectorAll("body *")) {
    if (el.closest("svg") || !el.getClientRects().length) continue;
    const own = [...el.childNodes].some(n => n.nodeType === 3 && n.textContent.trim());
    if (!own) continue;
    const style = getComputedStyle(el);
    if (style.visibility === "hidden") continue;
    const [fg, bg] = [luminance(rgb(style.color)), luminance(background(el))];
    const ratio = (Math.max(fg, bg) + 0.05) / (Math.min(fg, bg) + 0.05);
    const size = parseFloat(style.fontSize), bold = Number(style.fontWeight) >= 700;
    const large = size >= 24 || (bold && size >= 18.66);
    const text = el.textContent.trim().slice(0, 30);
    if (ratio < (large ? 3 : 4.5)) low.push(`${el.className}: ${ratio.toFixed(2)} "${text}"`);
  }
  return low;
}"""

PAGES = ("run_9fd2", "run_a113", "run_d77c", "diverged", "fixed", "golden", "payload")
WIDTHS = (1280, 390)


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("name", PAGES)
def test_each_report_opens_cleanly_at_desktop_and_phone_width(
    browser, reports, tmp_path, name, width
):
    check = open_report(browser, reports[name], width=width)
    try:
        assert check.problems == []
        # Nothing wider than the window: tables scroll inside their own box.
        overflow = check.page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0
        # Open a step so that its details are checked too.
        first_row = check.page.locator(".vrow").first
        if first_row.count():
            first_row.click()
        assert check.page.evaluate(LOW_CONTRAST) == []
        shot = tmp_path / f"{name}-{width}.png"
        check.page.screenshot(path=str(shot), full_page=True)
        assert shot.stat().st_size > 10_000
    finally:
        check.page.close()


@pytest.mark.parametrize("width", WIDTHS)
def test_a_flagged_release_opens_cleanly(browser, flagged_release, width):
    check = open_report(browser, flagged_release[0], width=width)
    try:
        assert check.problems == []
        assert check.page.evaluate(LOW_CONTRAST) == []
        assert check.page.locator("td.flagged").count() >= 2
    finally:
        check.page.close()


def test_recorded_markup_never_runs(browser, reports):
    check = open_report(browser, reports["payload"])
    page = check.page
    try:
        assert page.evaluate("typeof window.__pwned") == "undefined"
        assert page.locator("img").count() == 0
        # The step details draw the tool result and the error message on demand.
        page.locator(".waterfall .vrow[data-pos='0']").click()
        detail = page.locator("[data-detail='run']")
        # Shown as JSON text (its quotes escaped), the markup itself intact as text.
        assert PAYLOAD.split('"')[0] in detail.inner_text()
        page.locator(".waterfall .vrow[data-pos='1']").click()
        assert f"refused: {PAYLOAD}" in detail.inner_text()  # an error message: plain text
        assert page.evaluate("typeof window.__pwned") == "undefined"
        assert page.locator("img").count() == 0
        assert check.problems == []
    finally:
        page.close()


def test_the_waterfall_works_with_the_keyboard(browser, reports):
    check = open_report(browser, reports["run_9fd2"])
    page = check.page
    try:
        page.keyboard.press("Tab")  # the skip link first
        page.locator(".waterfall").focus()
        page.keyboard.press("ArrowDown")
        page.keyboard.press("ArrowDown")
        page.keyboard.press("Enter")
        detail = page.locator("[data-detail='run']").inner_text()
        # run_9fd2 step #2: search_docs timed out.
        assert detail.startswith("#2 tool search_docs")
        assert "SearchTimeout: search_docs timed out after 250 ms" in detail
        active = page.locator(".waterfall").get_attribute("aria-activedescendant")
        assert active == "wf-run-row-2"
        page.keyboard.press("End")
        page.keyboard.press("Enter")
        assert page.locator("[data-detail='run']").inner_text().startswith("#5 tool search_docs")
    finally:
        page.close()


def test_a_model_call_shows_its_http_exchange_collapsed(browser, reports):
    check = open_report(browser, reports["run_9fd2"])
    page = check.page
    try:
        page.locator(".waterfall .vrow[data-pos='1']").click()
        exchange = page.locator("[data-detail='run'] details")
        assert exchange.count() == 1
        assert exchange.locator("summary").inner_text() == "HTTP exchange"
        assert not exchange.locator("pre").is_visible()
        exchange.locator("summary").click()
        assert "/v1/chat/completions" in exchange.locator("pre").inner_text()
    finally:
        page.close()


def test_server_sent_events_are_collapsed_until_asked_for(browser, streamed, tmp_path):
    path = tmp_path / "streamed.html"
    path.write_text(render_run(load_cassette(streamed)))
    check = open_report(browser, path)
    page = check.page
    try:
        llm_row = page.locator(".waterfall .vrow", has=page.locator(".kind-llm")).last
        llm_row.click()
        sections = page.locator("[data-detail='run'] details")
        assert sections.locator("summary").all_inner_texts()[0] == "HTTP exchange"
        sse = sections.nth(1)
        label = sse.locator("summary").inner_text()
        assert re.fullmatch(r"SSE events \((\d+)\)", label)
        assert not sse.locator("li").first.is_visible()
        sse.locator("summary").click()
        events = sse.locator("li")
        assert events.count() == int(label[len("SSE events (") : -1]) > 3
        assert events.last.inner_text() == "data: [DONE]"
        assert check.problems == []
    finally:
        page.close()


def test_the_first_divergence_is_marked_side_by_side(browser, reports):
    check = open_report(browser, reports["diverged"])
    page = check.page
    try:
        page.get_by_role("button", name="Go to the first divergence").click()
        marked = page.locator(".alignment .vrow.is-first-divergence")
        assert marked.count() == 1
        assert "first divergence" in marked.inner_text()
        detail = page.locator("[data-detail='alignment']").inner_text()
        assert "replay" in detail and "original" in detail
        assert check.problems == []
    finally:
        page.close()


def test_a_changed_run_links_to_its_replay_section(browser, reports):
    check = open_report(browser, reports["golden"])
    page = check.page
    try:
        link = page.locator("table[data-part='changed'] a").first
        target = link.get_attribute("href")
        link.click()
        assert page.evaluate("location.hash") == target
        section = page.locator(f"article{target}")
        assert section.is_visible() and "First divergence" in section.inner_text()
    finally:
        page.close()


def test_a_10000_step_run_is_drawn_lazily(browser, tmp_path: Path):
    path = tmp_path / "long.html"
    path.write_text(render_run(long_run()))
    check = open_report(browser, path, width=1280)
    page = check.page
    try:
        assert check.problems == []
        rows = page.locator(".waterfall .vrow")
        drawn = rows.count()
        assert 0 < drawn < 60  # a window's worth of the 10,000
        # Steps 0 and 1 ran together: their bars overlap on the timeline.
        bars = page.locator(".waterfall .vrow .bar")
        first, second = bars.nth(0).bounding_box(), bars.nth(1).bounding_box()
        assert first is not None and second is not None
        assert first["x"] == second["x"]
        page.get_by_role("button", name="Go to the first error (#5000)").click()
        marked = page.locator(".waterfall .vrow.is-first-error")
        assert marked.count() == 1 and "#5000" in marked.inner_text()
        assert "PageGone: page 5000 is gone" in page.locator("[data-detail='run']").inner_text()
        page.locator(".waterfall").focus()
        page.keyboard.press("End")
        assert page.locator(".waterfall .vrow[data-pos='9999']").count() == 1
        assert rows.count() < 60
    finally:
        page.close()
