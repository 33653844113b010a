"""Session fixtures shared by every package's tests."""

from __future__ import annotations

from pathlib import Path

import pytest

#: The trained_run fixture's run: the default config with a fixed seed, capped in steps so the
#: whole session stays fast. Seed 0 swings up and holds well before the cap (~3-6k steps).
TRAINED_RUN_SEED = 0
TRAINED_RUN_MAX_STEPS = 6_000


@pytest.fixture(scope="session")
def trained_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real DDPG run on Pendulum-v1 (default config, seed 0): the run directory, holding
    ``checkpoints/best.pt`` (a swing-up-and-hold policy), ``last.pt``, metrics and plots."""
    import gymnasium

    from ddpg_control.config import TrainConfig, with_overrides
    from ddpg_control.trainer import train

    config = with_overrides(
        TrainConfig(), [("seed", TRAINED_RUN_SEED), ("total_steps", TRAINED_RUN_MAX_STEPS)]
    )
    run_dir = tmp_path_factory.mktemp("runs") / "trained"
    train(config, lambda: gymnasium.make("Pendulum-v1"), run_dir)
    return run_dir


@pytest.fixture(scope="session")
def exported_policy(trained_run: Path) -> Path:
    """``trained_run``'s best checkpoint exported (and verified) to ``<run>/policy.onnx``, as
    ``ddpg-control export --onnx`` does: the deployed artifact the loop and device tests run."""
    from ddpg_control.runs import BEST_CHECKPOINT, POLICY_FILE
    from export.onnx_export import export_policy

    return export_policy(trained_run / BEST_CHECKPOINT, trained_run / POLICY_FILE).path
