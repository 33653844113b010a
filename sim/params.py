"""Physical parameters of the simulated pendulum, its presets and its randomisation ranges.

The pendulum is a uniform rod of mass ``mass_kg`` and length ``length_m`` turning about one end
(moment of inertia ``m l^2 / 3`` about the pivot), driven by a torque motor at the pivot. This is
the model behind Gymnasium's ``Pendulum-v1``, whose constants are the ``"default"`` preset.

Everything here is plain data: frozen dataclasses validated on construction, so a bad value fails
where it is written, with a message naming the field, not deep inside PyBullet.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from typing import Any

import numpy as np

from ddpg_control.runtime.contracts import PENDULUM_V1_MAX_SPEED_RAD_S
from ddpg_control.runtime.errors import ConfigError
from ddpg_control.runtime.validation import require_finite


class SimConfigError(ConfigError):
    """A simulator parameter, preset name or randomisation range is invalid."""


@dataclass(frozen=True, slots=True)
class PendulumParams:
    """Parameters of one simulated pendulum. Units are in the names.

    ``physics_substeps`` PyBullet steps of ``control_period_s / physics_substeps`` seconds each
    run inside every control period, with the torque held (zero-order hold). Friction is Coulomb
    friction at the joint (it also holds the joint still while the applied torque is below it),
    damping is viscous. Sensor noise is Gaussian, added to what the controller observes, never to
    the simulated state. ``action_latency_s`` delays every torque command by that time, rounded to
    whole physics steps. The motor applies ``torque_scale * commanded + torque_offset_nm`` (a
    motor constant off by a factor, a bias such as a cable's pull); the commanded torque is the
    one clipped to ``max_torque_nm``.
    """

    gravity_m_s2: float = 10.0
    mass_kg: float = 1.0
    length_m: float = 1.0
    joint_damping_nm_s_rad: float = 0.0
    joint_friction_nm: float = 0.0
    max_torque_nm: float = 2.0
    max_velocity_rad_s: float = PENDULUM_V1_MAX_SPEED_RAD_S
    control_period_s: float = 0.05
    physics_substeps: int = 1
    angle_noise_std_rad: float = 0.0
    velocity_noise_std_rad_s: float = 0.0
    action_latency_s: float = 0.0
    torque_scale: float = 1.0
    torque_offset_nm: float = 0.0
    # Actuator, sensor and disturbance models (sim/actuator.py, sim/sensor.py); the defaults
    # switch each one off.
    motor_time_constant_s: float = 0.0
    torque_noise_std_nm: float = 0.0
    stiction_nm: float = 0.0
    measurement_delay_s: float = 0.0
    encoder_counts_per_rev: int = 0
    reports_velocity: bool = True
    push_rate_hz: float = 0.0
    push_torque_nm: float = 0.0
    push_duration_s: float = 0.1

    def __post_init__(self) -> None:
        for field in fields(self):
            if field.name != "reports_velocity":
                require_finite(field.name, getattr(self, field.name), SimConfigError)
        positive = (
            "mass_kg",
            "length_m",
            "max_torque_nm",
            "max_velocity_rad_s",
            "control_period_s",
            "torque_scale",
        )
        for name in positive:
            if getattr(self, name) <= 0:
                raise SimConfigError(f"{name} must be > 0, got {getattr(self, name)!r}")
        non_negative = (
            "gravity_m_s2",
            "joint_damping_nm_s_rad",
            "joint_friction_nm",
            "angle_noise_std_rad",
            "velocity_noise_std_rad_s",
            "action_latency_s",
            "motor_time_constant_s",
            "torque_noise_std_nm",
            "stiction_nm",
            "measurement_delay_s",
            "push_rate_hz",
            "push_torque_nm",
            "push_duration_s",
        )
        for name in non_negative:
            if getattr(self, name) < 0:
                raise SimConfigError(f"{name} must be >= 0, got {getattr(self, name)!r}")
        if not isinstance(self.physics_substeps, int) or self.physics_substeps < 1:
            raise SimConfigError(
                f"physics_substeps must be a whole number >= 1, got {self.physics_substeps!r}"
            )
        _check_model_fields(self)

    @property
    def physics_dt_s(self) -> float:
        """Length of one PyBullet step in seconds."""
        return self.control_period_s / self.physics_substeps

    @property
    def latency_substeps(self) -> int:
        """``action_latency_s`` as a whole number of physics steps."""
        return round(self.action_latency_s / self.physics_dt_s)

    @property
    def measurement_delay_substeps(self) -> int:
        """``measurement_delay_s`` as a whole number of physics steps."""
        return round(self.measurement_delay_s / self.physics_dt_s)

    @property
    def pivot_inertia_kg_m2(self) -> float:
        """Moment of inertia of the rod about its pivot."""
        return self.mass_kg * self.length_m**2 / 3.0

    def to_dict(self) -> dict[str, float | int]:
        """Plain values (floats and an int), for checkpoints, ONNX metadata and JSON."""
        return dict(asdict(self))

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> PendulumParams:
        """Rebuild parameters written by :meth:`to_dict`; unknown keys are an error."""
        known = {field.name for field in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise SimConfigError(
                f"unknown pendulum parameter(s) {unknown}; known ones are {sorted(known)}"
            )
        return cls(**values)

    def with_changes(self, **changes: Any) -> PendulumParams:
        """A validated copy with some fields changed."""
        return replace(self, **changes)


def _check_model_fields(params: PendulumParams) -> None:
    counts = params.encoder_counts_per_rev
    if isinstance(counts, bool) or not isinstance(counts, int) or counts < 0:
        raise SimConfigError(
            f"encoder_counts_per_rev must be a whole number >= 0 (0: continuous), got {counts!r}"
        )
    if not isinstance(params.reports_velocity, bool):
        raise SimConfigError(
            f"reports_velocity must be true or false, got {params.reports_velocity!r}"
        )
    if params.push_rate_hz > 0 and params.push_duration_s <= 0:
        raise SimConfigError("push_duration_s must be > 0 when push_rate_hz is > 0")


#: ``"default"`` is Gymnasium's Pendulum-v1. ``"realistic"`` steps the physics at 1 kHz inside
#: each 50 ms control period and adds what a small motor on a real rig shows. Where each number
#: comes from (engineering estimates for a hobby-class rig, see docs/sim.md):
#:
#: * Coulomb friction 0.05 N*m, stiction 0.08 N*m (breakaway typically 1.5x the sliding
#:   friction of a greased bearing plus motor brushes or a small gearbox), damping 0.02.
#: * Torque: first-order response with a 5 ms time constant (a small brushed motor's electrical
#:   L/R is 1-5 ms; a BLDC driver's current loop is faster, so this is the slow end), noise
#:   0.02 N*m std (1 % of the 2 N*m limit: torque ripple and current-sense noise).
#: * Sensing: a 12-bit magnetic encoder (4096 counts per revolution, AS5600-class, the common
#:   cheap one), read 2 ms late (a USB-serial round trip with the FTDI latency timer at 1 ms),
#:   no velocity from the device (the host estimates it), 5 ms command latency as before.
#: * No pushes: they are a test of robustness (``ddpg-control score``), not a property of a rig.
PRESETS: dict[str, PendulumParams] = {
    "default": PendulumParams(),
    "realistic": PendulumParams(
        physics_substeps=50,
        joint_damping_nm_s_rad=0.02,
        joint_friction_nm=0.05,
        angle_noise_std_rad=0.002,
        velocity_noise_std_rad_s=0.02,
        action_latency_s=0.005,
        motor_time_constant_s=0.005,
        torque_noise_std_nm=0.02,
        stiction_nm=0.08,
        measurement_delay_s=0.002,
        encoder_counts_per_rev=4096,
        reports_velocity=False,
    ),
}


def preset(name: str) -> PendulumParams:
    """The parameters of a named preset."""
    try:
        return PRESETS[name]
    except KeyError:
        raise SimConfigError(
            f"unknown simulator preset {name!r}; choose one of {sorted(PRESETS)}"
        ) from None


Range = tuple[float, float]


@dataclass(frozen=True, slots=True)
class RandomizationRanges:
    """Per-episode domain randomisation: each field is a ``(low, high)`` range drawn uniformly.

    A range of ``None`` leaves that parameter at its nominal (preset) value. Draws come from the
    generator passed to :meth:`sample` (the env's own seeded ``np_random``), so seeded runs repeat.
    """

    mass_kg: Range | None = (0.8, 1.2)
    length_m: Range | None = (0.9, 1.1)
    joint_damping_nm_s_rad: Range | None = (0.0, 0.05)
    joint_friction_nm: Range | None = (0.0, 0.1)
    action_latency_s: Range | None = (0.0, 0.01)
    torque_scale: Range | None = None
    motor_time_constant_s: Range | None = (0.0, 0.02)
    measurement_delay_s: Range | None = (0.0, 0.01)

    def __post_init__(self) -> None:
        for field in fields(self):
            bounds = getattr(self, field.name)
            if bounds is None:
                continue
            if not isinstance(bounds, tuple | list) or len(bounds) != 2:
                raise SimConfigError(
                    f"randomisation range {field.name} must be (low, high), got {bounds!r}"
                )
            low, high = bounds
            require_finite(f"{field.name} low", low, SimConfigError)
            require_finite(f"{field.name} high", high, SimConfigError)
            if low > high:
                raise SimConfigError(
                    f"randomisation range {field.name} has low {low!r} > high {high!r}; swap them"
                )
            if low < 0:
                raise SimConfigError(
                    f"randomisation range {field.name} must not go below 0, got low {low!r}"
                )
            if field.name in ("mass_kg", "length_m", "torque_scale") and low <= 0:
                raise SimConfigError(f"randomisation range {field.name} must stay > 0")

    def sample(self, rng: np.random.Generator, nominal: PendulumParams) -> PendulumParams:
        """Draw one episode's parameters around ``nominal`` (fields in a fixed order)."""
        changes: dict[str, float] = {}
        for field in fields(self):
            bounds = getattr(self, field.name)
            if bounds is not None:
                changes[field.name] = float(rng.uniform(bounds[0], bounds[1]))
        return nominal.with_changes(**changes)

    def to_dict(self) -> dict[str, list[float] | None]:
        """Plain values for checkpoints and JSON."""
        out: dict[str, list[float] | None] = {}
        for field in fields(self):
            bounds = getattr(self, field.name)
            out[field.name] = None if bounds is None else [float(bounds[0]), float(bounds[1])]
        return out
