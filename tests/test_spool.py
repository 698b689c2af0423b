"""replay.spool: records on disk, read back one at a time in key order."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import pytest

from replay.spool import Spool


@dataclass(frozen=True)
class Item:
    key: str
    value: int
    text: str


def _spool() -> Spool[Item]:
    return Spool(to_dict=asdict, from_dict=lambda d: Item(**d), key=lambda item: item.key)


def test_records_come_back_in_key_order_equal_to_what_was_appended() -> None:
    spool = _spool()
    items = [Item("b", 2, "zwei ü"), Item("a", 1, "one\nline"), Item("c", 3, ""), Item("a", 0, "x")]
    for item in items:
        spool.append(item)
    spool.sort()
    # Sorted by key; the two "a" records keep their arrival order.
    expected = [items[1], items[3], items[0], items[2]]
    assert len(spool) == 4
    assert list(spool) == expected
    assert spool[0] == items[1] and spool[-1] == items[2]
    assert spool[1:3] == [items[3], items[0]]
    assert spool == tuple(expected) and tuple(expected) == spool
    assert spool != expected[:3]
    # Two iterations at once read independently (positional reads).
    pairs = [(a.value, b.value) for a, b in zip(spool, spool, strict=True)]
    assert pairs == [(1, 1), (0, 0), (2, 2), (3, 3)]


def test_a_golden_report_built_from_a_spool_equals_one_built_from_its_records() -> None:
    from replay.golden import GoldenReport, RunFigures, RunRecord, Thresholds, record_spool

    def figures(latency: float) -> RunFigures:
        return RunFigures("completed", False, latency, 4, 2, 100, 50, {"search": 2}, {})

    records = [
        RunRecord(key=f"w/run-{n}.yaml", path=f"/g/w/run-{n}.yaml", verdict=verdict,
                  reason="r", workflow="w", baseline=figures(10.0 + n),
                  candidate=figures(12.5 + n))
        for n, verdict in ((3, "match"), (1, "regressed"), (2, "match"))
    ]
    spool = record_spool()
    for record in records:
        spool.append(record)
    spool.sort()
    from_spool = GoldenReport(runs=spool, candidate_release="x", thresholds=Thresholds(),
                              golden_dirs=("g",))
    from_tuple = GoldenReport(runs=tuple(records), candidate_release="x",
                              thresholds=Thresholds(), golden_dirs=("g",))
    assert from_spool.to_dict() == from_tuple.to_dict()
    assert [r.key for r in from_spool.runs] == ["w/run-1.yaml", "w/run-2.yaml", "w/run-3.yaml"]
    assert from_spool.counts["regressed"] == 1 and from_spool.failing[0].key == "w/run-1.yaml"


def test_a_record_appended_after_sort_comes_last_and_indexing_works_as_on_a_list() -> None:
    spool = _spool()
    for key in ("c", "a", "b"):
        spool.append(Item(key, ord(key), key * 3))
    assert [item.key for item in spool] == ["c", "a", "b"]  # arrival order before sort()
    spool.sort()
    spool.append(Item("0", 0, ""))
    assert [item.key for item in spool] == ["a", "b", "c", "0"]
    assert spool[-1].key == "0" and spool[-4].key == "a"
    assert [item.key for item in spool[::-2]] == ["0", "b"]
    with pytest.raises(IndexError):
        spool[4]
    spool.sort()
    assert [item.key for item in spool] == ["0", "a", "b", "c"]
    assert spool[2] == Item("b", ord("b"), "bbb")


def test_records_put_at_their_position_come_back_in_position_order_with_no_sort() -> None:
    spool = _spool()
    items = [Item(f"k{n}", n, "é" * n) for n in range(7)]
    for position in (3, 0, 6, 1, 5, 2, 4):  # a pool's batches finishing out of order
        spool.append(items[position], at=position)
    assert list(spool) == items and spool[5] == items[5] and spool[-1] == items[6]
    spool.append(Item("z", 9, ""))  # then after the last position
    assert len(spool) == 8 and spool[7].key == "z"


def test_a_position_never_filled_is_an_error_not_a_shorter_sequence() -> None:
    spool = _spool()
    spool.append(Item("a", 1, ""), at=0)
    spool.append(Item("c", 3, ""), at=2)
    with pytest.raises(LookupError, match="never appended"):
        len(spool)
    with pytest.raises(LookupError):
        list(spool)
    spool.append(Item("b", 2, ""), at=1)
    assert [item.key for item in spool] == ["a", "b", "c"]


def test_sort_without_a_key_is_refused_and_text_that_is_not_utf8_round_trips() -> None:
    spool = Spool(to_dict=asdict, from_dict=lambda d: Item(**d))
    name = "caf\udce9.yaml"  # a surrogate-escaped file name
    spool.append(Item(name, 1, name))
    assert spool[0] == Item(name, 1, name)
    with pytest.raises(TypeError, match="no key"):
        spool.sort()
