"""The batched Pendulum-v1 is the env itself: the same start states and the same steps, for the
functions and for the batch of environments, copy by copy."""

from __future__ import annotations

import gymnasium
import gymnasium as gym
import numpy as np
import pytest

from sim import pendulum_v1
from sim.pendulum_v1 import PendulumV1Batch


def test_start_states_are_the_envs_reset_states() -> None:
    angles, velocities = pendulum_v1.start_states(4, seed=123)
    env = gym.make("Pendulum-v1")
    for i in range(4):
        env.reset(seed=123 + i)
        assert np.array_equal(env.unwrapped.state, [angles[i], velocities[i]])
    options = {"x_init": 0.3, "y_init": 0.5}
    env.reset(seed=5, options=options)
    assert np.array_equal(env.unwrapped.state, pendulum_v1.start_state(5, options))


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


def test_each_copy_steps_as_gymnasiums_pendulum_with_the_same_seed() -> None:
    seeds = [0, 1, 12345, 2**31 - 1]
    batch = PendulumV1Batch(len(seeds))
    envs = [gymnasium.make("Pendulum-v1") for _ in seeds]
    obs = batch.reset(seeds, range(len(seeds)))
    expected = np.stack([env.reset(seed=s)[0] for env, s in zip(envs, seeds, strict=True)])
    np.testing.assert_array_equal(obs, expected)
    rng = np.random.default_rng(0)
    for step in range(1, 201):
        # beyond the limit too, and through both speed clips
        actions = rng.uniform(-3.0, 3.0, size=(len(seeds), 1)).astype(np.float32)
        out = batch.step(actions)
        for i, env in enumerate(envs):
            o, reward, terminated, truncated, _ = env.step(actions[i])
            np.testing.assert_allclose(out.obs[i], o, rtol=1e-6, atol=1e-7)
            assert out.reward[i] == pytest.approx(reward, rel=1e-9, abs=1e-12)
            assert out.terminated[i] == terminated
            assert out.truncated[i] == truncated == (step == 200)
    for env in envs:
        env.close()


def test_a_reset_restarts_only_the_copies_named() -> None:
    batch = PendulumV1Batch(3)
    batch.reset([5, 6, 7], [0, 1, 2])
    for _ in range(50):
        batch.step(np.zeros((3, 1), dtype=np.float32))
    before = batch.theta.copy()
    obs = batch.reset([9], [1])
    env = gymnasium.make("Pendulum-v1")
    np.testing.assert_array_equal(obs[0], env.reset(seed=9)[0])
    assert batch.theta[0] == before[0] and batch.theta[2] == before[2]
    assert list(batch.elapsed) == [50, 0, 50]


def test_a_batch_needs_at_least_one_copy() -> None:
    with pytest.raises(ValueError, match="num_envs"):
        PendulumV1Batch(0)
