"""Gymnasium's ``Pendulum-v1``, batched in numpy: its dynamics, reward and start states, and
:class:`PendulumV1Batch`, ``n`` copies of the environment stepped with one call.

Many episodes step in lockstep, each exactly as ``gymnasium.make("Pendulum-v1")`` steps it
(float64 state, torque clipped to 2 N*m, velocity clipped to 8 rad/s, the reward computed on the
state before the step, 200 steps; ``tests/sim/test_pendulum_v1.py`` compares them step by step).
Here theta = 0 is upright, as in the env and the project. :func:`start_state` draws what
``env.reset(seed=...)`` draws. Torch-free, and gymnasium is imported only by
:class:`PendulumV1Batch` (for its spaces): the optimum and regret of ``ddpg_control.pipeline``
use the functions on the robot's path.

Population training and its evaluations step K to K x 100 copies of :class:`PendulumV1Batch`
with one call instead of one Python call per copy and step: that per-copy call, not the
pendulum's arithmetic, was what grew with the population. It implements
``ddpg_control.runtime.vector_env.VectorEnv`` (structurally).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt

from ddpg_control.runtime.contracts import PENDULUM_V1_MAX_SPEED_RAD_S

GRAVITY_M_S2 = 10.0
MASS_KG = 1.0
LENGTH_M = 1.0
PERIOD_S = 0.05
MAX_SPEED_RAD_S = PENDULUM_V1_MAX_SPEED_RAD_S
MAX_TORQUE_NM = 2.0
EPISODE_STEPS = 200
#: ``reset()`` draws theta uniformly in [-pi, pi] and theta_dot in [-1, 1] rad/s (its options
#: ``x_init`` and ``y_init`` change these half-widths).
START_ANGLE_RAD = np.pi
START_VELOCITY_RAD_S = 1.0

Array = npt.NDArray[np.float64]
#: Torques: float32 (a policy's, stepped in float32 arithmetic where the env's are) or float64.
Torques = npt.NDArray[np.floating[Any]]
#: A batched controller: observations [N, 3] float32 in, torques [N] (N*m) out.
BatchController = Callable[[npt.NDArray[np.float32]], npt.ArrayLike]


def normalize_angle(angle_rad: npt.ArrayLike) -> Array:
    """Wrap to [-pi, pi), as the env's ``angle_normalize``."""
    return np.asarray(((np.asarray(angle_rad) + np.pi) % (2 * np.pi)) - np.pi, dtype=np.float64)


def reward(angle_rad: Array, velocity_rad_s: Array, torque_nm: Torques) -> Array:
    """The env's reward for one step from (angle, velocity) with a clipped torque."""
    return -(normalize_angle(angle_rad) ** 2 + 0.1 * velocity_rad_s**2 + 0.001 * torque_nm**2)


def step(angle_rad: Array, velocity_rad_s: Array, torque_nm: Torques) -> tuple[Array, Array, Array]:
    """One step of every episode: (next angle, next velocity, reward). The torque is clipped.

    A float32 torque is used in float32 arithmetic where the env's is (numpy's promotion rules),
    so the result is bit for bit the env's."""
    torque = np.clip(torque_nm, -MAX_TORQUE_NM, MAX_TORQUE_NM)
    gain = 3.0 * GRAVITY_M_S2 / (2.0 * LENGTH_M)
    velocity = (
        velocity_rad_s
        + (gain * np.sin(angle_rad) + 3.0 / (MASS_KG * LENGTH_M**2) * torque) * PERIOD_S
    )
    velocity = np.clip(velocity, -MAX_SPEED_RAD_S, MAX_SPEED_RAD_S)
    return angle_rad + velocity * PERIOD_S, velocity, reward(angle_rad, velocity_rad_s, torque)


def observations(angle_rad: Array, velocity_rad_s: Array) -> npt.NDArray[np.float32]:
    """``[cos theta, sin theta, theta_dot]`` float32 per episode, as the env observes."""
    return np.stack(
        [np.cos(angle_rad), np.sin(angle_rad), velocity_rad_s], axis=-1, dtype=np.float32
    )


def start_state(seed: int, options: dict[str, float] | None = None) -> tuple[float, float]:
    """(angle, velocity) of ``env.reset(seed=seed, options=options)``."""
    options = options or {}
    high = np.array(
        [options.get("x_init", START_ANGLE_RAD), options.get("y_init", START_VELOCITY_RAD_S)]
    )
    generator = np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed)))
    angle, velocity = generator.uniform(-high, high)
    return float(angle), float(velocity)


def start_states(count: int, seed: int) -> tuple[Array, Array]:
    """(angles, velocities) of ``env.reset(seed=seed + i)`` for i in range(count)."""
    if count < 1:
        raise ValueError(f"count must be at least 1, got {count}")
    states = np.array([start_state(seed + i) for i in range(count)])
    return states[:, 0].copy(), states[:, 1].copy()


@dataclass(frozen=True)
class Trajectories:
    """Episodes run in lockstep: row n is episode n, column k the state before step k."""

    angles_rad: Array  # [N, T], as the env holds them (not wrapped)
    velocities_rad_s: Array  # [N, T]
    torques_nm: Array  # [N, T], clipped as applied
    rewards: Array  # [N, T]

    @property
    def returns(self) -> Array:
        return np.asarray(self.rewards.sum(axis=1), dtype=np.float64)


def rollout(
    controller: BatchController,
    angle_rad: Array,
    velocity_rad_s: Array,
    steps: int = EPISODE_STEPS,
) -> Trajectories:
    """Run ``controller`` from each start for ``steps`` steps; non-finite torques raise."""
    n = len(angle_rad)
    shape = (n, steps)
    angles, velocities, torques, rewards = (np.empty(shape) for _ in range(4))
    angle = np.asarray(angle_rad, dtype=np.float64).copy()
    velocity = np.asarray(velocity_rad_s, dtype=np.float64).copy()
    for k in range(steps):
        torque = np.asarray(controller(observations(angle, velocity))).reshape(n)
        if torque.dtype != np.float32:  # float32 torques step in float32 arithmetic, as the env
            torque = torque.astype(np.float64)
        if not np.all(np.isfinite(torque)):
            raise ValueError(f"the controller gave a non-finite torque at step {k}")
        angles[:, k], velocities[:, k] = angle, velocity
        torques[:, k] = np.clip(torque, -MAX_TORQUE_NM, MAX_TORQUE_NM)
        angle, velocity, rewards[:, k] = step(angle, velocity, torque)
    return Trajectories(angles, velocities, torques, rewards)


def per_observation(controller: Callable[[npt.NDArray[np.float32]], float]) -> BatchController:
    """A batched controller from one that takes one observation at a time (e.g. the classical
    controller): called once per row."""

    def batched(obs: npt.NDArray[np.float32]) -> npt.NDArray[np.float64]:
        return np.array([controller(row) for row in obs], dtype=np.float64)

    return batched


class BatchStep(NamedTuple):
    obs: npt.NDArray[np.float32]  # (n, 3): cos, sin, angular velocity
    reward: Array  # (n,)
    terminated: npt.NDArray[np.bool_]  # (n,), always false (the pendulum never terminates)
    truncated: npt.NDArray[np.bool_]  # (n,), true at the last step of an episode (the 200th)


class PendulumV1Batch:
    """``num_envs`` independent ``Pendulum-v1`` copies (state in float64, as Gymnasium's),
    truncated after ``max_episode_steps`` (``gymnasium.make``'s ``max_episode_steps``)."""

    def __init__(self, num_envs: int, max_episode_steps: int = EPISODE_STEPS) -> None:
        from gymnasium import spaces

        if num_envs < 1:
            raise ValueError(f"num_envs must be >= 1, got {num_envs}")
        if max_episode_steps < 1:
            raise ValueError(f"max_episode_steps must be >= 1, got {max_episode_steps}")
        self.num_envs = num_envs
        self.max_episode_steps = max_episode_steps
        self.dt = PERIOD_S
        self.max_torque = MAX_TORQUE_NM
        high = np.array([1.0, 1.0, MAX_SPEED_RAD_S], dtype=np.float32)
        self.observation_space: Any = spaces.Box(low=-high, high=high, dtype=np.float32)
        self.action_space: Any = spaces.Box(
            low=-MAX_TORQUE_NM, high=MAX_TORQUE_NM, shape=(1,), dtype=np.float32
        )
        self.theta = np.zeros(num_envs)
        self.theta_dot = np.zeros(num_envs)
        self.elapsed = np.zeros(num_envs, dtype=np.int64)

    def reset(
        self,
        seeds: Sequence[int],
        indices: Sequence[int],
        options: Sequence[dict[str, float] | None] | None = None,
    ) -> npt.NDArray[np.float32]:
        """Copy ``indices[j]`` starts as ``Pendulum-v1``'s ``reset(seed=seeds[j],
        options=options[j])`` does (``x_init``/``y_init``: the start draw's half-widths)."""
        index = np.asarray(indices, dtype=np.int64)
        each = [None] * len(index) if options is None else list(options)
        for i, seed, option in zip(index, seeds, each, strict=True):
            self.theta[i], self.theta_dot[i] = start_state(int(seed), option)
        self.elapsed[index] = 0
        return observations(self.theta[index], self.theta_dot[index])

    def step(self, actions: npt.ArrayLike, active: npt.ArrayLike | None = None) -> BatchStep:
        """Every copy steps (``active`` is accepted for the VectorEnv protocol; stepping a
        finished copy is cheaper than skipping it here)."""
        torque = np.asarray(actions, dtype=np.float32).reshape(self.num_envs)
        self.theta, self.theta_dot, rewards = step(self.theta, self.theta_dot, torque)
        self.elapsed += 1
        truncated = self.elapsed >= self.max_episode_steps
        obs = observations(self.theta, self.theta_dot)
        return BatchStep(obs, rewards, np.zeros(self.num_envs, dtype=bool), truncated)

    def close(self) -> None:
        pass
