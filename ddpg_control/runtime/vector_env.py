"""N environments stepped as one: the contract between batched environments and the trainer.

:class:`VectorEnv` is what the trainer (``ddpg_control.learning.trainer``) steps: ``n`` copies
of one environment, each reset with its own seed, all stepped with one call. The caller
provides it (learning builds no environment of its own): a vectorised implementation
where one exists (``sim.pendulum_v1`` for Gymnasium's ``Pendulum-v1``, numpy over all
``n`` at once), else :class:`EnvList`, which steps ``n`` ordinary Gymnasium environments in a
loop. Episodes never reset automatically: the caller resets a finished copy with its next seed.
Torch-free.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, NamedTuple, Protocol

import numpy as np


class VectorStep(NamedTuple):
    """One step of ``n`` copies; row i is copy i (zeros for copies not stepped)."""

    obs: np.ndarray  # (n, obs_dim) float32
    reward: np.ndarray  # (n,) float64
    terminated: np.ndarray  # (n,) bool
    truncated: np.ndarray  # (n,) bool


#: A Gymnasium ``reset(options=...)`` mapping; the trainer passes Pendulum-v1's ``x_init``
#: and ``y_init`` (the start draw's half-widths), which the PyBullet pendulum takes too.
ResetOptions = dict[str, float]
#: Each reset copy's options (None: the environment's own start distribution).
EachOptions = Sequence[ResetOptions | None] | None


class VectorEnv(Protocol):
    """``num_envs`` copies of one environment (Gymnasium's single-env spaces)."""

    num_envs: int
    observation_space: Any
    action_space: Any

    def reset(
        self, seeds: Sequence[int], indices: Sequence[int], options: EachOptions = None
    ) -> np.ndarray:
        """Start a new episode in copy ``indices[j]`` from ``reset(seed=seeds[j],
        options=options[j])``; returns their first observations, ``(len(indices), obs_dim)``
        float32."""
        ...

    def step(self, actions: np.ndarray, active: np.ndarray | None = None) -> VectorStep:
        """Apply ``actions`` ``(num_envs, act_dim)`` float32 (N*m) to every copy, or only to
        those where ``active`` is true (the others' rows are then undefined)."""
        ...

    def close(self) -> None: ...


#: ``n`` -> a :class:`VectorEnv` of ``n`` copies.
VectorEnvFactory = Callable[[int], VectorEnv]


class EnvList:
    """:class:`VectorEnv` over ordinary Gymnasium environments, stepped one after the other."""

    def __init__(self, envs: Sequence[Any]) -> None:
        if not envs:
            raise ValueError("EnvList needs at least one environment")
        self.envs = list(envs)
        self.num_envs = len(self.envs)
        self.observation_space = self.envs[0].observation_space
        self.action_space = self.envs[0].action_space
        self._obs_dim = int(np.prod(self.observation_space.shape))

    @classmethod
    def of(cls, env_factory: Callable[[], Any], n: int) -> EnvList:
        return cls([env_factory() for _ in range(n)])

    def reset(
        self, seeds: Sequence[int], indices: Sequence[int], options: EachOptions = None
    ) -> np.ndarray:
        each = [None] * len(indices) if options is None else list(options)
        chosen = zip(seeds, indices, each, strict=True)
        obs = [self.envs[i].reset(seed=int(s), options=o)[0] for s, i, o in chosen]
        return np.stack([np.asarray(o, dtype=np.float32).reshape(-1) for o in obs])

    def step(self, actions: np.ndarray, active: np.ndarray | None = None) -> VectorStep:
        n = self.num_envs
        out = VectorStep(
            np.zeros((n, self._obs_dim), dtype=np.float32),
            np.zeros(n),
            np.zeros(n, dtype=bool),
            np.zeros(n, dtype=bool),
        )
        shape = self.action_space.shape
        for i, env in enumerate(self.envs):
            if active is not None and not active[i]:
                continue
            obs, reward, terminated, truncated, _ = env.step(actions[i].reshape(shape))
            out.obs[i] = np.asarray(obs, dtype=np.float32).reshape(-1)
            out.reward[i] = float(reward)
            out.terminated[i] = bool(terminated)
            out.truncated[i] = bool(truncated)
        return out

    def close(self) -> None:
        for env in self.envs:
            env.close()
