"""Experience replay for K learners: preallocated numpy arrays, fixed capacity, uniform
sampling. Torch-free."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np

from ddpg_control.runtime.errors import CheckpointError

_FIELDS = ("obs", "action_nm", "reward", "next_obs", "terminated")


class Batch(NamedTuple):
    """Minibatches of transitions, ``[K, n, ...]`` (or ``[n, ...]`` for one learner): row i of
    a learner's arrays is one transition."""

    obs: np.ndarray  # (K, n, obs_dim) float32
    action_nm: np.ndarray  # (K, n, act_dim) float32, torque in N*m as applied
    reward: np.ndarray  # (K, n) float32
    next_obs: np.ndarray  # (K, n, obs_dim) float32
    terminated: np.ndarray  # (K, n) float32, 1.0 only for true terminal states (not time limits)


class ReplayBuffer:
    """K ring buffers of one capacity, filled in lockstep (one transition per learner per step),
    as arrays ``[K, capacity, ...]``: a step's K transitions are one write, and K minibatches one
    gather. When full, the oldest transitions are overwritten."""

    def __init__(self, members: int, capacity: int, obs_dim: int, act_dim: int) -> None:
        if capacity <= 0:
            raise ValueError(f"capacity must be positive, got {capacity}")
        self.members = members
        self.capacity = capacity
        self.obs = np.zeros((members, capacity, obs_dim), dtype=np.float32)
        self.action_nm = np.zeros((members, capacity, act_dim), dtype=np.float32)
        self.reward = np.zeros((members, capacity), dtype=np.float32)
        self.next_obs = np.zeros((members, capacity, obs_dim), dtype=np.float32)
        self.terminated = np.zeros((members, capacity), dtype=np.float32)
        #: Row k's first slot in the arrays flattened over (member, slot).
        self._row_start = np.arange(members)[:, None] * capacity
        self._next = 0
        self._size = 0

    def __len__(self) -> int:
        return self._size

    def add(
        self,
        obs: np.ndarray,
        action_nm: np.ndarray,
        reward: np.ndarray,
        next_obs: np.ndarray,
        terminated: np.ndarray,
    ) -> None:
        """One transition per learner: row k of each argument is learner k's."""
        i = self._next
        self.obs[:, i] = obs
        self.action_nm[:, i] = action_nm
        self.reward[:, i] = reward
        self.next_obs[:, i] = next_obs
        self.terminated[:, i] = terminated
        self._next = (i + 1) % self.capacity
        self._size = min(self._size + 1, self.capacity)

    def sample(self, batch_size: int, rngs: Sequence[np.random.Generator]) -> Batch:
        """Learner k's ``batch_size`` transitions drawn uniformly, with replacement, with
        ``rngs[k]``; arrays ``[K, batch, ...]``."""
        if self._size == 0:
            raise ValueError("cannot sample from an empty replay buffer")
        idx = np.stack([rng.integers(0, self._size, size=batch_size) for rng in rngs])
        flat = (idx + self._row_start).ravel()  # np.take on flat rows: ~5x faster than [k, idx]
        k = self.members

        def take(array: np.ndarray) -> np.ndarray:
            rows = array.reshape(k * self.capacity, -1).take(flat, axis=0)
            return rows.reshape(k, batch_size, *array.shape[2:])

        return Batch(*(take(getattr(self, name)) for name in _FIELDS))

    def state_dict(self) -> dict[str, Any]:
        """The stored transitions (only the filled part) and the write position."""
        n = self._size
        state: dict[str, Any] = {"capacity": self.capacity, "next": self._next, "size": n}
        for name in _FIELDS:
            state[name] = getattr(self, name)[:, :n].copy()
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        n = int(state["size"])
        if int(state["capacity"]) != self.capacity or n > self.capacity:
            raise CheckpointError(
                f"replay buffer capacity {state['capacity']} in the checkpoint does not match "
                f"buffer_size {self.capacity}; resume with the run's own config"
            )
        for name in _FIELDS:
            getattr(self, name)[:, :n] = np.asarray(state[name])
        self._size = n
        self._next = int(state["next"])
