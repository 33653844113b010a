"""The torque path from a command to the joint: noise, first-order response, random pushes.

Each model is off when its parameter in :class:`~sim.params.PendulumParams` is zero, and then
passes torques through unchanged (the default preset stays exactly Pendulum-v1). They run once
per physics step inside :class:`~sim.bullet_pendulum.PendulumBody`, after the command latency
line, so the Gymnasium env, :class:`~sim.plant.SimPlant` and the device emulator share them.
Random draws come from the generator the owner passes in (the env's ``np_random``, the plant's
seeded generator).
"""

from __future__ import annotations

import math

import numpy as np

from sim.params import PendulumParams


def noisy_torque(torque_nm: float, params: PendulumParams, rng: np.random.Generator) -> float:
    """The command plus Gaussian torque noise (``torque_noise_std_nm``), drawn once per command
    and held with it (torque ripple and current-sense error); no draw when the noise is off.
    A zero command (a stop) stays exactly zero: a driver told to stop drives no current."""
    if params.torque_noise_std_nm <= 0.0 or torque_nm == 0.0:
        return torque_nm
    return torque_nm + float(rng.normal(0.0, params.torque_noise_std_nm))


def lag_gain(time_constant_s: float, dt_s: float) -> float:
    """The per-step gain ``k`` of ``tau_t = tau_{t-1} + k (tau_cmd - tau_{t-1})`` that makes the
    step response ``1 - exp(-t / T)`` exact at every step (1 when the lag is off)."""
    if time_constant_s <= 0.0:
        return 1.0
    return 1.0 - math.exp(-dt_s / time_constant_s)


class MotorResponse:
    """First-order torque response: the torque produced follows the command with time constant
    ``motor_time_constant_s`` (a motor's electrical L/R, or its driver's current loop)."""

    def __init__(self, params: PendulumParams) -> None:
        self._gain = lag_gain(params.motor_time_constant_s, params.physics_dt_s)
        self.torque_nm = 0.0

    def reset(self) -> None:
        """At rest: the motor produces no torque."""
        self.torque_nm = 0.0

    def step(self, command_nm: float) -> float:
        """The torque produced during the next physics step."""
        if self._gain == 1.0:
            self.torque_nm = command_nm
        else:
            self.torque_nm += self._gain * (command_nm - self.torque_nm)
        return self.torque_nm


class Pushes:
    """Random torque impulses on the link: each physics step a push of ``push_torque_nm`` (random
    sign) starts with probability ``push_rate_hz * dt`` and lasts ``push_duration_s``."""

    def __init__(self, params: PendulumParams) -> None:
        dt = params.physics_dt_s
        self._on = params.push_rate_hz > 0.0 and params.push_torque_nm > 0.0
        self._probability = min(1.0, params.push_rate_hz * dt)
        self._steps = max(1, round(params.push_duration_s / dt))
        self._torque_nm = params.push_torque_nm
        self._left = 0
        self._sign = 1.0
        self.count = 0

    def reset(self) -> None:
        self._left = 0
        self.count = 0

    def step(self, rng: np.random.Generator) -> float:
        """The push torque during the next physics step (0 between pushes)."""
        if not self._on:
            return 0.0
        if self._left == 0 and rng.random() < self._probability:
            self._left = self._steps
            self._sign = 1.0 if rng.random() < 0.5 else -1.0
            self.count += 1
        if self._left == 0:
            return 0.0
        self._left -= 1
        return self._sign * self._torque_nm
