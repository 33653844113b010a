import os
from pathlib import Path

import pytest

from ddpg_control.pipeline.runs import latest_run, new_run_dir
from ddpg_control.runtime.errors import RunDirectoryError
from ddpg_control.runtime.run_layout import POLICY_FILE


def test_latest_run_without_runs_says_to_train_first(tmp_path: Path) -> None:
    with pytest.raises(RunDirectoryError, match="ddpg-control train"):
        latest_run(tmp_path / "runs")


def test_new_run_dir_never_reuses_a_name(tmp_path: Path) -> None:
    first = new_run_dir("demo", root=tmp_path)
    second = new_run_dir("demo", root=tmp_path)
    assert first != second and first.is_dir() and second.is_dir()


def test_latest_run_picks_most_recent_holding_the_file(tmp_path: Path) -> None:
    old = new_run_dir("old", root=tmp_path)
    new = new_run_dir("new", root=tmp_path)
    (old / POLICY_FILE).write_bytes(b"x")
    os.utime(old, ns=(1, 1))
    assert latest_run(tmp_path) == new
    assert latest_run(tmp_path, containing=POLICY_FILE) == old
    with pytest.raises(RunDirectoryError, match="no run with policy.nope"):
        latest_run(tmp_path, containing="policy.nope")


def test_new_run_dir_under_a_file_says_so(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("")
    with pytest.raises(RunDirectoryError, match="cannot create the run directory"):
        new_run_dir("x", root=tmp_path / "a-file")
