"""Which environments the trainer is given: refused with the reason before training starts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gymnasium
import numpy as np
import pytest
from gymnasium import spaces

from ddpg_control.pipeline.envs import (
    PYBULLET_ENV_ID,
    check_trainable,
    env_factory,
    make_env,
    vector_env_factory,
)
from ddpg_control.runtime.errors import ConfigError
from sim.params_file import load_params_file


class SpacesOnly(gymnasium.Env[Any, Any]):
    """An environment that only declares its spaces (and a control period), for the check."""

    def __init__(self, observation_space: spaces.Space[Any], action_space: spaces.Space[Any]):
        self.observation_space = observation_space
        self.action_space = action_space
        self.dt = 0.05


FLAT_OBS = spaces.Box(-1.0, 1.0, (3,), np.float32)
TORQUE = spaces.Box(-2.0, 2.0, (1,), np.float32)


@pytest.mark.parametrize(
    ("observation_space", "action_space", "problem"),
    [
        (FLAT_OBS, spaces.Discrete(3), "action space Discrete(3) is not a continuous Box"),
        (FLAT_OBS, spaces.MultiBinary(2), "is not a continuous Box"),
        (spaces.Box(0, 255, (8, 8, 3), np.uint8), TORQUE, "is not a flat Box"),
        (spaces.Discrete(16), TORQUE, "observation space Discrete(16) is not a flat Box"),
        (spaces.Tuple((FLAT_OBS, FLAT_OBS)), TORQUE, "is not a flat Box"),
        (FLAT_OBS, spaces.Box(0.0, 1.0, (1,), np.float32), "not one limit symmetric about zero"),
        (FLAT_OBS, spaces.Box(-np.inf, np.inf, (1,)), "not one limit symmetric about zero"),
        (FLAT_OBS, spaces.Box(np.array([-1, -2]), np.array([1, 2])), "not one limit"),
    ],
)
def test_spaces_the_trainer_cannot_drive_are_refused(
    observation_space: spaces.Space[Any], action_space: spaces.Space[Any], problem: str
) -> None:
    with pytest.raises(ConfigError) as exc:
        check_trainable(SpacesOnly(observation_space, action_space), "Mine-v0")
    message = str(exc.value)
    assert message.startswith("cannot train on Mine-v0: ") and problem in message
    assert "continuous Box action space" in message and "Pendulum-v1" in message
    assert "\n" not in message


def test_an_environment_without_a_control_period_is_refused() -> None:
    env = SpacesOnly(FLAT_OBS, TORQUE)
    del env.dt
    with pytest.raises(ConfigError, match=r"no control period \(env.unwrapped.dt\)"):
        check_trainable(env, "Mine-v0")


@pytest.mark.parametrize("env_id", ["Pendulum-v1", PYBULLET_ENV_ID])
def test_the_pendulums_are_trainable(env_id: str) -> None:
    env_factory(env_id)().close()


def test_multi_dimensional_torques_with_one_limit_are_trainable() -> None:
    check_trainable(SpacesOnly(FLAT_OBS, spaces.Box(-1.5, 1.5, (2,), np.float32)), "Mine-v0")


@pytest.mark.parametrize(("episode_s", "steps"), [(10.0, 200), (2.5, 50), (20.0, 400)])
def test_pendulum_v1_episodes_last_episode_s(episode_s: float, steps: int) -> None:
    """Pendulum-v1 is fixed at 20 Hz: ``episode_s`` is its time limit; 10 s is its own 200."""
    env = make_env("Pendulum-v1", episode_s=episode_s)
    assert env.spec is not None and env.spec.max_episode_steps == steps
    env.reset(seed=0)
    ends = [i for i in range(1, 401) if env.step(np.zeros(1, np.float32))[3]]
    env.close()
    assert ends[0] == steps
    vector = vector_env_factory("Pendulum-v1", episode_s)
    assert vector is not None
    batch = vector(2)
    batch.reset([0, 1], [0, 1])
    ends = [i for i in range(1, 401) if batch.step(np.zeros((2, 1), np.float32)).truncated[0]]
    assert ends[0] == steps


def test_the_pybullet_pendulum_takes_episode_s_at_its_own_rate(tmp_path: Path) -> None:
    rig = tmp_path / "rig.toml"
    rig.write_text("[pendulum]\ncontrol_period_s = 0.005\n")
    factory = env_factory(PYBULLET_ENV_ID, params_file=load_params_file(rig), episode_s=4.0)
    env = factory()
    assert env.unwrapped.max_episode_steps == 800
    env.close()


def test_an_episode_shorter_than_a_step_names_the_option() -> None:
    with pytest.raises(ConfigError, match=r"'env.episode_s' \(--episode-s\).*0.01 s is shorter"):
        make_env("Pendulum-v1", episode_s=0.01)
