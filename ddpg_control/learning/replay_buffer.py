"""Experience replay: preallocated numpy arrays, fixed capacity, uniform sampling. Torch-free."""

from __future__ import annotations

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
