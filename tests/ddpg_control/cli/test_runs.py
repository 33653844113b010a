import os
from pathlib import Path

import pytest

from ddpg_control.pipeline.runs import latest_run, new_run_dir, run_file, telemetry_path
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


def test_run_file_takes_a_file_a_run_directory_or_the_latest_run(tmp_path: Path) -> None:
    run = new_run_dir("a", root=tmp_path)
    (run / "policy.onnx").write_bytes(b"")
    other = tmp_path / "elsewhere.onnx"
    assert run_file(other, "policy.onnx", tmp_path) == other
    assert run_file(run, "policy.onnx", tmp_path) == run / "policy.onnx"
    assert run_file(None, "policy.onnx", tmp_path) == run / "policy.onnx"
    with pytest.raises(RunDirectoryError, match="no checkpoints/best.pt in the run directory"):
        run_file(run, "checkpoints/best.pt", tmp_path)


def test_telemetry_path_is_a_file_a_new_name_in_a_folder_or_in_the_default_folder(
    tmp_path: Path,
) -> None:
    assert telemetry_path(tmp_path / "t.csv", tmp_path / "d", "sim") == tmp_path / "t.csv"
    in_folder = telemetry_path(tmp_path / "new", tmp_path / "d", "sim")
    assert in_folder.parent == tmp_path / "new" and in_folder.name.startswith("sim-")
    default = telemetry_path(None, tmp_path / "d", "device")
    assert default.parent == tmp_path / "d" and default.suffix == ".csv"
