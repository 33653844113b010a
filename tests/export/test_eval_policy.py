"""``ddpg-control eval --policy FILE.onnx`` scores the deployed artifact itself."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import gymnasium
import numpy as np
import pytest

from ddpg_control.cli.main import main
from ddpg_control.learning.agent import actor_policy
from ddpg_control.learning.checkpoint import load_actor
from ddpg_control.learning.evaluation import evaluate
from export.onnx_export import export_policy
from export.runtime import OnnxPolicy

CheckpointFactory = Callable[..., Path]

PENDULUM_ENV = {
    "id": "Pendulum-v1",
    "control_period_s": 0.05,
    "max_torque_nm": 2.0,
    "params": {"g": 10.0, "m": 1.0, "l": 1.0, "max_speed": 8.0, "max_torque": 2.0},
    "randomize": False,
}


@pytest.fixture
def pendulum_export(make_checkpoint: CheckpointFactory) -> tuple[Path, Path]:
    checkpoint = make_checkpoint(
        "pendulum", seed=5, env=PENDULUM_ENV, config={"env": {"id": "Pendulum-v1", "preset": ""}}
    )
    return checkpoint, export_policy(checkpoint).path


def test_artifact_scores_what_the_checkpoint_scores(pendulum_export: tuple[Path, Path]) -> None:
    checkpoint, policy_path = pendulum_export
    actor, _ = load_actor(checkpoint)
    env = gymnasium.make("Pendulum-v1")
    try:
        from_torch = evaluate(actor_policy(actor), env, episodes=3, seed=11)
        from_onnx = evaluate(OnnxPolicy.load(policy_path), env, episodes=3, seed=11)
    finally:
        env.close()
    # torques agree to ~1e-6 N*m, so 200-step returns agree to far better than 0.1
    np.testing.assert_allclose(from_onnx.returns, from_torch.returns, atol=1e-2)


def test_eval_policy_command(
    pendulum_export: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    checkpoint, policy_path = pendulum_export
    assert main(["eval", "--policy", str(policy_path), "--episodes", "2", "--seed", "4"]) == 0
    onnx_out = capsys.readouterr().out
    assert main(["eval", "--policy", str(checkpoint), "--episodes", "2", "--seed", "4"]) == 0
    torch_out = capsys.readouterr().out
    assert f"policy:  {policy_path}" in onnx_out and "Pendulum-v1" in onnx_out

    def returns_line(out: str) -> str:
        return next(line for line in out.splitlines() if line.startswith("return:"))

    assert returns_line(onnx_out) == returns_line(torch_out)


def test_eval_policy_refuses_a_bad_file_and_a_positional_checkpoint(
    pendulum_export: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    checkpoint, policy_path = pendulum_export
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"\x08\x07" * 40)
    assert main(["eval", "--policy", str(junk)]) != 0
    err = capsys.readouterr().err
    assert err.startswith("error: policy") and err.count("\n") == 1
    with pytest.raises(SystemExit) as exc:
        main(["eval", str(checkpoint), "--policy", str(policy_path)])
    assert exc.value.code == 2
    assert "unrecognized arguments" in capsys.readouterr().err
