"""``ddpg-control eval --record FILE.gif`` on the session's trained run."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ddpg_control.cli import main
from ddpg_control.runtime.run_layout import BEST_CHECKPOINT


def rod_rows(frame: np.ndarray) -> np.ndarray:
    """Row indices of the red rod's pixels (the pivot is at the image centre, row 160)."""
    return np.argwhere((frame[:, :, 0] > 150) & (frame[:, :, 1] < 120))[:, 0]


def test_eval_record_writes_a_gif_of_the_swing_up(
    trained_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    gif_path = tmp_path / "swingup.gif"
    argv = [
        "eval",
        "--policy",
        str(trained_run / BEST_CHECKPOINT),
        "--episodes",
        "1",
        "--seed",
        "4",
    ]
    argv += ["--record"]
    assert main([*argv, str(gif_path)]) == 0
    assert f"recorded: {gif_path}" in capsys.readouterr().out
    with Image.open(gif_path) as gif:
        assert gif.n_frames == 201  # the start and 200 steps
        gif.seek(0)
        first = np.asarray(gif.convert("RGB"))
        gif.seek(gif.n_frames - 1)
        last = np.asarray(gif.convert("RGB"))
    # Seed 4 starts near hanging down (cos theta = -0.94); the trained policy ends with the
    # rod above the pivot.
    assert rod_rows(first).mean() > 160
    assert rod_rows(last).mean() < 130


def test_eval_record_refuses_other_formats(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["eval", "--record", "swing.mp4"])
    assert "needs a .gif file name" in capsys.readouterr().err
