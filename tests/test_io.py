import os
from pathlib import Path

import pytest

from gandyn.app.folders import ensure_dir
from gandyn.io import atomic_path, write_csv, write_text


def test_atomic_write_leaves_no_temp_and_has_a_normal_mode(tmp_path):
    mask = os.umask(0o022)
    try:
        p = write_text(tmp_path / "a.txt", "hello")
    finally:
        os.umask(mask)
    assert p.read_text() == "hello"
    assert oct(p.stat().st_mode & 0o777) == oct(0o644)  # not mkstemp's 0600
    assert [f.name for f in tmp_path.iterdir()] == ["a.txt"]


def test_failed_write_keeps_the_old_file_and_no_temp(tmp_path):
    p = write_text(tmp_path / "a.txt", "old")
    with pytest.raises(RuntimeError):
        with atomic_path(p) as tmp:
            tmp.write_text("half")
            raise RuntimeError("interrupted")
    assert p.read_text() == "old" and [f.name for f in tmp_path.iterdir()] == ["a.txt"]


def test_directory_in_place_of_a_file_is_a_value_error(tmp_path):
    (tmp_path / "fig.png").mkdir()
    with pytest.raises(ValueError, match="directory"):
        write_text(tmp_path / "fig.png", "x")


def test_out_below_a_file_is_a_value_error(tmp_path):
    (tmp_path / "f").write_text("x")
    with pytest.raises(ValueError, match="not a directory"):
        ensure_dir(tmp_path / "f" / "sub")


def test_csv_header_is_the_union_of_keys(tmp_path):
    p = write_csv(tmp_path / "t.csv", [{"a": 1, "b": [1, 2]}, {"a": 2, "c": "x"}])
    assert p.read_text().splitlines() == ["a,b,c", '1,"[1, 2]",', "2,,x"]


def test_check_dir_path_makes_nothing_and_names_what_is_in_the_way(tmp_path, monkeypatch):
    from gandyn.app.folders import check_dir_path
    from gandyn.errors import UsageError

    monkeypatch.chdir(tmp_path)
    assert check_dir_path("a/../b/c") == Path("a/../b/c") and list(tmp_path.iterdir()) == []
    (tmp_path / "dangling").symlink_to(tmp_path / "nothing")
    with pytest.raises(UsageError, match="dangling is a symbolic link to nothing"):
        check_dir_path("dangling/x")
    with pytest.raises(UsageError, match="the folder cannot be made"):
        check_dir_path("x" * 300)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dangling"]
