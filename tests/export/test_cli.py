"""``ddpg-control export --onnx`` and ``ddpg-control inspect`` through the real CLI entry point."""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path

import onnx
import pytest

from ddpg_control.cli.main import main
from ddpg_control.pipeline.runs import new_run_dir
from export.metadata import KEYS

CheckpointFactory = Callable[..., Path]


def test_export_with_no_argument_uses_the_newest_trainings_best_checkpoint(
    make_checkpoint: CheckpointFactory,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    new_run_dir("old", root=tmp_path / "runs")
    new_run_dir("new", root=tmp_path / "runs")
    old = make_checkpoint("old", seed=1)
    make_checkpoint("new", seed=2)
    (old.parent.parent / "score.csv").write_text("")  # another command wrote into the older run
    os.utime(old.parent.parent, ns=(2_000_000_000_000_000_000, 2_000_000_000_000_000_000))
    monkeypatch.chdir(tmp_path)

    assert main(["export", "--onnx"]) == 0

    out = capsys.readouterr().out
    written = Path("runs/new/policy.onnx")
    assert written.is_file() and not Path("runs/old/policy.onnx").exists()
    assert f"wrote {written}" in out and "from runs/new/checkpoints/best.pt" in out
    assert f"{written.stat().st_size} bytes" in out
    assert "max |diff|" in out and "observations" in out and "max |torque|" in out
    meta = {p.key: p.value for p in onnx.load(written).metadata_props}
    assert meta["run_name"] == "new"


def test_export_overrides_and_inspect_prints_the_metadata(
    make_checkpoint: CheckpointFactory, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    checkpoint = make_checkpoint("mine")
    output = tmp_path / "out" / "deployed.onnx"
    argv = ["export", "--policy", str(checkpoint), "--output", str(output), "--opset", "15"]
    assert main(argv) == 0
    capsys.readouterr()

    assert main(["inspect", "--policy", str(output)]) == 0
    out = capsys.readouterr().out
    for key in KEYS:
        assert f"  {key} " in out
    assert "obs float32 [batch, 3]" in out and "action float32 [batch, 1]" in out
    assert re.search(r"^  opset +15$", out, re.M) and re.search(r"^  run_name +mine$", out, re.M)


@pytest.mark.parametrize("command", ["export", "inspect"])
def test_bad_input_gives_a_one_line_error_and_non_zero_exit(
    command: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    # no runs at all: says what to run first
    assert main([command]) != 0
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "ddpg-control train" in err and "Traceback" not in err
    # an explicit file that is garbage
    junk = tmp_path / "junk.bin"
    junk.write_bytes(os.urandom(512))
    argv = [command, "--policy", str(junk)]
    assert main(argv) != 0
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and "Traceback" not in err
