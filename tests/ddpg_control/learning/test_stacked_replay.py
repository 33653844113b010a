"""The population's stacked replay buffer is K single-learner replay buffers."""

from __future__ import annotations

import numpy as np
import pytest

from ddpg_control.learning.replay_buffer import ReplayBuffer, StackedReplay
from ddpg_control.runtime.errors import CheckpointError


def transitions(rng: np.random.Generator, k: int) -> tuple[np.ndarray, ...]:
    return (
        rng.normal(size=(k, 3)).astype(np.float32),
        rng.uniform(-2, 2, size=(k, 1)).astype(np.float32),
        rng.normal(size=k),
        rng.normal(size=(k, 3)).astype(np.float32),
        rng.random(k) < 0.3,
    )


def test_each_member_samples_what_its_own_replay_buffer_would() -> None:
    k, capacity = 3, 50
    stacked = StackedReplay(k, capacity, obs_dim=3, act_dim=1)
    singles = [ReplayBuffer(capacity, 3, 1) for _ in range(k)]
    rng = np.random.default_rng(0)
    for _ in range(80):  # past capacity: the ring wraps
        obs, action, reward, next_obs, terminated = transitions(rng, k)
        stacked.add(obs, action, reward, next_obs, terminated)
        for m, buffer in enumerate(singles):
            buffer.add(obs[m], action[m], float(reward[m]), next_obs[m], bool(terminated[m]))
    assert len(stacked) == capacity
    batch = stacked.sample(16, [np.random.default_rng(10 + m) for m in range(k)])
    for m, buffer in enumerate(singles):
        expected = buffer.sample(16, np.random.default_rng(10 + m))
        for got, want in zip(batch, expected, strict=True):
            np.testing.assert_array_equal(got[m], want)


def test_a_member_saves_and_loads_as_a_replay_buffer() -> None:
    stacked = StackedReplay(2, 20, obs_dim=3, act_dim=1)
    rng = np.random.default_rng(1)
    for _ in range(7):
        stacked.add(*transitions(rng, 2))
    restored = StackedReplay(2, 20, obs_dim=3, act_dim=1)
    for m in range(2):
        restored.load_state_dict(m, stacked.state_dict(m))
    single = ReplayBuffer(20, 3, 1)
    single.load_state_dict(stacked.state_dict(1))  # the format a single learner saves
    rngs = [np.random.default_rng(3), np.random.default_rng(4)]
    again = [np.random.default_rng(3), np.random.default_rng(4)]
    for got, want in zip(restored.sample(8, rngs), stacked.sample(8, again), strict=True):
        np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(
        single.sample(8, np.random.default_rng(5)).obs,
        stacked.sample(8, [np.random.default_rng(0), np.random.default_rng(5)]).obs[1],
    )


def test_members_must_be_restored_at_the_same_fill() -> None:
    stacked = StackedReplay(2, 20, obs_dim=3, act_dim=1)
    short = ReplayBuffer(20, 3, 1)
    full = ReplayBuffer(20, 3, 1)
    for i in range(5):
        full.add(np.zeros(3), np.zeros(1), 0.0, np.zeros(3), False)
        if i < 2:
            short.add(np.zeros(3), np.zeros(1), 0.0, np.zeros(3), False)
    stacked.load_state_dict(0, full.state_dict())
    with pytest.raises(CheckpointError, match="lockstep"):
        stacked.load_state_dict(1, short.state_dict())
