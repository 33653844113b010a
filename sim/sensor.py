"""What the controller sees of the joint: measurement delay, noise, encoder quantisation, and
whether the device reports a velocity at all.

Shared by the Gymnasium env and :class:`~sim.plant.SimPlant` (and so the device emulator). Off
when the parameters in :class:`~sim.params.PendulumParams` are zero (and ``reports_velocity``
true): the reading is then the simulated state itself.
"""

from __future__ import annotations

import collections
import math

import numpy as np

from sim.params import PendulumParams

#: What a plant that reports no velocity puts in the velocity field: not a number, so a
#: controller that uses it anyway stops at once (the safety layer refuses non-finite readings).
NO_VELOCITY = math.nan


def quantize_angle(angle_rad: float, counts_per_rev: int) -> float:
    """The angle an encoder with ``counts_per_rev`` counts reads: the nearest whole count
    (``counts_per_rev = 0``: continuous, unchanged)."""
    if counts_per_rev <= 0:
        return angle_rad
    count_rad = 2.0 * math.pi / counts_per_rev
    return round(angle_rad / count_rad) * count_rad


class DelayLine:
    """The joint state ``measurement_delay_s`` ago, in whole physics steps.

    :meth:`push` is called after every physics step; :meth:`delayed` returns the state from
    exactly ``delay_steps`` pushes earlier (the start state until that many steps have run).
    """

    def __init__(self, delay_steps: int) -> None:
        self.delay_steps = delay_steps
        self._states: collections.deque[tuple[float, float]] = collections.deque(
            maxlen=delay_steps + 1
        )

    def reset(self, angle_rad: float, velocity_rad_s: float) -> None:
        self._states.clear()
        self._states.extend([(angle_rad, velocity_rad_s)] * (self.delay_steps + 1))

    def push(self, angle_rad: float, velocity_rad_s: float) -> None:
        self._states.append((angle_rad, velocity_rad_s))

    def delayed(self) -> tuple[float, float]:
        return self._states[0]


def measure(
    angle_rad: float, velocity_rad_s: float, params: PendulumParams, rng: np.random.Generator
) -> tuple[float, float]:
    """A reading of a (possibly delayed) state: Gaussian noise, then the encoder's counts; the
    velocity is :data:`NO_VELOCITY` when the device reports none. Draws only for noise that is on
    (angle first, then velocity)."""
    if params.angle_noise_std_rad > 0.0:
        angle_rad += float(rng.normal(0.0, params.angle_noise_std_rad))
    if params.velocity_noise_std_rad_s > 0.0 and params.reports_velocity:
        velocity_rad_s += float(rng.normal(0.0, params.velocity_noise_std_rad_s))
    angle_rad = quantize_angle(angle_rad, params.encoder_counts_per_rev)
    return angle_rad, velocity_rad_s if params.reports_velocity else NO_VELOCITY
