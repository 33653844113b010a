"""Excitation signals for system identification (``ddpg-control excite``).

:class:`Excitation` is a :class:`~ddpg_control.runtime.contracts.Policy`: the control loop
drives it like any policy, so the excitation goes through the same safety layer and telemetry
as ``run``. Each call is one tick; the torque is the signal at ``tick * period_s``:

* ``multisine``: a sum of sines at ``components`` log-spaced frequencies in
  ``[f_min_hz, f_max_hz]`` with Schroeder phases (a low crest factor: much power for the peak),
  scaled so its peak is ``torque_nm``;
* ``chirp``: a sine sweeping the band exponentially over the duration, ``torque_nm`` in amplitude.

Both fade in and out over ``ramp_s``. The angle envelope keeps the pendulum near hanging down:
beyond ``envelope_rad`` from it the torque only brakes (it opposes the velocity, with the same
cap); beyond 1.5 times the envelope :class:`~ddpg_control.runtime.errors.SafetyStop` ends the
run (the loop then sends zero torque).

numpy only: this runs on the robot's path.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ddpg_control.runtime.contracts import Observation
from ddpg_control.runtime.errors import ConfigError, SafetyStop
from ddpg_control.runtime.validation import require, require_positive

SIGNALS = ("multisine", "chirp")
#: Beyond this multiple of the envelope the run stops.
ENVELOPE_STOP_FACTOR = 1.5


@dataclass(frozen=True)
class ExcitationConfig:
    """What to send. Units are in the names."""

    signal: str = "multisine"
    torque_nm: float = 1.0
    envelope_rad: float = 1.5
    duration_s: float = 30.0
    period_s: float = 0.02
    f_min_hz: float = 0.1
    f_max_hz: float = 3.0
    components: int = 12
    ramp_s: float = 1.0
    seed: int = 0

    def __post_init__(self) -> None:
        require(
            self.signal in SIGNALS,
            f"unknown excitation signal {self.signal!r}; choose one of {', '.join(SIGNALS)}",
        )
        for name in ("torque_nm", "duration_s", "period_s", "f_min_hz", "f_max_hz"):
            require_positive(name, getattr(self, name))
        require(
            0.0 < self.envelope_rad <= math.pi / ENVELOPE_STOP_FACTOR,
            f"envelope_rad must be in (0, {math.pi / ENVELOPE_STOP_FACTOR:.3g}] rad (its "
            f"{ENVELOPE_STOP_FACTOR:g}x stop limit must stay below upright), "
            f"got {self.envelope_rad!r}",
        )
        require(
            self.f_min_hz < self.f_max_hz,
            f"the band must have f_min_hz < f_max_hz, got {self.f_min_hz} >= {self.f_max_hz}",
        )
        require(
            self.f_max_hz <= 0.25 / self.period_s,
            f"f_max_hz {self.f_max_hz:g} is above a quarter of the loop rate "
            f"({0.25 / self.period_s:g} Hz); lower it or raise the rate",
        )
        require(self.components >= 1, f"components must be >= 1, got {self.components}")
        require(self.ramp_s >= 0, f"ramp_s must be >= 0, got {self.ramp_s}")


def excitation_signal(config: ExcitationConfig, time_s: np.ndarray) -> np.ndarray:
    """The torque (N*m) at each time, before the envelope."""
    t = np.asarray(time_s, dtype=np.float64)
    if config.signal == "multisine":
        k = config.components
        freqs = np.geomspace(config.f_min_hz, config.f_max_hz, k)
        phases = -math.pi * np.arange(1, k + 1) * np.arange(k) / k  # Schroeder
        rng = np.random.default_rng(config.seed)
        phases = phases + rng.uniform(0.0, 2.0 * math.pi)  # one seeded shift of the whole set
        wave = np.sin(2.0 * math.pi * np.outer(t, freqs) + phases).sum(axis=1)
        grid = np.arange(0.0, max(config.duration_s, 1.0 / config.f_min_hz), config.period_s)
        peak = np.abs(np.sin(2.0 * math.pi * np.outer(grid, freqs) + phases).sum(axis=1)).max()
        wave = wave / peak
    else:
        ratio = config.f_max_hz / config.f_min_hz
        rate = math.log(ratio) / config.duration_s
        phase = 2.0 * math.pi * config.f_min_hz * (np.expm1(rate * t) / rate)
        wave = np.sin(phase)
    ramp = np.ones_like(t)
    if config.ramp_s > 0:
        ramp = np.clip(np.minimum(t, config.duration_s - t) / config.ramp_s, 0.0, 1.0)
    return np.asarray(config.torque_nm * ramp * wave)


class Excitation:
    """The excitation as a policy: one call per control tick (see the module's docstring)."""

    def __init__(self, config: ExcitationConfig, max_torque_nm: float) -> None:
        self._config = config
        self._max_torque_nm = max_torque_nm
        self.check_limit(max_torque_nm)
        ticks = math.ceil(config.duration_s / config.period_s) + 1
        self._samples = excitation_signal(config, np.arange(ticks) * config.period_s)
        self._tick = 0
        self.braked_ticks = 0

    @property
    def max_torque_nm(self) -> float:
        return self._max_torque_nm

    def check_limit(self, limit_nm: float) -> None:
        """Refuse a signal whose peak the safety layer would clip (a saturated recording)."""
        if self._config.torque_nm > limit_nm:
            raise ConfigError(
                f"excitation torque {self._config.torque_nm:g} N*m is above the limit "
                f"{limit_nm:g} N*m; lower --torque-nm"
            )

    def __call__(self, observation: Observation) -> float:
        c = self._config
        cos_theta, sin_theta, velocity = (float(v) for v in observation[:3])
        # Distance from hanging down (theta = pi): the angle of (-cos, -sin).
        from_down_rad = math.atan2(-sin_theta, -cos_theta)
        if abs(from_down_rad) > ENVELOPE_STOP_FACTOR * c.envelope_rad:
            raise SafetyStop(
                f"the pendulum left the excitation envelope ({abs(from_down_rad):.2f} rad from "
                f"hanging down, limit {ENVELOPE_STOP_FACTOR * c.envelope_rad:.2f}); lower "
                "--torque-nm or narrow the band away from the pendulum's resonance"
            )
        torque = float(self._samples[self._tick]) if self._tick < len(self._samples) else 0.0
        self._tick += 1
        outward = from_down_rad * velocity > 0.0
        if abs(from_down_rad) > c.envelope_rad and outward:
            self.braked_ticks += 1
            return -math.copysign(c.torque_nm, velocity)
        return torque
