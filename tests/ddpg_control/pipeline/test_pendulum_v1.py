"""The batched Pendulum-v1 is the env itself: the same start states and the same steps."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

from ddpg_control.pipeline import pendulum_v1


def test_start_states_are_the_envs_reset_states() -> None:
    angles, velocities = pendulum_v1.start_states(4, seed=123)
    env = gym.make("Pendulum-v1")
    for i in range(4):
        env.reset(seed=123 + i)
        assert np.array_equal(env.unwrapped.state, [angles[i], velocities[i]])


def test_steps_match_the_env_bit_for_bit_and_rewards_to_rounding() -> None:
    """Random torques, some beyond the limit, from three starts for a whole episode."""
    env = gym.make("Pendulum-v1")
    rng = np.random.default_rng(0)
    angles, velocities = pendulum_v1.start_states(3, seed=7)
    for i in range(3):
        env.reset(seed=7 + i)
        angle, velocity = angles[i : i + 1], velocities[i : i + 1]
        truncated = False
        while not truncated:
            torque = rng.uniform(-3.0, 3.0, size=1).astype(np.float32)
            _, reward, _, truncated, _ = env.step(torque)
            angle, velocity, rewards = pendulum_v1.step(angle, velocity, torque)
            assert np.array_equal(env.unwrapped.state, [angle[0], velocity[0]])
            assert rewards[0] == pytest.approx(reward, abs=1e-9)


def test_rollout_runs_every_start_in_lockstep_and_refuses_non_finite_torques() -> None:
    angles, velocities = pendulum_v1.start_states(5, seed=0)
    episodes = pendulum_v1.rollout(lambda obs: np.full(len(obs), 5.0), angles, velocities, 30)
    assert episodes.angles_rad.shape == (5, 30)
    assert np.all(episodes.torques_nm == pendulum_v1.MAX_TORQUE_NM)
    assert np.array_equal(episodes.angles_rad[:, 0], angles)
    with pytest.raises(ValueError, match="non-finite"):
        pendulum_v1.rollout(lambda obs: np.full(len(obs), np.nan), angles, velocities, 3)
