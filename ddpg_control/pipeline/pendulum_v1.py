"""Gymnasium's ``Pendulum-v1``, batched in numpy: its dynamics, reward and start states.

Many episodes step in lockstep, each exactly as ``gymnasium.make("Pendulum-v1")`` steps it
(float64 state, torque clipped to 2 N*m, velocity clipped to 8 rad/s, the reward computed on the
state before the step, 200 steps). Here theta = 0 is upright, as in the env and the project.
Torch-free and gymnasium-free: :func:`start_states` draws what ``env.reset(seed=...)`` draws.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

GRAVITY_M_S2 = 10.0
MASS_KG = 1.0
LENGTH_M = 1.0
PERIOD_S = 0.05
MAX_SPEED_RAD_S = 8.0
MAX_TORQUE_NM = 2.0
EPISODE_STEPS = 200
#: ``reset()`` draws theta uniformly in [-pi, pi] and theta_dot in [-1, 1] rad/s.
START_VELOCITY_RAD_S = 1.0

Array = npt.NDArray[np.float64]
#: A batched controller: observations [N, 3] float32 in, torques [N] (N*m) out.
BatchController = Callable[[npt.NDArray[np.float32]], npt.ArrayLike]


def normalize_angle(angle_rad: npt.ArrayLike) -> Array:
    """Wrap to [-pi, pi), as the env's ``angle_normalize``."""
    return np.asarray(((np.asarray(angle_rad) + np.pi) % (2 * np.pi)) - np.pi, dtype=np.float64)


def reward(angle_rad: Array, velocity_rad_s: Array, torque_nm: Array) -> Array:
    """The env's reward for one step from (angle, velocity) with a clipped torque."""
    return -(normalize_angle(angle_rad) ** 2 + 0.1 * velocity_rad_s**2 + 0.001 * torque_nm**2)


def step(angle_rad: Array, velocity_rad_s: Array, torque_nm: Array) -> tuple[Array, Array, Array]:
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


def start_states(count: int, seed: int) -> tuple[Array, Array]:
    """(angles, velocities) of ``env.reset(seed=seed + i)`` for i in range(count)."""
    if count < 1:
        raise ValueError(f"count must be at least 1, got {count}")
    high = np.array([np.pi, START_VELOCITY_RAD_S])
    states = np.array(
        [
            np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed + i))).uniform(
                -high, high
            )
            for i in range(count)
        ]
    )
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
