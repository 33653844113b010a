"""Gymnasium pendulum environments on PyBullet, and the real-time simulated plant.

Importing this package registers ``PyBulletPendulum-v0`` (10 s episodes at any control period:
200 steps at the default 20 Hz, as Pendulum-v1)::

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

if PYBULLET_ENV_ID not in gym.registry:
    # No TimeLimit: the env ends its episodes after ``episode_s`` seconds, which is a step
    # count only once the rig's control period is known.
    gym.register(id=PYBULLET_ENV_ID, entry_point="sim.pendulum_env:PyBulletPendulumEnv")

__all__ = [
    "PYBULLET_ENV_ID",
    "PRESETS",
    "PendulumParams",
    "RandomizationRanges",
    "SimConfigError",
    "preset",
]
