"""Experience replay: preallocated numpy arrays, fixed capacity, uniform sampling. Torch-free."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np

from ddpg_control.runtime.errors import CheckpointError


class Batch(NamedTuple):
    """A minibatch of transitions; row i of each array is one transition."""

    obs: np.ndarray  # (n, obs_dim) float32
    action_nm: np.ndarray  # (n, act_dim) float32, torque in N*m as applied
    reward: np.ndarray  # (n,) float32
    next_obs: np.ndarray  # (n, obs_dim) float32
    terminated: np.ndarray  # (n,) float32, 1.0 only for true terminal states (not time limits)


class ReplayBuffer:
    """A ring buffer of transitions. When full, the oldest transition is overwritten."""

    def __init__(self, capacity: int, obs_dim: int, act_dim: int) -> None:
        if capacity <= 0:
            raise ValueError(f"capacity must be positive, got {capacity}")
        self.capacity = capacity
        self.obs = np.zeros((capacity, obs_dim), dtype=np.float32)
        self.action_nm = np.zeros((capacity, act_dim), dtype=np.float32)
        self.reward = np.zeros(capacity, dtype=np.float32)
        self.next_obs = np.zeros((capacity, obs_dim), dtype=np.float32)
        self.terminated = np.zeros(capacity, dtype=np.float32)
        self._next = 0
        self._size = 0

    def __len__(self) -> int:
        return self._size

    def add(
        self,
        obs: np.ndarray,
        action_nm: np.ndarray,
        reward: float,
        next_obs: np.ndarray,
        terminated: bool,
    ) -> None:
        i = self._next
        self.obs[i] = obs
        self.action_nm[i] = action_nm
        self.reward[i] = reward
        self.next_obs[i] = next_obs
        self.terminated[i] = float(terminated)
        self._next = (i + 1) % self.capacity
        self._size = min(self._size + 1, self.capacity)

    def sample(self, batch_size: int, rng: np.random.Generator) -> Batch:
        """``batch_size`` transitions drawn uniformly, with replacement."""
        if self._size == 0:
            raise ValueError("cannot sample from an empty replay buffer")
        idx = rng.integers(0, self._size, size=batch_size)
        return Batch(
            self.obs[idx],
            self.action_nm[idx],
            self.reward[idx],
            self.next_obs[idx],
            self.terminated[idx],
        )

    def state_dict(self) -> dict[str, Any]:
        """The stored transitions (only the filled part) and the write position."""
        n = self._size
        return {
            "capacity": self.capacity,
            "next": self._next,
            "size": n,
            "obs": self.obs[:n].copy(),
            "action_nm": self.action_nm[:n].copy(),
            "reward": self.reward[:n].copy(),
            "next_obs": self.next_obs[:n].copy(),
            "terminated": self.terminated[:n].copy(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        n = int(state["size"])
        if int(state["capacity"]) != self.capacity or n > self.capacity:
            raise CheckpointError(
                f"replay buffer capacity {state['capacity']} in the checkpoint does not match "
                f"buffer_size {self.capacity}; resume with the run's own config"
            )
        for name in ("obs", "action_nm", "reward", "next_obs", "terminated"):
            getattr(self, name)[:n] = np.asarray(state[name])
        self._size = n
        self._next = int(state["next"])


class StackedReplay:
    """K replay buffers of one capacity, filled in lockstep (one transition per member per
    step), as arrays ``[K, capacity, ...]``: a step's K transitions are one write, and K
    minibatches one gather. Member k samples with its own generator, drawing exactly what
    :meth:`ReplayBuffer.sample` draws, and saves and loads as a :class:`ReplayBuffer`."""

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
        """One transition per member: row k of each argument is member k's."""
        i = self._next
        self.obs[:, i] = obs
        self.action_nm[:, i] = action_nm
        self.reward[:, i] = reward
        self.next_obs[:, i] = next_obs
        self.terminated[:, i] = terminated
        self._next = (i + 1) % self.capacity
        self._size = min(self._size + 1, self.capacity)

    def sample(self, batch_size: int, rngs: Sequence[np.random.Generator]) -> Batch:
        """Member k's ``batch_size`` transitions drawn with ``rngs[k]``; arrays ``[K, batch,
        ...]``."""
        if self._size == 0:
            raise ValueError("cannot sample from an empty replay buffer")
        idx = np.stack([rng.integers(0, self._size, size=batch_size) for rng in rngs])
        flat = (idx + self._row_start).ravel()  # np.take on flat rows: ~5x faster than [k, idx]
        k = self.members

        def take(array: np.ndarray) -> np.ndarray:
            rows = array.reshape(k * self.capacity, -1).take(flat, axis=0)
            return rows.reshape(k, batch_size, *array.shape[2:])

        return Batch(
            take(self.obs),
            take(self.action_nm),
            take(self.reward),
            take(self.next_obs),
            take(self.terminated),
        )

    def member(self, k: int) -> ReplayBuffer:
        """Member k's buffer as a :class:`ReplayBuffer` sharing these arrays (views)."""
        buffer = ReplayBuffer.__new__(ReplayBuffer)
        buffer.capacity = self.capacity
        buffer.obs = self.obs[k]
        buffer.action_nm = self.action_nm[k]
        buffer.reward = self.reward[k]
        buffer.next_obs = self.next_obs[k]
        buffer.terminated = self.terminated[k]
        buffer._next = self._next
        buffer._size = self._size
        return buffer

    def state_dict(self, k: int) -> dict[str, Any]:
        """Member k's :meth:`ReplayBuffer.state_dict`."""
        return self.member(k).state_dict()

    def load_state_dict(self, k: int, state: dict[str, Any]) -> None:
        """Member k from a :meth:`ReplayBuffer.state_dict`; every member must be at the same
        fill (they fill in lockstep)."""
        buffer = self.member(k)
        buffer.load_state_dict(state)
        if k > 0 and (buffer._size, buffer._next) != (self._size, self._next):
            raise CheckpointError(
                f"member {k}'s replay buffer holds {buffer._size} transitions, member 0's "
                f"{self._size}: the members of a population fill theirs in lockstep"
            )
        self._size, self._next = buffer._size, buffer._next
