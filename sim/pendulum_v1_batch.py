"""Gymnasium's ``Pendulum-v1``, ``n`` copies stepped at once with numpy.

The same equations, constants, start-state draw and 200-step time limit as
``gymnasium.make("Pendulum-v1")``, in the same float64/float32 arithmetic, so copy i behaves as
one such environment reset with the same seed (``tests/sim/test_pendulum_v1_batch.py`` compares
them step by step). Population training and its evaluations step K to K x 100 copies with one
call instead of one Python call per copy and step: that per-copy call, not the pendulum's
arithmetic, was what grew with the population.

It implements ``ddpg_control.runtime.vector_env.VectorEnv`` (structurally).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
from gymnasium import spaces
from gymnasium.utils import seeding

from ddpg_control.runtime.contracts import PENDULUM_V1_MAX_SPEED_RAD_S

MAX_TORQUE = 2.0
DT = 0.05
GRAVITY = 10.0
MASS = 1.0
LENGTH = 1.0
#: ``gymnasium.make``'s TimeLimit for Pendulum-v1.
MAX_EPISODE_STEPS = 200
#: The start state is drawn uniformly from [-high, high]: angle (rad), velocity (rad/s).
START_HIGH = np.array([np.pi, 1.0])


class BatchStep(NamedTuple):
    obs: np.ndarray  # (n, 3) float32: cos, sin, angular velocity
    reward: np.ndarray  # (n,) float64
    terminated: np.ndarray  # (n,) bool, always false (the pendulum never terminates)
    truncated: np.ndarray  # (n,) bool, true at the last step of an episode (the 200th)


def angle_normalize(x: np.ndarray) -> np.ndarray:
    return ((x + np.pi) % (2 * np.pi)) - np.pi


class PendulumV1Batch:
    """``num_envs`` independent ``Pendulum-v1`` copies (state in float64, as Gymnasium's),
    truncated after ``max_episode_steps`` (``gymnasium.make``'s ``max_episode_steps``)."""

    def __init__(self, num_envs: int, max_episode_steps: int = MAX_EPISODE_STEPS) -> None:
        if num_envs < 1:
            raise ValueError(f"num_envs must be >= 1, got {num_envs}")
        if max_episode_steps < 1:
            raise ValueError(f"max_episode_steps must be >= 1, got {max_episode_steps}")
        self.num_envs = num_envs
        self.max_episode_steps = max_episode_steps
        self.dt = DT
        self.max_torque = MAX_TORQUE
        high = np.array([1.0, 1.0, PENDULUM_V1_MAX_SPEED_RAD_S], dtype=np.float32)
        self.observation_space = spaces.Box(low=-high, high=high, dtype=np.float32)
        self.action_space = spaces.Box(
            low=-MAX_TORQUE, high=MAX_TORQUE, shape=(1,), dtype=np.float32
        )
        self.theta = np.zeros(num_envs)
        self.theta_dot = np.zeros(num_envs)
        self.elapsed = np.zeros(num_envs, dtype=np.int64)

    def reset(
        self,
        seeds: Sequence[int],
        indices: Sequence[int],
        options: Sequence[dict[str, float] | None] | None = None,
    ) -> np.ndarray:
        """Copy ``indices[j]`` starts as ``Pendulum-v1``'s ``reset(seed=seeds[j],
        options=options[j])`` does (``x_init``/``y_init``: the start draw's half-widths)."""
        index = np.asarray(indices, dtype=np.int64)
        each = [None] * len(index) if options is None else list(options)
        for i, seed, option in zip(index, seeds, each, strict=True):
            generator, _ = seeding.np_random(int(seed))
            high = START_HIGH
            if option:
                high = np.array(
                    [option.get("x_init", START_HIGH[0]), option.get("y_init", START_HIGH[1])]
                )
            self.theta[i], self.theta_dot[i] = generator.uniform(low=-high, high=high)
        self.elapsed[index] = 0
        return self._obs(index)

    def step(self, actions: np.ndarray, active: np.ndarray | None = None) -> BatchStep:
        """Every copy steps (``active`` is accepted for the VectorEnv protocol; stepping a
        finished copy is cheaper than skipping it here)."""
        u = np.clip(np.asarray(actions, dtype=np.float32).reshape(self.num_envs), -2.0, 2.0)
        th, th_dot = self.theta, self.theta_dot
        costs = angle_normalize(th) ** 2 + 0.1 * th_dot**2 + 0.001 * (u**2)
        gravity = 3 * GRAVITY / (2 * LENGTH) * np.sin(th)
        new_th_dot = th_dot + (gravity + 3.0 / (MASS * LENGTH**2) * u) * DT
        new_th_dot = np.clip(new_th_dot, -PENDULUM_V1_MAX_SPEED_RAD_S, PENDULUM_V1_MAX_SPEED_RAD_S)
        self.theta = th + new_th_dot * DT
        self.theta_dot = new_th_dot
        self.elapsed += 1
        truncated = self.elapsed >= self.max_episode_steps
        return BatchStep(self._obs(), -costs, np.zeros(self.num_envs, dtype=bool), truncated)

    def _obs(self, index: np.ndarray | None = None) -> np.ndarray:
        th = self.theta if index is None else self.theta[index]
        th_dot = self.theta_dot if index is None else self.theta_dot[index]
        return np.stack([np.cos(th), np.sin(th), th_dot], axis=-1).astype(np.float32)

    def close(self) -> None:
        pass


__all__ = ["PendulumV1Batch"]
