"""Files written whole or not at all."""

import os
import stat

import pytest

from xl_fastmoss.files import atomic_write, move_sqlite_aside


def test_the_target_appears_only_when_the_block_succeeds(tmp_path):
    target = tmp_path / "out.csv"
    with atomic_write(target) as temporary:
        temporary.write_text("new")
        assert not target.exists() and temporary.parent == tmp_path
    assert target.read_text() == "new"
    assert os.listdir(tmp_path) == ["out.csv"]


def test_a_failure_leaves_the_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "out.csv"
    target.write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_write(target) as temporary:
            temporary.write_text("half")
            raise RuntimeError("disk full")
    assert target.read_text() == "old"
    assert os.listdir(tmp_path) == ["out.csv"]


def test_shared_files_follow_the_umask_and_private_ones_are_the_users_only(tmp_path):
    previous = os.umask(0o022)
    try:
        with atomic_write(tmp_path / "shared.xlsx") as temporary:
            temporary.write_bytes(b"x")
        with atomic_write(tmp_path / "config.ini", private=True) as temporary:
            temporary.write_bytes(b"x")
    finally:
        os.umask(previous)
    assert stat.S_IMODE(os.stat(tmp_path / "shared.xlsx").st_mode) == 0o644
    assert stat.S_IMODE(os.stat(tmp_path / "config.ini").st_mode) == 0o600


def test_a_broken_sqlite_file_moves_aside_with_its_wal_files(tmp_path):
    path = tmp_path / "usage.sqlite"
    for suffix, content in (("", b"not a database"), ("-wal", b"wal"), ("-shm", b"shm")):
        (tmp_path / f"usage.sqlite{suffix}").write_bytes(content)
    aside = move_sqlite_aside(path)
    assert aside.name.startswith("usage.sqlite.broken-") and aside.read_bytes() == b"not a database"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(f"{aside.name}{s}" for s in ("", "-wal", "-shm"))
