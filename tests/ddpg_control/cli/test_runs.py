import os
from pathlib import Path

import pytest

from ddpg_control.pipeline.runs import (
    latest_run,
    new_run_dir,
    newest_telemetry,
    run_file,
    telemetry_path,
)
from ddpg_control.runtime.errors import RunDirectoryError
from ddpg_control.runtime.run_layout import CHECKPOINT_DIR, POLICY_FILE, TELEMETRY_DIR


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


def test_latest_run_is_the_newest_training_not_the_last_folder_written(tmp_path: Path) -> None:
    old = new_run_dir("old", root=tmp_path)
    new = new_run_dir("new", root=tmp_path)
    for run in (old, new):
        (run / POLICY_FILE).write_bytes(b"x")
    (old / "score.csv").write_text("")  # another command writes into the older run
    os.utime(old, ns=(2**62, 2**62))
    (tmp_path / "classical" / TELEMETRY_DIR).mkdir(parents=True)  # telemetry only: no training
    os.utime(tmp_path / "classical", ns=(2**62 + 1, 2**62 + 1))
    assert latest_run(tmp_path) == new
    assert run_file(None, POLICY_FILE, tmp_path) == new / POLICY_FILE


def test_runs_from_older_versions_count_after_recorded_ones(tmp_path: Path) -> None:
    legacy = tmp_path / "legacy"
    (legacy / CHECKPOINT_DIR).mkdir(parents=True)
    assert latest_run(tmp_path) == legacy
    recorded = new_run_dir("recorded", root=tmp_path)
    os.utime(legacy / CHECKPOINT_DIR, ns=(2**62, 2**62))
    assert latest_run(tmp_path) == recorded
    (tmp_path / "classical").mkdir()
    assert latest_run(tmp_path) == recorded


def test_newest_telemetry_is_by_recorded_time_across_runs(tmp_path: Path) -> None:
    trained = new_run_dir("trained", root=tmp_path) / TELEMETRY_DIR
    classical = tmp_path / "classical" / TELEMETRY_DIR
    trained.mkdir()
    classical.mkdir(parents=True)
    (trained / "sim-20260101-120000-000000.csv").write_text("")
    newest = classical / "sim-20260101-120500-000000.csv"
    newest.write_text("")
    os.utime(trained.parent, ns=(2**62, 2**62))
    os.utime(trained / "sim-20260101-120000-000000.csv", ns=(2**62, 2**62))
    assert newest_telemetry(tmp_path) == newest
    with pytest.raises(RunDirectoryError, match="no telemetry CSV"):
        newest_telemetry(tmp_path / "none")
