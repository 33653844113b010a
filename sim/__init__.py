"""Gymnasium pendulum environments on PyBullet, and the real-time simulated plant.

Importing this package registers ``PyBulletPendulum-v0`` (200-step episodes, as Pendulum-v1)::

    import gymnasium as gym
    env = gym.make("sim:PyBulletPendulum-v0")                    # imports sim, then makes
    env = gym.make("sim:PyBulletPendulum-v0", preset="realistic", randomize=True)

The plant for the control loop is :class:`sim.plant.SimPlant`. This package imports numpy,
gymnasium, pybullet and pillow, never torch.
"""

from __future__ import annotations

import gymnasium as gym

from sim.params import PRESETS, PendulumParams, RandomizationRanges, SimConfigError, preset

PYBULLET_ENV_ID = "PyBulletPendulum-v0"
MAX_EPISODE_STEPS = 200

if PYBULLET_ENV_ID not in gym.registry:
    gym.register(
        id=PYBULLET_ENV_ID,
        entry_point="sim.pendulum_env:PyBulletPendulumEnv",
        max_episode_steps=MAX_EPISODE_STEPS,
    )

__all__ = [
    "PYBULLET_ENV_ID",
    "MAX_EPISODE_STEPS",
    "PRESETS",
    "PendulumParams",
    "RandomizationRanges",
    "SimConfigError",
    "preset",
]
