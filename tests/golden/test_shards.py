"""Parallel workers, shards and merges all give the report of one serial run."""

from __future__ import annotations

import json
import shutil

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


# The shard of each key for 2, 3 and 7 shards: the first 8 bytes of sha256(key), big
# endian, modulo the count, plus one (e.g. refund-b7: 0x22eb975cca250ac4 % 7 + 1 = 7).
# Pinned, because CI machines must agree on them whatever Python's hash seed or folder.
PINNED_SHARDS = {
    "faq/faq-invoice.yaml": (2, 1, 3),
    "faq/faq-password.yaml": (2, 1, 3),
    "faq/faq-plan.yaml": (1, 2, 6),
    "refund/refund-a100.yaml": (2, 2, 5),
    "refund/refund-b7.yaml": (1, 1, 7),
    "refund/refund-c55.yaml": (1, 1, 5),
}


def test_a_key_has_the_same_shard_everywhere(golden_set, tmp_path):
    assert 0x22EB975CCA250AC4 % 7 + 1 == 7
    moved = tmp_path / "elsewhere" / "golden"
    shutil.copytree(golden_set, moved)
    for folder in (golden_set, moved):
        keys = [e.key for e in discover([folder])]
        assert keys == sorted(PINNED_SHARDS)
        assert {k: tuple(golden.shard_of(k, n) for n in (2, 3, 7)) for k in keys} == PINNED_SHARDS
        assert [e.key for e in golden.select_shard(discover([folder]), 2, 3)] == [
            "faq/faq-plan.yaml",
            "refund/refund-a100.yaml",
        ]


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
    # the refund runs diverge: counted apart in the merge as in the whole run
    overall = merged.diff["overall"]
    assert (overall["runs"], overall["replayed"], overall["diverged"]) == (6, 3, 3)
    assert merged.coverage == whole.coverage == "over 3 of 6 runs; 3 diverged"


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
