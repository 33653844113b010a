"""Atomic writes: the target holds either its old content or the whole new one, never a part."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from ddpg_control.runtime.files import current_umask, replacing, write_atomically


def test_write_atomically_creates_folders_and_leaves_no_temporary_file(tmp_path: Path) -> None:
    target = tmp_path / "a" / "b" / "file.bin"
    assert write_atomically(target, b"new") == target
    assert target.read_bytes() == b"new"
    assert [p.name for p in target.parent.iterdir()] == ["file.bin"]


def test_an_error_inside_the_block_keeps_the_old_content(tmp_path: Path) -> None:
    target = tmp_path / "file.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError, match="verification failed"), replacing(target) as tmp:
        tmp.write_text("half of the new")
        raise RuntimeError("verification failed")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["file.txt"]


def test_the_block_can_read_its_file_back_before_it_replaces_the_target(tmp_path: Path) -> None:
    target = tmp_path / "file.txt"
    with replacing(target) as tmp:
        tmp.write_text("checked")
        assert tmp.read_text() == "checked" and not target.exists()
    assert target.read_text() == "checked"


@pytest.mark.parametrize(("umask", "mode"), [(0o022, 0o644), (0o027, 0o640), (0o002, 0o664)])
def test_a_written_file_gets_the_mode_of_a_plain_open_under_the_umask(
    tmp_path: Path, umask: int, mode: int
) -> None:
    old = os.umask(umask)
    try:
        plain = tmp_path / "plain.txt"
        plain.write_text("x")
        atomic = write_atomically(tmp_path / "atomic.txt", b"x")
        assert current_umask() == umask
    finally:
        os.umask(old)
    assert stat.S_IMODE(atomic.stat().st_mode) == stat.S_IMODE(plain.stat().st_mode) == mode
