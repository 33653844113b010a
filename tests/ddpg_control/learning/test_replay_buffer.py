"""ReplayBuffer: K preallocated ring buffers filled in lockstep, uniform seeded sampling per
learner, state round trip."""

from __future__ import annotations

import numpy as np
import pytest

from ddpg_control.learning.replay_buffer import Batch, ReplayBuffer
from ddpg_control.runtime.errors import CheckpointError


def _fill(buffer: ReplayBuffer, n: int, start: int = 0) -> None:
    """Transition i of learner k: obs i + 1000 k, reward i + 1000 k, next_obs obs + 1."""
    k = np.arange(buffer.members)[:, None] * 1000.0
    for i in range(start, start + n):
        value = i + k
        buffer.add(
            np.repeat(value, 3, axis=1).astype(np.float32),
            value.astype(np.float32),
            value[:, 0],
            np.repeat(value + 1, 3, axis=1).astype(np.float32),
            np.full(buffer.members, i % 2 == 0),
        )


def _rngs(*seeds: int) -> list[np.random.Generator]:
    return [np.random.default_rng(s) for s in seeds]


def test_sample_returns_a_typed_batch_per_learner_from_its_own_rows() -> None:
    buffer = ReplayBuffer(2, 10, obs_dim=3, act_dim=1)
    _fill(buffer, 5)
    batch = buffer.sample(8, _rngs(0, 1))
    assert isinstance(batch, Batch)
    assert batch.obs.shape == (2, 8, 3) and batch.next_obs.shape == (2, 8, 3)
    assert batch.action_nm.shape == (2, 8, 1)
    assert batch.reward.shape == (2, 8) and batch.terminated.shape == (2, 8)
    assert all(a.dtype == np.float32 for a in batch)
    # rows stay consistent: transition i has obs i, reward i, next_obs i + 1
    np.testing.assert_array_equal(batch.obs[..., 0], batch.reward)
    np.testing.assert_array_equal(batch.next_obs[..., 0], batch.reward + 1)
    assert set(batch.reward[1].tolist()) <= {1000.0 + i for i in range(5)}
    # learner k draws with rngs[k] what a buffer of its own would
    for k, seed in enumerate((0, 1)):
        alone = ReplayBuffer(1, 10, obs_dim=3, act_dim=1)
        _fill(alone, 5)
        expected = alone.sample(8, _rngs(seed)).reward[0] + 1000.0 * k
        np.testing.assert_array_equal(batch.reward[k], expected)


def test_full_buffer_overwrites_oldest_first() -> None:
    buffer = ReplayBuffer(1, 4, obs_dim=3, act_dim=1)
    _fill(buffer, 6)
    assert len(buffer) == 4
    assert sorted(buffer.reward[0].tolist()) == [2.0, 3.0, 4.0, 5.0]
    batch = buffer.sample(200, _rngs(1))
    assert set(batch.reward[0].tolist()) == {2.0, 3.0, 4.0, 5.0}


def test_sampling_only_sees_filled_rows_and_is_seeded() -> None:
    buffer = ReplayBuffer(1, 100, obs_dim=3, act_dim=1)
    _fill(buffer, 3)
    a = buffer.sample(50, _rngs(5))
    b = buffer.sample(50, _rngs(5))
    assert set(a.reward[0].tolist()) <= {0.0, 1.0, 2.0}
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x, y)


def test_empty_buffer_refuses_to_sample() -> None:
    with pytest.raises(ValueError, match="empty"):
        ReplayBuffer(1, 4, 3, 1).sample(1, _rngs(0))


def test_state_dict_round_trip_continues_identically() -> None:
    original = ReplayBuffer(3, 6, obs_dim=3, act_dim=1)
    _fill(original, 8)
    copy = ReplayBuffer(3, 6, obs_dim=3, act_dim=1)
    copy.load_state_dict(original.state_dict())
    _fill(original, 3, start=100)
    _fill(copy, 3, start=100)
    for x, y in zip(
        original.sample(20, _rngs(2, 3, 4)), copy.sample(20, _rngs(2, 3, 4)), strict=True
    ):
        np.testing.assert_array_equal(x, y)


def test_a_state_of_another_capacity_is_refused() -> None:
    small = ReplayBuffer(1, 4, obs_dim=3, act_dim=1)
    _fill(small, 2)
    with pytest.raises(CheckpointError, match="buffer_size 8"):
        ReplayBuffer(1, 8, obs_dim=3, act_dim=1).load_state_dict(small.state_dict())
