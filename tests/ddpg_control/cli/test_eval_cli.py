"""``ddpg-control eval`` on the session's trained run, and on bad checkpoints."""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
import torch

from ddpg_control.cli import main
from ddpg_control.learning.checkpoint import load_checkpoint, save_checkpoint
from ddpg_control.runtime.run_layout import BEST_CHECKPOINT

CliError = Callable[[list[str]], str]


def _mean(out: str) -> float:
    match = re.search(r"mean (-?\d+\.\d)", out)
    assert match, out
    return float(match.group(1))


def test_eval_defaults_to_latest_runs_best_checkpoint(
    trained_run: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["eval", "--runs-dir", str(trained_run.parent), "--episodes", "10"]) == 0
    out = capsys.readouterr().out
    assert str(trained_run / BEST_CHECKPOINT) in out
    assert "Pendulum-v1, 10 episodes" in out
    assert _mean(out) > -250  # a swing-up policy, evaluated without noise


def test_eval_is_deterministic(trained_run: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = [
        "eval",
        "--policy",
        str(trained_run / BEST_CHECKPOINT),
        "--episodes",
        "3",
        "--seed",
        "5",
    ]
    assert main(argv) == 0
    first = capsys.readouterr().out
    assert main(argv) == 0
    assert capsys.readouterr().out == first


def test_no_runs_yet(tmp_path: Path, cli_error: CliError) -> None:
    assert "ddpg-control train" in cli_error(["eval", "--runs-dir", str(tmp_path / "r")])


def test_missing_checkpoint(tmp_path: Path, cli_error: CliError) -> None:
    assert "does not exist" in cli_error(["eval", "--policy", str(tmp_path / "best.pt")])


def test_corrupt_checkpoint(trained_run: Path, tmp_path: Path, cli_error: CliError) -> None:
    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(b"\x00\x01 definitely not torch")
    assert "corrupt" in cli_error(["eval", "--policy", str(garbage)])
    truncated = tmp_path / "truncated.pt"
    data = (trained_run / BEST_CHECKPOINT).read_bytes()
    truncated.write_bytes(data[: len(data) // 2])
    assert "corrupt" in cli_error(["eval", "--policy", str(truncated)])


def test_checkpoint_from_another_architecture(
    trained_run: Path, tmp_path: Path, cli_error: CliError
) -> None:
    payload = load_checkpoint(trained_run / BEST_CHECKPOINT)
    payload.pop("format_version")
    payload["architecture"]["hidden_sizes"] = [8, 8]
    other = tmp_path / "other.pt"
    save_checkpoint(other, payload)
    assert "architecture" in cli_error(["eval", "--policy", str(other)])


def test_checkpoint_for_another_observation_size(
    trained_run: Path, tmp_path: Path, cli_error: CliError
) -> None:
    payload = load_checkpoint(trained_run / BEST_CHECKPOINT)
    payload.pop("format_version")
    hidden = payload["architecture"]["hidden_sizes"][0]
    payload["architecture"]["obs_dim"] = 5
    payload["networks"]["actor"]["net.0.weight"] = torch.zeros(hidden, 5)
    wide = tmp_path / "wide.pt"
    save_checkpoint(wide, payload)
    assert "takes 5 observations" in cli_error(["eval", "--policy", str(wide), "--episodes", "1"])


def test_bad_episode_count_and_env(
    trained_run: Path, tmp_path: Path, cli_error: CliError, capsys: pytest.CaptureFixture[str]
) -> None:
    best = tmp_path / "best.pt"
    shutil.copy(trained_run / BEST_CHECKPOINT, best)
    with pytest.raises(SystemExit) as exc:
        main(["eval", "--policy", str(best), "--episodes", "0"])
    assert exc.value.code == 2
    assert "argument --episodes" in capsys.readouterr().err
    assert "unknown environment id" in cli_error(
        ["eval", "--policy", str(best), "--env", "Nope-v1"]
    )


def test_episodes_last_as_long_as_the_policys_training_episodes(
    trained_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A policy trained on 0.5 s episodes is evaluated on 0.5 s (10-step) episodes: from the
    same starts its returns are those of the first 10 steps of the 10 s episodes, still swinging
    up, so less negative."""
    payload = load_checkpoint(trained_run / BEST_CHECKPOINT)
    payload["config"]["env"]["episode_s"] = 0.5
    short = tmp_path / "short.pt"
    save_checkpoint(short, payload)
    argv = ["eval", "--episodes", "3", "--policy"]
    assert main([*argv, str(short)]) == 0
    out = capsys.readouterr().out
    assert "3 episodes of 0.5 s" in out
    assert main([*argv, str(trained_run / BEST_CHECKPOINT)]) == 0
    full = capsys.readouterr().out
    assert "3 episodes of 10 s" in full
    assert _mean(out) > _mean(full)
