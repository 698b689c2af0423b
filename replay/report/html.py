"""The HTML report: one self-contained file for a run, a replay verdict or a release.

Jinja2 templates (``templates/``) with autoescaping: every recorded value is escaped
text, and the steps reach the page's script as JSON (``tojson`` escapes ``<``, ``>``,
``&`` and quotes) that the script shows with ``textContent`` only. CSS and script are
inline, allowed by hash in the page's Content-Security-Policy, which forbids any other
script, inline handler, and every fetch (``default-src 'none'``): the page works from
``file://`` or as a CI artifact and loads nothing.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Mapping, Sequence
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any

from replay.report import views

if TYPE_CHECKING:
    import jinja2

    from replay.cassette import Cassette, Step
    from replay.signals import RunSignals

TEMPLATES = "templates"


@cache
def _environment() -> jinja2.Environment:
    try:
        import jinja2
    except ImportError:
        from replay.errors import ReportError

        raise ReportError(
            "the HTML report needs Jinja2, which comes with the command line: "
            "pip install 'agent-replay[cli]'"
        ) from None

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("replay.report", TEMPLATES),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["pretty"] = pretty
    env.filters["ms"] = _ms
    env.filters["dict_without"] = _without
    return env


def pretty(value: Any) -> str:
    """A recorded value as indented JSON text (escaped by the template like any text)."""
    if isinstance(value, str):
        return value
    return json.dumps(value, indent=2, ensure_ascii=False, default=str)


def _ms(value: Any) -> str:
    from replay.signals import format_ms

    return format_ms(float(value or 0))


def _without(data: Mapping[str, Any], names: Sequence[str]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if k not in names}


@cache
def _asset(name: str) -> str:
    return resources.files("replay.report").joinpath(TEMPLATES, name).read_text(encoding="utf-8")


def _csp_hash(text: str) -> str:
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return "'sha256-" + base64.b64encode(digest).decode("ascii") + "'"


def _render(template: str, *, title: str, page_data: Mapping[str, Any], **context: Any) -> str:
    style, script = _asset("report.css"), _asset("report.js")
    csp = (
        "default-src 'none'; img-src data:; base-uri 'none'; form-action 'none'; "
        f"style-src {_csp_hash(style)}; script-src {_csp_hash(script)}"
    )
    return (
        _environment()
        .get_template(template)
        .render(
            title=title,
            style=style,
            script=script,
            csp=csp,
            page_data=page_data,
            **context,
        )
    )


def render_run(cassette: Cassette, signals: RunSignals | None = None) -> str:
    """The report of one recorded run: context, signals, waterfall, step details."""
    if signals is None:
        from replay.signals import signals_of

        signals = signals_of(cassette)
    run = views.run_view(cassette, signals, data_id="run")
    return _render(
        "run.html.j2",
        title=f"Run {cassette.run_id}",
        page_data={"run": views.steps_data(cassette.steps)},
        run=run,
    )


def render_verdict(
    data: Mapping[str, Any],
    *,
    original: Cassette | None = None,
    history: Sequence[Step] | None = None,
) -> str:
    """The report of a replay verdict: the dict ``replay run --json`` prints, with the
    recorded run when its cassette is at hand and the replay's steps when known."""
    signals = None
    if original is not None:
        from replay.signals import signals_of

        signals = signals_of(original)
    view, page_data = views.verdict_view(data, original=original, signals=signals, history=history)
    return _render(
        "verdict.html.j2",
        title=f"Replay of {data.get('run_id') or data.get('cassette')}: {data.get('verdict')}",
        page_data=page_data,
        verdict=view,
    )


def render_golden(data: Mapping[str, Any]) -> str:
    """The report of a golden set: the dict ``replay golden --json`` prints."""
    view = views.golden_view(data)
    return _render(
        "golden.html.j2",
        title=f"Golden set: {view['baseline_label']} → {view['candidate']}",
        page_data={},
        golden=view,
    )
