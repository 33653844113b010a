"""The training runner on real Pendulum-v1 (short runs) and a small fake env."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import gymnasium
import numpy as np
import pytest
import torch
from gymnasium import spaces

from ddpg_control.learning.agent import actor_policy
from ddpg_control.learning.checkpoint import load_actor, load_checkpoint
from ddpg_control.learning.config import TrainConfig, load_config, with_overrides
from ddpg_control.learning.evaluation import evaluate
from ddpg_control.learning.trainer import train
from ddpg_control.runtime.run_layout import BEST_CHECKPOINT, LAST_CHECKPOINT

SHORT = [
    ("population", 1),  # the single-learner trainer (population training: test_population)
    ("total_steps", 600),
    ("learning_starts", 100),
    ("eval_every_steps", 200),
    ("eval_episodes", 1),
    ("final_eval_episodes", 1),
    ("stop.metric", "none"),
    ("agent.hidden_sizes", [16, 16]),
]


def pendulum() -> Any:
    return gymnasium.make("Pendulum-v1")


def short_config(*extra: tuple[str, Any]) -> TrainConfig:
    return with_overrides(TrainConfig(), [*SHORT, *extra])


def networks(path: Path) -> dict[str, dict[str, torch.Tensor]]:
    return load_checkpoint(path)["networks"]


def assert_same_networks(a: Path, b: Path) -> None:
    na, nb = networks(a), networks(b)
    for name in ("actor", "critic", "actor_target", "critic_target"):
        for key, tensor in na[name].items():
            assert torch.equal(tensor, nb[name][key]), f"{name}.{key} differs"


def test_same_seed_gives_bit_identical_weights(tmp_path: Path) -> None:
    for name in ("a", "b"):
        train(short_config(), pendulum, tmp_path / name, tensorboard=False)
    assert_same_networks(tmp_path / "a" / LAST_CHECKPOINT, tmp_path / "b" / LAST_CHECKPOINT)
    train(short_config(("seed", 1)), pendulum, tmp_path / "c", tensorboard=False)
    other = networks(tmp_path / "c" / LAST_CHECKPOINT)["actor"]
    mine = networks(tmp_path / "a" / LAST_CHECKPOINT)["actor"]
    assert any(not torch.equal(t, other[k]) for k, t in mine.items())


def test_resume_continues_exactly_where_the_run_stopped(tmp_path: Path) -> None:
    train(short_config(), pendulum, tmp_path / "whole", tensorboard=False)
    train(short_config(("total_steps", 400)), pendulum, tmp_path / "split", tensorboard=False)
    result = train(
        short_config(),
        pendulum,
        tmp_path / "split",
        resume_from=tmp_path / "split" / LAST_CHECKPOINT,
        tensorboard=False,
    )
    assert result.env_steps == 600
    assert_same_networks(tmp_path / "whole" / LAST_CHECKPOINT, tmp_path / "split" / LAST_CHECKPOINT)
    with (tmp_path / "split" / "metrics.csv").open() as fh:
        assert [int(r["env_steps"]) for r in csv.DictReader(fh)] == [200, 400, 600]


class FallingPoint(gymnasium.Env[np.ndarray, np.ndarray]):
    """x' = x + a * dt with a drift; terminates when |x| > 1, truncated after 15 steps."""

    dt = 0.1

    def __init__(self) -> None:
        self.observation_space = spaces.Box(-np.inf, np.inf, (3,), np.float32)
        self.action_space = spaces.Box(-1.0, 1.0, (1,), np.float32)
        self.x, self.t = 0.0, 0

    def reset(self, *, seed: int | None = None, options: Any = None) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        self.x, self.t = float(self.np_random.uniform(-0.5, 0.5)), 0
        return self._obs(), {}

    def step(self, action: np.ndarray) -> tuple[np.ndarray, float, bool, bool, dict]:
        self.x += (float(action[0]) + 0.5) * self.dt * 3
        self.t += 1
        terminated = abs(self.x) > 1.0
        return self._obs(), -abs(self.x), terminated, self.t >= 15 and not terminated, {}

    def _obs(self) -> np.ndarray:
        return np.array([self.x, self.t / 15, 1.0], np.float32)


def test_truncation_is_stored_as_not_terminal(tmp_path: Path) -> None:
    config = short_config(("total_steps", 400), ("buffer_size", 1000))
    train(config, FallingPoint, tmp_path / "fake", tensorboard=False)
    replay = load_checkpoint(tmp_path / "fake" / LAST_CHECKPOINT)["replay"]
    terminated = replay["terminated"].numpy()
    x_next = replay["next_obs"].numpy()[:, 0]
    steps = np.round(replay["next_obs"].numpy()[:, 1] * 15)
    np.testing.assert_array_equal(terminated, (np.abs(x_next) > 1.0).astype(np.float32))
    truncated = (steps == 15) & (np.abs(x_next) <= 1.0)
    assert truncated.any() and terminated.any()
    assert not terminated[truncated].any()


def test_training_return_stop_rule_stops_once_the_window_is_full(tmp_path: Path) -> None:
    config = short_config(
        ("total_steps", 2000),
        ("stop.metric", "train"),
        ("stop.goal_return", -5000.0),
        ("stop.window_episodes", 2),
    )
    result = train(config, pendulum, tmp_path / "stop", tensorboard=False)
    assert result.stopped_early
    assert result.env_steps == 400  # first evaluation after two finished episodes


def test_run_directory_layout_and_checkpoint_contract(trained_run: Path) -> None:
    for name in ("config.toml", "metrics.csv", "learning_curve.png", LAST_CHECKPOINT):
        assert (trained_run / name).is_file(), name
    assert list((trained_run / "tensorboard").glob("events.out.tfevents.*"))
    config = load_config(trained_run / "config.toml")
    payload = load_checkpoint(trained_run / BEST_CHECKPOINT)
    assert TrainConfig.from_dict(payload["config"]) == config
    env = payload["env"]
    assert env["id"] == "Pendulum-v1"
    assert env["control_period_s"] == pytest.approx(0.05)
    assert env["max_torque_nm"] == 2.0
    assert env["randomize"] is False
    assert set(env["params"]) == {"g", "m", "l", "dt", "max_speed", "max_torque"}
    progress = payload["progress"]
    assert {"env_steps", "episodes", "eval_return", "wall_time_s"} <= set(progress)
    assert progress["eval_episodes"] == config.final_eval_episodes
    assert isinstance(progress["eval_return"], float)
    with (trained_run / "metrics.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    assert rows, "metrics.csv has no evaluation rows"
    assert int(rows[-1]["env_steps"]) >= progress["env_steps"] > 0


@pytest.mark.slow
def test_short_real_training_run_learns_to_swing_up(trained_run: Path) -> None:
    """The session's real run improved the return from a random policy's to a swing-up's."""
    with (trained_run / "metrics.csv").open() as fh:
        first = float(next(csv.DictReader(fh))["eval_return_mean"])
    actor, payload = load_actor(trained_run / BEST_CHECKPOINT)
    env = pendulum()
    result = evaluate(actor_policy(actor), env, episodes=30, seed=0)
    env.close()
    assert first < -900  # before learning: the pendulum hangs or spins
    assert result.mean_return > -200  # after: swung up and held from every start
    assert payload["progress"]["eval_return"] > -200
