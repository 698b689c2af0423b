"""The HTML reports as files: what each page holds, that nothing in it points outside
the file, and that recorded markup stays text."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from markupsafe import escape

from replay.report.html import render_golden, render_run, render_verdict
from replay.report.views import align, first_divergence_row
from replay.storage import load_cassette
from tests.agents.report_payload import PAYLOAD
from tests.process import run_python
from tests.report.conftest import INCIDENTS, ROOT, long_run, page_data, replay_cli


class Tags(HTMLParser):
    """Every start tag of a page with its attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def tags_of(html: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = Tags()
    parser.feed(html)
    return parser.tags


def assert_self_contained(html: str) -> None:
    """No src or href leaves the page, scripts are the page's own two, and the CSP
    forbids everything else."""
    tags = tags_of(html)
    for tag, attrs in tags:
        for name in ("src", "href", "srcset", "action", "xlink:href"):
            value = attrs.get(name)
            assert value is None or value.startswith("#"), (tag, name, value)
        assert not [a for a in attrs if a.startswith("on")], (tag, attrs)
    scripts = [attrs for tag, attrs in tags if tag == "script"]
    assert scripts == [{"type": "application/json", "id": "replay-data"}, {}]
    assert tags.count(("link", {})) == 0 and not [t for t, _ in tags if t in ("link", "iframe")]
    csp = next(a["content"] for t, a in tags if a.get("http-equiv") == "Content-Security-Policy")
    assert csp is not None and "default-src 'none'" in csp and "unsafe-inline" not in csp


@pytest.mark.parametrize("run_id", INCIDENTS)
def test_each_incident_report_shows_context_signals_and_every_step(reports, run_id):
    html = reports[run_id].read_text()
    assert_self_contained(html)
    cassette = load_cassette(ROOT / "cassettes" / "incidents" / f"{run_id}.yaml")
    assert f"<title>Run {run_id}</title>" in html
    for field in ("run_id", "trace_id", "release", "workflow", "model", "entrypoint"):
        assert f'<th scope="row">{field}</th>' in html
    assert cassette.context.trace_id in html
    for signal in ("first_error_span", "slowest_span", "stop_reason", "error_class"):
        assert f'data-signal="{signal}"' in html
    assert f'<span class="bad">{cassette.outcome.stop_reason}</span>' in html
    rows = page_data(html)["run"]["rows"]
    assert [row[1] for row in rows] == [s.index for s in cassette.steps]
    assert [row[2:4] for row in rows] == [[s.kind, s.name] for s in cassette.steps]


def test_the_first_error_and_slowest_span_are_marked_on_the_waterfall(reports):
    # run_9fd2: step #2 search_docs times out (250 ms, the slowest call) and is retried.
    html = reports["run_9fd2"].read_text()
    assert 'data-first-error="2" data-slowest="2"' in html
    assert "Go to the first error (#2)" in html
    rows = page_data(html)["run"]["rows"]
    assert rows[2][6] == "SearchTimeout" and rows[2][5] == 250.224  # as recorded
    # run_a113 failed without a failing step: the model call it failed on (#1) is the
    # inferred first error, named so.
    html = reports["run_a113"].read_text()
    assert 'data-first-error="1" data-slowest="1"' in html
    assert "inferred: no step failed, the run failed on this answer" in html


def test_the_hypotheses_are_listed_with_their_evidence(reports):
    html = reports["run_d77c"].read_text()
    block = html[html.index('data-part="hypotheses"') :]
    block = block[: block.index("</ol>")]
    assert block.count("<strong>") >= 1 and "score" in block
    assert "<ul><li>" in block


def test_a_diverged_verdict_marks_its_first_divergence(reports):
    html = reports["diverged"].read_text()
    assert_self_contained(html)
    assert 'data-verdict="diverged"' in html and 'data-mode="hypothesis"' in html
    assert "hypothesis: not proven on recorded answers" in html
    # run_a113 with the fixed agent: the model is asked something new at step 2.
    assert re.search(
        r'class="first-divergence" data-step="2">step 2 <span class="kind kind-llm">', html
    )
    data = page_data(html)
    alignment = data["alignment"]
    first = alignment["rows"][alignment["first"]]
    assert first[1] is not None and data["replay"]["rows"][first[1]][1] == 2
    assert first[2] in ("added", "changed")
    assert [r[2] for r in alignment["rows"][: alignment["first"]]] == ["equal"] * alignment["first"]
    assert (
        "replay run cassettes/incidents/run_a113.yaml --agent examples.support_agent.fixed:run"
        in html
    )


def test_a_fix_is_evidence_with_its_step_diff_and_outcome_change(reports):
    html = reports["fixed"].read_text()
    assert 'data-verdict="fixed"' in html and 'data-mode="evidence"' in html
    # run_9fd2 with the fixed agent: no retries of search_docs, the run completes.
    assert "2 changes, 4 equal steps" in html
    assert html.count('class="change change-removed"') == 2
    outcome = html[html.index('data-part="outcome-change"') :]
    assert (
        '<th scope="row">stop_reason</th><td>tool_error</td><td class="changed">completed</td>'
        in outcome
    )
    rows = page_data(html)["alignment"]["rows"]
    assert [r[2] for r in rows] == ["equal"] * 4 + ["removed"] * 2


def test_the_golden_report_of_a_regressed_build(reports):
    html = reports["golden"].read_text()
    assert_self_contained(html)
    saved = json.loads(reports["golden.json"].read_text())
    assert 'data-status="failed"' in html
    assert "<code>orders</code>" in html[html.index("Affected workflows") :][:200]
    # The bundled set: the 7 orders runs diverge on the extra search_docs call, 15 match.
    assert saved["summary"]["diverged"] == 7 and saved["summary"]["match"] == 15
    assert ">7 diverged</span>" in html and ">15 match</span>" in html
    assert ">15 replayed</span>" not in html  # a count of runs, not a verdict
    # Diverged runs are counted apart: no figure of this build for them, none made up.
    assert "<strong>7 runs diverged</strong>: not replayed to the end" in html
    assert html.count('<span class="dim">over 15 of 22 runs; 7 diverged</span>') == 2
    table = html[html.index('data-part="workflows"') :]
    row = table[table.index("<code>orders</code>") :]
    row = row[: row.index("</tr>")]
    assert row.endswith("<td>7</td><td>7</td>" + "<td>-</td>" * 5)
    chart = html[html.index('data-figure="error_rate"') :]
    chart = chart[: chart.index("</figure>")]
    assert "orders, baseline: -" in chart and "orders, candidate: -" in chart
    for figure in ("error_rate", "p95_latency_ms", "repeated_tool_calls", "stop_reasons"):
        assert f'data-figure="{figure}"' in html
    assert saved["flags"] == [] and "Figures over threshold (0)" in html
    links = re.findall(r'<a href="#(run-[^"]+)">', html)
    assert len(links) == 7
    for anchor in links:
        assert f'<article class="run-replay" id="{anchor}"' in html
    assert html.count('class="first-divergence" data-step=') == 7


def test_a_release_over_its_thresholds_shows_every_flag(flagged_release):
    page, saved = flagged_release
    html = page.read_text()
    assert_self_contained(html)
    # The refund runs give up after the lookup: error rate 0% -> 100% in workflow refund.
    flagged = {(f["segment"], f["name"], f["figure"]) for f in saved["flags"]}
    assert flagged == {
        ("overall", "", "error_rate"),
        ("workflow", "refund", "error_rate"),
        ("model", "gld-small", "error_rate"),
    }
    assert "Figures over threshold (3)" in html
    for flag in saved["flags"]:
        assert f'<li class="bad">{escape(flag["message"])}</li>' in html
    table = html[html.index('data-part="workflows"') :]
    row = table[table.index("<code>refund</code>") :]
    assert row.startswith(
        '<code>refund</code></th><td>3</td><td>0</td><td class="flagged">0.0% → 100.0% '
    )
    chart = html[html.index('data-figure="error_rate"') :]
    chart = chart[: chart.index("</figure>")]
    assert "refund, baseline: 0.0%" in chart and "refund, candidate: 100.0%" in chart
    assert html.count('class="run-replay"') == 3  # the three refund runs regressed


def test_a_saved_golden_json_gives_the_same_page(reports, tmp_path):
    out = tmp_path / "golden.html"
    done = replay_cli("report", "--json", str(reports["golden.json"]), "-o", str(out))
    assert done.returncode == 0, done.stderr
    assert out.read_text() == reports["golden"].read_text()
    assert done.stderr.strip() == f"wrote {out} (golden report)"


def test_a_saved_verdict_shows_the_verdict_and_the_recorded_run(reports, tmp_path):
    out = tmp_path / "verdict.html"
    done = replay_cli("report", "--json", str(reports["diverged.json"]), "-o", str(out))
    assert done.returncode == 0, done.stderr
    html = out.read_text()
    assert_self_contained(html)
    assert 'data-verdict="diverged"' in html and 'class="first-divergence" data-step="2"' in html
    data = page_data(html)
    assert "alignment" not in data and len(data["original"]["rows"]) == 2
    assert "The replay's steps are not in a saved <code>--json</code> verdict" in html


def test_a_saved_verdict_whose_cassette_is_gone_still_renders(reports, tmp_path):
    saved = json.loads(reports["fixed.json"].read_text())
    saved["cassette"] = "gone/run_9fd2.yaml"
    path = tmp_path / "fixed.json"
    path.write_text(json.dumps(saved))
    done = replay_cli("report", str(path), "-o", str(tmp_path / "fixed.html"))
    assert done.returncode == 0, done.stderr
    assert "gone/run_9fd2.yaml (the cassette of the verdict) is not here" in done.stderr
    assert 'data-verdict="fixed"' in (tmp_path / "fixed.html").read_text()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("not json", "not JSON"),
        ("[1, 2]", "expected a JSON object, found list"),
        ('{"runs": []}', "not a saved 'replay run --json' or 'replay golden --json' output"),
    ],
)
def test_a_file_that_is_no_saved_output_is_one_clear_line(tmp_path, content, message):
    path = tmp_path / "saved.json"
    path.write_text(content)
    done = replay_cli("report", "--json", str(path), "-o", str(tmp_path / "x.html"))
    assert done.returncode == 3
    assert done.stderr.startswith(f"replay: error: {path}: ") and message in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "x.html").exists()


def test_a_cassette_or_a_saved_output_is_needed(tmp_path):
    done = replay_cli("report", "-o", str(tmp_path / "x.html"))
    assert done.returncode == 3
    assert "give a cassette or --json SAVED.json" in done.stderr


def test_recorded_markup_stays_text(reports):
    html = reports["payload"].read_text()
    assert_self_contained(html)
    assert "<script>window" not in html and "<img" not in html
    # As text in the server-rendered parts, as escaped JSON for the script.
    assert "&lt;script&gt;window.__pwned = 1&lt;/script&gt;" in html
    data = page_data(html)
    details = data["run"]["details"]
    assert details[0]["result"]["answer"] == PAYLOAD
    assert details[1]["error"]["message"] == f"refused: {PAYLOAD}"
    assert "\\u003cscript\\u003e" in html


def test_fields_a_verdict_adds_are_shown_as_they_come(reports):
    """Fields this renderer does not know are shown under 'More about this verdict',
    escaped like any recorded value."""
    data = json.loads(reports["diverged.json"].read_text())
    data["replayed_under"] = {"policy": "nearest", "calls": ["step 2 llm <b>gpt-4o-mini</b>"]}
    html = render_verdict(data)
    block = html[html.index('data-field="replayed_under"') :][:600]
    assert "policy" in block and "&lt;b&gt;gpt-4o-mini&lt;/b&gt;" in block


def test_a_counterfactual_verdict_names_its_assumption_and_the_calls_under_it(reports):
    """The fields of 'replay run --on-miss': the headline, the assumption in words and
    the calls it answered, in their own places (not under 'More about this verdict')."""
    data = json.loads(reports["fixed.json"].read_text())
    data.update(
        mode="hypothesis",
        on_miss="nearest",
        headline="fixed, assuming the model answers as recorded after the prompt change "
        "(1 call served by nearest)",
        assumption="the model answers as recorded after the prompt change",
        assumed_calls=[
            {
                "step": 1,
                "kind": "llm",
                "name": "gpt-4o-mini",
                "policy": "nearest",
                "answered_by": 1,
                "host": None,
            },
        ],
        derived_cassette=None,
    )
    html = render_verdict(data)
    assert "<strong>fixed, assuming the model answers as recorded after the prompt change" in html
    box = html[html.index('data-part="assumption"') :]
    box = box[: box.index("</table>")]
    said = (
        "1 call answered by on-miss <code>nearest</code>, not from the recording, assuming "
        "the model answers as recorded after the prompt change."
    )
    assert said in box
    call = (
        '<td>1</td><td><span class="kind kind-llm">llm</span></td><td>gpt-4o-mini</td>'
        "<td>nearest</td><td>recorded step 1</td>"
    )
    assert call in box
    assert 'data-mode="hypothesis"' in html
    assert "More about this verdict" not in html


def test_a_streamed_model_call_lists_its_server_sent_events(streamed):
    cassette = load_cassette(streamed)
    html = render_run(cassette)
    details = page_data(html)["run"]["details"]
    model_calls = [d for d, s in zip(details, cassette.steps, strict=True) if s.kind == "llm"]
    assert len(model_calls) == 2
    for detail, step in zip(
        model_calls, [s for s in cassette.steps if s.kind == "llm"], strict=True
    ):
        events = step.http["response"]["events"]
        assert len(events) > 3 and detail["sse"] == events
        # The exchange names them instead of repeating them.
        response = detail["http"]["response"]
        assert response["events"] == f"{len(events)} server-sent events, listed apart"
        assert response["status"] == 200
    assert '"name":"search_docs"' in "".join(model_calls[0]["sse"])
    assert model_calls[1]["sse"][-1] == "data: [DONE]"


def test_a_long_run_hands_its_steps_to_the_page_without_drawing_them():
    cassette = long_run()
    html = render_run(cassette)
    data = page_data(html)["run"]
    assert len(data["rows"]) == len(data["details"]) == 10_000
    # Rows are drawn by the page as they scroll into view: none is in the markup.
    assert re.search(r'<div class="waterfall" data-waterfall="run"[^>]*></div>', html)
    assert not [attrs for _, attrs in tags_of(html) if "vrow" in (attrs.get("class") or "")]
    # Steps 0 and 1 start together: concurrent calls overlap on the timeline.
    assert data["rows"][0][4] == data["rows"][1][4] == 0.0
    assert 'data-first-error="5000"' in html


def test_align_pairs_equal_steps_and_places_changes():
    original = [{"index": i} for i in range(5)]
    new = [{"index": i} for i in range(5)]
    changes = [
        {"change": "changed", "original": 1, "new": 1},
        {"change": "removed", "original": 3, "new": None},
        {"change": "added", "original": None, "new": 3},
    ]
    new = [{"index": i} for i in range(5)]
    rows = align(original, new, changes)
    assert rows == [
        [0, 0, "equal", None],
        [1, 1, "changed", 0],
        [2, 2, "equal", None],
        [3, None, "removed", 1],
        [None, 3, "added", 2],
        [4, 4, "equal", None],
    ]
    assert first_divergence_row(rows, original, new, 3) == 4
    assert first_divergence_row(rows, original, new, None) == 1


def test_the_templates_ship_with_the_package():
    import tomllib

    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert config["tool"]["setuptools"]["package-data"]["replay.report"] == ["templates/*"]
    shipped = {p.name for p in (ROOT / "replay" / "report" / "templates").iterdir()}
    assert {"base.html.j2", "report.css", "report.js"} <= shipped


def test_report_help_has_real_examples_and_fits_80_columns():
    from tests.cli.test_help import assert_fits, cli, examples, options_of

    result = cli("report", "--help")
    assert result.code == 0, result
    found = examples(result.stdout)
    assert [argv[:2] for argv in found] == [["replay", "report"]] * 2
    for argv in found:
        used = {a for a in argv[2:] if a.startswith("-")}
        assert used <= options_of("report"), argv
    assert {"--json", "--output", "-o"} <= options_of("report")
    assert_fits(result.stdout)


def test_writing_into_a_missing_folder_creates_it(tmp_path: Path):
    out = tmp_path / "deep" / "er" / "run.html"
    done = replay_cli("report", "cassettes/incidents/run_9fd2.yaml", "-o", str(out))
    assert done.returncode == 0, done.stderr
    assert out.read_text().startswith("<!DOCTYPE html>")


def test_golden_merge_writes_the_same_page(reports, tmp_path):
    out = tmp_path / "merged.html"
    done = replay_cli("golden", "merge", str(reports["golden.json"]), "--html", str(out))
    assert done.returncode == 1, done.stderr  # the regressed build still fails
    assert f"wrote {out}" in done.stderr
    assert out.read_text() == reports["golden"].read_text()


def test_a_flaky_verdict_lists_its_replays(reports):
    data = json.loads(reports["fixed.json"].read_text())
    data.update(
        verdict="flaky",
        mode="hypothesis",
        flaky_step=3,
        replays=[
            {"stop_reason": "completed", "steps": 4, "divergence_step": None, "identical": False},
            {"stop_reason": None, "steps": 3, "divergence_step": 3, "identical": False},
        ],
    )
    html = render_verdict(data)
    assert 'data-verdict="flaky"' in html
    assert "<li>4 steps, stop_reason completed</li><li>diverged at step 3</li>" in html
    assert "They first disagree at step 3." in html


def test_a_report_saved_before_diverged_runs_were_counted_apart_still_renders(flagged_release):
    _, saved = flagged_release
    for segment in [saved["diff"]["overall"], *saved["diff"]["workflows"].values()]:
        del segment["replayed"], segment["diverged"]
    for segment in saved["diff"]["models"].values():
        del segment["replayed"], segment["diverged"]
    html = render_golden(saved)
    assert '<th scope="col">Diverged</th>' not in html
    assert '<span class="dim">over 6 runs</span>' in html
    assert "Figures over threshold (3)" in html


def test_the_stop_reason_mix_keeps_completed_first_and_green():
    from replay.report.views import stop_reason_mix

    diff = {
        "overall": {
            "baseline": {"stop_reasons": {"cancelled": 1, "completed": 3}},
            "candidate": {"stop_reasons": {"tool_error": 2, "completed": 2}},
        }
    }
    mix = stop_reason_mix(diff)
    assert mix["names"] == [("completed", 0), ("cancelled", 1), ("tool_error", 2)]
    # 230 units of bar after the 120-unit label: 3/4 and 1/4 of the baseline's runs.
    baseline = [(p["name"], p["x"], p["width"]) for p in mix["sides"][0]["parts"]]
    assert baseline == [("completed", 120.0, 172.5), ("cancelled", 292.5, 57.5),
                        ("tool_error", 350.0, 0.0)]  # fmt: skip


def test_without_jinja2_the_report_says_which_extra_brings_it(tmp_path):
    script = (
        "import sys; sys.modules['jinja2'] = None\n"  # as if it were not installed
        "from replay.cli import main\n"
        "main(sys.argv[1:])\n"
    )
    out = tmp_path / "run.html"
    done = run_python("-c", script, "report", "cassettes/incidents/run_9fd2.yaml", "-o", str(out),
                      cwd=ROOT)  # fmt: skip
    assert done.returncode == 3
    assert done.stderr.strip() == (
        "replay: error: the HTML report needs Jinja2, which comes with the command line: "
        "pip install 'agent-replay[cli]'"
    )
    assert not out.exists()


def test_a_verdict_under_on_miss_names_its_assumption_and_its_calls(tmp_path):
    """run_a113 on the fixed code with --on-miss nearest: the model calls the recording
    lacks (steps 2 to 5) are answered by recorded step 1, and the verdict says so."""
    page = tmp_path / "onmiss.html"
    done = replay_cli(
        "run", "cassettes/incidents/run_a113.yaml", "--agent", "examples.support_agent.fixed:run",
        "--on-miss", "nearest", "--repeat", "1", "--html", str(page),
    )  # fmt: skip
    assert done.returncode == 1, done.stderr
    html = page.read_text()
    assert 'data-verdict="regressed"' in html and 'data-mode="hypothesis"' in html
    assert (
        "<strong>regressed, assuming the model answers as recorded after the prompt change "
        "(4 calls served by nearest)</strong>"
    ) in html
    box = html[html.index('data-part="assumption"') :]
    box = box[: box.index("</table>")]
    assert "4 calls answered by on-miss <code>nearest</code>, not from the recording" in box
    for step in (2, 3, 4, 5):
        assert (
            f'<tr><td>{step}</td><td><span class="kind kind-llm">llm</span></td>'
            "<td>gpt-4o-mini</td><td>nearest</td><td>recorded step 1</td></tr>"
        ) in box
    assert "More about this verdict" not in html
