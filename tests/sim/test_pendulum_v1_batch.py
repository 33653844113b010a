"""The numpy batch of Pendulum-v1 is Gymnasium's Pendulum-v1, copy by copy."""

from __future__ import annotations

import gymnasium
import numpy as np
import pytest

from sim.pendulum_v1_batch import PendulumV1Batch


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
