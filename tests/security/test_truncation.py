"""A cassette cut short (a partial copy, download or attachment) is refused, never read as
a shorter run; the end marker stays editable by hand; version 1 files still load."""

from __future__ import annotations

import os
import warnings

import pytest

import replay
from replay import storage
from replay.errors import CassetteError, CassetteFormatWarning
from tests.cli.conftest import assert_one_error_line, cli
from tests.security.conftest import INCIDENT, SMALL, assert_own_error


def test_every_cut_of_a_real_cassette_is_refused(tmp_path):
    """Every byte prefix fails with a one-line error; the only one that loads is the file
    without its final newline, and it is the whole run."""
    raw = SMALL.read_bytes()
    whole = replay.load_cassette(SMALL, cache=False)
    path = tmp_path / "cut.yaml"
    path.write_bytes(raw)
    loaded = []
    for size in reversed(range(len(raw))):
        os.truncate(path, size)  # cheaper than rewriting the file for each size
        try:
            cassette = replay.load_cassette(path, cache=False)
        except CassetteError as exc:
            assert "\n" not in str(exc), str(exc)
            continue
        loaded.append(size)
        assert cassette == whole
    assert loaded == [len(raw) - 1]
    assert path.stat().st_size == 0


def test_every_line_cut_of_a_longer_cassette_is_refused(tmp_path):
    raw = INCIDENT.read_bytes()
    path = tmp_path / "cut.yaml"
    path.write_bytes(raw)
    ends = [i for i, byte in enumerate(raw[:-1]) if byte == ord("\n")]
    for end in reversed(ends):
        os.truncate(path, end + 1)
        with pytest.raises(CassetteError) as caught:
            replay.load_cassette(path, cache=False)
        assert_own_error(caught.value, str(path))


def test_a_cut_file_says_it_was_cut_short(tmp_path):
    text = INCIDENT.read_text(encoding="utf-8")
    path = tmp_path / "cut.yaml"
    path.write_text(text[: text.index("- index: 4")], encoding="utf-8")
    result = cli("inspect", path)
    assert_one_error_line(
        result, str(path), "ends without its end marker", "cut short", "get the complete file"
    )


def test_a_hand_edit_that_removes_a_step_must_update_the_count(tmp_path):
    text = INCIDENT.read_text(encoding="utf-8")
    assert text.endswith("\n# end of cassette: 6 steps\n")
    without_last = text[: text.index("- index: 5")] + "# end of cassette: 6 steps\n"
    path = tmp_path / "edited.yaml"
    path.write_text(without_last, encoding="utf-8")
    with pytest.raises(CassetteError) as caught:
        replay.load_cassette(path, cache=False)
    assert_own_error(
        caught.value,
        "the end marker says 6 steps but the file holds 5",
        "make the last line '# end of cassette: 5 steps'",
    )
    path.write_text(without_last.replace("6 steps", "5 steps"), encoding="utf-8")
    assert len(replay.load_cassette(path, cache=False).steps) == 5


def test_comments_may_follow_the_marker_but_data_may_not(tmp_path):
    text = INCIDENT.read_text(encoding="utf-8")
    path = tmp_path / "c.yaml"
    path.write_text(text + "\n# reviewed by the support team\n", encoding="utf-8")
    assert len(replay.load_cassette(path, cache=False).steps) == 6
    path.write_text(text + "extra: 1\n", encoding="utf-8")
    with pytest.raises(CassetteError, match="is incomplete or not the last line"):
        replay.load_cassette(path, cache=False)
    path.write_text(text.replace("6 steps", "6 step"), encoding="utf-8")
    with pytest.raises(CassetteError, match="is incomplete or not the last line"):
        replay.load_cassette(path, cache=False)


def test_saving_writes_the_marker_with_the_step_count(tmp_path):
    cassette = replay.load_cassette(INCIDENT, cache=False)
    path = tmp_path / "c.yaml"
    replay.save_cassette(cassette, path)
    assert path.read_text(encoding="utf-8").endswith("\n# end of cassette: 6 steps\n")
    assert storage.end_marker(1) == "# end of cassette: 1 step\n"


def version_1(text: str) -> str:
    """The same run as agent-replay 0.1 wrote it: version 1, no end marker."""
    body = text[text.index("version: 2\n") :].replace("version: 2\n", "version: 1\n", 1)
    return body[: body.rindex("# end of cassette:")]


def test_a_version_1_file_loads_with_a_warning_and_migrates(tmp_path):
    old = tmp_path / "old.yaml"
    old.write_text(version_1(INCIDENT.read_text(encoding="utf-8")), encoding="utf-8")
    with pytest.warns(CassetteFormatWarning, match=r"replay migrate .*old\.yaml"):
        cassette = replay.load_cassette(old, cache=False)
    assert cassette.version == 1
    current = replay.load_cassette(INCIDENT, cache=False)
    assert (cassette.context, cassette.steps, cassette.outcome) == (
        current.context,
        current.steps,
        current.outcome,
    )

    inspected = cli("inspect", old)
    assert inspected.code == 0, inspected
    assert "replay: warning: " in inspected.stderr and "Traceback" not in inspected.stderr

    migrated = cli("migrate", old)
    assert migrated.code == 0, migrated
    assert "version 1 -> 2, 6 steps" in migrated.stdout
    assert old.read_text(encoding="utf-8").endswith("# end of cassette: 6 steps\n")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert replay.load_cassette(old, cache=False).version == 2
    again = cli("migrate", old, "--json")
    assert again.json()["unchanged"] == [str(old)]
