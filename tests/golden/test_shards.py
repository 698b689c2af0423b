"""Parallel workers, shards and merges all give the report of one serial run."""

from __future__ import annotations

import json

import pytest

from replay import golden
from replay.golden import GoldenError, discover, merge_reports, report_from_dict, run_golden
from tests.golden.conftest import REGRESSED, RUNS


def test_two_workers_equal_serial(golden_set):
    serial = run_golden([golden_set], agent=REGRESSED, workers=0)
    seen = []
    parallel = run_golden([golden_set], agent=REGRESSED, workers=2, on_result=seen.append)
    assert parallel.to_dict() == serial.to_dict()
    assert sorted(r.key for r in seen) == [r.key for r in serial.runs]


def test_shards_partition_the_set_stably(golden_set):
    keys = [e.key for e in discover([golden_set])]
    assert len(keys) == len(RUNS)
    for count in (1, 2, 3, 7):
        shards = [
            golden.select_shard(discover([golden_set]), i, count) for i in range(1, count + 1)
        ]
        assert sorted(e.key for shard in shards for e in shard) == keys
        assert all(golden.shard_of(e.key, count) == i + 1 for i, s in enumerate(shards) for e in s)
    # the hash is of the key alone, not of where the folder is
    assert golden.shard_of("refund/refund-a100.yaml", 3) == golden.shard_of(
        "refund/refund-a100.yaml", 3
    )


@pytest.mark.parametrize("count", [2, 3])
def test_merged_shards_equal_the_unsharded_run(golden_set, count):
    whole = run_golden([golden_set], agent=REGRESSED, release="v1.1", workers=0)
    parts = [
        run_golden([golden_set], agent=REGRESSED, release="v1.1", shard=(i, count))
        for i in range(1, count + 1)
    ]
    # through JSON, as CI hands shard reports over
    loaded = [report_from_dict(json.loads(p.to_json())) for p in reversed(parts)]
    merged = merge_reports(loaded)
    assert merged.to_dict() == whole.to_dict()
    assert merged.exit_code == whole.exit_code == 1


def test_merge_refuses_what_is_not_one_run_of_one_build(golden_set):
    one = run_golden([golden_set], shard=(1, 2), release="a")
    two = run_golden([golden_set], shard=(2, 2), release="a")
    with pytest.raises(GoldenError, match=r"shard 2 of 2 missing"):
        merge_reports([one])
    assert merge_reports([one], partial=True).runs == one.runs
    with pytest.raises(GoldenError, match=r"both shard 1/2"):
        merge_reports([one, one], sources=["x.json", "y.json"])
    other = run_golden([golden_set], shard=(2, 2), release="b")
    with pytest.raises(GoldenError, match=r"y.json: candidate_release is 'b' but x.json has 'a'"):
        merge_reports([one, other], sources=["x.json", "y.json"])
    three = run_golden([golden_set], shard=(2, 3), release="a")
    with pytest.raises(GoldenError, match=r"different counts"):
        merge_reports([one, three])
    whole = run_golden([golden_set], release="a")
    with pytest.raises(GoldenError, match=r"whole-set report"):
        merge_reports([one, whole])
    assert len(merge_reports([one, two]).runs) == len(RUNS)


def test_report_from_dict_names_what_is_wrong():
    with pytest.raises(GoldenError, match=r"x.json: not a golden-set JSON report"):
        report_from_dict({"runs": []}, source="x.json")
    with pytest.raises(
        GoldenError, match=r"version 9 is not supported; this build reads version 1"
    ):
        report_from_dict({"schema": golden.REPORT_SCHEMA, "version": 9}, source="x.json")
    with pytest.raises(GoldenError, match=r"malformed golden report"):
        report_from_dict({"schema": golden.REPORT_SCHEMA, "version": 1}, source="x.json")


def test_parse_shard():
    assert golden.parse_shard("2/4") == (2, 4)
    for bad in ("0/2", "3/2", "2", "a/b", "1/0"):
        with pytest.raises(GoldenError, match=r"--shard must be 'i/n'"):
            golden.parse_shard(bad)
