"""What goes wrong is collected per run or refused with a remedy, never a crash of the set."""

from __future__ import annotations

import pytest

from replay import golden
from replay.config import ConfigError
from replay.errors import EntrypointError
from replay.golden import GoldenError, Thresholds, discover, run_golden, settings_from_config
from tests.golden.conftest import RUNS


def test_a_broken_cassette_is_an_error_record_of_its_own(golden_copy):
    (golden_copy / "faq" / "broken.yaml").write_text("version: 1\nrun: [unclosed\n")
    (golden_copy / "old.yaml").write_text("version: 0\nrun: {}\noutcome: {}\nsteps: []\n")
    healthy = (golden_copy / "refund" / "refund-a100.yaml").read_text()
    (golden_copy / "refund" / "gone-agent.yaml").write_text(
        healthy.replace("tests.agents.gld_agent:run", "tests.agents.no_such_agent:run")
    )
    for workers in (0, 2):
        report = run_golden([golden_copy], workers=workers)
        errors = {r.key: r.reason for r in report.errors}
        assert set(errors) == {"faq/broken.yaml", "old.yaml", "refund/gone-agent.yaml"}
        assert "malformed YAML at line 3" in errors["faq/broken.yaml"]
        assert "format version 0 is not supported" in errors["old.yaml"]
        assert (
            "cannot import module 'tests.agents.no_such_agent'" in errors["refund/gone-agent.yaml"]
        )
        assert report.counts["match"] == len(RUNS)
        assert report.exit_code == 3
        # error runs have no figures and stay out of the aggregates
        assert report.diff["overall"]["runs"] == len(RUNS)
        gone = next(r for r in report.errors if r.key == "refund/gone-agent.yaml")
        assert gone.workflow == "refund" and gone.baseline is None


def test_a_bad_agent_is_refused_up_front(golden_set):
    with pytest.raises(EntrypointError, match=r"no_such_module"):
        run_golden([golden_set], agent="no_such_module:run")


def test_discovery_is_recursive_sorted_and_skips_hidden(golden_copy, tmp_path):
    (golden_copy / ".cache").mkdir()
    (golden_copy / ".cache" / "x.yaml").write_text("not a cassette")
    (golden_copy / "notes.txt").write_text("not a cassette")
    keys = [e.key for e in discover([golden_copy])]
    assert keys == sorted(f"{w}/{run_id}.yaml" for w, run_id, _ in RUNS)
    with pytest.raises(GoldenError, match=r"no such golden set folder"):
        discover([tmp_path / "missing"])
    (tmp_path / "empty").mkdir()
    with pytest.raises(GoldenError, match=r"no cassettes \(\*\.yaml\) in .*replay golden add"):
        discover([tmp_path / "empty"])


def test_several_folders_prefix_their_keys(golden_set, golden_copy):
    keys = [e.key for e in discover([golden_set / "faq", golden_copy / "refund"])]
    assert len(keys) == len(RUNS)
    assert all(k.startswith((str(golden_set / "faq"), str(golden_copy / "refund"))) for k in keys)


def test_config_keys_are_validated():
    settings = settings_from_config(
        {
            "dir": "golden",
            "repeat": 3,
            "workers": "2",
            "max_p95_latency_increase_pct": 25,
            "max_tokens_increase_pct": False,
        }
    )
    assert settings.dir == "golden" and settings.repeat == 3 and settings.workers == "2"
    assert settings.thresholds.max_p95_latency_increase_pct == 25.0
    assert settings.thresholds.max_tokens_increase_pct is None
    assert settings.thresholds.max_error_rate_increase == 0.0
    assert settings_from_config({}).thresholds == Thresholds()
    bad = [
        ({"max_p95_latency_increase": 10}, r"unknown key 'max_p95_latency_increase' \(allowed:"),
        ({"max_steps_increase_pct": -1}, r"max_steps_increase_pct must be >= 0"),
        ({"max_steps_increase_pct": "10%"}, r"must be a number >= 0 or false"),
        ({"max_steps_increase_pct": True}, r"must be a number >= 0 or false"),
        ({"repeat": 0}, r"repeat must be a whole number >= 1"),
        ({"workers": "many"}, r"workers: -n must be 'auto' or a number"),
        ({"dir": 3}, r"dir must be a folder path"),
    ]
    for table, message in bad:
        with pytest.raises(ConfigError, match=message):
            settings_from_config(table)


def test_workers_spec():
    assert golden.resolve_workers("0") == 0
    assert golden.resolve_workers("3") == 3
    assert golden.resolve_workers("auto") >= 1
    with pytest.raises(GoldenError, match=r"^-n must be 0 \(serial\) or more, not -1$"):
        golden.resolve_workers("-1")
    for bad in ("x", "1.5", ""):
        with pytest.raises(GoldenError, match=r"^-n must be 'auto' or a number of worker"):
            golden.resolve_workers(bad)
