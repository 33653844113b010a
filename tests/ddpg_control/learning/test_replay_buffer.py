"""ReplayBuffer: preallocated ring buffer, uniform seeded sampling, state round trip."""

from __future__ import annotations

import numpy as np
import pytest

from ddpg_control.learning.replay_buffer import Batch, ReplayBuffer


def _fill(buffer: ReplayBuffer, n: int, start: int = 0) -> None:
    for i in range(start, start + n):
        buffer.add(
            np.full(3, i, np.float32),
            np.array([i], np.float32),
            float(i),
            np.full(3, i + 1, np.float32),
            terminated=(i % 2 == 0),
        )


def test_sample_returns_typed_batch_of_requested_size() -> None:
    buffer = ReplayBuffer(10, obs_dim=3, act_dim=1)
    _fill(buffer, 5)
    batch = buffer.sample(8, np.random.default_rng(0))
    assert isinstance(batch, Batch)
    assert batch.obs.shape == (8, 3) and batch.next_obs.shape == (8, 3)
    assert batch.action_nm.shape == (8, 1)
    assert batch.reward.shape == (8,) and batch.terminated.shape == (8,)
    assert all(a.dtype == np.float32 for a in batch)
    # rows stay consistent: transition i has obs i, reward i, next_obs i + 1
    np.testing.assert_array_equal(batch.obs[:, 0], batch.reward)
    np.testing.assert_array_equal(batch.next_obs[:, 0], batch.reward + 1)
    np.testing.assert_array_equal(batch.terminated, (batch.reward % 2 == 0).astype(np.float32))


def test_full_buffer_overwrites_oldest_first() -> None:
    buffer = ReplayBuffer(4, obs_dim=3, act_dim=1)
    _fill(buffer, 6)
    assert len(buffer) == 4
    assert sorted(buffer.reward.tolist()) == [2.0, 3.0, 4.0, 5.0]
    batch = buffer.sample(200, np.random.default_rng(1))
    assert set(batch.reward.tolist()) == {2.0, 3.0, 4.0, 5.0}


def test_sampling_only_sees_filled_rows_and_is_seeded() -> None:
    buffer = ReplayBuffer(100, obs_dim=3, act_dim=1)
    _fill(buffer, 3)
    a = buffer.sample(50, np.random.default_rng(5))
    b = buffer.sample(50, np.random.default_rng(5))
    assert set(a.reward.tolist()) <= {0.0, 1.0, 2.0}
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x, y)


def test_empty_buffer_refuses_to_sample() -> None:
    with pytest.raises(ValueError, match="empty"):
        ReplayBuffer(4, 3, 1).sample(1, np.random.default_rng(0))


def test_state_dict_round_trip_continues_identically() -> None:
    original = ReplayBuffer(6, obs_dim=3, act_dim=1)
    _fill(original, 8)
    copy = ReplayBuffer(6, obs_dim=3, act_dim=1)
    copy.load_state_dict(original.state_dict())
    _fill(original, 3, start=100)
    _fill(copy, 3, start=100)
    for x, y in zip(
        original.sample(20, np.random.default_rng(2)),
        copy.sample(20, np.random.default_rng(2)),
        strict=True,
    ):
        np.testing.assert_array_equal(x, y)
